/**
 * Exact-match metadata queries. A match `{name: value}` selects the entries whose metadata
 * has an own property `name` that is JSON-deep-equal to `value`:
 * - object member order is ignored, array order is not;
 * - no type coercion (`true` does not match `1`, unlike Python's `==` in encore);
 * - `{x: null}` matches only a stored `null`, never a missing `x` (encore's
 *   `metadata.get(x) == None` matched missing names too).
 * An empty match selects everything.
 */
import { InvalidArgument, InvalidValue } from '../model/errors.js';
import type { Metadata } from './store.js';
import { checkMetadata, isPlainObject } from './values.js';

export function checkMatch(match: unknown): Metadata {
  if (match === undefined || match === null) return {};
  if (!isPlainObject(match)) throw new InvalidArgument('a query must be a plain object of metadata name -> value');
  try {
    return checkMetadata(match, 'query');
  } catch (err) {
    if (err instanceof InvalidValue) throw new InvalidArgument(err.message);
    throw err;
  }
}

export function matchesQuery(metadata: Metadata, match: Metadata, names: readonly string[] = Object.keys(match)): boolean {
  for (const name of names) {
    if (!Object.prototype.hasOwnProperty.call(metadata, name)) return false;
    if (!jsonEqual(metadata[name], match[name])) return false;
  }
  return true;
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra);
  if (ka.length !== Object.keys(rb).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(rb, k) || !jsonEqual(ra[k], rb[k])) return false;
  }
  return true;
}

/** JSON with object members sorted, so deep-equal values have equal text (the SQLite index key). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const rec = value as Record<string, unknown>;
  const names = Object.keys(rec).sort();
  return `{${names.map((n) => `${JSON.stringify(n)}:${canonicalJson(rec[n])}`).join(',')}}`;
}
