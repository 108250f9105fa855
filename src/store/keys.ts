/**
 * Key rules, shared by every backend so that data can move between them (and so the
 * file store's "keys never escape the root" holds for all): a key is a non-empty,
 * well-formed string of '/'-separated segments, with no empty, '.' or '..' segment,
 * no leading '/', no NUL and no backslash. Reserved (the file store's own files): a
 * first segment `.qbstore` and any segment starting with `.qbtmp-`.
 */
import { InvalidArgument, InvalidKey } from '../model/errors.js';

/** The file store's metadata and journal directory, at the top of its tree. */
export const RESERVED_DIR = '.qbstore';
/** The file store's temporary files, in any directory. */
export const RESERVED_TEMP_PREFIX = '.qbtmp-';
// Made once (a template in keyProblem is two concatenations per key checked).
const RESERVED_DIR_SLASH = `${RESERVED_DIR}/`;
const SLASH_RESERVED_TEMP = `/${RESERVED_TEMP_PREFIX}`;

/**
 * A key of one segment of ASCII letters, digits, '_' and '-' (a dataset id): nothing keyProblem
 * looks for can be in it. One compiled test (~3x faster than the loop for a 36-character id).
 */
const PLAIN_KEY = /^[\w-]+$/;

/** The last key checkKey found valid: a put reads its key, then writes it, and checks it once. */
let lastValid: string | undefined;

export function checkKey(key: unknown): string {
  if (typeof key === 'string' && key === lastValid) return key;
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidKey('key must be a non-empty string', { details: { key } });
  }
  const bad = PLAIN_KEY.test(key) ? undefined : keyProblem(key);
  if (bad) throw new InvalidKey(`invalid key ${JSON.stringify(key)}: ${bad}`, { details: { key } });
  lastValid = key;
  return key;
}

// One pass over the code units (this runs for every key of every call).
function keyProblem(key: string): string | undefined {
  if (key.charCodeAt(0) === 0x2f) return 'is absolute (leading "/")';
  let segmentStart = 0;
  for (let i = 0; i <= key.length; i++) {
    const c = i < key.length ? key.charCodeAt(i) : 0x2f;
    if (c === 0x2f) {
      const len = i - segmentStart;
      if (len === 0) return 'has an empty segment';
      if (len <= 2 && key.charCodeAt(segmentStart) === 0x2e && (len === 1 || key.charCodeAt(segmentStart + 1) === 0x2e)) {
        return `has a "${key.slice(segmentStart, i)}" segment`;
      }
      segmentStart = i + 1;
    } else if (c === 0) {
      return 'contains NUL';
    } else if (c === 0x5c) {
      return 'contains a backslash';
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A high surrogate must be followed by a low one; a low one must not stand alone.
      const next = i + 1 < key.length ? key.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return 'is not well-formed Unicode';
      i++;
    }
  }
  if (key === RESERVED_DIR || key.startsWith(RESERVED_DIR_SLASH)) return `uses the reserved name "${RESERVED_DIR}"`;
  if (key.startsWith(RESERVED_TEMP_PREFIX) || key.includes(SLASH_RESERVED_TEMP)) return `uses the reserved prefix "${RESERVED_TEMP_PREFIX}"`;
  return undefined;
}

export function checkKeys(keys: unknown, what = 'keys'): readonly string[] {
  if (!Array.isArray(keys)) throw new InvalidArgument(`${what} must be an array of keys`);
  return keys.map((k) => checkKey(k));
}

/**
 * Code-point order, which is also UTF-8 byte order (SQLite's BINARY collation), so every
 * backend returns keys in the same order. Plain `<` compares UTF-16 code units, which
 * differs only for astral characters versus U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && x <= 0xdfff) x += 0x2000;
    else if (x >= 0xe000) x -= 0x800;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x2000;
    else if (y >= 0xe000) y -= 0x800;
    return x - y;
  }
  return a.length - b.length;
}

export function sortKeys(keys: string[]): string[] {
  return keys.sort(compareKeys);
}
