import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  DimensionUniverse,
  defaultUniverse,
  isUniverseReference,
  parseDimensionConfig,
  trimDimensionConfig,
  universeFrom,
} from '../../src/model/dimensions/index.js';
import { coerceDataIdValue, makeDataId, parseDataId, standardizeDataId } from '../../src/model/data-coordinate.js';
import { DimensionNameError, DimensionValueError, InconsistentUniverse, InvalidArgument } from '../../src/model/errors.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (rel: string) => readFileSync(`${ROOT}/${rel}`, 'utf8');

/** A small universe of our own: a governor, a dimension that implies another, a combination. */
const CUSTOM = {
  namespace: 'test_cam',
  version: 3,
  skypix: { common: 'htm3', htm: { class: 'lsst.sphgeom.HtmPixelization', max_level: 4 } },
  elements: {
    camera: { keys: [{ name: 'name', type: 'string' }], governor: true },
    color: { keys: [{ name: 'name', type: 'string' }] },
    filter: { keys: [{ name: 'name', type: 'string' }], requires: ['camera'], implies: ['color'] },
    chip: { keys: [{ name: 'id', type: 'int' }, { name: 'serial', type: 'string' }], requires: ['camera'] },
    shot: { keys: [{ name: 'id', type: 'int' }], requires: ['camera'], implies: ['filter'] },
    shot_chip_region: { requires: ['shot', 'chip'] },
  },
};

describe('the default universe', () => {
  const u = defaultUniverse();

  it("is daf_butler's current default: namespace daf_butler, version 8, every element of its dimensions.yaml", () => {
    expect(u.namespace).toBe('daf_butler');
    expect(u.version).toBe(8);
    expect(u.commonSkyPix).toBe('htm7');
    const named = u.elements.map((e) => e.name).filter((n) => !/^(htm|healpix)\d+$/.test(n));
    expect(new Set(named)).toEqual(
      new Set([
        'instrument', 'band', 'physical_filter', 'subfilter', 'detector', 'group', 'day_obs', 'visit', 'exposure', 'skymap', 'tract',
        'patch', 'visit_detector_region', 'visit_system', 'visit_definition', 'visit_system_membership', 'ssp_hypothesis_table',
        'ssp_hypothesis_bundle', 'ssp_balanced_index',
      ]),
    );
    // Skypix levels 1..24 (htm) and 1..17 (healpix).
    expect(u.elements.filter((e) => e.kind === 'skypix').length).toBe(24 + 17);
    expect(u.governors).toEqual(['instrument', 'skymap']);
    expect(u.element('visit_detector_region').kind).toBe('combination');
  });

  it('has the key types of its config (detector int, physical_filter string, skypix int)', () => {
    expect(u.dimension('detector').primaryKey).toEqual({ name: 'id', type: 'int' });
    expect(u.dimension('physical_filter').primaryKey).toEqual({ name: 'name', type: 'string' });
    expect(u.dimension('day_obs').primaryKey!.type).toBe('int');
    expect(u.dimension('htm7').primaryKey!.type).toBe('int');
    expect(u.dimension('detector').alternateKeys.map((k) => k.name)).toEqual(['full_name']);
    expect(u.element('visit_detector_region').primaryKey).toBeNull();
  });

  it('expands required dependencies recursively and keeps direct implied ones', () => {
    expect(u.dimension('patch').required).toEqual(['skymap', 'tract', 'patch']);
    expect(u.dimension('exposure').implied).toEqual(['day_obs', 'group', 'physical_filter']);
    expect(u.dimension('visit').governor).toBe('instrument');
    expect(u.dimension('band').governor).toBeNull();
    expect(u.element('visit_detector_region').required).toEqual(['instrument', 'detector', 'visit']);
  });

  // daf_butler's own serialised types list these required orders (tests/data/zip_index.json).
  it.each([
    [['instrument', 'detector', 'exposure'], ['instrument', 'detector', 'exposure']],
    [['visit', 'detector', 'instrument'], ['instrument', 'detector', 'visit']],
    [['exposure', 'detector'], ['instrument', 'detector', 'exposure']],
  ])('conforms %j to required %j (as daf_butler serialises them)', (given, required) => {
    expect(u.conform(given).required).toEqual(required);
  });

  it('separates implied dimensions: band is implied by physical_filter, so declaring it changes nothing', () => {
    const withBand = u.conform(['instrument', 'detector', 'physical_filter', 'band']);
    const without = u.conform(['instrument', 'detector', 'physical_filter']);
    expect(withBand).toBe(without);
    expect(withBand.required).toEqual(['instrument', 'detector', 'physical_filter']);
    expect(withBand.implied).toEqual(['band']);
    // Alone, band is required: what is required depends on the group.
    expect(u.conform(['band']).required).toEqual(['band']);
  });

  it("orders names topologically, ties broken by name per construction round (daf_butler's builder)", () => {
    const g = u.conform(['detector', 'visit']);
    expect(g.names).toEqual(['band', 'instrument', 'day_obs', 'detector', 'physical_filter', 'visit']);
    expect(g.required).toEqual(['instrument', 'detector', 'visit']);
    expect(g.implied).toEqual(['band', 'day_obs', 'physical_filter']);
    expect(g.dataCoordinateKeys).toEqual(['instrument', 'detector', 'visit', 'band', 'day_obs', 'physical_filter']);
    expect(g.elements).toContain('visit_detector_region');
    expect(g.governors).toEqual(['instrument']);
  });

  it('refuses unknown names and combinations with DimensionNameError', () => {
    expect(() => u.conform(['instrument', 'amplifier'])).toThrow(DimensionNameError);
    expect(() => u.conform(['visit_detector_region'])).toThrow(DimensionNameError);
  });
});

