/**
 * A bulk writer on its own thread, fed from the caller's thread: the protocol both
 * registry backends use (sqlite/bulk-writer-worker.ts, postgres/bulk-writer-worker.ts).
 *
 * Why: a large collect-and-transfer is half JavaScript (reading documents, building rows)
 * and half writing (SQLite's b-tree inserts; building COPY text and talking to the
 * PostgreSQL server). On a second thread the writing overlaps with the reading, runs in a
 * small heap instead of next to the caller's (possibly gigabytes of) documents, and, for
 * PostgreSQL, its round trips are answered at once instead of after the reader's next turn.
 *
 * How: the worker opens its own connection, begins the transaction (SQLite: BEGIN
 * IMMEDIATE, waiting inside SQLite for another process's lock, which blocks only the
 * worker), says `ready`, and applies batches as they arrive; the caller keeps reading the
 * committed registry. The caller never blocks: it polls the worker's answers
 * (receiveMessageOnPort) on timers, so its event loop keeps running while the worker
 * starts, catches up or commits. Backpressure: `send` returns a promise to wait for when
 * more than MAX_IN_FLIGHT batches are unapplied. The worker bumps a beat slot while it
 * lives; one that stops for STALL_MS is terminated.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { ButlerError, RepositoryError, StoreBusy } from '../model/errors.js';
import { ErrorKinds, type ErrorKind } from '../../protocol/errors.js';
import type { WriterBatch, WriterResult } from './bulk-batches.js';
import { SLOT, SLOTS } from './bulk-writer-slots.js';

/**
 * A worker that shows no sign of life this long (no beat, not finishing) is taken for
 * dead (say, out of memory): it is terminated, which ends its transaction, and the call
 * fails instead of waiting forever. One batch never takes near this long.
 */
export const STALL_MS = 60_000;
/** Below this many items a writer thread costs more to start (~50-150 ms) than it saves. */
export const THREAD_MIN_ITEMS = 2000;
const MAX_IN_FLIGHT = 32;
/** How often the caller looks for the worker's answers while it waits (ms). */
const POLL_MS = 2;
/** What a StoreBusy from the worker suggests waiting before a retry (ms). */
const RETRY_AFTER_MS = 500;
/** How long the worker may take to open the registry and take the write lock (it waits up to busyTimeoutMs for the lock). */
const START_GRACE_MS = 30_000;

/** What every worker gets (plus its backend's own fields). */
export interface WorkerChannel {
  port: MessagePort;
  shared: Int32Array;
}

/** Messages from the worker. */
export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'done'; committed: boolean; result: WriterResult; seconds: { commit: number } }
  | { kind: 'aborted' }
  | { kind: 'error'; name: string; message: string; stack?: string; errorKind?: string; code?: string; details?: unknown };

/** The worker's answer to `finish`. */
export type Done = Extract<WorkerReply, { kind: 'done' }>;

/** Messages to the worker. */
export type WorkerRequest = WriterBatch | { kind: 'finish'; commit: boolean };

/** The first message to a worker that waits to be told to open (see BulkWriterThread.spawn). */
export interface OpenRequest {
  kind: 'open';
}

/**
 * A backend's compiled worker script (`sqlite` or `postgres`): see scriptBeside.
 */
export function workerScript(backend: 'sqlite' | 'postgres'): URL | null {
  return scriptBeside(`${backend}/bulk-writer-worker.js`);
}

/**
 * A compiled worker script of this folder (`rel` from src/repository/): beside this module;
 * under `./repository/` when this module is part of the bundled CLI (dist/src/cli.bundle.cjs,
 * see scripts/bundle-cli.ts); or under dist/ when running from TypeScript sources.
 */
