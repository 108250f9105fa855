import { describe, expect, it } from 'vitest';
import { backgroundCpu, threadCpu, settle } from './settle.js';

const linux = process.platform === 'linux';

describe('settle', () => {
  it.runIf(linux)('reads this process\'s threads, the main one among them', () => {
    const threads = threadCpu();
    expect(threads.has(String(process.pid))).toBe(true);
    expect(threads.size).toBeGreaterThan(1);
    expect(backgroundCpu()).toBeGreaterThanOrEqual(0);
  });

  it('collects, waits at most its bound, and frees the garbage left before it', async () => {
    let big: string[] | null = Array.from({ length: 4 }, (_, i) => Buffer.alloc(4 << 20, i).toString('base64'));
    const weak = new WeakRef(big);
    big = null;
    await new Promise((r) => setTimeout(r, 0)); // a WeakRef holds its target until the turn that made it ends
    const waited = await settle(5, 100, 200);
    expect(waited).toBeLessThanOrEqual(400);
    expect(weak.deref()).toBeUndefined();
  });
});
