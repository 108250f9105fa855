/**
 * butler/put's params in their usual shape, read without zod: `{sessionId, ref: {id},
 * payload: {encoding: "json", value}}` and nothing else, which is what both clients send for
 * a JSON value. zod's parse of the same params (a strict walk of three nested object schemas
 * and a discriminated union) was ~1-1.5 us of the sidecar's ~44 per small put. Any other shape
 * (another key, another encoding, a full ref, a wrong type) gives undefined, and the caller
 * parses with the schema as before, so every error is zod's.
 *
 * What it returns is what `Put.params.parse` returns for the same params: new objects with
 * the members in the schema's order, the value itself (not a copy) as z.unknown() leaves it.
 */
import type * as z from 'zod';
import type { Put } from '../../protocol/butler.js';
import { markEscapeFree } from '../model/json-value.js';

type PutParams = z.output<typeof Put.params>;

/** `v` is an object as JSON.parse makes one (not an array, not a class instance) whose own keys are `n` in all. */
function objectOf(v: unknown, n: number): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype && Object.keys(v).length === n;
}

const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** A non-empty string (zod's `z.string().min(1)`). */
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * The parsed params when `raw` has the usual shape, else undefined (parse them with the schema).
 * `escapeFree`: they were read from a body without a backslash (the reader says so), and the
 * value is marked so (markEscapeFree), for its canonical JSON.
 */
export function usualPutParams(raw: unknown, escapeFree = false): PutParams | undefined {
  if (!objectOf(raw, 3) || !own(raw, 'sessionId') || !own(raw, 'ref') || !own(raw, 'payload')) return undefined;
  const { sessionId, ref, payload } = raw;
  if (!nonEmpty(sessionId) || !objectOf(ref, 1) || !own(ref, 'id') || !objectOf(payload, 2) || !own(payload, 'encoding') || !own(payload, 'value')) {
    return undefined;
  }
  const id = ref.id;
  const value = payload.value;
  if (!nonEmpty(id) || payload.encoding !== 'json' || value === undefined) return undefined;
  if (escapeFree) markEscapeFree(value);
  return { sessionId, ref: { id }, payload: { encoding: 'json', value } };
}
