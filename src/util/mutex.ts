/** A FIFO async mutex: one holder at a time, waiters served in arrival order. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  /** Run fn exclusively. A failing fn releases the lock and rethrows. */
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tail;
    this.tail = previous.then(() => next);
    this.pending++;
    try {
      await previous;
      return await fn();
    } finally {
      this.pending--;
      release();
    }
  }

  get waiting(): number {
    return this.pending;
  }
}
