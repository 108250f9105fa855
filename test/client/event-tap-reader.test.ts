import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EventTapReader } from '../../src/client/event-tap-reader.js';
import { collectGarbage } from '../../src/util/collect-garbage.js';

const EVENT = 'butler/provenance';
const BATCH = 'butler/provenanceBatch';
const RUNS = 'butler/provenanceRuns';

function frame(message: unknown, header = (n: number) => `Content-Length: ${n}\r\n\r\n`): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(header(body.length), 'latin1'), body]);
}

/** A reader on a PassThrough: what reached the connection, the tap and onError, in one log. */
function reader() {
  const stream = new PassThrough();
  const log: Array<[kind: 'event' | 'message', value: unknown]> = [];
  const errors: string[] = [];
  const r = new EventTapReader(stream, { event: EVENT, batch: BATCH, runs: RUNS }, (e) => {
    if ((e as { throw?: boolean }).throw) throw new Error('listener bug');
    log.push(['event', e]);
  });
  r.onError((err) => errors.push(err.message));
  let closed = false;
  r.onClose(() => (closed = true));
  const sub = r.listen((m) => log.push(['message', m]));
  return { stream, log, errors, sub, closed: () => closed };
}

describe('EventTapReader', () => {
  const messages = [
    { jsonrpc: '2.0', method: BATCH, params: { events: [{ seq: 1 }, { seq: 2 }] } },
    { jsonrpc: '2.0', id: 1, result: { stored: true, text: 'é ✓ 𝄞' } },
    { jsonrpc: '2.0', method: EVENT, params: { seq: 3 } },
    { jsonrpc: '2.0', method: '$/progress', params: { token: 't', value: { kind: 'end' } } },
    { jsonrpc: '2.0', id: 2, method: 'client/request', params: {} },
    { jsonrpc: '2.0', id: 3, error: { code: -32602, message: 'bad' } },
    { jsonrpc: '2.0', id: 4, result: 'x'.repeat(300_000) },
  ];
  const expected = [
    ['event', { seq: 1 }],
    ['event', { seq: 2 }],
    ['message', messages[1]],
    ['event', { seq: 3 }],
    ['message', messages[3]],
    ['message', messages[4]],
    ['message', messages[5]],
    ['message', messages[6]],
  ];
  const bytes = Buffer.concat(messages.map((m) => frame(m)));

  it('takes events off (batches event by event) and hands the rest on, in the order read, from one chunk', () => {
    const { stream, log, errors } = reader();
    stream.write(bytes);
    expect(log).toEqual(expected);
    expect(errors).toEqual([]);
  });

  it('reads a batch written as the sidecar writes it, and a body that only starts like one, as a whole parse would', () => {
    const start = `{"jsonrpc":"2.0","method":"${BATCH}","params":{"events":[`;
    const bodies = [
      `${start}{"seq":1,"text":"é ✓ 𝄞 ]}}"},{"seq":2}]}}`,
      `${start}]}}`,
      `${start}{"seq":1}],"more":[2]}}`, // another member after the events
      `${start}{"seq":1}]},"more":[2]}`, // another member of the message
      `{"jsonrpc": "2.0","method":"${BATCH}","params":{"events":[{"seq":1}]}}`, // other spacing
      `${start}{"seq":1},]}}`, // not JSON
      `${start.replace('2.0', '2.1')}{"seq":1}]}}`,
    ];
    const { stream, log, errors } = reader();
    const want: unknown[] = [];
    const wantErrors: string[] = [];
    for (const body of bodies) {
      const bytes = Buffer.from(body, 'utf8');
      stream.write(Buffer.concat([Buffer.from(`Content-Length: ${bytes.length}\r\n\r\n`, 'latin1'), bytes]));
      let m: { method?: string; params?: { events: unknown[] } };
      try {
        m = JSON.parse(body) as typeof m;
      } catch {
        wantErrors.push('not JSON');
        continue;
      }
      if (m.method === BATCH) for (const e of m.params!.events) want.push(['event', e]);
      else want.push(['message', m]);
    }
    expect(log).toEqual(want);
    expect(errors.map((e) => (/not JSON/.test(e) ? 'not JSON' : e))).toEqual(wantErrors);
  });

  it('rebuilds the events of runs (as written, or parsed whole) as butler/provenance params, members in their order, in order', () => {
    const time = '2026-12-04T17:00:00.000Z';
    const runs = [
      { sessionId: 'a', seq: 7, time, events: [['inputCheckedAvailable', 'i1', 'raw'], ['outputWritten', 'o1', 'calexp', { size: 14, sha256: 'ab' }]] },
      { sessionId: 'b', seq: 1, time, events: [['inputMarkedUnused', 'i2', 'raw', { reason: 'é ✓ ]}}' }]] },
    ];
    const want = [
      { sessionId: 'a', seq: 7, event: 'inputCheckedAvailable', datasetId: 'i1', datasetType: 'raw', time },
      { sessionId: 'a', seq: 8, event: 'outputWritten', datasetId: 'o1', datasetType: 'calexp', time, size: 14, sha256: 'ab' },
      { sessionId: 'b', seq: 1, event: 'inputMarkedUnused', datasetId: 'i2', datasetType: 'raw', time, reason: 'é ✓ ]}}' },
    ];
    const { stream, log, errors } = reader();
    stream.write(frame({ jsonrpc: '2.0', method: RUNS, params: { runs } }));
    stream.write(frame({ jsonrpc: '2.0', id: 1, result: true }));
    stream.write(frame({ params: { runs }, method: RUNS, jsonrpc: '2.0' })); // not the sidecar's layout: parsed whole
    expect(log).toEqual([...want.map((e) => ['event', e]), ['message', { jsonrpc: '2.0', id: 1, result: true }], ...want.map((e) => ['event', e])]);
    expect(log.map((x) => JSON.stringify(x[1]))).toEqual([...want.map((e) => JSON.stringify(e)), '{"jsonrpc":"2.0","id":1,"result":true}', ...want.map((e) => JSON.stringify(e))]);
    expect(errors).toEqual([]);
    // Laid out as the sidecar writes runs, but its envelope one character off: a message, not events.
    const off = JSON.stringify({ jsonrpc: '2.0', method: `${RUNS.slice(0, -1)}x`, params: { runs } });
    log.length = 0;
    stream.write(Buffer.concat([Buffer.from(`Content-Length: ${Buffer.byteLength(off)}\r\n\r\n`, 'latin1'), Buffer.from(off, 'utf8')]));
    expect(log).toEqual([['message', JSON.parse(off)]]);
    stream.write(frame({ jsonrpc: '2.0', method: RUNS, params: { runs: 'x' } }));
    expect(errors).toHaveLength(1);
  });

  it('reassembles frames split anywhere: inside headers, bodies, multi-byte characters, and a long body over many chunks', () => {
    for (const step of [1, 7, 23, 4096, 65536]) {
      const { stream, log, errors } = reader();
      for (let at = 0; at < bytes.length; at += step) stream.write(bytes.subarray(at, at + step));
      expect(log).toEqual(expected);
      expect(errors).toEqual([]);
    }
  });

  it('reads the whole frames of a chunk from one decoding of it as it reads them frame by frame: bytes no character starts with, multi-byte characters, other headers, a frame not all there', () => {
    const runsBody = `{"jsonrpc":"2.0","method":"${RUNS}","params":{"runs":[{"sessionId":"s","seq":1,"time":"t","events":[["inputCheckedAvailable","i1","raw"]]}]}}`;
    const raw = (body: Buffer | string, header = (n: number) => `Content-Length: ${n}\r\n\r\n`): Buffer => {
      const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      return Buffer.concat([Buffer.from(header(b.length), 'latin1'), b]);
    };
    const invalid = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":2,"result":"'), Buffer.from([0x80, 0xff, 0xe2]), Buffer.from('"}')]);
    const last = raw('{"jsonrpc":"2.0","id":5,"result":5}');
    const chunks = [
      Buffer.concat([raw(runsBody), raw('{"jsonrpc":"2.0","id":1,"result":{"stored":true}}')]), // a call's events, then its answer
      Buffer.concat([raw(invalid), raw(runsBody)]), // bytes no character starts with: a U+FFFD each, as many characters as bytes
      Buffer.concat([raw('{"jsonrpc":"2.0","id":3,"result":"é ✓ 𝄞"}'), raw(runsBody)]), // fewer characters than bytes
      Buffer.concat([raw(runsBody), raw('{"jsonrpc":"2.0","id":4,"result":4}', (n) => `Content-Type: x\r\ncontent-length: ${n}\r\n\r\n`), raw(runsBody)]),
      Buffer.concat([raw(runsBody), last.subarray(0, 30)]), // a frame's start: its header
      last.subarray(30),
    ];
    const whole = reader();
    for (const c of chunks) whole.stream.write(c);
    const byByte = reader();
    for (const c of chunks) for (const b of c) byByte.stream.write(Buffer.from([b]));
    expect(whole.log).toEqual(byByte.log);
    const event = ['event', { sessionId: 's', seq: 1, event: 'inputCheckedAvailable', datasetId: 'i1', datasetType: 'raw', time: 't' }];
    const answer = (id: number, result: unknown) => ['message', { jsonrpc: '2.0', id, result }];
    expect(whole.log).toEqual([event, answer(1, { stored: true }), answer(2, '\ufffd\ufffd\ufffd'), event, answer(3, 'é ✓ 𝄞'), event, event, answer(4, 4), event, event, answer(5, 5)]);
    expect([...whole.errors, ...byByte.errors]).toEqual([]);
  });

  it("skips what else was written on the sidecar's stdout between messages (lines ended by a bare \\n, as V8's --log-deopt prints), reports it, and reads the message after it", () => {
    const junk = '[bailout (kind: deopt-eager, reason: Insufficient type feedback for binary operation): begin. deoptimizing 0x0a5e <JSFunction q>]\n';
    const bytes = Buffer.concat([frame({ jsonrpc: '2.0', id: 1, result: 1 }), Buffer.from(`${junk}a second line\n`, 'latin1'), frame({ jsonrpc: '2.0', id: 2, result: 2 }), Buffer.from(junk, 'latin1'), frame({ jsonrpc: '2.0', id: 3, result: 3 }, (n) => `Content-Length: ${n}\r\nContent-Type: application/vscode-jsonrpc\r\n\r\n`)]);
    for (const step of [bytes.length, 1, 50]) {
      const { stream, log, errors } = reader();
      for (let at = 0; at < bytes.length; at += step) stream.write(bytes.subarray(at, at + step));
      expect(log).toEqual([1, 2, 3].map((id) => ['message', { jsonrpc: '2.0', id, result: id }]));
      expect(errors).toEqual([`Unexpected output on the sidecar's stdout, skipped: ${JSON.stringify(`${junk}a second line\n`)}`, `Unexpected output on the sidecar's stdout, skipped: ${JSON.stringify(junk)}`]);
    }
  });

  it('accepts other headers and any case of Content-Length', () => {
    const { stream, log, errors } = reader();
    stream.write(frame({ jsonrpc: '2.0', id: 1, result: 1 }, (n) => `content-length: ${n}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n`));
    stream.write(frame({ jsonrpc: '2.0', id: 2, result: 2 }, (n) => `Content-Type: application/json\r\nCONTENT-LENGTH:${n}\r\n\r\n`));
    expect(log).toEqual([
      ['message', { jsonrpc: '2.0', id: 1, result: 1 }],
      ['message', { jsonrpc: '2.0', id: 2, result: 2 }],
    ]);
    expect(errors).toEqual([]);
  });

  it('reports a body that is not JSON, a throwing listener and a header without a length, and reads on', () => {
    const { stream, log, errors } = reader();
    const junk = Buffer.from('{not json');
    stream.write(Buffer.concat([Buffer.from(`Content-Length: ${junk.length}\r\n\r\n`), junk, frame({ jsonrpc: '2.0', method: EVENT, params: { throw: true } }), frame({ jsonrpc: '2.0', id: 1, result: 1 })]));
    expect(log).toEqual([['message', { jsonrpc: '2.0', id: 1, result: 1 }]]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/not JSON/);
    expect(errors[1]).toBe('listener bug');
    stream.write('Content-Type: x\r\n\r\n{}');
    expect(errors[2]).toMatch(/Content-Length/);
    stream.write(frame({ jsonrpc: '2.0', id: 2, result: 2 })); // what was buffered was dropped; the next frame reads
    expect(log.at(-1)).toEqual(['message', { jsonrpc: '2.0', id: 2, result: 2 }]);
  });

  it("an event a host keeps, or its id, holds on to its notification's text, not to the chunk it came in with an answer", () => {
    const runs = (i: number) => frame({ jsonrpc: '2.0', method: RUNS, params: { runs: [{ sessionId: 'a1b2c3d4-0000-4000-8000-000000000001', seq: i, time: '2026-12-05T19:00:00.123Z', events: [['inputUsed', `dataset-${String(i).padStart(28, '0')}`, 'calexp']] }] } });
    const runsBytes = runs(0).length;
    /** Heap bytes per kept item after `n` chunks of a one-event runs notification and an answer of `valueLength`, each chunk decoded whole (under 16 KiB). */
    const keptPerItem = (valueLength: number, keep: (e: { datasetId: string }) => unknown): number => {
      const kept: unknown[] = [];
      const stream = new PassThrough();
      new EventTapReader(stream, { event: EVENT, batch: BATCH, runs: RUNS }, (e) => kept.push(keep(e as { datasetId: string }))).listen(() => {});
      const answer = frame({ jsonrpc: '2.0', id: 1, result: { value: 'v'.repeat(valueLength) } });
      const n = 2000;
      collectGarbage();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < n; i++) stream.write(Buffer.concat([runs(i), answer]));
      collectGarbage();
      expect(kept).toHaveLength(n);
      expect(JSON.stringify(kept[n - 1])).toContain(`dataset-${String(n - 1).padStart(28, '0')}`);
      return (process.memoryUsage().heapUsed - before) / n;
    };
    // The events' strings were slices of the chunk's text: 14.5 KB kept an event beside a 14 KB
    // answer. Now the event, its notification's text and the array keeping it: 370-500 bytes seen.
    expect(keptPerItem(14_000, (e) => e)).toBeLessThan(4 * runsBytes);
    // An id kept as a key beside a 900-byte answer: ~1.3 KB while the runs were read from the chunk's text.
    expect(keptPerItem(900, (e) => e.datasetId)).toBeLessThan(runsBytes + 300);
  });

  it('reports close, and stops delivering once its subscription is disposed', () => {
    const { stream, log, sub } = reader();
    sub.dispose();
    stream.write(frame({ jsonrpc: '2.0', id: 1, result: 1 }));
    expect(log).toEqual([]);
    const second = reader();
    second.stream.destroy();
    return new Promise<void>((resolve) => setImmediate(() => {
      expect(second.closed()).toBe(true);
      resolve();
    }));
  });
});
