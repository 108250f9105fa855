/**
 * collect-and-transfer: bring the results of many executed quanta into the registry.
 *
 * For each (quantum, provenance) item: the actual outputs (refs of `quantum.outputs` whose
 * id the provenance lists as written) are registered as datasets (their dataset types and
 * runs first, if needed), the provenance's datastore records are merged (first writer
 * wins per dataset, datastore and component), and the quantum is stored with its
 * provenance document and its input → output edges (predicted / available / actual flags).
 *
 * What it fixes in daf_butler's version:
 * - One transaction for everything (datasets, records, quanta, edges): a conflict
 *   anywhere rolls the whole batch back, and the report lists every conflict found (not
 *   just the first), each with the dataset or quantum it concerns.
 * - "Ensure" semantics: re-running the same batch changes nothing and reports everything
 *   as already present; so does a batch that overlaps an earlier one (resumable).
 * - Records with a different checksum (or path, size, ...) for an existing dataset,
 *   provenance that does not belong to its quantum (ids not predicted, predicted sets that
 *   differ), a dataset claimed by two quanta, and a quantum id reused for other content
 *   are conflicts instead of being ignored.
 * - The input → output graph, task, data ID, host and timings are stored (daf_butler has
 *   "no place to store it").
 * - `dryRun` computes the same report on a read snapshot (no write lock, nothing written).
 *
 * One algorithm over both registry backends: the reading side (collect-plan.ts, named
 * steps) reads the items and hands ready-made rows to the backend's bulk writer
 * (bulk-batches.ts is the interface) through `Registry.bulkLoad`, which holds the one
 * transaction. SQLite writes row by row on a writer thread of its own for large batches
 * (sqlite/bulk-writer-thread.ts), inline otherwise; PostgreSQL stages rows with COPY and
 * applies them in set-based statements (postgres/bulk-writer.ts). Items are read in
 * quantum id order and the outputs are sent sorted by id, so every primary key grows by
 * appending, and the quanta are written while the rest is still being read. A caller
 * that has a document's JSON text (read from a file) passes it as `provenanceText`: stored
 * verbatim, never serialised again, and, given without the parsed document, read on parser
 * threads before the writing starts (provenance-parsers.ts), so that the caller's thread
 * (the limit of a large collect) neither parses nor serialises it.
 *
 * Many collectors at once (PostgreSQL): each call is one transaction; two that race on
 * the same rows end with each row once, one reporting it inserted and the other already
 * present (unique constraints and ON CONFLICT decide, waiting for each other's commit). A
 * serialization failure or deadlock the database reports rolls the attempt back and the
 * whole call runs again, at most MAX_ATTEMPTS times; `retries` in the report says how
 * many times it did.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { v5 as uuidv5 } from 'uuid';
import { DATASET_ID_NAMESPACE } from '../model/dataset-id.js';
import { StoreBusy } from '../model/errors.js';
import { StorageClassRegistry } from '../model/storage-class.js';
import type { Quantum } from '../model/quantum.js';
import type { WriterResult } from './bulk-batches.js';
import { CollectReader, Planner, type CollectItem } from './collect-plan.js';
import { readProvenanceTexts, type ParseWhere, type ReadTexts } from './provenance-parsers.js';
import { ConflictList, type CollectReport } from './collect-report.js';
import type { BulkLoadOptions, Registry } from './registry.js';

export type { CollectConflict, CollectReport, ConflictReason } from './collect-report.js';
export type { CollectItem } from './collect-plan.js';
export { normalizeProvenance } from './provenance-documents.js';
export { THREAD_MIN_ITEMS } from './bulk-writer-thread.js';
export { PARSE_THREAD_MIN_ITEMS } from './provenance-parsers.js';

export interface CollectOptions {
  /** Compute the report without writing anything (SQLite: on a read snapshot). */
  dryRun?: boolean;
  /**
   * Called about every 1% of the work and once at the end. `done` counts item-equivalents:
   * reading the items is the first 30% of `total`, writing the rows the rest.
   */
  progress?: (done: number, total: number) => void;
  /** Called as often as `progress`; throw to cancel (the transaction is rolled back). */
  checkCancelled?: () => void;
  /** At most this many conflicts are listed (default 1000); `conflictsOmitted` counts the rest. */
  maxConflicts?: number;
  /**
   * SQLite: where rows are written: on a writer thread ('thread'; file registries only), in
   * the caller's thread ('inline'), or 'auto' (default): a thread for batches of at least
   * THREAD_MIN_ITEMS items on a file registry. A dry run is always inline.
   */
  writer?: 'auto' | 'thread' | 'inline';
  /**
   * Where documents given as text only are read: on parser threads ('thread'), in the caller's
   * thread ('inline'), or 'auto' (default): threads for at least PARSE_THREAD_MIN_ITEMS of them.
   */
  parse?: ParseWhere;
  /** Records of this datastore (the repository's own) must have paths inside it; others are InvalidArgument. */
  ownDatastore?: string;
  /**
   * The repository's storage classes: a quantum whose output type differs from the registered one
   * only by a storage class that converts to or from the registered one (a connection's class,
   * as pipe_base adapts refs) is accepted, as daf_butler's import matches types by name. Default: the built-ins.
   */
  storageClasses?: StorageClassRegistry;
  /** How many times a transaction the database aborted (serialization failure, deadlock) is tried in all (default 5). */
  maxAttempts?: number;
  /** @internal Tests: another worker script, a shorter stall limit. */
  thread?: { script?: URL; stallMs?: number };
}

