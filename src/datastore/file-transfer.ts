/**
 * Dataset bytes to and from a caller's file path: written to a temp file beside the
 * destination and renamed into place, so the destination never holds a partial or
 * unverified artifact; copied from a datastore file in chunks, each hashed while the next is
 * read and the chunk itself written (reads and writes run on libuv's thread pool).
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ButlerError, InvalidArgument, IOFailure } from '../model/errors.js';
import type { Sha256Midpoint } from '../util/checksum.js';
import { largeBuffer, prepareLargeBuffer, returnSpare, takeSpare } from '../util/large-buffer.js';
import { copyHashedRemote, hashWorkerIdle, HashWorkerUnavailable, readFileHashedRemote, readHashedRemote, RemoteHash, sharedChunk, type SharedChunk } from '../util/parallel-hash.js';
import { ahead } from '../util/promises.js';
import { NOT_OURS, assertFitsInMemory, assertRegularOrMissing } from '../util/regular-file.js';
import type { LoadedPutSource, PutSource } from './datastore.js';
import { OpenedFile } from './opened-file.js';

/** Chunks of a streamed copy: two are held at once (one being read, one hashed and written). */
const COPY_CHUNK = 1024 * 1024;

/**
 * From this size on, a copy with two hashes (a file datastore's put: SHA-256 and blake2b) runs
 * the second on the worker thread; below it, the worker's round trips cost more than they save.
 */
export const PARALLEL_HASH_MIN = 4 * 1024 * 1024;

/** A caller's file could not be read or written: ENOENT is the caller's argument, anything else an I/O failure. */
export function pathError(err: unknown, action: string, path: string): Error {
  if (err instanceof ButlerError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return new InvalidArgument(`Cannot ${action} ${path}: no such file or directory`, { details: { code: e.code } });
  if (e.code !== undefined && NOT_OURS.has(e.code)) return new InvalidArgument(`Cannot ${action} ${path}: ${e.message}`, { details: { code: e.code } });
  return new IOFailure(`Cannot ${action} ${path}: ${e.message}`, { details: { code: e.code } });
}

/** A temp file's name beside `path` (hidden, unique). */
export function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
}

/**
 * Rename a finished temp file onto `dest`. An existing regular file at `dest` is first renamed
 * aside and removed after: on ext4 (auto_da_alloc, its default) a rename that replaces a file
 * waits until the new file's data is written out, 10-25 ms for 16 MiB, while renames onto free
 * names do not. The cost: between the two renames `dest` does not exist, so a reader may see
 * it missing (never partial). The old file is removed after `placeFile` returns, not before
 * (an unlink of 16 MiB took 1.3-3 ms of a ~10 ms get here): `asideRemovals()` waits for those
 * under way, and the server waits for them as it exits (within its bounded cleanup). A process
 * killed before a removal ran (or one that failed) leaves that old file under a hidden name
 * beside the destination (`.<name>.<uuid>.tmp.old`): at most one per replacing write. If the
 * second rename fails, the old file is put back.
 */
export async function placeFile(tmp: string, dest: string): Promise<void> {
  const existing = await fs.lstat(dest).catch(() => undefined);
  if (!existing?.isFile()) {
    await fs.rename(tmp, dest); // nothing there (or not a file: the rename's own error says so)
    return;
  }
  const aside = `${tmp}.old`;
  try {
    await fs.rename(dest, aside);
  } catch {
    await fs.rename(tmp, dest); // gone meanwhile, or not ours to move: a plain replace
    return;
  }
  try {
    await fs.rename(tmp, dest);
  } catch (err) {
    await fs.rename(aside, dest).catch(() => undefined);
    throw err;
  }
  const removal: Promise<void> = fs.rm(aside, { force: true }).then(
    () => void removing.delete(removal),
    () => void removing.delete(removal), // left as a hidden file beside it (see above)
  );
  removing.add(removal);
}

