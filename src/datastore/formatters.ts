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
 *
 * Names: where daf_butler has a formatter for the format, records name its class, so a
 * daf_butler FileDatastore that imports them can read the files: JSON and tables (JSON
 * `{"columns": ...}`) are `lsst.daf.butler.formatters.json.JsonFormatter` with `.json`, as
 * daf_butler's JsonFormatter writes; `ButlerLogRecords` (a JSON array of records) and
 * `Packages` (a JSON object) name the classes daf_butler's formatter configuration gives them,
 * ButlerLogRecordsFormatter and PackagesFormatter, which read exactly those `.json` bytes. daf_butler has no plain-text or raw-bytes formatter, so
 * those keep our own names. Records written before this used `quantum_butler.formatters.*`
 * for all four; LEGACY_FORMATTER_NAMES maps them, so such records still read and compare.
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
/** daf_butler's JSON formatter class (formatters/json.py): `.json`, read with json.loads. */
export const DAF_BUTLER_JSON_FORMATTER = 'lsst.daf.butler.formatters.json.JsonFormatter';

/**
 * UTF-8 bytes in a buffer of their own, not a slice of Node's shared pool: datastores keep
 * what toBytes returns, and a pool slice would keep its whole 8 KiB pool alive.
 */
function utf8Bytes(text: string): Buffer {
  // First as many bytes as characters, encoded in one call that says how many characters it
  // read: all of them only when the text is all ASCII (any other character takes two bytes or
  // more, a surrogate pair four). That spares the count of UTF-8 bytes first, a scan of the
  // whole text (1 KiB: ~1,900 instructions less a put, callgrind). Else counted and encoded.
  const first = Buffer.allocUnsafeSlow(text.length);
  if (utf8Encoder.encodeInto(text, first).read === text.length) return first;
  const out = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'utf8'));
  out.write(text, 0, 'utf8');
  return out;
}

const utf8Encoder = new TextEncoder();

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
  name: DAF_BUTLER_JSON_FORMATTER,
  extension: '.json',
  toBytes(value: unknown): Buffer {
    const json = canonicalJson(value, 'bytes');
    return typeof json === 'string' ? utf8Bytes(json) : json;
  },
  fromBytes(bytes: Buffer): unknown {
    return parseJsonBytes(bytes, 'JsonFormatter');
  },
});

/** daf_butler's formatter for log records (formatters/logs.py): a JSON array, `.json`. */
export const BUTLER_LOG_RECORDS_FORMATTER = 'lsst.daf.butler.formatters.logs.ButlerLogRecordsFormatter';

export const ButlerLogRecordsFormatter: Formatter = Object.freeze({ ...JsonFormatter, name: BUTLER_LOG_RECORDS_FORMATTER });

/** daf_butler's formatter for `Packages` (formatters/packages.py): reads `.json` as a JSON object of versions. */
export const PACKAGES_FORMATTER = 'lsst.daf.butler.formatters.packages.PackagesFormatter';

export const PackagesFormatter: Formatter = Object.freeze({ ...JsonFormatter, name: PACKAGES_FORMATTER });

/** A table is a JSON document too: daf_butler's JsonFormatter reads it (as a dict). */
export const TableFormatter: Formatter = Object.freeze({
  name: DAF_BUTLER_JSON_FORMATTER,
  extension: '.json',
  toBytes(value: unknown): Buffer {
    const p = tableProblem(value);
    if (p) throw new InvalidValue(`JsonFormatter (table): ${p}.`, { details: { problem: p } });
    const columns = (value as { columns: Record<string, unknown[]> }).columns;
    const body = Object.keys(columns)
      .map((n) => `${JSON.stringify(n)}:[${columns[n]!.map((cell) => canonicalJson(cell)).join(',')}]`)
      .join(',');
    return utf8Bytes(`{"columns":{${body}}}`);
  },
  fromBytes(bytes: Buffer): unknown {
    const v = parseJsonBytes(bytes, 'JsonFormatter (table)');
    const p = tableProblem(v);
    if (p) throw new InvalidValue(`JsonFormatter (table): ${p}.`, { details: { problem: p } });
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

/** Storage classes daf_butler writes with a formatter of its own, where our bytes are that formatter's format. */
const BY_CLASS_NAME: Readonly<Record<string, Formatter>> = Object.freeze({ ButlerLogRecords: ButlerLogRecordsFormatter, Packages: PackagesFormatter });

export const FORMATTERS: readonly Formatter[] = [JsonFormatter, TableFormatter, TextFormatter, BytesFormatter, ButlerLogRecordsFormatter, PackagesFormatter];

/** The formatter for a storage class (chosen by its name where daf_butler has a class of its own, else by its kind). */
export function formatterFor(sc: StorageClass): Formatter {
  if (Object.prototype.hasOwnProperty.call(BY_CLASS_NAME, sc.name)) return BY_CLASS_NAME[sc.name]!;
  const f = BY_KIND[sc.kind];
  if (!f) throw new InvalidArgument(`No formatter for StorageClass ${sc.name} of kind '${String(sc.kind)}'.`, { details: { storageClass: sc.name } });
  return f;
}

/** The names our records used before they took daf_butler's, and the name each stands for now. */
export const LEGACY_FORMATTER_NAMES: Readonly<Record<string, string>> = Object.freeze({
  [`${PREFIX}JsonFormatter`]: DAF_BUTLER_JSON_FORMATTER,
  [`${PREFIX}TableFormatter`]: DAF_BUTLER_JSON_FORMATTER,
});

/** The current name of a formatter given by any name it was ever recorded under. */
export function canonicalFormatterName(name: string): string {
  return Object.prototype.hasOwnProperty.call(LEGACY_FORMATTER_NAMES, name) ? LEGACY_FORMATTER_NAMES[name]! : name;
}

/**
 * The formatter that reads a record's artifact, for a value of storage class `sc`: a record
 * names the format (JSON, text, bytes) and the storage class decides how the value is checked
 * (a table's JSON is checked as a table). InvalidArgument if we cannot read that format.
 */
export function formatterByName(name: string, sc?: StorageClass): Formatter {
  const canonical = canonicalFormatterName(name);
  if (sc !== undefined) {
    const byKind = formatterFor(sc);
    if (byKind.name === canonical) return byKind;
  }
  const f = FORMATTERS.find((x) => x.name === canonical);
  if (!f) throw new InvalidArgument(`Unknown formatter '${name}'.`, { details: { formatter: name, known: [...new Set(FORMATTERS.map((x) => x.name))] } });
  return f;
}

