/** Small promise helpers for work started before it is awaited. */

/**
 * Work started ahead of its use: its failure is thrown where it is awaited, not reported
 * meanwhile as an unhandled rejection (which would end the process) while other work runs.
 */
export function ahead<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** A promise that never rejects: its value or its error, to be looked at later. */
export function settle<T>(p: Promise<T>): Promise<{ value: T } | { err: unknown }> {
  return p.then(
    (value) => ({ value }),
    (err: unknown) => ({ err }),
  );
}
