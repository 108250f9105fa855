/** JSON-value checks and canonical JSON: the fast scan must agree with the exact walk. */
import { describe, expect, it } from 'vitest';
import { canonicalJson, jsonValueProblem } from '../../src/model/json-value.js';
import { InvalidValue } from '../../src/model/errors.js';

/** `{a: {a: ... leaf}}`, `depth` objects deep. */
function nested(depth: number, leaf: unknown, extra: Record<string, unknown> = {}): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = { ...extra, a: v };
  return v;
}

describe('jsonValueProblem', () => {
  it.each([null, true, 0, -1.5, 'x', [], {}, [1, 'a', { b: [null] }], { z: 1, a: { y: [true] } }])('accepts %j', (v) => {
    expect(jsonValueProblem(v)).toBeNull();
  });

  it.each([
    [undefined, '$ is undefined, not a JSON value'],
    [{ a: [1, Number.NaN] }, '$.a[1] is a non-finite number'],
    [{ a: { b: () => 1 } }, '$.a.b is a function, not a JSON value'],
    [{ a: Buffer.from('x') }, '$.a is a Buffer, not a JSON value'],
    [[1n], '$[0] is a bigint, not a JSON value'],
    [{ a: new Date(0) }, '$.a is a Date, not a JSON value'],
  ])('names the problem and where it is: %s', (v, message) => {
    expect(jsonValueProblem(v)).toBe(message);
  });

  it('finds a cycle', () => {
    const o: Record<string, unknown> = { a: [1] };
    (o['a'] as unknown[]).push(o);
    expect(jsonValueProblem(o)).toBe('$.a[1] is part of a cycle');
  });

  it('a shared (not cyclic) object is fine', () => {
    const shared = { x: 1 };
    expect(jsonValueProblem({ a: shared, b: [shared, shared] })).toBeNull();
  });

  it('values deeper than the fast scan are judged exactly', () => {
    expect(jsonValueProblem(nested(1000, 1))).toBeNull();
    expect(jsonValueProblem(nested(1000, Number.POSITIVE_INFINITY))).toMatch(/^\$(\.a){1000} is a non-finite number$/);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level, and keeps insertion order when asked', () => {
    const v = { b: 1, a: { d: [1, { y: 1, x: 2 }], c: null } };
    expect(canonicalJson(v)).toBe('{"a":{"c":null,"d":[1,{"x":2,"y":1}]},"b":1}');
    expect(canonicalJson(v, { sortKeys: false })).toBe(JSON.stringify(v));
  });

  it('gives the same text whatever the key order', () => {
    expect(canonicalJson({ a: 1, b: [{ c: 1, d: 2 }] })).toBe(canonicalJson({ b: [{ d: 2, c: 1 }], a: 1 }));
  });

  it('sorts keys of values deeper than the fast scan', () => {
    let expected = '{"x":2,"y":1}';
    for (let i = 0; i < 400; i++) expected = `{"a":${expected},"b":0}`;
    expect(canonicalJson(nested(400, { y: 1, x: 2 }, { b: 0 }))).toBe(expected);
  });

  it('refuses what is not JSON, with the place', () => {
    expect(() => canonicalJson({ a: [Number.NaN] })).toThrow(InvalidValue);
    expect(() => canonicalJson({ a: [Number.NaN] })).toThrow('$.a[0] is a non-finite number');
  });
});
