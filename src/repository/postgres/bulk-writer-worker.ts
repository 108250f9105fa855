/**
 * Entry point of the PostgreSQL registry's writer thread (see ../bulk-writer-thread.ts):
 * open a connection of its own, begin the transaction, apply the reader's batches with
 * PgBulkWriter as they arrive, then commit or roll back and report. Its event loop does
 * nothing else, so the server's answers are taken at once instead of after the reader's
 * next turn. Modules are imported inside the try, so a failure to load them is reported.
 */
import { workerData } from 'node:worker_threads';
import type { WorkerChannel, WorkerReply, WorkerRequest } from '../bulk-writer-thread.js';
import { SLOT } from '../bulk-writer-slots.js';

/** What PgRegistry starts this worker with. */
export interface PgWorkerData {
  url: string;
  schema: string;
  maxConflicts: number;
  items: number;
  dryRun: boolean;
  /** The registry's dimension universe, as a (trimmed) daf_butler dimensions config. */
  dimensions: unknown;
}

const { url, schema, maxConflicts, items, dryRun, dimensions, port, shared } = workerData as PgWorkerData & WorkerChannel;

function reply(msg: WorkerReply): void {
  port.postMessage(msg);
  Atomics.add(shared, SLOT.toCaller, 1);
  Atomics.notify(shared, SLOT.toCaller);
}

// Signs of life for the caller's stall check, and the caller's abort, on one timer.
let aborted: (() => void) | undefined;
const beat = setInterval(() => {
  Atomics.add(shared, SLOT.beat, 1);
  if (Atomics.load(shared, SLOT.abort) !== 0) aborted?.();
}, 100);

let close: (() => Promise<void>) | undefined;
// A function, not top-level await: the built CLI runs this module inside a CommonJS bundle (src/cli/load-bundle.ts).
async function work(): Promise<void> {
  try {
    const { PgConnection } = await import('./connection.js');
    const { PgBulkWriter } = await import('./bulk-writer.js');
    const { universeFrom } = await import('../../model/dimensions/default-universe.js');
    const universe = universeFrom(dimensions);
    const conn = await PgConnection.create({ url, schema, poolSize: 1 });
    const c = await conn.client();
    close = async () => {
      c.release(true);
      await conn.close();
    };
    await c.query('BEGIN');
    const writer = new PgBulkWriter(c, conn.driver, { maxConflicts, items, universe }, () => Atomics.store(shared, SLOT.rows, writer.rows));
    await writer.begin();
    reply({ kind: 'ready' });

    // Requests in order: a batch is taken once the one before it is.
    const queue: WorkerRequest[] = [];
    let wake: (() => void) | undefined;
    port.on('message', (m: WorkerRequest) => {
      queue.push(m);
      wake?.();
    });
    const next = (): Promise<WorkerRequest | 'abort'> =>
      new Promise((resolve) => {
        const take = (): void => {
          wake = undefined;
          aborted = undefined;
          resolve(queue.shift()!);
        };
        if (queue.length > 0) return take();
        wake = take;
        aborted = () => {
          wake = undefined;
          resolve('abort');
        };
      });
    for (;;) {
      const msg = await next();
      if (msg === 'abort') {
        await c.query('ROLLBACK');
        reply({ kind: 'aborted' });
        break;
      }
      if (msg.kind === 'finish') {
        Atomics.store(shared, SLOT.finishing, 1);
        const result = await writer.finish();
        const committed = msg.commit && result.conflictCount === 0 && !dryRun;
        const t0 = performance.now();
        await c.query(committed ? 'COMMIT' : 'ROLLBACK');
        reply({ kind: 'done', committed, result, seconds: { commit: Math.round(performance.now() - t0) / 1000 } });
        break;
      }
      await writer.send(msg);
      Atomics.add(shared, SLOT.applied, 1);
      Atomics.notify(shared, SLOT.applied);
    }
  } catch (err) {
    const { errorReply } = await import('../bulk-writer-thread.js');
    reply(errorReply(err));
  } finally {
    clearInterval(beat);
    await close?.().catch(() => {});
    port.close();
  }
}

void work();