/** Attempts of a transaction the database aborted as transient, by default. */
export const MAX_ATTEMPTS = 5;
/** First pause before another attempt (ms); doubled each time, with jitter. */
const RETRY_PAUSE_MS = 50;

/** Namespace of derived quantum ids: uuid5 over the sorted predicted output ids. */
export const QUANTUM_ID_NAMESPACE = uuidv5('quantum-butler:quantum', DATASET_ID_NAMESPACE);

/**
 * The id a quantum is stored under when none is given: uuid5 of its sorted predicted output
 * ids; a quantum without outputs uses its task name, data ID and sorted input ids instead.
 */
export function deriveQuantumId(quantum: Quantum): string {
  const outputs = [...new Set(quantum.outputs.map((r) => r.id))].sort();
  if (outputs.length > 0) return uuidv5(`outputs:${outputs.join(',')}`, QUANTUM_ID_NAMESPACE);
  const inputs = [...new Set([...quantum.initInputs, ...quantum.inputs].map((r) => r.id))].sort();
  const dataId = quantum.dataId ? JSON.stringify(quantum.dataId) : 'null';
  return uuidv5(`task:${quantum.taskName};dataId:${dataId};inputs:${inputs.join(',')}`, QUANTUM_ID_NAMESPACE);
}

/**
 * Transfer the actual outputs, datastore records, quanta and edges of executed quanta into
 * `registry`, all or nothing. See the module documentation for the rules. Invalid input
 * (malformed documents or records) throws InvalidArgument / InvalidDatasetRef and writes
 * nothing; conflicts do not throw but are listed in the report, with nothing written.
 * Progress `done` counts item-equivalents of work: reading, then writing. The event loop
 * runs meanwhile wherever the backend lets it (a writer thread, a database server).
 */