/** Removals of replaced files (placeFile) still under way. */
const removing = new Set<Promise<void>>();

/** Resolves once every replaced file's removal started so far has ended (successful or not). */
export async function asideRemovals(): Promise<void> {
  while (removing.size > 0) await Promise.all(removing);
}

/** Write into a temp file beside `dest` by `fill`, then place it; on any failure nothing is left but what was there. */
async function viaTemp(dest: string, fill: (fh: fs.FileHandle, tmp: string) => Promise<void>): Promise<void> {
  if (dest.includes('\0')) throw new InvalidArgument('File paths must not contain NUL bytes');
  // Not placed over a device, a pipe (the sidecar's own stdout is one) or a directory.
  await assertRegularOrMissing(dest).catch((err: unknown) => {
    throw pathError(err, 'write', dest);
  });
  const tmp = tempBeside(dest);
  try {
    const fh = await fs.open(tmp, 'wx');
    try {
      await fill(fh, tmp);
    } finally {
      await fh.close();
    }
    await placeFile(tmp, dest);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw pathError(err, 'write', dest);
  }
}

/** Write bytes to `dest` atomically (temp file + rename), in writes of at most WRITE_MAX bytes. */
export function writeFileAtomically(dest: string, bytes: Uint8Array): Promise<void> {
  return viaTemp(dest, (fh) => writeAll(fh, bytes, 0));
}

/** What a verified copy checks: the digest of an algorithm, made by `check` once all bytes went through. */
export interface CopyCheck {
  algorithm: string;
  /** Throws (its own error) if the digest (lowercase hex) is not the expected one. */
  check(digest: string): void;
  /** SHA-256 only: its midpoint in the expected bytes, if known; a large file is then checked in two halves at once (copyInHalves). */
  midpoint?: Sha256Midpoint;
}

/**
 * Copy the file `src` to `dest` (temp file + rename), hashing what is copied with `verify`'s
 * algorithm and placing the copy only once its digest passed the check: a failed check or
 * copy leaves no destination beyond what was there. Each chunk is hashed while the next is
 * read and the chunk itself written; a large file checked by SHA-256 with a known midpoint, in
 * two halves at once (copyInHalves). `src` is read to its end; its size.
 */
