import { hrtimeBigint } from './node-globals.js';
let lastMs = -1;
let lastIso = '';
let lastSecond = Number.NaN;
/** `toISOString()` of the second `lastSecond` without its milliseconds and `Z` ("2026-12-03T15:35:42."). */
let secondPrefix = '';

/**
 * The current time as ISO 8601 (UTC, milliseconds), exactly as `new Date().toISOString()`
 * writes it. Every provenance event carries one, and a busy session makes an event every few
 * hundred microseconds: the date is formatted once per second and the milliseconds appended
 * (a third of the cost of formatting it whole), and the string is kept for the millisecond.
 */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    const frac = ms % 1000;
    const second = ms - frac;
    if (second !== lastSecond) {
      lastSecond = second;
      const iso = new Date(second).toISOString();
      secondPrefix = iso.slice(0, iso.length - 4);
    }
    lastIso = secondPrefix + (frac < 10 ? '00' : frac < 100 ? '0' : '') + frac + 'Z';
  }
  return lastIso;
}

/**
 * Is `s` the text isoNow last returned? Then it is a toISOString() text (digits, `-`, `:`,
 * `T`, `.`, `Z`, a sign), which JSON writes as it is between quotes. For the string isoNow
 * returned this is a comparison of references; another string is compared by content.
 */
export function isLastIsoNow(s: string): boolean {
  return s === lastIso;
}

/**
 * Milliseconds on a monotonic clock, as `performance.now()` gives but from another origin: the
 * `performance` global loads node:perf_hooks when first touched, a millisecond of a start that
 * times its first request.
 */
export function monotonicMs(): number {
  return Number(hrtimeBigint()) / 1e6;
}
