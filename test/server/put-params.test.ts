import { describe, expect, it } from 'vitest';
import { Put } from '../../protocol/butler.js';
import { usualPutParams } from '../../src/server/put-params.js';
import { isEscapeFree } from '../../src/model/json-value.js';

/** The same members in the same order at every level (toEqual ignores order), values as toEqual compares them. */
function shape(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(shape);
  return Object.keys(v).map((k) => [k, shape((v as Record<string, unknown>)[k])]);
}

const id = '5d4c2f5e-1b9b-4c3e-9d0a-2a1f0e3c4b5a';
const value = { payload: 'x'.repeat(1000), b: [1, -0, 1e300, 'é\u{1F600}', '\ud800'], __proto__: null };
const usual = () => JSON.parse(JSON.stringify({ sessionId: 's1', ref: { id }, payload: { encoding: 'json', value: { payload: 'x'.repeat(1000) } } })) as Record<string, unknown>;

/** Params near the usual shape: each either read as zod would or left to zod. */
function variants(): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  const NULL = Symbol('null params');
  const add = (name: string, change: (p: Record<string, unknown>) => unknown) => {
    const p = usual();
    const changed = change(p);
    out.push([name, changed === NULL ? null : changed ?? p]);
  };
  add('usual', () => undefined);
  add('keys in another order', (p) => ({ payload: p.payload, ref: p.ref, sessionId: p.sessionId }));
  add('payload keys in another order', (p) => ({ ...p, payload: { value: 1, encoding: 'json' } }));
  for (const v of [null, 0, -0, false, '', 'é\ud800', [], [1, [2]], { z: 1, a: { __proto__: 1 } }, value, JSON.parse('{"__proto__":{"a":1}}')]) {
    add(`value ${JSON.stringify(v)}`, (p) => void ((p.payload as Record<string, unknown>).value = v));
  }
  add('value undefined', (p) => void ((p.payload as Record<string, unknown>).value = undefined));
  add('no value', (p) => void delete (p.payload as Record<string, unknown>).value);
  add('text encoding', (p) => ({ ...p, payload: { encoding: 'text', text: 'a' } }));
  add('text encoding with a value', (p) => ({ ...p, payload: { encoding: 'text', value: 'a' } }));
  add('base64 encoding', (p) => ({ ...p, payload: { encoding: 'base64', data: 'YQ==' } }));
  add('file encoding', (p) => ({ ...p, payload: { encoding: 'file', path: '/tmp/x' } }));
  add('no encoding', (p) => ({ ...p, payload: { value: 1 } }));
  add('an extra payload key', (p) => void ((p.payload as Record<string, unknown>).mode = 'copy'));
  add('empty session id', (p) => void (p.sessionId = ''));
  add('numeric session id', (p) => void (p.sessionId = 1));
  add('no session id', (p) => void delete p.sessionId);
  add('empty dataset id', (p) => void (p.ref = { id: '' }));
  add('numeric dataset id', (p) => void (p.ref = { id: 7 }));
  add('ref with a component', (p) => void (p.ref = { id, component: 'wcs' }));
  add('ref with a storage class', (p) => void (p.ref = { id, storageClass: 'StructuredDataDict' }));
  add('full ref', (p) => void (p.ref = { id, datasetType: 'raw', dataId: { instrument: 'X' }, run: 'r' }));
  add('ref an array', (p) => void (p.ref = [id]));
  add('ref a string', (p) => void (p.ref = id));
  add('ref null', (p) => void (p.ref = null));
  add('payload an array', (p) => void (p.payload = ['json', 1]));
  add('payload null', (p) => void (p.payload = null));
  add('provenance', (p) => void (p.provenance = { inputs: [id] }));
  add('workDoneToken', (p) => void (p.workDoneToken = 't'));
  add('an unknown key', (p) => void (p.extra = 1));
  add('a __proto__ key', () => JSON.parse(`{"sessionId":"s","ref":{"id":"${id}"},"__proto__":{"encoding":"json","value":1}}`));
  add('a __proto__ key in ref', () => JSON.parse(`{"sessionId":"s","ref":{"__proto__":{"id":"${id}"}},"payload":{"encoding":"json","value":1}}`));
  add('a null-prototype object', (p) => Object.assign(Object.create(null), p));
  add('params an array', () => [1, 2, 3]);
  add('params null', () => NULL);
  return out;
}

describe('usualPutParams', () => {
  it.each(variants())('%s: the schema\'s result, or left to the schema', (_name, raw) => {
    const fast = usualPutParams(raw);
    const parsed = Put.params.safeParse(raw);
    if (fast === undefined) return;
    expect(parsed.success).toBe(true);
    expect(shape(fast)).toEqual(shape(parsed.data));
    expect(fast).toEqual(parsed.data);
    // z.unknown() leaves the value as it is: the same object, not a copy.
    expect(fast.payload.encoding === 'json' && fast.payload.value).toBe((raw as { payload: { value: unknown } }).payload.value);
  });

  it('reads what the clients send for a JSON value (in either key order) and no other shape', () => {
    const read = variants().filter(([, raw]) => usualPutParams(raw) !== undefined).map(([name]) => name);
    expect(read).toEqual([
      'usual',
      'keys in another order',
      'payload keys in another order',
      ...['null', '0', '0', 'false', '""', JSON.stringify('é\ud800'), '[]', '[1,[2]]', '{"z":1,"a":{}}', JSON.stringify(value), '{"__proto__":{"a":1}}'].map((v) => `value ${v}`),
    ]);
  });

  it('marks the value escape-free when told the body was (the reader says so), else not', () => {
    const plain = usual();
    expect(isEscapeFree(usualPutParams(plain)!.payload.encoding === 'json' && (plain.payload as { value: unknown }).value)).toBe(false);
    const told = usual();
    const p = usualPutParams(told, true)!;
    expect(p.payload.encoding === 'json' && isEscapeFree(p.payload.value)).toBe(true);
    // The params themselves stay unmarked: only the value, which the datastore writes, is.
    expect(isEscapeFree(told)).toBe(false);
  });
});
