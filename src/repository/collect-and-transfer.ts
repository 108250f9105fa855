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
 * Speed: one transaction in two passes. The first reads the items and gathers lean row
 * plans (no table access); the second writes table by table in key order (quanta by id,
 * then their edges by (quantum, dataset), then datasets by id each followed by its
 * records), so primary-key b-trees grow by appending. Prepared statements with
 * `INSERT ... ON CONFLICT DO NOTHING` and change counts: the lookup that explains a
 * no-op only runs when a row was already there, and stored JSON is never parsed on the
 * fresh path. Each distinct input id is looked up once. The write runs in
 * `Registry.bulkTransaction` (foreign-key enforcement off, integrity holding by
 * construction; the WAL checkpoint deferred out of the commit). A caller that has a
 * document's JSON text (read from a file) can pass it as `provenanceText` to skip
 * serialising it again.
 */
import { performance } from 'node:perf_hooks';
import { v5 as uuidv5 } from 'uuid';
import type { DataId } from '../model/data-coordinate.js';
import { DATASET_ID_NAMESPACE, normalizeDatasetId, type DatasetId } from '../model/dataset-id.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import { datasetTypeEquals, serializeDatasetType, type DatasetType } from '../model/dataset-type.js';
import { LEGACY_STORED_FILE_INFO_CLASS, STORED_FILE_INFO_CLASS } from '../model/datastore-records.js';
import { InvalidArgument } from '../model/errors.js';
import { isPlainObject } from '../model/json-value.js';
import type { Quantum } from '../model/quantum.js';
import type { DafButlerProvenance, NativeProvenance } from '../../protocol/provenance.js';
import {
  INSERTED,
  quantumDifferences,
  recordColumns,
  recordConflict,
  recordDifferences,
  requiredDataIdKey,
  type DatasetKeyRow,
  type ProvenanceFormat,
  type QuantumRow,
  type RecordColumns,
  type Registry,
  type RowOutcome,
} from './registry.js';

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
}

export type ConflictReason =
  /** The id exists with another dataset type, run or data ID. */
  | 'datasetIdConflict'
  /** (dataset type, run, data ID) exists under another id. */
  | 'dataIdConflict'
  /** A registered dataset type has another definition than the quantum's. */
  | 'datasetTypeConflict'
  /** A datastore record differs from the stored one (checksum, path, size, ...). */
  | 'recordConflict'
  /** A record for a dataset the provenance does not list as an actual output. */
  | 'recordNotActualOutput'
  /** The same quantum id is stored (or given twice) with different content. */
  | 'quantumConflict'
  /** The provenance lists an actual output the quantum did not predict. */
  | 'notPredictedOutput'
  /** The provenance lists an available or actual input the quantum did not predict. */
  | 'notPredictedInput'
  /** The provenance's predicted ids or task name do not match the quantum. */
  | 'provenanceMismatch'
  /** A quantum input ref disagrees with the registered dataset of that id. */
  | 'inputRefMismatch'
  /** Another quantum already claims this dataset as an actual output. */
  | 'multipleProducers';

export interface CollectConflict {
  datasetId?: string;
  quantumId?: string;
  reason: ConflictReason;
  details: unknown;
}

export interface CollectReport {
  dryRun: boolean;
  /** True when the batch was written (not a dry run, no conflicts). */
  committed: boolean;
  quanta: { stored: number; alreadyPresent: number };
  datasets: {
    inserted: number;
    alreadyPresent: number;
    /** Actual outputs per (dataset type, run), counting inserted and already present ones. */
    byGroup: Array<{ datasetType: string; run: string; count: number }>;
  };
  records: { inserted: number; alreadyPresent: number };
  conflicts: CollectConflict[];
  /** Conflicts found beyond `maxConflicts` and not listed. */
  conflictsOmitted: number;
  /** Seconds per phase: prepare, quanta, edges, datasets (with their records), checks, then commit / rollback / end (dry run). */
  timings: Record<string, number>;
}

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

// ------------------------------------------------------------------ sinks: where rows go

