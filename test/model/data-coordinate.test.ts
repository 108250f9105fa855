import { describe, it, expect } from 'vitest';
import {
  compareDataIds,
  dataIdEquals,
  dataIdKey,
  dataIdQuery,
  dataIdSubset,
  missingDimensions,
  parseDataId,
  serializeDataCoordinate,
} from '../../src/model/data-coordinate.js';
import { InvalidArgument } from '../../src/model/errors.js';

describe('data IDs', () => {
  it('parses a plain mapping with sorted keys', () => {
    const d = parseDataId({ instrument: 'Cam1', detector: 1 });
    expect(d).toEqual({ detector: 1, instrument: 'Cam1' });
    expect(Object.keys(d)).toEqual(['detector', 'instrument']);
    expect(Object.isFrozen(d)).toBe(true);
  });

  it('parses a SerializedDataCoordinate and ignores records', () => {
    expect(parseDataId({ dataId: { instrument: 'Cam1', detector: 1 }, records: null })).toEqual({ detector: 1, instrument: 'Cam1' });
    expect(
      parseDataId({ dataId: { instrument: 'Cam1' }, records: { instrument: { definition: 'instrument', record: { name: 'Cam1' } } } }),
    ).toEqual({ instrument: 'Cam1' });
    expect(parseDataId({ dataId: null, records: null })).toEqual({});
  });

  it('maps null and undefined to the empty data ID', () => {
    expect(parseDataId(null)).toEqual({});
    expect(parseDataId(undefined)).toEqual({});
  });

  it('rejects floats, nested values, booleans and non-mappings', () => {
    expect(() => parseDataId({ detector: 1.5 })).toThrow(InvalidArgument);
    expect(() => parseDataId({ detector: { a: 1 } })).toThrow(InvalidArgument);
    expect(() => parseDataId({ detector: [1] })).toThrow(InvalidArgument);
    expect(() => parseDataId({ detector: true })).toThrow(InvalidArgument);
    expect(() => parseDataId({ detector: null })).toThrow(InvalidArgument);
    expect(() => parseDataId({ dataId: { detector: 2.5 }, records: null })).toThrow(InvalidArgument);
    expect(() => parseDataId([1, 2])).toThrow(InvalidArgument);
    expect(() => parseDataId('detector=1')).toThrow(InvalidArgument);
    expect(() => parseDataId({ 'bad name': 1 })).toThrow(InvalidArgument);
    try {
      parseDataId({ detector: 1.5 });
    } catch (e) {
      expect((e as InstanceType<typeof InvalidArgument>).message).toMatch(/detector/);
      expect((e as InstanceType<typeof InvalidArgument>).context.details).toMatchObject({ key: 'detector', value: 1.5 });
    }
  });

  it('treats a "dataId" key with other dimension keys as a plain mapping attempt', () => {
    expect(() => parseDataId({ dataId: { a: 1 }, visit: 3 })).toThrow(InvalidArgument);
  });

  it('compares strictly', () => {
    expect(dataIdEquals(parseDataId({ a: 1, b: 'x' }), parseDataId({ b: 'x', a: 1 }))).toBe(true);
    expect(dataIdEquals(parseDataId({ a: 1 }), parseDataId({ a: '1' }))).toBe(false);
    expect(dataIdEquals(parseDataId({ a: 1 }), parseDataId({ a: 1, b: 2 }))).toBe(false);
    expect(dataIdEquals(parseDataId({ a: 1, c: 2 }), parseDataId({ a: 1, b: 2 }))).toBe(false);
  });

  it('gives canonical keys and URL queries', () => {
    const d = parseDataId({ instrument: 'Cam1', detector: 1 });
    expect(dataIdKey(d)).toBe('detector=1,instrument=Cam1');
    expect(dataIdQuery(d)).toBe('detector=1&instrument=Cam1');
    expect(dataIdQuery(parseDataId({ physical_filter: 'HSC I&z', tract: 9 }))).toBe('physical_filter=HSC+I%26z&tract=9');
    expect(dataIdKey({})).toBe('');
    expect(dataIdQuery({})).toBe('');
    expect(dataIdQuery(parseDataId({ b: "it's (x)*~", a: 'ü' }))).toBe('a=%C3%BC&b=it%27s+%28x%29%2A~');
  });

  it('a query made from the key (every part safe) is the one quoting each part gives; a comma or = inside a part is quoted', () => {
    const quote = (t: string) => (/^[\w.~-]*$/.test(t) ? t : encodeURIComponent(t).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+'));
    const reference = (m: Record<string, string | number>) =>
      Object.keys(m)
        .sort()
        .map((k) => `${quote(k)}=${quote(String(m[k]))}`)
        .join('&');
    const mappings: Array<Record<string, string | number>> = [
      { instrument: 'Cam1', detector: 1 },
      { a: 'x,b=y' },
      { a: 'x,b=y', c: 1 },
      { a: 'x=y' },
      { a: '' },
      { a: 'x', b: '' },
      { a: 'sp ace', b: 1 },
      { a: 7, b: -2, c: 'v-1_.~' },
      { a: 'x,y', b: 'z' },
    ];
    for (const m of mappings) {
      expect(dataIdQuery(parseDataId(m)), JSON.stringify(m)).toBe(reference(m));
      expect(dataIdQuery({ ...m }), JSON.stringify(m)).toBe(reference(m));
    }
  });

  it('plain mappings (any key order) get the same keys and queries as parsed data IDs', () => {
    const plain = { instrument: 'Cam 1', detector: 1 };
    const parsed = parseDataId(plain);
    expect(dataIdKey(plain)).toBe(dataIdKey(parsed));
    expect(dataIdQuery(plain)).toBe(dataIdQuery(parsed));
    // Asked again (remembered on the parsed data ID): the same answer.
    expect(dataIdKey(parsed)).toBe('detector=1,instrument=Cam 1');
    expect(dataIdQuery(parsed)).toBe('detector=1&instrument=Cam+1');
  });

  it('what a parsed data ID remembers is invisible: keys, JSON, copies and equality are those of the mapping', () => {
    const d = parseDataId({ instrument: 'Cam1', detector: 1 });
    dataIdKey(d);
    expect(Object.keys(d)).toEqual(['detector', 'instrument']);
    expect(Object.getOwnPropertyNames(d)).toEqual(['detector', 'instrument']);
    expect(JSON.stringify(d)).toBe('{"detector":1,"instrument":"Cam1"}');
    expect(Object.keys({ ...d })).toEqual(['detector', 'instrument']);
    expect(structuredClone(d)).toEqual({ detector: 1, instrument: 'Cam1' });
    expect(d).toStrictEqual(parseDataId({ detector: 1, instrument: 'Cam1' }));
  });

  it('serializes with records null', () => {
    expect(serializeDataCoordinate(parseDataId({ instrument: 'Cam1', detector: 1 }))).toEqual({
      dataId: { detector: 1, instrument: 'Cam1' },
      records: null,
    });
  });

  it('takes subsets, finds missing dimensions and orders', () => {
    const d = parseDataId({ instrument: 'Cam1', detector: 1, band: 'r' });
    expect(dataIdSubset(d, ['instrument', 'detector', 'visit'])).toEqual({ detector: 1, instrument: 'Cam1' });
    expect(missingDimensions(d, ['instrument', 'visit'])).toEqual(['visit']);
    expect(compareDataIds(parseDataId({ detector: 2 }), parseDataId({ detector: 10 }))).toBeLessThan(0);
    expect(compareDataIds(parseDataId({ detector: 2 }), parseDataId({ detector: 2 }))).toBe(0);
  });

  it('keeps a "__proto__" dimension as a plain key', () => {
    const d = parseDataId(JSON.parse('{"__proto__": 3, "a": 1}'));
    expect(Object.keys(d)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(d)).toBe(Object.prototype);
  });
});
