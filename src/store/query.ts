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
import { isPlainObject, jsonEqual } from '../model/json-value.js';
import type { Metadata } from './store.js';
import { checkMetadata } from './values.js';

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
