import { describe, it, expect } from 'vitest';
import {
  DATASET_ID_NAMESPACE,
  datasetIdHex,
  datasetIdSeed,
  datasetIdVersion,
  isDatasetId,
  makeDatasetId,
  newDatasetId,
  normalizeDatasetId,
} from '../../src/model/dataset-id.js';
import { InvalidArgument, InvalidDatasetRef } from '../../src/model/errors.js';

// Expected values computed independently with Python 3:
//   uuid.uuid5(uuid.UUID('840b31d9-05cd-5161-b2c8-00d32b280d0f'), s)
const DATA_ID = { instrument: 'HSC', visit: 903334, detector: 16 };
const DIMS = ['visit', 'instrument', 'detector'];

describe('dataset ids', () => {
  it('uses the daf_butler namespace (uuid5(DNS, "lsst.org"))', () => {
    expect(DATASET_ID_NAMESPACE).toBe('840b31d9-05cd-5161-b2c8-00d32b280d0f');
  });

  it('builds the seed string in the fixed order', () => {
    expect(datasetIdSeed('DATAID_TYPE_RUN', 'calexp', DATA_ID, DIMS, 'r1')).toBe(
      'dataset_type=calexp,run=r1,detector=16,instrument=HSC,visit=903334',
    );
    expect(datasetIdSeed('DATAID_TYPE', 'calexp', DATA_ID, DIMS, 'r1')).toBe('dataset_type=calexp,detector=16,instrument=HSC,visit=903334');
  });

  it('DATAID_TYPE_RUN matches the known uuid5 vector', () => {
    expect(makeDatasetId('DATAID_TYPE_RUN', 'calexp', DATA_ID, DIMS, 'r1')).toBe('8ac4546c-995f-5e94-ba09-8183061da57f');
  });

  it('DATAID_TYPE ignores the run and matches the known vector', () => {
    const a = makeDatasetId('DATAID_TYPE', 'calexp', DATA_ID, DIMS, 'r1');
    const b = makeDatasetId('DATAID_TYPE', 'calexp', DATA_ID, DIMS, 'other');
    expect(a).toBe('6998e9cb-ae28-57c2-a0b8-d32b81c72b0e');
    expect(b).toBe(a);
  });

  it('uses only required dimensions (implied keys in the data ID are ignored)', () => {
    const withImplied = { ...DATA_ID, band: 'i', physical_filter: 'HSC-I' };
    expect(makeDatasetId('DATAID_TYPE_RUN', 'calexp', withImplied, DIMS, 'r1')).toBe('8ac4546c-995f-5e94-ba09-8183061da57f');
  });

  it('rejects a data ID missing a required dimension', () => {
    expect(() => makeDatasetId('DATAID_TYPE', 'calexp', { instrument: 'HSC' }, DIMS, 'r1')).toThrow(InvalidArgument);
  });

  it('rejects an unknown mode', () => {
    expect(() => makeDatasetId('BOGUS' as never, 'calexp', DATA_ID, DIMS, 'r1')).toThrow(InvalidArgument);
  });

  it('UNIQUE gives fresh v7 ids', () => {
    const a = makeDatasetId('UNIQUE', 'calexp', DATA_ID, DIMS, 'r1');
    const b = newDatasetId();
    expect(a).not.toBe(b);
    for (const id of [a, b]) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(datasetIdVersion(id)).toBe(7);
    }
  });

  it('v7 ids start with the current unix time in milliseconds', () => {
    const before = Date.now();
    const id = newDatasetId();
    const after = Date.now();
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });

  it('normalizes dashed and hex forms in any case', () => {
    const dashed = '74478304-abf1-4a9c-9eb2-926090a84446';
    expect(normalizeDatasetId(dashed)).toBe(dashed);
    expect(normalizeDatasetId(dashed.toUpperCase())).toBe(dashed);
    expect(normalizeDatasetId('74478304abf14a9c9eb2926090a84446')).toBe(dashed);
    expect(normalizeDatasetId('74478304ABF14A9C9EB2926090A84446')).toBe(dashed);
    expect(datasetIdHex(dashed)).toBe('74478304abf14a9c9eb2926090a84446');
    expect(datasetIdHex('74478304ABF14A9C9EB2926090A84446')).toBe('74478304abf14a9c9eb2926090a84446');
    expect(isDatasetId(dashed)).toBe(true);
    expect(isDatasetId('nope')).toBe(false);
  });

  it('gives what the dashed pattern and toLowerCase give for every one-character change of a canonical id', () => {
    const dashed = '74478304-abf1-4a9c-9eb2-926090a84446';
    const reference = (s: string): string | undefined =>
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s) ? s.toLowerCase() : /^[0-9a-f]{32}$/i.test(s) ? normalizeDatasetId(s) : undefined;
    const variants = [dashed, `${dashed}\n`, `${dashed}0`, dashed.slice(1), `-${dashed.slice(1)}`];
    for (let i = 0; i < dashed.length; i++) {
      for (const c of ['-', '0', '9', 'a', 'f', 'g', 'A', 'F', 'G', '/', ':', '`', '@', ' ', '\u00e9']) variants.push(dashed.slice(0, i) + c + dashed.slice(i + 1));
    }
    for (const v of variants) {
      const want = reference(v);
      if (want === undefined) expect(() => normalizeDatasetId(v), JSON.stringify(v)).toThrow(InvalidDatasetRef);
      else expect(normalizeDatasetId(v), JSON.stringify(v)).toBe(want);
    }
  });

  it('rejects anything else with InvalidDatasetRef', () => {
    for (const bad of ['', 'not-a-uuid', '74478304-abf1-4a9c-9eb2-926090a8444', '74478304abf14a9c9eb2926090a8444g', 42, null, undefined, {}]) {
      expect(() => normalizeDatasetId(bad)).toThrow(InvalidDatasetRef);
    }
    expect(() => datasetIdHex('zzz')).toThrow(InvalidDatasetRef);
  });
});
