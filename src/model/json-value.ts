/**
 * The one JSON module: what counts as a JSON value, validated copies, equality and the
 * canonical text. Every layer that checks, copies, compares or hashes JSON uses it.
 *
 * A JSON value is I-JSON (RFC 7493), the input RFC 8785 requires: null, booleans, finite
 * numbers (IEEE-754 doubles: integers beyond ±2^53 are not exact), strings and member
 * names of well-formed Unicode (no lone surrogates), arrays and plain objects, nested at
 * most MAX_JSON_DEPTH containers deep (which also rules out cycles). Copies normalise -0
 * to 0, so every backend stores and returns the same value.
 *
 * `canonicalJson` is the JSON Canonicalization Scheme of RFC 8785: no whitespace, members
 * sorted by their UTF-16 code units at every level, numbers written as ECMAScript writes
 * them (-0 as 0), strings escaped as ECMAScript's JSON.stringify does, which is the RFC's
 * rule. Stable checksums and SQLite index keys rest on it.
 */
import { InvalidValue } from './errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Containers (arrays, objects) a JSON value may nest; a deeper value is refused. */
export const MAX_JSON_DEPTH = 256;

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

/** Why `value` is not a JSON value (with the place, e.g. `$.a[1]`), or null when it is one. */
export function jsonValueProblem(value: unknown, path = '$'): string | null {
  // Every put checks its value, so the common (valid) case walks it without allocating;
  // only a failure walks again to name the problem and where it is.
  if ((scan(value, 0) & INVALID) === 0) return null;
  return problemAt(value, path, 0, new Set());
}

/** True when `value` is a JSON value that a copy would leave as it is (no -0). */
export function isNormalJson(value: unknown): boolean {
  return (scan(value, 0) & (INVALID | NEGATIVE_ZERO)) === 0;
}

/** A validated deep copy (-0 becomes 0); InvalidValue names the first problem, as `what` + place. */
export function copyJson(value: unknown, what = 'value'): JsonValue {
  const problem = jsonValueProblem(value, what);
  if (problem) throw new InvalidValue(`${problem}.`, { details: { problem } });
  return cloneJson(value as JsonValue);
}

/** Deep copy of a value already known to be JSON (-0 becomes 0). */
export function cloneJson<T>(value: T): T {
  return cloneAt(value) as T;
}

function cloneAt(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value === 0 ? 0 : value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = cloneAt(value[i]);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(value)) setOwn(out, name, cloneAt((value as Record<string, unknown>)[name]));
  return out;
}

/** Deep copy of JSON-ish data that may hold byte arrays (copied, a Buffer stays a Buffer). */
export function deepCopy<T>(value: T): T {
  return copyWithBytes(value) as T;
}

function copyWithBytes(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(copyWithBytes);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, copyWithBytes(v));
    return out;
  }
  // Other objects are not values we produce; copy their own enumerable fields.
  return structuredClone(value);
}

/** JSON deep equality: object member order is ignored, array order is not, no coercion (1 ≠ true ≠ "1"). */
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

/**
 * True when `value` (JSON-shaped, e.g. just parsed) nests containers deeper than `limit`.
 * The recursion stops at `limit` levels, so it is safe on any depth (a guard before
 * recursive code runs); it allocates nothing, as it runs on every request's params.
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  return value !== null && typeof value === 'object' && containerDeeperThan(value, limit);
}

/** `v` (a container) needs more than `room` levels. */
function containerDeeperThan(v: object, room: number): boolean {
  if (room < 1) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const m: unknown = v[i];
      if (m !== null && typeof m === 'object' && containerDeeperThan(m, room - 1)) return true;
    }
    return false;
  }
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    const m = (v as Record<string, unknown>)[k];
    if (m !== null && typeof m === 'object' && containerDeeperThan(m, room - 1)) return true;
  }
  return false;
}

/**
 * The RFC 8785 canonical text of `value`. Throws InvalidValue (with the place) for what is
 * not a JSON value. The same value always gives the same text, whatever its member order.
 */
export function canonicalJson(value: unknown): string;
export function canonicalJson(value: unknown, long: 'bytes'): string | Buffer;
// With 'bytes', a value holding a long string comes as UTF-8 bytes, the string written
// straight from the value: never the whole text besides the bytes (see writeBytes).
export function canonicalJson(value: unknown, long?: 'bytes'): string | Buffer {
  scanned = 0;
  const flags = scan(value, 0);
  if (flags & INVALID) {
    const problem = problemAt(value, '$', 0, new Set()) ?? 'not a JSON value';
    throw new InvalidValue(`Value cannot be written as JSON: ${problem}.`, { details: { problem } });
  }
  if (long && flags & LONG) {
    const out = Buffer.allocUnsafeSlow(writeBytes(value, null, 0));
    writeBytes(value, out, 0);
    return out;
  }
  // When every object's members are already in order, the engine's own serialiser writes
  // the same text (RFC 8785 number and string forms are ECMAScript's), several times faster;
  // but it copies a string's characters one at a time (~4 ns each, V8 11), so a small value
  // holding a string of some length is written by `write`, which quotes such a string as it
  // is when it needs no escape (a 1 KiB value: ~2 us less).
  if (flags & UNSORTED || (flags & QUOTABLE && scanned <= SMALL_VALUE_NODES)) return write(value, isEscapeFree(value));
  return JSON.stringify(value);
}

