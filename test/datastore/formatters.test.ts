import { describe, it, expect } from 'vitest';
import { BUTLER_LOG_RECORDS_FORMATTER, BytesFormatter, canonicalFormatterName, FORMATTERS, formatterByName, formatterFor, JsonFormatter, TableFormatter, TextFormatter } from '../../src/datastore/formatters.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { InvalidArgument, InvalidValue } from '../../src/model/errors.js';
import { canonicalJson } from '../../src/model/json-value.js';

const reg = StorageClassRegistry.withBuiltins();

describe('formatters', () => {
  it('are chosen by storage class kind', () => {
    expect(formatterFor(reg.get('StructuredDataDict'))).toBe(JsonFormatter);
    expect(formatterFor(reg.get('StructuredDataList'))).toBe(JsonFormatter);
    expect(formatterFor(reg.get('Json'))).toBe(JsonFormatter);
    expect(formatterFor(reg.get('Table'))).toBe(TableFormatter);
    expect(formatterFor(reg.get('Text'))).toBe(TextFormatter);
    expect(formatterFor(reg.get('Bytes'))).toBe(BytesFormatter);
    expect(JsonFormatter.extension).toBe('.json');
    for (const f of FORMATTERS) expect(formatterByName(f.name).name).toBe(f.name);
    expect(() => formatterByName('nope')).toThrow(InvalidArgument);
  });

  it("name daf_butler's JsonFormatter for JSON and tables, and keep ours where daf_butler has none", () => {
    expect(JsonFormatter.name).toBe('lsst.daf.butler.formatters.json.JsonFormatter');
    expect(TableFormatter.name).toBe('lsst.daf.butler.formatters.json.JsonFormatter');
    expect(TableFormatter.extension).toBe('.json');
    expect(TextFormatter.name).toBe('quantum_butler.formatters.TextFormatter');
    expect(TextFormatter.extension).toBe('.txt');
    expect(BytesFormatter.name).toBe('quantum_butler.formatters.BytesFormatter');
    expect(BytesFormatter.extension).toBe('.bin');
  });

  it("name daf_butler's ButlerLogRecordsFormatter and PackagesFormatter for their classes (our JSON is those formatters' format)", () => {
    const logs = formatterFor(reg.get('ButlerLogRecords'));
    expect(logs.name).toBe('lsst.daf.butler.formatters.logs.ButlerLogRecordsFormatter');
    expect(BUTLER_LOG_RECORDS_FORMATTER).toBe(logs.name);
    expect(logs.extension).toBe('.json');
    const records = [{ name: 'lsst.task', levelname: 'INFO', message: 'done' }];
    expect(logs.toBytes(records).toString()).toBe(JsonFormatter.toBytes(records).toString());
    expect(formatterByName(logs.name, reg.get('ButlerLogRecords'))).toBe(logs);
    expect(formatterByName(logs.name).fromBytes(logs.toBytes(records))).toEqual(records);
    // Packages: daf_butler's PackagesFormatter reads a `.json` file as a JSON object.
    const packages = formatterFor(reg.get('Packages'));
    expect([packages.name, packages.extension]).toEqual(['lsst.daf.butler.formatters.packages.PackagesFormatter', '.json']);
    expect(formatterByName(packages.name, reg.get('Packages')).fromBytes(packages.toBytes({ numpy: '2.1.0' }))).toEqual({ numpy: '2.1.0' });
    // Other classes keep daf_butler's JsonFormatter, TaskMetadata included (daf_butler's choice too).
    expect(formatterFor(reg.get('TaskMetadata'))).toBe(JsonFormatter);
  });

  it('read records that carry the names used before (legacy names map to the current formatter)', () => {
    expect(canonicalFormatterName('quantum_butler.formatters.JsonFormatter')).toBe('lsst.daf.butler.formatters.json.JsonFormatter');
    expect(canonicalFormatterName('quantum_butler.formatters.TableFormatter')).toBe('lsst.daf.butler.formatters.json.JsonFormatter');
    expect(formatterByName('quantum_butler.formatters.JsonFormatter', reg.get('StructuredDataDict'))).toBe(JsonFormatter);
    expect(formatterByName('quantum_butler.formatters.TableFormatter', reg.get('Table'))).toBe(TableFormatter);
    expect(formatterByName('lsst.daf.butler.formatters.json.JsonFormatter', reg.get('Table'))).toBe(TableFormatter);
    expect(() => formatterByName('lsst.daf.butler.formatters.yaml.YamlFormatter', reg.get('StructuredDataDict'))).toThrow(InvalidArgument);
  });

  it('JSON output is canonical: sorted keys, deterministic bytes', () => {
    const a = { b: 1, a: { d: [1, { z: 1, y: 2 }], c: 'é' } };
    const b = { a: { c: 'é', d: [1, { y: 2, z: 1 }] }, b: 1 };
    expect(JsonFormatter.toBytes(a).toString('utf8')).toBe('{"a":{"c":"é","d":[1,{"y":2,"z":1}]},"b":1}');
    expect(JsonFormatter.toBytes(a).equals(JsonFormatter.toBytes(b))).toBe(true);
    expect(JsonFormatter.fromBytes(JsonFormatter.toBytes(a))).toEqual(a);
    expect(JsonFormatter.fromBytes(JsonFormatter.toBytes(null))).toBeNull();
    expect(JsonFormatter.fromBytes(JsonFormatter.toBytes([3, 'x']))).toEqual([3, 'x']);
  });

  it('JSON rejects non-JSON values and bad bytes', () => {
    expect(() => JsonFormatter.toBytes({ a: undefined })).toThrow(InvalidValue);
    expect(() => JsonFormatter.toBytes({ a: Infinity })).toThrow(InvalidValue);
    expect(() => JsonFormatter.toBytes(Buffer.from('x'))).toThrow(InvalidValue);
    expect(() => JsonFormatter.fromBytes(Buffer.from('{nope'))).toThrow(InvalidValue);
    expect(() => JsonFormatter.fromBytes(Buffer.from([0xff]))).toThrow(InvalidValue);
  });

  it('tables keep column order and validate shape', () => {
    const t = { columns: { z: [1, 2], a: [{ q: 1, p: 2 }, null] } };
    const bytes = TableFormatter.toBytes(t);
    expect(bytes.toString()).toBe('{"columns":{"z":[1,2],"a":[{"p":2,"q":1},null]}}');
    const back = TableFormatter.fromBytes(bytes) as typeof t;
    expect(back).toEqual(t);
    expect(Object.keys(back.columns)).toEqual(['z', 'a']);
    expect(() => TableFormatter.toBytes({ columns: { a: [1], b: [] } })).toThrow(InvalidValue);
    expect(() => TableFormatter.fromBytes(Buffer.from('{"columns":{"a":1}}'))).toThrow(InvalidValue);
  });

  it('text is UTF-8 and bytes are copied', () => {
    expect(TextFormatter.toBytes('héllo 😀')).toEqual(Buffer.from('héllo 😀', 'utf8'));
    expect(TextFormatter.fromBytes(Buffer.from('héllo 😀', 'utf8'))).toBe('héllo 😀');
    expect(() => TextFormatter.toBytes(3)).toThrow(InvalidValue);
    expect(() => TextFormatter.fromBytes(Buffer.from([0xc3]))).toThrow(InvalidValue);
    const src = Buffer.from([1, 2, 3]);
    const out = BytesFormatter.toBytes(src);
    expect(out).toEqual(src);
    out[0] = 9;
    expect(src[0]).toBe(1);
    expect(BytesFormatter.toBytes(new Uint8Array([4, 5]))).toEqual(Buffer.from([4, 5]));
    const read = BytesFormatter.fromBytes(src) as Buffer;
    read[1] = 9;
    expect(src[1]).toBe(2);
    expect(() => BytesFormatter.toBytes('x')).toThrow(InvalidValue);
  });

  it('JsonFormatter writes the UTF-8 bytes of the canonical text: ASCII copied, any other character encoded', () => {
    // é and ÿ fit in one latin1 byte but take two in UTF-8; the ASCII-only copy must not take them.
    for (const v of [{ b: 'x'.repeat(300), a: 1 }, { s: `${'x'.repeat(300)}é` }, { s: 'ÿ' }, { 'ü': '🚀', s: '\u2028' }]) {
      expect(JsonFormatter.toBytes(v).equals(Buffer.from(canonicalJson(v), 'utf8'))).toBe(true);
    }
  });

  it('toBytes gives the UTF-8 bytes in a buffer of their own, whatever the text (ASCII, other, a lone surrogate, empty)', () => {
    // A datastore keeps the buffer: never a slice of a larger one (Node's pool, a first try).
    for (const s of ['', 'x', 'x'.repeat(1000), 'é', `${'x'.repeat(999)}é`, '😀x', '\u2028', 'x\ud800']) {
      const bytes = TextFormatter.toBytes(s);
      expect(bytes.equals(Buffer.from(s, 'utf8'))).toBe(true);
      expect([bytes.byteOffset, bytes.buffer.byteLength]).toEqual([0, bytes.length]);
    }
  });
});
