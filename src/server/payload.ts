/**
 * Payload codec: wire payloads (json, text, base64, file path) to datastore put
 * sources, and read results back to payloads. Large data goes by file path so
 * nothing is limited to what fits in one message.
 */
import { promises as fs } from 'node:fs';
import { dirname, isAbsolute, join, basename } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import type { PutSource } from '../datastore/datastore.js';
import type { Payload, PayloadEncoding } from '../../protocol/common.js';
import { InvalidArgument, IOFailure, PayloadTooLarge } from '../model/errors.js';
import type { StorageClassRegistry } from '../model/storage-class.js';
import { formatterFor } from '../datastore/formatters.js';

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

function ioError(err: unknown, action: string, path: string): Error {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return new InvalidArgument(`Cannot ${action} ${path}: no such file or directory`, { details: { code: e.code } });
  return new IOFailure(`Cannot ${action} ${path}: ${e.message}`, { details: { code: e.code } });
}

/**
 * Decode base64 within the inline limit. Buffer.from skips characters outside the
 * alphabet, so a length check after decoding catches them without a regex pass over
 * megabytes of text.
 */
export function decodeBase64(data: string, maxInlineBytes: number, what: string): Buffer {
  const size = Math.floor((data.length * 3) / 4);
  if (size > maxInlineBytes) throw tooLarge(size, maxInlineBytes, what);
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  const bytes = Buffer.from(data, 'base64');
  if (data.length % 4 !== 0 || bytes.length !== (data.length / 4) * 3 - padding) {
    throw new InvalidArgument(`${what} is not valid base64.`);
  }
  return bytes;
}

const READ_CHUNK = 4 * 1024 * 1024;

/**
 * Read a whole file and its SHA-256 together: each chunk is hashed while the next one is
 * being read (reads run on libuv's thread pool), so the checksum costs little extra time.
 * A file that shrinks while being read gives what was there; one that grows, its first
 * `size` bytes (the size when opened).
 */
export async function readHashed(path: string): Promise<{ bytes: Buffer; sha256: string }> {
  const fh = await fs.open(path, 'r');
  try {
    const { size } = await fh.stat();
    const bytes = Buffer.allocUnsafeSlow(size);
    const hash = createHash('sha256');
    let done = 0;
    let next = size > 0 ? fh.read(bytes, 0, Math.min(READ_CHUNK, size), 0) : null;
    while (next) {
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      const start = done;
      done += bytesRead;
      next = done < size ? fh.read(bytes, done, Math.min(READ_CHUNK, size - done), done) : null;
      hash.update(bytes.subarray(start, done));
    }
    return { bytes: done === size ? bytes : bytes.subarray(0, done), sha256: hash.digest('hex') };
  } finally {
    await fh.close();
  }
}

/**
 * An upper bound of `JSON.stringify(value)`'s UTF-8 size, counted without serialising (most
 * payloads are far below the limit, so only the few near it are measured exactly). A string
 * unit takes at most 6 bytes (`\uXXXX`); the count stops once it passes `limit`. The value
 * came from JSON.parse: no cycles, nothing but JSON types.
 */
function jsonSizeBound(value: unknown, limit: number): number {
  let total = 0;
  const add = (v: unknown): void => {
    if (total > limit) return;
    if (typeof v === 'string') total += 2 + 6 * v.length;
    else if (Array.isArray(v)) {
      total += 2 + v.length;
      for (const x of v) add(x);
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      total += 2 + keys.length;
      for (const k of keys) {
        total += 3 + 6 * k.length;
        add((v as Record<string, unknown>)[k]);
      }
    } else total += 24; // a number's longest form (e.g. -1.2345678901234567e-300), true, false, null
  };
  add(value);
  return total;
}

/** A decoded put payload, plus what to do after a successful put (move deletes the source). */
export interface DecodedPut {
  source: PutSource;
  afterPut(): Promise<void>;
}

export async function decodePutPayload(p: Payload, maxInlineBytes: number): Promise<DecodedPut> {
  const nothing = async () => {};
  switch (p.encoding) {
    case 'json': {
      if (jsonSizeBound(p.value, maxInlineBytes) > maxInlineBytes) {
        const size = Buffer.byteLength(JSON.stringify(p.value) ?? 'null');
        if (size > maxInlineBytes) throw tooLarge(size, maxInlineBytes, 'The JSON payload');
      }
      return { source: { kind: 'value', value: p.value }, afterPut: nothing };
    }
    case 'text': {
      const size = Buffer.byteLength(p.text);
      if (size > maxInlineBytes) throw tooLarge(size, maxInlineBytes, 'The text payload');
      return { source: { kind: 'value', value: p.text }, afterPut: nothing };
    }
    case 'base64': {
      const bytes = decodeBase64(p.data, maxInlineBytes, 'The base64 payload');
      // A small decode is a slice of Node's shared pool: keeping it would keep the whole pool.
      return { source: { kind: 'bytes', bytes, owned: bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length }, afterPut: nothing };
    }
    case 'file': {
      requireAbsolute(p.path);
      let read: { bytes: Buffer; sha256: string };
      try {
        read = await readHashed(p.path);
      } catch (err) {
        throw ioError(err, 'read', p.path);
      }
      // 'link' cannot share storage with an in-memory datastore; it reads like 'copy'.
      const afterPut = p.mode === 'move' ? async () => fs.rm(p.path, { force: true }) : nothing;
      return { source: { kind: 'bytes', bytes: read.bytes, sha256: read.sha256, owned: true }, afterPut };
    }
  }
}

/** Write bytes to an absolute destination atomically (temp file + rename). */
export async function writeDestination(path: string, bytes: Buffer): Promise<void> {
  requireAbsolute(path);
  const tmp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw ioError(err, 'write', path);
  }
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

export function encodeBytes(bytes: Buffer, maxInlineBytes: number): { payload: EncodedPayload; size: number } {
  if (bytes.length > maxInlineBytes) throw tooLarge(bytes.length, maxInlineBytes, 'The value');
  return { payload: { encoding: 'base64', data: bytes.toString('base64') }, size: bytes.length };
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
