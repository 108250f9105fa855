/**
 * The spare large buffer of `size` bytes made (as a read of that size leaves one), whatever
 * the reads before left: no spare is made past the bound on shared buffers (large-buffer.ts),
 * which counts those not yet collected, so those are collected first; their count goes down
 * as the FinalizationRegistry hears of it, a task or more later.
 */
import { expect } from 'vitest';
import { collectGarbage } from '../../src/util/collect-garbage.js';
import { LARGE_UNCOUNTED_MAX, prepareLargeBuffer, spareBytes, uncountedBytes } from '../../src/util/large-buffer.js';

export async function spareOf(size: number): Promise<void> {
  for (let i = 0; i < 20 && spareBytes() !== size; i++) {
    if (uncountedBytes() + size > LARGE_UNCOUNTED_MAX) {
      collectGarbage();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await prepareLargeBuffer(size);
  }
  expect(spareBytes()).toBe(size);
}
