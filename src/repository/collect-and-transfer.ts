/**
 * collect-and-transfer: bring the results of many executed quanta into the registry.
 *
 * For each (quantum, provenance) item: the actual outputs (refs of `quantum.outputs` whose
 * id the provenance lists as written) are registered as datasets (their dataset types and
 * runs first, if needed), the provenance's datastore records are merged (first writer
 * wins per dataset, datastore and component), and the quantum is stored with its
 * provenance document and its input → output edges (predicted / available / actual flags).
 *
 * What it fixes in daf_butler's version (reference §4.3):
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
 * Speed: the caller's thread reads the items (the JavaScript half) while a BulkWriter
 * applies ready-made rows (the SQLite half): on a writer thread of its own for large
 * batches on a file registry (bulk-writer-thread.ts), inline otherwise. Items are read in
 * quantum id order and each quantum is handed over with its edges at once; the actual
 * outputs follow sorted by id, each with its records: so every primary-key b-tree grows
 * by appending, and the quanta are written while the rest is still being read. Inserts use
 * `INSERT ... ON CONFLICT DO NOTHING` and change counts: the lookup that explains a no-op
 * only runs when a row was already there, and stored JSON is never parsed on the fresh
 * path. Each distinct input id is looked up once. The write runs in
 * `Registry.bulkTransaction` (foreign-key enforcement off, integrity holding by
 * construction; the WAL checkpoint deferred out of the commit). A caller that has a
 * document's JSON text (read from a file) can pass it as `provenanceText` to skip
 * serialising it again.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { v5 as uuidv5 } from 'uuid';
import type { DataId } from '../model/data-coordinate.js';
import { DATASET_ID_NAMESPACE, normalizeDatasetId, type DatasetId } from '../model/dataset-id.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import { datasetTypeEquals, sameDimensions, serializeDatasetType, splitComponent, type DatasetType } from '../model/dataset-type.js';
import { StorageClassRegistry } from '../model/storage-class.js';
import { LEGACY_STORED_FILE_INFO_CLASS, STORED_FILE_INFO_CLASS } from '../model/datastore-records.js';
import { InvalidArgument } from '../model/errors.js';
import { isPlainObject } from '../model/json-value.js';
import type { Quantum } from '../model/quantum.js';
import type { DafButlerProvenance, NativeProvenance } from '../../protocol/provenance.js';
import {
  BulkWriter,
  DATASET_STRIDE,
  DrySink,
  EDGE_ACTUAL,
  EDGE_AVAILABLE,
  EDGE_INIT,
  QUANTUM_STRIDE,
  WriteSink,
  type DatasetsBatch,
  type QuantaBatch,
  type WriterBatch,
  type WriterResult,
} from './bulk-writer.js';
import { BulkWriterThread, workerScript, type Done } from './bulk-writer-thread.js';
import { ConflictList, type CollectConflict, type CollectReport } from './collect-report.js';
import { recordColumns, requiredDataIdKey, type ProvenanceFormat, type Registry } from './registry.js';

export type { CollectConflict, CollectReport, ConflictReason } from './collect-report.js';

export interface CollectItem {
  quantum: Quantum;
  provenance: NativeProvenance | DafButlerProvenance;
  /** Overrides the native document's quantum id (and the derived id for daf_butler documents). */
  quantumId?: string;
  /**
   * The document's JSON text, when the caller has it (e.g. read from a worker's file): stored
   * verbatim instead of serialising `provenance` again. It must encode `provenance`.
   */
  provenanceText?: string;
}

export interface CollectOptions {
  /** Compute the report on a read snapshot; write nothing. */
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
   * Where rows are written: on a writer thread ('thread'; file registries only), in the
   * caller's thread ('inline'), or 'auto' (default): a thread for batches of at least
   * THREAD_MIN_ITEMS items on a file registry. A dry run is always inline.
   */
  writer?: 'auto' | 'thread' | 'inline';
  /**
   * The repository's storage classes: a quantum whose output type differs from the registered one
   * only by a storage class that converts to or from the registered one (a connection's class,
   * as pipe_base adapts refs) is accepted, as daf_butler's import matches types by name. Default: the built-ins.
   */
  storageClasses?: StorageClassRegistry;
  /** @internal Tests: another worker script, a shorter stall limit. */
  thread?: { script?: URL; stallMs?: number };
}