describe('data IDs against a universe', () => {
  const u = defaultUniverse();
  const visitDetector = u.conform(['visit', 'detector']);

  it('coerces values by key type: canonical integer strings for int keys, nothing else', () => {
    expect(coerceDataIdValue(u.dimension('detector'), '94')).toBe(94);
    expect(coerceDataIdValue(u.dimension('detector'), '-3')).toBe(-3);
    expect(coerceDataIdValue(u.dimension('detector'), 94)).toBe(94);
    expect(coerceDataIdValue(u.dimension('instrument'), 'LSSTCam')).toBe('LSSTCam');
    for (const bad of ['094', '+94', ' 94', '9.4', 'R22_S11', '', '99999999999999999999']) {
      expect(() => coerceDataIdValue(u.dimension('detector'), bad), bad).toThrow(DimensionValueError);
    }
    expect(() => coerceDataIdValue(u.dimension('instrument'), 5)).toThrow(DimensionValueError);
  });

  it('keeps implied values when all are given (a full data ID), else the required ones only; drops other keys', () => {
    const full = { instrument: 'LSSTCam', detector: '94', visit: 2025120300150, band: 'r', day_obs: 20251203, physical_filter: 'r_57', seq_num: 150 };
    expect(standardizeDataId(makeDataId(full), visitDetector)).toEqual({
      instrument: 'LSSTCam', detector: 94, visit: 2025120300150, band: 'r', day_obs: 20251203, physical_filter: 'r_57',
    });
    const partial = { instrument: 'LSSTCam', detector: 94, visit: 2025120300150, band: 'r' };
    expect(standardizeDataId(makeDataId(partial), visitDetector)).toEqual({ instrument: 'LSSTCam', detector: 94, visit: 2025120300150 });
  });

  it('names missing required dimensions (DimensionNameError) and unknown keys of a bare data ID', () => {
    expect(() => standardizeDataId(makeDataId({ instrument: 'LSSTCam', visit: 1 }), visitDetector)).toThrow(/required dimension detector/);
    expect(() => standardizeDataId(makeDataId({ visit: 1, detector: 2 }), visitDetector)).toThrow(DimensionNameError);
    expect(() => parseDataId({ instrument: 'LSSTCam', amp: 3 }, u)).toThrow(DimensionNameError);
    expect(parseDataId({ dataId: { instrument: 'LSSTCam', detector: '7' }, records: null }, u)).toEqual({ instrument: 'LSSTCam', detector: 7 });
  });
});

