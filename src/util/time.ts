let lastMs = -1;
let lastIso = '';

/** The current time as ISO 8601 (UTC, milliseconds); formatted once per millisecond, as busy sessions ask many times in one. */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/**
 * Milliseconds on a monotonic clock, as `performance.now()` gives but from another origin: the
 * `performance` global loads node:perf_hooks when first touched, a millisecond of a start that
 * times its first request.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
