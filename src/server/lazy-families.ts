/**
 * Method families (session/, butler/, store/, repository/) whose handlers, domain modules and
 * protocol schemas are loaded on the first request that names one: building every family's
 * zod schemas and loading its modules was most of a start, and `initialize` needs none of
 * them. Messages are handled in the order they arrive, so while a family loads every message
 * after the one that asked for it waits too, and they then run in their order (a
 * `session/open` followed by calls on that session still opens it first).
 */
interface Family {
  readonly prefix: string;
  readonly load: () => Promise<unknown>;
}

export class LazyFamilies {
  private readonly pending: Family[] = [];
  private loading: Promise<unknown> | undefined;

  /** The family of every method whose name starts with `prefix`; `load` registers its handlers. */
  add(prefix: string, load: () => Promise<unknown>): void {
    this.pending.push({ prefix, load });
  }

  /**
   * `handle()` at once when nothing loads and `method`'s family (if any) is registered;
   * otherwise once it and every family asked for before are. A family that failed to load
   * fails the message that asked for it (the connection answers InternalError) and is tried
   * again by the next; the messages that waited run as usual.
   */
  run<T>(method: string, handle: () => T): T | Promise<T> {
    if (this.loading) {
      const again = (): T | Promise<T> => this.run(method, handle);
      return this.loading.then(again, again);
    }
    const family = this.pending.find((f) => method.startsWith(f.prefix));
    if (!family) return handle();
    const loading = family.load();
    this.loading = loading;
    // Registered before any waiter's continuation, so those run with `loading` cleared.
    const settled = (loaded: boolean) => (): void => {
      if (loaded) this.pending.splice(this.pending.indexOf(family), 1);
      if (this.loading === loading) this.loading = undefined;
    };
    loading.then(settled(true), settled(false));
    return loading.then(handle);
  }
}
