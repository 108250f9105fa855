/**
 * Transactions for one store object: nesting, locking, and holding back events.
 *
 * Frames. `begin()`/`transaction()` open a frame; a frame opened while another is open
 * nests inside it (a savepoint / nested journal in the backend). Only the outermost
 * frame emits transactionStart/transactionEnd. set/update/delete events are buffered in
 * the innermost frame; committing a nested frame hands them to its parent, rolling it
 * back drops them, and the outermost commit delivers them (before transactionEnd 'done').
 * A rolled-back transaction therefore emits only transactionStart/transactionEnd 'failed'.
 *
 * Who joins a transaction. Each caller has a "level": the deepest open frame it holds.
 * - `transaction(notes, fn)` opens a *private* frame: `fn` (and everything it awaits,
 *   via AsyncLocalStorage) holds it; other callers do not.
 * - `begin()` opens a *shared* frame: anyone who holds its parent level holds it too.
 *   This is the explicit begin/commit API driven over RPC, where the caller cannot be
 *   told apart: while such a transaction is open, every write on this store object from
 *   outside a private frame joins it.
 * Every frame has a lock, and the store has a root lock (level -1). A write holds the lock
 * of its caller's level while it runs; an open frame holds its parent level's lock for its
 * whole life. So one top-level transaction runs at a time per store object, writes from
 * callers outside it wait until it ends, and writes inside it are serialised with its own
 * nested frames. Reads take no lock (they may see uncommitted data of an open transaction).
 *
 * Closing a frame that still has frames open above it closes the shared ones with it (the
 * same action, as SQL's RELEASE/ROLLBACK TO would) and waits for private ones to finish.
 * Closing an already closed frame raises TransactionNotFound.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { v4 as uuidv4 } from 'uuid';
import { InvalidArgument, TransactionNotFound } from '../model/errors.js';
import { Mutex } from '../util/mutex.js';
import type { StoreEvent, Transaction } from './store.js';

export interface FrameHooks {
  /** Depth 0 is the outermost frame. */
  begin(depth: number, notes: string): Promise<void>;
  commit(depth: number): Promise<void>;
  rollback(depth: number): Promise<void>;
  /** Runs with a level lock held, before any work; throws if the store is closed. */
  guard(): void;
  emit(event: StoreEvent): void;
}

interface Frame {
  readonly id: string;
  readonly notes: string;
  readonly depth: number;
  readonly shared: boolean;
  readonly lock: Mutex;
  readonly releaseParent: () => void;
  readonly done: Promise<void>;
  readonly finish: () => void;
  events: StoreEvent[];
  closing: boolean;
}

/** The frames (of any store) held by the current async context. */
const held = new AsyncLocalStorage<readonly Frame[]>();

class FrameTransaction implements Transaction {
  constructor(
    private readonly manager: TransactionManager,
    private readonly frame: Frame,
  ) {}
  get id(): string {
    return this.frame.id;
  }
  get notes(): string {
    return this.frame.notes;
  }
  commit(): Promise<void> {
    return this.manager.close(this.frame, 'commit');
  }
  rollback(): Promise<void> {
    return this.manager.close(this.frame, 'rollback');
  }
}

export class TransactionManager {
  private readonly rootLock = new Mutex();
  private readonly frames: Frame[] = [];

  constructor(private readonly hooks: FrameHooks) {}

  /** Number of open frames (0: no transaction). */
  get depth(): number {
    return this.frames.length;
  }

  /** Ids of the open frames, outermost first. */
  openIds(): string[] {
    return this.frames.map((f) => f.id);
  }

  /** Runs a write at the caller's level (see above). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.frames.length === 0) {
      // No transaction open and the lock free (the usual single write): take it now,
      // without an async frame of our own (one promise fewer per write).
      const release = this.rootLock.tryAcquire();
      if (release) {
        let result: Promise<T>;
        try {
          this.hooks.guard();
          result = fn();
        } catch (err) {
          release();
          return Promise.reject(err);
        }
        return result.then(
          (value) => {
            release();
            return value;
          },
          (err: unknown) => {
            release();
            throw err;
          },
        );
      }
    }
    return this.queued(fn);
  }

  /**
   * The lock for a write done in the caller's turn, when no transaction is open and nothing
   * holds it (else undefined: write through exclusive). Release it before the turn ends.
   */
  tryExclusive(): (() => void) | undefined {
    if (this.frames.length !== 0) return undefined;
    this.hooks.guard();
    return this.rootLock.tryAcquire();
  }

