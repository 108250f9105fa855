/**
 * The slots of the Int32Array that a collect's caller and its writer thread share (see
 * bulk-writer-thread.ts). A module of its own, importing nothing, so that the worker can
 * load it before anything that might fail.
 */
export const SLOT = {
  /** Bumped by the caller after each message it posts. */
  toWorker: 0,
  /** Bumped by the worker after each message it posts. */
  toCaller: 1,
  /** Batches the worker has applied. */
  applied: 2,
  /** Rows the worker has applied (progress). */
  rows: 3,
  /** Set by the caller to make the worker roll back and stop. */
  abort: 4,
  /** Bumped by the worker at least once a second while it lives (see STALL_MS). */
  beat: 5,
  /** Set by the worker once it is finishing (checks, then commit): no beats until it answers. */
  finishing: 6,
} as const;

export const SLOTS = 7;