export async function copyFileVerified(src: string, dest: string, verify: CopyCheck | null): Promise<number> {
  // A datastore's file: a symbolic link in its place is not followed (ELOOP).
  const from = await fs.open(src, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  let total = 0;
  try {
    if (!verify) {
      // Nothing to check: the kernel copies (copy_file_range, or a reflink where the file system shares blocks).
      await viaTemp(dest, async (to, tmp) => {
        await fs.copyFile(src, tmp);
        total = (await to.stat()).size;
      });
      return total;
    }
    const midpoint = verify.algorithm === 'sha256' ? verify.midpoint : undefined;
    const halves = midpoint !== undefined && (await from.stat()).size >= PARALLEL_HASH_MIN;
    await viaTemp(dest, async (to) => {
      if (halves) {
        const copied = await copyInHalves(from, to, midpoint);
        if (copied !== undefined) {
          total = copied.size;
          verify.check(copied.digest);
          return;
        }
        // The first half did not match (or no worker): the copy starts over, checked by the whole
        // digest, which `check` then reports (rare: a changed file, or a midpoint of other bytes).
        await to.truncate(0);
      }
      const hash = createHash(verify.algorithm);
      total = await copyChunksHashed(from, to, [hash]);
      verify.check(hash.digest('hex'));
    });
    return total;
  } finally {
    await from.close();
  }
}

/**
 * Copy `from` from its start into `to` in chunks, each hashed with every hash while the next is
 * read and the chunk itself written: the hashes see exactly the bytes written. The size copied.
 */
async function copyChunksHashed(from: fs.FileHandle, to: fs.FileHandle, hashes: readonly Updatable[], range: Range = WHOLE): Promise<number> {
  const bufs = [Buffer.allocUnsafeSlow(COPY_CHUNK), Buffer.allocUnsafeSlow(COPY_CHUNK)];
  return copyChunks(from, to, bufs, range, (chunk) => {
    for (const hash of hashes) hash.update(chunk);
  });
}

/** What a copy can hash its chunks with: a Hash, or one that takes its midpoint on the way (MidpointTaker). */
interface Updatable {
  update(chunk: Uint8Array): unknown;
}

/** Bytes `start` to `end` (exclusive; Infinity: to the file's end) of a file. */
interface Range {
  start: number;
  end: number;
}
const WHOLE: Range = { start: 0, end: Infinity };

/**
 * A SHA-256 that takes its midpoint (see checksum.ts) as the bytes go through: its state after
 * the first `at` bytes. One state copy and one digest of a copy there: a few microseconds.
 */
class MidpointTaker implements Updatable {
  private seen = 0;
  midpoint: Sha256Midpoint | undefined;

  constructor(
    readonly hash: Hash,
    private readonly at: number,
  ) {}

  update(chunk: Uint8Array): void {
    const need = this.at - this.seen;
    this.seen += chunk.length;
    if (need <= 0 || need > chunk.length) {
      this.hash.update(chunk);
      return;
    }
    this.hash.update(chunk.subarray(0, need));
    this.midpoint = { at: this.at, head: this.hash.copy().digest('hex'), state: this.hash.copy() };
    if (need < chunk.length) this.hash.update(chunk.subarray(need));
  }
}

/** Where a file of `size` bytes is split in two for a check in halves: half-way, on a chunk boundary (0: too small to split). */
function midpointAt(size: number): number {
  return Math.floor(size / 2 / COPY_CHUNK) * COPY_CHUNK;
}

/**
 * Copy `from` into `to` checked against a SHA-256 midpoint (see checksum.ts) in two halves at once,
 * each in chunks, each chunk hashed and written before its buffer is read into again: the first
 * `midpoint.at` bytes copied and hashed alone on the worker thread (copyHashedRemote: no message
 * per chunk, each hashed from that core's cache), the rest here on from the midpoint's state.
 * The first half as expected: the whole SHA-256 of the bytes copied (the rest's digest from that
 * state) and the size; else (or no worker) undefined, with `to` partly written.
 */
async function copyInHalves(from: fs.FileHandle, to: fs.FileHandle, midpoint: Sha256Midpoint): Promise<{ digest: string; size: number } | undefined> {
  const tail = midpoint.state.copy();
  const [head, rest] = await Promise.allSettled([
    copyHashedRemote(from.fd, to.fd, 0, midpoint.at, 'sha256'),
    copyChunksHashed(from, to, [tail], { start: midpoint.at, end: Infinity }),
  ]);
  if (head.status === 'rejected' && head.reason instanceof HashWorkerUnavailable) return undefined;
  for (const half of [head, rest]) if (half.status === 'rejected') throw half.reason;
  const first = (head as PromiseFulfilledResult<{ digest: string; copied: number }>).value;
  const size = (rest as PromiseFulfilledResult<number>).value;
  if (first.copied !== midpoint.at || first.digest !== midpoint.head) return undefined;
  return { digest: tail.digest('hex'), size: first.copied + size };
}

/** Chunks in flight when a second hash runs on the worker thread, which lags behind the first. */
const SHARED_CHUNKS = 4;

/**
 * The same with one more hash, `remote`, on the worker thread (see parallel-hash.ts), in parallel
 * with the `local` ones here: chunks live in shared memory, and a buffer is read into again only
 * once the worker is done with its previous chunk. The remote digest and the size copied.
 */
async function copyChunksHashedInParallel(from: fs.FileHandle, to: fs.FileHandle, local: readonly Updatable[], remoteAlgorithm: string): Promise<{ digest: string; size: number }> {
  const remote = new RemoteHash(remoteAlgorithm);
  const bufs = Array.from({ length: SHARED_CHUNKS }, () => sharedChunk(COPY_CHUNK));
  const busy: (Promise<void> | undefined)[] = [];
  try {
    const size = await copyChunks(
      from,
      to,
      bufs,
      WHOLE,
      (chunk, i) => {
        busy[i % bufs.length] = ahead(remote.update(chunk as SharedChunk));
        for (const hash of local) hash.update(chunk);
      },
      (i) => busy[i % bufs.length],
    );
    await Promise.all(busy);
    return { digest: await remote.digest(), size };
  } catch (err) {
    await Promise.all(busy.map((b) => b?.catch(() => undefined)));
    remote.discard();
    throw err;
  }
}

/**
 * Read `range` of `from` into the buffers in turn and write each chunk to `to` at the same place,
 * calling `use` on it while the next read runs and it is written. `free(i)`: what to wait for
 * before buffer `i % bufs.length` is read into again (a use still reading it). The size copied.
 */
async function copyChunks(
  from: fs.FileHandle,
  to: fs.FileHandle,
  bufs: readonly Buffer[],
  range: Range,
  use: (chunk: Buffer, i: number) => void,
  free: (i: number) => Promise<void> | undefined = () => undefined,
): Promise<number> {
  const size = bufs[0]!.length;
  let total = 0;
  // Reads ask for at most what is left of the range (none past its end).
  const readAt = (buf: Buffer, done: number) => ahead(from.read(buf, 0, Math.min(size, range.end - range.start - done), range.start + done));
  let next = readAt(bufs[0]!, 0);
  // A failed write leaves a read in flight: it settles before the file is closed.
  const settle = () => next.catch(() => undefined);
  for (let i = 0; ; i++) {
    const { bytesRead, buffer } = await next;
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    const at = range.start + total;
    total += bytesRead;
    // The next read fills the next buffer while this chunk is written and used.
    const reusable = free(i + 1);
    if (reusable) await reusable;
    next = readAt(bufs[(i + 1) % bufs.length]!, total);
    const written = writeAll(to, chunk, at);
    try {
      use(chunk, i);
    } catch (err) {
      await written.catch(() => undefined);
      await settle();
      throw err;
    }
    await written.catch(async (err: unknown) => {
      await settle();
      throw err;
    });
  }
  return total;
}

/**
 * Copy the file `src` into the existing file `dest` (written from its start; a handle open for
 * writing is written through and left open, a path is opened and closed here), hashing the
 * bytes written with each algorithm: their digests (lowercase hex, in order) and the size; for a
 * large regular file whose first algorithm is SHA-256, also its midpoint (see checksum.ts), so
 * that a check of these bytes can hash their halves at once.
 * Errors reading `src` are the caller's (pathError; a size change, IOFailure); writing `dest`'s, as they come.
 */
export async function copyFileHashed(
  src: string,
  dest: string | fs.FileHandle,
  algorithms: readonly string[],
  file?: OpenedFile,
): Promise<{ digests: string[]; size: number; midpoint?: Sha256Midpoint }> {
  // `file`: `src` as the caller opened it (theirs to close), not opened again.
  const source =
    file ??
    (await OpenedFile.open(src).catch((err: unknown) => {
      throw pathError(err, 'read', src);
    }));
  const from = source.handle;
  try {
    const to = typeof dest === 'string' ? await fs.open(dest, 'r+') : dest;
    try {
      const large = source.size >= PARALLEL_HASH_MIN;
      const splitAt = large && algorithms[0] === 'sha256' ? midpointAt(source.size) : 0;
      const copy = async (): Promise<{ digests: string[]; size: number; midpoint?: Sha256Midpoint }> => {
        // Two hashes of a large file: the last runs on the worker thread meanwhile.
        if (algorithms.length > 1 && large) {
          const local = localHashes(algorithms.slice(0, -1), splitAt);
          try {
            const { digest, size } = await copyChunksHashedInParallel(from, to, local, algorithms[algorithms.length - 1]!);
            return { digests: [...local.map((h) => digestOf(h)), digest], size, midpoint: midpointOf(local[0]) };
          } catch (err) {
            if (!(err instanceof HashWorkerUnavailable)) throw err;
            // No worker (it could not start, or stopped): the copy starts over, every hash here.
            await to.truncate(0);
          }
        }
        const hashes = localHashes(algorithms, splitAt);
        const size = await copyChunksHashed(from, to, hashes);
        return { digests: hashes.map((h) => digestOf(h)), size, midpoint: midpointOf(hashes[0]) };
      };
      const { digests, size, midpoint } = await copy().catch((err: unknown) => {
        throw (err as NodeJS.ErrnoException).syscall === 'read' ? pathError(err, 'read', src) : err;
      });
      if (size !== source.size) throw changedWhileRead(src, source.size, size);
      return midpoint ? { digests, size, midpoint } : { digests, size };
    } finally {
      if (to !== dest) await to.close();
    }
  } finally {
    if (source !== file) await source.close();
  }
}

/** Hashes of these algorithms; the first taking its midpoint at `splitAt` (if not 0). */
function localHashes(algorithms: readonly string[], splitAt: number): (Hash | MidpointTaker)[] {
  return algorithms.map((a, i) => (i === 0 && splitAt > 0 ? new MidpointTaker(createHash(a), splitAt) : createHash(a)));
}
const digestOf = (h: Hash | MidpointTaker): string => (h instanceof MidpointTaker ? h.hash : h).digest('hex');
const midpointOf = (h: Hash | MidpointTaker | undefined): Sha256Midpoint | undefined => (h instanceof MidpointTaker ? h.midpoint : undefined);

/**
 * The most one write call asks for. The kernel sizes a new file's page-cache folios by the
 * write call, up to 2 MiB (one 16 MiB call: 2 MiB folios; 1 MiB calls: 1 MiB ones, counted by
 * `perf record -e kmem:mm_page_alloc`). This machine is a VM with free page reporting at 2 MiB
 * (/sys/module/page_reporting: page_reporting_order=9): free blocks of 2 MiB and up are handed
 * back to the host, and the first write to each of their pages then costs a fault in the host,
 * seen here only as a slow copy (copy_folio_from_iter_atomic): a 16 MiB get's one write took
 * 26-48 ms of a pool thread's CPU when its folios came from such blocks, 4-6 ms when not. 1 MiB
 * folios come from smaller free blocks, which are not reported, so the slow case is much rarer
 * (not gone: a smaller block split from a reported one is cold too); the 15 more calls cost
 * ~1 ms more CPU per 16 MiB (test/bench/file-write-cost.ts).
 */
export const WRITE_MAX = 1024 * 1024;

/**
 * Write `bytes` at `position`, in calls of at most WRITE_MAX bytes, one after another (two in
 * flight cost the pool threads ~1.5 ms more CPU per 16 MiB here, contending for the file's
 * lock, and took no less time).
 */
async function writeAll(fh: fs.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let at = 0; at < bytes.length; ) at += (await fh.write(bytes, at, Math.min(WRITE_MAX, bytes.length - at), position + at)).bytesWritten;
}

