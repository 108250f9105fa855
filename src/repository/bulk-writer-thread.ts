/**
 * A BulkWriter on its own thread, driven synchronously from the caller's thread.
 *
 * Why: a large collect-and-transfer is half JavaScript (reading documents, building rows)
 * and half SQLite (b-tree inserts). On a second thread the inserts overlap with the
 * reading, and they run in a small heap instead of next to the caller's (possibly
 * gigabytes of) documents, where every allocation costs more.
 *
 * How: the worker opens its own connection, takes the write lock (BEGIN IMMEDIATE) and
 * applies batches as they arrive; the caller keeps reading the committed registry, which
 * nobody else can change while the lock is held. Both sides block on Atomics.wait and
 * take messages with receiveMessageOnPort, so `collectAndTransfer` stays synchronous
 * (like the rest of the registry API); `collectAndTransferAsync` instead polls the final
 * answer (beginFinish / pollFinish) so that the caller's event loop keeps running.
 * Backpressure: the caller waits when more than MAX_IN_FLIGHT batches are unread.
 */
import { existsSync } from 'node:fs';
import { sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { RepositoryError, StoreBusy } from '../model/errors.js';
import type { WriterBatch, WriterResult } from './bulk-writer.js';
import { SLOT, SLOTS } from './bulk-writer-slots.js';

/**
 * A worker that shows no sign of life this long (no beat, not finishing) is taken for
 * dead (say, out of memory): it is terminated, which ends its transaction, and the call
 * fails instead of waiting forever. One batch never takes near this long.
 */
export const STALL_MS = 60_000;
const MAX_IN_FLIGHT = 32;
/** How long the worker may take to open the registry and take the write lock (it waits up to busyTimeoutMs for the lock). */
const START_GRACE_MS = 30_000;

export interface WorkerData {
  path: string;
  port: MessagePort;
  shared: Int32Array;
  maxConflicts: number;
  busyTimeoutMs: number;
  /** The registry's dimension universe, as a (trimmed) daf_butler dimensions config. */
  dimensions: unknown;
}

/** Messages from the worker. */
export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'done'; committed: boolean; result: WriterResult; seconds: { commit: number } }
  | { kind: 'aborted' }
  | { kind: 'error'; name: string; message: string; stack?: string; errorKind?: string };

/** The worker's answer to `finish`. */
export type Done = Extract<WorkerReply, { kind: 'done' }>;

/** Messages to the worker. */
export type WorkerRequest = WriterBatch | { kind: 'finish'; commit: boolean };

/**
 * The compiled worker script: next to this module; under `repository/` when this module is
 * part of the bundled CLI (dist/src/cli.js); or under dist/ when running from TypeScript sources.
 */
export function workerScript(): URL | null {
  const here = new URL('./bulk-writer-worker.js', import.meta.url);
  if (existsSync(here)) return here;
  const bundled = new URL('./repository/bulk-writer-worker.js', import.meta.url);
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

  /** Start the thread and wait until it holds the write lock. Throws RepositoryError if it cannot. */
  static start(script: URL, path: string, opts: { maxConflicts: number; busyTimeoutMs: number; dimensions: unknown; stallMs?: number }): BulkWriterThread {
    const { port1, port2 } = new MessageChannel();
    const shared = new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
    const data: WorkerData = { path, port: port2, shared, maxConflicts: opts.maxConflicts, busyTimeoutMs: opts.busyTimeoutMs, dimensions: opts.dimensions };
    const worker = new Worker(script, { workerData: data, transferList: [port2] });
    worker.unref();
    const t = new BulkWriterThread(worker, port1, shared, opts.stallMs ?? STALL_MS);
    const reply = t.next(() => {}, START_GRACE_MS + opts.busyTimeoutMs);
    if (reply.kind !== 'ready') throw t.failure(reply);
    return t;
  }

  /** Rows applied so far by the worker. */
  get rowsApplied(): number {
    return Atomics.load(this.shared, SLOT.rows);
  }

  /** Hand a batch over; waits (calling `tick`) while the worker is MAX_IN_FLIGHT batches behind. */
  send(batch: WriterBatch, tick: () => void): void {
    this.checkFailed();
    while (this.sent - Atomics.load(this.shared, SLOT.applied) >= MAX_IN_FLIGHT) {
      this.checkFailed();
      this.checkAlive();
      Atomics.wait(this.shared, SLOT.applied, Atomics.load(this.shared, SLOT.applied), 50);
      tick();
    }
    this.post(batch);
    this.sent++;
  }

  /** Let the worker finish: it commits when `commit` and it found no conflicts, else rolls back. Blocks until it has. */
  finish(commit: boolean, tick: () => void): Done {
    this.beginFinish(commit);
    return this.settle(this.next(tick));
  }

  /** The non-blocking finish: beginFinish, then pollFinish until it gives the outcome (meanwhile the event loop runs). */
  beginFinish(commit: boolean): void {
    this.post({ kind: 'finish', commit });
  }

  pollFinish(tick: () => void): Done | undefined {
    const m = receiveMessageOnPort(this.port);
    if (m) return this.settle(m.message as WorkerReply);
    this.checkAlive();
    tick();
    return undefined;
  }

  private settle(reply: WorkerReply): Done {
    this.close();
    if (reply.kind !== 'done') throw this.failure(reply);
    return reply;
  }

  /** Make the worker roll back and wait until it has let go of the lock. Safe to call twice. */
  abort(): void {
    if (this.closed) return;
    Atomics.store(this.shared, SLOT.abort, 1);
    Atomics.add(this.shared, SLOT.toWorker, 1);
    Atomics.notify(this.shared, SLOT.toWorker);
    try {
      this.next(() => {}, START_GRACE_MS);
    } catch {
      // Rolled back or gone; either way the transaction is over.
    }
    this.close();
  }

  private post(msg: WorkerRequest): void {
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

  private next(tick: () => void, timeoutMs = Infinity): WorkerReply {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.shared, SLOT.toCaller);
      const m = receiveMessageOnPort(this.port);
      if (m) return m.message as WorkerReply;
      if (Date.now() > deadline) {
        void this.worker.terminate();
        this.close();
        throw new RepositoryError('The registry writer thread did not answer in time.', { details: { timeoutMs } });
      }
      this.checkAlive();
      Atomics.wait(this.shared, SLOT.toCaller, seen, 50);
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

  private failure(reply: WorkerReply): Error {
    this.close();
    if (reply.kind === 'error') {
      // A busy registry stays what it is (retryable); anything else is the registry's failure.
      const err =
        reply.errorKind === 'StoreBusy'
          ? new StoreBusy(reply.message, { details: { name: reply.name } })
          : new RepositoryError(`Registry writer: ${reply.message}`, { details: { name: reply.name } });
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
