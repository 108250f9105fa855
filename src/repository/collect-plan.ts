/**
 * The reading side of collect-and-transfer, as named steps: check each item's provenance
 * against its quantum, hand the quantum row and its edges to the writer, plan the actual
 * outputs (their dataset types and runs) and their records, then send the outputs sorted
 * by id, checking the inputs against what the registry says about them (in slices between
 * the output batches while the writer is behind).
 *
 * Items are read in quantum id order (stable: equal ids keep item order, so the first item
 * still decides), which lets the quanta and their edges be written by appending to their
 * primary keys while the rest is still being read; the outputs follow sorted by id, each
 * with its records, for the same reason. The writer is the backend's (bulk-batches.ts);
 * reads go through PlanningReads, synchronously for SQLite, awaited for PostgreSQL.
 *
 * One file of ~560 lines because the steps share one pass over the items and its state
 * (the sorted items, the planned outputs); split, each piece would take all of it as arguments.
 */
import type { DataId } from '../model/data-coordinate.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import { datasetTypeEquals, sameDimensions, serializeDatasetType, splitComponent, type DatasetType } from '../model/dataset-type.js';
import { isPlainObject } from '../model/json-value.js';
import type { Quantum } from '../model/quantum.js';
import type { StorageClassRegistry } from '../model/storage-class.js';
import type { DafButlerProvenance, NativeProvenance } from '../../protocol/provenance.js';
import {
  DATASET_STRIDE,
  EDGE_ACTUAL,
  EDGE_AVAILABLE,
  EDGE_INIT,
  INPUT_STRIDE,
  OUTPUT_STRIDE,
  QUANTUM_STRIDE,
  RECORD_STRIDE,
  type BatchChannel,
  type DatasetsBatch,
  type PlanningReads,
  type QuantaBatch,
  type WriterBatch,
} from './bulk-batches.js';
import type { CollectConflict, ConflictList } from './collect-report.js';
import { COLUMNS_AT, optString, pushRecordRow, readProvenance, readProvenanceText, recordWhere, unpackProvenance, type ReadProvenance, type RecordEntry } from './provenance-documents.js';
import type { ReadTexts } from './provenance-parsers.js';
import { checkPathInsideDatastore } from './record-columns.js';
import { INSERTED, requiredDataIdKey, slices, type DatasetKeyRow, type RowOutcome } from './registry-rows.js';
import { awaited, untilTurn, type Steps } from './steps.js';

/** One executed quantum and its provenance document, as an object or as its JSON text (or both). */
export type CollectItem = CollectItemBase &
  (
    | {
        provenance: NativeProvenance | DafButlerProvenance;
        /**
         * The document's JSON text, when the caller has it as well: stored verbatim instead of
         * serialising `provenance` again. It must encode `provenance`.
         */
        provenanceText?: string;
      }
    | {
        provenance?: undefined;
        /**
         * The document's JSON text only (e.g. as read from a file): read off the caller's thread
         * for large batches (provenance-parsers.ts) and stored verbatim.
         */
        provenanceText: string;
      }
  );

interface CollectItemBase {
  quantum: Quantum;
  /** Overrides the native document's quantum id (and the derived id for daf_butler documents). */
  quantumId?: string;
}

/** What the reading side needs from its caller. */
export interface ReaderContext {
  items: readonly CollectItem[];
  /** Documents already read, by item index (those given as text only); the others are read here. */
  read?: ReadTexts;
  /** Conflicts found while reading (listed first) and by the input checks (listed last). */
  early: ConflictList;
  late: ConflictList;
  progressAt: (done: number) => void;
  lap: (phase: string) => void;
  checkCancelled: (() => void) | undefined;
  /** The id a quantum is stored under when the item and its document name none. */
  deriveQuantumId: (quantum: Quantum) => string;
  /** Records of this datastore must point inside it (the repository's own datastore). */
  ownDatastore: string | undefined;
  /** The repository's storage classes: which connection classes convert to a registered type's (see typeConflict). */
  storageClasses: StorageClassRegistry;
}

/** Quanta (with their edges) per batch handed to the writer. */
const QUANTA_PER_BATCH = 256;
/** Datasets (with their records) per batch. */
const DATASETS_PER_BATCH = 1024;
/**
 * Rows the writer must have still to apply for a slice of the input checks to run between
 * two dataset batches (about two batches): a writer that keeps up gets its next batch at once.
 */