/**
 * Chunks of a whole read here (readHashedHere), one in flight at a time (on the thread pool, which also takes the
 * page faults of the fresh buffer). The hash, the slower of the two (SHA-256 ~1.9 GB/s here,
 * a read into fresh memory ~2.4 GB/s), starts once the first chunk is in and then sets the
 * pace: the smaller that chunk, the less of the read is not overlapped. 1 MiB chunks wait
 * ~0.4 ms for the first where 4 MiB ones waited ~1.7 ms. Two reads at once, so that faults
 * could run on both cores, cost 2-7 ms more CPU per 16 MiB here, and no wall-clock gain showed.
 */
export const READ_CHUNK = 1024 * 1024;

/** A regular file's size changed while it was read: what was read is not one version of the file. */
function changedWhileRead(path: string, size: number, read: number): ButlerError {
  return new IOFailure(`Cannot read ${path}: its size changed while it was read (${size} bytes when opened, ${read > size ? 'more' : read} then)`, {
    details: { code: 'ECHANGED', size },
  });
}

/**
 * A whole file and its SHA-256, in one pass, into one buffer of its fstat size; `file`: it as the
 * caller opened and measured it (see opened-file.ts), read from there and left open. A large regular
 * file is read and hashed on the hash worker (readHashedRemote), the main thread free meanwhile;
 * others (or with no worker) in chunks on the thread pool while the main thread hashes those
 * before. A regular file whose size changes meanwhile is IOFailure; other files give at most
 * their stated size. The buffer is one made ahead by the read before of that size, if any (its
 * pages already written, see large-buffer.ts); with one made ahead, whatever its size, the
 * worker first opens and measures the file itself (readFileHashedRemote): of that size, it
 * reads it all in the same message, with no turn of the thread pool here before or after (per
 * 16 MiB read here, the main thread's CPU 0.4 ms where it was 0.9: three turns fewer); else
 * that message is one more (~0.1 ms).
 *
 * Read on the worker, each chunk is hashed just after that thread read it, from its core's
 * cache. Reads on the thread pool ahead of a hash on the worker (each 1 MiB chunk hashed as
 * soon as it was in, the worker told by Atomics) were slower here, not faster: 13.5 ms of the
 * worker's CPU per 16 MiB only to hash, against 12.7 to read and hash, and a longer wall time
 * (the other core's freshly written lines cost the hash more than the copy that brings them
 * into its own cache; the read alone is ~2.6 ms of the 12).
 */
