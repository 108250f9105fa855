/**
 * Data IDs (daf_butler DataCoordinate, without a dimension universe): a mapping
 * from dimension name to an integer or string value, keys kept sorted.
 */
import { InvalidArgument } from './errors.js';
import { isPlainObject, isWellFormedString, setOwn } from './json-value.js';

export type DataIdValue = string | number;
export type DataId = Readonly<Record<string, DataIdValue>>;

/** daf_butler's JSON form of a data coordinate. Dimension records are never produced here. */
export interface SerializedDataCoordinate {
  dataId: Record<string, DataIdValue>;
  records: Record<string, unknown> | null;
}

/** Dimension names are identifiers (as in daf_butler's dimension universe). */
export const DIMENSION_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function isSerializedForm(input: Record<string, unknown>): boolean {
  if (!('dataId' in input)) return false;
  const inner = input['dataId'];
  if (inner !== null && inner !== undefined && !isPlainObject(inner)) return false;
  return Object.keys(input).every((k) => k === 'dataId' || k === 'records');
}

/**
 * Parse a data ID given as a plain mapping (`{instrument: 'Cam1', detector: 1}`) or as a
 * SerializedDataCoordinate (`{dataId: {...}, records: ...}`; records are ignored).
 * `null`/`undefined` give the empty data ID. Values must be integers or strings.
 */
export function parseDataId(input: unknown): DataId {
  if (input === null || input === undefined) return makeDataId({});
  if (!isPlainObject(input)) {
    throw new InvalidArgument(`A data ID must be a mapping of dimension name to value, got ${describe(input)}.`, {
      details: { dataId: input },
    });
  }
  const mapping = isSerializedForm(input) ? (input['dataId'] as Record<string, unknown> | null | undefined) ?? {} : input;
  return makeDataId(mapping);
}

/** The hidden (non-enumerable, symbol-keyed) place of a parsed data ID's derived texts. */
const DERIVED = Symbol('dataId.derived');
type Derived = Partial<Record<'key' | 'query', string>>;

/** Build a (frozen, key-sorted) data ID from a mapping, validating names and values. */
export function makeDataId(mapping: Readonly<Record<string, unknown>>): DataId {
  const out: Record<string, DataIdValue> = {};
  for (const key of Object.keys(mapping).sort()) {
    const value = mapping[key];
    if (!DIMENSION_NAME_RE.test(key)) {
      throw new InvalidArgument(`Invalid dimension name '${key}' in data ID.`, { details: { dataId: mapping, key } });
    }
    if (typeof value === 'string') {
      if (!isWellFormedString(value)) {
        throw new InvalidArgument(`Invalid value for dimension '${key}' in data ID: not well-formed Unicode (a lone surrogate).`, { details: { key } });
      }
      setOwn(out, key, value);
    } else if (typeof value === 'number' && Number.isSafeInteger(value)) {
      setOwn(out, key, value);
    } else {
      throw new InvalidArgument(
        `Invalid value for dimension '${key}' in data ID: ${describe(value)}; values must be integers or strings.`,
        { details: { dataId: mapping, key, value } },
      );
    }
  }
  // Room for the derived texts (key, query), filled on first use: a frozen object takes no new properties.
  Object.defineProperty(out, DERIVED, { value: {} });
  return Object.freeze(out);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Equal keys and equal values (strictly: the integer 1 and the string "1" differ). */
export function dataIdEquals(a: DataId, b: DataId): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

/** The values of `dimensions` only (e.g. required dimensions); missing keys are left out. */
export function dataIdSubset(dataId: DataId, dimensions: readonly string[]): DataId {
  const out: Record<string, unknown> = {};
  for (const d of dimensions) if (Object.prototype.hasOwnProperty.call(dataId, d)) setOwn(out, d, dataId[d]);
  return makeDataId(out);
}

/** Dimensions among `required` that have no value in `dataId`. */
export function missingDimensions(dataId: DataId, required: readonly string[]): string[] {
  return required.filter((d) => !Object.prototype.hasOwnProperty.call(dataId, d));
}

/**
 * `fn(dataId)`, remembered on a parsed data ID (keys and URIs of a quantum's refs are asked
 * for on every read and write); computed each time for any other mapping.
 */
function derivedText(name: keyof Derived, fn: (dataId: DataId) => string): (dataId: DataId) => string {
  return (dataId) => {
    const derived = (dataId as { [DERIVED]?: Derived })[DERIVED];
    if (derived === undefined) return fn(dataId);
    return (derived[name] ??= fn(dataId));
  };
}

/** The data ID's dimension names in sorted order (parsed data IDs already hold them sorted). */
function sortedKeys(dataId: DataId): string[] {
  const keys = Object.keys(dataId);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return keys.sort();
  return keys;
}

/** Canonical text key, e.g. `detector=1,instrument=Cam1` (sorted by dimension name). */
export const dataIdKey = derivedText('key', (dataId) => joinPairs(dataId, ',', (text) => text));

const QUOTE_SAFE = /^[\w.~-]*$/;

/** Form-encode like Python's urllib.parse.quote_plus: safe = alphanumerics and `_.-~`, space → `+`. */
function quotePlus(text: string): string {
  if (QUOTE_SAFE.test(text)) return text;
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** URL query form, e.g. `detector=1&instrument=Cam1` (used in `mem://` URIs). */
export const dataIdQuery = derivedText('query', (dataId) => joinPairs(dataId, '&', quotePlus));

/** `name=value` pairs in dimension order, each part passed through `quote`. */
function joinPairs(dataId: DataId, separator: string, quote: (text: string) => string): string {
  let out = '';
  for (const k of sortedKeys(dataId)) out += `${out === '' ? '' : separator}${quote(k)}=${quote(String(dataId[k]))}`;
  return out;
}

/** Order data IDs by their canonical key (numbers compare numerically per dimension). */
export function compareDataIds(a: DataId, b: DataId): number {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    const va = a[k];
    const vb = b[k];
    if (va === vb) continue;
    if (va === undefined) return -1;
    if (vb === undefined) return 1;
    if (typeof va === 'number' && typeof vb === 'number') return va - vb;
    const sa = String(va);
    const sb = String(vb);
    if (sa !== sb) return sa < sb ? -1 : 1;
    return typeof va === 'number' ? -1 : 1;
  }
  return 0;
}

export function serializeDataCoordinate(dataId: DataId): SerializedDataCoordinate {
  return { dataId: { ...makeDataId(dataId) }, records: null };
}