export async function collectAndTransfer(registry: Registry, items: readonly CollectItem[], opts: CollectOptions = {}): Promise<CollectReport> {
  const maxAttempts = Math.max(1, opts.maxAttempts ?? MAX_ATTEMPTS);
  opts.checkCancelled?.();
  // Documents given as text only are read once, before the first attempt (a malformed one fails here, before anything is written).
  const texts = items.map((it) => (it.provenance === undefined ? it.provenanceText : undefined));
  const load: BulkLoadOptions = {
    dryRun: opts.dryRun ?? false,
    maxConflicts: Math.max(0, opts.maxConflicts ?? 1000),
    items: items.length,
    writer: opts.writer ?? 'auto',
    ...(opts.thread ? { thread: opts.thread } : {}),
  };
  // The writer starts up (SQLite: its thread loads) while the documents are read; it opens the registry only in bulkLoad.
  const prepared = registry.prepareBulkLoad?.(load);
  try {
    const parseStart = performance.now();
    const read = texts.some((t) => t !== undefined) ? await readProvenanceTexts(texts, { where: opts.parse ?? 'auto', checkCancelled: opts.checkCancelled }) : undefined;
    const parseSeconds = Math.round(performance.now() - parseStart) / 1000;
    for (let attempt = 0; ; attempt++) {
      try {
        const report = await collectOnce(registry, items, read, opts, { ...load, ...(prepared ? { prepared } : {}) });
        report.retries = attempt;
        report.timings = { parse: parseSeconds, ...report.timings };
        return report;
      } catch (err) {
        if (!registry.isTransient(err)) throw err;
        if (attempt + 1 >= maxAttempts) {
          throw new StoreBusy(`collect-and-transfer was aborted by the registry ${maxAttempts} times (${(err as Error).message}); nothing was written, retry later.`, {
            details: { attempts: maxAttempts, lastError: (err as Error).message },
          });
        }
        opts.checkCancelled?.();
        await sleep(RETRY_PAUSE_MS * 2 ** attempt * (0.5 + Math.random()));
      }
    }
  } finally {
    prepared?.release();
  }
}

/** One attempt: one transaction. */
async function collectOnce(registry: Registry, items: readonly CollectItem[], read: ReadTexts | undefined, opts: CollectOptions, load: BulkLoadOptions): Promise<CollectReport> {
  const { dryRun, maxConflicts } = load;
  const report: CollectReport = {
    dryRun,
    committed: false,
    quanta: { stored: 0, alreadyPresent: 0 },
    datasets: { inserted: 0, alreadyPresent: 0, byGroup: [] },
    records: { inserted: 0, alreadyPresent: 0 },
    conflicts: [],
    conflictsOmitted: 0,
    writer: 'inline',
    retries: 0,
    timings: {},
  };
  let clock = performance.now();
  const lap = (phase: string): void => {
    const now = performance.now();
    report.timings[phase] = Math.round(now - clock) / 1000;
    clock = now;
  };

  // Progress in item-equivalents: reading covers PREPARE_SHARE of `total`, the rows written after it the rest.
  const total = items.length;
  const step = Math.max(1, Math.ceil(total / 100));
  let reported = 0;
  const progressAt = (done: number): void => {
    const d = Math.min(total, Math.floor(done));
    if (d - reported >= step || (d === total && reported < total)) {
      reported = d;
      opts.progress?.(d, total);
      if (d < total) opts.checkCancelled?.();
    }
  };

  // Conflicts found while reading (listed first) and by the input checks (listed last); the writer's come between.
  const early = new ConflictList(maxConflicts);
  const late = new ConflictList(maxConflicts);
  const finish = (w: WriterResult): void => {
    report.quanta = w.quanta;
    report.datasets = w.datasets;
    report.records = w.records;
    const all = [...early.listed, ...w.conflicts, ...late.listed];
    report.conflicts = all.slice(0, maxConflicts);
    report.conflictsOmitted = early.count + w.conflictCount + late.count - report.conflicts.length;
    for (const [k, v] of Object.entries(w.timings)) report.timings[`writer.${k}`] = v;
  };

  opts.checkCancelled?.();
  const ctx = {
    items,
    ...(read ? { read } : {}),
    early,
    late,
    progressAt,
    lap,
    checkCancelled: opts.checkCancelled,
    deriveQuantumId,
    ownDatastore: opts.ownDatastore,
    storageClasses: opts.storageClasses ?? StorageClassRegistry.withBuiltins(),
  };
  const outcome = await registry.bulkLoad(load, (planning, channel) => new CollectReader(new Planner(planning), channel, ctx).run());
  lap('write');
  // The commit (or rollback) happened inside bulkLoad: that share of the wait is its own phase.
  report.timings['write'] = Math.max(0, Math.round((report.timings['write']! - outcome.commitSeconds) * 1000) / 1000);
  finish(outcome.result);
  report.writer = outcome.writer;
  report.committed = outcome.committed;
  report.timings[dryRun ? 'end' : report.committed ? 'commit' : 'rollback'] = outcome.commitSeconds;
  progressAt(total);
  return report;
}
