/** The matcher: placeholders bind and compare, and every difference is reported with its path. */
import { describe, expect, it } from 'vitest';
import { Bindings } from '../../src/replay/bindings.js';
import { MISSING, match, tryMatch } from '../../src/replay/matcher.js';
import { parsePlaceholder, PlaceholderError } from '../../src/replay/placeholder.js';
import { substitute, UnboundPlaceholder } from '../../src/replay/substitute.js';

const UUID = '0b8f4a52-5c1e-4f7a-9d2e-3a6b7c8d9e0f';
const UUID2 = '1c9e5b63-6d2f-4a8b-8e3f-4b7c8d9e0f1a';

describe('literal values', () => {
  it('equal values match; key order does not matter', () => {
    expect(match({ a: 1, b: [true, null, 'x'] }, { b: [true, null, 'x'], a: 1 }, new Bindings())).toEqual([]);
  });

  it('reports each difference with its path', () => {
    const m = match({ result: { n: 1, list: [1, 2], obj: { k: 'v' } } }, { result: { n: 2, list: [1, 3, 4], obj: { k: 'v', extra: 0 } } }, new Bindings());
    expect(m).toEqual([
      { path: '$.result.n', expected: 1, actual: 2 },
      { path: '$.result.list[1]', expected: 2, actual: 3 },
      { path: '$.result.list[2]', expected: MISSING, actual: 4 },
      { path: '$.result.obj.extra', expected: MISSING, actual: 0 },
    ]);
  });

  it('reports missing keys, and quotes keys that are not identifiers', () => {
    const m = match({ methods: { 'server/ping': { count: 1 } } }, { methods: {} }, new Bindings());
    expect(m).toEqual([{ path: '$.methods["server/ping"]', expected: { count: 1 }, actual: MISSING }]);
  });

  it('a type difference is one mismatch at that path', () => {
    expect(match({ a: { b: 1 } }, { a: [1] }, new Bindings())).toEqual([{ path: '$.a', expected: { b: 1 }, actual: [1], reason: 'expected an object' }]);
    expect(match(1, '1', new Bindings())).toEqual([{ path: '$', expected: 1, actual: '1' }]);
  });

  it('an open object ({{*}} key) allows extra keys', () => {
    expect(match({ a: 1, '{{*}}': true }, { a: 1, b: 2 }, new Bindings())).toEqual([]);
    expect(match({ a: 1, '{{*}}': true }, { b: 2 }, new Bindings())).toEqual([{ path: '$.a', expected: 1, actual: MISSING }]);
  });
});

