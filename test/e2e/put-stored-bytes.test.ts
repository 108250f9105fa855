/**
 * A put of a JSON value over real pipes stores the RFC 8785 canonical text of the value, and
 * answers (and announces in its event) that text's size and SHA-256, whichever path the
 * sidecar takes: a request body without a backslash has its strings written as they are,
 * unread (markEscapeFree), a body with one has them checked and escaped; ASCII text is
 * copied, other text encoded as UTF-8. The expected bytes are worked out here by a plain
 * reference (sorted members, JSON.stringify for every scalar), not by the sidecar's code.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/util/framing.js';
import { ref } from './fixture.js';
import { uniqueName } from './harness.js';
import { RawClient, type Message } from './raw-client.js';

let raw: RawClient | undefined;
afterEach(() => raw?.kill());

/** RFC 8785 for the values below: members sorted by UTF-16 code units, scalars as JSON.stringify writes them (-0 as 0). */
function reference(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(reference).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${reference(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const long = 'x'.repeat(300);
const VALUES: Array<[string, unknown]> = [
  ['unsorted members, a long ASCII string', { z: long, a: 1, m: { y: true, b: null } }],
  ['non-ASCII in a long string and in names', { 'ü': `é${long}🚀`, 'a': 'ß' }],
  ['a quote and a backslash in a long string', { s: `${long}"${long}\\` }],
  ['a control character in a long string', { s: `${long}\u0001\n${long}` }],
  ['an escape only in a short string beside a long one', { a: long, b: 'q"' }],
  ['numbers', { n: [-0, 1e21, 1e-7, 0.1, -5, 123456789012345680000, 5e-324] }],
  ['nested arrays and empty containers', { a: [[[], [{}]], [1, [2, [3, 'x'.repeat(257)]]]], e: {} }],
  ['a long string as big as the bench value', { payload: 'x'.repeat(1000) }],
];

describe('butler/put stores the canonical bytes of a JSON value', () => {
  it.each([
    ['compact JSON', (m: unknown) => JSON.stringify(m)],
    ['pretty-printed JSON', (m: unknown) => JSON.stringify(m, null, 2)],
  ])('%s request bodies: stored bytes, size, sha256 and the event as for the canonical text', async (_name, write) => {
    const c = (raw = new RawClient());
    await c.initialize({ capabilities: { provenanceBatches: true } });
    const outs = VALUES.map((_, i) => ref('out', i + 1));
    const opened = await c.call('session/open', { predicted: { inputs: [], outputs: outs }, datastore: { kind: 'memory', name: uniqueName('put-bytes') } });
    const sessionId = (opened.result as { sessionId: string }).sessionId;
    for (const [i, [name, value]] of VALUES.entries()) {
      const expected = Buffer.from(reference(value), 'utf8');
      const sha256 = createHash('sha256').update(expected).digest('hex');
      const id = 100 + i;
      c.sendRaw(encodeFrame(write({ jsonrpc: '2.0', id, method: 'butler/put', params: { sessionId, ref: { id: outs[i]!.id }, payload: { encoding: 'json', value } } })));
      const put = (await c.response(id)) as Message & { result: { size: number; sha256: string } };
      expect(put.error, name).toBeUndefined();
      expect(put.result, name).toMatchObject({ size: expected.length, sha256 });
      const got = (await c.call('butler/get', { sessionId, ref: { id: outs[i]!.id }, as: 'base64' })) as Message & { result: { payload: { data: string } } };
      expect(Buffer.from(got.result.payload.data, 'base64').toString('utf8'), name).toBe(expected.toString('utf8'));
      const event = await c.waitFor((m) => JSON.stringify(m.params ?? null).includes(`"datasetId":"${outs[i]!.id}"`) && JSON.stringify(m.params).includes('outputWritten'));
      const written = (event.params as { events: Array<{ event: string; datasetId: string; sha256?: string; size?: number }> }).events.find(
        (e) => e.event === 'outputWritten' && e.datasetId === outs[i]!.id,
      );
      expect(written, name).toMatchObject({ sha256, size: expected.length });
    }
  });
});
