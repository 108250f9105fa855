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
 */

/** Below this size an ordinary buffer (its few garbage collections cost little). */
export const LARGE_BUFFER_MIN = 1024 * 1024;
/** At most this many bytes of uncounted buffers at once (alive or not yet collected). */
export const LARGE_UNCOUNTED_MAX = 128 * 1024 * 1024;

let uncounted = 0;
const collected = new FinalizationRegistry<number>((size) => {
  uncounted -= size;
});

/** Bytes of uncounted buffers not yet collected. */
export function uncountedBytes(): number {
  return uncounted;
}

/** A buffer of `size` bytes, contents unset (zeros when uncounted): see above. */
export function largeBuffer(size: number): Buffer {
  if (size < LARGE_BUFFER_MIN || uncounted + size > LARGE_UNCOUNTED_MAX) return Buffer.allocUnsafeSlow(size);
  const shared = new SharedArrayBuffer(size);
  uncounted += size;
  collected.register(shared, size);
  return Buffer.from(shared);
}