describe('placeholders', () => {
  it('typed placeholders check the type of any JSON value', () => {
    const b = new Bindings();
    expect(match({ n: '{{int}}', x: '{{number}}', s: '{{string}}', t: '{{time}}', u: '{{uuid}}', h: '{{sha256}}', any: '{{*}}' },
      { n: 204, x: 0.5, s: 'a', t: '2026-11-23T10:21:47.690Z', u: UUID, h: 'ab'.repeat(32), any: { deep: [1] } }, b)).toEqual([]);
    const m = match({ n: '{{int}}', t: '{{time}}', u: '{{uuid}}' }, { n: 1.5, t: 'yesterday', u: UUID.toUpperCase() }, b);
    expect(m.map((x) => [x.path, x.reason])).toEqual([
      ['$.n', 'expected type int'],
      ['$.t', 'expected type time'],
      ['$.u', 'expected type uuid'],
    ]);
  });

  it('a name binds the first time and must be equal afterwards', () => {
    const b = new Bindings();
    expect(match({ a: '{{uuid:sid}}', b: '{{sid}}' }, { a: UUID, b: UUID }, b)).toEqual([]);
    expect(b.lookup('sid')).toEqual({ found: true, value: UUID });
    const m = match({ c: '{{sid}}' }, { c: UUID2 }, b);
    expect(m).toEqual([{ path: '$.c', expected: '{{sid}}', actual: UUID2, reason: `{{sid}} is bound to "${UUID}"` }]);
  });

  it('a bare name binds any value, objects included', () => {
    const b = new Bindings();
    expect(match({ doc: '{{doc}}' }, { doc: { x: [1, 2] } }, b)).toEqual([]);
    expect(match('{{doc}}', { x: [1, 2] }, b)).toEqual([]);
    expect(match('{{doc}}', { x: [1] }, b)).toHaveLength(1);
  });

  it('embedded placeholders match parts of a string and bind them', () => {
    const b = new Bindings([['tmpdir', '/tmp/qb-replay-x']]);
    expect(match('Cannot read {{tmpdir}}/missing.json: {{*}}', 'Cannot read /tmp/qb-replay-x/missing.json: no such file', b)).toEqual([]);
    expect(match('No open transaction {{uuid:tx}} in session kv.', `No open transaction ${UUID} in session kv.`, b)).toEqual([]);
    expect(b.lookup('tx')).toEqual({ found: true, value: UUID });
    expect(match('again {{tx}}', `again ${UUID}`, b)).toEqual([]);
    expect(match('again {{tx}}', `again ${UUID2}`, b)).toEqual([{ path: '$', expected: 'again {{tx}}', actual: `again ${UUID2}` }]);
    expect(match('in {{number}} ms', 'in 0.05 ms', b)).toEqual([]);
    expect(match('in {{number}} ms', 'in fast ms', b)).toHaveLength(1);
    expect(match('x{{int}}', 7, b)).toEqual([{ path: '$', expected: 'x{{int}}', actual: 7, reason: 'expected a string' }]);
  });

  it('a name used twice in one string must match the same text', () => {
    expect(match('{{a}}-{{a}}', 'x-x', new Bindings())).toEqual([]);
    expect(match('{{a}}-{{a}}', 'x-y', new Bindings())).toHaveLength(1);
  });

  it('dotted names look up inside bound values', () => {
    const b = new Bindings([['fixture', { quanta: { q1: { outputs: [{ id: UUID }] } } }]]);
    expect(match({ id: '{{fixture.quanta.q1.outputs.0.id}}' }, { id: UUID }, b)).toEqual([]);
    expect(match({ id: '{{fixture.quanta.q1.outputs.0.id}}' }, { id: UUID2 }, b)).toHaveLength(1);
    expect(match('{{nothing.here}}', 1, b)[0]!.reason).toMatch(/nothing bound/);
  });

  it('placeholders in keys take the first unclaimed key that matches', () => {
    const b = new Bindings();
    const expected = { records: { 'InMemoryDatastore@{{uuid:ds}}': { ids: [1] }, fixed: 2 } };
    expect(match(expected, { records: { fixed: 2, [`InMemoryDatastore@${UUID}`]: { ids: [1] } } }, b)).toEqual([]);
    expect(b.lookup('ds')).toEqual({ found: true, value: UUID });
    const m = match({ 'InMemoryDatastore@{{uuid:other}}': { ids: [1] } }, { [`InMemoryDatastore@${UUID2}`]: { ids: [2] } }, new Bindings());
    expect(m).toEqual([{ path: `$["InMemoryDatastore@${UUID2}"].ids[0]`, expected: 1, actual: 2 }]);
  });

  it('tryMatch binds only when everything matches', () => {
    const b = new Bindings();
    expect(tryMatch({ a: '{{x}}', b: 1 }, { a: 'v', b: 2 }, b)).toHaveLength(1);
    expect(b.lookup('x').found).toBe(false);
    expect(tryMatch({ a: '{{x}}', b: 1 }, { a: 'v', b: 1 }, b)).toEqual([]);
    expect(b.lookup('x')).toEqual({ found: true, value: 'v' });
  });

  it('rejects malformed placeholders', () => {
    expect(() => parsePlaceholder('date:x')).toThrow(PlaceholderError);
    expect(() => parsePlaceholder('a b')).toThrow(PlaceholderError);
    expect(() => parsePlaceholder('uuid:a.b')).toThrow(PlaceholderError);
    expect(parsePlaceholder('time:startedAt')).toMatchObject({ type: 'time', name: 'startedAt' });
    expect(parsePlaceholder('uuid')).toMatchObject({ type: 'uuid', name: null });
  });
});

describe('substitution into sends', () => {
  it('a whole placeholder becomes the bound value; embedded ones its text', () => {
    const b = new Bindings([['tmpdir', '/tmp/x'], ['q', { taskName: 't' }], ['n', 3]]);
    expect(substitute({ quantum: '{{q}}', path: '{{tmpdir}}/kv.sqlite3', label: 'n={{n}}', list: ['{{n}}'] }, b)).toEqual({
      quantum: { taskName: 't' },
      path: '/tmp/x/kv.sqlite3',
      label: 'n=3',
      list: [3],
    });
  });

  it('an unbound or unnamed placeholder cannot be sent', () => {
    expect(() => substitute({ a: '{{missing}}' }, new Bindings())).toThrow(UnboundPlaceholder);
    expect(() => substitute({ a: '{{int}}' }, new Bindings())).toThrow(UnboundPlaceholder);
  });
});
