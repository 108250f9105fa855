/**
 * repository/migrateRegistry through the CLI: a SQLite repository with datasets, quanta and
 * records moves to PostgreSQL; butler.json switches (without a password) only after the
 * copy verified, and a fresh sidecar then sees the same repository through the new
 * registry. And the schema-version migration path, on a SQLite file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as P from '../../protocol/index.js';
import type { QuantumButlerClient } from '../../src/client/index.js';
import { kindOf, spawnClient } from './harness.js';
import { pgTestUrl } from '../support/pg-url.js';
import { dropSchemas, uniqueSchema } from '../support/registries.js';
import { upgradeSqliteRegistry } from '../../src/repository/migrate-registry.js';
import { SqliteRegistry } from '../../src/repository/sqlite/registry.js';
import { RegistrySchemaMismatch } from '../../src/model/errors.js';

const url = pgTestUrl();
const DIMS = ['instrument', 'detector'];

describe.runIf(url !== undefined)('repository/migrateRegistry to PostgreSQL', () => {
  let dir: string;
  let client: QuantumButlerClient;
  const schema = uniqueSchema('mig');
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qb-migrate-'));
    client = await spawnClient();
  });
  afterAll(async () => {
    await client.close();
    await dropSchemas(url!, [schema]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies, verifies, switches butler.json; the repository reads the same afterwards', async () => {
    const root = join(dir, 'repo');
    await client.request(P.RepositoryCreate, { root });
    for (const name of ['raw', 'calexp']) await client.request(P.RepositoryRegisterDatasetType, { root, datasetType: { name, storageClass: 'StructuredDataDict', dimensions: DIMS } });
    const raws: P.DatasetRef[] = [];
    for (const d of [1, 2]) raws.push((await client.request(P.RepositoryPut, { root, datasetType: 'raw', dataId: { instrument: 'Cam1', detector: d }, run: 'raw', payload: { encoding: 'json', value: { d } } })).ref);
    const made = await client.request(P.RepositoryMakeQuantum, {
      root,
      taskName: 't.Calib',
      inputs: raws.map((r) => ({ id: r.id })),
      outputs: [{ datasetType: 'calexp', dataId: { instrument: 'Cam1', detector: 1 }, run: 'out' }],
    });
    const s = await client.openSession({ quantum: made.quantum, repository: { root } });
    for (const r of raws) await s.get(r.id);
    await s.put(made.outputs[0]!.id, { sum: 3 });
    const prov = (await s.close()).provenance;
    expect((await client.request(P.RepositoryCollectAndTransfer, { root, quanta: [made.quantum], provenance: [prov as never] })).committed).toBe(true);
    const before = await client.request(P.RepositoryQueryDatasets, { root });
    const lineageBefore = await client.request(P.RepositoryLineage, { root, datasetId: made.outputs[0]!.id, direction: 'up' });
    const provenanceBefore = await client.request(P.RepositoryProvenance, { root, quantumId: (prov as { quantum: { id: string } }).quantum.id });
    expect(provenanceBefore).toEqual(prov);

    const withPassword = url!.replace('postgresql://qb@', 'postgresql://qb:unused-secret@');
    const result = await client.request(P.RepositoryMigrateRegistry, { root, to: { kind: 'postgresql', url: withPassword, schema } });
    expect(result.from.kind).toBe('sqlite');
    expect(result.to.kind).toBe('postgresql');
    expect(result.rows).toMatchObject({ datasets: 3, datastore_records: 3, quanta: 1, quantum_inputs: 2, quantum_outputs: 1, runs: 2, dataset_types: 2 });
    expect(result.keysSha256).toMatch(/^[0-9a-f]{64}$/);
    const config = JSON.parse(readFileSync(join(root, 'butler.json'), 'utf8')) as { registry: { kind: string; url: string; schema: string } };
    expect(config.registry).toMatchObject({ kind: 'postgresql', schema });
    expect(config.registry.url).not.toContain('unused-secret');

    // The same sidecar (its repository reopened) and a fresh one see the same repository.
    const fresh = await spawnClient();
    try {
      for (const c of [client, fresh]) {
        expect(await c.request(P.RepositoryQueryDatasets, { root })).toEqual(before);
        expect(await c.request(P.RepositoryLineage, { root, datasetId: made.outputs[0]!.id, direction: 'up' })).toEqual(lineageBefore);
        expect(await c.request(P.RepositoryProvenance, { root, quantumId: (prov as { quantum: { id: string } }).quantum.id })).toEqual(provenanceBefore);
        expect((await c.request(P.RepositoryGet, { root, ref: { id: made.outputs[0]!.id } })).payload).toEqual({ encoding: 'json', value: { sum: 3 } });
      }
    } finally {
      await fresh.close();
    }
    // Already on PostgreSQL: refused, nothing changes.
    expect(await kindOf(client.request(P.RepositoryMigrateRegistry, { root, to: { kind: 'postgresql', url: url!, schema: `${schema}x` } }))).toBe('InvalidArgument');
  });
});

describe('registry schema migrations', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'qb-upgrade-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an older registry is refused with a migratable RegistrySchemaMismatch, and the migration path brings it to the current version', async () => {
    const path = join(dir, 'old.sqlite3');
    await (await SqliteRegistry.open(path)).close();
    // Make it an imaginary version 0, whose migration to 1 adds a table.
    const db = new Database(path);
    db.prepare("UPDATE registry_meta SET value = '0' WHERE key = 'schema_version'").run();
    db.close();
    const failure = await SqliteRegistry.open(path).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RegistrySchemaMismatch);
    const applied = upgradeSqliteRegistry(path, [{ from: 0, sqlite: 'CREATE TABLE upgraded (x INTEGER)', postgresql: '' }]);
    expect(applied).toEqual([1]);
    const reg = await SqliteRegistry.open(path);
    expect(reg.database.prepare("SELECT name FROM sqlite_master WHERE name = 'upgraded'").get()).toBeDefined();
    await reg.close();
    // Nothing to do at the current version; a newer registry has no path back.
    expect(upgradeSqliteRegistry(path, [])).toEqual([]);
    const newer = new Database(path);
    newer.prepare("UPDATE registry_meta SET value = '99' WHERE key = 'schema_version'").run();
    newer.close();
    expect(() => upgradeSqliteRegistry(path, [])).toThrow(RegistrySchemaMismatch);
  });
});
