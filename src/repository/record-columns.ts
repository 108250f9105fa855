/**
 * The one mapping between a datastore record row (daf_butler's StoredFileInfo fields plus
 * any further fields) and the registry's stored columns, used by both registry backends,
 * collect-and-transfer and the bulk writers: validate a row into columns, turn stored
 * columns back into a row, and compare two records.
 */
import { posix } from 'node:path';
import { canonicalFormatterName } from '../datastore/formatters.js';
import { NULL_STRING, type DatastoreRecordData, type RecordRow } from '../model/datastore-records.js';
import { InvalidArgument } from '../model/errors.js';
import { canonicalJson, setOwn } from '../model/json-value.js';
import type { DatasetId } from '../model/dataset-id.js';
import { checksumsDiffer } from '../util/checksum.js';

/** One datastore record as stored: the StoredFileInfo fields plus any further fields. */
export interface RecordColumns {
  tableName: string;
  path: string;
  formatter: string;
  storageClass: string;
  /** `__NULL_STRING__` for no component. */
  component: string;
  checksum: string | null;
  /** -1 when unknown. */
  fileSize: number;
  /** Canonical JSON of further fields, or null. */
  extra: string | null;
}

/** A stored record row as both backends read it back (column names of the records table). */
export interface RecordDbRow {
  dataset_id: string;
  datastore_name: string;
  table_name: string;
  path: string;
  formatter: string;
  storage_class: string;
  component: string;
  checksum: string | null;
  file_size: number;
  extra: string | null;
}

export interface RecordConflict {
  datasetId: DatasetId;
  datastoreName: string;
  component: string | null;
  /** The fields that differ (`checksum`, `path`, `file_size`, ...). */
  fields: string[];
  existing: RecordRow;
  given: RecordRow;
}

const RECORD_BASE_FIELDS = new Set(['formatter', 'path', 'storage_class', 'component', 'checksum', 'file_size']);

/**
 * Validate one datastore record row (values are strings, integers or null; never coerced)
 * and split it into stored columns. `formatter`, `path` and `storage_class` are required.
 */
export function recordColumns(row: Readonly<Record<string, unknown>>, tableName: string, whereArg: string | (() => string)): RecordColumns {
  // No closures made per call: a large collect validates 400,000 rows on its parser threads,
  // where the bundle's kept names made each closure a defineProperty as well.
  const component = row['component'];
  if (component !== undefined && component !== null && typeof component !== 'string') {
    throw new InvalidArgument(`Datastore record ${whereText(whereArg)}: component must be a string or null.`, { details: { row } });
  }
  const checksum = row['checksum'];
  if (checksum !== undefined && checksum !== null && typeof checksum !== 'string') {
    throw new InvalidArgument(`Datastore record ${whereText(whereArg)}: checksum must be a string or null.`, { details: { row } });
  }
  const size = row['file_size'];
  if (size !== undefined && size !== null && !(typeof size === 'number' && Number.isSafeInteger(size))) {
    throw new InvalidArgument(`Datastore record ${whereText(whereArg)}: file_size must be an integer or null.`, { details: { row } });
  }
  let extra: Record<string, unknown> | null = null;
  for (const k in row) {
    if (RECORD_BASE_FIELDS.has(k) || !Object.prototype.hasOwnProperty.call(row, k)) continue;
    const v = row[k];
    if (!(v === null || typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v)))) {
      throw new InvalidArgument(`Datastore record ${whereText(whereArg)}: value of '${k}' must be a string, an integer or null.`, { details: { row, field: k } });
    }
    (extra ??= {})[k] = v;
  }
  return {
    tableName,
    path: stringField(row, 'path', whereArg),
    formatter: stringField(row, 'formatter', whereArg),
    storageClass: stringField(row, 'storage_class', whereArg),
    component: component === undefined || component === null ? NULL_STRING : component,
    checksum: (checksum as string | null | undefined) ?? null,
    fileSize: (size as number | null | undefined) ?? -1,
    extra: extra === null ? null : canonicalJson(extra),
  };
}

function whereText(where: string | (() => string)): string {
  return typeof where === 'string' ? where : where();
}

/** A required string field of a record row. */
function stringField(row: Readonly<Record<string, unknown>>, field: string, where: string | (() => string)): string {
  const v = row[field];
  if (typeof v !== 'string') throw new InvalidArgument(`Datastore record ${whereText(where)}: field '${field}' must be a string.`, { details: { row, field } });
  return v;
}

