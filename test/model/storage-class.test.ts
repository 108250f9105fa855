import { describe, it, expect } from 'vitest';
import { StorageClassRegistry, StorageClassConfigSchema, makeDerivedComponent, storageClassesEqual } from '../../src/model/storage-class.js';
import { BUILTIN_STORAGE_CLASS_NAMES } from '../../src/model/builtin-storage-classes.js';
import { kindProblem, rowsToTable, tableToRows } from '../../src/model/storage-kinds.js';
import { ConflictingDefinition, InvalidArgument, InvalidValue, UnknownStorageClass } from '../../src/model/errors.js';

describe('built-in storage classes', () => {
  const reg = StorageClassRegistry.withBuiltins();

  it('has the six built-ins', () => {
    expect(reg.list().map((s) => s.name)).toEqual([...BUILTIN_STORAGE_CLASS_NAMES].sort());
    expect(reg.get('Table')).toMatchObject({ kind: 'table', parameters: ['columns', 'rows'] });
    expect(Object.keys(reg.get('Table').derivedComponents)).toEqual(['columnNames', 'rowCount']);
    expect(reg.has('Bytes')).toBe(true);
    expect(reg.has('Nope')).toBe(false);
    expect(() => reg.get('Nope')).toThrow(UnknownStorageClass);
  });

  it('knows parameters and components', () => {
    expect([...reg.knownParameters('StructuredDataList')]).toEqual(['slice']);
    expect([...reg.knownParameters(reg.get('Bytes'))]).toEqual(['start', 'end']);
    expect(reg.allComponents('Table')).toEqual({ columnNames: 'StructuredDataList', rowCount: 'Json' });
    expect(reg.allComponents('StructuredDataDict')).toEqual({});
    expect(reg.isDerivedComponent('Table', 'rowCount')).toBe(true);
  });

  it('answers canConvert as specified', () => {
    const yes: [string, string][] = [
      ['Table', 'StructuredDataList'],
      ['StructuredDataList', 'Table'],
      ['StructuredDataDict', 'Json'],
      ['Json', 'StructuredDataDict'],
      ['Text', 'Bytes'],
      ['Bytes', 'Text'],
      ['StructuredDataList', 'Json'],
      ['Json', 'StructuredDataList'],
      ['Table', 'Table'],
    ];
    const no: [string, string][] = [
      ['Table', 'Json'],
      ['Text', 'Json'],
      ['Bytes', 'StructuredDataDict'],
      ['StructuredDataDict', 'StructuredDataList'],
      ['Nope', 'Json'],
      ['Nope', 'Nope'],
    ];
    for (const [a, b] of yes) expect(reg.canConvert(a, b), `${a}→${b}`).toBe(true);
    for (const [a, b] of no) expect(reg.canConvert(a, b), `${a}→${b}`).toBe(false);
  });

  it('registries are independent', () => {
    const a = StorageClassRegistry.withBuiltins();
    a.loadConfig({ Mine: { kind: 'dict' } });
    expect(a.has('Mine')).toBe(true);
    expect(StorageClassRegistry.withBuiltins().has('Mine')).toBe(false);
  });
});

describe('kinds', () => {
  it('recognises values', () => {
    expect(kindProblem({ a: 1 }, 'dict')).toBeNull();
    expect(kindProblem([1], 'dict')).toMatch(/object/);
    expect(kindProblem({ a: undefined }, 'dict')).toMatch(/undefined/);
    expect(kindProblem({ a: NaN }, 'json')).toMatch(/non-finite/);
    expect(kindProblem([1, 'a', null], 'list')).toBeNull();
    expect(kindProblem('x', 'text')).toBeNull();
    expect(kindProblem(Buffer.from('x'), 'bytes')).toBeNull();
    expect(kindProblem(new Uint8Array(2), 'bytes')).toBeNull();
    expect(kindProblem('x', 'bytes')).toMatch(/bytes/);
    expect(kindProblem({ columns: { a: [1, 2], b: [3, 4] } }, 'table')).toBeNull();
    expect(kindProblem({ columns: { a: [1, 2], b: [3] } }, 'table')).toMatch(/unequal/);
    expect(kindProblem({ columns: { a: 1 } }, 'table')).toMatch(/array/);
    expect(kindProblem({ columns: {}, meta: 1 }, 'table')).toMatch(/meta/);
    expect(kindProblem(Buffer.from('x'), 'json')).toMatch(/Buffer/);
    const cyc: Record<string, unknown> = {};
    cyc['self'] = cyc;
    expect(kindProblem(cyc, 'dict')).toMatch(/cycle/);
  });

  it('converts tables and rows', () => {
    const t = { columns: { a: [1, 2], b: ['x', 'y'] } };
    const rows = tableToRows(t);
    expect(rows).toEqual([{ a: 1, b: 'x' }, { a: 2, b: 'y' }]);
    expect(rowsToTable(rows)).toEqual({ ok: true, value: t });
    expect(rowsToTable([{ a: 1 }, { b: 2 }])).toEqual({ ok: true, value: { columns: { a: [1, null], b: [null, 2] } } });
    expect(rowsToTable([1])).toMatchObject({ ok: false });
  });
});

