/**
 * The provenance documents collect-and-transfer reads: native documents and daf_butler
 * QuantumProvenanceData, normalised to one shape (ids, records, quantum and execution
 * fields), and the records they carry, walked without building intermediate maps. Only
 * structure is checked here: the server validates the full schema.
 */
import { normalizeDatasetId, type DatasetId } from '../model/dataset-id.js';
import { LEGACY_STORED_FILE_INFO_CLASS, STORED_FILE_INFO_CLASS } from '../model/datastore-records.js';
import { InvalidArgument } from '../model/errors.js';
import { isPlainObject } from '../model/json-value.js';
import { recordColumns, type RecordColumns } from './record-columns.js';
import type { ProvenanceFormat } from './registry-rows.js';

export interface NormalizedProvenance {
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

export function optString(v: unknown): string | null {
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
export function forEachSerializedRecord(
  mapping: Record<string, unknown>,
  index: number,
  fn: (datastoreName: string, id: DatasetId, table: string, row: Record<string, unknown>, rowIndex: number) => void,
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
            if (!isPlainObject(row)) throw new InvalidArgument(`Datastore record ${recordWhere(name, id, table, i)} must be an object.`, { datasetId: id });
            fn(name, id, table, row, i);
          }
        }
      }
    }
  }
}

/** Where a record row is, in error messages: `datastore/id.table[i]`. */
export function recordWhere(datastoreName: string, id: DatasetId, table: string, rowIndex: number): string {
  return `${datastoreName}/${id}.${table}[${rowIndex}]`;
}

/**
 * One datastore record row of a document, as forEachSerializedRecord walks it; read on a parser
 * thread, a valid row comes as its columns already, flat (`row` null; a large collect holds
 * every record until its dataset is written: few objects each), an invalid one as itself
 * (recordColumns on the caller's thread then fails it where it would have).
 */
export type RecordEntry =
  | [datastoreName: string, id: DatasetId, table: string, row: Record<string, unknown>, rowIndex: number]
  | [datastoreName: string, id: DatasetId, table: string, row: null, rowIndex: number, ...ColumnValues];

/** A RecordColumns' values in declaration order, without the table name. */
export type ColumnValues = [path: string, formatter: string, storageClass: string, component: string, checksum: string | null, fileSize: number, extra: string | null];

/** Offset of the ColumnValues in a RecordEntry read on a parser thread. */
export const COLUMNS_AT = 5;

/** The columns of a record entry: computed on a parser thread, or validated now (throwing as recordColumns does). */
export function entryColumns(e: RecordEntry): RecordColumns {
  const table = e[2];
  if (e[3] !== null) return recordColumns(e[3], table, () => `${e[0]}/${e[1]}.${table}`);
  const [, , , , , path, formatter, storageClass, component, checksum, fileSize, extra] = e;
  return { tableName: table, path, formatter, storageClass, component, checksum, fileSize, extra };
}

/**
 * Append an entry's row for the writer to `out` (its flat records: datastore name, table, then the
 * columns). Columns read on a parser thread are copied as they are (no object made per record:
 * a large collect writes 400,000); others are validated now, throwing as recordColumns does.
 */
export function pushRecordRow(out: Array<string | number | null>, e: RecordEntry): void {
  if (e[3] === null) {
    out.push(e[0], e[2], e[5], e[6], e[7], e[8], e[9], e[10], e[11]);
    return;
  }
  const c = entryColumns(e);
  out.push(e[0], c.tableName, c.path, c.formatter, c.storageClass, c.component, c.checksum, c.fileSize, c.extra);
}

/** Validate the records of a document now (a parser thread), so that the caller's thread only copies their columns. */
function withColumns(e: RecordEntry): RecordEntry {
  if (e[3] === null) return e;
  let c: RecordColumns;
  try {
    c = recordColumns(e[3], e[2], () => recordWhere(e[0], e[1], e[2], e[4]));
  } catch {
    return e;
  }
  return [e[0], e[1], e[2], null, e[4], c.path, c.formatter, c.storageClass, c.component, c.checksum, c.fileSize, c.extra];
}