/** A constructor that returns the object it is given: a class extending it adds its private fields to that object. */
const Given = function (o: object) {
  return o;
} as unknown as new (o: object) => object;

/**
 * The mark of objects parsed from JSON text that holds no backslash (see markEscapeFree): a
 * private field of this class added to the object itself, so it goes with the object and keeps
 * nothing alive, and no reader of the object sees it (not Object.keys, for-in, spread,
 * Reflect.ownKeys, JSON.stringify or structuredClone: a copy is unmarked). Not a WeakSet: every
 * put added two young objects to one, each an ephemeron that the write barrier and every
 * scavenge had to deal with (perf, 64 puts in flight: ~2% of the sidecar's CPU); not a
 * non-enumerable symbol member either: its Object.defineProperty ran in the runtime, ~2,000
 * instructions a mark (callgrind), where a private field is added by the optimised code's store.
 */
class EscapeFreeMark extends Given {
  #escapeFree = true;

  static has(o: object): boolean {
    return #escapeFree in o;
  }
}

/**
 * Say that every string in `value` (member names too, at any depth) is one JSON.stringify
 * writes as it is between quotes, as for a value JSON.parse read from text without a
 * backslash: such text cannot hold a quote, backslash or control character inside a string,
 * and text decoded from UTF-8 holds no lone surrogate. canonicalJson then quotes its strings
 * without looking at them (a 1 KiB string: ~11,000 instructions of regular expression less).
 * Only for values nothing changes afterwards (a parsed request); anything not an object is ignored.
 */
export function markEscapeFree(value: unknown): void {
  if (typeof value === 'object' && value !== null && Object.isExtensible(value) && !EscapeFreeMark.has(value)) new EscapeFreeMark(value);
}

/** Was `value` marked by markEscapeFree? */
export function isEscapeFree(value: unknown): boolean {
  // The object's own field: not one read through the prototype of an object made from a marked one.
  return typeof value === 'object' && value !== null && EscapeFreeMark.has(value);
}

