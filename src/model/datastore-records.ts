/**
 * Datastore records (daf_butler DatastoreRecordData): per dataset id, per opaque
 * table, a list of rows whose values are strings, integers or null — never coerced.
 */
import { InvalidArgument, InvalidDatasetRef } from './errors.js';
import { isPlainObject, setOwn } from './json-value.js';
import { datasetIdHex, normalizeDatasetId, type DatasetId } from './dataset-id.js';

export const STORED_FILE_INFO_CLASS = 'lsst.daf.butler.datastore.stored_file_info.StoredFileInfo';
export const LEGACY_STORED_FILE_INFO_CLASS = 'lsst.daf.butler.core.storedFileInfo.StoredFileInfo';
export const STORED_FILE_INFO_TABLE = 'file_datastore_records';
/** Stands for a null component (the column is part of a primary key). */
export const NULL_STRING = '__NULL_STRING__';

export type RecordValue = string | number | null;
export type RecordRow = Record<string, RecordValue>;

export interface StoredFileInfo {
  formatter: string;
  path: string;
  storage_class: string;
  component: string | null;
  checksum: string | null;
  /** -1 when unknown. */
  file_size: number;
}

/** datasetId → table name → rows. Ids are present even when they have no rows. */
export type DatastoreRecordData = Map<DatasetId, Map<string, RecordRow[]>>;

export interface SerializedDatastoreRecordData {
  dataset_ids: string[];
  records: Record<string, Record<string, Record<string, RecordRow[]>>>;
}

export function toRecordRow(info: StoredFileInfo): RecordRow {
  return {
    formatter: info.formatter,
    path: info.path,
    storage_class: info.storage_class,
    component: info.component ?? NULL_STRING,
    checksum: info.checksum,
    file_size: info.file_size,
  };
}

export function fromRecordRow(row: Readonly<Record<string, unknown>>): StoredFileInfo {
  const fail = (field: string): never => {
    throw new InvalidArgument(`Invalid StoredFileInfo record: field '${field}' is missing or has the wrong type.`, { details: { row, field } });
  };
  const str = (field: string): string => {
    const v = row[field];
    return typeof v === 'string' ? v : fail(field);
  };
  const component = row['component'];
  if (component !== null && component !== undefined && typeof component !== 'string') fail('component');
  const checksum = row['checksum'];
  if (checksum !== null && checksum !== undefined && typeof checksum !== 'string') fail('checksum');
  const size = row['file_size'];
  if (size !== null && size !== undefined && !(typeof size === 'number' && Number.isSafeInteger(size))) fail('file_size');
  return {
    formatter: str('formatter'),
    path: str('path'),
    storage_class: str('storage_class'),
    component: component === undefined || component === null || component === NULL_STRING ? null : (component as string),
    checksum: (checksum as string | null | undefined) ?? null,
    file_size: size === null || size === undefined ? -1 : (size as number),
  };
}

function parseRow(row: unknown, where: string): RecordRow {
  if (!isPlainObject(row)) {
    throw new InvalidArgument(`Datastore record at ${where} must be an object.`, { details: { row } });
  }
  const out: RecordRow = {};
  for (const [k, v] of Object.entries(row)) {
    if (v === null || typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v))) setOwn(out, k, v);
    else {
      throw new InvalidArgument(`Datastore record value ${where}.${k} must be a string, an integer or null, got ${JSON.stringify(v) ?? String(v)}.`, {
        details: { row, field: k },
      });
    }
  }
  return out;
}

function recordId(raw: string, where: string): DatasetId {
  try {
    return normalizeDatasetId(raw);
  } catch (e) {
    if (e instanceof InvalidDatasetRef) {
      throw new InvalidArgument(`Invalid dataset id '${raw}' in ${where} of SerializedDatastoreRecordData.`, { details: { id: raw } });
    }
    throw e;
  }
}

function sortedIds(ids: Iterable<DatasetId>): DatasetId[] {
  return [...ids].sort();
}

/** Parse SerializedDatastoreRecordData; ids may be dashed or hex anywhere. Output ids and tables are sorted. */
export function parseDatastoreRecordData(input: unknown): DatastoreRecordData {
  if (!isPlainObject(input)) {
    throw new InvalidArgument('SerializedDatastoreRecordData must be an object {dataset_ids, records}.', { details: { input } });
  }
  const rawIds = input['dataset_ids'] ?? [];
  if (!Array.isArray(rawIds)) throw new InvalidArgument('SerializedDatastoreRecordData.dataset_ids must be a list of dataset ids.', { details: { dataset_ids: rawIds } });
  const rawRecords = input['records'] ?? {};
  if (!isPlainObject(rawRecords)) throw new InvalidArgument('SerializedDatastoreRecordData.records must be an object.', { details: { records: rawRecords } });

  const tmp = new Map<DatasetId, Map<string, RecordRow[]>>();
  for (const raw of rawIds) {
    const id = recordId(raw as string, 'dataset_ids');
    if (!tmp.has(id)) tmp.set(id, new Map());
  }
  for (const [cls, perId] of Object.entries(rawRecords)) {
    if (cls !== STORED_FILE_INFO_CLASS && cls !== LEGACY_STORED_FILE_INFO_CLASS) {
      throw new InvalidArgument(`The class specified in the SerializedDatastoreRecordData (${cls}) is not a StoredDatastoreItemInfo.`, {
        details: { class: cls },
      });
    }
    if (!isPlainObject(perId)) throw new InvalidArgument(`SerializedDatastoreRecordData.records['${cls}'] must be an object.`, { details: { class: cls } });
    for (const [rawId, tables] of Object.entries(perId)) {
      const id = recordId(rawId, 'records');
      if (!isPlainObject(tables)) throw new InvalidArgument(`Records of dataset ${id} must be an object {table: [rows]}.`, { datasetId: id });
      let entry = tmp.get(id);
      if (!entry) tmp.set(id, (entry = new Map()));
      for (const [table, rows] of Object.entries(tables)) {
        if (!Array.isArray(rows)) throw new InvalidArgument(`Records of dataset ${id} in table '${table}' must be a list.`, { datasetId: id });
        const parsed = rows.map((r, i) => parseRow(r, `${rawId}.${table}[${i}]`));
        entry.set(table, [...(entry.get(table) ?? []), ...parsed]);
      }
    }
  }
  const out: DatastoreRecordData = new Map();
  for (const id of sortedIds(tmp.keys())) {
    const tables = tmp.get(id)!;
    out.set(id, new Map([...tables.keys()].sort().map((t) => [t, tables.get(t)!])));
  }
  return out;
}

