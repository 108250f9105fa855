/**
 * Large buffers that do not make V8 collect garbage. V8 counts every ArrayBuffer's bytes as
 * external memory and runs a full mark-compact each time that grows by 64 MiB, however much
 * of it is alive: an in-memory datastore keeping 16 MiB datasets paid one every fourth put
 * (50-70 ms of CPU each). A SharedArrayBuffer's bytes are not counted per isolate, so buffers
 * made on one trigger none; they are freed all the same when collected.
 *
 * Bounded: at most LARGE_UNCOUNTED_MAX bytes of such buffers exist at once, alive or awaiting
 * collection (a FinalizationRegistry counts them down as they are collected); past that, an
 * ordinary buffer, whose counted bytes make V8 collect as it would, freeing the dead ones.
 * So memory V8 does not know of exceeds what is alive by at most that much.
 *
 * Made ahead (prepareLargeBuffer): fresh memory costs a page fault per 4 KiB page on first
 * write (the kernel zeroes each), ~4 ms of CPU for 16 MiB here, about a quarter of a 16 MiB
 * put by file path. Once such a buffer is filled, its caller asks for the next of that size to
 * be made meanwhile: one spare, its pages written by a read of /dev/zero on the thread pool
 * (no thread of ours waits), handed out by the next largeBuffer of exactly that size.
 */
import { close, open, read } from 'node:fs';

/** Below this size an ordinary buffer (its few garbage collections cost little). */
export const LARGE_BUFFER_MIN = 1024 * 1024;
/** At most this many bytes of uncounted buffers at once (alive or not yet collected). */
export const LARGE_UNCOUNTED_MAX = 128 * 1024 * 1024;
/** Spares are made up to this size: larger puts are rarer, and it bounds the memory a spare holds unused. */
export const LARGE_SPARE_MAX = 32 * 1024 * 1024;
/** A spare not taken within this long is dropped (an idle sidecar holds no spare memory). */
const SPARE_IDLE_MS = 30_000;

let uncounted = 0;
const collected = new FinalizationRegistry<number>((size) => {
  uncounted -= size;
});

/** Bytes of uncounted buffers not yet collected. */
export function uncountedBytes(): number {
  return uncounted;
}

/** A shared buffer's memory, counted in `uncounted` until it is collected. */
function uncountedMemory(size: number): SharedArrayBuffer {
  const shared = new SharedArrayBuffer(size);
  uncounted += size;
  collected.register(shared, size);
  return shared;
}

let spare: SharedArrayBuffer | undefined;
let spareDropper: NodeJS.Timeout | undefined;
let preparing: Promise<void> | undefined;

/** The size of the spare ready to be handed out (0: none). */
export function spareBytes(): number {
  return spare?.byteLength ?? 0;
}

/** The spare, whatever its size, handed out (none left): see returnSpare. */
export function takeSpare(): SharedArrayBuffer | undefined {
  const taken = spare;
  spare = undefined;
  clearTimeout(spareDropper);
  return taken;
}

/** A spare taken but not used given back, unless another was made meanwhile (then it is dropped). */
export function returnSpare(memory: SharedArrayBuffer): void {
  if (spare !== undefined) return;
  keepSpare(memory);
}

/** Hold `memory` as the spare, dropped if not taken within SPARE_IDLE_MS. */
function keepSpare(memory: SharedArrayBuffer): void {
  spare = memory;
  clearTimeout(spareDropper);
  spareDropper = setTimeout(() => (spare = undefined), SPARE_IDLE_MS).unref();
}

/** A buffer of `size` bytes, contents unset (zeros when uncounted): see above. */
export function largeBuffer(size: number): Buffer {
  if (spare !== undefined && spare.byteLength === size) return Buffer.from(takeSpare()!);
  if (size < LARGE_BUFFER_MIN || uncounted + size > LARGE_UNCOUNTED_MAX) return Buffer.allocUnsafeSlow(size);
  return Buffer.from(uncountedMemory(size));
}

/**
 * Make the spare for a next largeBuffer(size), its pages written (zeros), unless one is ready or
 * being made, or the size is outside [LARGE_BUFFER_MIN, LARGE_SPARE_MAX], or it would pass the
 * uncounted bound. Call it once a large buffer is filled, not while: the faults it takes run
 * beside whatever runs then. Resolves once done (a failure leaves no spare; nothing else).
 */
export function prepareLargeBuffer(size: number): Promise<void> {
  if (preparing) return preparing;
  if (spare?.byteLength === size || size < LARGE_BUFFER_MIN || size > LARGE_SPARE_MAX || uncounted + size > LARGE_UNCOUNTED_MAX) return Promise.resolve();
  const memory = uncountedMemory(size);
  preparing = touchPages(Buffer.from(memory)).then(
    () => {
      preparing = undefined;
      keepSpare(memory); // one of another size, if any, is dropped
    },
    () => {
      preparing = undefined;
    },
  );
  return preparing;
}

/** Write every page of `bytes` with zeros on the thread pool: a read of /dev/zero. */
function touchPages(bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    open('/dev/zero', 'r', (err, fd) => {
      if (err) return reject(err);
      const step = (at: number): void => {
        if (at >= bytes.length) return close(fd, () => resolve());
        read(fd, bytes, at, bytes.length - at, null, (e, n) => (e || n === 0 ? close(fd, () => reject(e ?? new Error('short read'))) : step(at + n)));
      };
      step(0);
    });
  });
}
