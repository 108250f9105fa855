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
