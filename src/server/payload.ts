/**
 * Payload codec: wire payloads (json, text, base64, file path) to datastore put
 * sources, and read results back to payloads. Large data goes by file path so
 * nothing is limited to what fits in one message.
 */
import { promises as fs } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { PutSource } from '../datastore/datastore.js';
import type { Payload, PayloadEncoding } from '../../protocol/common.js';
import { InvalidArgument, PayloadTooLarge } from '../model/errors.js';
import type { StorageClassRegistry } from '../model/storage-class.js';
import { formatterFor } from '../datastore/formatters.js';
import { OpenedFile } from '../datastore/opened-file.js';
import { pathError, writeFileAtomically } from '../datastore/file-transfer.js';
import { Base64Json, spliced } from './spliced-json.js';
import { decodeBase64Text, takeDecoded } from './inline-base64.js';
import { JSON_AS_IS } from '../model/json-value.js';
import { ownedBytes } from '../util/owned-bytes.js';

export type EncodedPayload =
  | { encoding: 'json'; value: unknown }
  | { encoding: 'text'; text: string }
  | { encoding: 'base64'; data: string }
  | { encoding: 'file'; path: string };

function tooLarge(size: number, max: number, what: string): Error {
  return new PayloadTooLarge(
    `${what} is ${size} bytes, over maxInlineBytes (${max}); send it as a file path instead (encoding "file").`,
    { details: { size, maxInlineBytes: max } },
  );
}

function requireAbsolute(path: string): void {
  if (!isAbsolute(path)) throw new InvalidArgument(`File paths must be absolute: ${JSON.stringify(path)}`);
  if (path.includes('\0')) throw new InvalidArgument('File paths must not contain NUL bytes');
}

/**
 * Decode base64 within the inline limit. Buffer.from skips characters outside the
 * alphabet, so a length check after decoding catches them without a regex pass over
 * megabytes of text. A token from the reader stands for text decoded already.
 *
 * The bytes are in memory of their own, which nobody else holds (a store may keep them as they
 * are): a small decode is copied out of Node's shared pool (ownedBytes), where, kept by the store
 * or by a put's record info (the bytes its checksum is read from later, kept for the session), it
 * kept its whole pool alive. (The store copied it anyway.)
 */
export function decodeBase64(data: string, maxInlineBytes: number, what: string): Buffer {
  const taken = takeDecoded(data);
  const size = Math.floor(((taken?.[1] ?? data.length) * 3) / 4);
  if (size > maxInlineBytes) throw tooLarge(size, maxInlineBytes, what);
  // Decoded from a long literal: in memory of its own, which a streamed decode sized from the
  // message holds a little more of than the bytes; not copied (that doubled a 32 MiB put's peak).
  if (taken) return taken[0];
  const bytes = decodeBase64Text(data.length, (i, j) => data.slice(Math.max(0, i), j));
  if (!bytes) throw new InvalidArgument(`${what} is not valid base64.`);
  return ownedBytes(bytes);
}

/** The UTF-8 size of a string's JSON text (quotes included), as JSON.stringify writes it. */
function jsonStringBytes(s: string): number {
  // Nothing JSON.stringify writes other than as one UTF-8 sequence of its own.
  if (JSON_AS_IS.test(s)) return Buffer.byteLength(s, 'utf8') + 2;
  let n = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d) n += 2;
    else if (c < 0x20) n += 6;
    else if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) n += 6; // a lone surrogate is written as \udxxx
    else n += 3;
  }
  return n;
}

/** At least jsonStringBytes(s), without reading `s`: each UTF-16 unit is at most 6 bytes of JSON text (`\\u001f`). */
function jsonStringBytesAtMost(s: string): number {
  return 6 * s.length + 2;
}

/**
 * The UTF-8 size of `JSON.stringify(value)`, counted without serialising it (which would
 * hold a second copy of a large value). The value came from JSON.parse: no cycles, nothing
 * but JSON types. A walk with a stack, so nesting depth cannot overflow the call stack.
 */
