/**
 * A hash computed on another thread: chunks in shared memory are hashed by one worker thread
 * (started on first use, never at startup, and not keeping the process alive) while the
 * calling thread does other work, e.g. a second hash of the same chunks. Hashing a large file
 * with SHA-256 and blake2b thus takes the longer of the two instead of their sum.
 *
 * The worker's code is the few lines below, run with `eval`: it needs nothing but node:crypto,
 * so the bundled CLI and the package ship no extra file for it. It imports with `import()`, which
 * works whether the code runs as a script or a module, and takes none of the process's Node
 * options (`--input-type=module` would make it a module; profiling flags would profile it).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

const WORKER_SOURCE = `
Promise.all([import('node:worker_threads'), import('node:crypto')]).then(([{ parentPort }, { createHash }]) => {
const hashes = new Map();
parentPort.on('message', (m) => {
  try {
    if (m.op === 'update') {
      let h = hashes.get(m.id);
      if (!h) hashes.set(m.id, (h = createHash(m.algorithm)));
      h.update(new Uint8Array(m.buffer, m.start, m.length));
      parentPort.postMessage({ id: m.id });
    } else if (m.op === 'digest') {
      const h = hashes.get(m.id) ?? createHash(m.algorithm);
      hashes.delete(m.id);
      parentPort.postMessage({ id: m.id, digest: h.digest('hex') });
    } else {
      hashes.delete(m.id);
    }
  } catch (err) {
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err) });
  }
});
});
`;

/**
 * The hash worker could not start, or stopped: the chunks fed to it are lost, so its caller
 * hashes them again itself (the worker saves time; it is never needed).
 */
export class HashWorkerUnavailable extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`The hash worker is unavailable: ${reason}`, options);
    this.name = 'HashWorkerUnavailable';
  }
}

/** How the worker is made: one place a test can make it fail to start. */
export const hashWorkerFactory = {
  create: (source: string, options: WorkerOptions): Worker => new Worker(source, options),
};

interface Waiter {
  resolve(digest: string | undefined): void;
  reject(err: Error): void;
}

let worker: Worker | undefined;
let nextId = 1;
/** Per hash, its answers owed in order (the worker answers each message once, in order). */
const owed = new Map<number, Waiter[]>();

/** Worker `w` failed or ended: every answer owed is lost (a later failure of a worker already replaced says nothing). */
function failAll(w: Worker, err: HashWorkerUnavailable): void {
  if (worker !== w) return;
  worker = undefined;
  for (const waiters of owed.values()) for (const w of waiters) w.reject(err);
  owed.clear();
}

function hashWorker(): Worker {
  if (worker) return worker;
  let w: Worker;
  try {
    w = hashWorkerFactory.create(WORKER_SOURCE, { eval: true, env: {}, execArgv: [] });
  } catch (err) {
    throw new HashWorkerUnavailable((err as Error).message, { cause: err });
  }
  w.on('message', (m: { id: number; digest?: string; error?: string }) => {
    const waiters = owed.get(m.id);
    const w = waiters?.shift();
    if (waiters?.length === 0) owed.delete(m.id);
    if (owed.size === 0) worker?.unref();
    if (m.error !== undefined) w?.reject(new Error(`Hashing failed: ${m.error}`));
    else w?.resolve(m.digest);
  });
  w.on('error', (err) => failAll(w, new HashWorkerUnavailable(err.message, { cause: err })));
  w.on('exit', (code) => failAll(w, new HashWorkerUnavailable(`it exited (code ${code})`)));
  // After the listeners (which would ref it again): an idle worker keeps no process alive; one
  // owing answers does (see send), or a process awaiting them would end.
  w.unref();
  worker = w;
  return w;
}

/** A view of shared memory, as `sharedChunk` gives: what a RemoteHash can be fed. */
export type SharedChunk = Buffer & { buffer: SharedArrayBuffer };

/** A buffer of `size` bytes in memory shared with the hash worker. */
export function sharedChunk(size: number): SharedChunk {
  return Buffer.from(new SharedArrayBuffer(size)) as SharedChunk;
}

/**
 * One hash on the worker thread. Feed it chunks in order; each must stay unchanged until its
 * update settles. Made, updated or digested when the worker cannot start or has stopped, it
 * throws or rejects with HashWorkerUnavailable.
 */
export class RemoteHash {
  private readonly id = nextId++;
  private readonly worker = hashWorker();
  private ended = false;

  constructor(private readonly algorithm: string) {}

  private send(msg: Record<string, unknown>): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      // Its worker failed meanwhile: nothing sent to it would be answered.
      if (worker !== this.worker) {
        reject(new HashWorkerUnavailable('it stopped'));
        return;
      }
      const waiters = owed.get(this.id);
      if (owed.size === 0) this.worker.ref();
      if (waiters) waiters.push({ resolve, reject });
      else owed.set(this.id, [{ resolve, reject }]);
      this.worker.postMessage({ id: this.id, algorithm: this.algorithm, ...msg });
    });
  }

  /** Hash `chunk` (a view of shared memory) after those before; settles once the worker is done with it. */
  update(chunk: SharedChunk): Promise<void> {
    return this.send({ op: 'update', buffer: chunk.buffer, start: chunk.byteOffset, length: chunk.length }).then(() => undefined);
  }

  /** The digest (lowercase hex) of all chunks given; the hash ends. */
  async digest(): Promise<string> {
    this.ended = true;
    return (await this.send({ op: 'digest' }))!;
  }

  /** Forget the hash (after a failure): the worker drops its state. */
  discard(): void {
    if (this.ended) return;
    this.ended = true;
    if (worker === this.worker) this.worker.postMessage({ id: this.id, op: 'discard' });
  }
}