/**
 * Refuse a record path that does not name a file inside the datastore root: absolute
 * paths, URIs, `..` that climbs out, backslashes and NUL. (A record pointing elsewhere
 * would make its dataset unreadable and orphan its artifact.)
 */
export function checkPathInsideDatastore(path: string, where: string | (() => string)): void {
  const w = (): string => (typeof where === 'string' ? where : where());
  const normalized = posix.normalize(path);
  if (
    path.length === 0 ||
    path.includes('\0') ||
    path.includes('\\') ||
    /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path) ||
    posix.isAbsolute(path) ||
    normalized === '..' ||
    normalized.startsWith('../') ||
    normalized === '.'
  ) {
    throw new InvalidArgument(`Datastore record ${w()}: path ${JSON.stringify(path)} does not point inside the datastore.`, {
      details: { path, reason: 'pathOutsideDatastore' },
    });
  }
}

/** The record row (daf_butler form: component sentinel, file_size -1 when unknown) of stored columns. */
export function recordRowOf(c: RecordColumns): RecordRow {
  const row: RecordRow = {
    formatter: c.formatter,
    path: c.path,
    storage_class: c.storageClass,
    component: c.component,
    checksum: c.checksum,
    file_size: c.fileSize,
  };
  if (c.extra !== null) Object.assign(row, JSON.parse(c.extra) as RecordRow);
  return row;
}

/** Stored columns of a row read back from either backend. */
export function columnsOfDbRow(r: RecordDbRow): RecordColumns {
  return {
    tableName: r.table_name,
    path: r.path,
    formatter: r.formatter,
    storageClass: r.storage_class,
    component: r.component,
    checksum: r.checksum,
    fileSize: Number(r.file_size),
    extra: r.extra,
  };
}

/**
 * Names of the fields that differ between two records (empty: the same record). A formatter's
 * legacy name equals its current one, and a SHA-256 checksum is not compared with a blake2b
 * one (our former records and daf_butler's may describe the same bytes), nor a checksum with
 * none (a repository's records carry none by default, as daf_butler's).
 */
export function recordDifferences(a: RecordColumns, b: RecordColumns): string[] {
  const out: string[] = [];
  if (checksumsDiffer(a.checksum, b.checksum)) out.push('checksum');
  if (a.path !== b.path) out.push('path');
  if (a.fileSize !== b.fileSize) out.push('file_size');
  if (canonicalFormatterName(a.formatter) !== canonicalFormatterName(b.formatter)) out.push('formatter');
  if (a.storageClass !== b.storageClass) out.push('storage_class');
  if (a.tableName !== b.tableName) out.push('table');
  if (a.extra !== b.extra) out.push('extra');
  return out;
}

export function recordConflict(datasetId: string, datastoreName: string, existing: RecordColumns, given: RecordColumns): RecordConflict {
  return {
    datasetId,
    datastoreName,
    component: given.component === NULL_STRING ? null : given.component,
    fields: recordDifferences(existing, given),
    existing: recordRowOf(existing),
    given: recordRowOf(given),
  };
}

/** Stored rows (any order within a dataset is kept) as DatastoreRecordData. */
export function groupRecords(rows: readonly RecordDbRow[]): DatastoreRecordData {
  const out: DatastoreRecordData = new Map();
  for (const r of rows) {
    let tables = out.get(r.dataset_id);
    if (!tables) out.set(r.dataset_id, (tables = new Map()));
    const list = tables.get(r.table_name);
    const row = recordRowOf(columnsOfDbRow(r));
    if (list) list.push(row);
    else tables.set(r.table_name, [row]);
  }
  return out;
}

/** Stored rows of several datastores as {datastoreName: data}, names sorted. */
export function groupRecordsByDatastore(rows: readonly RecordDbRow[]): Record<string, DatastoreRecordData> {
  const byStore = new Map<string, RecordDbRow[]>();
  for (const r of rows) {
    const l = byStore.get(r.datastore_name);
    if (l) l.push(r);
    else byStore.set(r.datastore_name, [r]);
  }
  const out: Record<string, DatastoreRecordData> = {};
  for (const name of [...byStore.keys()].sort()) setOwn(out, name, groupRecords(byStore.get(name)!));
  return out;
}