export function scriptBeside(rel: string): URL | null {
  const here = new URL(`./${rel}`, import.meta.url);
  if (existsSync(here)) return here;
  const bundled = new URL(`./repository/${rel}`, import.meta.url);
  if (existsSync(bundled)) return bundled;
  const built = fileURLToPath(here).replace(`${sep}src${sep}repository${sep}`, `${sep}dist${sep}src${sep}repository${sep}`);
  return built !== fileURLToPath(here) && existsSync(built) ? pathToFileURL(built) : null;
}

export class BulkWriterThread {
  private sent = 0;
  private closed = false;

  private lastBeat = -1;
  private lastBeatAt = Date.now();

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly shared: Int32Array,
    private readonly stallMs: number,
  ) {}

  /**
   * Start the thread with `data` (its backend's fields) and wait (on timers) until it has
   * begun its transaction; `waitMs` is how long it may wait for a lock beyond that. Throws
   * the worker's failure if it cannot.
   */
  static async start(script: URL, data: Record<string, unknown>, opts: { waitMs: number; stallMs?: number }): Promise<BulkWriterThread> {
    return BulkWriterThread.spawn(script, data, opts.stallMs).started(opts.waitMs);
  }

  /**
   * Start the thread without waiting for it: a worker that waits for `open` (the SQLite one)
   * loads its modules meanwhile and touches no database until `open` is called.
   */
  static spawn(script: URL, data: Record<string, unknown>, stallMs = STALL_MS): BulkWriterThread {
    const { port1, port2 } = new MessageChannel();
    const shared = new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
    const channel: WorkerChannel = { port: port2, shared };
    const worker = new Worker(script, { workerData: { ...data, ...channel }, transferList: [port2] });
    worker.unref();
    return new BulkWriterThread(worker, port1, shared, stallMs);
  }

  /** Tell a spawned worker to open the registry and begin its transaction; as `start`. */
  async open(waitMs: number): Promise<BulkWriterThread> {
    this.post({ kind: 'open' } satisfies OpenRequest);
    return this.started(waitMs);
  }

  private async started(waitMs: number): Promise<BulkWriterThread> {
    const reply = await this.next(() => {}, START_GRACE_MS + waitMs, false);
    if (reply.kind !== 'ready') throw this.failure(reply);
    return this;
  }

  /** Stop a spawned worker that was never opened (it holds no lock and has written nothing). */
  discard(): void {
    void this.worker.terminate();
    this.close();
  }

  /** Rows applied so far by the worker. */
  get rowsApplied(): number {
    return Atomics.load(this.shared, SLOT.rows);
  }

  /**
   * Hand a batch over. While the worker is MAX_IN_FLIGHT batches behind, returns a promise
   * that resolves once it has caught up (calling `tick` meanwhile): wait for it.
   */
  send(batch: WriterBatch, tick: () => void): void | Promise<void> {
    this.checkFailed();
    if (this.behind()) return this.catchUp(tick).then(() => this.send(batch, tick));
    this.post(batch);
    this.sent++;
  }

  private behind(): boolean {
    return this.sent - Atomics.load(this.shared, SLOT.applied) >= MAX_IN_FLIGHT;
  }

  private async catchUp(tick: () => void): Promise<void> {
    while (this.behind()) {
      this.checkFailed();
      this.checkAlive();
      await sleep(POLL_MS);
      tick();
    }
  }

  /** Let the worker finish: it commits when `commit` and it found no conflicts, else rolls back. */
  async finish(commit: boolean, tick: () => void): Promise<Done> {
    this.post({ kind: 'finish', commit });
    return this.settle(await this.next(tick));
  }

  private settle(reply: WorkerReply): Done {
    this.close();
    if (reply.kind !== 'done') throw this.failure(reply);
    return reply;
  }

  /** Make the worker roll back and wait until it has let go of the lock. Safe to call twice. */
  async abort(): Promise<void> {
    if (this.closed) return;
    Atomics.store(this.shared, SLOT.abort, 1);
    Atomics.add(this.shared, SLOT.toWorker, 1);
    Atomics.notify(this.shared, SLOT.toWorker);
    try {
      await this.next(() => {}, START_GRACE_MS);
    } catch {
      // Rolled back or gone; either way the transaction is over.
    }
    this.close();
  }

  private post(msg: WorkerRequest | OpenRequest): void {
    this.port.postMessage(msg);
    Atomics.add(this.shared, SLOT.toWorker, 1);
    Atomics.notify(this.shared, SLOT.toWorker);
  }

  /** A reply that arrived while sending (only an error can: the worker answers nothing else unasked). */
  private checkFailed(): void {
    const m = receiveMessageOnPort(this.port);
    if (m) {
      this.close();
      throw this.failure(m.message as WorkerReply);
    }
  }

  /** The worker's next message, polled on timers; `alive`: give up on a worker that stops beating. */
  private async next(tick: () => void, timeoutMs = Infinity, alive = true): Promise<WorkerReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = receiveMessageOnPort(this.port);
      if (m) return m.message as WorkerReply;
      if (Date.now() > deadline) {
        void this.worker.terminate();
        this.close();
        throw new RepositoryError('The registry writer thread did not answer in time.', { details: { timeoutMs } });
      }
      if (alive) this.checkAlive();
      await sleep(POLL_MS);
      tick();
    }
  }

  /** Throw (after terminating the worker) when it has shown no sign of life for stallMs. */
  private checkAlive(): void {
    const beat = Atomics.load(this.shared, SLOT.beat);
    const now = Date.now();
    if (beat !== this.lastBeat || Atomics.load(this.shared, SLOT.finishing) === 1) {
      this.lastBeat = beat;
      this.lastBeatAt = now;
      return;
    }
    if (now - this.lastBeatAt <= this.stallMs) return;
    void this.worker.terminate();
    this.close();
    throw new RepositoryError(`The registry writer thread stopped responding (no sign of life for ${this.stallMs} ms); it was stopped and nothing was committed.`, {
      details: { stallMs: this.stallMs },
    });
  }

  /**
   * The worker's failure on this side: a domain error stays its kind (a busy registry stays
   * retryable); a database's own code travels with the error (so that a backend can tell a
   * transient abort); anything else is the registry's failure.
   */
  private failure(reply: WorkerReply): Error {
    this.close();
    if (reply.kind === 'error') {
      let err: Error;
      if (reply.errorKind === 'StoreBusy') {
        err = new StoreBusy(reply.message, { details: { name: reply.name, retryAfterMs: RETRY_AFTER_MS, ...(isRecord(reply.details) ? reply.details : {}) } });
      } else if (reply.errorKind !== undefined && reply.errorKind in ErrorKinds) {
        err = new ButlerError(reply.errorKind as ErrorKind, reply.message, reply.details !== undefined ? { details: reply.details } : {});
      } else if (reply.code !== undefined) {
        err = Object.assign(new Error(reply.message), { name: reply.name, code: reply.code });
      } else {
        err = new RepositoryError(`Registry writer: ${reply.message}`, { details: { name: reply.name } });
      }
      if (reply.stack) err.stack = reply.stack;
      return err;
    }
    return new RepositoryError(`Registry writer stopped unexpectedly (${reply.kind}).`);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What a worker sends when it fails: its error's name, message and stack, domain kind, database code and details. */
export function errorReply(err: unknown): Extract<WorkerReply, { kind: 'error' }> {
  const e = err as Error & { kind?: unknown; code?: unknown; context?: { details?: unknown } };
  return {
    kind: 'error',
    name: e?.name ?? 'Error',
    message: e?.message ?? String(err),
    ...(e?.stack ? { stack: e.stack } : {}),
    ...(typeof e?.kind === 'string' ? { errorKind: e.kind } : {}),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(e?.context?.details !== undefined ? { details: JSON.parse(JSON.stringify(e.context.details)) as unknown } : {}),
  };
}
