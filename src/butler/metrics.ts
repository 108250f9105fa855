/** Butler metrics: daf_butler's ButlerMetrics plus failures and bytes moved. */
export interface ButlerMetrics {
  nGet: number;
  nPut: number;
  nGetFailed: number;
  nPutFailed: number;
  timeInGet: number;
  timeInPut: number;
  bytesRead: number;
  bytesWritten: number;
}

export function emptyMetrics(): ButlerMetrics {
  return { nGet: 0, nPut: 0, nGetFailed: 0, nPutFailed: 0, timeInGet: 0, timeInPut: 0, bytesRead: 0, bytesWritten: 0 };
}

/** Time an operation and count it as a success or a failure. */
export async function timed<T>(
  metrics: ButlerMetrics,
  op: 'get' | 'put',
  fn: () => Promise<T>,
): Promise<T> {
  const start = performance.now();
  try {
    const result = await fn();
    const seconds = (performance.now() - start) / 1000;
    if (op === 'get') {
      metrics.nGet++;
      metrics.timeInGet += seconds;
    } else {
      metrics.nPut++;
      metrics.timeInPut += seconds;
    }
    return result;
  } catch (err) {
    if (op === 'get') metrics.nGetFailed++;
    else metrics.nPutFailed++;
    throw err;
  }
}