/** The row operations collect-and-transfer needs; one implementation writes, one only looks. */
interface Sink {
  ensureRun(name: string): void;
  ensureDatasetType(dt: DatasetType): [RowOutcome, DatasetType | undefined];
  datasetType(name: string): DatasetType | undefined;
  insertDataset(id: string, datasetType: string, run: string, key: string, dataIdJson: string): RowOutcome;
  datasetKey(id: string): DatasetKeyRow | undefined;
  datasetIdByKey(datasetType: string, run: string, key: string): string | undefined;
  otherProducer(datasetId: string, quantumId: string): string | undefined;
  insertQuantum(row: QuantumRow): [RowOutcome, QuantumRow | undefined];
  insertInputEdge(
    quantumId: string,
    datasetId: string,
    datasetType: string,
    run: string,
    dataIdJson: string,
    initInput: boolean,
    available: boolean,
    actual: boolean,
  ): void;
  insertOutputEdge(quantumId: string, datasetId: string, actual: boolean): void;
  insertRecord(datasetId: string, datastoreName: string, cols: RecordColumns): [RowOutcome, RecordColumns | undefined];
}

class WriteSink implements Sink {
  constructor(private readonly r: Registry) {}
  ensureRun(name: string): void {
    this.r._ensureRun(name);
  }
  ensureDatasetType(dt: DatasetType): [RowOutcome, DatasetType | undefined] {
    return this.r._ensureDatasetType(dt);
  }
  datasetType(name: string): DatasetType | undefined {
    return this.r.getDatasetType(name);
  }
  insertDataset(id: string, datasetType: string, run: string, key: string, dataIdJson: string): RowOutcome {
    return this.r._insertDatasetRow(id, datasetType, run, key, dataIdJson);
  }
  datasetKey(id: string): DatasetKeyRow | undefined {
    return this.r._datasetKey(id);
  }
  datasetIdByKey(datasetType: string, run: string, key: string): string | undefined {
    return this.r._datasetIdByKey(datasetType, run, key);
  }
  otherProducer(datasetId: string, quantumId: string): string | undefined {
    return this.r._otherProducer(datasetId, quantumId);
  }
  insertQuantum(row: QuantumRow): [RowOutcome, QuantumRow | undefined] {
    return this.r._insertQuantumRow(row);
  }
  insertInputEdge(q: string, d: string, t: string, run: string, dataIdJson: string, init: boolean, available: boolean, actual: boolean): void {
    this.r._insertInputEdge(q, d, t, run, dataIdJson, init, true, available, actual);
  }
  insertOutputEdge(q: string, d: string, actual: boolean): void {
    this.r._insertOutputEdge(q, d, true, actual);
  }
  insertRecord(datasetId: string, datastoreName: string, cols: RecordColumns): [RowOutcome, RecordColumns | undefined] {
    return this.r._insertRecordRow(datasetId, datastoreName, cols);
  }
}

