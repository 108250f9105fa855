/**
 * Butler metrics under daf_butler's ButlerMetrics names (n_get, n_put, n_ingest, time_in_get,
 * time_in_put, time_in_ingest; seconds; a get or put counts when it succeeds), plus ours in the
 * same style: failed calls and bytes moved. A session never ingests: the ingest fields stay 0.
 */
export interface ButlerMetrics {
  n_get: number;
  n_put: number;
  n_ingest: number;
  time_in_get: number;
  time_in_put: number;
  time_in_ingest: number;
  n_get_failed: number;
  n_put_failed: number;
  bytes_read: number;
  bytes_written: number;
}

export function emptyMetrics(): ButlerMetrics {
  return {
    n_get: 0,
    n_put: 0,
    n_ingest: 0,
    time_in_get: 0,
    time_in_put: 0,
    time_in_ingest: 0,
    n_get_failed: 0,
    n_put_failed: 0,
    bytes_read: 0,
    bytes_written: 0,
  };
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
    countDone(metrics, op, start);
    return result;
  } catch (err) {
    countFailed(metrics, op);
    throw err;
  }
}

/** Count a successful operation that started at `start` (performance.now()), as timed does. */
export function countDone(metrics: ButlerMetrics, op: 'get' | 'put', start: number): void {
  const seconds = (performance.now() - start) / 1000;
  if (op === 'get') {
    metrics.n_get++;
    metrics.time_in_get += seconds;
  } else {
    metrics.n_put++;
    metrics.time_in_put += seconds;
  }
}

/** Count a failed operation, as timed does. */
export function countFailed(metrics: ButlerMetrics, op: 'get' | 'put'): void {
  if (op === 'get') metrics.n_get_failed++;
  else metrics.n_put_failed++;
}