export function jsonByteLength(value: unknown, stringBytes: (s: string) => number = jsonStringBytes): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') total += stringBytes(v);
    else if (typeof v === 'number') total += Number.isFinite(v) ? String(v).length : 4;
    else if (typeof v === 'boolean') total += v ? 4 : 5;
    else if (v === null) total += 4;
    else if (Array.isArray(v)) {
      total += 2 + Math.max(0, v.length - 1);
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    } else if (typeof v === 'object') {
      const keys = Object.keys(v);
      total += 2 + Math.max(0, keys.length - 1);
      for (const k of keys) {
        total += stringBytes(k) + 1;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return total;
}

/** A decoded put payload, plus what to do after a successful put (move deletes the source). */
export interface DecodedPut {
  source: PutSource;
  /** Absent when nothing is to be done (no await, no turn of the event loop, for it). */
  afterPut?(): Promise<void>;
}

/**
 * A put payload decoded: inline ones (JSON, text, base64) at once, in the caller's turn (no
 * promise to await: one turn of the event loop fewer per small put); a file is looked at first,
 * so it comes as a promise.
 */
export function decodePutPayload(p: Payload, maxInlineBytes: number): DecodedPut | Promise<DecodedPut> {
  switch (p.encoding) {
    case 'json': {
      // A bound first, which reads no string: the exact count (a pass over every string) only near the limit.
      if (jsonByteLength(p.value, jsonStringBytesAtMost) > maxInlineBytes) {
        const size = jsonByteLength(p.value);
        if (size > maxInlineBytes) throw tooLarge(size, maxInlineBytes, 'The JSON payload');
      }
      return { source: { kind: 'value', value: p.value } };
    }
    case 'text': {
      const size = Buffer.byteLength(p.text);
      if (size > maxInlineBytes) throw tooLarge(size, maxInlineBytes, 'The text payload');
      return { source: { kind: 'value', value: p.text } };
    }
    case 'base64': {
      return { source: { kind: 'bytes', bytes: decodeBase64(p.data, maxInlineBytes, 'The base64 payload'), owned: true } };
    }
    case 'file':
      return decodeFilePayload(p);
  }
}

async function decodeFilePayload(p: Extract<Payload, { encoding: 'file' }>): Promise<DecodedPut> {
  requireAbsolute(p.path);
  // 'link' cannot share storage with an in-memory datastore; it reads like 'copy'.
  const afterPut = p.mode === 'move' ? async () => fs.rm(p.path, { force: true }) : undefined;
  let file: OpenedFile;
  try {
    // Opened here, so a file that cannot be read (or is not a regular file) fails before the put
    // is looked at; lent to the put's reader, which reads it without opening the path again (see
    // opened-file.ts), or copies it.
    file = await OpenedFile.open(p.path);
  } catch (err) {
    throw pathError(err, 'read', p.path);
  }
  return { source: { kind: 'file', path: p.path, opened: file.lend() }, afterPut };
}

/** Write bytes to an absolute destination atomically (temp file + rename; see file-transfer.ts). */
export async function writeDestination(path: string, bytes: Buffer): Promise<void> {
  requireAbsolute(path);
  await writeFileAtomically(path, bytes);
}

export function defaultEncoding(kind: string): PayloadEncoding {
  if (kind === 'bytes') return 'base64';
  if (kind === 'text') return 'text';
  return 'json';
}

/** Encode a read value inline (json or text). Bytes values must use base64 or file. */
export function encodeValue(value: unknown, as: 'json' | 'text', maxInlineBytes: number): { payload: EncodedPayload; size: number } {
  if (as === 'text') {
    if (typeof value !== 'string') throw new InvalidArgument('This value is not text; read it with as="json" or as="base64".');
    const size = Buffer.byteLength(value);
    if (size > maxInlineBytes) throw tooLarge(size, maxInlineBytes, 'The value');
    return { payload: { encoding: 'text', text: value }, size };
  }
  if (value instanceof Uint8Array) throw new InvalidArgument('This value is bytes; read it with as="base64" or as="file".');
  const json = JSON.stringify(value) ?? 'null';
  const size = Buffer.byteLength(json);
  if (size > maxInlineBytes) throw tooLarge(size, maxInlineBytes, 'The value');
  return { payload: { encoding: 'json', value }, size };
}

/** Bytes as a base64 payload, encoded straight into the response frame (never one big string). */
export function encodeBytes(bytes: Buffer, maxInlineBytes: number): { payload: EncodedPayload; size: number } {
  if (bytes.length > maxInlineBytes) throw tooLarge(bytes.length, maxInlineBytes, 'The value');
  return { payload: { encoding: 'base64', data: spliced<string>(new Base64Json(bytes)) }, size: bytes.length };
}

export { tooLarge };

/** Encode a read value as the caller asked (default by storage-class kind). */
export async function encodeReadValue(
  value: unknown,
  storageClass: string,
  registry: StorageClassRegistry,
  as: PayloadEncoding | undefined,
  destination: string | undefined,
  maxInlineBytes: number,
): Promise<{ payload: EncodedPayload; size: number }> {
  const sc = registry.get(storageClass);
  const encoding = as ?? defaultEncoding(sc.kind);
  if (encoding === 'json' || encoding === 'text') return encodeValue(value, encoding, maxInlineBytes);
  const bytes = formatterFor(sc).toBytes(value);
  if (encoding === 'file') {
    if (!destination) throw new InvalidArgument('as="file" needs a destination path.');
    await writeDestination(destination, bytes);
    return { payload: { encoding: 'file', path: destination }, size: bytes.length };
  }
  return encodeBytes(bytes, maxInlineBytes);
}
