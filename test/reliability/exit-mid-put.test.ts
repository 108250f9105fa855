/**
 * `shutdown` or a signal while a repository session's put by path is copying its file. The
 * session's provenance, its datastore records and the artifact on disk must agree: the put is
 * waited for (it finishes, and the provenance and records name it), or, past --exit-wait-ms,
 * abandoned before its file is published (none of the three has it). Before, the provenance
 * was written at once (the output not written), the records closed under the put, and the put
 * then published its artifact: a file nothing names, which a retried quantum cannot replace.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../e2e/raw-client.js';
import { CLI_UNDER_TEST, MiB } from './process-watch.js';

const dir = mkdtempSync(join(tmpdir(), 'qb-exit-put-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

const FILE_BYTES = 400 * MiB;
let n = 0;

/** A file of FILE_BYTES (its pages written, so the copy reads real data). */
async function bigFile(): Promise<string> {
  const path = join(dir, 'big.bin');
  if (existsSync(path)) return path;
  const fh = await open(path, 'w');
  const block = Buffer.alloc(MiB, 7);
  for (let i = 0; i < FILE_BYTES / MiB; i++) await fh.write(block);
  await fh.close();
  return path;
}

/** Every file under `root`, with its size. */
function files(root: string, out = new Map<string, number>()): Map<string, number> {
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) files(p, out);
    else if (e.isFile()) out.set(p, statSync(p).size);
  }
  return out;
}

/** A sidecar with a repository session on one `Bytes` output, whose put of a large file is under way (its temp file part-written). */
async function putUnderWay(args: string[] = []) {
  const root = join(dir, `repo-${++n}`);
  const provenanceFile = join(dir, `prov-${n}.json`);
  const recordsFile = join(dir, `records-${n}.sqlite3`);
  const c = new RawClient(['--stdio', ...args], { cli: CLI_UNDER_TEST });
  cleanup.push(() => c.child.exitCode === null && c.kill());
  await c.initialize();
  const ok = async (method: string, params: unknown) => {
    const m = await c.call(method, params);
    expect(m.error).toBeUndefined();
    return m.result as Record<string, unknown>;
  };
  await ok('repository/create', { root });
  await ok('repository/registerDatasetType', { root, datasetType: { name: 'blob', storageClass: 'Bytes', dimensions: ['instrument', 'detector'] } });
  const made = await ok('repository/makeQuantum', { root, taskName: 't.T', inputs: [], outputs: [{ datasetType: 'blob', dataId: { instrument: 'Cam1', detector: 1 }, run: 'u/run' }] });
  const output = (made.outputs as Array<{ id: string }>)[0]!;
  await ok('session/open', { sessionId: 's', quantum: made.quantum, repository: { root, recordsFile }, provenanceFile, notifications: [] });
  const datastore = join(root, 'datastore');
  const putId = c.request('butler/put', { sessionId: 's', ref: output, payload: { encoding: 'file', path: await bigFile() } });
  // Under way: the artifact's temp file exists and holds part of the file.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const temp = [...files(datastore)].find(([p, size]) => p.includes('.qbtmp-') && !p.includes('.qbstore') && size > 0 && size < FILE_BYTES);
    if (temp) break;
    if (Date.now() > deadline) throw new Error('the put never got under way');
    await new Promise((r) => setTimeout(r, 1));
  }
  const outcome = () => {
    const provenance = JSON.parse(readFileSync(provenanceFile, 'utf8')) as { outputs: Array<{ ref: { id: string }; written: boolean }> };
    const db = new Database(recordsFile, { readonly: true });
    const recorded = (db.prepare('SELECT dataset_id FROM file_datastore_records').all() as Array<{ dataset_id: string }>).map((r) => r.dataset_id);
    db.close();
    const onDisk = [...files(datastore).keys()].filter((p) => !p.includes('.qbstore'));
    return {
      written: provenance.outputs.find((o) => o.ref.id === output.id)?.written,
      recorded: recorded.includes(output.id),
      artifacts: onDisk.filter((p) => !p.includes('.qbtmp-')).length,
      temps: onDisk.filter((p) => p.includes('.qbtmp-')).length,
    };
  };
  return { c, putId, outcome };
}

describe('closing every session while a put is under way', () => {
  it('shutdown waits for the put: the provenance, the records and the artifact all have it', async () => {
    const { c, putId, outcome } = await putUnderWay();
    const shutdown = c.request('shutdown');
    expect((await c.response(putId, 30_000)).error).toBeUndefined();
    expect((await c.response(shutdown, 30_000)).error).toBeUndefined();
    c.notify('exit');
    expect(await c.exit).toBe(0);
    expect(outcome()).toEqual({ written: true, recorded: true, artifacts: 1, temps: 0 });
  });

  it('SIGTERM waits for it too', async () => {
    const { c, putId, outcome } = await putUnderWay();
    c.child.kill('SIGTERM');
    expect((await c.response(putId, 30_000)).error).toBeUndefined();
    expect(await c.exit).toBe(1);
    expect(outcome()).toEqual({ written: true, recorded: true, artifacts: 1, temps: 0 });
  });

  it('exit while shutdown still waits (the clients give shutdown 2 s) cuts the wait short: the provenance is written, and the put publishes nothing', async () => {
    const { c, putId, outcome } = await putUnderWay(['--exit-wait-ms=600000']);
    c.request('shutdown');
    await new Promise((r) => setTimeout(r, 100)); // the shutdown is waiting for the put
    c.notify('exit');
    expect(await c.exit).toBe(0);
    // The put's answer may not have gone out before the process ended; if it did, it was cancelled.
    const answer = c.messages.find((m) => m.id === putId);
    if (answer) expect(answer.error?.data).toMatchObject({ kind: 'RequestCancelled' });
    const { temps: _left, ...agreed } = outcome(); // a temp file the process left is swept at the next open
    expect(agreed).toEqual({ written: false, recorded: false, artifacts: 0 });
  });

  it('past --exit-wait-ms the put is abandoned before its file is published: none of the three has it', async () => {
    const { c, putId, outcome } = await putUnderWay(['--exit-wait-ms=0']);
    c.child.kill('SIGTERM');
    const answer = await c.response(putId, 30_000);
    expect(answer.error?.data).toMatchObject({ kind: 'RequestCancelled' });
    expect(answer.error?.message).toMatch(/closed its session/);
    expect(await c.exit).toBe(1);
    expect(outcome()).toEqual({ written: false, recorded: false, artifacts: 0, temps: 0 });
    expect(c.stderr).toMatch(/abandoned/);
  });
});
