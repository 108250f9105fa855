/** Validation and copying of values and metadata crossing the store boundary (JSON rules: model/json-value.ts). */
import { InvalidArgument, InvalidValue } from '../model/errors.js';
import { cloneJson, copyJson, isNormalJson, isPlainObject, jsTypeName, setOwn } from '../model/json-value.js';
import type { Metadata } from './store.js';

export function nowSeconds(): number {
  return Date.now() / 1000;
}

/** Accepts a Buffer or any Uint8Array (viewed, not copied: backends copy on store). */
export function checkData(data: unknown, what = 'data'): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new InvalidValue(`${what} must be a Buffer`, { details: { type: jsTypeName(data) } });
}

export function checkDatas(datas: unknown): readonly Buffer[] {
  if (!Array.isArray(datas)) throw new InvalidArgument('datas must be an array of Buffers');
  return datas.map((d, i) => checkData(d, `datas[${i}]`));
}

/**
 * Validates that `metadata` is a plain JSON object and returns a deep copy of it, or, when
 * the caller hands it over (`adopt`) and it is already as a copy would be, the object itself.
 */
export function checkMetadata(metadata: unknown, what = 'metadata', adopt = false): Metadata {
  if (!isPlainObject(metadata)) {
    throw new InvalidValue(`${what} must be a plain JSON object`, { details: { type: jsTypeName(metadata) } });
  }
  if (adopt && isNormalJson(metadata)) return metadata as Metadata;
  return copyJson(metadata, what) as Metadata;
}

export function checkMetadatas(metadatas: unknown): readonly Metadata[] {
  if (!Array.isArray(metadatas)) throw new InvalidArgument('metadatas must be an array of objects');
  return metadatas.map((m, i) => checkMetadata(m, `metadatas[${i}]`));
}

export function checkSelect(select: unknown): readonly string[] | undefined {
  if (select === undefined || select === null) return undefined;
  if (!Array.isArray(select) || !select.every((s) => typeof s === 'string')) {
    throw new InvalidArgument('select must be an array of metadata names');
  }
  return select as string[];
}

/** A copy of `metadata`, restricted to the `select`ed names that are present. */
export function project(metadata: Metadata, select: readonly string[] | undefined): Metadata {
  if (!select) return cloneJson(metadata);
  const out: Metadata = {};
  for (const name of select) {
    if (Object.prototype.hasOwnProperty.call(metadata, name)) setOwn(out, name, cloneJson(metadata[name]));
  }
  return out;
}