/**
 * A document as collect-and-transfer uses it: normalised, with its records walked (so their
 * structure checked) into one list. Plain data (sets, arrays, strings), so that a parser
 * thread can hand it over: the rest of the document (inputs, outputs, metrics) stays behind.
 */
export interface ReadProvenance extends Omit<NormalizedProvenance, 'records'> {
  records: RecordEntry[];
}

/** Normalise a document and walk its records (structure only, as normalizeProvenance). */
export function readProvenance(doc: unknown, index: number): ReadProvenance {
  const normalized = normalizeProvenance(doc, index);
  const records: RecordEntry[] = [];
  forEachSerializedRecord(normalized.records, index, (name, id, table, row, i) => records.push([name, id, table, row, i]));
  return { ...normalized, records };
}

/** readProvenance of a document's JSON text. */
export function readProvenanceText(text: string, index: number): ReadProvenance {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgument(`Provenance document ${index} is not JSON: ${(err as Error).message}`, { details: { index } });
  }
  return readProvenance(doc, index);
}

/**
 * A ReadProvenance as compact JSON text, to cross threads: a string is copied across at the
 * cost of a memory copy, and the receiver parses it only when it uses it (the objects it
 * makes die young), where receiving the objects themselves cost more than parsing the
 * whole document did. An id the document lists again (an available or used input among the
 * predicted inputs, an actual output or a record's dataset among the predicted outputs) is
 * packed as its index in the predicted list, and unpacked as that list's string: the
 * receiver's thread parses and holds each id once, not three times. The quantum id is
 * not packed (the receiver has it apart).
 */
export function packProvenance(p: ReadProvenance): string {
  const inputAt = indexOf(p.predictedInputs);
  const outputAt = indexOf(p.predictedOutputs);
  return JSON.stringify([
    p.format,
    p.taskName,
    p.dataId,
    p.host,
    p.startedAt,
    p.endedAt,
    p.predictedInputs,
    refsTo(p.availableInputs, inputAt),
    refsTo(p.actualInputs, inputAt),
    p.predictedOutputs,
    refsTo(p.actualOutputs, outputAt),
    p.records.map((e) => {
      const c = withColumns(e);
      const at = outputAt.get(c[1]);
      if (at === undefined) return c;
      const out = c.slice() as unknown[];
      out[1] = at;
      return out;
    }),
  ]);
}

/** Each id's first index in `ids`. */
function indexOf(ids: readonly string[]): Map<string, number> {
  const at = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) if (!at.has(ids[i]!)) at.set(ids[i]!, i);
  return at;
}

/** `ids` as indices in `at` where listed there, as themselves where not. */
function refsTo(ids: Iterable<string>, at: ReadonlyMap<string, number>): Array<number | string> {
  const out: Array<number | string> = [];
  for (const id of ids) out.push(at.get(id) ?? id);
  return out;
}

/** The ids packProvenance packed as indices into `listed` (or as themselves). */
function idsOf(refs: ReadonlyArray<number | string>, listed: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const r of refs) out.add(typeof r === 'number' ? listed[r]! : r);
  return out;
}

/** The ReadProvenance that packProvenance packed, with its quantum id (packed apart). */
export function unpackProvenance(text: string, quantumId: string | null): ReadProvenance {
  const [format, taskName, dataId, host, startedAt, endedAt, predictedInputs, availableInputs, actualInputs, predictedOutputs, actualOutputs, records] = JSON.parse(text) as [
    ReadProvenance['format'],
    string | null,
    ReadProvenance['dataId'],
    string | null,
    string | null,
    string | null,
    string[],
    Array<number | string>,
    Array<number | string>,
    string[],
    Array<number | string>,
    RecordEntry[],
  ];
  for (const e of records) {
    const id = e[1] as DatasetId | number;
    if (typeof id === 'number') e[1] = predictedOutputs[id]!;
  }
  return {
    format,
    quantumId,
    taskName,
    dataId,
    host,
    startedAt,
    endedAt,
    predictedInputs,
    availableInputs: idsOf(availableInputs, predictedInputs),
    actualInputs: idsOf(actualInputs, predictedInputs),
    predictedOutputs,
    actualOutputs: idsOf(actualOutputs, predictedOutputs),
    records,
  };
}
