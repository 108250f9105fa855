/**
 * Algorithms written once for a synchronous backend (SQLite: better-sqlite3 answers at
 * once, and a bulk write must not span event-loop turns) and an asynchronous one
 * (PostgreSQL), as generators. A generator yields `'turn'` where the event loop may take a
 * turn, and yields a promise where it needs a value it does not have yet; the driver
 * passes the promise's value back in. `runSync` drives such a generator without ever
 * leaving the current call (a backend whose reads are synchronous never yields a promise);
 * `runAsync` awaits the promises and lets the event loop run at every `'turn'`.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export type Awaitable<T> = T | Promise<T>;

/** Where an algorithm pauses: a turn for the event loop, or a value it waits for. */
export type Step = 'turn' | Promise<unknown>;

export type Steps<T> = Generator<Step, T, unknown>;

/** The value of `v`, waiting for it (through the driver) when it is a promise. */
export function* awaited<T>(v: Awaitable<T>): Steps<T> {
  if (v instanceof Promise) return (yield v) as T;
  return v;
}

/**
 * Advance `gen` to its next turn (or its end), passing the promises it waits for up to this
 * generator's driver: a way to interleave one algorithm's slices with another's. True once
 * `gen` has ended. Its turns are not passed on: the caller pauses where it sees fit.
 */
export function* untilTurn(gen: Steps<void>): Steps<boolean> {
  let r = gen.next();
  for (;;) {
    if (r.done) return true;
    if (r.value === 'turn') return false;
    let value: unknown;
    try {
      value = yield r.value;
    } catch (err) {
      r = gen.throw(err);
      continue;
    }
    r = gen.next(value);
  }
}

/** Run `gen` to its end in this call. A promise yielded here is a programming error. */
export function runSync<T>(gen: Steps<T>): T {
  let r = gen.next();
  while (!r.done) {
    if (r.value !== 'turn') {
      // Not awaited: make the stray promise's rejection harmless before failing.
      r.value.catch(() => {});
      r = gen.throw(new Error('A synchronous registry operation waited for a promise.'));
      continue;
    }
    r = gen.next();
  }
  return r.value;
}

/** Run `gen`, awaiting what it waits for and letting the event loop run at each turn. */
export async function runAsync<T>(gen: Steps<T>): Promise<T> {
  let r = gen.next();
  while (!r.done) {
    if (r.value === 'turn') {
      await nextTurn();
      r = gen.next();
      continue;
    }
    let value: unknown;
    try {
      value = await r.value;
    } catch (err) {
      r = gen.throw(err);
      continue;
    }
    r = gen.next(value);
  }
  return r.value;
}
