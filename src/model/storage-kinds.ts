/**
 * The JS shapes behind storage classes ("kinds"), how to recognise them, the
 * kind-level converters, and which read parameters each kind implements.
 *
 *   dict  → a plain JSON object          list  → a JSON array
 *   text  → a string                     bytes → a Uint8Array / Buffer
 *   table → {columns: {name: cell[]}}     json  → any JSON value
 *           (all columns equally long, cells JSON values)
 */
import { isPlainObject, jsonValueProblem, jsTypeName, setOwn } from './json-value.js';

export type StorageClassKind = 'dict' | 'list' | 'text' | 'bytes' | 'table' | 'json';
export const STORAGE_CLASS_KINDS: readonly StorageClassKind[] = ['dict', 'list', 'text', 'bytes', 'table', 'json'];

/** The columnar table value. */
export interface TableValue {
  columns: Record<string, unknown[]>;
}

/** Read parameters each kind knows how to apply (config classes may only declare these, see storage-class.ts). */
export const KIND_PARAMETERS: Readonly<Record<StorageClassKind, readonly string[]>> = {
  dict: [],
  list: ['slice'],
  text: ['slice'],
  bytes: ['start', 'end'],
  table: ['columns', 'rows'],
  json: [],
};

/** Kinds that can hold read/write components (looked up by key in the stored object). */
export const COMPONENT_KINDS: readonly StorageClassKind[] = ['dict', 'json'];

/** Why `value` is not a valid value of `kind`, or null when it is. */
export function kindProblem(value: unknown, kind: StorageClassKind): string | null {
  switch (kind) {
    case 'dict':
      if (!isPlainObject(value)) return `expected a JSON object, got ${jsTypeName(value)}`;
      return jsonValueProblem(value);
    case 'list':
      if (!Array.isArray(value)) return `expected a JSON array, got ${jsTypeName(value)}`;
      return jsonValueProblem(value);
    case 'text':
      return typeof value === 'string' ? null : `expected a string, got ${jsTypeName(value)}`;
    case 'bytes':
      return value instanceof Uint8Array ? null : `expected bytes (Uint8Array/Buffer), got ${jsTypeName(value)}`;
    case 'table':
      return tableProblem(value);
    case 'json':
      return jsonValueProblem(value);
  }
}

/** Why `value` is not a columnar table, or null. */
export function tableProblem(value: unknown): string | null {
  if (!isPlainObject(value)) return `expected a table {columns: {...}}, got ${jsTypeName(value)}`;
  const extra = Object.keys(value).filter((k) => k !== 'columns');
  if (extra.length > 0) return `a table has only a 'columns' field, got also ${extra.map((k) => `'${k}'`).join(', ')}`;
  const columns = value['columns'];
  if (!isPlainObject(columns)) return `table 'columns' must be an object of arrays, got ${jsTypeName(columns)}`;
  let length: number | undefined;
  let first = '';
  for (const [name, col] of Object.entries(columns)) {
    if (!Array.isArray(col)) return `table column '${name}' must be an array, got ${jsTypeName(col)}`;
    if (length === undefined) {
      length = col.length;
      first = name;
    } else if (col.length !== length) {
      return `table columns have unequal lengths: '${first}' has ${length} rows, '${name}' has ${col.length}`;
    }
    const p = jsonValueProblem(col, `columns.${name}`);
    if (p) return p;
  }
  return null;
}

export function tableColumnNames(table: TableValue): string[] {
  return Object.keys(table.columns);
}

export function tableRowCount(table: TableValue): number {
  const first = Object.values(table.columns)[0];
  return first ? first.length : 0;
}

/** Table → list of row objects (one key per column, in column order). */
export function tableToRows(table: TableValue): Record<string, unknown>[] {
  const names = tableColumnNames(table);
  const n = tableRowCount(table);
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    for (const name of names) setOwn(row, name, table.columns[name]![i]);
    rows.push(row);
  }
  return rows;
}

/**
 * List of row objects → table. Columns are the union of the row keys in first-seen
 * order; a row without a column gets null there. Non-object rows are an error.
 */
export function rowsToTable(rows: readonly unknown[]): ConversionResult {
  const names: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!isPlainObject(row)) return { ok: false, reason: `row ${i} is ${jsTypeName(row)}, not an object` };
    for (const k of Object.keys(row)) {
      if (!seen.has(k)) {
        seen.add(k);
        names.push(k);
      }
    }
  }
  const columns: Record<string, unknown[]> = {};
  for (const name of names) {
    setOwn(
      columns,
      name,
      rows.map((r) => {
        const row = r as Record<string, unknown>;
        return Object.prototype.hasOwnProperty.call(row, name) ? row[name] : null;
      }),
    );
  }
  return { ok: true, value: { columns } };
}

export type ConversionResult = { ok: true; value: unknown } | { ok: false; reason: string };

type KindConverter = (value: unknown) => ConversionResult;

const identity: KindConverter = (value) => ({ ok: true, value });

const KIND_CONVERTERS = new Map<string, KindConverter>([
  ['table->list', (v) => ({ ok: true, value: tableToRows(v as TableValue) })],
  ['list->table', (v) => rowsToTable(v as unknown[])],
  ['dict->json', identity],
  ['json->dict', (v) => (isPlainObject(v) ? { ok: true, value: v } : { ok: false, reason: `JSON value is ${jsTypeName(v)}, not an object` })],
  ['list->json', identity],
  ['json->list', (v) => (Array.isArray(v) ? { ok: true, value: v } : { ok: false, reason: `JSON value is ${jsTypeName(v)}, not an array` })],
  ['text->bytes', (v) => ({ ok: true, value: Buffer.from(v as string, 'utf8') })],
  [
    'bytes->text',
    (v) => {
      try {
        return { ok: true, value: new TextDecoder('utf-8', { fatal: true }).decode(v as Uint8Array) };
      } catch {
        return { ok: false, reason: 'bytes are not valid UTF-8' };
      }
    },
  ],
]);

/** Whether a value of kind `from` can be turned into kind `to` (same kind: always). */
export function hasKindConverter(from: StorageClassKind, to: StorageClassKind): boolean {
  return from === to || KIND_CONVERTERS.has(`${from}->${to}`);
}

/**
 * Convert a value of kind `from` (assumed valid for it) to kind `to`. The result may share
 * structure with the input (identity conversions); callers copy before handing values out.
 */
export function convertKind(value: unknown, from: StorageClassKind, to: StorageClassKind): ConversionResult {
  if (from === to) return { ok: true, value };
  const conv = KIND_CONVERTERS.get(`${from}->${to}`);
  if (!conv) return { ok: false, reason: `no converter from kind '${from}' to kind '${to}'` };
  return conv(value);
}