const CHECKS_BACKLOG_ROWS = 2 * 2 * DATASETS_PER_BATCH;
/** Fewest quanta whose inputs are checked between two pauses. */
const CHECKS_MIN_SLICE = 64;
/** Share of the work the reading pass stands for, in progress reports. */
export const PREPARE_SHARE = 0.3;

/**
 * Resolves dataset types and runs against the committed registry (reads only) and keeps
 * the ones the batch adds, in the order first seen, for `ensure` batches.
 */
export class Planner {
  readonly newRuns: string[] = [];
  readonly newTypes: DatasetType[] = [];
  private readonly runsSeen = new Set<string>();
  private readonly types = new Map<string, DatasetType>();

  constructor(readonly reads: PlanningReads) {}

  /** True when `name` was ensured already (a plain call: ensureRun's generator costs an object per output). */
  hasRun(name: string): boolean {
    return this.runsSeen.has(name);
  }

  *ensureRun(name: string): Steps<void> {
    if (this.runsSeen.has(name)) return;
    this.runsSeen.add(name);
    if (!(yield* awaited(this.reads.hasRun(name)))) this.newRuns.push(name);
  }

  *ensureDatasetType(dt: DatasetType): Steps<[RowOutcome, DatasetType | undefined]> {
    const existing = yield* this.datasetType(dt.name);
    if (existing) return datasetTypeEquals(existing, dt) ? ['present', existing] : ['conflict', existing];
    this.types.set(dt.name, dt);
    this.newTypes.push(dt);
    return INSERTED;
  }

  *datasetType(name: string): Steps<DatasetType | undefined> {
    const known = this.types.get(name);
    if (known) return known;
    const found = yield* awaited(this.reads.datasetType(name));
    if (found) this.types.set(name, found);
    return found;
  }
}

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
 * computed when its row is handed to the writer, so a large batch holds few long-lived objects
 * (made while planning instead, the key and JSON slowed the reading pass by more than they saved).
 */
export interface DatasetPlan {
  /** Index of the item, so that among equal ids the earliest item writes first. */
  item: number;
  quantumId: string;
  id: string;
  ref: DatasetRef;
  dt: DatasetType;
  records: RecordEntry[] | null;
}

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * `a` sorted in place by insertion (stable): a quantum's few edges. Array.prototype.sort
 * allocates its working state on every call, a sixth of what this thread allocated when each
 * of 100,000 quanta sorted its inputs and outputs with it.
 */
export function sortSmall<T>(a: T[], cmp: (x: T, y: T) => number): T[] {
  if (a.length > 32) return a.sort(cmp);
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && cmp(a[j]!, x) > 0) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
  return a;
}

const byIdThenItem = (a: DatasetPlan, b: DatasetPlan): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.item - b.item);

/** Bits of an id's leading hex digits that pick its bucket in sortById. */
const BUCKET_BITS = 12;

/** The value of a hex digit's character code (ids are normalised: lowercase). */
const hexValue = (c: number): number => (c <= 57 ? c - 48 : c - 87);

/**
 * `plans` sorted by id, then item: bucketed by the id's first three hex digits (ids are spread
 * evenly over them), then each bucket sorted. Ids are normalised lowercase UUIDs, whose text
 * order is the order of their leading digits, so the buckets come in order; about a third of
 * the comparisons of one sort of 400,000, and the reading side waits for this before the
 * first dataset is written.
 */
export function sortById(plans: DatasetPlan[]): DatasetPlan[] {
  if (plans.length < 1 << BUCKET_BITS) return plans.sort(byIdThenItem);
  const buckets: DatasetPlan[][] = Array.from({ length: 1 << BUCKET_BITS }, () => []);
  for (const d of plans) {
    const id = d.id;
    buckets[(hexValue(id.charCodeAt(0)) << 8) | (hexValue(id.charCodeAt(1)) << 4) | hexValue(id.charCodeAt(2))]!.push(d);
  }
  let n = 0;
  for (const b of buckets) {
    if (b.length > 1) b.sort(byIdThenItem);
    for (const d of b) plans[n++] = d;
  }
  return plans;
}

