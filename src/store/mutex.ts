/** A FIFO async mutex. `acquire()` resolves to a release function (idempotent). */
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
