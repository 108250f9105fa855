/**
 * A put of a JSON value stores canonicalJson of the value as parsed, byte for byte, however
 * the sender wrote it (member order, duplicate names, whitespace, number forms, escapes,
 * UTF-16 order, depth; a duplicate or escaped `value`/`payload` member): the invariant any
 * shortcut that keeps the request's own text must hold. Each body is written by hand over
 * real pipes; the answer's size and SHA-256 are those of the canonical bytes, and a get
 * gives the canonical value back.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/util/framing.js';
import { canonicalJson } from '../../src/model/json-value.js';
import { ref } from './fixture.js';
import { RawClient } from './raw-client.js';
import { uniqueName } from './harness.js';

let raw: RawClient | undefined;
afterEach(() => raw?.kill());

/** Value texts as a sender may write them (each `payload` member is spliced in as it is). */
const VALUES: string[] = [
  '{"a":1,"b":[1,2,{"c":null}]}', // canonical
  '{"b":1,"a":2}', // members out of order
  '{"a":1,"a":2}', // a duplicate name: the parse keeps the last
  '{ "a" : [ 1 , 2 ] }', // whitespace
  '{"n":[1.0,1e5,1E-7,-0,0.10,100000000000000000000000]}', // numbers in other forms
  '{"s":"\\u00e9\\/\\n","\\u0061":"x"}', // escapes, an escaped name
  '{"😀":1,"ﬁ":2}', // UTF-16 order (canonical)
  '{"ﬁ":2,"😀":1}', // code-point order (not canonical)
  '{"l":[[],[[]],{},{"a":[{"b":[]}]}]}', // nested arrays (canonical)
  '{"payload":"' + 'x'.repeat(1000) + '"}', // the bench's value
  '{"deep":' + '['.repeat(80) + ']'.repeat(80) + '}', // deeper than the text check follows
];

/** A whole body with the value text spliced in, and some with a duplicate `value` or `payload`. */
function bodies(sessionId: string, id: string, valueText: string): string[] {
  const head = `{"jsonrpc":"2.0","id":ID,"method":"butler/put","params":{"sessionId":${JSON.stringify(sessionId)},"ref":{"id":${JSON.stringify(id)}},`;
  return [
    `${head}"payload":{"encoding":"json","value":${valueText}}}}`,
    `${head}"payload":{"encoding":"json","value":{"z":0},"value":${valueText}}}}`,
    `${head}"payload":{"encoding":"json","value":{"z":0}},"payload":{"value":${valueText},"encoding":"json"}}}`,
    `${head}"payload":{"encoding":"json","val\\u0075e":${valueText}}}}`,
  ];
}

describe('put of a JSON value written in any form', () => {
  it('stores the canonical bytes of the parsed value', async () => {
    const c = (raw = new RawClient());
    await c.initialize({ capabilities: { provenanceBatches: true } });
    const outs = VALUES.flatMap((_, v) => [0, 1, 2, 3].map((b) => ref('text', 100 + 4 * v + b)));
    const opened = await c.call('session/open', { predicted: { inputs: [], outputs: outs }, datastore: { kind: 'memory', name: uniqueName('text') } });
    const sessionId = (opened.result as { sessionId: string }).sessionId;
    let requestId = 5000;
    for (const [v, valueText] of VALUES.entries()) {
      const parsed = JSON.parse(valueText) as unknown;
      const canonical = Buffer.from(canonicalJson(parsed));
      for (let b = 0; b < 4; b++) {
        const body = bodies(sessionId, outs[4 * v + b]!.id, valueText)[b]!;
        const rid = requestId++;
        c.sendRaw(encodeFrame(body.replace('"id":ID', `"id":${rid}`)));
        const answer = await c.response(rid);
        const what = `value ${v}, body ${b}`;
        expect(answer.error, what).toBeUndefined();
        expect(answer.result, what).toMatchObject({ size: canonical.length, sha256: createHash('sha256').update(canonical).digest('hex'), alreadyStored: false });
        const got = await c.call('butler/get', { sessionId, ref: { id: outs[4 * v + b]!.id } });
        expect((got.result as { payload: { value: unknown } }).payload.value, what).toEqual(JSON.parse(canonical.toString('utf8')));
      }
    }
  });

  it('refuses what is not a JSON value as before, and stores nothing', async () => {
    const c = (raw = new RawClient());
    await c.initialize({ capabilities: { provenanceBatches: true } });
    const out = ref('text', 1);
    const opened = await c.call('session/open', { predicted: { inputs: [], outputs: [out] }, datastore: { kind: 'memory', name: uniqueName('text') } });
    const sessionId = (opened.result as { sessionId: string }).sessionId;
    c.sendRaw(encodeFrame(bodies(sessionId, out.id, '{"n":[1e400]}')[0]!.replace('"id":ID', '"id":7')));
    const answer = await c.response(7);
    // 1e400 parses as Infinity, which no storage class takes (the answer main gave too).
    expect(answer.error?.data?.kind).toBe('StorageClassMismatch');
    const stored = await c.call('butler/stored', { sessionId, ref: { id: out.id } });
    expect(stored.result).toEqual({ stored: false });
  });
});