/**
 * True when `ids` lists exactly the keys of `refs`, each once or more: as comparing their sets,
 * without making one (the common case of every quantum, which it would cost two sets).
 */
export function sameIds(ids: readonly string[], refs: ReadonlyMap<string, unknown>): boolean {
  if (ids.length > 32) {
    const set = new Set(ids);
    if (set.size !== refs.size) return false;
    for (const id of set) if (!refs.has(id)) return false;
    return true;
  }
  let distinct = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!refs.has(id)) return false;
    if (ids.indexOf(id) === i) distinct++;
  }
  return distinct === refs.size;
}

function setDiff(a: readonly string[], b: ReadonlySet<string>): string[] {
  return a.filter((x) => !b.has(x)).sort();
}

export class CollectReader {
  private readonly types = new Map<string, TypeState>();
  /** Repeated values of the records held (see lean). */
  private readonly strings = new Map<string, string>();
  private readonly datasets: DatasetPlan[] = [];
  /**
   * The quanta's inputs, for the input checks (held until the end of the reading pass: flat,
   * few objects): quantum q's are `inputIds`/`inputRefs` from `inputEnds[q - 1]` to `inputEnds[q]`.
   */
  private readonly inputQuanta: string[] = [];
  private readonly inputEnds: number[] = [];
  private readonly inputIds: string[] = [];
  private readonly inputRefs: DatasetRef[] = [];
  /** Rows handed to the writer (quanta, edges, datasets, records): the progress measure. */
  private rows = 0;
  /** Rows in the batches sent so far: with the writer's rowsApplied, how far behind it is. */
  private rowsSent = 0;
  private quanta: QuantaBatch = { kind: 'quanta', quanta: [], inputs: [], outputs: [] };
  private runsSent = 0;
  private typesSent = 0;

  constructor(
    private readonly planner: Planner,
    private readonly channel: BatchChannel,
    private readonly ctx: ReaderContext,
  ) {}

  /** All the steps; true when the reading side found no conflicts of its own. */
  *run(): Steps<boolean> {
    yield* this.readItems();
    yield* this.sendDatasets();
    return this.ctx.early.count + this.ctx.late.count === 0;
  }

  /** 1. Read the items in quantum id order; hand each quantum over with its edges; plan its outputs. */
  private *readItems(): Steps<void> {
    const order = this.quantumOrder();
    for (let n = 0; n < order.length; n++) {
      const { index, id: quantumId } = order[n]!;
      const item = this.ctx.items[index]!;
      const prov = this.document(index);
      const { outRefs, inRefs } = this.checkItem(quantumId, item.quantum, prov);
      this.handOverQuantum(quantumId, item, prov, outRefs, inRefs);
      const mine = yield* this.planOutputs(index, quantumId, item.quantum, prov, outRefs);
      this.planRecords(quantumId, prov, mine);
      this.ctx.progressAt(PREPARE_SHARE * (n + 1));
      if (this.quanta.quanta.length >= QUANTA_PER_BATCH * QUANTUM_STRIDE) {
        yield* this.flushQuanta();
        yield* this.pause();
      }
    }
    yield* this.flushQuanta();
    this.ctx.lap('prepare');
    this.ctx.checkCancelled?.();
  }