// The string's characters are all ones JSON.stringify writes as they are. Asked as "does the
// whole string match [^...]*" rather than "is there a match of [...] anywhere", which V8's
// regexp engine answers about twice as fast (~0.7 against ~1.5 us for 1 KiB of text).
// eslint-disable-next-line no-control-regex
const NO_ESCAPE = /^[^"\\\u0000-\u001f]*$/;
const needsEscape = (s: string): boolean => !NO_ESCAPE.test(s);

/** write(value) into `out` from `at` (or, without `out`, its UTF-8 length counted); returns where it ends. */
function writeBytes(value: unknown, out: Buffer | null, at: number): number {
  const put = (text: string) => (at += out ? out.write(text, at) : Buffer.byteLength(text));
  if (typeof value === 'string' && value.length >= LONG_STRING && !needsEscape(value)) {
    put('"');
    put(value);
    put('"');
  } else if (value === null || typeof value !== 'object') put(JSON.stringify(value));
  else {
    const keys = Array.isArray(value) ? null : Object.keys(value).sort();
    const items = keys ?? (value as unknown[]);
    put(keys ? '{' : '[');
    items.forEach((item, i) => {
      if (i > 0) put(',');
      if (keys) put(`${JSON.stringify(item)}:`);
      at = writeBytes(keys ? (value as Record<string, unknown>)[item as string] : item, out, at);
    });
    put(keys ? '}' : ']');
  }
  return at;
}

/** JSON.stringify(s) for a well-formed string: quoted as it is when it is long and needs no escape. */
function quote(s: string): string {
  return s.length >= QUOTED_STRING && !needsEscape(s) ? `"${s}"` : jsonString(s);
}

/**
 * Strings JSON.stringify writes as they are between quotes: no quote, backslash or control
 * character, and no surrogate (a lone one is written as an escape; a pair would be kept, but
 * asking for well-formedness costs more than the rare pair written by JSON.stringify).
 */
// eslint-disable-next-line no-control-regex
export const JSON_AS_IS = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** Strings of printable ASCII (and DEL) without quote or backslash: JSON.stringify writes them as they are, one byte a character. */
export const JSON_ASCII_AS_IS = /^[\x20\x21\x23-\x5b\x5d-\x7f]*$/;

/**
 * `s` between quotes when it is printable ASCII (or DEL) without quote or backslash, which
 * JSON.stringify writes as it is, one byte a character (JSON_ASCII_AS_IS); else undefined.
 * A loop over its characters rather than the regular expression: cheaper for the short texts
 * of ids, runs and URIs that answers and events carry, met once each (callgrind).
 */
export function asciiQuoted(s: string): string | undefined {
  return isAsciiAsIs(s) ? `"${s}"` : undefined;
}

/** `s` is printable ASCII (or DEL) without quote or backslash (asciiQuoted), for a caller that quotes it within a longer text. */
export function isAsciiAsIs(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7f || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/**
 * JSON.stringify(s) for a string, without calling it when nothing in `s` needs an escape: the
 * call into the engine's serialiser costs more than the whole text of a short string (a dataset
 * id: ~250 against ~85 ns, V8 11).
 */
export function jsonString(s: string): string {
  return JSON_AS_IS.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** The canonical text of a scanned value; `asIs`: its strings need no escape (markEscapeFree), so they are quoted unread. */
function write(value: unknown, asIs: boolean): string {
  if (typeof value === 'string') return asIs ? `"${value}"` : quote(value);
  // Finite (scanned): the text JSON.stringify gives, -0 as 0.
  if (typeof value === 'number') return String(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => write(item, asIs)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  // Default sort compares UTF-16 code units, the order RFC 8785 prescribes.
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${asIs ? `"${k}"` : jsonString(k)}:${write(obj[k], asIs)}`).join(',')}}`;
}

/**
 * `obj[key] = value` as a plain data property, also for the key `__proto__` (which a normal
 * assignment would treat as a prototype change).
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

// ---- the walks ------------------------------------------------------------------------------

const INVALID = 1;
/** Some object's members are not in sorted order. */
const UNSORTED = 2;
const NEGATIVE_ZERO = 4;
/** Some string is at least LONG_STRING characters. */
const LONG = 8;
const LONG_STRING = 1024 * 1024;
/** Some string is at least QUOTED_STRING characters: `write` may quote it as it is (see quote). */
const QUOTABLE = 16;
const QUOTED_STRING = 256;
/** A value of at most this many nodes (values, members, items) holding a QUOTABLE string is written by `write`. */
const SMALL_VALUE_NODES = 64;
/** Nodes visited by the last scan. */
let scanned = 0;

/** True when `s` is well-formed Unicode (no lone surrogate): `String.prototype.isWellFormed`, not yet in this TypeScript lib. */
export function isWellFormedString(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}
const wellFormed = isWellFormedString;

/** INVALID, UNSORTED, NEGATIVE_ZERO, LONG and QUOTABLE flags of `value`, which sits inside `depth` containers (counted in `scanned`). */
function scan(value: unknown, depth: number): number {
  scanned++;
  switch (typeof value) {
    case 'string':
      return !wellFormed(value) ? INVALID : value.length < QUOTED_STRING ? 0 : value.length >= LONG_STRING ? LONG | QUOTABLE : QUOTABLE;
    case 'boolean':
      return 0;
    case 'number':
      return !Number.isFinite(value) ? INVALID : Object.is(value, -0) ? NEGATIVE_ZERO : 0;
    case 'object': {
      if (value === null) return 0;
      if (depth >= MAX_JSON_DEPTH) return INVALID;
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
        const k = keys[i]!;
        if (!wellFormed(k)) return INVALID;
        if (i > 0 && keys[i - 1]! > k) flags |= UNSORTED;
        flags |= scan(value[k], depth + 1);
        if (flags & INVALID) return flags;
      }
      return flags;
    }
    default:
      return INVALID;
  }
}

function problemAt(value: unknown, path: string, depth: number, ancestors: Set<object>): string | null {
  switch (typeof value) {
    case 'string':
      return wellFormed(value) ? null : `${path} is not well-formed Unicode (a lone surrogate)`;
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) ? null : `${path} is a non-finite number`;
    case 'object': {
      if (value === null) return null;
      if (ancestors.has(value)) return `${path} is part of a cycle`;
      if (depth >= MAX_JSON_DEPTH) return `${shorten(path)} is nested deeper than ${MAX_JSON_DEPTH} levels`;
      if (!Array.isArray(value) && !isPlainObject(value)) return `${path} is a ${jsTypeName(value)}, not a JSON value`;
      ancestors.add(value);
      const entries: Array<[string, unknown]> = Array.isArray(value)
        ? value.map((v, i) => [`${path}[${i}]`, v])
        : Object.keys(value).map((k) => [`${path}.${k}`, (value as Record<string, unknown>)[k]]);
      if (!Array.isArray(value)) {
        const bad = Object.keys(value).find((k) => !wellFormed(k));
        if (bad !== undefined) return `${path} has a member name that is not well-formed Unicode (a lone surrogate)`;
      }
      for (const [p, v] of entries) {
        const problem = problemAt(v, p, depth + 1, ancestors);
        if (problem) return problem;
      }
      ancestors.delete(value);
      return null;
    }
    default:
      return `${path} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, not a JSON value`;
  }
}

/** A place deep inside a value, kept readable: its start and its end. */
function shorten(path: string): string {
  return path.length <= 120 ? path : `${path.slice(0, 40)}…${path.slice(-40)}`;
}
