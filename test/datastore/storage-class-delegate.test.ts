import { describe, it, expect } from 'vitest';
import {
  applyParameters,
  checkValue,
  coerceForWrite,
  getComponent,
  readValue,
  sliceBounds,
  validateParameters,
} from '../../src/datastore/storage-class-delegate.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import {
  InvalidArgument,
  InvalidValue,
  StorageClassMismatch,
  UnknownComponent,
  UnknownParameter,
  UnknownStorageClass,
} from '../../src/model/errors.js';

function registry(): StorageClassRegistry {
  const reg = StorageClassRegistry.withBuiltins();
  reg.loadConfig({
    MetricsExample: {
      inheritsFrom: 'StructuredDataDict',
      components: { summary: 'StructuredDataDict', output: 'StructuredDataDict', data: 'StructuredDataList' },
      derivedComponents: { counter: { storageClass: 'Json', from: 'data', op: 'length' } },
    },
    // A class whose components exist only here (not in the write class MetricsExample).
    MetricsExampleV2: {
      inheritsFrom: 'MetricsExample',
      derivedComponents: { summaryKeys: { storageClass: 'StructuredDataList', from: 'summary', op: 'keys' } },
    },
    Catalog: { kind: 'dict', components: { sources: 'Table', meta: 'StructuredDataDict' } },
  });
  return reg;
}
const reg = registry();
const metrics = () => ({ summary: { AM1: 5.2, AM2: 30.6 }, output: { a: [1, 2, 3] }, data: [563, 234, 456.7, 105, 2054, -1045] });
const table = () => ({ columns: { id: [1, 2, 3, 4], flux_g: [0.1, 0.2, 0.3, 0.4], flux_r: [1, 2, 3, 4], ra: [10, 11, 12, 13] } });

describe('checkValue', () => {
  it('accepts fitting values and rejects others with InvalidValue', () => {
    expect(() => checkValue({ a: 1 }, reg.get('StructuredDataDict'))).not.toThrow();
    expect(() => checkValue([1], reg.get('StructuredDataDict'))).toThrow(InvalidValue);
    expect(() => checkValue({ a: 1 }, reg.get('StructuredDataList'))).toThrow(InvalidValue);
    expect(() => checkValue(3, reg.get('Text'))).toThrow(InvalidValue);
    expect(() => checkValue('x', reg.get('Bytes'))).toThrow(InvalidValue);
    expect(() => checkValue({ columns: { a: [1], b: [] } }, reg.get('Table'))).toThrow(/unequal lengths/);
    expect(() => checkValue(Buffer.from('x'), reg.get('Json'))).toThrow(InvalidValue);
    expect(() => checkValue(null, reg.get('Json'))).not.toThrow();
  });

  it('checks composite components with a registry', () => {
    const bad = { ...metrics(), data: { not: 'a list' } };
    expect(() => checkValue(bad, reg.get('MetricsExample'))).not.toThrow();
    expect(() => checkValue(bad, reg.get('MetricsExample'), reg)).toThrow(/component 'data'/);
    expect(() => checkValue({ ...metrics(), data: null }, reg.get('MetricsExample'), reg)).not.toThrow();
  });
});

describe('coerceForWrite', () => {
  it('returns a fitting value unchanged', () => {
    const v = { a: 1 };
    expect(coerceForWrite(v, 'StructuredDataDict', reg)).toBe(v);
  });

  it('converts through declared converters', () => {
    expect(coerceForWrite([{ a: 1, b: 'x' }, { a: 2, b: 'y' }], 'Table', reg)).toEqual({ columns: { a: [1, 2], b: ['x', 'y'] } });
    expect(coerceForWrite('héllo', 'Bytes', reg)).toEqual(Buffer.from('héllo', 'utf8'));
    expect(coerceForWrite(Buffer.from('héllo', 'utf8'), 'Text', reg)).toBe('héllo');
    expect(coerceForWrite({ columns: { a: [1] } }, 'StructuredDataList', reg)).toEqual([{ a: 1 }]);
  });

  it('fails with daf_butler wording when nothing converts', () => {
    expect(() => coerceForWrite([1, 2], 'StructuredDataDict', reg)).toThrow(
      "Type does not match and no valid converter found to convert 'array' to 'StructuredDataDict'.",
    );
    expect(() => coerceForWrite('x', 'Table', reg)).toThrow(StorageClassMismatch);
    expect(() => coerceForWrite([1, 2], 'Table', reg)).toThrow(StorageClassMismatch);
    expect(() => coerceForWrite(Buffer.from([0xff, 0xfe]), 'Text', reg)).toThrow(StorageClassMismatch);
    expect(() => coerceForWrite(Buffer.from('x'), 'Json', reg)).toThrow(StorageClassMismatch);
    expect(() => coerceForWrite({}, 'Nope', reg)).toThrow(UnknownStorageClass);
    expect(() => coerceForWrite({ ...metrics(), data: 'x' }, 'MetricsExample', reg)).toThrow(InvalidValue);
  });
});