  /**
   * The items' indices with their quantum ids (given, from the document, or derived), sorted
   * by id; equal ids keep item order. Reads only the document's `quantum.id`, not the rest.
   */
  private quantumOrder(): Array<{ index: number; id: string }> {
    const items = this.ctx.items;
    const out = new Array<{ index: number; id: string }>(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const read = this.ctx.read?.quantumIds[i];
      const doc = item.provenance as unknown;
      // As normalizeProvenance reads it: only a native document names its quantum.
      const docQuantum = read !== undefined
        ? read
        : isPlainObject(doc) && 'actualOutputs' in doc && isPlainObject(doc['quantum'])
          ? optString(doc['quantum']['id'])
          : null;
      out[i] = { index: i, id: item.quantumId ?? docQuantum ?? this.ctx.deriveQuantumId(item.quantum) };
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.index - b.index));
  }

  /** Item `index`'s document, read already (text given alone) or read now. */
  private document(index: number): ReadProvenance {
    const read = this.ctx.read?.docs[index];
    if (typeof read === 'string') return unpackProvenance(read, this.ctx.read!.quantumIds[index] ?? null);
    if (read) return read;
    const item = this.ctx.items[index]!;
    return item.provenance !== undefined ? readProvenance(item.provenance, index) : readProvenanceText(item.provenanceText, index);
  }

  private conflict(c: CollectConflict): void {
    this.ctx.early.add(c);
  }

  /** The provenance must describe this quantum: the same predicted ids and task; actual ids among the predicted. */
  private checkItem(quantumId: string, q: Quantum, prov: ReadProvenance) {
    const outRefs = new Map<string, DatasetRef>();
    for (const r of q.outputs) if (!outRefs.has(r.id)) outRefs.set(r.id, r);
    const inRefs = new Map<string, { ref: DatasetRef; init: boolean }>();
    for (const r of q.initInputs) if (!inRefs.has(r.id)) inRefs.set(r.id, { ref: r, init: true });
    for (const r of q.inputs) if (!inRefs.has(r.id)) inRefs.set(r.id, { ref: r, init: false });
    if (!sameIds(prov.predictedOutputs, outRefs) || !sameIds(prov.predictedInputs, inRefs)) this.predictedMismatch(quantumId, prov, outRefs, inRefs);
    if (prov.taskName !== null && q.taskName && prov.taskName !== q.taskName) {
      this.conflict({ quantumId, reason: 'provenanceMismatch', details: { message: 'Task names differ.', quantum: q.taskName, provenance: prov.taskName } });
    }
    for (const id of prov.actualOutputs) {
      if (!outRefs.has(id)) {
        this.conflict({ datasetId: id, quantumId, reason: 'notPredictedOutput', details: { message: `Dataset ${id} was written but is not a predicted output of the quantum.` } });
      }
    }
    for (const id of prov.availableInputs) if (!inRefs.has(id)) this.notPredictedInput(quantumId, id);
    for (const id of prov.actualInputs) if (!inRefs.has(id) && !prov.availableInputs.has(id)) this.notPredictedInput(quantumId, id);
    return { outRefs, inRefs };
  }

  private notPredictedInput(quantumId: string, id: string): void {
    this.conflict({
      datasetId: id,
      quantumId,
      reason: 'notPredictedInput',
      details: { message: `Dataset ${id} is listed as an available or used input but is not a predicted input of the quantum.` },
    });
  }

  /** The conflict of a provenance whose predicted ids are not its quantum's, with the differences. */
  private predictedMismatch(quantumId: string, prov: ReadProvenance, outRefs: ReadonlyMap<string, unknown>, inRefs: ReadonlyMap<string, unknown>): void {
    const predOut = new Set(prov.predictedOutputs);
    const predIn = new Set(prov.predictedInputs);
    if (
      predOut.size !== outRefs.size ||
      predIn.size !== inRefs.size ||
      prov.predictedOutputs.some((id) => !outRefs.has(id)) ||
      prov.predictedInputs.some((id) => !inRefs.has(id))
    ) {
      this.conflict({
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
  }

  /** The quantum row and its edges (sorted by dataset id), into the current quanta batch. */
  private handOverQuantum(
    quantumId: string,
    item: CollectItem,
    prov: ReadProvenance,
    outRefs: ReadonlyMap<string, DatasetRef>,
    inRefs: ReadonlyMap<string, { ref: DatasetRef; init: boolean }>,
  ): void {
    const q = item.quantum;
    const inputs: InputPlan[] = [];
    for (const [id, { ref, init }] of inRefs) inputs.push({ id, ref, init, available: prov.availableInputs.has(id), actual: prov.actualInputs.has(id) });
    sortSmall(inputs, byId);
    const outIds = sortSmall([...outRefs.keys()], byText);
    const dataId = q.dataId ?? prov.dataId;
    const b = this.quanta;
    b.quanta.push(
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
      b.inputs.push(e.id, splitComponent(e.ref.datasetType.name).parent, e.ref.run, JSON.stringify(e.ref.dataId), (e.init ? EDGE_INIT : 0) | (e.available ? EDGE_AVAILABLE : 0) | (e.actual ? EDGE_ACTUAL : 0));
    }
    for (const id of outIds) b.outputs.push(id, prov.actualOutputs.has(id) ? 1 : 0);
    this.rows += 1 + inputs.length + outIds.length;
    this.inputQuanta.push(quantumId);
    for (const e of inputs) {
      this.inputIds.push(e.id);
      this.inputRefs.push(e.ref);
    }
    this.inputEnds.push(this.inputIds.length);
  }

  /** Actual outputs become datasets (of registered types, in registered runs). */
  private *planOutputs(index: number, quantumId: string, q: Quantum, prov: ReadProvenance, outRefs: ReadonlyMap<string, DatasetRef>): Steps<Map<string, DatasetPlan>> {
    const mine = new Map<string, DatasetPlan>();
    for (const id of prov.actualOutputs) {
      const ref = outRefs.get(id);
      if (!ref) continue;
      // Known types and runs without a generator: one each per output was a tenth of what this thread allocated.
      let dt = this.knownType(q, ref);
      if (dt === undefined) dt = yield* this.typeFor(q, ref, quantumId);
      if (dt === null) continue;
      if (!this.planner.hasRun(ref.run)) yield* this.planner.ensureRun(ref.run);
      // The quantum's own id string (equal to the document's): the one the parse made dies young.
      const d: DatasetPlan = { item: index, quantumId, id: ref.id, ref, dt, records: null };
      this.datasets.push(d);
      mine.set(id, d);
      this.rows++;
    }
    return mine;
  }

  /**
   * The registered definition of an output's dataset type (registering it if new), or null on
   * a conflict. Types match by name, as daf_butler's import does: a quantum's definition that
   * differs only by a storage class converting to or from the registered one (a connection's
   * class, as pipe_base adapts refs) is the registered type.
   */
  private *typeFor(q: Quantum, ref: DatasetRef, quantumId: string): Steps<DatasetType | null> {
    const name = ref.datasetType.name;
    const def = q.datasetTypes.get(name) ?? ref.datasetType;
    let st = this.types.get(name);
    if (!st) {
      const [outcome, existing] = yield* this.planner.ensureDatasetType(def);
      const details = outcome === 'conflict' ? this.typeConflict(existing!, def) : null;
      st = { dt: details !== null ? null : outcome === 'inserted' ? def : existing!, seen: new WeakSet([def]) };
      this.types.set(name, st);
      if (details !== null) this.conflict({ quantumId, reason: 'datasetTypeConflict', details });
      return st.dt;
    }
    if (st.dt === null) return null;
    if (!st.seen.has(def)) {
      const details = this.typeConflict(st.dt, def);
      if (details !== null) {
        this.conflict({ quantumId, reason: 'datasetTypeConflict', details });
        return null;
      }
      st.seen.add(def);
    }
    return st.dt;
  }

  /** typeFor's answer when it needs no read and finds nothing new (the type seen, this definition checked), else undefined. */
  private knownType(q: Quantum, ref: DatasetRef): DatasetType | null | undefined {
    const name = ref.datasetType.name;
    const st = this.types.get(name);
    if (st === undefined) return undefined;
    if (st.dt === null) return null;
    return st.seen.has(q.datasetTypes.get(name) ?? ref.datasetType) ? st.dt : undefined;
  }

  /** A quantum's definition against the registered one: null when it may be used (the same, or only a convertible storage class). */
  private typeConflict(registered: DatasetType, given: DatasetType): Record<string, unknown> | null {
    if (datasetTypeEquals(registered, given)) return null;
    const fields: string[] = [];
    if (registered.storageClass !== given.storageClass) fields.push('storageClass');
    if (!sameDimensions(registered, given)) fields.push('dimensions');
    if (registered.parentStorageClass !== given.parentStorageClass) fields.push('parentStorageClass');
    if (registered.isCalibration !== given.isCalibration) fields.push('isCalibration');
    const sc = this.ctx.storageClasses;
    const a = registered.storageClass;
    const b = given.storageClass;
    const convertible = sc.has(a) && sc.has(b) && (sc.canConvert(b, a) || sc.canConvert(a, b));
    if (fields.length === 1 && fields[0] === 'storageClass' && convertible) return null;
    const why =
      fields.includes('storageClass') && !convertible
        ? `storage class ${b} (quantum) cannot be converted to or from ${a} (registry)` +
          (!sc.has(b) || !sc.has(a) ? ` (${[a, b].filter((n) => !sc.has(n)).join(', ')} unknown to the repository)` : '')
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
  }

  /** The actual outputs' datastore records (a record for anything else is a conflict). */
  private planRecords(quantumId: string, prov: ReadProvenance, mine: ReadonlyMap<string, DatasetPlan>): void {
    for (const entry of prov.records) {
      const [datastoreName, id, table, row, rowIndex] = entry;
      if (!prov.actualOutputs.has(id)) {
        this.conflict({
          datasetId: id,
          quantumId,
          reason: 'recordNotActualOutput',
          details: { message: `The provenance carries a record for ${id}, which it does not list as an actual output.`, datastoreName },
        });
        continue;
      }
      const d = mine.get(id);
      if (!d) continue;
      // Columns read on a parser thread have the row's path (a string).
      const path = row !== null ? row['path'] : entry[COLUMNS_AT];
      if (datastoreName === this.ctx.ownDatastore && typeof path === 'string') checkPathInsideDatastore(path, () => recordWhere(datastoreName, id, table, rowIndex));
      const held = row !== null ? entry : this.lean(entry, d.id);
      // A literal holds one entry in one slot; pushed onto [], it would get a backing store of 17.
      if (d.records === null) d.records = [held];
      else d.records.push(held);
      this.rows++;
    }
  }

  /**
   * A record read on a parser thread, as held until its dataset is written: its repeated
   * values (datastore, table, formatter, storage class, component) and its id shared with
   * the ones held already, so that the strings the document's parse made die young.
   */
  private lean(e: Extract<RecordEntry, { 3: null }>, id: string): RecordEntry {
    return [this.shared(e[0]), id, this.shared(e[2]), null, e[4], e[5], this.shared(e[6]), this.shared(e[7]), this.shared(e[8]), e[9], e[10], e[11]];
  }

  /** The string held already equal to `v` (a method, not a closure per record: the CLI's bundle names each closure it makes). */
  private shared(v: string): string {
    const known = this.strings.get(v);
    if (known !== undefined) return known;
    this.strings.set(v, v);
    return v;
  }

  /**
   * 2. Actual outputs in id order, each with its records; among equal ids the earliest item
   * writes first. The input checks (step 3) need only the plan and the committed registry,
   * so while the writer is behind (batches queued), a slice of them runs after each batch
   * is handed over instead of waiting for it; what is left runs once the last batch has gone.
   */
  private *sendDatasets(): Steps<void> {
    // Writing progress from here on: the rows the writer has still to apply when reading ended.
    const base = this.channel.rowsApplied();
    const remaining = Math.max(1, this.rows - base);
    const total = this.ctx.items.length;
    const tick = (): void =>
      this.ctx.progressAt(total * (PREPARE_SHARE + (1 - PREPARE_SHARE) * Math.min(1, (this.channel.rowsApplied() - base) / remaining)));
    this.channel.tick = tick;

    const datasets = sortById(this.datasets);
    const batches = Math.ceil(datasets.length / DATASETS_PER_BATCH);
    const checks = this.checkInputs(Math.max(CHECKS_MIN_SLICE, Math.ceil(this.inputQuanta.length / Math.max(1, batches))));
    let checked = false;
    let batch: DatasetsBatch = { kind: 'datasets', datasets: [], records: [] };
    for (let i = 0; i < datasets.length; i++) {
      const d = datasets[i]!;
      const recs = d.records ?? [];
      batch.datasets.push(d.id, d.quantumId, d.dt.name, d.ref.run, requiredDataIdKey(d.dt, d.ref.dataId), JSON.stringify(d.ref.dataId), recs.length);
      for (const entry of recs) pushRecordRow(batch.records, entry);
      if (batch.datasets.length >= DATASETS_PER_BATCH * DATASET_STRIDE || i === datasets.length - 1) {
        yield* this.send(batch);
        batch = { kind: 'datasets', datasets: [], records: [] };
        tick();
        if (!checked && this.rowsSent - this.channel.rowsApplied() >= CHECKS_BACKLOG_ROWS) checked = yield* untilTurn(checks);
        yield* this.pause();
      }
    }
    this.ctx.lap('datasets');
    while (!(yield* untilTurn(checks))) yield 'turn';
    this.channel.tick();
    this.ctx.lap('checks');
  }

  /**
   * 3. Inputs must agree with what the registry (or this batch) says about the same ids.
   * Each distinct id is looked up once; an input that is this batch's own output ref needs
   * no lookup. Ids that are not this batch's outputs read the same from the committed
   * registry as from the writer's transaction, so planning reads serve. Pauses after each
   * read and every `slice` quanta (see sendDatasets).
   */
  private *checkInputs(slice: number): Steps<void> {
    // This batch's outputs by id, the earliest item's for a repeated id (sorted by id, then item):
    // the plans themselves, not an object each (400,000 of them in a large collect).
    const own = new Map<string, DatasetPlan>();
    for (let i = this.datasets.length - 1; i >= 0; i--) own.set(this.datasets[i]!.id, this.datasets[i]!);
    type Registered = { datasetType: string; run: string; key: string | null; dt: DatasetType | undefined } | null;
    const registered = new Map<string, Registered>();
    const lookups = new Set<string>();
    for (const id of this.inputIds) if (!own.has(id)) lookups.add(id);
    const ids = [...lookups];
    // Distinct input ids, IDS_PER_QUERY a planning read (registry-rows.ts).
    for (const chunk of slices(ids)) {
      const rows: Map<string, DatasetKeyRow> = yield* awaited(this.planner.reads.datasetKeys(chunk));
      for (const id of chunk) {
        const row = rows.get(id);
        registered.set(id, row ? { datasetType: row.dataset_type, run: row.run, key: row.data_id_key, dt: yield* this.planner.datasetType(row.dataset_type) } : null);
      }
      yield* this.pause();
    }
    const keyOf = (dt: DatasetType | undefined, dataId: DataId): string | null => {
      if (!dt) return null;
      try {
        return requiredDataIdKey(dt, dataId);
      } catch {
        return null;
      }
    };
    for (let qi = 0; qi < this.inputQuanta.length; qi++) {
      const quantumId = this.inputQuanta[qi]!;
      if (qi % slice === slice - 1) yield* this.pause();
      for (let i = qi === 0 ? 0 : this.inputEnds[qi - 1]!; i < this.inputEnds[qi]!; i++) {
        const id = this.inputIds[i]!;
        const ref = this.inputRefs[i]!;
        const d = own.get(id);
        if (d !== undefined && d.ref === ref) continue;
        // What the registry says about the id, or this batch (its output's ref, kept once needed).
        let k = registered.get(id);
        if (k === undefined && d !== undefined) registered.set(id, (k = { datasetType: d.dt.name, run: d.ref.run, key: keyOf(d.dt, d.ref.dataId), dt: d.dt }));
        if (k === null || k === undefined) continue;
        // A component input names its parent's dataset.
        const typeName = splitComponent(ref.datasetType.name).parent;
        const key = k.datasetType === typeName ? keyOf(k.dt, ref.dataId) : null;
        if (k.datasetType !== typeName || k.run !== ref.run || key !== k.key) {
          this.ctx.late.add({
            datasetId: id,
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
  }

  private *flushQuanta(): Steps<void> {
    if (this.quanta.quanta.length === 0) return;
    const b = this.quanta;
    this.quanta = { kind: 'quanta', quanta: [], inputs: [], outputs: [] };
    yield* this.send(b);
  }

  /** Hand a batch over, preceded by the runs and dataset types it needs that the writer has not had yet. */
  private *send(b: WriterBatch): Steps<void> {
    const p = this.planner;
    if (p.newRuns.length > this.runsSent || p.newTypes.length > this.typesSent) {
      yield* awaited(
        this.channel.send({ kind: 'ensure', runs: p.newRuns.slice(this.runsSent), datasetTypes: p.newTypes.slice(this.typesSent).map(serializeDatasetType) }),
      );
      this.runsSent = p.newRuns.length;
      this.typesSent = p.newTypes.length;
    }
    yield* awaited(this.channel.send(b));
    if (b.kind === 'quanta') this.rowsSent += b.quanta.length / QUANTUM_STRIDE + b.inputs.length / INPUT_STRIDE + b.outputs.length / OUTPUT_STRIDE;
    else if (b.kind === 'datasets') this.rowsSent += b.datasets.length / DATASET_STRIDE + b.records.length / RECORD_STRIDE;
  }

  /** A pause for the event loop (when the driver takes it), then a chance to cancel. */
  private *pause(): Steps<void> {
    yield 'turn';
    this.ctx.checkCancelled?.();
  }
}
