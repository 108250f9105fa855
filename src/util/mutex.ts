/**
 * A FIFO async mutex: one holder at a time, waiters served in arrival order.
 * `acquire()` resolves to an idempotent release function (`tryAcquire()` returns one at
 * once, or nothing when the lock is held); `run(fn)` holds the lock for fn and releases it
 * however fn ends.
 */
export class Mutex {
  private locked = false;
  private readonly waiters: Array<() => void> = [];

  acquire(): Promise<() => void> {
    if (!this.locked) {
      this.locked = true;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => this.waiters.push(() => resolve(this.releaser())));
  }

  /** The release function when the lock is free (taken at once, no waiting), else undefined. */
  tryAcquire(): (() => void) | undefined {
    if (this.locked) return undefined;
    this.locked = true;
    return this.releaser();
  }

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const release = this.tryAcquire() ?? (await this.acquire());
    try {
      return await fn();
    } finally {
      release();
    }
  }

  get isLocked(): boolean {
    return this.locked;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // Hand the lock straight to the next waiter so nobody can barge in between.
      if (next) next();
      else this.locked = false;
    };
  }
}