describe('parameters', () => {
  it('uses python slice semantics', () => {
    expect(sliceBounds([1], 5)).toEqual([1, 5]);
    expect(sliceBounds([-2], 5)).toEqual([3, 5]);
    expect(sliceBounds([1, -1], 5)).toEqual([1, 4]);
    expect(sliceBounds([null, 2], 5)).toEqual([0, 2]);
    expect(sliceBounds([4, 2], 5)).toEqual([4, 4]);
    expect(sliceBounds([-10, 100], 5)).toEqual([0, 5]);
  });

  it('rejects unknown names with daf_butler wording (singular and plural)', () => {
    expect(() => validateParameters({ missing: 5 }, reg.get('StructuredDataDict'), reg)).toThrow(
      "Parameter 'missing' not understood by StorageClass StructuredDataDict",
    );
    expect(() => validateParameters({ b: 1, a: 2, slice: [1] }, reg.get('StructuredDataList'), reg)).toThrow(
      "Parameters 'a', 'b' not understood by StorageClass StructuredDataList",
    );
    expect(() => validateParameters({ missing: 5 }, reg.get('Table'), reg)).toThrow(UnknownParameter);
    expect(() => validateParameters({}, reg.get('Table'), reg)).not.toThrow();
    expect(() => validateParameters(undefined, reg.get('Table'), reg)).not.toThrow();
  });

  it('validates values', () => {
    const bad: [string, Record<string, unknown>][] = [
      ['StructuredDataList', { slice: 'x' }],
      ['StructuredDataList', { slice: [1.5] }],
      ['StructuredDataList', { slice: [] }],
      ['StructuredDataList', { slice: [1, 2, 3] }],
      ['Text', { slice: 1 }],
      ['Bytes', { start: '1' }],
      ['Bytes', { end: 2.5 }],
      ['Table', { columns: 3 }],
      ['Table', { columns: [''] }],
      ['Table', { rows: 'all' }],
      ['MetricsExample', { slice: 'x' }],
    ];
    for (const [sc, p] of bad) expect(() => validateParameters(p, reg.get(sc), reg), `${sc} ${JSON.stringify(p)}`).toThrow(InvalidArgument);
  });

  it('applies kind parameters without mutating the input', () => {
    const list = [1, 2, 3, 4, 5];
    expect(applyParameters(list, reg.get('StructuredDataList'), { slice: [1, -1] }, reg)).toEqual([2, 3, 4]);
    expect(list).toEqual([1, 2, 3, 4, 5]);
    expect(applyParameters('a😀cd', reg.get('Text'), { slice: [1, 3] }, reg)).toBe('😀c');
    expect(applyParameters(Buffer.from('abcdef'), reg.get('Bytes'), { start: 1, end: -1 }, reg)).toEqual(Buffer.from('bcde'));
    expect(applyParameters(Buffer.from('abcdef'), reg.get('Bytes'), { end: 2 }, reg)).toEqual(Buffer.from('ab'));
  });

  it('selects table columns by glob (in table order) and rows by slice', () => {
    const t = table();
    const Table = reg.get('Table');
    expect(applyParameters(t, Table, { columns: 'flux_*' }, reg)).toEqual({ columns: { flux_g: t.columns.flux_g, flux_r: t.columns.flux_r } });
    expect(applyParameters(t, Table, { columns: ['ra', 'id'] }, reg)).toEqual({ columns: { id: t.columns.id, ra: t.columns.ra } });
    expect(Object.keys((applyParameters(t, Table, { columns: ['ra', 'id'] }, reg) as typeof t).columns)).toEqual(['id', 'ra']);
    expect(applyParameters(t, Table, { columns: 'flux_{g,x}', rows: [1, 3] }, reg)).toEqual({ columns: { flux_g: [0.2, 0.3] } });
    expect(applyParameters(t, Table, { columns: 'zz*' }, reg)).toEqual({ columns: {} });
    expect(() => applyParameters(t, Table, { columns: ['nope'] }, reg)).toThrow(InvalidArgument);
    expect(applyParameters(t, Table, { rows: [-1] }, reg)).toEqual({ columns: { id: [4], flux_g: [0.4], flux_r: [4], ra: [13] } });
    expect(t).toEqual(table());
  });

  it('passes composite parameters to the components that know them', () => {
    const m = metrics();
    const out = applyParameters(m, reg.get('MetricsExample'), { slice: [0, 2] }, reg) as ReturnType<typeof metrics>;
    expect(out.data).toEqual([563, 234]);
    expect(out.summary).toBe(m.summary);
    expect(m.data).toHaveLength(6);
    const cat = { sources: table(), meta: { v: 1 } };
    expect(applyParameters(cat, reg.get('Catalog'), { columns: 'id', rows: [0, 1] }, reg)).toEqual({ sources: { columns: { id: [1] } }, meta: { v: 1 } });
  });
});

