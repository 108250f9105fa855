/**
 * Event delivery. Listeners run synchronously, in subscription order; an exception thrown
 * by a listener is swallowed so that it can neither break the store operation nor starve
 * the other listeners (encore logs and swallows too; we must not print from here).
 * Buffering of set/update/delete events while a transaction is open lives with the
 * transaction frames (transactions.ts): they are delivered on the outermost commit and
 * dropped on rollback.
 */
import type { StoreEvent, StoreListener } from './store.js';

export class EventHub {
  private listeners: StoreListener[] = [];

  get size(): number {
    return this.listeners.length;
  }

  on(listener: StoreListener): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    this.listeners = [...this.listeners, listener];
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners = [...this.listeners.slice(0, i), ...this.listeners.slice(i + 1)];
    };
  }

  emit(event: StoreEvent): void {
    // Copy-on-write array: (un)subscribing from a listener does not disturb this loop.
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // Deliberately ignored; see above.
      }
    }
  }
}