export async function readHashed(path: string, file?: OpenedFile): Promise<{ bytes: Buffer; sha256: string }> {
  // The file as the caller opened it (theirs to close): read from there, not opened again (a
  // buffer made ahead of its size is taken by largeBuffer, and the worker reads into it from
  // this fd: one message, as below).
  if (file) return readOpened(file);
  // A buffer made ahead by a put before (likely of this size too): the worker opens, measures,
  // reads, hashes and closes the file in one message (readFileHashedRemote), into that buffer.
  // Not while the worker is busy: a small file would wait there for no gain.
  const spare = hashWorkerIdle() ? takeSpare() : undefined;
  if (spare !== undefined) {
    const read = await readFileHashedRemote(path, spare, 'sha256').catch((err: unknown) => {
      if (err instanceof HashWorkerUnavailable) return null; // not kept: it may be partly written
      if ((err as NodeJS.ErrnoException).syscall === 'open') returnSpare(spare);
      throw err;
    });
    if (read) {
      const size = spare.byteLength;
      if (read.read !== size || read.beyond > 0) throw changedWhileRead(path, size, read.beyond > 0 ? size + 1 : read.read);
      setImmediate(() => void prepareLargeBuffer(size));
      return { bytes: Buffer.from(spare), sha256: read.digest };
    }
    // Not a regular file of its size (kept for a later read), or no worker: read as below.
    if (read === undefined) returnSpare(spare);
  }
  const opened = await OpenedFile.open(path);
  try {
    return await readOpened(opened);
  } finally {
    await opened.close();
  }
}

