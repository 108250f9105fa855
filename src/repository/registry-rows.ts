/**
 * Rows of the registry as both backends store them, and the pure rules over them: the
 * identifying key of a dataset, what makes two quanta the same, how a dataset conflict
 * is described. Nothing here touches a database.
 */
import type { DataId, DataIdValue } from '../model/data-coordinate.js';
import { DIMENSION_NAME_RE, coerceDataIdValue, dataIdKey } from '../model/data-coordinate.js';
import { normalizeDatasetId } from '../model/dataset-id.js';
import { runNameProblem } from '../model/dataset-ref.js';
import { compileGlob, type Glob } from '../model/glob.js';
import { makeDatasetType, type DatasetType } from '../model/dataset-type.js';
import type { DimensionUniverse } from '../model/dimensions/dimension-universe.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import { InvalidArgument, RepositoryError } from '../model/errors.js';
import { canonicalJson } from '../model/json-value.js';
import type { QuantumInsert, QuantumSummary } from './registry.js';

export type ProvenanceFormat = 'native' | 'daf_butler';

/** The identifying columns of a dataset row. */
export interface DatasetKeyRow {
  dataset_type: string;
  run: string;
  data_id_key: string;
}

export interface DatasetRow extends DatasetKeyRow {
  id: string;
  data_id: string;
}

export interface DatasetTypeRow {
  name: string;
  storage_class: string;
  dimensions: string;
  parent_storage_class: string | null;
  is_calibration: number | boolean;
}

export interface QuantumRow {
  id: string;
  task_name: string | null;
  data_id: string | null;
  host: string | null;
  started_at: string | null;
  ended_at: string | null;
  format: ProvenanceFormat;
  provenance: string;
}

/** A quanta row (its document left out) as a QuantumSummary. */
export function quantumSummaryOf(row: Omit<QuantumRow, 'provenance'>): QuantumSummary {
  return {
    id: row.id,
    taskName: row.task_name,
    dataId: row.data_id === null ? null : (JSON.parse(row.data_id) as DataId),
    host: row.host,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    format: row.format,
  };
}

/** Outcome of a row insert: the row was new, was there identically, or differs. */
export type RowOutcome = 'inserted' | 'present' | 'conflict';

/** The (shared, allocation-free) result of a row insert that wrote the row. */
export const INSERTED: [RowOutcome, undefined] = ['inserted', undefined];

/**
 * The canonical key of `dataId` over the dataset type's required dimensions (sorted by name,
 * as keys have always been stored; `dimensions` is in the universe's order), e.g.
 * `detector=1,instrument=Cam1`. Extra (implied) keys do not take part in uniqueness.
 * Throws InvalidArgument when a required dimension has no value.
 */
export function requiredDataIdKey(dt: DatasetType, dataId: DataId): string {
  const dims = dt.group.sortedRequired;
  let key = '';
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    const v = dataId[d];
    if (v === undefined) {
      throw new InvalidArgument(`No value in data ID (${dataIdKey(dataId)}) for required dimension '${d}' of dataset type '${dt.name}'.`, {
        details: { datasetType: dt.name, dataId, missing: d },
      });
    }
    key += (i === 0 ? '' : ',') + d + '=' + String(v);
  }
  return key;
}

/**
 * Why (id, dataset type, run, data ID key) could not be inserted: the id is registered as
 * something else (`found`), or the (type, run, data ID) belongs to another id.
 */
export function describeDatasetConflict(
  found: DatasetKeyRow | undefined,
  otherId: () => string | undefined,
  id: string,
  datasetType: string,
  run: string,
  key: string,
): { reason: 'datasetIdConflict' | 'dataIdConflict'; details: Record<string, unknown> } {
  if (found) {
    return {
      reason: 'datasetIdConflict',
      details: {
        message: `Dataset ${id} is already registered with another dataset type, run or data ID.`,
        existing: { datasetType: found.dataset_type, run: found.run, dataId: found.data_id_key },
        given: { datasetType, run, dataId: key },
      },
    };
  }
  return {
    reason: 'dataIdConflict',
    details: {
      message: `A dataset of type '${datasetType}' with data ID {${key}} already exists in run '${run}' under another id.`,
      existingId: otherId() ?? null,
      datasetType,
      run,
      dataId: key,
    },
  };
}

/**
 * Fields that differ between two quantum rows. Provenance documents are compared as
 * canonical JSON (object key order does not matter; array order does), so a document
 * re-serialised by another JSON library still matches.
 */
export function quantumDifferences(a: QuantumRow, b: QuantumRow): string[] {
  const out: string[] = [];
  if (a.task_name !== b.task_name) out.push('taskName');
  if (a.data_id !== b.data_id && !sameJson(a.data_id, b.data_id)) out.push('dataId');
  if (a.format !== b.format) out.push('format');
  if (a.provenance !== b.provenance && !sameJson(a.provenance, b.provenance)) out.push('provenance');
  return out;
}

function sameJson(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  try {
    return canonicalJson(JSON.parse(a)) === canonicalJson(JSON.parse(b));
  } catch {
    return false;
  }
}

