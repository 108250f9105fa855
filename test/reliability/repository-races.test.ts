/**
 * Repositories under processes that race and registries that are locked (issue findings:
 * same-id puts from two processes; a lock wait that froze every session).
 *
 * Both tests hold the registry's write lock from the test process first, so the puts they
 * start are certainly under way (their artifacts are observed as temp files in the
 * datastore) and waiting at the same point when the lock goes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as P from '../../protocol/index.js';
import { QuantumButlerError, type QuantumButlerClient } from '../../src/client/index.js';
import { spawnClient } from '../e2e/harness.js';
import { RawClient } from '../e2e/raw-client.js';
import { backends, filesStartingWith, until } from './support.js';

/** A put's temp file (the file store's temp names). */
const PUT_TMP = '.qbtmp-';
const dataId = { instrument: 'Cam1', detector: 7 };

describe.each(backends())('repository races ($kind registry)', (backend) => {
  let dir: string;
  let a: QuantumButlerClient;
  let b: QuantumButlerClient;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qb-races-'));
    [a, b] = await Promise.all([spawnClient(), spawnClient()]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await backend.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['blake2b', 'none (the default)'] as const)('two processes putting the same dataset with different content: one stores it, the other gets DatasetAlreadyStored; the record matches the file (record checksum %s)', async (checksum) => {
    const root = join(dir, `race-${checksum.split(' ')[0]}`);
    await backend.create(a, root, checksum === 'blake2b' ? { datastore: { checksum } } : undefined);
    const release = await backend.lock(root);
    let settled = false;
    const puts = [a, b].map((c, i) =>
      c.request(P.RepositoryPut, { root, datasetType: 'blob', dataId, run: 'r', payload: { encoding: 'json', value: { writer: i, pad: 'x'.repeat(1000 * (i + 1)) } } }),
    );
    void Promise.allSettled(puts).then(() => (settled = true));
    // Both artifacts are written (under temp names) and both puts wait for the registry.
    const bothUnderWay = await until(() => filesStartingWith(join(root, 'datastore'), PUT_TMP).length === 2);
    const answeredWhileLocked = settled;
    await release();
    const outcomes = await Promise.allSettled(puts);
    expect(bothUnderWay).toBe(true);
    expect(answeredWhileLocked).toBe(false);
    const ok = outcomes.filter((o) => o.status === 'fulfilled');
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason).toBeInstanceOf(QuantumButlerError);
    expect((failed[0]!.reason as QuantumButlerError).kind).toBe('DatasetAlreadyStored');

    const stored = (ok[0] as PromiseFulfilledResult<P.ResultOf<typeof P.RepositoryPut>>).value;
    const exported = await a.request(P.RepositoryExportRecords, { root, refs: [{ id: stored.ref.id }] });
    const perId = Object.values(exported.records['FileDatastore@<butlerRoot>/datastore']!.records)[0]!;
    const row = Object.values(perId)[0]!['file_datastore_records']![0]!;
    const file = readFileSync(join(root, 'datastore', row['path'] as string));
    // The record's checksum is daf_butler's (blake2b), or none with the file's size; the put answers the file's SHA-256.
    expect(row['checksum']).toBe(checksum === 'blake2b' ? createHash('blake2b512').update(file).digest('hex') : null);
    expect(row['file_size']).toBe(file.length);
    expect(createHash('sha256').update(file).digest('hex')).toBe(stored.sha256);
    const got = await b.request(P.RepositoryGet, { root, ref: { id: stored.ref.id } });
    expect(JSON.stringify((got.payload as { value: unknown }).value).length).toBe(file.length);
    expect(filesStartingWith(join(root, 'datastore'), PUT_TMP)).toEqual([]);
  });

  it('a registry locked by another process: the put waits without stopping the sidecar (other requests are answered), then succeeds', async () => {
    const root = join(dir, 'locked');
    await backend.create(a, root);
    const c = new RawClient();
    try {
      await c.initialize();
      const release = await backend.lock(root);
      let released = false;
      try {
        const put = c.request('repository/put', { root, datasetType: 'blob', dataId, run: 'r', payload: { encoding: 'json', value: { n: 1 } } });
        // The put is under way: its artifact is written and it waits for the registry.
        expect(await until(() => filesStartingWith(join(root, 'datastore'), PUT_TMP).length === 1)).toBe(true);
        const ping = await c.call('server/ping');
        expect(ping.result).toBeDefined();
        expect(c.messages.some((m) => m.id === put)).toBe(false);
        await release();
        released = true;
        const res = await c.response(put, 30_000);
        expect(res.error).toBeUndefined();
        expect(existsSync(join(root, 'datastore', 'r'))).toBe(true);
      } finally {
        if (!released) await release();
      }
    } finally {
      c.kill();
    }
  });
});
