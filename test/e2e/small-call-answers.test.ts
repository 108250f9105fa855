/**
 * The answers of the small calls (butler/stored, butler/get, butler/put) are written from
 * text pieces rather than serialised per call (src/server/handlers/butler.ts): over real
 * pipes, each answer's body is exactly the compact JSON.stringify text of the object it
 * stands for (member order included) and carries the values the protocol promises, for
 * number and string request ids, a ref given whole or by id, and values and names with
 * characters that JSON escapes or writes as multi-byte UTF-8.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RUN, ref } from './fixture.js';
import { RawClient } from './raw-client.js';
import { uniqueName } from './harness.js';

let raw: RawClient | undefined;
afterEach(() => raw?.kill());

/** Every frame's body on the wire so far, as text. */
function bodies(c: RawClient): string[] {
  const all = Buffer.concat(c.raw);
  const out: string[] = [];
  let at = 0;
  while (at < all.length) {
    const headerEnd = all.indexOf('\r\n\r\n', at);
    const length = Number(/Content-Length: (\d+)/.exec(all.subarray(at, headerEnd).toString('latin1'))![1]);
    out.push(all.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8'));
    at = headerEnd + 4 + length;
  }
  return out;
}

/** The body of the answer to request `id`, checked to be compact JSON.stringify text. */
function answerText(c: RawClient, id: number | string): unknown {
  const texts = bodies(c).filter((b) => {
    const m = JSON.parse(b) as { id?: unknown; method?: string };
    return m.method === undefined && m.id === id;
  });
  expect(texts).toHaveLength(1);
  const text = texts[0]!;
  expect(JSON.stringify(JSON.parse(text))).toBe(text);
  return JSON.parse(text);
}

async function callWithId(c: RawClient, id: number | string, method: string, params: unknown) {
  c.send({ id, method, params });
  return c.response(id as number);
}

describe('small-call answers', () => {
  it('stored, get and put answer with exactly the JSON text of their results', async () => {
    const c = (raw = new RawClient());
    await c.initialize({ capabilities: { provenanceBatches: true } });
    const out = ref('out', 1);
    const odd = ref('out', 2);
    const res = await c.call('session/open', { predicted: { inputs: [], outputs: [out, odd] }, datastore: { kind: 'memory', name: uniqueName('answers') } });
    const sessionId = (res.result as { sessionId: string }).sessionId;
    const wire = (r: typeof out) => ({
      id: r.id,
      datasetType: r.datasetType.name,
      storageClass: 'StructuredDataDict',
      dimensions: ['instrument', 'detector'],
      dataId: { detector: r.dataId.dataId.detector, instrument: 'Cam1' },
      run: RUN,
    });

    await callWithId(c, 1001, 'butler/stored', { sessionId, ref: { id: out.id } });
    expect(answerText(c, 1001)).toEqual({ jsonrpc: '2.0', id: 1001, result: { stored: false } });

    const value = { z: 'é "quoted" \\ \u0001 🚀', a: [1, 2.5, null, true], m: { y: -0.5, b: 'x'.repeat(300) } };
    const text = '{"a":[1,2.5,null,true],"m":{"b":"' + 'x'.repeat(300) + '","y":-0.5},"z":"é \\"quoted\\" \\\\ \\u0001 🚀"}';
    const size = Buffer.byteLength(text);
    await callWithId(c, 'put "é"', 'butler/put', { sessionId, ref: { id: out.id }, payload: { encoding: 'json', value } });
    const put = answerText(c, 'put "é"') as { result: { sha256: string; uri: string } };
    expect(put).toEqual({
      jsonrpc: '2.0',
      id: 'put "é"',
      result: { ref: wire(out), size, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), uri: expect.stringContaining(out.id), alreadyStored: false },
    });
    expect(Object.keys(put.result)).toEqual(['ref', 'size', 'sha256', 'uri', 'alreadyStored']);

    // The same put again (a whole ref): alreadyStored.
    await callWithId(c, 1002, 'butler/put', { sessionId, ref: out, payload: { encoding: 'json', value } });
    expect(answerText(c, 1002)).toEqual({ jsonrpc: '2.0', id: 1002, result: { ...put.result, alreadyStored: true } });

    for (const [id, r] of [[1003, { id: out.id }], ['get ✓', out], [1004, { id: out.id }]] as const) {
      await callWithId(c, id, 'butler/get', { sessionId, ref: r });
      const got = answerText(c, id) as { result: Record<string, unknown> };
      expect(got).toEqual({ jsonrpc: '2.0', id, result: { ref: wire(out), storageClass: 'StructuredDataDict', payload: { encoding: 'json', value }, size } });
      expect(Object.keys(got.result)).toEqual(['ref', 'storageClass', 'payload', 'size']);
      // The stored value is spliced as it is: the canonical text.
      expect(bodies(c).find((b) => b.includes(`"id":${JSON.stringify(id)},`))).toContain(`"value":${text}},"size":${size}}`);
    }

    await callWithId(c, 1005, 'butler/stored', { sessionId, ref: { id: out.id } });
    expect(answerText(c, 1005)).toEqual({ jsonrpc: '2.0', id: 1005, result: { stored: true } });
  });
});