describe('components', () => {
  it('reads read/write components from the stored object and computes derived ones', () => {
    const M = reg.get('MetricsExample');
    expect(getComponent(metrics(), M, 'summary', reg)).toEqual({ AM1: 5.2, AM2: 30.6 });
    expect(getComponent(metrics(), M, 'counter', reg)).toBe(6);
    expect(() => getComponent({ summary: {} }, M, 'data', reg)).toThrow(UnknownComponent);
    expect(() => getComponent(metrics(), M, 'nope', reg)).toThrow(UnknownComponent);
  });
});

describe('readValue (InMemoryDatastore.get after the record lookup)', () => {
  it('returns the value and storage class; never aliases the stored value', () => {
    const stored = { a: { b: [1, 2] } };
    const r = readValue(stored, 'StructuredDataDict', {}, reg);
    expect(r).toEqual({ value: stored, storageClass: 'StructuredDataDict' });
    expect(r.value).not.toBe(stored);
    (r.value as typeof stored).a.b.push(3);
    expect(stored.a.b).toEqual([1, 2]);
    const bytes = Buffer.from('abc');
    const rb = readValue(bytes, 'Bytes', {}, reg);
    expect(Buffer.isBuffer(rb.value)).toBe(true);
    (rb.value as Buffer)[0] = 0x7a;
    expect(bytes.toString()).toBe('abc');
    const comp = readValue(metrics(), 'MetricsExample', { component: 'summary' }, reg);
    const m = metrics();
    const comp2 = readValue(m, 'MetricsExample', { component: 'output' }, reg);
    expect(comp.value).toEqual(m.summary);
    expect(comp2.value).not.toBe(m.output);
  });

  it('applies parameters', () => {
    expect(readValue([1, 2, 3, 4], 'StructuredDataList', { parameters: { slice: [-2] } }, reg).value).toEqual([3, 4]);
    expect(() => readValue({ 1: 2, 3: 4 }, 'StructuredDataDict', { parameters: { missing: 5 } }, reg)).toThrow(UnknownParameter);
    expect(() => readValue([1], 'StructuredDataList', { parameters: { slice: 'x' } }, reg)).toThrow(InvalidArgument);
  });

  it('converts with a read storage class override', () => {
    const t = table();
    const rows = readValue(t, 'Table', { storageClass: 'StructuredDataList' }, reg);
    expect(rows.storageClass).toBe('StructuredDataList');
    expect(rows.value).toEqual([
      { id: 1, flux_g: 0.1, flux_r: 1, ra: 10 },
      { id: 2, flux_g: 0.2, flux_r: 2, ra: 11 },
      { id: 3, flux_g: 0.3, flux_r: 3, ra: 12 },
      { id: 4, flux_g: 0.4, flux_r: 4, ra: 13 },
    ]);
    // Parameters are validated for, and applied to, the read class.
    expect(readValue(t, 'Table', { storageClass: 'StructuredDataList', parameters: { slice: [0, 1] } }, reg).value).toEqual([
      { id: 1, flux_g: 0.1, flux_r: 1, ra: 10 },
    ]);
    expect(() => readValue(t, 'Table', { storageClass: 'StructuredDataList', parameters: { columns: 'id' } }, reg)).toThrow(UnknownParameter);
    const back = readValue([{ a: 1 }, { a: 2 }], 'StructuredDataList', { storageClass: 'Table', parameters: { rows: [1] } }, reg);
    expect(back).toEqual({ value: { columns: { a: [2] } }, storageClass: 'Table' });
    expect(readValue('hé', 'Text', { storageClass: 'Bytes' }, reg).value).toEqual(Buffer.from('hé'));
    expect(readValue({ x: 1 }, 'StructuredDataDict', { storageClass: 'Json' }, reg)).toEqual({ value: { x: 1 }, storageClass: 'Json' });
    expect(readValue({ x: 1 }, 'Json', { storageClass: 'StructuredDataDict' }, reg).value).toEqual({ x: 1 });
    expect(readValue(metrics(), 'MetricsExample', { storageClass: 'StructuredDataDict' }, reg).value).toEqual(metrics());
  });

  it('rejects incompatible or unknown overrides and failed conversions', () => {
    expect(() => readValue(table(), 'Table', { storageClass: 'Text' }, reg)).toThrow(
      'The new storage class (Text) is not compatible with the existing storage class (Table).',
    );
    expect(() => readValue(table(), 'Table', { storageClass: 'Text' }, reg)).toThrow(StorageClassMismatch);
    expect(() => readValue(table(), 'Table', { storageClass: 'Nope' }, reg)).toThrow(UnknownStorageClass);
    expect(() => readValue([1, 2], 'Json', { storageClass: 'StructuredDataDict' }, reg)).toThrow(StorageClassMismatch);
    expect(() => readValue({}, 'Nope', {}, reg)).toThrow(UnknownStorageClass);
  });

  it('applies parameters to the whole object before computing a derived component', () => {
    const t = table();
    expect(readValue(t, 'Table', { component: 'rowCount' }, reg)).toEqual({ value: 4, storageClass: 'Json' });
    expect(readValue(t, 'Table', { component: 'rowCount', parameters: { rows: [1, 3] } }, reg).value).toBe(2);
    expect(readValue(t, 'Table', { component: 'columnNames', parameters: { columns: 'flux_*' } }, reg)).toEqual({
      value: ['flux_g', 'flux_r'],
      storageClass: 'StructuredDataList',
    });
    expect(readValue(t, 'Table', { component: 'columnNames', parameters: { columns: 'flux_*' }, storageClass: 'Json' }, reg).storageClass).toBe('Json');
    expect(() => readValue(t, 'Table', { component: 'rowCount', parameters: { slice: [1] } }, reg)).toThrow(UnknownParameter);
    expect(readValue(metrics(), 'MetricsExample', { component: 'counter', parameters: { slice: [0, 2] } }, reg).value).toBe(2);
  });

  it('extracts read/write components and applies parameters against the component class', () => {
    const r = readValue(metrics(), 'MetricsExample', { component: 'data', parameters: { slice: [1, 3] } }, reg);
    expect(r).toEqual({ value: [234, 456.7], storageClass: 'StructuredDataList' });
    expect(readValue(metrics(), 'MetricsExample', { component: 'summary', storageClass: 'Json' }, reg)).toEqual({
      value: { AM1: 5.2, AM2: 30.6 },
      storageClass: 'Json',
    });
    expect(() => readValue(metrics(), 'MetricsExample', { component: 'summary', parameters: { slice: [1] } }, reg)).toThrow(UnknownParameter);
    expect(() => readValue(metrics(), 'MetricsExample', { component: 'summary', storageClass: 'Text' }, reg)).toThrow(StorageClassMismatch);
    expect(() => readValue(metrics(), 'MetricsExample', { component: 'nope' }, reg)).toThrow(UnknownComponent);
    expect(() => readValue({ a: 1 }, 'StructuredDataDict', { component: 'a' }, reg)).toThrow(UnknownComponent);
    const cat = { sources: table(), meta: { v: 1 } };
    expect(readValue(cat, 'Catalog', { component: 'sources', storageClass: 'StructuredDataList', parameters: { slice: [0, 1] } }, reg).value).toEqual([
      { id: 1, flux_g: 0.1, flux_r: 1, ra: 10 },
    ]);
  });

  it('returns null for a null component', () => {
    expect(readValue({ ...metrics(), summary: null }, 'MetricsExample', { component: 'summary' }, reg)).toEqual({
      value: null,
      storageClass: 'StructuredDataDict',
    });
  });

  it('uses the parent storage class when the component exists only there (DM-55708)', () => {
    // Written as MetricsExample, read through a ref whose parent storage class is MetricsExampleV2.
    const r = readValue(metrics(), 'MetricsExample', { component: 'summaryKeys', parentStorageClass: 'MetricsExampleV2' }, reg);
    expect(r).toEqual({ value: ['AM1', 'AM2'], storageClass: 'StructuredDataList' });
    expect(() => readValue(metrics(), 'MetricsExample', { component: 'summaryKeys' }, reg)).toThrow(UnknownComponent);
    expect(() => readValue(metrics(), 'MetricsExample', { component: 'other', parentStorageClass: 'MetricsExampleV2' }, reg)).toThrow(UnknownComponent);
    // Written as a plain dict, read as a MetricsExample component: the composite is converted first.
    expect(readValue(metrics(), 'StructuredDataDict', { component: 'counter', parentStorageClass: 'MetricsExample' }, reg).value).toBe(6);
  });
});
