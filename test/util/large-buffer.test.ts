/**
 * Large buffers on shared memory (not counted by V8 as external memory), at most
 * LARGE_UNCOUNTED_MAX bytes of them uncollected at once; past that, ordinary buffers. One of a
 * size asked for ahead (prepareLargeBuffer) is made with its pages written meanwhile.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { LARGE_BUFFER_MIN, LARGE_SPARE_MAX, LARGE_UNCOUNTED_MAX, largeBuffer, prepareLargeBuffer, spareBytes, uncountedBytes } from '../../src/util/large-buffer.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function collectedAll(): Promise<void> {
  for (let i = 0; i < 100 && uncountedBytes() > 0; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(uncountedBytes()).toBe(0);
}

it('small buffers are ordinary; large ones shared, up to the bound, then ordinary again once collected', async () => {
  expect(largeBuffer(LARGE_BUFFER_MIN - 1).buffer).toBeInstanceOf(ArrayBuffer);
  expect(uncountedBytes()).toBe(0);
  let kept: Buffer[] = [];
  const size = 16 * 1024 * 1024;
  const fit = Math.floor(LARGE_UNCOUNTED_MAX / size);
  for (let i = 0; i < fit; i++) kept.push(largeBuffer(size));
  expect(kept.every((b) => b.buffer instanceof SharedArrayBuffer && b.length === size)).toBe(true);
  expect(uncountedBytes()).toBe(fit * size);
  // Past the bound: ordinary buffers, however many.
  const over = largeBuffer(size);
  expect(over.buffer).toBeInstanceOf(ArrayBuffer);
  expect(over.length).toBe(size);
  expect(uncountedBytes()).toBe(fit * size);
  // Once the shared ones are collected, they count no more, and new ones are shared again.
  kept = [];
  await collectedAll();
  expect(largeBuffer(size).buffer).toBeInstanceOf(SharedArrayBuffer);
  expect(kept).toEqual([]);
});

/** Minor page faults of this thread so far (/proc/thread-self/stat, its tenth field). */
const faults = (): number => Number(readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ')[7]);
/** A buffer of `size` from largeBuffer, every page written: the page faults that took here. */
function faultsToFill(size: number): { bytes: Buffer; faults: number } {
  const before = faults();
  const bytes = largeBuffer(size);
  for (let i = 0; i < size; i += 4096) bytes[i] = 1;
  return { bytes, faults: faults() - before };
}

it.runIf(process.platform === 'linux')('a buffer asked for ahead comes with its pages written (no page faults to fill it here), once, and only of that size', async () => {
  await collectedAll();
  const size = 8 * 1024 * 1024 + 4096, pages = size / 4096;
  await prepareLargeBuffer(size);
  expect(spareBytes()).toBe(size);
  expect(uncountedBytes()).toBe(size); // counted while it waits
  const ahead = faultsToFill(size);
  expect(ahead.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
  expect(ahead.bytes.length).toBe(size);
  expect(ahead.faults).toBeLessThan(pages / 8);
  expect(spareBytes()).toBe(0);
  // The measure's check: fresh memory takes a fault per page (above 32 MiB, malloc's largest
  // threshold, always freshly mapped: smaller memory may be some freed before, still mapped).
  const big = 33 * 1024 * 1024;
  expect(faultsToFill(big).faults).toBeGreaterThan(big / 4096 / 2);
  // Another size takes no spare; sizes out of range get none.
  await prepareLargeBuffer(size);
  expect(largeBuffer(size - 4096).length).toBe(size - 4096);
  expect(spareBytes()).toBe(size);
  expect(largeBuffer(size).every((b) => b === 0)).toBe(true);
  await prepareLargeBuffer(LARGE_SPARE_MAX + 1);
  await prepareLargeBuffer(LARGE_BUFFER_MIN - 1);
  expect(spareBytes()).toBe(0);
});