/** readHashed of a file opened and measured (left open). */
async function readOpened(file: OpenedFile): Promise<{ bytes: Buffer; sha256: string }> {
  const { path, size, handle: fh } = file;
  assertFitsInMemory(path, size);
  // Often kept (an in-memory datastore's put): one that makes no garbage collection.
  const bytes = largeBuffer(size);
  let read: { done: number; grew: boolean; sha256: string } | undefined;
  if (size >= PARALLEL_HASH_MIN && bytes.buffer instanceof SharedArrayBuffer) {
    try {
      const r = await readHashedRemote(fh.fd, bytes.buffer, size, 'sha256');
      read = { done: r.read, grew: r.beyond > 0, sha256: r.digest };
    } catch (err) {
      if (!(err instanceof HashWorkerUnavailable)) throw err;
      // No worker (it could not start, or stopped): read again from the start, here.
    }
  }
  read ??= await readHashedHere(fh, bytes);
  if (read.done !== size || read.grew) throw changedWhileRead(path, size, read.grew ? size + 1 : read.done);
  // The next put of this size finds its memory made (and its page faults taken) meanwhile, once
  // this one has answered (its turn's remaining steps run first): not beside it (see large-buffer.ts).
  setImmediate(() => void prepareLargeBuffer(size));
  return { bytes: read.done === size ? bytes : bytes.subarray(0, read.done), sha256: read.sha256 };
}

