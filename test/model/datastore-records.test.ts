import { describe, it, expect } from 'vitest';
import {
  addRecords,
  cloneDatastoreRecordData,
  fromRecordRow,
  LEGACY_STORED_FILE_INFO_CLASS,
  mergeDatastoreRecordData,
  mergeRecordMappings,
  NULL_STRING,
  parseDatastoreRecordData,
  parseRecordMapping,
  serializeDatastoreRecordData,
  serializeRecordMapping,
  STORED_FILE_INFO_CLASS,
  STORED_FILE_INFO_TABLE,
  subsetDatastoreRecordData,
  toRecordRow,
  type DatastoreRecordData,
  type StoredFileInfo,
} from '../../src/model/datastore-records.js';
import { InvalidArgument } from '../../src/model/errors.js';

const ID_A = '74478304-abf1-4a9c-9eb2-926090a84446';
const ID_B = '0190a5e2-3c4d-7abc-8def-0123456789ab';
const ID_C = '11111111-2222-4333-8444-555555555555';
const hex = (id: string) => id.replace(/-/g, '');

const ROW = {
  formatter: 'lsst.daf.butler.formatters.yaml.YamlFormatter',
  path: 'gain/x.yaml',
  storage_class: 'GainFactors',
  component: '__NULL_STRING__',
  checksum: 'cab515f6-ab67-0484-393f-aaa525dd526f',
  file_size: 5412,
};
const PAYLOAD = {
  dataset_ids: [ID_A],
  records: { [STORED_FILE_INFO_CLASS]: { [hex(ID_A)]: { [STORED_FILE_INFO_TABLE]: [ROW] } } },
};

describe('StoredFileInfo rows', () => {
  it('round trips and encodes a null component as the sentinel', () => {
    const info: StoredFileInfo = { formatter: 'f', path: 'p#frag', storage_class: 'Json', component: null, checksum: null, file_size: -1 };
    const row = toRecordRow(info);
    expect(row.component).toBe(NULL_STRING);
    expect(fromRecordRow(row)).toEqual(info);
    expect(toRecordRow(fromRecordRow(ROW))).toEqual(ROW);
    expect(fromRecordRow({ ...ROW, component: 'wcs' }).component).toBe('wcs');
    expect(fromRecordRow({ ...ROW, file_size: null }).file_size).toBe(-1);
  });

  it('rejects rows with missing or mistyped fields', () => {
    expect(() => fromRecordRow({ ...ROW, path: undefined })).toThrow(InvalidArgument);
    expect(() => fromRecordRow({ ...ROW, file_size: '12' })).toThrow(InvalidArgument);
    expect(() => fromRecordRow({ ...ROW, checksum: 5 })).toThrow(InvalidArgument);
  });
});

describe('SerializedDatastoreRecordData', () => {
  it('parses and serializes back exactly; the UUID-looking checksum stays a string', () => {
    const data = parseDatastoreRecordData(JSON.parse(JSON.stringify(PAYLOAD)));
    const rows = data.get(ID_A)!.get(STORED_FILE_INFO_TABLE)!;
    expect(typeof rows[0]!.checksum).toBe('string');
    expect(rows[0]!.checksum).toBe('cab515f6-ab67-0484-393f-aaa525dd526f');
    const back = serializeDatastoreRecordData(data);
    expect(back).toEqual(PAYLOAD);
    expect(JSON.parse(JSON.stringify(back))).toEqual(PAYLOAD);
    expect(parseDatastoreRecordData(back)).toEqual(data);
  });

  it('keeps ids without rows, accepts both id forms and the legacy class name, sorts output', () => {
    const data = parseDatastoreRecordData({
      dataset_ids: [ID_C.toUpperCase(), hex(ID_B)],
      records: { [LEGACY_STORED_FILE_INFO_CLASS]: { [ID_A]: { zeta: [{ x: 1 }], [STORED_FILE_INFO_TABLE]: [ROW] } } },
    });
    expect([...data.keys()]).toEqual([ID_B, ID_A, ID_C].sort());
    expect(data.get(ID_B)!.size).toBe(0);
    expect([...data.get(ID_A)!.keys()]).toEqual([STORED_FILE_INFO_TABLE, 'zeta']);
    const s = serializeDatastoreRecordData(data);
    expect(s.dataset_ids).toEqual([ID_B, ID_A, ID_C].sort());
    expect(Object.keys(s.records)).toEqual([STORED_FILE_INFO_CLASS]);
    expect(Object.keys(s.records[STORED_FILE_INFO_CLASS]!)).toEqual([hex(ID_A)]);
    expect(serializeDatastoreRecordData(new Map([[ID_A, new Map()]]))).toEqual({ dataset_ids: [ID_A], records: {} });
  });

  it('rejects unknown record classes with daf_butler wording', () => {
    expect(() => parseDatastoreRecordData({ dataset_ids: [], records: { 'x.Y': {} } })).toThrow(
      'The class specified in the SerializedDatastoreRecordData (x.Y) is not a StoredDatastoreItemInfo.',
    );
  });

  it('never coerces and rejects non int|str|null values', () => {
    const parsed = parseDatastoreRecordData({ dataset_ids: [ID_A], records: { [STORED_FILE_INFO_CLASS]: { [hex(ID_A)]: { t: [{ a: '42', b: 42, c: null }] } } } });
    expect(parsed.get(ID_A)!.get('t')).toEqual([{ a: '42', b: 42, c: null }]);
    const bad = (v: unknown) => ({ dataset_ids: [], records: { [STORED_FILE_INFO_CLASS]: { [hex(ID_A)]: { t: [{ a: v }] } } } });
    for (const v of [1.5, true, { x: 1 }, [1]]) expect(() => parseDatastoreRecordData(bad(v))).toThrow(InvalidArgument);
    expect(() => parseDatastoreRecordData({ dataset_ids: ['nope'], records: {} })).toThrow(InvalidArgument);
    expect(() => parseDatastoreRecordData({ dataset_ids: 'x', records: {} })).toThrow(InvalidArgument);
    expect(() => parseDatastoreRecordData([])).toThrow(InvalidArgument);
  });

  it('does not alias input rows', () => {
    const input = JSON.parse(JSON.stringify(PAYLOAD));
    const data = parseDatastoreRecordData(input);
    data.get(ID_A)!.get(STORED_FILE_INFO_TABLE)![0]!.path = 'changed';
    expect(input.records[STORED_FILE_INFO_CLASS][hex(ID_A)][STORED_FILE_INFO_TABLE][0].path).toBe('gain/x.yaml');
  });
});

