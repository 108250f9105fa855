/**
 * Dataset ids: 128-bit UUIDs, dashed lowercase on the wire.
 * UNIQUE ids are UUIDv7 (time-ordered); deterministic ids are UUIDv5 in the
 * daf_butler namespace over a fixed `key=value` string (see makeDatasetId).
 */
import { v5 as uuidv5, v7 as uuidv7 } from 'uuid';
import { InvalidArgument, InvalidDatasetRef } from './errors.js';
import type { DataId } from './data-coordinate.js';
import { isWellFormedString } from './json-value.js';

export type DatasetId = string;

/** uuid5(DNS, "lsst.org"): the namespace of deterministic dataset ids. */
export const DATASET_ID_NAMESPACE = '840b31d9-05cd-5161-b2c8-00d32b280d0f';

export type IdGenerationMode = 'UNIQUE' | 'DATAID_TYPE' | 'DATAID_TYPE_RUN';
export const ID_GENERATION_MODES: readonly IdGenerationMode[] = ['UNIQUE', 'DATAID_TYPE', 'DATAID_TYPE_RUN'];

const DASHED_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX_RE = /^[0-9a-f]{32}$/i;

/** A fresh random, time-ordered (v7) dataset id. */
export function newDatasetId(): DatasetId {
  return uuidv7();
}

/**
 * The string hashed for deterministic ids, as daf_butler's DatasetIdFactory builds it:
 * `dataset_type=<name>`, then `run=<run>` (DATAID_TYPE_RUN only), then `dim=value` for the
 * dataset type's *required* dimensions only (its group's `required`; implied values never
 * count), sorted by dimension name (daf_butler iterates `sorted(dataId.required.items())`,
 * not the universe's order). Values are written as text, so 94 and a coerced "94" agree.
 */
export function datasetIdSeed(
  mode: Exclude<IdGenerationMode, 'UNIQUE'>,
  datasetTypeName: string,
  dataId: DataId,
  requiredDimensions: readonly string[],
  run: string,
): string {
  const parts = [`dataset_type=${datasetTypeName}`];
  if (mode === 'DATAID_TYPE_RUN') parts.push(`run=${run}`);
  for (const dim of [...new Set(requiredDimensions)].sort()) {
    const value = dataId[dim];
    if (value === undefined) {
      throw new InvalidArgument(
        `No value in data ID (${JSON.stringify(dataId)}) for required dimension '${dim}'.`,
        { details: { dataId, requiredDimensions, missing: dim } },
      );
    }
    parts.push(`${dim}=${String(value)}`);
  }
  return parts.join(',');
}

/** A dataset id made with the given generation mode (daf_butler's DatasetIdFactory). */
export function makeDatasetId(
  mode: IdGenerationMode,
  datasetTypeName: string,
  dataId: DataId,
  requiredDimensions: readonly string[],
  run: string,
): DatasetId {
  switch (mode) {
    case 'UNIQUE':
      return newDatasetId();
    case 'DATAID_TYPE':
    case 'DATAID_TYPE_RUN': {
      const seed = datasetIdSeed(mode, datasetTypeName, dataId, requiredDimensions, run);
      // The seed is hashed as UTF-8, which a lone surrogate (in a run or data ID value) does not have.
      if (!isWellFormedString(seed)) {
        throw new InvalidArgument('A dataset id cannot be made: its run, dataset type or data ID is not well-formed Unicode.', { details: { mode } });
      }
      return uuidv5(seed, DATASET_ID_NAMESPACE);
    }
    default:
      throw new InvalidArgument(`Unknown id generation mode '${String(mode)}'; expected one of ${ID_GENERATION_MODES.join(', ')}.`, {
        details: { mode },
      });
  }
}

/** True when `input` is a dataset id in dashed or 32-hex form (any case). */
export function isDatasetId(input: unknown): boolean {
  return typeof input === 'string' && (DASHED_RE.test(input) || HEX_RE.test(input));
}

/**
 * `s` is already canonical: 36 characters, lowercase hex digits with dashes at 8, 13, 18 and 23
 * (what DASHED_RE matches and toLowerCase leaves as it is). A loop, not the regular expression:
 * every call that names a dataset checks its id, and the test cost ~1,000 instructions (callgrind).
 */
function isCanonicalId(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** Canonical dashed lowercase form of a dashed or 32-hex id; anything else → InvalidDatasetRef. */
export function normalizeDatasetId(input: unknown): DatasetId {
  if (typeof input === 'string') {
    if (isCanonicalId(input)) return input;
    if (DASHED_RE.test(input)) return input.toLowerCase();
    if (HEX_RE.test(input)) {
      const h = input.toLowerCase();
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
  }
  const shown = typeof input === 'string' ? `'${input}'` : JSON.stringify(input) ?? String(input);
  throw new InvalidDatasetRef(`Invalid dataset id ${shown}: expected a UUID (dashed or 32 hex digits).`, {
    details: { id: input },
  });
}

/** The 32-hex-digit form used as keys in datastore record payloads. */
export function datasetIdHex(id: DatasetId): string {
  return normalizeDatasetId(id).replace(/-/g, '');
}

/** The UUID version nibble of an id (7 for UNIQUE, 5 for deterministic, 4 for old random ids). */
export function datasetIdVersion(id: DatasetId): number {
  return parseInt(normalizeDatasetId(id)[14]!, 16);
}
