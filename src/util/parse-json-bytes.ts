/**
 * JSON.parse for a UTF-8 body that may carry long strings (a base64 payload, a large text),
 * without holding them three times. `JSON.parse(body.toString())` holds the bytes, the whole
 * text, and a copy of each string value the parser makes, all at once: four times a 64 MiB
 * base64 payload. Here each string literal longer than LONG_STRING is made once, straight
 * from the bytes, and the rest of the body (the envelope) is parsed with a short marker in
 * its place, which is then swapped for the string.
 *
 * The result is JSON.parse's: a literal with escapes is decoded by JSON.parse itself; a
 * body with a literal that is not valid JSON string text (a raw control character) is
 * parsed the plain way, so the parse fails as it would have; object keys are never cut
 * out. Small bodies take the plain path. A `bytes` hook may take a long literal's text as
 * bytes instead (a base64 payload decoded straight from the body) and give what stands
 * in for it, so that its string is never made at all.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';

/** Bodies below this are parsed the plain way. */
export const LARGE_BODY = 1024 * 1024;
/** String literals (quotes included) longer than this are made on their own. */
export const LONG_STRING = 64 * 1024;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MARK = `\u0000qb-long-string-${randomBytes(12).toString('hex')}-`;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f]/;

interface Cut {
  start: number;
  end: number;
}

/** The text of a long literal (between its quotes) in the object `holder` under `key` of the parsed `root`: a stand-in for its string, or undefined to make the string. */
export type LongLiteralHook = (root: unknown, holder: object, key: string | number, text: Buffer) => string | undefined;

/** Index of the quote closing the string whose opening quote is at `open`, or -1. */
function closingQuote(b: Buffer, open: number): number {
  let at = open + 1;
  for (;;) {
    at = b.indexOf(QUOTE, at);
    if (at < 0) return -1;
    let backslashes = 0;
    while (b[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
    at++;
  }
}

/** The value of the string literal b[start, end) (quotes included), or undefined if it is not valid JSON string text. */
function literal(b: Buffer, start: number, end: number): string | undefined {
  const inner = b.subarray(start + 1, end - 1);
  const text = isAscii(inner) ? inner.toString('latin1') : inner.toString('utf8');
  if (CONTROL.test(text)) return undefined;
  if (!text.includes('\\')) return text;
  try {
    return JSON.parse(`"${text}"`) as string;
  } catch {
    return undefined;
  }
}

function isWs(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export function parseJsonBytes(body: Buffer, hook?: LongLiteralHook): unknown {
  // ASCII (simdutf's check) is its own latin1 text: copied, not decoded as UTF-8 (~1,000 instructions a 1 KiB body).
  if (body.length < LARGE_BODY && isAscii(body)) return JSON.parse(body.toString('latin1'));
  // A decode would read bytes that are not UTF-8 as U+FFFD, and the host's value would be stored changed.
  if (!isUtf8(body)) throw new SyntaxError('the body is not UTF-8');
  if (body.length < LARGE_BODY) return JSON.parse(body.toString('utf8'));
  const cuts: Cut[] = [];
  // Outside strings a quote only ever opens one (in valid JSON; anything else fails below).
  for (let open = body.indexOf(QUOTE); open >= 0; ) {
    const close = closingQuote(body, open);
    if (close < 0) break;
    if (close + 1 - open > LONG_STRING) {
      let next = close + 1;
      while (isWs(body[next])) next++;
      if (body[next] !== 0x3a) cuts.push({ start: open, end: close + 1 }); // not a key
    }
    open = body.indexOf(QUOTE, close + 1);
  }
  if (cuts.length === 0) return JSON.parse(body.toString('utf8'));
  let text = '';
  let from = 0;
  cuts.forEach((cut, k) => {
    text += body.toString('utf8', from, cut.start) + JSON.stringify(MARK + k);
    from = cut.end;
  });
  text += body.toString('utf8', from);
  const parsed = JSON.parse(text) as unknown;
  const restored = restore(parsed, cuts.length, (holder, key, k) => {
    const { start, end } = cuts[k]!;
    return (holder && hook?.(parsed, holder, key, body.subarray(start + 1, end - 1))) ?? literal(body, start, end);
  });
  // A literal that is not JSON string text: the plain parse fails as it would have.
  return restored ?? JSON.parse(body.toString('utf8'));
}

/** Swap each marker in the parsed envelope for its value (a walk with a stack: no recursion); undefined if one has none. */
function restore(root: unknown, left: number, value: (holder: object | null, key: string | number, k: number) => string | undefined): unknown {
  if (typeof root === 'string') return root.startsWith(MARK) ? value(null, '', 0) : root;
  const stack: unknown[] = [root];
  while (stack.length > 0 && left > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    const keys = Array.isArray(node) ? null : Object.keys(node);
    const n = keys ? keys.length : (node as unknown[]).length;
    for (let i = 0; i < n; i++) {
      const key = keys ? keys[i]! : i;
      const v = (node as Record<string | number, unknown>)[key];
      if (typeof v === 'string' && v.startsWith(MARK)) {
        const s = value(node, key, Number(v.slice(MARK.length)));
        if (s === undefined) return undefined;
        // Defined as an own data property, as JSON.parse does (also for "__proto__").
        Object.defineProperty(node, key, { value: s, writable: true, enumerable: true, configurable: true });
        left--;
      } else if (typeof v === 'object' && v !== null) stack.push(v);
    }
  }
  return root;
}
