/**
 * Base64 payloads decoded straight from a large message's bytes. The reader's hook decodes
 * `params.payload.data` beside `encoding: "base64"` into a buffer and leaves a token in its
 * place, so the text's string (4/3 of the value, held with the message bytes) is never made;
 * decodeBase64 takes the buffer back by its token. Text the string path would read otherwise
 * is left to it (the string made, and refused, as before): Node's decoder skips what is not
 * base64 (a quote, a backslash of an escape, a control or non-ASCII byte), so such text
 * decodes to fewer bytes than its length promises. (streamed-base64.ts decodes the same text
 * while the message arrives, so that the message's bytes are never all held either.)
 */
import { randomBytes } from 'node:crypto';
import type { LongLiteralHook } from '../util/parse-json-bytes.js';

/** Base64 text decoded this many characters at a time (a multiple of 4). */
const STEP = 4 * 64 * 1024;
const TOKEN = `\u0000qb-base64-${randomBytes(12).toString('hex')}-`;
let tokens = 0;
const decoded = new Map<string, [bytes: Buffer, textLength: number]>();
// A token never taken (its request failed first): its bytes go with the message.
const untaken = new FinalizationRegistry<string>((token) => decoded.delete(token));

/**
 * Base64 text of `length` characters, read `part` by part, decoded: undefined unless it gives
 * exactly the bytes its length promises. Long text is decoded piecewise into one buffer: Node
 * copies a whole string to a temporary buffer before decoding it.
 */
export function decodeBase64Text(length: number, part: (from: number, to: number) => string): Buffer | undefined {
  const tail = part(length - 2, length);
  const expected = length % 4 === 0 ? (length / 4) * 3 - (tail.endsWith('==') ? 2 : tail.endsWith('=') ? 1 : 0) : -1;
  let bytes = Buffer.from(length <= STEP ? part(0, length) : '', 'base64');
  let at = bytes.length;
  if (length > STEP && expected >= 0) {
    bytes = Buffer.allocUnsafeSlow(expected);
    for (let i = 0; i < length; i += STEP) at += bytes.write(part(i, i + STEP), at, 'base64');
  }
  return at === expected ? bytes : undefined;
}

/** The payload of a base64 put in a parsed message (`params.payload` beside `encoding: "base64"`), if it is one. */
export function base64PayloadOf(root: unknown): { data?: unknown } | undefined {
  const payload = (root as { params?: { payload?: { encoding?: unknown; data?: unknown } } } | null)?.params?.payload;
  return typeof payload === 'object' && payload !== null && payload.encoding === 'base64' ? payload : undefined;
}

/** A string to stand for decoded bytes in a message (see adoptDecoded). */
export function newToken(): string {
  return TOKEN + tokens++;
}

/** Let `token`, the value of `holder.data`, stand for `bytes` (decoded from `textLength` characters) until taken. */
export function adoptDecoded(token: string, holder: object, bytes: Buffer, textLength: number): void {
  decoded.set(token, [bytes, textLength]);
  untaken.register(holder, token);
}

export const decodeBase64Payload: LongLiteralHook = (root, holder, key, text) => {
  const bytes = key === 'data' && holder === base64PayloadOf(root) ? decodeBase64Text(text.length, (i, j) => text.toString('latin1', i, j)) : undefined;
  if (!bytes) return undefined;
  const token = newToken();
  adoptDecoded(token, holder, bytes, text.length);
  return token;
};

/**
 * The bytes a token stands for (once), with the length of the text they were decoded from.
 * Nothing else holds them: they were allocated for this payload alone.
 */
export function takeDecoded(data: string): [bytes: Buffer, textLength: number] | undefined {
  const found = decoded.get(data);
  decoded.delete(data);
  return found;
}
