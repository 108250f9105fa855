/**
 * Entry point of the registry writer thread (see bulk-writer-thread.ts): open the
 * registry, take the write lock, apply batches until told to finish, then commit or roll
 * back and report. Modules are imported inside the try, so even a failure to load them is
 * reported to the caller instead of leaving it waiting.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { WorkerData, WorkerReply, WorkerRequest } from './bulk-writer-thread.js';
import { SLOT } from './bulk-writer-slots.js';

const { path, port, shared, maxConflicts, busyTimeoutMs, dimensions } = workerData as WorkerData;

class Stop extends Error {}

function reply(msg: WorkerReply): void {
  port.postMessage(msg);
  Atomics.add(shared, SLOT.toCaller, 1);
  Atomics.notify(shared, SLOT.toCaller);
}

function next(): WorkerRequest {
  for (;;) {
    Atomics.add(shared, SLOT.beat, 1);
    const seen = Atomics.load(shared, SLOT.toWorker);
    if (Atomics.load(shared, SLOT.abort) !== 0) throw new Stop('aborted');
    const m = receiveMessageOnPort(port);
    if (m) return m.message as WorkerRequest;
    Atomics.wait(shared, SLOT.toWorker, seen, 1000);
  }
}

let close: (() => void) | undefined;
try {
  const { Registry } = await import('./registry.js');
  const { BulkWriter, WriteSink } = await import('./bulk-writer.js');
  const { universeFrom } = await import('../model/dimensions/default-universe.js');
  const registry = Registry.open(path, { busyTimeoutMs, universe: universeFrom(dimensions) });
  close = () => registry.close({ checkpoint: false });
  let done: Extract<WorkerReply, { kind: 'done' }> | undefined;
  try {
    registry.bulkTransaction(() => {
      reply({ kind: 'ready' });
      const writer = new BulkWriter(new WriteSink(registry), maxConflicts);
      for (;;) {
        const msg = next();
        if (msg.kind === 'finish') {
          Atomics.store(shared, SLOT.finishing, 1);
          const result = writer.finish();
          done = { kind: 'done', committed: msg.commit && result.conflictCount === 0, result, seconds: { commit: performance.now() } };
          if (!done.committed) throw new Stop('rollback');
          return;
        }
        writer.apply(msg);
        Atomics.store(shared, SLOT.rows, writer.rows);
        Atomics.add(shared, SLOT.applied, 1);
        Atomics.notify(shared, SLOT.applied);
      }
    });
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
  }
  // The commit (or rollback) happened when bulkTransaction returned.
  if (done) done.seconds.commit = Math.round(performance.now() - done.seconds.commit) / 1000;
  reply(done ?? { kind: 'aborted' });
} catch (err) {
  const e = err as Error;
  const errorKind = (err as { kind?: unknown }).kind;
  reply({ kind: 'error', name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}), ...(typeof errorKind === 'string' ? { errorKind } : {}) });
} finally {
  try {
    close?.();
  } catch {
    // The transaction is over either way; nothing left to report.
  }
  port.close();
}