/** Below this many items a writer thread costs more to start (~50 ms) than it saves. */
export const THREAD_MIN_ITEMS = 2000;

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

// ------------------------------------------------------------------ provenance documents

interface NormalizedProvenance {
  format: ProvenanceFormat;
  predictedInputs: DatasetId[];
  availableInputs: Set<DatasetId>;
  actualInputs: Set<DatasetId>;
  predictedOutputs: DatasetId[];
  actualOutputs: Set<DatasetId>;
  records: Record<string, unknown>;
  quantumId: string | null;
  taskName: string | null;
  dataId: Readonly<Record<string, unknown>> | null;
  host: string | null;
  startedAt: string | null;
  endedAt: string | null;
}

function idList(doc: Record<string, unknown>, field: string, index: number): DatasetId[] {
  const v = doc[field];
  if (!Array.isArray(v)) {
    throw new InvalidArgument(`Provenance document ${index}: '${field}' must be a list of dataset ids.`, { details: { index, field } });
  }
  const out = new Array<DatasetId>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = normalizeDatasetId(v[i]);
  return out;
}

function optString(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

/** Read a native or daf_butler provenance document (structure only: the server validates the full schema). */
export function normalizeProvenance(doc: unknown, index = 0): NormalizedProvenance {
  if (!isPlainObject(doc)) throw new InvalidArgument(`Provenance document ${index} must be an object.`, { details: { index } });
  if ('actualOutputs' in doc) {
    const quantum = isPlainObject(doc['quantum']) ? doc['quantum'] : {};
    const execution = isPlainObject(doc['execution']) ? doc['execution'] : {};
    const records = doc['datastoreRecords'] ?? {};
    if (!isPlainObject(records)) throw new InvalidArgument(`Provenance document ${index}: datastoreRecords must be an object.`, { details: { index } });
    return {
      format: 'native',
      predictedInputs: idList(doc, 'predictedInputs', index),
      availableInputs: new Set(idList(doc, 'availableInputs', index)),
      actualInputs: new Set(idList(doc, 'actualInputs', index)),
      predictedOutputs: idList(doc, 'predictedOutputs', index),
      actualOutputs: new Set(idList(doc, 'actualOutputs', index)),
      records,
      quantumId: optString(quantum['id']),
      taskName: optString(quantum['taskName']),
      dataId: isPlainObject(quantum['dataId']) ? quantum['dataId'] : null,
      host: optString(execution['host']),
      startedAt: optString(execution['startedAt']),
      endedAt: optString(execution['endedAt']),
    };
  }
  if ('actual_outputs' in doc) {
    const records = doc['datastore_records'] ?? {};
    if (!isPlainObject(records)) throw new InvalidArgument(`Provenance document ${index}: datastore_records must be an object.`, { details: { index } });
    return {
      format: 'daf_butler',
      predictedInputs: idList(doc, 'predicted_inputs', index),
      availableInputs: new Set(idList(doc, 'available_inputs', index)),
      actualInputs: new Set(idList(doc, 'actual_inputs', index)),
      predictedOutputs: idList(doc, 'predicted_outputs', index),
      actualOutputs: new Set(idList(doc, 'actual_outputs', index)),
      records,
      quantumId: null,
      taskName: null,
      dataId: null,
      host: null,
      startedAt: null,
      endedAt: null,
    };
  }
  throw new InvalidArgument(
    `Provenance document ${index} is neither a native document (actualOutputs, ...) nor daf_butler QuantumProvenanceData (actual_outputs, ...).`,
    { details: { index, keys: Object.keys(doc).sort() } },
  );
}

/**
 * Call `fn` for every record row of a `{datastoreName: SerializedDatastoreRecordData}`
 * mapping, without building intermediate maps. Ids may be dashed or hex.
 */
function forEachSerializedRecord(
  mapping: Record<string, unknown>,
  index: number,
  fn: (datastoreName: string, id: DatasetId, table: string, row: Record<string, unknown>, where: string) => void,
): void {
  for (const name of Object.keys(mapping).sort()) {
    const data = mapping[name];
    if (!isPlainObject(data)) throw new InvalidArgument(`Provenance document ${index}: records of datastore '${name}' must be an object.`, { details: { index, datastore: name } });
    const byClass = data['records'] ?? {};
    if (!isPlainObject(byClass)) throw new InvalidArgument(`Provenance document ${index}: records of datastore '${name}' must be an object.`, { details: { index, datastore: name } });
    for (const cls of Object.keys(byClass)) {
      if (cls !== STORED_FILE_INFO_CLASS && cls !== LEGACY_STORED_FILE_INFO_CLASS) {
        throw new InvalidArgument(`The class specified in the SerializedDatastoreRecordData (${cls}) is not a StoredDatastoreItemInfo.`, { details: { index, class: cls } });
      }
      const perId = byClass[cls];
      if (!isPlainObject(perId)) throw new InvalidArgument(`Provenance document ${index}: records['${cls}'] must be an object.`, { details: { index } });
      for (const rawId of Object.keys(perId)) {
        const id = normalizeDatasetId(rawId);
        const tables = perId[rawId];
        if (!isPlainObject(tables)) throw new InvalidArgument(`Provenance document ${index}: records of dataset ${id} must be an object {table: [rows]}.`, { datasetId: id });
        for (const table of Object.keys(tables)) {
          const rows = tables[table];
          if (!Array.isArray(rows)) throw new InvalidArgument(`Provenance document ${index}: records of dataset ${id} in table '${table}' must be a list.`, { datasetId: id });
          for (let i = 0; i < rows.length; i++) {
            const row: unknown = rows[i];
            const where = `${name}/${id}.${table}[${i}]`;
            if (!isPlainObject(row)) throw new InvalidArgument(`Datastore record ${where} must be an object.`, { datasetId: id });
            fn(name, id, table, row, where);
          }
        }
      }
    }
  }
}

// ------------------------------------------------------------------ the algorithm

class Rollback extends Error {}

interface TypeState {
  /** The registered definition, or null when the quantum's definition conflicts with it. */
  dt: DatasetType | null;
  /** Definitions already checked equal to `dt`. */
  seen: WeakSet<DatasetType>;
}

interface InputPlan {
  id: string;
  ref: DatasetRef;
  init: boolean;
  available: boolean;
  actual: boolean;
}

/**
 * One actual output, with the datastore records its provenance carries for it. Kept lean
 * (references into the items, nothing derived): the key, JSON and record columns are
 * computed when its row is handed to the writer, so a large batch holds few long-lived objects.
 */
interface DatasetPlan {
  /** Index of the item, so that among equal ids the earliest item writes first. */
  item: number;
  quantumId: string;
  id: string;
  ref: DatasetRef;
  dt: DatasetType;
  records: Array<[datastoreName: string, table: string, row: Record<string, unknown>]> | null;
}

/** Where batches go: a BulkWriter in this thread or on a writer thread. */
interface Channel {
  send(batch: WriterBatch): void;
  /** Rows the writer has applied so far. */
  rowsApplied(): number;
}

/** Quanta (with their edges) per batch handed to the writer. */
const QUANTA_PER_BATCH = 256;
/** Datasets (with their records) per batch. */
const DATASETS_PER_BATCH = 1024;
/** Share of the work the reading pass stands for, in progress reports. */
const PREPARE_SHARE = 0.3;

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function setDiff(a: readonly string[], b: ReadonlySet<string>): string[] {
  return a.filter((x) => !b.has(x)).sort();
}

/**
 * Transfer the actual outputs, datastore records, quanta and edges of executed quanta into
 * `registry`, all or nothing. See the module documentation for the rules. Invalid input
 * (malformed documents or records) throws InvalidArgument / InvalidDatasetRef and writes
 * nothing; conflicts do not throw but are listed in the report, with nothing written.
 * Progress `done` counts item-equivalents of work: reading, then writing. Synchronous:
 * the caller's thread is busy until the report is ready (see collectAndTransferAsync).
 */
export function collectAndTransfer(registry: Registry, items: readonly CollectItem[], opts: CollectOptions = {}): CollectReport {
  const steps = collectSteps(registry, items, opts, true);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * collectAndTransfer that lets the event loop run while it works on a writer thread: the
 * reading pauses every few hundred items and the wait for the commit polls, so a server
 * keeps answering other requests, progress notifications go out as they happen, and a
 * cancellation (checked at every pause) takes effect. Small batches, dry runs and in-memory
 * registries run inline and synchronously, as they are quick or cannot use a thread.
 */
export async function collectAndTransferAsync(registry: Registry, items: readonly CollectItem[], opts: CollectOptions = {}): Promise<CollectReport> {
  const steps = collectSteps(registry, items, opts, false);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await (r.value === 'wait' ? sleep(POLL_MS) : nextTurn());
  }
}

/** Where collectSteps pauses: to let the event loop take a turn, or while it waits for the writer. */
type Step = 'turn' | 'wait';
/** How often the wait for a writer thread's commit is polled, when not blocking. */
const POLL_MS = 5;

/** Run `gen` to its end without pausing (inline writes, whose transaction cannot span event-loop turns). */
function drain<T>(gen: Generator<Step, T, void>): T {
  for (;;) {
    const r = gen.next();
    if (r.done) return r.value;
  }
}

/** The algorithm, pausing at `Step`s; `blocking`: wait for a writer thread on Atomics rather than pausing. */
function* collectSteps(registry: Registry, items: readonly CollectItem[], opts: CollectOptions, blocking: boolean): Generator<Step, CollectReport, void> {
  const dryRun = opts.dryRun ?? false;
  const storageClasses = opts.storageClasses ?? StorageClassRegistry.withBuiltins();
  const maxConflicts = Math.max(0, opts.maxConflicts ?? 1000);
  const report: CollectReport = {
    dryRun,
    committed: false,
    quanta: { stored: 0, alreadyPresent: 0 },
    datasets: { inserted: 0, alreadyPresent: 0, byGroup: [] },
    records: { inserted: 0, alreadyPresent: 0 },
    conflicts: [],
    conflictsOmitted: 0,
    writer: 'inline',
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

  const wantThread = !dryRun && (opts.writer === 'thread' || ((opts.writer ?? 'auto') === 'auto' && items.length >= THREAD_MIN_ITEMS));
  const script = wantThread && registry.path !== ':memory:' ? (opts.thread?.script ?? workerScript()) : null;
  if (opts.writer === 'thread' && !dryRun && !script) {
    throw new InvalidArgument(
      registry.path === ':memory:' ? 'An in-memory registry cannot be written from a writer thread.' : 'The registry writer thread script is not built (run `npm run build`).',
    );
  }

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

  if (script) {
    report.writer = 'thread';
    opts.checkCancelled?.();
    const thread = BulkWriterThread.start(script, registry.path, {
      maxConflicts,
      busyTimeoutMs: registry.busyTimeoutMs,
      ...(opts.thread?.stallMs !== undefined ? { stallMs: opts.thread.stallMs } : {}),
    });
    try {
      let tick = (): void => {};
      const channel: Channel = { send: (b) => thread.send(b, tick), rowsApplied: () => thread.rowsApplied };
      const ctx = { items, early, late, progressAt, lap, checkCancelled: opts.checkCancelled, storageClasses, setTick: (t: () => void) => (tick = t) };
      yield* gather(new DrySink(registry), channel, ctx);
      const commit = early.count + late.count === 0;
      let done: Done | undefined;
      if (blocking) done = thread.finish(commit, tick);
      else {
        thread.beginFinish(commit);
        while ((done = thread.pollFinish(tick)) === undefined) yield 'wait';
      }
      lap('write');
      // The writer committed (or rolled back) before it answered: that share of the wait is its own phase.
      report.timings['write'] = Math.max(0, Math.round((report.timings['write']! - done.seconds.commit) * 1000) / 1000);
      finish(done.result);
      report.committed = done.committed;
      report.timings[report.committed ? 'commit' : 'rollback'] = done.seconds.commit;
      if (done.committed) registry._scheduleCheckpoint();
    } catch (err) {
      thread.abort();
      throw err;
    }
    progressAt(total);
    return report;
  }

  const inline = (writeSink: WriteSink | DrySink): WriterResult => {
    opts.checkCancelled?.();
    let onRows = (): void => {};
    const writer = new BulkWriter(writeSink, maxConflicts, () => onRows());
    const channel: Channel = { send: (b) => writer.apply(b), rowsApplied: () => writer.rows };
    drain(gather(new DrySink(registry), channel, { items, early, late, progressAt, lap, checkCancelled: opts.checkCancelled, storageClasses, setTick: (t) => (onRows = t) }));
    const result = writer.finish();
    lap('write');
    finish(result);
    progressAt(total);
    return result;
  };
  if (dryRun) {
    registry.readTransaction(() => inline(new DrySink(registry)));
  } else {
    try {
      registry.bulkTransaction(() => {
        const result = inline(new WriteSink(registry));
        if (early.count + late.count + result.conflictCount > 0) throw new Rollback();
      });
      report.committed = true;
    } catch (err) {
      if (!(err instanceof Rollback)) throw err;
    }
  }
  lap(dryRun ? 'end' : report.committed ? 'commit' : 'rollback');
  return report;
}

interface GatherContext {
  items: readonly CollectItem[];
  early: ConflictList;
  late: ConflictList;
  progressAt: (done: number) => void;
  lap: (phase: string) => void;
  checkCancelled: (() => void) | undefined;
  storageClasses: StorageClassRegistry;
  /** Install the progress callback the channel calls while the writer works. */
  setTick: (tick: () => void) => void;
}

/**
 * The items' indices with their quantum ids (given, from the document, or derived), sorted
 * by id; equal ids keep item order. Reads only the document's `quantum.id`, not the rest.
 */
function quantumOrder(items: readonly CollectItem[]): Array<{ index: number; id: string }> {
  const out = new Array<{ index: number; id: string }>(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const doc = item.provenance as unknown;
    // As normalizeProvenance reads it: only a native document names its quantum.
    const docQuantum = isPlainObject(doc) && 'actualOutputs' in doc && isPlainObject(doc['quantum']) ? optString(doc['quantum']['id']) : null;
    out[i] = { index: i, id: item.quantumId ?? docQuantum ?? deriveQuantumId(item.quantum) };
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.index - b.index));
}

/**
 * The reading side: check each item's provenance against its quantum, plan and hand over
 * its quantum row and edges, then the actual outputs sorted by id, then check the inputs
 * against what the registry says about them. `planning` resolves dataset types and runs
 * (reads only; new ones are handed to the writer in `ensure` batches).
 */
function* gather(planning: DrySink, channel: Channel, ctx: GatherContext): Generator<Step, void, void> {
  const { items, early, late, progressAt } = ctx;
  const total = items.length;
  const conflict = (c: CollectConflict): void => early.add(c);

  let runsSent = 0;
  let typesSent = 0;
  const send = (b: WriterBatch): void => {
    if (planning.newRuns.length > runsSent || planning.newTypes.length > typesSent) {
      channel.send({
        kind: 'ensure',
        runs: planning.newRuns.slice(runsSent),
        datasetTypes: planning.newTypes.slice(typesSent).map(serializeDatasetType),
      });
      runsSent = planning.newRuns.length;
      typesSent = planning.newTypes.length;
    }
    channel.send(b);
  };

  const types = new Map<string, TypeState>();
  const storageClasses = ctx.storageClasses;
  /** The quantum's definition against the registered one: null when it may be used (same, or only a convertible storage class). */
  const typeConflict = (registered: DatasetType, given: DatasetType): Record<string, unknown> | null => {
    if (datasetTypeEquals(registered, given)) return null;
    const fields: string[] = [];
    if (registered.storageClass !== given.storageClass) fields.push('storageClass');
    if (!sameDimensions(registered, given)) fields.push('dimensions');
    if (registered.parentStorageClass !== given.parentStorageClass) fields.push('parentStorageClass');
    if (registered.isCalibration !== given.isCalibration) fields.push('isCalibration');
    const a = registered.storageClass;
    const b = given.storageClass;
    const convertible = storageClasses.has(a) && storageClasses.has(b) && (storageClasses.canConvert(b, a) || storageClasses.canConvert(a, b));
    if (fields.length === 1 && fields[0] === 'storageClass' && convertible) return null;
    const why =
      fields.includes('storageClass') && !convertible
        ? `storage class ${b} (quantum) cannot be converted to or from ${a} (registry)` +
          (!storageClasses.has(b) || !storageClasses.has(a) ? ` (${[a, b].filter((n) => !storageClasses.has(n)).join(', ')} unknown to the repository)` : '')
        : `${fields.filter((f) => f !== 'storageClass').join(', ')} differ`;
    return {
      datasetType: given.name,
      fields,
      message: `Dataset type '${given.name}' of the quantum does not match the registry's: ${why}.`,
      registeredStorageClass: a,
      givenStorageClass: b,
      registered: serializeDatasetType(registered),
      given: serializeDatasetType(given),
    };
  };
  const typeFor = (q: Quantum, ref: DatasetRef, quantumId: string): DatasetType | null => {
    const name = ref.datasetType.name;
    const def = q.datasetTypes.get(name) ?? ref.datasetType;
    let st = types.get(name);
    if (!st) {
      const [outcome, existing] = planning.ensureDatasetType(def);
      const details = outcome === 'conflict' ? typeConflict(existing!, def) : null;
      st = { dt: details !== null ? null : outcome === 'inserted' ? def : existing!, seen: new WeakSet([def]) };
      types.set(name, st);
      if (details !== null) conflict({ quantumId, reason: 'datasetTypeConflict', details });
      return st.dt;
    }
    if (st.dt === null) return null;
    if (!st.seen.has(def)) {
      const details = typeConflict(st.dt, def);
      if (details !== null) {
        conflict({ quantumId, reason: 'datasetTypeConflict', details });
        return null;
      }
      st.seen.add(def);
    }
    return st.dt;
  };

  const datasets: DatasetPlan[] = [];
  const quantumInputs: Array<{ quantumId: string; inputs: InputPlan[] }> = [];
  let rows = 0;
  let quanta: QuantaBatch = { kind: 'quanta', quanta: [], inputs: [], outputs: [] };
  const flushQuanta = (): void => {
    if (quanta.quanta.length === 0) return;
    send(quanta);
    quanta = { kind: 'quanta', quanta: [], inputs: [], outputs: [] };
  };
  /** A pause for the event loop (when the driver takes it), then a chance to cancel. */
  const pause = function* (): Generator<Step, void, void> {
    yield 'turn';
    ctx.checkCancelled?.();
  };

  // 1. Read the items in quantum id order (stable: equal ids keep item order, so the first
  //    item still decides), which lets the quanta and their edges be written by appending to
  //    their primary keys while the rest is still being read; hand each over with its edges.
  const order = quantumOrder(items);
  for (let n = 0; n < order.length; n++) {
    const index = order[n]!.index;
    const quantumId = order[n]!.id;
    const item = items[index]!;
    const q = item.quantum;
    const prov = normalizeProvenance(item.provenance, index);

    // The provenance must describe this quantum.
    const outRefs = new Map<string, DatasetRef>();
    for (const r of q.outputs) if (!outRefs.has(r.id)) outRefs.set(r.id, r);
    const inRefs = new Map<string, { ref: DatasetRef; init: boolean }>();
    for (const r of q.initInputs) if (!inRefs.has(r.id)) inRefs.set(r.id, { ref: r, init: true });
    for (const r of q.inputs) if (!inRefs.has(r.id)) inRefs.set(r.id, { ref: r, init: false });
    const predOut = new Set(prov.predictedOutputs);
    const predIn = new Set(prov.predictedInputs);
    if (
      predOut.size !== outRefs.size ||
      predIn.size !== inRefs.size ||
      prov.predictedOutputs.some((id) => !outRefs.has(id)) ||
      prov.predictedInputs.some((id) => !inRefs.has(id))
    ) {
      conflict({
        quantumId,
        reason: 'provenanceMismatch',
        details: {
          message: "The provenance's predicted inputs/outputs are not the quantum's.",
          outputsMissingFromProvenance: setDiff([...outRefs.keys()], predOut),
          outputsNotInQuantum: setDiff(prov.predictedOutputs, new Set(outRefs.keys())),
          inputsMissingFromProvenance: setDiff([...inRefs.keys()], predIn),
          inputsNotInQuantum: setDiff(prov.predictedInputs, new Set(inRefs.keys())),
        },
      });
    }
    if (prov.taskName !== null && q.taskName && prov.taskName !== q.taskName) {
      conflict({ quantumId, reason: 'provenanceMismatch', details: { message: 'Task names differ.', quantum: q.taskName, provenance: prov.taskName } });
    }
    for (const id of prov.actualOutputs) {
      if (!outRefs.has(id)) {
        conflict({ datasetId: id, quantumId, reason: 'notPredictedOutput', details: { message: `Dataset ${id} was written but is not a predicted output of the quantum.` } });
      }
    }
    for (const id of new Set([...prov.availableInputs, ...prov.actualInputs])) {
      if (!inRefs.has(id)) {
        conflict({
          datasetId: id,
          quantumId,
          reason: 'notPredictedInput',
          details: { message: `Dataset ${id} is listed as an available or used input but is not a predicted input of the quantum.` },
        });
      }
    }

    // The quantum row and its edges (sorted by dataset id), straight to the writer.
    const inputs: InputPlan[] = [];
    for (const [id, { ref, init }] of inRefs) inputs.push({ id, ref, init, available: prov.availableInputs.has(id), actual: prov.actualInputs.has(id) });
    inputs.sort(byId);
    const outIds = [...outRefs.keys()].sort();
    const dataId = q.dataId ?? prov.dataId;
    quanta.quanta.push(
      quantumId,
      q.taskName || prov.taskName || null,
      dataId ? JSON.stringify(dataId) : null,
      prov.host,
      prov.startedAt,
      prov.endedAt,
      prov.format,
      item.provenanceText ?? JSON.stringify(item.provenance),
      inputs.length,
      outIds.length,
    );
    for (const e of inputs) {
      // A component input (pvi.wcs, with its parent's id) is an edge to the parent dataset.
      quanta.inputs.push(e.id, splitComponent(e.ref.datasetType.name).parent, e.ref.run, JSON.stringify(e.ref.dataId), (e.init ? EDGE_INIT : 0) | (e.available ? EDGE_AVAILABLE : 0) | (e.actual ? EDGE_ACTUAL : 0));
    }
    for (const id of outIds) quanta.outputs.push(id, prov.actualOutputs.has(id) ? 1 : 0);
    rows += 1 + inputs.length + outIds.length;
    quantumInputs.push({ quantumId, inputs });

    // Actual outputs become datasets (of registered types, in registered runs).
    const mine = new Map<string, DatasetPlan>();
    for (const id of prov.actualOutputs) {
      const ref = outRefs.get(id);
      if (!ref) continue;
      const dt = typeFor(q, ref, quantumId);
      if (dt === null) continue;
      planning.ensureRun(ref.run);
      const d: DatasetPlan = { item: index, quantumId, id, ref, dt, records: null };
      datasets.push(d);
      mine.set(id, d);
      rows++;
    }

    // Their datastore records.
    forEachSerializedRecord(prov.records, index, (datastoreName, id, table, row) => {
      if (!prov.actualOutputs.has(id)) {
        conflict({
          datasetId: id,
          quantumId,
          reason: 'recordNotActualOutput',
          details: { message: `The provenance carries a record for ${id}, which it does not list as an actual output.`, datastoreName },
        });
        return;
      }
      const d = mine.get(id);
      if (!d) return;
      (d.records ??= []).push([datastoreName, table, row]);
      rows++;
    });

    progressAt(PREPARE_SHARE * (n + 1));
    if (quanta.quanta.length >= QUANTA_PER_BATCH * QUANTUM_STRIDE) {
      flushQuanta();
      yield* pause();
    }
  }
  flushQuanta();
  ctx.lap('prepare');
  ctx.checkCancelled?.();

  // Writing progress from here on: the rows the writer has still to apply when reading ended.
  const base = channel.rowsApplied();
  const remaining = Math.max(1, rows - base);
  const tick = (): void => progressAt(total * (PREPARE_SHARE + (1 - PREPARE_SHARE) * Math.min(1, (channel.rowsApplied() - base) / remaining)));
  ctx.setTick(tick);

  // 2. Actual outputs in id order, each with its records; among equal ids the earliest item writes first.
  datasets.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.item - b.item));
  let batch: DatasetsBatch = { kind: 'datasets', datasets: [], records: [] };
  for (let i = 0; i < datasets.length; i++) {
    const d = datasets[i]!;
    const recs = d.records ?? [];
    batch.datasets.push(d.id, d.quantumId, d.dt.name, d.ref.run, requiredDataIdKey(d.dt, d.ref.dataId), JSON.stringify(d.ref.dataId), recs.length);
    for (const [datastoreName, table, raw] of recs) {
      const c = recordColumns(raw, table, () => `${datastoreName}/${d.id}.${table}`);
      batch.records.push(datastoreName, c.tableName, c.path, c.formatter, c.storageClass, c.component, c.checksum, c.fileSize, c.extra);
    }
    if (batch.datasets.length >= DATASETS_PER_BATCH * DATASET_STRIDE || i === datasets.length - 1) {
      send(batch);
      batch = { kind: 'datasets', datasets: [], records: [] };
      tick();
      yield* pause();
    }
  }
  ctx.lap('datasets');

  // 3. Inputs must agree with what the registry (or this batch) says about the same ids.
  //    Each distinct id is looked up once; an input that is this batch's own output ref needs no lookup.
  //    Ids that are not this batch's outputs read the same from the committed registry as
  //    from the writer's transaction, so this runs on the caller's connection.
  type Known = { datasetType: string; run: string; key: string | null; dt: DatasetType | undefined; ref: DatasetRef | null } | null;
  const known = new Map<string, Known>();
  for (const d of datasets) if (!known.has(d.id)) known.set(d.id, { datasetType: d.dt.name, run: d.ref.run, key: null, dt: d.dt, ref: d.ref });
  const keyOf = (dt: DatasetType | undefined, dataId: DataId): string | null => {
    if (!dt) return null;
    try {
      return requiredDataIdKey(dt, dataId);
    } catch {
      return null;
    }
  };
  for (let qi = 0; qi < quantumInputs.length; qi++) {
    const { quantumId, inputs } = quantumInputs[qi]!;
    if (qi % 4096 === 4095) yield* pause();
    for (const e of inputs) {
      const ref = e.ref;
      let k = known.get(e.id);
      if (k === undefined) {
        const row = planning.datasetKey(e.id);
        k = row ? { datasetType: row.dataset_type, run: row.run, key: row.data_id_key, dt: planning.datasetType(row.dataset_type), ref: null } : null;
        known.set(e.id, k);
      }
      if (k === null || k.ref === ref) continue;
      if (k.key === null && k.ref) k.key = keyOf(k.dt, k.ref.dataId);
      const typeName = splitComponent(ref.datasetType.name).parent;
      const key = k.datasetType === typeName ? keyOf(k.dt, ref.dataId) : null;
      if (k.datasetType !== typeName || k.run !== ref.run || key !== k.key) {
        late.add({
          datasetId: e.id,
          quantumId,
          reason: 'inputRefMismatch',
          details: {
            registered: { datasetType: k.datasetType, run: k.run, dataId: k.key },
            quantum: { datasetType: ref.datasetType.name, run: ref.run, dataId: ref.dataId },
          },
        });
      }
    }
  }
  tick();
  ctx.lap('checks');
}
