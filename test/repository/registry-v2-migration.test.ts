/**
 * Registry schema version 2 (SQLite keeps provenance documents deflated): a registry a
 * version-1 sidecar wrote is refused until `repository/migrateRegistry` upgrades it, and
 * afterwards answers every query exactly as before, on both backends; what the upgraded
 * registry stores from then on is readable alongside the old rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectAndTransfer } from '../../src/repository/collect-and-transfer.js';
import { upgradeSqliteRegistry } from '../../src/repository/migrate-registry.js';
import type { Registry } from '../../src/repository/registry.js';
import { MIGRATIONS, REGISTRY_SCHEMA_VERSION } from '../../src/repository/registry-schema.js';
import { SqliteRegistry } from '../../src/repository/sqlite/registry.js';
import { RegistrySchemaMismatch } from '../../src/model/errors.js';
import { buildWorkload } from '../bench/repository-bench.js';
import { pgTestUrl } from '../support/pg-url.js';
import { dropSchemas, uniqueSchema } from '../support/registries.js';

const { items, firstRaw } = buildWorkload(2, 3);
const first = items.filter((_, i) => i % 3 !== 2);
const later = items.filter((_, i) => i % 3 === 2);
/** Outputs of the second quantum of the first chain (collected before the migration). */
const written = items[1]!.quantum.outputs.map((r) => r.id);
const quantumIds = items.map((it) => (it.provenance as { quantum: { id: string } }).quantum.id);

/** Everything a reader can ask of the registry about the workload. */
async function answers(reg: Registry): Promise<unknown> {
  const quanta = [];
  for (const id of quantumIds) quanta.push({ stored: await reg.getQuantum(id), provenance: await reg.quantumProvenance(id) });
  return {
    quanta,
    list: await reg.quanta(),
    datasets: await reg.queryDatasets({}),
    up: await reg.lineage(written[0]!, 'up'),
    down: await reg.lineage(firstRaw, 'down'),
    records: await reg.recordsFor(written),
  };
}

async function collect(reg: Registry, list: typeof items): Promise<void> {
  const report = await collectAndTransfer(reg, list);
  expect(report.committed).toBe(true);
  expect(report.conflicts).toEqual([]);
}

/** Open `open()` expecting the migratable RegistrySchemaMismatch of a version-1 registry. */
async function expectRefused(open: () => Promise<Registry>): Promise<void> {
  const failure = await open().then(
    async (reg) => {
      await reg.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(failure).toBeInstanceOf(RegistrySchemaMismatch);
  expect((failure as Error).message).toContain('has schema version 1');
  expect((failure as Error).message).toContain('repository/migrateRegistry');
  expect((failure as RegistrySchemaMismatch).context.details).toMatchObject({ found: '1', expected: 2, migratable: true });
}

describe('registry schema version 2', () => {
  it('is the current version, one migration away from version 1', () => {
    expect(REGISTRY_SCHEMA_VERSION).toBe(2);
    expect(MIGRATIONS.map((m) => m.from)).toEqual([1]);
  });
});

describe('SQLite: a version-1 registry migrates to version 2', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'qb-v2-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores documents deflated, refuses the version-1 file, and answers the same after the upgrade', async () => {
    const path = join(dir, 'registry.sqlite3');
    let reg: Registry = await SqliteRegistry.open(path);
    await collect(reg, first);
    const before = await answers(reg);
    await reg.close();

    // Version 2 wrote each document as raw DEFLATE of its JSON text.
    const db = new Database(path);
    const stored = db.prepare<[], { id: string; provenance: Buffer }>('SELECT id, provenance FROM quanta').all();
    expect(stored.length).toBe(first.length);
    for (const r of stored) {
      expect(Buffer.isBuffer(r.provenance)).toBe(true);
      expect(JSON.parse(inflateRawSync(r.provenance).toString('utf8'))).toEqual(await (async () => first.find((it) => (it.provenance as { quantum: { id: string } }).quantum.id === r.id)!.provenance)());
    }
    // Make it the file a version-1 sidecar writes: the same tables, the documents as text, version 1.
    db.transaction(() => {
      const put = db.prepare('UPDATE quanta SET provenance = ? WHERE id = ?');
      for (const r of stored) put.run(inflateRawSync(r.provenance).toString('utf8'), r.id);
      db.prepare("UPDATE registry_meta SET value = '1' WHERE key = 'schema_version'").run();
    })();
    db.close();

    await expectRefused(() => SqliteRegistry.open(path));
    expect(upgradeSqliteRegistry(path)).toEqual([2]);
    reg = await SqliteRegistry.open(path);
    try {
      expect(await answers(reg)).toEqual(before);
      // The old rows kept their text; rows written now are deflated; both read back.
      await collect(reg, later);
      const kinds = reg.database.prepare<[], { t: string; n: number }>('SELECT typeof(provenance) AS t, count(*) AS n FROM quanta GROUP BY t ORDER BY t').all();
      expect(kinds).toEqual([
        { t: 'blob', n: later.length },
        { t: 'text', n: first.length },
      ]);
      for (const it of items) expect(await reg.quantumProvenance((it.provenance as { quantum: { id: string } }).quantum.id)).toEqual(it.provenance);
      // Collecting the same documents again finds them present (the stored text compares equal).
      const again = await collectAndTransfer(reg, items);
      expect(again.conflicts).toEqual([]);
      expect(again.quanta).toMatchObject({ stored: 0, alreadyPresent: items.length });
    } finally {
      await reg.close();
    }
  });
});

const url = pgTestUrl();
describe.runIf(url !== undefined)('PostgreSQL: a version-1 registry migrates to version 2', () => {
  const schema = uniqueSchema('v2');
  afterAll(async () => dropSchemas(url!, [schema]));

  it('refuses the version-1 schema and answers the same after the upgrade', async () => {
    const { PgRegistry } = await import('../../src/repository/postgres/registry.js');
    const { upgradePgRegistry } = await import('../../src/repository/postgres/upgrade.js');
    let reg: Registry = await PgRegistry.open({ url: url!, schema, create: true });
    await collect(reg, first);
    const before = await answers(reg);
    await reg.close();
    // Version 1's PostgreSQL tables are version 2's: only the version differs.
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`UPDATE ${schema}.registry_meta SET value = '1' WHERE key = 'schema_version'`);
    await c.end();

    await expectRefused(() => PgRegistry.open({ url: url!, schema }));
    expect((await upgradePgRegistry({ url: url!, schema })).applied).toEqual([2]);
    reg = await PgRegistry.open({ url: url!, schema });
    try {
      expect(await answers(reg)).toEqual(before);
      await collect(reg, later);
      for (const it of items) expect(await reg.quantumProvenance((it.provenance as { quantum: { id: string } }).quantum.id)).toEqual(it.provenance);
    } finally {
      await reg.close();
    }
  });
});
