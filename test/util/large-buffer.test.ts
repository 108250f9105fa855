/**
 * Large buffers on shared memory (not counted by V8 as external memory), at most
 * LARGE_UNCOUNTED_MAX bytes of them uncollected at once; past that, ordinary buffers.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { LARGE_BUFFER_MIN, LARGE_UNCOUNTED_MAX, largeBuffer, uncountedBytes } from '../../src/util/large-buffer.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

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
  for (let i = 0; i < 100 && uncountedBytes() > 0; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(uncountedBytes()).toBe(0);
  expect(largeBuffer(size).buffer).toBeInstanceOf(SharedArrayBuffer);
  expect(kept).toEqual([]);
});
