/**
 * Reading JSON text (UTF-8 bytes) without parsing it into values: where a member's value
 * lies in the text, and whether a text is one valid JSON value. The server needs both where
 * a parse would lose something or cost too much: the exact text of a request id that a
 * JavaScript number cannot hold (`1e400`, `9007199254740993`, `-0`), the id of a request
 * whose body is not JSON or too large to read, and stored JSON bytes spliced into a message
 * as they are.
 *
 * The scanner is iterative (no recursion), so nesting depth cannot overflow the stack, and
 * it stops at the first byte that breaks the grammar: a truncated text (a prefix) is read
 * as far as it goes.
 */
import { isUtf8 } from 'node:buffer';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Bytes [start, end) of a JSON value in a text. */
export interface Span {
  start: number;
  end: number;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWs(b: Uint8Array, i: number): number {
  while (i < b.length && isWs(b[i]!)) i++;
  return i;
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isHex = (c: number | undefined): boolean => c !== undefined && ((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66));

/** End of the string starting at `i` (a quote), or -1. Bytes >= 0x80 are not checked here (see isJsonText). */
function stringEnd(b: Uint8Array, i: number): number {
  for (i++; i < b.length; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const e = b[++i];
      if (e === 0x75) {
        if (!(isHex(b[i + 1]) && isHex(b[i + 2]) && isHex(b[i + 3]) && isHex(b[i + 4]))) return -1;
        i += 4;
      } else if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
        return -1;
      }
    }
  }
  return -1;
}

/**
 * End of the number starting at `i`, or -1 (RFC 8259 grammar: no leading zeros, no `+`, no
 * bare `.`). A number that runs to the end of the bytes is complete only in a `whole` text;
 * in a prefix it may have been cut short.
 */
function numberEnd(b: Uint8Array, i: number, whole: boolean): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i]) && b[i] !== 0x30) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i < b.length || whole ? i : -1;
}

function literalEnd(b: Uint8Array, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}

/** End of a scalar (string, number, literal) starting at `i`, or -1. */
function scalarEnd(b: Uint8Array, i: number, whole: boolean): number {
  const c = b[i];
  if (c === QUOTE) return stringEnd(b, i);
  if (c === 0x74) return literalEnd(b, i, 'true');
  if (c === 0x66) return literalEnd(b, i, 'false');
  if (c === 0x6e) return literalEnd(b, i, 'null');
  if (c === 0x2d || isDigit(c)) return numberEnd(b, i, whole);
  return -1;
}

/**
 * End of the value starting at `i` (after any whitespace), or -1 if the text breaks or
 * ends first. Containers are walked with an explicit stack.
 */
