/**
 * Poll until `cond()` holds, at most `timeoutMs`; resolves to whether it held. `intervalMs` 0
 * polls on every turn of the event loop, for states that last only briefly (a file being written).
 */
export async function until(cond: () => boolean, timeoutMs = 15_000, intervalMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => (intervalMs === 0 ? setImmediate(r) : setTimeout(r, intervalMs)));
  }
  return cond();
}