  private async queued<T>(fn: () => Promise<T>): Promise<T> {
    const { release } = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** A set/update/delete event: delivered now, or held by the innermost open frame. */
  record(event: StoreEvent): void {
    const n = this.frames.length; // (no read of frames[-1]: see MemoryStore.journal)
    if (n !== 0) this.frames[n - 1]!.events.push(event);
    else this.hooks.emit(event);
  }

  async begin(notes: string): Promise<Transaction> {
    return new FrameTransaction(this, await this.open(notes, true));
  }

  async run<T>(notes: string, fn: () => Promise<T>): Promise<T> {
    const frame = await this.open(notes, false);
    let result: T;
    try {
      result = await held.run([...(held.getStore() ?? []), frame], fn);
    } catch (err) {
      try {
        await this.close(frame, 'rollback');
      } catch {
        // The caller's error is the one worth reporting.
      }
      throw err;
    }
    await this.close(frame, 'commit');
    return result;
  }

  /** Rolls back open shared transactions, waits for private ones, then runs `fn` alone. */
  async shutdown(fn: () => Promise<void>): Promise<void> {
    const ctx = held.getStore();
    if (ctx && this.frames.some((f) => ctx.includes(f))) {
      throw new InvalidArgument('cannot close a store from inside one of its transactions');
    }
    while (this.frames.length > 0) {
      const root = this.frames[0];
      if (root.shared && !root.closing) await this.close(root, 'rollback').catch(() => undefined);
      else await root.done;
    }
    const release = await this.rootLock.acquire();
    try {
      await fn();
    } finally {
      release();
    }
  }

  async close(frame: Frame, action: 'commit' | 'rollback'): Promise<void> {
    if (frame.closing) {
      throw new TransactionNotFound(`transaction ${frame.id} is already finished`, { details: { id: frame.id } });
    }
    frame.closing = true;
    let failure: unknown;
    for (;;) {
      const top = this.frames[this.frames.length - 1];
      if (top === frame) break;
      if (top.shared && !top.closing) {
        try {
          await this.close(top, action);
        } catch (err) {
          // An inner frame failed to commit (and was rolled back): the outer one must not commit.
          failure ??= err;
          action = 'rollback';
        }
      } else {
        await top.done;
      }
    }
    // Wait for writes in flight at this level; no frame can open above us meanwhile.
    const release = await frame.lock.acquire();
    if (action === 'commit' && failure === undefined) {
      try {
        await this.hooks.commit(frame.depth);
      } catch (err) {
        failure = err;
      }
    }
    if (action === 'rollback' || failure !== undefined) {
      try {
        await this.hooks.rollback(frame.depth);
      } catch (err) {
        failure ??= err;
      }
    }
    const ok = action === 'commit' && failure === undefined;
    this.frames.pop();
    try {
      if (frame.depth > 0) {
        if (ok) {
          const parent = this.frames[this.frames.length - 1];
          for (const e of frame.events) parent.events.push(e);
        }
      } else {
        if (ok) for (const e of frame.events) this.hooks.emit(e);
        this.hooks.emit({ type: 'transactionEnd', notes: frame.notes, state: ok ? 'done' : 'failed' });
      }
    } finally {
      frame.events = [];
      release();
      frame.releaseParent();
      frame.finish();
    }
    if (failure !== undefined) throw failure;
  }

  private async open(notes: string, shared: boolean): Promise<Frame> {
    const { level, release } = await this.acquire();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const frame: Frame = {
      id: uuidv4(),
      notes,
      depth: level + 1,
      shared,
      lock: new Mutex(),
      releaseParent: release,
      done,
      finish,
      events: [],
      closing: false,
    };
    try {
      await this.hooks.begin(frame.depth, notes);
    } catch (err) {
      release();
      throw err;
    }
    this.frames.push(frame);
    if (frame.depth === 0) this.hooks.emit({ type: 'transactionStart', notes });
    return frame;
  }

  private level(ctx: readonly Frame[] | undefined): number {
    let level = -1;
    for (const f of this.frames) {
      if (f.shared || (ctx !== undefined && ctx.includes(f))) level++;
      else break;
    }
    return level;
  }

  private async acquire(): Promise<{ level: number; release: () => void }> {
    const ctx = held.getStore();
    for (;;) {
      const level = this.level(ctx);
      const frame = level >= 0 ? this.frames[level] : undefined;
      if (frame?.closing) {
        // Its commit/rollback was requested: this write belongs to the level below.
        await frame.done;
        continue;
      }
      const release = await (frame ? frame.lock : this.rootLock).acquire();
      if (this.level(ctx) === level && (frame === undefined || (this.frames[level] === frame && !frame.closing))) {
        try {
          this.hooks.guard();
        } catch (err) {
          release();
          throw err;
        }
        return { level, release };
      }
      release();
    }
  }
}
