/**
 * Small helpers for JSON-shaped values: plain-object checks, deep validation,
 * deep copies (Buffers copied, never shared) and a canonical serialisation with
 * sorted object keys (used for stable checksums).
 */
import { InvalidValue } from './errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** True for `{}`-style objects (prototype Object.prototype or null); false for arrays, Buffers, class instances. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A short, human name of a JS value's type, used in error messages ("array", "Buffer", "object", ...). */
export function jsTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'array';
  if (Buffer.isBuffer(value)) return 'Buffer';
  if (value instanceof Uint8Array) return 'Uint8Array';
  if (isPlainObject(value)) return 'object';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/**
 * Why `value` is not a JSON value, or null when it is one. Rejects undefined, functions,
 * symbols, bigints, non-finite numbers, byte arrays, class instances and cycles.
 */
export function jsonValueProblem(value: unknown, path = '$'): string | null {
  // Every put checks its value, so the common (valid) case walks it without allocating;
  // only a failure walks again to name the problem and where it is.
  if ((scan(value, 0) & INVALID) === 0) return null;
  return problemAt(value, path, new Set());
}

const INVALID = 1;
const UNSORTED = 2;
/** Deeper than this, the fast scan defers to the exact walk (which tells a cycle from depth). */
const SCAN_DEPTH = 256;

/** INVALID and/or UNSORTED (some object's keys are not in sorted order), or 0. */
function scan(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return 0;
    case 'number':
      return Number.isFinite(value) ? 0 : INVALID;
    case 'object': {
      if (value === null) return 0;
      if (depth > SCAN_DEPTH) return INVALID;
      let flags = 0;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          flags |= scan(value[i], depth + 1);
          if (flags & INVALID) return flags;
        }
        return flags;
      }
      if (!isPlainObject(value)) return INVALID;
      const keys = Object.keys(value);
      for (let i = 0; i < keys.length; i++) {
        if (i > 0 && keys[i - 1]! > keys[i]!) flags |= UNSORTED;
        flags |= scan(value[keys[i]!], depth + 1);
        if (flags & INVALID) return flags;
      }
      return flags;
    }
    default:
      return INVALID;
  }
}

function problemAt(value: unknown, path: string, ancestors: Set<object>): string | null {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) ? null : `${path} is a non-finite number`;
    case 'object': {
      if (value === null) return null;
      if (ancestors.has(value)) return `${path} is part of a cycle`;
      if (Array.isArray(value)) {
        ancestors.add(value);
        for (let i = 0; i < value.length; i++) {
          const p = problemAt(value[i], `${path}[${i}]`, ancestors);
          if (p) return p;
        }
        ancestors.delete(value);
        return null;
      }
      if (!isPlainObject(value)) return `${path} is a ${jsTypeName(value)}, not a JSON value`;
      ancestors.add(value);
      for (const [k, v] of Object.entries(value)) {
        const p = problemAt(v, `${path}.${k}`, ancestors);
        if (p) return p;
      }
      ancestors.delete(value);
      return null;
    }
    default:
      return `${path} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, not a JSON value`;
  }
}

/** Deep copy of JSON-ish data; byte arrays are copied (a Buffer stays a Buffer). */
export function deepCopy<T>(value: T): T {
  return copyAt(value) as T;
}

function copyAt(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(copyAt);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, copyAt(v));
    return out;
  }
  // Other objects are not values we produce; copy their own enumerable fields.
  return structuredClone(value);
}

/**
 * Canonical JSON text: object keys sorted (by UTF-16 code units), no whitespace.
 * The same value always gives the same text, whatever the key insertion order.
 * With `sortKeys: false` insertion order is kept (used for table columns).
 */
export function canonicalJson(value: unknown, options: { sortKeys?: boolean } = {}): string {
  const sortKeys = options.sortKeys ?? true;
  const flags = scan(value, 0);
  if (flags & INVALID) {
    // Only the exact walk can tell: maybe the value is just deeper than the scan goes.
    const problem = problemAt(value, '$', new Set());
    if (problem) throw new InvalidValue(`Value cannot be written as JSON: ${problem}.`, { details: { problem } });
  }
  // When every object's keys are known to be in order (or order is kept), the engine's own
  // serialiser gives the same text, several times faster.
  return !sortKeys || flags === 0 ? JSON.stringify(value) : write(value, sortKeys);
}

function write(value: unknown, sortKeys: boolean): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => write(v, sortKeys)).join(',')}]`;
  const keys = Object.keys(value);
  if (sortKeys) keys.sort();
  const obj = value as Record<string, unknown>;
  return `{${keys.map((k) => `${JSON.stringify(k)}:${write(obj[k], sortKeys)}`).join(',')}}`;
}

/**
 * `obj[key] = value` as a plain data property, also for the key `__proto__` (which a normal
 * assignment would treat as a prototype change).
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}