export function checkRunName(name: unknown): asserts name is string {
  const bad = runNameProblem(name);
  if (bad) throw new InvalidArgument(`Invalid run ${(JSON.stringify(name) ?? String(name)).slice(0, 100)}: ${bad}.`, { details: { problem: bad } });
}

export function checkDatastoreName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgument('A datastore name must be a non-empty string.');
}

/** A stored dataset type, conformed in the registry's universe (stored implied dimensions fold into the group). */
export function datasetTypeOfRow(r: DatasetTypeRow, universe: DimensionUniverse): DatasetType {
  return makeDatasetType({
    universe,
    name: r.name,
    storageClass: r.storage_class,
    dimensions: JSON.parse(r.dimensions) as string[],
    parentStorageClass: r.parent_storage_class,
    isCalibration: r.is_calibration === 1 || r.is_calibration === true,
  });
}

/** The stored form of a dataset type's dimensions: a JSON array, sorted. */
export function dimensionsJson(dt: DatasetType): string {
  return JSON.stringify([...dt.dimensions].sort());
}

export function refOfRow(row: DatasetRow, dt: DatasetType | undefined): DatasetRef {
  if (!dt) throw new RepositoryError(`Dataset ${row.id} names dataset type '${row.dataset_type}', which is not registered.`, { datasetId: row.id });
  return Object.freeze({ id: row.id, datasetType: dt, dataId: Object.freeze(JSON.parse(row.data_id) as Record<string, DataIdValue>), run: row.run });
}

/** Two dimension lists name the same set. */
export function sameDims(a: readonly string[], b: readonly string[]): boolean {
  const sa = [...new Set(a)].sort();
  const sb = [...new Set(b)].sort();
  return sa.length === sb.length && sa.every((d, i) => d === sb[i]);
}

/** The quantum row of an insert (JSON columns serialised). */
export function quantumRowOf(q: Omit<QuantumInsert, 'inputs' | 'outputs'>): QuantumRow {
  if (typeof q.id !== 'string' || q.id.length === 0) throw new InvalidArgument('A quantum id must be a non-empty string.');
  if (q.format !== 'native' && q.format !== 'daf_butler') throw new InvalidArgument(`Unknown provenance format '${String(q.format)}'.`);
  return {
    id: q.id,
    task_name: q.taskName,
    data_id: q.dataId ? JSON.stringify(q.dataId) : null,
    host: q.host ?? null,
    started_at: q.startedAt ?? null,
    ended_at: q.endedAt ?? null,
    format: q.format,
    provenance: JSON.stringify(q.provenance),
  };
}

/** Distinct normalised dataset ids. */
export function distinctIds(ids: Iterable<string>): string[] {
  return [...new Set([...ids].map((i) => normalizeDatasetId(i)))];
}

/**
 * Ids per statement of a batch read. Both backends pass a batch as one parameter (a JSON
 * array to SQLite's json_each, an array to PostgreSQL's ANY), so no placeholder count limits
 * it; the bound keeps each statement's parameter text and result set of a size one round
 * trip handles well however many ids the caller brings.
 */
export const IDS_PER_QUERY = 10_000;

/** `list` in slices of at most `size` (none for an empty list). */
export function slices<T>(list: readonly T[], size = IDS_PER_QUERY): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Producer by dataset id from actual-output links: the least quantum id where two claim one (as lineage's sorted edges give it). */
export function producerByDataset(links: Iterable<{ q: string; d: string }>, into = new Map<string, string>()): Map<string, string> {
  for (const { q, d } of links) {
    const seen = into.get(d);
    if (seen === undefined || q < seen) into.set(d, q);
  }
  return into;
}

/**
 * A dataset type pattern of a query, compiled by the one glob module (model/glob.ts): its
 * `literal` is set when it names one type exactly. An empty or invalid pattern is InvalidArgument.
 */
export function datasetTypeMatcher(pattern: unknown): Glob {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw new InvalidArgument('datasetType must be a non-empty glob pattern.', { details: { datasetType: pattern } });
  }
  return compileGlob(pattern, 'dataset type pattern');
}

/**
 * Check a data ID query's keys and values (dimension names; integers or strings) and coerce
 * each value by its dimension's key type in `universe` ("3" is 3 for an int key; an integer
 * for a string key is DimensionValueError; an unknown dimension is DimensionNameError).
 * A backend matches an int value also against its decimal text: data IDs written before
 * values were coerced may hold it.
 */
export function checkDataIdQuery(dataId: Readonly<Record<string, unknown>>, universe: DimensionUniverse): Array<[string, DataIdValue]> {
  const out: Array<[string, DataIdValue]> = [];
  for (const [k, v] of Object.entries(dataId)) {
    if (!DIMENSION_NAME_RE.test(k)) throw new InvalidArgument(`Invalid dimension name '${k}' in data ID query.`, { details: { key: k } });
    if (!(typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v)))) {
      throw new InvalidArgument(`Invalid value for dimension '${k}' in data ID query; values must be integers or strings.`, { details: { key: k, value: v } });
    }
    out.push([k, coerceDataIdValue(universe.dimension(k), v)]);
  }
  return out;
}
