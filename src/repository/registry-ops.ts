/**
 * The registry's row-level write operations, written once for both backends as step
 * generators (steps.ts) over `RowOps`: SQLite runs them synchronously inside one
 * transaction, PostgreSQL awaits each statement inside one. Each function is the whole
 * logic of one contract method; the backend only provides the transaction and the rows.
 */
import type { DatasetRef } from '../model/dataset-ref.js';
import { makeDatasetType, serializeDatasetType, type DatasetType } from '../model/dataset-type.js';
import { normalizeDatasetId } from '../model/dataset-id.js';
import { STORED_FILE_INFO_TABLE, type DatastoreRecordData } from '../model/datastore-records.js';
import { ConflictingDefinition, DatasetNotFound, RepositoryError, UnknownDatasetType } from '../model/errors.js';
import { recordColumns, recordConflict, recordRowOf, type RecordColumns } from './record-columns.js';
import type { ClaimOutcome, DatasetClaim, InsertDatasetsOptions, InsertRecordsResult, QuantumInsert } from './registry.js';
import {
  checkDatastoreName,
  checkRunName,
  describeDatasetConflict,
  quantumDifferences,
  quantumRowOf,
  requiredDataIdKey,
  sameDims,
  type DatasetKeyRow,
  type QuantumRow,
  type RowOutcome,
} from './registry-rows.js';
import { awaited, type Awaitable, type Steps } from './steps.js';

/** Row operations inside one transaction (synchronous for SQLite, promises for PostgreSQL). */
export interface RowOps {
  ensureRun(name: string): Awaitable<unknown>;
  hasRun(name: string): Awaitable<boolean>;
  datasetType(name: string): Awaitable<DatasetType | undefined>;
  /** Insert a dataset type if missing; 'conflict' (with the registered one) if it differs. */
  ensureDatasetType(dt: DatasetType): Awaitable<[RowOutcome, DatasetType | undefined]>;
  /** 'present': the id is there with the same type, run and key; 'conflict': it is not, or the key has another id. */
  insertDataset(id: string, datasetType: string, run: string, key: string, dataIdJson: string): Awaitable<RowOutcome>;
  datasetKey(id: string): Awaitable<DatasetKeyRow | undefined>;
  datasetIdByKey(datasetType: string, run: string, key: string): Awaitable<string | undefined>;
  /** First writer wins: 'present' if identical, 'conflict' (with the stored row) if not. */
  insertRecord(datasetId: string, datastoreName: string, cols: RecordColumns): Awaitable<[RowOutcome, RecordColumns | undefined]>;
  recordOf(datasetId: string, datastoreName: string, component: string): Awaitable<RecordColumns | undefined>;
  insertQuantum(row: QuantumRow): Awaitable<[RowOutcome, QuantumRow | undefined]>;
  insertInputEdge(quantumId: string, datasetId: string, datasetType: string | null, run: string | null, dataIdJson: string | null, flags: { init: boolean; predicted: boolean; available: boolean; actual: boolean }): Awaitable<void>;
  insertOutputEdge(quantumId: string, datasetId: string, predicted: boolean, actual: boolean): Awaitable<void>;
}

export function* registerDatasetTypeSteps(ops: RowOps, dt: DatasetType): Steps<boolean> {
  const checked = makeDatasetType(dt);
  const [outcome, existing] = yield* awaited(ops.ensureDatasetType(checked));
  if (outcome === 'conflict') {
    throw new ConflictingDefinition(`Dataset type '${dt.name}' is already registered with a different definition.`, {
      details: { existing: serializeDatasetType(existing!), given: serializeDatasetType(checked) },
    });
  }
  return outcome === 'inserted';
}

export function* insertDatasetsSteps(ops: RowOps, refs: readonly DatasetRef[], opts: InsertDatasetsOptions = {}): Steps<{ inserted: number; existing: number }> {
  let inserted = 0;
  let existing = 0;
  const conflicts: Array<{ datasetId: string; reason: string; details: unknown }> = [];
  for (const ref of refs) {
    const id = normalizeDatasetId(ref.id);
    checkRunName(ref.run);
    let dt = yield* awaited(ops.datasetType(ref.datasetType.name));
    if (!dt) {
      if (!opts.autoRegister) {
        throw new UnknownDatasetType(`Dataset type '${ref.datasetType.name}' is not registered.`, { datasetId: id, details: { datasetType: ref.datasetType.name } });
      }
      yield* registerDatasetTypeSteps(ops, ref.datasetType);
      dt = (yield* awaited(ops.datasetType(ref.datasetType.name)))!;
    } else if (!sameDims(dt.dimensions, ref.datasetType.dimensions)) {
      conflicts.push({
        datasetId: id,
        reason: 'datasetTypeConflict',
        details: { datasetType: dt.name, registeredDimensions: [...dt.dimensions], givenDimensions: [...ref.datasetType.dimensions] },
      });
      continue;
    }
    if (!(yield* awaited(ops.hasRun(ref.run)))) {
      if (!opts.autoRegister) throw new RepositoryError(`Run '${ref.run}' is not registered.`, { datasetId: id, details: { run: ref.run } });
      yield* awaited(ops.ensureRun(ref.run));
    }
    const key = requiredDataIdKey(dt, ref.dataId);
    const outcome = yield* awaited(ops.insertDataset(id, dt.name, ref.run, key, JSON.stringify(ref.dataId)));
    if (outcome === 'inserted') inserted++;
    else if (outcome === 'present') existing++;
    else {
      const found = yield* awaited(ops.datasetKey(id));
      const other = found ? undefined : yield* awaited(ops.datasetIdByKey(dt.name, ref.run, key));
      const c = describeDatasetConflict(found, () => other, id, dt.name, ref.run, key);
      if (c.reason === 'datasetIdConflict') c.details['dataIdMapping'] = ref.dataId;
      conflicts.push({ datasetId: id, ...c });
    }
  }
  if (conflicts.length > 0) {
    throw new ConflictingDefinition(`${conflicts.length} dataset${conflicts.length > 1 ? 's' : ''} conflict with the registry; nothing was inserted.`, {
      datasetId: conflicts[0]!.datasetId,
      details: { conflicts },
    });
  }
  return { inserted, existing };
}

