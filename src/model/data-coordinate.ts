/**
 * Data IDs (daf_butler DataCoordinate): a mapping from dimension name to an integer or
 * string value, keys kept sorted. Parsed alone (`parseDataId`) a data ID is only checked
 * for its shape; against a dimension universe (`standardizeDataId`, `parseDataId(x,
 * universe)`) it is standardised as daf_butler standardises one: values coerced by their
 * dimension's key type, every required value present, implied values kept when all of
 * them are given (a "full" data ID), everything else left out.
 */
import { DimensionNameError, DimensionValueError, InvalidArgument } from './errors.js';
import { isPlainObject, isWellFormedString, setOwn } from './json-value.js';
import type { DimensionElement } from './dimensions/dimension-element.js';
import type { DimensionGroup } from './dimensions/dimension-group.js';
import type { DimensionUniverse } from './dimensions/dimension-universe.js';

export type DataIdValue = string | number;
export type DataId = Readonly<Record<string, DataIdValue>>;

/** daf_butler's JSON form of a data coordinate. Dimension records are never produced here. */
export interface SerializedDataCoordinate {
  dataId: Record<string, DataIdValue>;
  records: Record<string, unknown> | null;
}

/** Dimension names are identifiers (as in daf_butler's dimension universe). */
export const DIMENSION_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Data ID keys: dimension names, or `dimension.field` record keys (which standardisation leaves out, as daf_butler's does). */
const DATA_ID_KEY_RE = /^[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*)?$/;

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
 * With a universe, the data ID is standardised to the group of its keys (see
 * `standardizeDataId`): unknown dimensions are refused and values coerced.
 */
export function parseDataId(input: unknown, universe?: DimensionUniverse): DataId {
  const mapping = parseDataIdMapping(input);
  return universe ? standardizeDataId(mapping, universe.conform(Object.keys(mapping))) : sealed(mapping);
}

/**
 * The mapping of a data ID given in either form, its names and values checked and its keys
 * sorted, but not frozen: for callers that standardise it next (`parseDataId` freezes it).
 */
export function parseDataIdMapping(input: unknown): Record<string, DataIdValue> {
  if (input === null || input === undefined) return {};
  if (!isPlainObject(input)) {
    throw new InvalidArgument(`A data ID must be a mapping of dimension name to value, got ${describe(input)}.`, {
      details: { dataId: input },
    });
  }
  const mapping = isSerializedForm(input) ? (input['dataId'] as Record<string, unknown> | null | undefined) ?? {} : input;
  return checkedMapping(mapping);
}

/** Decimal integers as Python's `str(int)` writes them: only these strings become ints. */
const CANONICAL_INT = /^-?(0|[1-9][0-9]*)$/;

/**
 * A data ID value as the dimension's key type wants it. An int key takes an integer or a
 * string holding one in canonical decimal form (`"2"` → 2, so the dataset id, which hashes
 * `str(value)`, is the one daf_butler computes for either); a string key takes a string.
 * Anything else: DimensionValueError.
 */
export function coerceDataIdValue(dimension: DimensionElement, value: DataIdValue): DataIdValue {
  const type = dimension.primaryKey?.type;
  if (type === 'int') {
    if (typeof value === 'number') return value;
    if (CANONICAL_INT.test(value)) {
      const n = Number(value);
      if (Number.isSafeInteger(n)) return n;
    }
  } else if (type === 'string') {
    if (typeof value === 'string') return value;
  }
  throw new DimensionValueError(
    `Invalid value ${JSON.stringify(value)} for dimension '${dimension.name}': its key (${dimension.primaryKey?.name}) is ${type === 'int' ? 'an integer' : 'a string'}.`,
    { details: { dimension: dimension.name, value, keyType: type } },
  );
}

/**
 * The data ID of `group` that `mapping` gives, as daf_butler's DataCoordinate.standardize
 * makes it: values coerced by key type; every required dimension must have a value
 * (DimensionNameError naming the missing ones); when every implied value is given too the
 * result keeps them all (a full data ID), otherwise it holds the required values only; keys
 * outside the group are left out.
 */
export function standardizeDataId(mapping: DataId, group: DimensionGroup): DataId {
  const has = (d: string): boolean => Object.prototype.hasOwnProperty.call(mapping, d);
  const missing = group.required.filter((d) => !has(d));
  if (missing.length > 0) {
    throw new DimensionNameError(
      `No value in data ID (${dataIdKey(mapping)}) for required dimension${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`,
      { details: { dataId: mapping, required: group.required, missing } },
    );
  }
  const full = group.implied.every(has);
  const out: Record<string, DataIdValue> = {};
  // Keys in sorted order, values checked by makeDataId already and coerced here.
  for (const d of full ? group.sortedNames : group.sortedRequired) setOwn(out, d, coerceDataIdValue(group.universe.dimension(d), mapping[d]!));
  return sealed(out);
}

/** The required values of a data ID standardised to `group`: what identifies it (daf_butler's `DataCoordinate.required`). */
export function requiredDataId(dataId: DataId, group: DimensionGroup): DataId {
  return dataIdSubset(dataId, group.required);
}

/** daf_butler's data ID equality within a group: the required values are equal. */
export function dataIdEqualsIn(a: DataId, b: DataId, group: DimensionGroup): boolean {
  return group.required.every((d) => a[d] !== undefined && a[d] === b[d]);
}

/** The hidden (non-enumerable, symbol-keyed) place of a parsed data ID's derived texts. */
const DERIVED = Symbol('dataId.derived');
type Derived = Partial<Record<'key' | 'query', string>>;

/** Build a (frozen, key-sorted) data ID from a mapping, validating names and values. */
export function makeDataId(mapping: Readonly<Record<string, unknown>>): DataId {
  return sealed(checkedMapping(mapping));
}

/** The mapping with its names and values checked and its keys sorted. */
function checkedMapping(mapping: Readonly<Record<string, unknown>>): Record<string, DataIdValue> {
  const out: Record<string, DataIdValue> = {};
  for (const key of Object.keys(mapping).sort()) {
    const value = mapping[key];
    if (!DATA_ID_KEY_RE.test(key)) {
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
  return out;
}

/** Freeze a checked, key-sorted mapping as a data ID, with room for its derived texts (key, query). */
function sealed(out: Record<string, DataIdValue>): DataId {
  // A frozen object takes no new properties: the derived texts are filled in this object on first use.
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

/** A key of `name=value` pairs that quotePlus leaves as they are, separated by commas. */
const SAFE_KEY = /^[\w.~-]+=[\w.~-]*(?:,[\w.~-]+=[\w.~-]*)*$/;

/** How many commas `text` holds. */
function commas(text: string): number {
  let n = 0;
  for (let at = text.indexOf(','); at >= 0; at = text.indexOf(',', at + 1)) n++;
  return n;
}

/**
 * URL query form, e.g. `detector=1&instrument=Cam1` (used in `mem://` URIs). When the key
 * (which a put has made already) is as many safe pairs as there are dimensions, no name or
 * value holds a comma or anything quotePlus changes: the query is the key with `&` for `,`
 * (one test of the key instead of a quote of every part, ~2,500 instructions).
 */
export const dataIdQuery = derivedText('query', dataIdQueryText);

/**
 * dataIdQuery computed each time, not kept on the data ID: for a text wanted once per dataset
 * (a put's URI), which a cache would only keep, one string more per dataset.
 */
export function dataIdQueryText(dataId: DataId): string {
  const key = dataIdKey(dataId);
  if (SAFE_KEY.test(key) && commas(key) === Object.keys(dataId).length - 1) return key.replaceAll(',', '&');
  return joinPairs(dataId, '&', quotePlus);
}

/**
 * `name=value` pairs in dimension order, each part passed through `quote`. Joined by
 * Array.join, which makes one flat string: a text built with `+=` is a tree of pieces,
 * several times its size, kept as long as the data ID that caches it.
 */
function joinPairs(dataId: DataId, separator: string, quote: (text: string) => string): string {
  const keys = sortedKeys(dataId);
  const pairs = new Array<string>(keys.length);
  for (let i = 0; i < keys.length; i++) pairs[i] = `${quote(keys[i]!)}=${quote(String(dataId[keys[i]!]))}`;
  return pairs.join(separator);
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

/**
 * daf_butler's SerializedDataCoordinate. With the data ID's group the keys come in
 * daf_butler's order (required, then implied); without, sorted.
 */
export function serializeDataCoordinate(dataId: DataId, group?: DimensionGroup): SerializedDataCoordinate {
  if (!group) return { dataId: { ...makeDataId(dataId) }, records: null };
  const out: Record<string, DataIdValue> = {};
  for (const d of group.dataCoordinateKeys) if (Object.prototype.hasOwnProperty.call(dataId, d)) setOwn(out, d, dataId[d]!);
  return { dataId: out, records: null };
}
