import { describe, it, expect } from 'vitest';
import {
  compareRefs,
  datasetRefEquals,
  isMinimalRef,
  makeComponentRef,
  makeCompositeRef,
  makeDatasetRef,
  parseDatasetRef,
  parseMinimalRef,
  refFieldsMismatch,
  refToString,
  serializeCompactRef,
  serializeDatasetRef,
  withStorageClass,
} from '../../src/model/dataset-ref.js';
import { makeDatasetType, parseDatasetType, type DatasetType } from '../../src/model/dataset-type.js';
import { parseDataId } from '../../src/model/data-coordinate.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { InvalidDatasetRef, StorageClassMismatch, UnknownComponent, UnknownDatasetType } from '../../src/model/errors.js';

const ID = '74478304-abf1-4a9c-9eb2-926090a84446';
const ID2 = '0190a5e2-3c4d-7abc-8def-0123456789ab';
const SDT = { name: 'test_ds_output', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'], isCalibration: false };
const DAF_REF = {
  id: ID,
  datasetType: SDT,
  dataId: { dataId: { instrument: 'Cam1', detector: 1 }, records: null },
  run: 'RUN',
  component: null,
};
const reg = StorageClassRegistry.withBuiltins();

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('dataset refs: daf_butler form', () => {
  it('parses and serializes back identically', () => {
    const ref = parseDatasetRef(DAF_REF);
    expect(ref.id).toBe(ID);
    expect(ref.run).toBe('RUN');
    expect(ref.dataId).toEqual({ detector: 1, instrument: 'Cam1' });
    expect(ref.datasetType.name).toBe('test_ds_output');
    // daf_butler's order: required dimensions in the universe's order, data ID keys likewise.
    expect(serializeDatasetRef(ref)).toEqual(DAF_REF);
    expect(Object.keys(serializeDatasetRef(ref).dataId!.dataId)).toEqual(['instrument', 'detector']);
    expect(datasetRefEquals(parseDatasetRef(serializeDatasetRef(ref)), ref)).toBe(true);
  });

  it('accepts hex ids and resolves a minimal {name} dataset type', () => {
    const known = new Map([[SDT.name, parseDatasetType(SDT)]]);
    const ref = parseDatasetRef({ ...DAF_REF, id: ID.replace(/-/g, '').toUpperCase(), datasetType: { name: SDT.name } }, known);
    expect(ref.id).toBe(ID);
    expect(ref.datasetType).toBe(known.get(SDT.name));
  });

  it('requires the run', () => {
    for (const run of [undefined, null, '']) {
      const e = errorOf(() => parseDatasetRef({ ...DAF_REF, run }));
      expect(e).toBeInstanceOf(InvalidDatasetRef);
      expect(e.message).toMatch(/^Run collection name is missing from serialized representation/);
    }
  });

  it('requires datasetType and dataId together', () => {
    expect(() => parseDatasetRef({ ...DAF_REF, datasetType: null })).toThrow('If specifying datasetType or dataId, must specify both.');
    expect(() => parseDatasetRef({ id: ID, datasetType: SDT, run: 'RUN' })).toThrow('If specifying datasetType or dataId, must specify both.');
    expect(() => parseDatasetRef({ id: ID, run: 'RUN' })).toThrow(InvalidDatasetRef);
  });

  it('rejects bad ids, non-objects, bad data IDs and missing required dimensions', () => {
    expect(() => parseDatasetRef({ ...DAF_REF, id: 'nope' })).toThrow(InvalidDatasetRef);
    expect(() => parseDatasetRef('x')).toThrow(InvalidDatasetRef);
    expect(() => parseDatasetRef({ ...DAF_REF, dataId: { dataId: { instrument: 'Cam1', detector: 1.5 }, records: null } })).toThrow(InvalidDatasetRef);
    const e = errorOf(() => parseDatasetRef({ ...DAF_REF, dataId: { instrument: 'Cam1' } }));
    expect(e).toBeInstanceOf(InvalidDatasetRef);
    expect(e.message).toMatch(/required dimension detector/);
    expect(() => parseDatasetRef({ ...DAF_REF, datasetType: { ...SDT, name: 'bad-name' } })).toThrow(/DatasetType name 'bad-name' is invalid/);
  });

  it('turns component into the component dataset type (needs a registry)', () => {
    const tableRef = { ...DAF_REF, datasetType: { ...SDT, name: 'src', storageClass: 'Table' } };
    expect(() => parseDatasetRef({ ...tableRef, component: 'rowCount' })).toThrow(InvalidDatasetRef);
    const ref = parseDatasetRef({ ...tableRef, component: 'rowCount' }, undefined, reg);
    expect(ref.datasetType).toMatchObject({ name: 'src.rowCount', storageClass: 'Json', parentStorageClass: 'Table' });
    expect(() => parseDatasetRef({ ...tableRef, component: 'nope' }, undefined, reg)).toThrow(UnknownComponent);
    // Serialized as daf_butler does: the component dataset type, component null.
    const s = serializeDatasetRef(ref);
    expect(s.component).toBeNull();
    expect(s.datasetType).toMatchObject({ name: 'src.rowCount', storageClass: 'Json', parentStorageClass: 'Table' });
    expect(datasetRefEquals(parseDatasetRef(s), ref)).toBe(true);
    expect(makeCompositeRef(ref).datasetType.name).toBe('src');
    expect(makeComponentRef(makeCompositeRef(ref), 'columnNames', reg).datasetType.storageClass).toBe('StructuredDataList');
  });
});

describe('dataset refs: compact form', () => {
  const known = new Map<string, DatasetType>([[SDT.name, parseDatasetType(SDT)]]);

  it('resolves a dataset type name through the known types', () => {
    const ref = parseDatasetRef({ id: ID, datasetType: SDT.name, dataId: { instrument: 'Cam1', detector: 1 }, run: 'RUN' }, known);
    expect(ref.datasetType).toBe(known.get(SDT.name));
    expect(serializeCompactRef(ref)).toEqual({
      id: ID,
      datasetType: SDT.name,
      dataId: { detector: 1, instrument: 'Cam1' },
      run: 'RUN',
      storageClass: 'StructuredDataDict',
    });
  });

  it('builds an unknown type from storageClass (+ dimensions or the data ID keys)', () => {
    const a = parseDatasetRef({ id: ID, datasetType: 'x', dataId: { visit: 3, instrument: 'C' }, run: 'r', storageClass: 'Json' });
    expect(a.datasetType).toMatchObject({ name: 'x', storageClass: 'Json', dimensions: ['instrument', 'visit'], isCalibration: false });
    // visit implies physical_filter (→ band) and day_obs: a data ID giving only some implied values keeps none (daf_butler).
    const b = parseDatasetRef({ id: ID, datasetType: 'x', dataId: { visit: 3, instrument: 'C', band: 'r' }, run: 'r', storageClass: 'Json', dimensions: ['visit', 'instrument'] });
    expect(b.datasetType.dimensions).toEqual(['instrument', 'visit']);
    expect(b.dataId).toEqual({ instrument: 'C', visit: 3 });
    const full = { visit: 3, instrument: 'C', band: 'r', physical_filter: 'r_57', day_obs: 20250101, tract: 9 };
    const c = parseDatasetRef({ id: ID, datasetType: 'x', dataId: full, run: 'r', storageClass: 'Json', dimensions: ['visit', 'instrument'] });
    expect(c.dataId).toEqual({ band: 'r', day_obs: 20250101, instrument: 'C', physical_filter: 'r_57', visit: 3 });
  });

  it('fails for an unknown name without storageClass', () => {
    const e = errorOf(() => parseDatasetRef({ id: ID, datasetType: 'nope', dataId: {}, run: 'r' }, known));
    expect(e).toBeInstanceOf(UnknownDatasetType);
  });

  it('applies a storageClass override to a known type (checked when a registry is given)', () => {
    const base = { id: ID, datasetType: SDT.name, dataId: { instrument: 'Cam1', detector: 1 }, run: 'RUN' };
    expect(parseDatasetRef({ ...base, storageClass: 'Json' }, known, reg).datasetType.storageClass).toBe('Json');
    expect(() => parseDatasetRef({ ...base, storageClass: 'Bytes' }, known, reg)).toThrow(StorageClassMismatch);
    expect(parseDatasetRef({ ...base, storageClass: 'Bytes' }, known).datasetType.storageClass).toBe('Bytes');
  });

  it('resolves component names through the parent type with a registry', () => {
    const k = new Map([['src', makeDatasetType({ name: 'src', storageClass: 'Table', dimensions: ['visit'] })]]);
    const ref = parseDatasetRef({ id: ID, datasetType: 'src.columnNames', dataId: { instrument: 'C', visit: 1 }, run: 'r' }, k, reg);
    expect(ref.datasetType).toMatchObject({ name: 'src.columnNames', storageClass: 'StructuredDataList', parentStorageClass: 'Table' });
  });

  it('rejects malformed optional fields', () => {
    const base = { id: ID, datasetType: SDT.name, dataId: { instrument: 'Cam1', detector: 1 }, run: 'RUN' };
    expect(() => parseDatasetRef({ ...base, storageClass: 3 }, known)).toThrow(InvalidDatasetRef);
    expect(() => parseDatasetRef({ ...base, dimensions: 'visit' }, known)).toThrow(InvalidDatasetRef);
    expect(() => parseDatasetRef({ ...base, component: '' }, known)).toThrow(InvalidDatasetRef);
  });
});

describe('minimal refs', () => {
  it('recognises {id} inputs', () => {
    expect(isMinimalRef({ id: ID })).toBe(true);
    expect(isMinimalRef({ id: ID, component: 'x', storageClass: 'Json' })).toBe(true);
    expect(isMinimalRef({ id: ID, datasetType: null, dataId: null, run: null, component: 'x' })).toBe(true);
    expect(isMinimalRef(DAF_REF)).toBe(false);
    expect(isMinimalRef({ id: ID, run: 'r' })).toBe(false);
    expect(isMinimalRef({})).toBe(false);
    expect(isMinimalRef(ID)).toBe(false);
    expect(parseMinimalRef({ id: ID.replace(/-/g, ''), component: 'x' })).toEqual({ id: ID, component: 'x' });
    expect(() => parseMinimalRef(DAF_REF)).toThrow(InvalidDatasetRef);
    expect(() => parseMinimalRef({ id: 'zz' })).toThrow(InvalidDatasetRef);
  });
});

describe('ref comparison', () => {
  const predicted = parseDatasetRef(DAF_REF);

  it('reports no mismatch for the same ref or a convertible storage class', () => {
    expect(refFieldsMismatch(predicted, parseDatasetRef(DAF_REF), reg)).toEqual([]);
    expect(refFieldsMismatch(predicted, withStorageClass(predicted, 'Json', reg), reg)).toEqual([]);
  });

  it('names each mismatching field', () => {
    const given = parseDatasetRef({
      id: ID2,
      datasetType: { ...SDT, name: 'other', storageClass: 'Bytes', dimensions: ['instrument'] },
      dataId: { instrument: 'Cam2' },
      run: 'RUN2',
    });
    expect(refFieldsMismatch(predicted, given, reg)).toEqual(['id', 'datasetType', 'dataId', 'run', 'dimensions', 'storageClass']);
  });

  it('compares data IDs on required dimensions only', () => {
    const withImplied = parseDatasetRef({ ...DAF_REF, dataId: { instrument: 'Cam1', detector: 1, band: 'r' } });
    expect(refFieldsMismatch(predicted, withImplied, reg)).toEqual([]);
    const wrong = parseDatasetRef({ ...DAF_REF, dataId: { instrument: 'Cam1', detector: 2 } });
    expect(refFieldsMismatch(predicted, wrong, reg)).toEqual(['dataId']);
  });

  it('reports dimensions given in the compact form', () => {
    const known = new Map([[SDT.name, parseDatasetType(SDT)]]);
    const base = { id: ID, datasetType: SDT.name, dataId: { instrument: 'Cam1', detector: 1 }, run: 'RUN' };
    const given = parseDatasetRef({ ...base, dimensions: ['instrument'] }, known);
    expect(given.datasetType.dimensions).toEqual(['instrument']);
    // Its data ID is standardised to its own dimensions, so it lacks the predicted detector.
    expect(given.dataId).toEqual({ instrument: 'Cam1' });
    expect(refFieldsMismatch(predicted, given, reg)).toEqual(['dataId', 'dimensions']);
    // Naming an implied dimension too is the same dataset type: no mismatch.
    const withBand = parseDatasetRef({ ...base, dimensions: ['instrument', 'detector', 'physical_filter', 'band'], dataId: { instrument: 'Cam1', detector: 1, physical_filter: 'r_57', band: 'r' } }, known);
    expect(withBand.datasetType.dimensions).toEqual(['instrument', 'detector', 'physical_filter']);
    // More dimensions than the data ID has values for: the ref itself is invalid.
    expect(() => parseDatasetRef({ ...base, dimensions: ['instrument', 'detector', 'visit'] }, known)).toThrow(/required dimension visit/);
  });

  it('withStorageClass keeps id/run and checks with a registry', () => {
    const r = withStorageClass(predicted, 'Json');
    expect(r.id).toBe(predicted.id);
    expect(r.datasetType.storageClass).toBe('Json');
    expect(withStorageClass(predicted, 'StructuredDataDict')).toBe(predicted);
    expect(() => withStorageClass(predicted, 'Bytes', reg)).toThrow(StorageClassMismatch);
    expect(datasetRefEquals(r, predicted)).toBe(false);
  });

  it('orders and prints refs', () => {
    const t = makeDatasetType({ name: 'a', storageClass: 'Json', dimensions: ['detector'] });
    const r1 = makeDatasetRef(t, parseDataId({ instrument: 'C', detector: 2 }), 'r', ID);
    const r2 = makeDatasetRef(t, parseDataId({ instrument: 'C', detector: 10 }), 'r', ID2);
    expect([r2, r1].sort(compareRefs)).toEqual([r1, r2]);
    expect(refToString(r1)).toBe(`a@{detector=2,instrument=C} [sc=Json] (run=r, id=${ID})`);
  });
});
