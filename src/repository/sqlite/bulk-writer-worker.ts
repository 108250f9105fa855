/**
 * Entry point of the registry writer thread (see bulk-writer-thread.ts): load its modules, wait
 * to be told to `open`, then open the registry file, take the write lock, apply batches until
 * told to finish, then commit or roll back and report. Loading comes before `open` so that a
 * caller can spawn the thread while it still has other work (collect-and-transfer: reading
 * the documents), without holding the lock meanwhile. Modules are imported inside the try, so
 * even a failure to load them is reported to the caller instead of leaving it waiting.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { OpenRequest, WorkerChannel, WorkerReply, WorkerRequest } from '../bulk-writer-thread.js';
import { SLOT } from '../bulk-writer-slots.js';

/** What SqliteRegistry starts this worker with. */
export interface SqliteWorkerData {
  path: string;
  maxConflicts: number;
  busyTimeoutMs: number;
  /** The registry's dimension universe, as a (trimmed) daf_butler dimensions config. */
  dimensions: unknown;
  /** About how many quanta the load brings (a large load builds the edge indexes after its rows). */
  items: number;
}

const { path, port, shared, maxConflicts, busyTimeoutMs, dimensions, items } = workerData as SqliteWorkerData & WorkerChannel;

class Stop extends Error {}

function reply(msg: WorkerReply): void {
  port.postMessage(msg);
  Atomics.add(shared, SLOT.toCaller, 1);
  Atomics.notify(shared, SLOT.toCaller);
}

function next(): WorkerRequest | OpenRequest {
  for (;;) {
    Atomics.add(shared, SLOT.beat, 1);
    const seen = Atomics.load(shared, SLOT.toWorker);
    if (Atomics.load(shared, SLOT.abort) !== 0) throw new Stop('aborted');
    const m = receiveMessageOnPort(port);
    if (m) return m.message as WorkerRequest | OpenRequest;
    Atomics.wait(shared, SLOT.toWorker, seen, 1000);
  }
}

let close: (() => void) | undefined;
// A function, not top-level await: the built CLI runs this module inside a CommonJS bundle (src/cli/load-bundle.ts).
async function work(): Promise<void> {
  try {
    const { SqliteConnection, asRegistryError } = await import('./connection.js');
    const { tablesOf } = await import('./tables.js');
    const { BulkWriter, WriteSink } = await import('./bulk-writer.js');
    const { deferEdgeIndexes, restoreEdgeIndexes } = await import('./edge-indexes.js');
    const { universeFrom } = await import('../../model/dimensions/default-universe.js');
    const universe = universeFrom(dimensions);
    const open = next();
    if (open.kind !== 'open') throw new Error(`The registry writer thread was sent '${open.kind}' before 'open'.`);
    // This thread may wait inside SQLite for another process's lock: it blocks only itself.
    const conn = SqliteConnection.open(path, { busyTimeoutMs, blockingWaits: true, mustExist: true });
    close = () => conn.close({ checkpoint: false });
    let done: Extract<WorkerReply, { kind: 'done' }> | undefined;
    try {
      conn.bulkTransaction(() => {
        let deferred = deferEdgeIndexes(conn.db, items);
        reply({ kind: 'ready' });
        const writer = new BulkWriter(new WriteSink(tablesOf(conn.db, universe)), maxConflicts);
        for (;;) {
          const msg = next() as WorkerRequest;
          if (msg.kind === 'finish') {
            Atomics.store(shared, SLOT.finishing, 1);
            // Before the producer check reads quantum_outputs by dataset id (a load without datasets).
            if (deferred) restoreEdgeIndexes(conn.db);
            const result = writer.finish();
            done = { kind: 'done', committed: msg.commit && result.conflictCount === 0, result, seconds: { commit: performance.now() } };
            if (!done.committed) throw new Stop('rollback');
            return;
          }
          // The reading side sends every quanta batch (the edges) before the first datasets batch, and
          // nothing reads the edges before the producer check: the indexes are built as soon as the
          // edges are in, while the caller is still making the dataset batches (the caller's thread
          // is their limit, so this thread has time to spare then), not after the last of them.
          if (deferred && msg.kind === 'datasets') {
            restoreEdgeIndexes(conn.db);
            deferred = false;
          }
          writer.apply(msg);
          Atomics.store(shared, SLOT.rows, writer.rows);
          Atomics.add(shared, SLOT.applied, 1);
          Atomics.notify(shared, SLOT.applied);
        }
      });
    } catch (err) {
      // Another process kept the write lock past the timeout: the caller gets the retryable StoreBusy;
      // a file SQLite could not write (the disk full): IOFailure.
      if (!(err instanceof Stop)) throw asRegistryError(err, path);
    }
    // The commit (or rollback) happened when bulkTransaction returned.
    if (done) done.seconds.commit = Math.round(performance.now() - done.seconds.commit) / 1000;
    reply(done ?? { kind: 'aborted' });
  } catch (err) {
    const { errorReply } = await import('../bulk-writer-thread.js');
    reply(errorReply(err));
  } finally {
    try {
      close?.();
    } catch {
      // The transaction is over either way; nothing left to report.
    }
    port.close();
  }
}

void work();