/** Looks rows up in the registry and keeps what the batch would add in memory. */
class DrySink implements Sink {
  private readonly types = new Map<string, DatasetType>();
  private readonly datasets = new Map<string, DatasetKeyRow>();
  private readonly keys = new Map<string, string>();
  private readonly producers = new Map<string, string>();
  private readonly quanta = new Map<string, QuantumRow>();
  private readonly records = new Map<string, RecordColumns>();
  constructor(private readonly r: Registry) {}
  ensureRun(): void {}
  ensureDatasetType(dt: DatasetType): [RowOutcome, DatasetType | undefined] {
    const existing = this.datasetType(dt.name);
    if (existing) return datasetTypeEquals(existing, dt) ? ['present', existing] : ['conflict', existing];
    this.types.set(dt.name, dt);
    return INSERTED;
  }
  datasetType(name: string): DatasetType | undefined {
    return this.types.get(name) ?? this.r.getDatasetType(name);
  }
  insertDataset(id: string, datasetType: string, run: string, key: string): RowOutcome {
    const row = this.datasetKey(id);
    if (row) return row.dataset_type === datasetType && row.run === run && row.data_id_key === key ? 'present' : 'conflict';
    if (this.datasetIdByKey(datasetType, run, key) !== undefined) return 'conflict';
    this.datasets.set(id, { dataset_type: datasetType, run, data_id_key: key });
    this.keys.set(`${datasetType}\0${run}\0${key}`, id);
    return 'inserted';
  }
  datasetKey(id: string): DatasetKeyRow | undefined {
    return this.datasets.get(id) ?? this.r._datasetKey(id);
  }
  datasetIdByKey(datasetType: string, run: string, key: string): string | undefined {
    return this.keys.get(`${datasetType}\0${run}\0${key}`) ?? this.r._datasetIdByKey(datasetType, run, key);
  }
  otherProducer(datasetId: string, quantumId: string): string | undefined {
    const mine = this.producers.get(datasetId);
    if (mine !== undefined && mine !== quantumId) return mine;
    return this.r._otherProducer(datasetId, quantumId);
  }
  insertQuantum(row: QuantumRow): [RowOutcome, QuantumRow | undefined] {
    const existing = this.quanta.get(row.id) ?? this.r._quantumRow(row.id);
    if (existing) return [quantumDifferences(existing, row).length === 0 ? 'present' : 'conflict', existing];
    this.quanta.set(row.id, row);
    return INSERTED;
  }
  insertInputEdge(): void {}
  insertOutputEdge(q: string, d: string, actual: boolean): void {
    if (actual && !this.producers.has(d)) this.producers.set(d, q);
  }
  insertRecord(datasetId: string, datastoreName: string, cols: RecordColumns): [RowOutcome, RecordColumns | undefined] {
    const k = `${datasetId}\0${datastoreName}\0${cols.component}`;
    const existing = this.records.get(k) ?? this.r._recordColumns(datasetId, datastoreName, cols.component);
    if (existing) return [recordDifferences(existing, cols).length === 0 ? 'present' : 'conflict', existing];
    this.records.set(k, cols);
    return INSERTED;
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

/** One quantum of the batch, with the edges it would write (written only if the quantum is new). */
interface QuantumPlan {
  item: number;
  /** `provenance` is serialised when the row is written, so the batch never holds every document's text at once. */
  row: Omit<QuantumRow, 'provenance'>;
  inputs: InputPlan[];
  outputs: Array<{ id: string; actual: boolean }>;
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
 * computed when the row is written, so a large batch holds few long-lived objects.
 */
interface DatasetPlan {
  quantumId: string;
  id: string;
  ref: DatasetRef;
  dt: DatasetType;
  records: Array<[datastoreName: string, table: string, row: Record<string, unknown>]> | null;
}

/** Rows one batch would write, gathered in item order and written sorted by key. */
interface Plan {
  quanta: QuantumPlan[];
  datasets: DatasetPlan[];
  /** Number of edge rows (for progress). */
  edges: number;
  records: number;
}

function setDiff(a: readonly string[], b: ReadonlySet<string>): string[] {
  return a.filter((x) => !b.has(x)).sort();
}

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Share of the work the preparation pass stands for, in progress reports. */
const PREPARE_SHARE = 0.3;

/**
 * Transfer the actual outputs, datastore records, quanta and edges of executed quanta into
 * `registry`, all or nothing. See the module documentation for the rules. Invalid input
 * (malformed documents or records) throws InvalidArgument / InvalidDatasetRef and writes
 * nothing; conflicts do not throw but are listed in the report, with nothing written.
 *
 * Two passes inside one transaction: the first reads every item and gathers the rows (no
 * table lookups), the second writes them table by table in key order (stable, so "first
 * writer" still means the earlier item), which turns random b-tree inserts into mostly
 * sequential ones. Progress `done` counts item-equivalents of work across both passes.
 */
export function collectAndTransfer(registry: Registry, items: readonly CollectItem[], opts: CollectOptions = {}): CollectReport {
  const dryRun = opts.dryRun ?? false;
  const maxConflicts = Math.max(0, opts.maxConflicts ?? 1000);
  const report: CollectReport = {
    dryRun,
    committed: false,
    quanta: { stored: 0, alreadyPresent: 0 },
    datasets: { inserted: 0, alreadyPresent: 0, byGroup: [] },
    records: { inserted: 0, alreadyPresent: 0 },
    conflicts: [],
    conflictsOmitted: 0,
    timings: {},
  };
  let clock = performance.now();
  const lap = (phase: string): void => {
    const now = performance.now();
    report.timings[phase] = Math.round(now - clock) / 1000;
    clock = now;
  };
  let conflictCount = 0;
  const conflict = (c: CollectConflict): void => {
    conflictCount++;
    if (report.conflicts.length < maxConflicts) report.conflicts.push(c);
    else report.conflictsOmitted++;
  };

  // Progress in item-equivalents: the first pass covers PREPARE_SHARE of `total`, the second the rest.
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

  const run = (sink: Sink): void => {
    opts.checkCancelled?.();
    const plan = prepare(sink, items, conflict, (i) => progressAt(PREPARE_SHARE * i));
    lap('prepare');
    const rows = plan.quanta.length + plan.edges + plan.datasets.length + plan.records + plan.edges;
    let written = 0;
    let nextReport = 0;
    const rowStep = Math.max(1, Math.floor(rows / 400));
    const advance = (n: number): void => {
      written += n;
      if (written >= nextReport && rows > 0) {
        nextReport = written + rowStep;
        progressAt(total * (PREPARE_SHARE + (1 - PREPARE_SHARE) * (written / rows)));
      }
    };

    // 1. Quanta in id order: the first item with a given id decides. Their large documents
    //    are written apart from the small-row tables, which keeps those tables' pages together.
    const stored: QuantumPlan[] = [];
    for (const qp of plan.quanta.sort((a, b) => byId(a.row, b.row))) {
      const it = items[qp.item]!;
      const r = qp.row;
      const row: QuantumRow = {
        id: r.id,
        task_name: r.task_name,
        data_id: r.data_id,
        host: r.host,
        started_at: r.started_at,
        ended_at: r.ended_at,
        format: r.format,
        provenance: it.provenanceText ?? JSON.stringify(it.provenance),
      };
      const [outcome, existing] = sink.insertQuantum(row);
      if (outcome === 'inserted') {
        report.quanta.stored++;
        stored.push(qp);
      } else if (outcome === 'present') report.quanta.alreadyPresent++;
      else {
        conflict({
          quantumId: row.id,
          reason: 'quantumConflict',
          details: { message: `Quantum ${row.id} is already stored with different content.`, fields: quantumDifferences(existing!, row) },
        });
      }
      advance(1);
    }
    lap('quanta');

    // 2. Edges of the new quanta, in (quantum id, dataset id) order; a stored quantum already has its edges.
    for (const qp of stored) {
      const q = qp.row.id;
      for (const e of qp.inputs.sort(byId)) sink.insertInputEdge(q, e.id, e.ref.datasetType.name, e.ref.run, JSON.stringify(e.ref.dataId), e.init, e.available, e.actual);
      for (const e of qp.outputs.sort(byId)) sink.insertOutputEdge(q, e.id, e.actual);
      advance(qp.inputs.length + qp.outputs.length);
    }
    lap('edges');

    // 3. Datasets (actual outputs) in id order, each followed by its records: a stable sort
    //    keeps batch order among equal ids, so the first writer is the earliest item.
    const present: Array<{ id: string; quantumId: string }> = [];
    const groups = new Map<string, Map<string, { datasetType: string; run: string; count: number }>>();
    for (const d of plan.datasets.sort(byId)) {
      const datasetType = d.dt.name;
      const run = d.ref.run;
      const key = requiredDataIdKey(d.dt, d.ref.dataId);
      const outcome = sink.insertDataset(d.id, datasetType, run, key, JSON.stringify(d.ref.dataId));
      advance(1 + (d.records?.length ?? 0));
      if (outcome === 'conflict') {
        conflict({ datasetId: d.id, quantumId: d.quantumId, ...datasetConflict(sink, d.id, datasetType, run, key) });
        continue;
      }
      if (outcome === 'inserted') report.datasets.inserted++;
      else {
        report.datasets.alreadyPresent++;
        present.push({ id: d.id, quantumId: d.quantumId });
      }
      let byRun = groups.get(datasetType);
      if (!byRun) groups.set(datasetType, (byRun = new Map()));
      const g = byRun.get(run);
      if (g) g.count++;
      else byRun.set(run, { datasetType, run, count: 1 });
      if (d.records === null) continue;
      for (const [datastoreName, table, raw] of d.records) {
        const cols = recordColumns(raw, table, () => `${datastoreName}/${d.id}.${table}`);
        const [rOutcome, existing] = sink.insertRecord(d.id, datastoreName, cols);
        if (rOutcome === 'inserted') report.records.inserted++;
        else if (rOutcome === 'present') report.records.alreadyPresent++;
        else conflict({ datasetId: d.id, quantumId: d.quantumId, reason: 'recordConflict', details: recordConflict(d.id, datastoreName, existing!, cols) });
      }
    }
    report.datasets.byGroup = [...groups.values()]
      .flatMap((m) => [...m.values()])
      .sort((a, b) => (a.datasetType !== b.datasetType ? (a.datasetType < b.datasetType ? -1 : 1) : a.run < b.run ? -1 : a.run > b.run ? 1 : 0));
    lap('datasets');

    // 4. A dataset that was already there may not be claimed by a second quantum.
    for (const { id, quantumId } of present) {
      const other = sink.otherProducer(id, quantumId);
      if (other !== undefined) {
        conflict({ datasetId: id, quantumId, reason: 'multipleProducers', details: { message: `Dataset ${id} is already an actual output of quantum ${other}.`, otherQuantumId: other } });
      }
    }

    // 5. Inputs must agree with what the registry (or this batch) says about the same ids.
    //    Each distinct id is looked up once; batch outputs need no lookup at all.
    type Known = { datasetType: string; run: string; key: string | null; dt: DatasetType | undefined; ref: DatasetRef | null } | null;
    const known = new Map<string, Known>();
    for (const d of plan.datasets) if (!known.has(d.id)) known.set(d.id, { datasetType: d.dt.name, run: d.ref.run, key: null, dt: d.dt, ref: d.ref });
    const keyOf = (dt: DatasetType | undefined, dataId: DataId): string | null => {
      if (!dt) return null;
      try {
        return requiredDataIdKey(dt, dataId);
      } catch {
        return null;
      }
    };
    for (const qp of plan.quanta) {
      for (const e of qp.inputs) {
        const ref = e.ref;
        let k = known.get(e.id);
        if (k === undefined) {
          const row = sink.datasetKey(e.id);
          k = row ? { datasetType: row.dataset_type, run: row.run, key: row.data_id_key, dt: sink.datasetType(row.dataset_type), ref: null } : null;
          known.set(e.id, k);
        }
        if (k === null || k.ref === ref) continue;
        if (k.key === null && k.ref) k.key = keyOf(k.dt, k.ref.dataId);
        const key = k.datasetType === ref.datasetType.name ? keyOf(k.dt, ref.dataId) : null;
        if (k.datasetType !== ref.datasetType.name || k.run !== ref.run || key !== k.key) {
          conflict({
            datasetId: e.id,
            quantumId: qp.row.id,
            reason: 'inputRefMismatch',
            details: {
              registered: { datasetType: k.datasetType, run: k.run, dataId: k.key },
              quantum: { datasetType: ref.datasetType.name, run: ref.run, dataId: ref.dataId },
            },
          });
        }
      }
      advance(qp.inputs.length);
    }
    lap('checks');
    progressAt(total);
  };

  if (dryRun) {
    registry.readTransaction(() => run(new DrySink(registry)));
  } else {
    try {
      registry.bulkTransaction(() => {
        run(new WriteSink(registry));
        if (conflictCount > 0) throw new Rollback();
      });
      report.committed = true;
    } catch (err) {
      if (!(err instanceof Rollback)) throw err;
    }
  }
  lap(dryRun ? 'end' : report.committed ? 'commit' : 'rollback');
  return report;
}

/**
 * First pass: read each item, check that its provenance describes its quantum, resolve
 * dataset types and runs (the only writes here), and gather the rows to write.
 */
function prepare(
  sink: Sink,
  items: readonly CollectItem[],
  conflict: (c: CollectConflict) => void,
  progress: (done: number) => void,
): Plan {
  const plan: Plan = { quanta: [], datasets: [], edges: 0, records: 0 };
  const types = new Map<string, TypeState>();
  const runs = new Set<string>();
  const typeFor = (q: Quantum, ref: DatasetRef, quantumId: string): DatasetType | null => {
    const name = ref.datasetType.name;
    const def = q.datasetTypes.get(name) ?? ref.datasetType;
    let st = types.get(name);
    if (!st) {
      const [outcome, existing] = sink.ensureDatasetType(def);
      st = { dt: outcome === 'conflict' ? null : outcome === 'present' ? existing! : def, seen: new WeakSet([def]) };
      types.set(name, st);
      if (outcome === 'conflict') {
        conflict({ quantumId, reason: 'datasetTypeConflict', details: { datasetType: name, registered: serializeDatasetType(existing!), given: serializeDatasetType(def) } });
      }
      return st.dt;
    }
    if (st.dt === null) return null;
    if (!st.seen.has(def)) {
      if (!datasetTypeEquals(st.dt, def)) {
        conflict({ quantumId, reason: 'datasetTypeConflict', details: { datasetType: name, registered: serializeDatasetType(st.dt), given: serializeDatasetType(def) } });
        return null;
      }
      st.seen.add(def);
    }
    return st.dt;
  };

  for (let index = 0; index < items.length; index++) {
    const item = items[index]!;
    const q = item.quantum;
    const prov = normalizeProvenance(item.provenance, index);
    const quantumId = item.quantumId ?? prov.quantumId ?? deriveQuantumId(q);

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

    // The quantum row and its edges.
    const dataId = q.dataId ?? prov.dataId;
    const inputs: InputPlan[] = [];
    for (const [id, { ref, init }] of inRefs) inputs.push({ id, ref, init, available: prov.availableInputs.has(id), actual: prov.actualInputs.has(id) });
    const outputs: QuantumPlan['outputs'] = [];
    for (const id of outRefs.keys()) outputs.push({ id, actual: prov.actualOutputs.has(id) });
    plan.quanta.push({
      item: index,
      row: {
        id: quantumId,
        task_name: q.taskName || prov.taskName || null,
        data_id: dataId ? JSON.stringify(dataId) : null,
        host: prov.host,
        started_at: prov.startedAt,
        ended_at: prov.endedAt,
        format: prov.format,
      },
      inputs,
      outputs,
    });
    plan.edges += inputs.length + outputs.length;

    // Actual outputs become datasets (of registered types, in registered runs).
    const mine = new Map<string, DatasetPlan>();
    for (const id of prov.actualOutputs) {
      const ref = outRefs.get(id);
      if (!ref) continue;
      const dt = typeFor(q, ref, quantumId);
      if (dt === null) continue;
      if (!runs.has(ref.run)) {
        sink.ensureRun(ref.run);
        runs.add(ref.run);
      }
      const d: DatasetPlan = { quantumId, id, ref, dt, records: null };
      plan.datasets.push(d);
      mine.set(id, d);
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
      plan.records++;
    });

    progress(index + 1);
  }
  return plan;
}

function datasetConflict(sink: Sink, id: string, datasetType: string, run: string, key: string): { reason: ConflictReason; details: unknown } {
  const row = sink.datasetKey(id);
  if (row) {
    return {
      reason: 'datasetIdConflict',
      details: {
        message: `Dataset ${id} is already registered with another dataset type, run or data ID.`,
        existing: { datasetType: row.dataset_type, run: row.run, dataId: row.data_id_key },
        given: { datasetType, run, dataId: key },
      },
    };
  }
  return {
    reason: 'dataIdConflict',
    details: {
      message: `A dataset of type '${datasetType}' with data ID {${key}} already exists in run '${run}' under another id.`,
      existingId: sink.datasetIdByKey(datasetType, run, key) ?? null,
      datasetType,
      run,
      dataId: key,
    },
  };
}
