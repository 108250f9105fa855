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
 *
 * It also reads a whole file and hashes it (readHashedRemote, or readFileHashedRemote opening
 * it too): each small chunk is hashed just after this thread's read put it in its core's cache. SHA-256 of a 16 MiB buffer took 15.5 ms
 * of CPU here where the same bytes from cache took 8.0, and 13-14 ms when the thread pool read
 * each 1 MiB chunk on the other core while the main thread hashed the one before. (Measured
 * again later on a machine of the same profile, the cache made no difference: 15.0-17.1 ms for
 * 16 MiB as 64 passes over one 256 KiB buffer, 15.0-15.4 for one 16 MiB buffer; the hash alone,
 * ~1.05 GB/s, is a put's floor there.) And it
 * copies part of one file to another, hashing it on the way (copyHashedRemote): a get by path
 * copies the first half of an artifact so while the main thread copies the rest, with no
 * message per chunk: per 16 MiB get here, 7.7 ms of the worker's CPU, the main thread's down
 * from 12.6 to 8.0 and the thread pool's from 7.7 to 4.4 (the same CPU in all).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

const WORKER_SOURCE = `
Promise.all([import('node:worker_threads'), import('node:crypto'), import('node:fs'), import('node:v8'), import('node:vm')]).then(([{ parentPort }, { createHash }, { closeSync, constants, fstatSync, openSync, readSync, writeSync }, v8, vm]) => {
const hashes = new Map();
let copyBuffer = null;
// A shared buffer sent here stays alive, however long ago the caller dropped it, until this
// isolate collects its handle, which its few allocations would make rare: after each read
// (a whole dataset's memory), a young-generation collection (~0.1 ms) lets it go.
let collect = null;
try {
  v8.setFlagsFromString('--expose-gc');
  collect = vm.runInNewContext('gc');
} catch {}
// Read fd from its start into buffer in chunks, each hashed just after it is read, until size
// bytes or a short read; then, if all came, one byte past them.
function readHashed(fd, buffer, size, { chunk, algorithm }) {
  const bytes = new Uint8Array(buffer, 0, size);
  const h = createHash(algorithm);
  let read = 0;
  while (read < size) {
    const asked = Math.min(chunk, size - read);
    const got = readSync(fd, bytes, read, asked, read);
    h.update(bytes.subarray(read, read + got));
    read += got;
    if (got < asked) break;
  }
  const beyond = read === size ? readSync(fd, new Uint8Array(1), 0, 1, size) : 0;
  return { digest: h.digest('hex'), read, beyond };
}
parentPort.on('message', (m) => {
  try {
    if (m.op === 'read') {
      parentPort.postMessage({ id: m.id, ...readHashed(m.fd, m.buffer, m.size, m) });
    } else if (m.op === 'file') {
      // The same for a file opened, measured and closed here too: one message for the whole read.
      // O_NONBLOCK: a FIFO put in the file's place must not hold this thread (regular-file.ts).
      const fd = openSync(m.path, constants.O_RDONLY | constants.O_NONBLOCK);
      let answer;
      try {
        const st = fstatSync(fd);
        answer = st.isFile() && st.size === m.buffer.byteLength ? readHashed(fd, m.buffer, st.size, m) : { skipped: true };
      } finally {
        closeSync(fd);
      }
      parentPort.postMessage({ id: m.id, ...answer });
    } else if (m.op === 'copy') {
      // Bytes start..end of one open file to the same place in another, each small chunk read,
      // hashed (from this core's cache) and written from the one buffer of this thread.
      copyBuffer ??= new Uint8Array(m.chunk);
      const h = createHash(m.algorithm);
      let at = m.start;
      while (at < m.end) {
        const got = readSync(m.fd, copyBuffer, 0, Math.min(copyBuffer.length, m.end - at), at);
        if (got === 0) break;
        const chunk = copyBuffer.subarray(0, got);
        h.update(chunk);
        for (let put = 0; put < got; ) put += writeSync(m.to, chunk, put, got - put, at + put);
        at += got;
      }
      parentPort.postMessage({ id: m.id, digest: h.digest('hex'), read: at - m.start });
    } else if (m.op === 'update') {
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
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err), code: err && err.code, syscall: err && err.syscall });
  }
  if ((m.op === 'read' || m.op === 'file') && collect) setImmediate(() => collect({ type: 'minor' }));
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

/** A worker's answer. */
interface Answer {
  id: number;
  digest?: string;
  /** A read: the bytes read from the start, and those found past the size asked (0 or 1). */
  read?: number;
  beyond?: number;
  /** A file read: not a regular file of the buffer's size, so not read. */
  skipped?: boolean;
  error?: string;
  /** A failed read's errno code and system call, as Node gives them. */
  code?: string;
  syscall?: string;
}

interface Waiter {
  resolve(answer: Answer): void;
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
  w.on('message', (m: Answer) => {
    const waiters = owed.get(m.id);
    const w = waiters?.shift();
    if (waiters?.length === 0) owed.delete(m.id);
    if (owed.size === 0) worker?.unref();
    if (m.error === undefined) w?.resolve(m);
    // A system call's failure keeps its errno code (a read's is the caller's file's).
    else if (m.code !== undefined) w?.reject(Object.assign(new Error(m.error), { code: m.code, syscall: m.syscall }));
    else w?.reject(new Error(`Hashing failed: ${m.error}`));
  });
  w.on('error', (err) => failAll(w, new HashWorkerUnavailable(err.message, { cause: err })));
  w.on('exit', (code) => failAll(w, new HashWorkerUnavailable(`it exited (code ${code})`)));
  // After the listeners (which would ref it again): an idle worker keeps no process alive; one
  // owing answers does (see send), or a process awaiting them would end.
  w.unref();
  worker = w;
  return w;
}

/** Whether the worker owes no answer (none started, or all answered): a message now is served at once. */
export function hashWorkerIdle(): boolean {
  return owed.size === 0;
}

/** A view of shared memory, as `sharedChunk` gives: what a RemoteHash can be fed. */
export type SharedChunk = Buffer & { buffer: SharedArrayBuffer };

/** A buffer of `size` bytes in memory shared with the hash worker. */
export function sharedChunk(size: number): SharedChunk {
  return Buffer.from(new SharedArrayBuffer(size)) as SharedChunk;
}

/** Send `msg` as job `id` to `to`, the worker it began with; its answer. */
function send(to: Worker, id: number, msg: Record<string, unknown>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // Its worker failed meanwhile: nothing sent to it would be answered.
    if (worker !== to) {
      reject(new HashWorkerUnavailable('it stopped'));
      return;
    }
    const waiters = owed.get(id);
    if (owed.size === 0) to.ref();
    if (waiters) waiters.push({ resolve, reject });
    else owed.set(id, [{ resolve, reject }]);
    to.postMessage({ id, ...msg });
  });
}

/** Chunks of a read on the worker: each is hashed while still in its core's cache (256 KiB took 10.6-11.6 ms of CPU to 13-14 for 1 MiB ones here). */
export const REMOTE_READ_CHUNK = 256 * 1024;

/**
 * Read the open file `fd` from its start into `buffer` (shared memory) on the worker thread,
 * hashing each chunk with `algorithm` just after it is read, until `size` bytes or a short
 * read; then, if all came, one byte past them. Blocking reads, on the worker: the caller's
 * thread stays free. Its digest (of exactly the bytes read), the bytes read, and those found
 * past `size` (0 or 1). A failed read rejects with its errno `code`; no worker, with
 * HashWorkerUnavailable. `fd` must stay open until this settles.
 */
export async function readHashedRemote(fd: number, buffer: SharedArrayBuffer, size: number, algorithm: string): Promise<{ digest: string; read: number; beyond: number }> {
  const a = await send(hashWorker(), nextId++, { op: 'read', fd, buffer, size, chunk: REMOTE_READ_CHUNK, algorithm });
  return { digest: a.digest!, read: a.read!, beyond: a.beyond! };
}

/**
 * readHashedRemote of the file at `path`, opened, measured and closed on the worker too: one
 * message to the worker and one answer for the whole read, where opening and measuring it here
 * took two turns of the thread pool before it and closing it one after. Read only if it is a
 * regular file of `buffer`'s size (else undefined); a failed open or read rejects with its errno
 * `code`, as `fs.open` would; no worker, with HashWorkerUnavailable.
 */
export async function readFileHashedRemote(path: string, buffer: SharedArrayBuffer, algorithm: string): Promise<{ digest: string; read: number; beyond: number } | undefined> {
  const a = await send(hashWorker(), nextId++, { op: 'file', path, buffer, chunk: REMOTE_READ_CHUNK, algorithm });
  return a.skipped ? undefined : { digest: a.digest!, read: a.read!, beyond: a.beyond! };
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

  private send(msg: Record<string, unknown>): Promise<Answer> {
    return send(this.worker, this.id, { algorithm: this.algorithm, ...msg });
  }

  /** Hash `chunk` (a view of shared memory) after those before; settles once the worker is done with it. */
  update(chunk: SharedChunk): Promise<void> {
    return this.send({ op: 'update', buffer: chunk.buffer, start: chunk.byteOffset, length: chunk.length }).then(() => undefined);
  }

  /** The digest (lowercase hex) of all chunks given; the hash ends. */
  async digest(): Promise<string> {
    this.ended = true;
    return (await this.send({ op: 'digest' })).digest!;
  }

  /** Forget the hash (after a failure): the worker drops its state. */
  discard(): void {
    if (this.ended) return;
    this.ended = true;
    if (worker === this.worker) this.worker.postMessage({ id: this.id, op: 'discard' });
  }
}

/**
 * Copy bytes `start` to `end` (or the file's end, if sooner) of the open file `fd` to the same
 * place in the open file `to`, on the worker thread: each small chunk read, hashed with
 * `algorithm` and written from one buffer there, so the digest is that of exactly the bytes
 * written, hashed from the worker's core's cache. Blocking calls, on the worker: the caller's
 * thread stays free. The digest and the bytes copied. A failed read or write rejects with its
 * errno `code` and `syscall`; no worker, with HashWorkerUnavailable. Both files must stay open
 * until this settles.
 */
export async function copyHashedRemote(fd: number, to: number, start: number, end: number, algorithm: string): Promise<{ digest: string; copied: number }> {
  const a = await send(hashWorker(), nextId++, { op: 'copy', fd, to, start, end, chunk: REMOTE_READ_CHUNK, algorithm });
  return { digest: a.digest!, copied: a.read! };
}