/**
 * Read `fh` (a regular file) from its start into `bytes` (its stated size) in chunks on the
 * thread pool, each hashed here while the next is read; then one byte past the end. The bytes
 * read, whether that byte was there, and the SHA-256 of those read.
 */
async function readHashedHere(fh: fs.FileHandle, bytes: Buffer): Promise<{ done: number; grew: boolean; sha256: string }> {
  const size = bytes.length;
  let next: Promise<{ at: number; asked: number; got: number }> | null = null;
  let beyond: Promise<number> | null = null;
  try {
    const hash = createHash('sha256');
    const readAt = (at: number) => {
      const asked = Math.min(READ_CHUNK, size - at);
      return ahead(fh.read(bytes, at, asked, at).then((r) => ({ at, asked, got: r.bytesRead })));
    };
    // One byte past the end, read once all `size` bytes are in: a file that grew since fstat has it.
    const readBeyond = () => ahead(fh.read(Buffer.alloc(1), 0, 1, size).then((r) => r.bytesRead));
    next = size > 0 ? readAt(0) : null;
    if (next === null) beyond = readBeyond();
    let done = 0;
    while (next !== null) {
      const { at, asked, got } = await next;
      done += got;
      // A short read: the file ended early (it shrank).
      next = got === asked && done < size ? readAt(done) : null;
      // The last chunk is in: the check past the end runs while it is hashed, not after.
      if (next === null && done === size) beyond = readBeyond();
      // Hashed while the next read runs (on the thread pool).
      if (got > 0) hash.update(bytes.subarray(at, at + got));
    }
    const grew = beyond !== null && (await beyond) > 0;
    return { done, grew, sha256: hash.digest('hex') };
  } finally {
    // A read still in flight (after a failure) settles before the file is closed.
    await next?.catch(() => undefined);
    await beyond?.catch(() => undefined);
  }
}

/** A put source with its bytes at hand: a file source read whole (with its SHA-256), others as they are. */
export async function loadPutSource(source: PutSource, file?: OpenedFile): Promise<LoadedPutSource> {
  if (source.kind !== 'file') return source;
  // The file as the caller opened it, if lent and not yet closed: read (and closed) here. `file`: one taken already (its taker closes it).
  const taken = file ? undefined : source.opened?.take();
  let read: { bytes: Buffer; sha256: string };
  try {
    read = await readHashed(source.path, file ?? taken);
  } catch (err) {
    await taken?.close();
    throw pathError(err, 'read', source.path);
  }
  // Read whole: closed once this turn's put has gone on (answered, for an in-memory datastore),
  // not waited for: a close asked for in that turn cost its main thread ~0.09 ms more per 16 MiB
  // put here (test/bench/put-file-cost.ts). Nothing was written to it: its close cannot fail in
  // a way that matters.
  if (taken) setImmediate(() => void taken.close().catch(() => undefined));
  return { kind: 'bytes', bytes: read.bytes, sha256: read.sha256, owned: true };
}
