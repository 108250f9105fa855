import { describe, it, expect } from 'vitest';
import {
  datasetTypeEquals,
  datasetTypeIsCompatibleWith,
  makeComponentDatasetType,
  makeCompositeDatasetType,
  makeDatasetType,
  overrideDatasetTypeStorageClass,
  parseDatasetType,
  serializeDatasetType,
  splitComponent,
} from '../../src/model/dataset-type.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { DimensionNameError, InvalidArgument, StorageClassMismatch, UnknownComponent, UnknownDatasetType, UnknownStorageClass } from '../../src/model/errors.js';

const SERIAL = { name: 'test_ds_output', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'], isCalibration: false };

describe('dataset types', () => {
  it('parses daf_butler SerializedDatasetType and round trips', () => {
    const dt = parseDatasetType(SERIAL);
    expect(dt).toMatchObject({ name: 'test_ds_output', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'], isCalibration: false });
    expect(serializeDatasetType(dt)).toEqual(SERIAL);
    expect(datasetTypeEquals(parseDatasetType(serializeDatasetType(dt)), dt)).toBe(true);
    expect(parseDatasetType({ ...SERIAL, parentStorageClass: null, isCalibration: null }).isCalibration).toBe(false);
    expect(parseDatasetType({ ...SERIAL, isCalibration: true }).isCalibration).toBe(true);
  });

  it('normalises dimensions as a dimension group: implied ones may be declared or not, order does not matter', () => {
    const declared = parseDatasetType({ name: 'flat', storageClass: 'ExposureF', dimensions: ['instrument', 'detector', 'physical_filter', 'band'], isCalibration: true });
    const required = parseDatasetType({ name: 'flat', storageClass: 'ExposureF', dimensions: ['physical_filter', 'detector', 'instrument'], isCalibration: true });
    expect(datasetTypeEquals(declared, required)).toBe(true);
    expect(declared.group).toBe(required.group);
    // daf_butler's SerializedDatasetType.dimensions: the required dimensions, in the universe's order.
    expect(serializeDatasetType(declared)).toEqual({ name: 'flat', storageClass: 'ExposureF', dimensions: ['instrument', 'detector', 'physical_filter'], isCalibration: true });
    expect(serializeDatasetType(parseDatasetType({ ...SERIAL, dimensions: ['visit'] })).dimensions).toEqual(['instrument', 'visit']);
    expect(() => parseDatasetType({ ...SERIAL, dimensions: ['instrument', 'amplifier'] })).toThrow(DimensionNameError);
    expect(() => parseDatasetType({ ...SERIAL, name: 'skymap' })).toThrow(/governor dimension/);
  });

  it('validates names with daf_butler wording', () => {
    for (const bad of ['1abc', 'a-b', 'a..b', 'a.', '.a', '', 'a b', 'a.1b']) {
      expect(() => parseDatasetType({ ...SERIAL, name: bad })).toThrow(`DatasetType name '${bad}' is invalid.`);
    }
    expect(() => parseDatasetType({ ...SERIAL, name: 42 })).toThrow(InvalidArgument);
    expect(() => parseDatasetType({ ...SERIAL, name: 'instrument' })).toThrow(/governor dimension/);
    for (const good of ['calexp', '_x', 'a.b', 'a.b.c', 'deepCoadd_calexp']) {
      expect(() => makeDatasetType({ name: good, storageClass: 'X', dimensions: [], parentStorageClass: good.includes('.') ? 'P' : undefined })).not.toThrow();
    }
  });

  it('requires dimensions and storageClass in the full form; resolves the minimal form through known types', () => {
    expect(() => parseDatasetType({ name: 'a', storageClass: 'StructuredDataDict' })).toThrow(/dimensions/);
    expect(() => parseDatasetType({ name: 'a', dimensions: [] })).toThrow(/storageClass/);
    expect(() => parseDatasetType({ name: 'a' })).toThrow(UnknownDatasetType);
    const known = new Map([['test_ds_output', parseDatasetType(SERIAL)]]);
    expect(parseDatasetType({ name: 'test_ds_output' }, known)).toBe(known.get('test_ds_output'));
    expect(parseDatasetType({ name: 'test_ds_output', storageClass: null, dimensions: null }, known)).toBe(known.get('test_ds_output'));
    expect(() => parseDatasetType('calexp')).toThrow(InvalidArgument);
    expect(() => parseDatasetType({ ...SERIAL, dimensions: 'instrument' })).toThrow(InvalidArgument);
    expect(() => parseDatasetType({ ...SERIAL, dimensions: ['bad dim'] })).toThrow(InvalidArgument);
    expect(() => parseDatasetType({ ...SERIAL, isCalibration: 'yes' })).toThrow(InvalidArgument);
  });

  it('needs parentStorageClass exactly for component names', () => {
    expect(() => parseDatasetType({ ...SERIAL, name: 'a.b' })).toThrow("Component dataset type 'a.b' constructed without parent storage class.");
    expect(() => parseDatasetType({ ...SERIAL, parentStorageClass: 'Table' })).toThrow(/is not a composite/);
    const c = parseDatasetType({ ...SERIAL, name: 'a.b', parentStorageClass: 'Table' });
    expect(c.parentStorageClass).toBe('Table');
    expect(serializeDatasetType(c).parentStorageClass).toBe('Table');
  });

  it('splits components at the first dot', () => {
    expect(splitComponent('a')).toEqual({ parent: 'a' });
    expect(splitComponent('a.b')).toEqual({ parent: 'a', component: 'b' });
    expect(splitComponent('a.b.c')).toEqual({ parent: 'a', component: 'b.c' });
  });

  it('compares every field', () => {
    const a = parseDatasetType(SERIAL);
    expect(datasetTypeEquals(a, parseDatasetType({ ...SERIAL, dimensions: ['detector', 'instrument'] }))).toBe(true);
    expect(datasetTypeEquals(a, parseDatasetType({ ...SERIAL, storageClass: 'Json' }))).toBe(false);
    expect(datasetTypeEquals(a, parseDatasetType({ ...SERIAL, dimensions: ['instrument'] }))).toBe(false);
    expect(datasetTypeEquals(a, parseDatasetType({ ...SERIAL, isCalibration: true }))).toBe(false);
    expect(datasetTypeEquals(a, parseDatasetType({ ...SERIAL, name: 'other' }))).toBe(false);
  });

  it('makes component and composite types', () => {
    const reg = StorageClassRegistry.withBuiltins();
    const table = makeDatasetType({ name: 'src', storageClass: 'Table', dimensions: ['visit'] });
    const comp = makeComponentDatasetType(table, 'rowCount', reg);
    expect(comp).toMatchObject({ name: 'src.rowCount', storageClass: 'Json', dimensions: ['instrument', 'visit'], parentStorageClass: 'Table', isCalibration: false });
    expect(comp.group).toBe(table.group);
    expect(makeCompositeDatasetType(comp)).toEqual(table);
    expect(() => makeCompositeDatasetType(table)).toThrow(InvalidArgument);
    expect(() => makeComponentDatasetType(table, 'nope', reg)).toThrow(UnknownComponent);
    const dict = makeDatasetType({ name: 'd', storageClass: 'StructuredDataDict', dimensions: [] });
    expect(() => makeComponentDatasetType(dict, 'x', reg)).toThrow(UnknownComponent);
  });

  it('overrides the storage class only when convertible either way', () => {
    const reg = StorageClassRegistry.withBuiltins();
    const table = makeDatasetType({ name: 'src', storageClass: 'Table', dimensions: ['visit'] });
    expect(overrideDatasetTypeStorageClass(table, 'Table', reg)).toBe(table);
    expect(overrideDatasetTypeStorageClass(table, 'StructuredDataList', reg).storageClass).toBe('StructuredDataList');
    expect(() => overrideDatasetTypeStorageClass(table, 'Text', reg)).toThrow(
      'The new storage class (Text) is not compatible with the existing storage class (Table).',
    );
    expect(() => overrideDatasetTypeStorageClass(table, 'Text', reg)).toThrow(StorageClassMismatch);
    expect(() => overrideDatasetTypeStorageClass(table, 'Nope', reg)).toThrow(UnknownStorageClass);
    expect(overrideDatasetTypeStorageClass(table, 'Nope').storageClass).toBe('Nope');
    expect(datasetTypeIsCompatibleWith(overrideDatasetTypeStorageClass(table, 'StructuredDataList', reg), table, reg)).toBe(true);
    expect(datasetTypeIsCompatibleWith(makeDatasetType({ ...table, storageClass: 'Text' }), table, reg)).toBe(false);
  });
});
