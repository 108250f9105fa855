/**
 * File paths a host hands the sidecar name regular files (src/util/regular-file.ts). Found by a
 * hostile-host audit: a put by path of a FIFO nobody writes to held a thread-pool thread for
 * good (four such puts stalled every other session's file work, and the process could not exit);
 * a FIFO with a writer was read as an empty value; `store/toFile` to `/dev/stdout` wrote the
 * value between the protocol's frames; a `butler/get` to a link to the sidecar's stdout
 * replaced the link. Each is now InvalidArgument before a byte moves, and the sidecar goes on.
 * And a file larger than any buffer, read whole, failed as a retryable IOFailure in Node's words.
 */
import { spawnSync } from 'node:child_process';
import { constants } from 'node:buffer';
import { existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuantumButlerClient, QuantumButlerError } from '../../src/client/index.js';
import { kindOf, spawnClient } from '../e2e/harness.js';

let dir: string;
const clients: QuantumButlerClient[] = [];
/** A sidecar of the test's own: one that a hung open in an earlier test cannot have stalled. */
async function fresh(): Promise<QuantumButlerClient> {
  const c = await spawnClient();
  clients.push(c);
  return c;
}
const fifo = (name: string): string => {
  const path = join(dir, name);
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  return path;
};
const DT = { name: 'blob', storageClass: 'Bytes', dimensions: [] };
const outputs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, datasetType: DT, dataId: {}, run: 'r' }));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qb-host-paths-'));
});
afterAll(async () => {
  // Each process ends as asked: no open of a FIFO is left waiting in it.
  for (const c of clients) expect(await c.close()).toBe(0);
  rmSync(dir, { recursive: true, force: true });
});

describe('file paths name regular files', () => {
  it('puts by path of FIFOs (no writer) are refused at once, and other sessions file work goes on', async () => {
    // Four: as many as the thread pool has threads, which each such put used to hold for good.
    const client = await fresh();
    const sessions = await Promise.all([0, 1, 2, 3, 4].map(() => client.openSession({ predicted: { inputs: [], outputs: outputs(1) }, notifications: [] })));
    const refused = await Promise.all(sessions.slice(0, 4).map((s, i) => kindOf(s.put(outputs(1)[0]!.id, null, { payload: { encoding: 'file', path: fifo(`in-${i}`) } }))));
    expect(refused).toEqual(['InvalidArgument', 'InvalidArgument', 'InvalidArgument', 'InvalidArgument']);
    const file = join(dir, 'ordinary.bin');
    writeFileSync(file, Buffer.from('ordinary'));
    const put = await sessions[4]!.put(outputs(1)[0]!.id, null, { payload: { encoding: 'file', path: file } });
    expect(put.size).toBe(8);
    for (const s of sessions) await s.close();
  });

  it('a store will not read from a FIFO nor write to a device, a pipe (its own stdout) or through a link to one', async () => {
    const s = await (await fresh()).openSession({ predicted: { inputs: [], outputs: [] }, store: { kind: 'memory' }, notifications: [] });
    const st = s.store;
    await st.setData('k', Buffer.from('INJECTED-BYTES'));
    expect(await kindOf(st.fromFile('k', fifo('store-in')))).toBe('InvalidArgument');
    const link = join(dir, 'to-stdout');
    symlinkSync('/proc/self/fd/1', link);
    for (const path of ['/dev/stdout', '/proc/self/fd/1', link, '/dev/null', dir]) {
      expect(await kindOf(st.toFile('k', path)), path).toBe('InvalidArgument');
    }
    // Nothing reached the protocol stream: the connection still reads answers.
    expect((await st.getData('k')).toString()).toBe('INJECTED-BYTES');
    await s.close();
  });

  it('a get to a file does not replace a link to the sidecar stdout, nor write there', async () => {
    const s = await (await fresh()).openSession({ predicted: { inputs: [], outputs: outputs(1) }, notifications: [] });
    const id = outputs(1)[0]!.id;
    await s.put(id, null, { payload: { encoding: 'base64', data: Buffer.from('value').toString('base64') } });
    const link = join(dir, 'get-to-stdout');
    symlinkSync('/proc/self/fd/1', link);
    expect(await kindOf(s.get(id, { as: 'file', destination: link }))).toBe('InvalidArgument');
    expect(lstatSync(link).isSymbolicLink() && readlinkSync(link)).toBe('/proc/self/fd/1');
    const file = join(dir, 'got.bin');
    await s.get(id, { as: 'file', destination: file });
    expect(existsSync(file)).toBe(true);
    await s.close();
  });

  it('a file larger than any buffer, to be read whole, is refused as the host\'s argument, not a retryable failure', async () => {
    const big = join(dir, 'sparse.bin');
    writeFileSync(big, '');
    truncateSync(big, constants.MAX_LENGTH + 1); // sparse: no disk, no time
    const client = await fresh();
    const s = await client.openSession({ predicted: { inputs: [], outputs: outputs(1) }, store: { kind: 'memory' }, notifications: [] });
    const attempts = [() => s.put(outputs(1)[0]!.id, null, { payload: { encoding: 'file', path: big } }), () => s.store.fromFile('k', big)];
    for (const attempt of attempts) {
      const err = (await attempt().catch((e: unknown) => e)) as QuantumButlerError;
      expect([err.kind, err.data?.retryable]).toEqual(['InvalidArgument', false]);
      expect(err.message).toContain(`${constants.MAX_LENGTH + 1} bytes`);
    }
    await s.close();
  });
});