/** SerializedDatastoreRecordData: sorted dashed dataset_ids, hex record keys, sorted tables; empty tables are left out. */
export function serializeDatastoreRecordData(data: DatastoreRecordData): SerializedDatastoreRecordData {
  const ids = sortedIds(data.keys());
  const perId: Record<string, Record<string, RecordRow[]>> = {};
  for (const id of ids) {
    const tables = data.get(id)!;
    const entry: Record<string, RecordRow[]> = {};
    for (const t of [...tables.keys()].sort()) {
      const rows = tables.get(t)!;
      if (rows.length > 0) setOwn(entry, t, rows.map((r) => ({ ...r })));
    }
    if (Object.keys(entry).length > 0) perId[datasetIdHex(id)] = entry;
  }
  return {
    dataset_ids: ids.map((id) => normalizeDatasetId(id)),
    records: Object.keys(perId).length > 0 ? { [STORED_FILE_INFO_CLASS]: perId } : {},
  };
}

export function emptyDatastoreRecordData(): DatastoreRecordData {
  return new Map();
}

/** Deep copy (rows copied). */
export function cloneDatastoreRecordData(data: DatastoreRecordData): DatastoreRecordData {
  const out: DatastoreRecordData = new Map();
  for (const [id, tables] of data) out.set(id, new Map([...tables].map(([t, rows]) => [t, rows.map((r) => ({ ...r }))])));
  return out;
}

/** Add rows for (id, table), appending to existing rows; the id entry is created if needed. */
export function addRecords(data: DatastoreRecordData, id: DatasetId, table: string, rows: readonly RecordRow[]): DatastoreRecordData {
  const nid = normalizeDatasetId(id);
  let tables = data.get(nid);
  if (!tables) data.set(nid, (tables = new Map()));
  tables.set(table, [...(tables.get(table) ?? []), ...rows.map((r) => ({ ...r }))]);
  return data;
}

/**
 * daf_butler `update`: for every (id, table) of `other`, copy its rows into `target` only if
 * `target` has no rows there yet (first writer wins). Ids of `other` are always added. Returns target.
 */
export function mergeDatastoreRecordData(target: DatastoreRecordData, other: DatastoreRecordData): DatastoreRecordData {
  for (const [id, tables] of other) {
    let mine = target.get(id);
    if (!mine) target.set(id, (mine = new Map()));
    for (const [table, rows] of tables) {
      const existing = mine.get(table);
      if (!existing || existing.length === 0) mine.set(table, rows.map((r) => ({ ...r })));
    }
  }
  return target;
}

/** Merge `{datastoreName: data}` mappings left to right (first writer wins) into a new mapping; inputs untouched. */
export function mergeRecordMappings(...maps: Record<string, DatastoreRecordData>[]): Record<string, DatastoreRecordData> {
  const out: Record<string, DatastoreRecordData> = {};
  for (const m of maps) {
    for (const [name, data] of Object.entries(m)) {
      const existing = out[name];
      setOwn(out, name, existing ? mergeDatastoreRecordData(existing, data) : cloneDatastoreRecordData(data));
    }
  }
  return out;
}

/** The entries for `ids` (copied); ids without an entry are skipped. */
export function subsetDatastoreRecordData(data: DatastoreRecordData, ids: Iterable<DatasetId>): DatastoreRecordData {
  const out: DatastoreRecordData = new Map();
  for (const raw of ids) {
    const id = normalizeDatasetId(raw);
    const tables = data.get(id);
    if (tables) out.set(id, new Map([...tables].map(([t, rows]) => [t, rows.map((r) => ({ ...r }))])));
  }
  return out;
}

/** Parse `{datastoreName: SerializedDatastoreRecordData}`; null/undefined → `{}`. */
export function parseRecordMapping(input: unknown): Record<string, DatastoreRecordData> {
  if (input === null || input === undefined) return {};
  if (!isPlainObject(input)) throw new InvalidArgument('Datastore records must be a mapping of datastore name to record data.', { details: { input } });
  const out: Record<string, DatastoreRecordData> = {};
  for (const name of Object.keys(input).sort()) setOwn(out, name, parseDatastoreRecordData(input[name]));
  return out;
}

export function serializeRecordMapping(mapping: Record<string, DatastoreRecordData>): Record<string, SerializedDatastoreRecordData> {
  const out: Record<string, SerializedDatastoreRecordData> = {};
  for (const name of Object.keys(mapping).sort()) setOwn(out, name, serializeDatastoreRecordData(mapping[name]!));
  return out;
}