function data(entries: [string, string, object[]][]): DatastoreRecordData {
  const d: DatastoreRecordData = new Map();
  for (const [id, table, rows] of entries) addRecords(d, id, table, rows as never);
  return d;
}

describe('merging', () => {
  it('first writer wins per (id, table) and returns the target', () => {
    const target = data([[ID_A, 't', [{ v: 'first' }]]]);
    const other = data([
      [ID_A, 't', [{ v: 'second' }]],
      [ID_A, 'u', [{ v: 'new table' }]],
      [ID_B, 't', [{ v: 'new id' }]],
    ]);
    other.set(ID_C, new Map());
    const out = mergeDatastoreRecordData(target, other);
    expect(out).toBe(target);
    expect(target.get(ID_A)!.get('t')).toEqual([{ v: 'first' }]);
    expect(target.get(ID_A)!.get('u')).toEqual([{ v: 'new table' }]);
    expect(target.get(ID_B)!.get('t')).toEqual([{ v: 'new id' }]);
    expect(target.has(ID_C)).toBe(true);
    // an empty row list counts as "no rows yet"
    const t2 = new Map([[ID_A, new Map([['t', []]])]]) as DatastoreRecordData;
    mergeDatastoreRecordData(t2, other);
    expect(t2.get(ID_A)!.get('t')).toEqual([{ v: 'second' }]);
  });

  it('merges mappings left to right without mutating inputs (duplicates harmless)', () => {
    const r1 = { store1: data([[ID_A, 't', [{ v: 1 }]]]), store2: data([[ID_B, 't', [{ v: 2 }]]]) };
    const r2 = { store1: data([[ID_A, 't', [{ v: 99 }]], [ID_C, 't', [{ v: 3 }]]]) };
    const before1 = serializeRecordMapping(r1);
    const before2 = serializeRecordMapping(r2);
    const merged = mergeRecordMappings(r1, r2, r1);
    expect(Object.keys(merged).sort()).toEqual(['store1', 'store2']);
    expect(merged['store1']!.get(ID_A)!.get('t')).toEqual([{ v: 1 }]);
    expect(merged['store1']!.get(ID_C)!.get('t')).toEqual([{ v: 3 }]);
    for (const [name, d] of Object.entries(r1)) for (const id of d.keys()) expect(merged[name]!.has(id)).toBe(true);
    expect(serializeRecordMapping(r1)).toEqual(before1);
    expect(serializeRecordMapping(r2)).toEqual(before2);
    merged['store2']!.get(ID_B)!.get('t')![0]!.v = 'mutated';
    expect(r1.store2.get(ID_B)!.get('t')).toEqual([{ v: 2 }]);
    expect(mergeRecordMappings()).toEqual({});
  });

  it('clones, subsets and parses mappings', () => {
    const d = data([[ID_A, 't', [{ v: 1 }]], [ID_B, 't', [{ v: 2 }]]]);
    const c = cloneDatastoreRecordData(d);
    c.get(ID_A)!.get('t')![0]!.v = 5;
    expect(d.get(ID_A)!.get('t')).toEqual([{ v: 1 }]);
    expect([...subsetDatastoreRecordData(d, [hex(ID_B), ID_C]).keys()]).toEqual([ID_B]);
    expect(parseRecordMapping(null)).toEqual({});
    const m = parseRecordMapping({ 'FileDatastore@<butlerRoot>/datastore': PAYLOAD });
    expect(serializeRecordMapping(m)).toEqual({ 'FileDatastore@<butlerRoot>/datastore': PAYLOAD });
    expect(() => parseRecordMapping([1])).toThrow(InvalidArgument);
  });
});
