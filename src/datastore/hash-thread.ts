/**
 * A file's digest computed on a second thread, so two digests of one file (SHA-256 for the
 * answer, blake2b for daf_butler's record) run side by side instead of one after the other.
 * One worker, started on first use and kept (unreferenced: it never keeps the process alive);
 * it reads the file itself in 1 MiB chunks. Its script is inline, so the bundled CLI needs no
 * file beside it.
 */
import { Worker } from 'node:worker_threads';

const SCRIPT = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const buf = Buffer.allocUnsafeSlow(1 << 20);
parentPort.on('message', ({ id, path, algorithm }) => {
  let fd;
  try {
    fd = fs.openSync(path, 'r');
    const hash = createHash(algorithm);
    let size = 0;
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, size)) > 0; size += n) hash.update(buf.subarray(0, n));
    parentPort.postMessage({ id, digest: hash.digest('hex'), size });
  } catch (err) {
    parentPort.postMessage({ id, error: { message: String(err && err.message), code: err && err.code } });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
});
`;

interface Reply {
  id: number;
  digest?: string;
  size?: number;
  error?: { message: string; code?: string };
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (r: { digest: string; size: number }) => void; reject: (e: Error) => void }>();

function failAll(err: Error): void {
  worker = undefined;
  for (const p of pending.values()) p.reject(err);
  pending.clear();
}

function thread(): Worker {
  if (worker) return worker;
  const w = new Worker(SCRIPT, { eval: true });
  w.unref();
  w.on('message', (r: Reply) => {
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (pending.size === 0) w.unref();
    if (r.error) p.reject(Object.assign(new Error(r.error.message), { code: r.error.code }));
    else p.resolve({ digest: r.digest!, size: r.size! });
  });
  w.on('error', (err) => failAll(err));
  w.on('exit', (code) => {
    if (worker === w) failAll(new Error(`The hashing thread exited (${code}).`));
  });
  worker = w;
  return w;
}

/** The digest (lowercase hex) of the file at `path` with a node:crypto algorithm, and the size hashed, computed on the hashing thread. */
export function hashFileOffThread(path: string, algorithm: string): Promise<{ digest: string; size: number }> {
  const w = thread();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    // Referenced while a digest is owed, so the process waits for it.
    w.ref();
    w.postMessage({ id, path, algorithm });
  });
}