export function valueEnd(b: Uint8Array, i: number, whole = false): number {
  i = skipWs(b, i);
  const c = b[i];
  if (c !== OPEN_OBJECT && c !== OPEN_ARRAY) return scalarEnd(b, i, whole);
  const stack: number[] = [];
  for (;;) {
    const open = b[i];
    if (open === OPEN_OBJECT || open === OPEN_ARRAY) {
      stack.push(open);
      i = skipWs(b, i + 1);
      if (b[i] === (open === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        stack.pop();
        i++;
      } else {
        if (open === OPEN_OBJECT) {
          if (b[i] !== QUOTE || (i = stringEnd(b, i)) < 0) return -1;
          i = skipWs(b, i);
          if (b[i] !== COLON) return -1;
          i = skipWs(b, i + 1);
        }
        if (b[i] === OPEN_OBJECT || b[i] === OPEN_ARRAY) continue; // descend
        if ((i = scalarEnd(b, i, false)) < 0) return -1;
      }
    } else if ((i = scalarEnd(b, i, false)) < 0) return -1;
    // After a value inside containers: a comma and the next member, or closing brackets.
    for (;;) {
      if (stack.length === 0) return i;
      i = skipWs(b, i);
      const top = stack[stack.length - 1]!;
      if (b[i] === COMMA) {
        i = skipWs(b, i + 1);
        if (top === OPEN_OBJECT) {
          if (b[i] !== QUOTE || (i = stringEnd(b, i)) < 0) return -1;
          i = skipWs(b, i);
          if (b[i] !== COLON) return -1;
          i = skipWs(b, i + 1);
        }
        break; // the next value
      }
      if (b[i] !== (top === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) return -1;
      stack.pop();
      i++;
    }
  }
}

/** The decoded text of the member name whose quoted form is b[start, end). */
function memberName(b: Uint8Array, start: number, end: number): string {
  const raw = Buffer.from(b.buffer, b.byteOffset + start, end - start);
  return raw.includes(BACKSLASH) ? (JSON.parse(raw.toString('utf8')) as string) : raw.toString('utf8', 1, raw.length - 1);
}

/**
 * The span of the value at `path` (member names, outermost first) in a JSON text or a
 * prefix of one, as JSON.parse would pick it (the last of duplicate names). Undefined when
 * the path is absent, or the text breaks or ends before the value is complete.
 */
export function findMember(b: Uint8Array, path: readonly string[]): Span | undefined {
  let i = skipWs(b, 0);
  let found: Span | undefined;
  let depth = 0;
  while (depth < path.length) {
    if (b[i] !== OPEN_OBJECT) return found;
    i = skipWs(b, i + 1);
    if (b[i] === CLOSE_OBJECT) return found;
    let inner: number | undefined;
    for (;;) {
      const keyStart = i;
      if (b[i] !== QUOTE || (i = stringEnd(b, i)) < 0) break;
      const name = memberName(b, keyStart, i);
      i = skipWs(b, i);
      if (b[i] !== COLON) break;
      const start = skipWs(b, i + 1);
      if (name === path[depth] && depth === path.length - 1) {
        const end = valueEnd(b, start);
        if (end < 0) break;
        found = { start, end };
        i = end;
      } else {
        if (name === path[depth]) inner = start; // the last one wins
        if ((i = valueEnd(b, start)) < 0) break;
      }
      i = skipWs(b, i);
      if (b[i] !== COMMA) break;
      i = skipWs(b, i + 1);
    }
    if (depth === path.length - 1 || inner === undefined) return found;
    i = inner;
    depth++;
  }
  return found;
}

/** Whether `b` is exactly one JSON value (surrounding whitespace allowed) in well-formed UTF-8. */
export function isJsonText(b: Uint8Array): boolean {
  const end = valueEnd(b, 0, true);
  return end >= 0 && skipWs(b, end) === b.length && isUtf8(b);
}

/**
 * Where the value at `path` begins in a JSON text or a prefix of one, reached through the
 * first member of each name (JSON.parse takes the last of duplicates: a caller that relies
 * on this checks the parse). `more`: the prefix ends (or breaks) before the answer;
 * `absent`: the path is not there, or not through objects.
 */
export function firstMemberStart(b: Uint8Array, path: readonly string[]): number | 'more' | 'absent' {
  let i = skipWs(b, 0);
  for (const name of path) {
    if (i >= b.length) return 'more';
    if (b[i] !== OPEN_OBJECT) return 'absent';
    i = skipWs(b, i + 1);
    for (;;) {
      if (i >= b.length) return 'more';
      if (b[i] !== QUOTE) return 'absent';
      const keyStart = i;
      if ((i = stringEnd(b, i)) < 0) return 'more';
      const keyEnd = i;
      i = skipWs(b, i);
      if (i >= b.length) return 'more';
      if (b[i] !== COLON) return 'absent';
      const start = skipWs(b, i + 1);
      if (start >= b.length) return 'more';
      if (memberName(b, keyStart, keyEnd) === name) {
        i = start;
        break;
      }
      if ((i = valueEnd(b, start)) < 0) return 'more';
      i = skipWs(b, i);
      if (i >= b.length) return 'more';
      if (b[i] !== COMMA) return 'absent';
      i = skipWs(b, i + 1);
    }
  }
  return i;
}