export function* insertRecordsSteps(ops: RowOps, datastoreName: string, data: DatastoreRecordData): Steps<InsertRecordsResult> {
  checkDatastoreName(datastoreName);
  const result: InsertRecordsResult = { inserted: 0, alreadyPresent: 0, conflicts: [] };
  for (const [rawId, tables] of data) {
    const id = normalizeDatasetId(rawId);
    let checked = false;
    for (const [table, rows] of tables) {
      for (let i = 0; i < rows.length; i++) {
        if (!checked) {
          if (!(yield* awaited(ops.datasetKey(id)))) throw new DatasetNotFound(`Dataset ${id} is not registered; cannot add its datastore records.`, { datasetId: id });
          checked = true;
        }
        const cols = recordColumns(rows[i]!, table, `${id}.${table}[${i}]`);
        const [outcome, existing] = yield* awaited(ops.insertRecord(id, datastoreName, cols));
        if (outcome === 'inserted') result.inserted++;
        else if (outcome === 'present') result.alreadyPresent++;
        else result.conflicts.push(recordConflict(id, datastoreName, existing!, cols));
      }
    }
  }
  return result;
}

export function* insertQuantumSteps(ops: RowOps, q: QuantumInsert): Steps<{ inserted: boolean }> {
  const row = quantumRowOf(q);
  const [outcome, existing] = yield* awaited(ops.insertQuantum(row));
  if (outcome === 'conflict') {
    throw new ConflictingDefinition(`Quantum ${q.id} is already stored with different content.`, {
      details: { quantumId: q.id, fields: quantumDifferences(existing!, row) },
    });
  }
  if (outcome === 'inserted') {
    for (const e of q.inputs) {
      yield* awaited(
        ops.insertInputEdge(q.id, normalizeDatasetId(e.datasetId), e.datasetType ?? null, e.run ?? null, e.dataId ? JSON.stringify(e.dataId) : null, {
          init: e.initInput ?? false,
          predicted: e.predicted,
          available: e.available,
          actual: e.actual,
        }),
      );
    }
    for (const e of q.outputs) yield* awaited(ops.insertOutputEdge(q.id, normalizeDatasetId(e.datasetId), e.predicted, e.actual));
  }
  return { inserted: outcome === 'inserted' };
}

/**
 * A put's claim (see DatasetClaim): register the run if new, insert the dataset row
 * (another definition under its id or key: ConflictingDefinition), then either report the
 * record the datastore already holds for it, or insert the record and publish.
 */
export function* storeDatasetSteps(ops: RowOps, claim: DatasetClaim): Steps<ClaimOutcome> {
  const { ref, datastoreName } = claim;
  checkDatastoreName(datastoreName);
  checkRunName(ref.run);
  const dt = yield* awaited(ops.datasetType(ref.datasetType.name));
  if (!dt) throw new UnknownDatasetType(`Dataset type '${ref.datasetType.name}' is not registered.`, { datasetId: ref.id });
  yield* awaited(ops.ensureRun(ref.run));
  yield* insertDatasetsSteps(ops, [{ ...ref, datasetType: dt }]);
  const cols = recordColumns(claim.record, STORED_FILE_INFO_TABLE, `${ref.id}`);
  const existing = yield* awaited(ops.recordOf(ref.id, datastoreName, cols.component));
  if (existing) return { stored: false, existing: recordRowOf(existing) };
  const [outcome, stored] = yield* awaited(ops.insertRecord(ref.id, datastoreName, cols));
  // Another writer's record came first (PostgreSQL's read committed lets it in between): it stands.
  if (outcome !== 'inserted') return { stored: false, existing: recordRowOf(stored!) };
  yield* awaited(claim.publish());
  return { stored: true };
}

