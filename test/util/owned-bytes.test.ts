/** ownedBytes: what is kept is not a slice of Node's shared buffer pool. */
import { describe, expect, it } from 'vitest';
import { bytesOfBase64, ownedBytes } from '../../src/util/owned-bytes.js';

describe('ownedBytes', () => {
  it('copies a slice of the shared pool into memory of its own; hands back a buffer that owns its memory as it is', () => {
    const pooled = Buffer.from('small');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length); // Node's pool: the case that matters
    const own = ownedBytes(pooled);
    expect(own).not.toBe(pooled);
    expect(own.equals(pooled)).toBe(true);
    expect([own.byteOffset, own.buffer.byteLength]).toEqual([0, 5]);
    const whole = Buffer.allocUnsafeSlow(10).fill(1);
    expect(ownedBytes(whole)).toBe(whole);
    expect(ownedBytes(Buffer.alloc(0)).length).toBe(0);
  });

  it('decodes base64 of any size into memory of its own', () => {
    for (const size of [0, 1, 100, 4095, 4096, 70_000]) {
      const value = Buffer.alloc(size, 0xab);
      const got = bytesOfBase64(value.toString('base64'));
      expect(got.equals(value)).toBe(true);
      expect([got.byteOffset, got.buffer.byteLength]).toEqual([0, size]);
    }
  });
});
