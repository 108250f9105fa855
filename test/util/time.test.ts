import { afterEach, describe, expect, it, vi } from 'vitest';
import { isLastIsoNow, isoNow } from '../../src/util/time.js';

describe('isoNow', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes exactly what toISOString writes, across milliseconds, seconds, days and years', () => {
    const starts = [Date.UTC(2026, 11, 3, 15, 35, 42, 0), Date.UTC(2026, 11, 31, 23, 59, 59, 990), Date.UTC(1999, 11, 31, 23, 59, 58, 5), 0];
    let now = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    for (const start of starts) {
      for (let step = 0; step < 2500; step += 7) {
        now = start + step;
        expect(isoNow()).toBe(new Date(now).toISOString());
        expect(isoNow()).toBe(new Date(now).toISOString()); // the same millisecond again
      }
    }
    // Back in time (a clock set back) and a second revisited after another.
    for (const t of [Date.UTC(2026, 0, 1, 0, 0, 0, 999), Date.UTC(2025, 5, 6, 7, 8, 9, 10), Date.UTC(2026, 0, 1, 0, 0, 0, 1)]) {
      now = t;
      expect(isoNow()).toBe(new Date(t).toISOString());
    }
  });
});

describe('isLastIsoNow', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is true for the text isoNow last gave (or an equal one) and false for any other', () => {
    let now = Date.UTC(2026, 11, 4, 12, 0, 0, 5);
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const first = isoNow();
    expect(isLastIsoNow(first)).toBe(true);
    expect(isLastIsoNow(new Date(now).toISOString())).toBe(true); // equal text, another string
    now += 1;
    const second = isoNow();
    expect(isLastIsoNow(second)).toBe(true);
    expect(isLastIsoNow(first)).toBe(false);
    expect(isLastIsoNow('"quoted"')).toBe(false);
  });
});
