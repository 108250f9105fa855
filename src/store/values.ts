/** Validation and copying of values and metadata crossing the store boundary. */
import { InvalidArgument, InvalidValue } from '../model/errors.js';
import type { Metadata } from './store.js';

const MAX_DEPTH = 200;

export function nowSeconds(): number {
  return Date.now() / 1000;
}

/** Accepts a Buffer or any Uint8Array (viewed, not copied: backends copy on store). */
export function checkData(data: unknown, what = 'data'): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new InvalidValue(`${what} must be a Buffer`, { details: { type: typeOf(data) } });
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
    throw new InvalidValue(`${what} must be a plain JSON object`, { details: { type: typeOf(metadata) } });
  }
  if (adopt && isStorable(metadata, 0)) return metadata;
  return copyJson(metadata, what, 0, true) as Metadata;
}

/** Valid JSON that a copy would not change (no -0, plain objects only), checked without allocating. */
function isStorable(value: unknown, depth: number): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isStorable(value[i], depth + 1)) return false;
    return true;
  }
  if (!isPlainObject(value)) return false;
  for (const name of Object.keys(value)) if (!isStorable(value[name], depth + 1)) return false;
  return true;
}

export function checkMetadatas(metadatas: unknown): readonly Metadata[] {
  if (!Array.isArray(metadatas)) throw new InvalidArgument('metadatas must be an array of objects');
  return metadatas.map((m, i) => checkMetadata(m, `metadatas[${i}]`));
}

/** Deep copy of an already validated JSON value. */
export function cloneJson<T>(value: T): T {
  return copyJson(value, '', 0, false) as T;
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

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Assignment that also works for a "__proto__" name (which `out[name] =` would not store). */
export function setOwn(target: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') {
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[name] = value;
  }
}

/**
 * The copy; with `validate`, InvalidValue names the place of a problem. The place of a
 * member is built only when it is a container (leaves need none unless they fail).
 */
function copyJson(value: unknown, path: string, depth: number, validate: boolean): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (validate && !Number.isFinite(value)) throw new InvalidValue(`${path}: ${value} is not a JSON number`);
    // JSON has no -0; normalise so every backend stores the same value.
    return value === 0 ? 0 : value;
  }
  if (validate && depth > MAX_DEPTH) throw new InvalidValue(`${path}: nested too deeply (cycle?)`);
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyMember(value[i], path, i, depth, validate);
    return out;
  }
  if (typeof value === 'object' && (!validate || isPlainObject(value))) {
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(value)) {
      setOwn(out, name, copyMember((value as Record<string, unknown>)[name], path, name, depth, validate));
    }
    return out;
  }
  throw new InvalidValue(`${path}: ${typeOf(value)} is not a JSON value`);
}

function copyMember(value: unknown, parent: string, at: string | number, depth: number, validate: boolean): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && (!validate || Number.isFinite(value))) return value === 0 ? 0 : value;
  return copyJson(value, typeof at === 'number' ? `${parent}[${at}]` : `${parent}.${at}`, depth + 1, validate);
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return (Object.getPrototypeOf(value)?.constructor?.name as string | undefined) ?? 'object';
  return typeof value;
}