describe('storage classes from configuration', () => {
  const CONFIG = {
    MetricsExample: {
      inheritsFrom: 'StructuredDataDict',
      components: { summary: 'StructuredDataDict', output: 'StructuredDataDict', data: 'StructuredDataList' },
      derivedComponents: {
        counter: { storageClass: 'Json', from: 'data', op: 'length' as const },
        summaryKeys: { storageClass: 'StructuredDataList', from: 'summary', op: 'keys' as const },
        firstValue: { storageClass: 'Json', from: 'data.0' },
        nKeys: { storageClass: 'Json', from: '', op: 'length' as const },
        output2: 'StructuredDataDict',
      },
    },
    MetricsExampleChild: { inheritsFrom: 'MetricsExample', parameters: ['slice'] },
    MyTable: { inheritsFrom: 'Table' },
  };

  it('loads composites with inheritance, in any order', () => {
    const reg = StorageClassRegistry.withBuiltins();
    const loaded = reg.loadConfig({ MetricsExampleChild: CONFIG.MetricsExampleChild, MetricsExample: CONFIG.MetricsExample, MyTable: CONFIG.MyTable });
    expect(loaded.map((s) => s.name).sort()).toEqual(['MetricsExample', 'MetricsExampleChild', 'MyTable']);
    const m = reg.get('MetricsExample');
    expect(m.kind).toBe('dict');
    expect(m.inheritsFrom).toBe('StructuredDataDict');
    expect(m.converters).toEqual(['Json']);
    expect(reg.allComponents('MetricsExample')).toEqual({
      summary: 'StructuredDataDict',
      output: 'StructuredDataDict',
      data: 'StructuredDataList',
      counter: 'Json',
      summaryKeys: 'StructuredDataList',
      firstValue: 'Json',
      nKeys: 'Json',
      output2: 'StructuredDataDict',
    });
    // knownParameters includes the read/write components' parameters
    expect([...reg.knownParameters('MetricsExample')]).toEqual(['slice']);
    const child = reg.get('MetricsExampleChild');
    expect(child.parameters).toEqual(['slice']);
    expect(Object.keys(child.components)).toEqual(['summary', 'output', 'data']);
    expect(reg.ancestors('MetricsExampleChild')).toEqual(['MetricsExample', 'StructuredDataDict']);
    expect(reg.get('MyTable').derivedComponents['rowCount']).toBe(reg.get('Table').derivedComponents['rowCount']);
    expect(reg.canConvert('MetricsExample', 'StructuredDataDict')).toBe(true);
    expect(reg.canConvert('Json', 'MetricsExample')).toBe(true);
    expect(reg.canConvert('StructuredDataList', 'MyTable')).toBe(true);
    // StructuredDataList converts from Table, hence from anything inheriting from Table
    expect(reg.canConvert('MyTable', 'StructuredDataList')).toBe(true);
    expect(reg.canConvert('MetricsExample', 'StructuredDataList')).toBe(false);
  });

  it('computes config-defined derived components', () => {
    const value = { summary: { a: 1, b: 2 }, output: {}, data: [5, 6, 7], output2: { z: 1 } };
    const d = (c: string, spec: Parameters<typeof makeDerivedComponent>[1]) => makeDerivedComponent(c, spec).compute(value);
    expect(d('counter', { storageClass: 'Json', from: 'data', op: 'length' })).toBe(3);
    expect(d('k', { storageClass: 'Json', from: 'summary', op: 'keys' })).toEqual(['a', 'b']);
    expect(d('f', { storageClass: 'Json', from: 'data.1' })).toBe(6);
    expect(d('n', { storageClass: 'Json', from: '.', op: 'length' })).toBe(4);
    expect(d('output2', 'StructuredDataDict')).toEqual({ z: 1 });
    expect(() => d('x', { storageClass: 'Json', from: 'nope' })).toThrow(InvalidValue);
    expect(() => d('x', { storageClass: 'Json', from: 'data', op: 'keys' })).toThrow(InvalidValue);
    expect(makeDerivedComponent('x', { storageClass: 'Json', from: 'a', op: 'length' }).compute({ a: null })).toBeNull();
  });

  it('re-loading the same definitions is fine; a different one conflicts', () => {
    const reg = StorageClassRegistry.withBuiltins();
    reg.loadConfig(CONFIG);
    expect(() => reg.loadConfig(CONFIG)).not.toThrow();
    expect(() => reg.loadConfig({ MetricsExample: { ...CONFIG.MetricsExample, parameters: ['slice'] } })).toThrow(
      'New definition for StorageClass MetricsExample differs from current definition.',
    );
    expect(() => reg.loadConfig({ MetricsExample: { ...CONFIG.MetricsExample, parameters: ['slice'] } })).toThrow(ConflictingDefinition);
    expect(() => reg.register({ ...reg.get('Table'), parameters: ['rows'] })).toThrow(ConflictingDefinition);
    expect(reg.register({ ...reg.get('Table') })).toBe(reg.get('Table'));
    expect(storageClassesEqual(reg.get('Table'), { ...reg.get('Table'), converters: ['Json'] })).toBe(false);
  });

  it('registers programmatic classes after validation', () => {
    const reg = StorageClassRegistry.withBuiltins();
    const sc = reg.register({ name: 'Blob', kind: 'bytes', components: {}, derivedComponents: {}, parameters: ['start'], converters: ['Text'] });
    expect(reg.get('Blob')).toBe(sc);
    expect(Object.isFrozen(sc)).toBe(true);
    expect(() => reg.register({ name: 'Bad', kind: 'text', components: {}, derivedComponents: {}, parameters: ['columns'], converters: [] })).toThrow(InvalidArgument);
  });

  it('rejects invalid configuration atomically', () => {
    const reg = StorageClassRegistry.withBuiltins();
    const bad: Record<string, unknown>[] = [
      { X: {} }, // no kind
      { X: { kind: 'nope' } },
      { X: { kind: 'dict', typo: 1 } },
      { X: { inheritsFrom: 'Nope' } },
      { X: { inheritsFrom: 'Y' }, Y: { inheritsFrom: 'X' } },
      { X: { inheritsFrom: 'Table', kind: 'dict' } },
      { X: { kind: 'list', components: { a: 'Json' } } },
      { X: { kind: 'dict', components: { a: 'Nope' } } },
      { X: { kind: 'dict', components: { a: 'Json' } } }, // one component: daf_butler refuses it as well
      { X: { inheritsFrom: 'StructuredDataDict', components: { wcs: 'StructuredDataDict' } } },
      { X: { kind: 'dict', derivedComponents: { a: { storageClass: 'Nope' } } } },
      { X: { kind: 'dict', derivedComponents: { a: { storageClass: 'Json', op: 'sum' } } } },
      { X: { kind: 'dict', converters: ['Nope'] } },
      { X: { kind: 'dict', converters: ['Bytes'] } },
      { X: { kind: 'dict', parameters: ['slice'] } },
      { X: { kind: 'text', parameters: ['columns'] } },
      { 'bad name': { kind: 'dict' } },
    ];
    for (const cfg of bad) {
      expect(() => reg.loadConfig({ Good: { kind: 'dict' }, ...cfg } as never), JSON.stringify(cfg)).toThrow(InvalidArgument);
      expect(reg.has('Good')).toBe(false);
    }
  });

  it('exposes the zod schema', () => {
    expect(StorageClassConfigSchema.safeParse({ kind: 'dict', components: { a: 'Json' } }).success).toBe(true);
    expect(StorageClassConfigSchema.safeParse({ pytype: 'dict', delegate: 'x.Y', inheritsFrom: 'Json' }).success).toBe(true);
    expect(StorageClassConfigSchema.safeParse({ kind: 'dict', converters: { a: 'b' } }).success).toBe(false);
  });
});