describe('other universes', () => {
  it('builds a custom universe from a daf_butler dimensions config', () => {
    const u = universeFrom(CUSTOM);
    expect(u).not.toBe(defaultUniverse());
    expect(u.label).toBe('test_cam@3');
    expect(u.dimensions.map((d) => d.name)).toEqual(['camera', 'color', 'htm1', 'htm2', 'htm3', 'htm4', 'chip', 'filter', 'shot']);
    expect(u.elements.map((e) => e.name).at(-1)).toBe('shot_chip_region');
    const g = u.conform(['shot', 'chip']);
    expect(g.required).toEqual(['camera', 'chip', 'shot']);
    expect(g.implied).toEqual(['color', 'filter']);
    expect(g.elements).toContain('shot_chip_region');
    expect(coerceDataIdValue(u.dimension('chip'), '12')).toBe(12);
    // The same config again is the same universe; a reference to it is not known to this build.
    expect(universeFrom(JSON.parse(JSON.stringify(CUSTOM)))).toBe(u);
    expect(() => universeFrom({ namespace: 'test_cam', version: 3 })).toThrow(InconsistentUniverse);
  });

  it('reads references to the default universe and refuses unknown ones', () => {
    expect(isUniverseReference({ namespace: 'daf_butler', version: 8 })).toBe(true);
    expect(universeFrom({ namespace: 'daf_butler', version: 8 })).toBe(defaultUniverse());
    expect(universeFrom(undefined)).toBe(defaultUniverse());
    expect(() => universeFrom({ namespace: 'daf_butler', version: 2 })).toThrow(InconsistentUniverse);
    expect(() => universeFrom('daf_butler')).toThrow(InvalidArgument);
  });

  it.each([
    ['a cycle', { b: { keys: [{ name: 'id', type: 'int' }], requires: ['c'] }, c: { keys: [{ name: 'id', type: 'int' }], requires: ['b'] } }, /cycle/],
    ['an unknown dependency', { b: { keys: [{ name: 'id', type: 'int' }], requires: ['nope'] } }, /unknown dimension 'nope'/],
    ['a float primary key', { b: { keys: [{ name: 'x', type: 'float' }] } }, /'int' or 'string'/],
    ['a governor with an int key', { b: { keys: [{ name: 'id', type: 'int' }], governor: true } }, /string primary key/],
    ['a keyless element without requires', { b: {} }, /at least one/],
    ['a dimension with always_join', { b: { keys: [{ name: 'id', type: 'int' }], always_join: true } }, /always_join/],
  ])('refuses a config with %s', (_what, elements, message) => {
    const config = { version: 1, skypix: { common: 'htm1', htm: { class: 'lsst.sphgeom.HtmPixelization', max_level: 1 } }, elements };
    expect(() => new DimensionUniverse(parseDimensionConfig(config))).toThrow(message);
  });

  it("folds daf_butler's legacy storage sections into is_cached / implied_union_target", () => {
    const c = parseDimensionConfig({
      version: 1,
      skypix: { common: 'htm1', htm: { class: 'lsst.sphgeom.HtmPixelization' } },
      elements: {
        band: {
          keys: [{ name: 'name', type: 'string', length: 32 }],
          storage: { cls: 'lsst.daf.butler.registry.dimensions.caching.CachingDimensionRecordStorage', nested: { cls: 'x.QueryDimensionRecordStorage', view_of: 'physical_filter' } },
        },
      },
      packers: { ignored: true },
    });
    expect(c.namespace).toBe('daf_butler');
    expect(c.skypix.systems['htm']!.max_level).toBe(24);
    expect(c.elements['band']).toMatchObject({ is_cached: true, implied_union_target: 'physical_filter' });
  });
});

describe('the data file', () => {
  it('is in canonical trimmed form, and the Python client ships the same bytes', () => {
    const ts = read('src/model/dimensions/default-universe.json');
    expect(read('clients/python/quantum_butler/default-universe.json')).toBe(ts);
    const data = JSON.parse(ts) as unknown;
    expect(trimDimensionConfig(parseDimensionConfig(data))).toEqual(data);
  });
});
