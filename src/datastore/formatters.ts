/**
 * Formatters: a storage class's value ⇄ bytes. Output is deterministic (the same value
 * always gives the same bytes) so checksums are stable:
 *  - JsonFormatter (dict, list, json kinds): canonical JSON — UTF-8, no whitespace, object
 *    keys sorted recursively. Key order is therefore not preserved through a round trip.
 *  - TableFormatter (table kind): `{"columns":{...}}` with the column order kept (it is part of
 *    the table) and any object cells canonicalised.
 *  - TextFormatter: the UTF-8 encoding of the string. BytesFormatter: the bytes themselves.
 * `extension` includes the leading dot. fromBytes validates (InvalidValue on bad input) and
 * never returns memory shared with its argument.
 */
import { InvalidArgument, InvalidValue } from '../model/errors.js';
import { canonicalJson, jsTypeName } from '../model/json-value.js';
import { tableProblem, type StorageClassKind } from '../model/storage-kinds.js';
import type { StorageClass } from '../model/storage-class.js';

export interface Formatter {
  readonly name: string;
  /** File name extension, with its leading dot (e.g. `.json`). */
  readonly extension: string;
  /** A new buffer, never memory of `value` itself (datastores keep it without copying). */
  toBytes(value: unknown): Buffer;
  /** Every byte string is valid data (raw bytes): given bytes need no decoding to be checked. */
  readonly acceptsAnyBytes?: boolean;
  fromBytes(bytes: Buffer): unknown;
}

const PREFIX = 'quantum_butler.formatters.';

/**
 * UTF-8 bytes in a buffer of their own, not a slice of Node's shared pool: datastores keep
 * what toBytes returns, and a pool slice would keep its whole 8 KiB pool alive.
 */
function utf8Bytes(text: string): Buffer {
  const out = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'utf8'));
  out.write(text, 0, 'utf8');
  return out;
}

function decodeUtf8(bytes: Uint8Array, formatter: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new InvalidValue(`${formatter}: the bytes are not valid UTF-8.`, { details: { formatter } });
  }
}

function parseJsonBytes(bytes: Uint8Array, formatter: string): unknown {
  const text = decodeUtf8(bytes, formatter);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InvalidValue(`${formatter}: the bytes are not valid JSON: ${(e as Error).message}`, { details: { formatter } });
  }
}

export const JsonFormatter: Formatter = Object.freeze({
  name: `${PREFIX}JsonFormatter`,
  extension: '.json',
  toBytes(value: unknown): Buffer {
    return utf8Bytes(canonicalJson(value));
  },
  fromBytes(bytes: Buffer): unknown {
    return parseJsonBytes(bytes, `${PREFIX}JsonFormatter`);
  },
});

export const TableFormatter: Formatter = Object.freeze({
  name: `${PREFIX}TableFormatter`,
  extension: '.json',
  toBytes(value: unknown): Buffer {
    const p = tableProblem(value);
    if (p) throw new InvalidValue(`${PREFIX}TableFormatter: ${p}.`, { details: { problem: p } });
    const columns = (value as { columns: Record<string, unknown[]> }).columns;
    const body = Object.keys(columns)
      .map((n) => `${JSON.stringify(n)}:[${columns[n]!.map((cell) => canonicalJson(cell)).join(',')}]`)
      .join(',');
    return utf8Bytes(`{"columns":{${body}}}`);
  },
  fromBytes(bytes: Buffer): unknown {
    const v = parseJsonBytes(bytes, `${PREFIX}TableFormatter`);
    const p = tableProblem(v);
    if (p) throw new InvalidValue(`${PREFIX}TableFormatter: ${p}.`, { details: { problem: p } });
    return v;
  },
});

export const TextFormatter: Formatter = Object.freeze({
  name: `${PREFIX}TextFormatter`,
  extension: '.txt',
  toBytes(value: unknown): Buffer {
    if (typeof value !== 'string') {
      throw new InvalidValue(`${PREFIX}TextFormatter: expected a string, got ${jsTypeName(value)}.`, { details: { got: jsTypeName(value) } });
    }
    return utf8Bytes(value);
  },
  fromBytes(bytes: Buffer): unknown {
    return decodeUtf8(bytes, `${PREFIX}TextFormatter`);
  },
});

export const BytesFormatter: Formatter = Object.freeze({
  name: `${PREFIX}BytesFormatter`,
  extension: '.bin',
  acceptsAnyBytes: true,
  toBytes(value: unknown): Buffer {
    if (!(value instanceof Uint8Array)) {
      throw new InvalidValue(`${PREFIX}BytesFormatter: expected bytes, got ${jsTypeName(value)}.`, { details: { got: jsTypeName(value) } });
    }
    const out = Buffer.allocUnsafeSlow(value.length);
    out.set(value);
    return out;
  },
  fromBytes(bytes: Buffer): unknown {
    return Buffer.from(bytes);
  },
});

const BY_KIND: Readonly<Record<StorageClassKind, Formatter>> = {
  dict: JsonFormatter,
  list: JsonFormatter,
  json: JsonFormatter,
  table: TableFormatter,
  text: TextFormatter,
  bytes: BytesFormatter,
};

export const FORMATTERS: readonly Formatter[] = [JsonFormatter, TableFormatter, TextFormatter, BytesFormatter];

/** The formatter for a storage class (chosen by its kind). */
export function formatterFor(sc: StorageClass): Formatter {
  const f = BY_KIND[sc.kind];
  if (!f) throw new InvalidArgument(`No formatter for StorageClass ${sc.name} of kind '${String(sc.kind)}'.`, { details: { storageClass: sc.name } });
  return f;
}

/** A formatter by its full name (as stored in datastore records); InvalidArgument if unknown. */
export function formatterByName(name: string): Formatter {
  const f = FORMATTERS.find((x) => x.name === name);
  if (!f) throw new InvalidArgument(`Unknown formatter '${name}'.`, { details: { formatter: name, known: FORMATTERS.map((x) => x.name) } });
  return f;
}

