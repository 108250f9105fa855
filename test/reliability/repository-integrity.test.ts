/**
 * A repository never serves or records what it cannot vouch for (issue findings): a read
 * whose bytes no longer match the recorded checksum answers ChecksumMismatch instead of
 * the changed bytes, and collect-and-transfer refuses records whose path leaves the
 * datastore (such a dataset would be unreadable and its artifact orphaned). Records hold no
 * checksum by default (daf_butler's default: a read checks the size), daf_butler's blake2b
 * when configured, or SHA-256 when written before: both are verified, and a put of the same
 * content finds an older SHA-256 record to be its own.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as P from '../../protocol/index.js';
import type { ButlerSession, QuantumButlerClient } from '../../src/client/index.js';
import { kindOf, spawnClient } from '../e2e/harness.js';
import { backends } from './support.js';

const DS = 'FileDatastore@<butlerRoot>/datastore';

describe.each(backends())('repository integrity ($kind registry)', (backend) => {
  let dir: string;
  let client: QuantumButlerClient;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qb-integrity-'));
    client = await spawnClient();
  });
  afterAll(async () => {
    await client.close();
    await backend.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The file datastore record of a dataset, as the repository exports it. */
  const recordOf = async (root: string, id: string) => {
    const records = await client.request(P.RepositoryExportRecords, { root, refs: [{ id }] });
    return Object.values(Object.values(records.records[DS]!.records)[0]!)[0]!['file_datastore_records']![0]!;
  };

  /** `body` with a session of a quantum of the repository at `root` that reads dataset `id`, closed after. */
  const readingSession = async (root: string, id: string, body: (s: ButlerSession) => Promise<void>) => {
    const made = await client.request(P.RepositoryMakeQuantum, { root, taskName: 't', inputs: [{ id }], outputs: [] });
    const s = await client.openSession({ quantum: made.quantum, repository: { root } });
    try {
      await body(s);
    } finally {
      await s.close();
    }
  };

  it('a stored artifact changed on disk (blake2b records): repository/get and a session reading it by its record answer ChecksumMismatch, not the changed bytes', async () => {
    const root = join(dir, 'changed');
    await backend.create(client, root, { datastore: { checksum: 'blake2b' } });
    const put = await client.request(P.RepositoryPut, { root, datasetType: 'blob', dataId: { instrument: 'Cam1', detector: 1 }, run: 'r', payload: { encoding: 'json', value: { n: 1 } } });
    expect((await client.request(P.RepositoryGet, { root, ref: { id: put.ref.id } })).payload).toEqual({ encoding: 'json', value: { n: 1 } });
    const path = join(root, 'datastore', (await recordOf(root, put.ref.id))['path'] as string);
    // Same length, other (valid) content.
    const before = readFileSync(path, 'utf8');
    writeFileSync(path, before.replace('1', '2'));
    expect(await kindOf(client.request(P.RepositoryGet, { root, ref: { id: put.ref.id } }))).toBe('ChecksumMismatch');

    await readingSession(root, put.ref.id, async (s) => {
      expect(await kindOf(s.get(put.ref.id))).toBe('ChecksumMismatch');
      // By file path: checked as it is copied, so no destination appears and an existing one stays.
      const fresh = join(dir, 'changed-fresh.json');
      expect(await kindOf(s.getResult({ id: put.ref.id }, { as: 'file', destination: fresh }))).toBe('ChecksumMismatch');
      expect(existsSync(fresh)).toBe(false);
      const kept = join(dir, 'changed-kept.json');
      writeFileSync(kept, 'kept');
      expect(await kindOf(s.getResult({ id: put.ref.id }, { as: 'file', destination: kept }))).toBe('ChecksumMismatch');
      expect(readFileSync(kept, 'utf8')).toBe('kept');
      expect(readdirSync(dir).filter((f) => f.startsWith('.changed'))).toEqual([]);
    });
  });

  it('a stored artifact changed on disk (records without checksum, the default): a read checks its size, as daf_butler does', async () => {
    const root = join(dir, 'changed-default');
    await backend.create(client, root);
    const put = await client.request(P.RepositoryPut, { root, datasetType: 'blob', dataId: { instrument: 'Cam1', detector: 1 }, run: 'r', payload: { encoding: 'json', value: { n: 1 } } });
    const record = await recordOf(root, put.ref.id);
    expect(record['checksum']).toBeNull();
    const path = join(root, 'datastore', record['path'] as string);
    const before = readFileSync(path, 'utf8');
    expect(record['file_size']).toBe(Buffer.byteLength(before));
    // Same length, other (valid) content: a size check cannot see it (daf_butler's neither).
    writeFileSync(path, before.replace('1', '2'));
    expect((await client.request(P.RepositoryGet, { root, ref: { id: put.ref.id } })).payload).toEqual({ encoding: 'json', value: { n: 2 } });
    // Another length: ChecksumMismatch, by path and by value, and no destination is left.
    writeFileSync(path, before.replace('1', '12'));
    expect(await kindOf(client.request(P.RepositoryGet, { root, ref: { id: put.ref.id } }))).toBe('ChecksumMismatch');
    await readingSession(root, put.ref.id, async (s) => {
      expect(await kindOf(s.get(put.ref.id))).toBe('ChecksumMismatch');
      const fresh = join(dir, 'changed-default-fresh.json');
      expect(await kindOf(s.getResult({ id: put.ref.id }, { as: 'file', destination: fresh }))).toBe('ChecksumMismatch');
      expect(existsSync(fresh)).toBe(false);
      // Restored: read again, by value and by path.
      writeFileSync(path, before);
      expect(await s.get(put.ref.id)).toEqual({ n: 1 });
      await s.getResult({ id: put.ref.id }, { as: 'file', destination: fresh });
      expect(readFileSync(fresh, 'utf8')).toBe(before);
    });
  });

  it('a repository whose records hold SHA-256 checksums: reads verify them, and after the switch to blake2b the same content puts unchanged', async () => {
    const root = join(dir, 'sha256');
    await backend.create(client, root, { datastore: { checksum: 'sha256' } });
    const dataId = { instrument: 'Cam1', detector: 3 };
    const put = await client.request(P.RepositoryPut, { root, datasetType: 'blob', dataId, run: 'r', payload: { encoding: 'json', value: { n: 3 } } });
    const before = await recordOf(root, put.ref.id);
    expect(before['checksum']).toBe(put.sha256);

    // The repository now writes daf_butler's checksum; a new sidecar reads butler.json afresh.
    const configPath = join(root, 'butler.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as { datastore: { checksum: string } };
    config.datastore.checksum = 'blake2b';
    writeFileSync(configPath, JSON.stringify(config));
    const c2 = await spawnClient();
    try {
      expect((await c2.request(P.RepositoryGet, { root, ref: { id: put.ref.id } })).payload).toEqual({ encoding: 'json', value: { n: 3 } });
      const again = await c2.request(P.RepositoryPut, { root, datasetType: 'blob', dataId, run: 'r', payload: { encoding: 'json', value: { n: 3 } } });
      expect(again).toEqual(put);
      expect(await recordOf(root, put.ref.id)).toEqual(before);
      expect(await kindOf(c2.request(P.RepositoryPut, { root, datasetType: 'blob', dataId, run: 'r', payload: { encoding: 'json', value: { n: 4 } } }))).toBe('DatasetAlreadyStored');
      const other = await c2.request(P.RepositoryPut, { root, datasetType: 'blob', dataId: { ...dataId, detector: 4 }, run: 'r', payload: { encoding: 'json', value: { n: 4 } } });
      expect(String((await recordOf(root, other.ref.id))['checksum'])).toMatch(/^[0-9a-f]{128}$/);

      // The SHA-256 record still guards its file.
      const path = join(root, 'datastore', before['path'] as string);
      writeFileSync(path, readFileSync(path, 'utf8').replace('3', '5'));
      expect(await kindOf(c2.request(P.RepositoryGet, { root, ref: { id: put.ref.id } }))).toBe('ChecksumMismatch');
    } finally {
      await c2.close();
    }
  });

  it('collect-and-transfer refuses a record of the repository datastore whose path leaves it; nothing is written', async () => {
    const root = join(dir, 'paths');
    await backend.create(client, root);
    const made = await client.request(P.RepositoryMakeQuantum, {
      root,
      taskName: 't',
      inputs: [],
      outputs: [{ datasetType: 'blob', dataId: { instrument: 'Cam1', detector: 2 }, run: 'r' }],
    });
    const s = await client.openSession({ quantum: made.quantum, repository: { root } });
    await s.put(made.outputs[0]!.id, { n: 2 });
    const provenance = (await s.close()).provenance as P.NativeProvenance;
    for (const bad of ['../../outside.json', '/etc/passwd', 'file:///etc/passwd']) {
      const doc = JSON.parse(JSON.stringify(provenance)) as P.NativeProvenance;
      for (const tables of Object.values(doc.datastoreRecords[DS]!.records)) {
        for (const rows of Object.values(tables)) for (const row of rows['file_datastore_records']!) row['path'] = bad;
      }
      expect(await kindOf(client.request(P.RepositoryCollectAndTransfer, { root, quanta: [made.quantum], provenance: [doc as never] }))).toBe('InvalidArgument');
    }
    expect((await client.request(P.RepositoryQueryDatasets, { root })).refs).toEqual([]);
    // The document as the session wrote it goes in.
    const ok = await client.request(P.RepositoryCollectAndTransfer, { root, quanta: [made.quantum], provenance: [provenance as never] });
    expect(ok).toMatchObject({ committed: true, datasets: { inserted: 1 } });
  });
});
