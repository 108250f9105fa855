/**
 * The server's reader (frames → parsed bodies, with the transport's limits and exact ids)
 * and writer (message → one frame with spliced values, with backpressure), over real streams.
 */
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ProtocolReader, type Incoming } from '../../src/server/protocol-reader.js';
import { ProtocolWriter } from '../../src/server/protocol-writer.js';
import { Base64Json, JsonText, RawId, RawJson, asciiAnswerText, frameMessage, frameResult } from '../../src/server/spliced-json.js';
import { encodeFrame, jsonMessageDecoder } from '../../src/util/framing.js';
import { isEscapeFree } from '../../src/model/json-value.js';
import { LARGE_BODY } from '../../src/util/parse-json-bytes.js';

const frame = (msg: unknown): Buffer => encodeFrame(JSON.stringify(msg));

function reader(limits: Partial<{ maxMessageBytes: number; messageTimeoutMs: number }> = {}) {
  const input = new PassThrough();
  const got: Incoming[] = [];
  const r = new ProtocolReader(input, { maxMessageBytes: 1 << 20, messageTimeoutMs: 0, ...limits });
  let closed = false;
  r.listen(
    (i) => got.push(i),
    () => {},
    () => (closed = true),
  );
  const messages = () => got.filter((i) => i.kind === 'message').map((i) => (i as { message: unknown }).message);
  return { input, got, messages, reader: r, closed: () => closed };
}

const req = (id: unknown, text = 'x') => ({ jsonrpc: '2.0', id, method: 'server/ping', params: { text } });

/** Lets `n` turns of the event loop go by (each an immediate queued after those queued before). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * The ticks queued so far have run, then the ticks the microtasks queue after them: a batch's end
 * of turn is queued (its writer looks at it in the tick after it opened, and again after the
 * promise steps then queued; the connection's next turn is queued after them).
 */
async function ticked(): Promise<void> {
  await new Promise((resolve) => process.nextTick(resolve));
  await new Promise((resolve) => queueMicrotask(() => process.nextTick(resolve)));
}

describe('ProtocolReader', () => {
  it('reads messages split at every byte, in order, multi-byte characters included', () => {
    const { input, messages, got } = reader();
    const bytes = Buffer.concat([frame(req(1, 'héllo ✓ 🚀')), frame(req(2))]);
    for (let i = 0; i < bytes.length; i++) input.write(bytes.subarray(i, i + 1));
    expect(got.every((i) => i.kind === 'message')).toBe(true);
    expect(messages()).toEqual([req(1, 'héllo ✓ 🚀'), req(2)]);
  });

  it('a body that is not JSON is unparsable, with its id when the id can be read; the next message is read', () => {
    const { input, got, messages } = reader();
    input.write(Buffer.concat([encodeFrame('{"id":"a-1","method":'), encodeFrame('{oops'), frame(req(2))]));
    expect(got.map((i) => i.kind)).toEqual(['unparsable', 'unparsable', 'message']);
    expect(got.map((i) => (i.kind === 'unparsable' ? i.id : undefined))).toEqual(['a-1', null, undefined]);
    expect(messages()).toEqual([req(2)]);
  });

  it('ids a JavaScript number does not hold exactly become RawIds with the text as sent; others stay numbers', () => {
    const { input, messages } = reader();
    for (const raw of ['1e400', '9007199254740993', '-0', '1.5', '-1e-400', '42', '1.0']) {
      input.write(encodeFrame(`{"jsonrpc":"2.0","id":${raw},"method":"m"}`));
    }
    input.write(encodeFrame('{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":9007199254740993}}'));
    const ids = messages().map((m) => (m as { id?: unknown }).id);
    expect(ids.slice(0, 5).map((id) => (id instanceof RawId ? id.text : id))).toEqual(['1e400', '9007199254740993', '-0', '1.5', '-1e-400']);
    expect(ids.slice(5, 7)).toEqual([42, 1]);
    const cancel = messages()[7] as { params: { id: unknown } };
    expect(cancel.params.id).toBeInstanceOf(RawId);
    expect(String(cancel.params.id)).toBe('9007199254740993');
  });

  it('a body over maxMessageBytes is skipped unread, reported with its id and method, and the stream stays in step', () => {
    const { input, got, messages } = reader({ maxMessageBytes: 100 });
    const big = { jsonrpc: '2.0', id: 7, method: 'butler/put', params: { data: 'A'.repeat(10_000) } };
    const bytes = Buffer.concat([frame(big), frame(req(8))]);
    for (let i = 0; i < bytes.length; i += 1000) input.write(bytes.subarray(i, i + 1000));
    expect(got[0]).toEqual({ kind: 'tooLarge', id: 7, method: 'butler/put', bytes: JSON.stringify(big).length });
    expect(messages()).toEqual([req(8)]);
  });

  it('a framing error is reported once and nothing more is read', () => {
    const { input, got } = reader();
    input.write(Buffer.from('Content-Length: 12abc\r\n\r\n'));
    input.write(frame(req(3)));
    expect(got).toEqual([{ kind: 'broken', error: expect.objectContaining({ message: expect.stringMatching(/^Framing error: a Content-Length/) }) }]);
  });

  it('a frame stalled half-sent is a framing error after messageTimeoutMs; a paused reader does not time out', async () => {
    const { input, got, reader: r } = reader({ messageTimeoutMs: 30 });
    r.pause();
    input.write(Buffer.from('Content-Length: 10\r\n\r\n{"a"'));
    await sleep(120);
    expect(got).toEqual([]);
    r.resume();
    for (let i = 0; i < 200 && got.length === 0; i++) await sleep(10);
    expect(got).toEqual([{ kind: 'broken', error: expect.objectContaining({ message: expect.stringMatching(/stalled half-sent/) }) }]);
  });

  it('a complete frame, or a quiet connection between frames, never times out', async () => {
    const { input, got } = reader({ messageTimeoutMs: 20 });
    input.write(frame(req(1)));
    await sleep(100);
    expect(got.map((i) => i.kind)).toEqual(['message']);
  });
});

describe('spliced values', () => {
  it('are written as the JSON text they stand for', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 253]);
    const big = Buffer.alloc(3 * 64 * 1024 + 5, 7);
    const stored = Buffer.from('{"b":[1,2,{"c":"é"}],"a":null}');
    const msg = { jsonrpc: '2.0', id: new RawId('9007199254740993'), result: { data: new Base64Json(bytes), big: new Base64Json(big), value: RawJson.of(stored), s: 'é' } };
    const body = frameMessage(msg).toString('utf8').replace(/^Content-Length: \d+\r\n\r\n/, '');
    expect(body).toBe(
      `{"jsonrpc":"2.0","id":9007199254740993,"result":{"data":"${bytes.toString('base64')}","big":"${big.toString('base64')}","value":${stored.toString()},"s":"é"}}`,
    );
    const decoded: unknown[] = [];
    jsonMessageDecoder((m) => decoded.push(m)).push(frameMessage(msg));
    expect(decoded).toHaveLength(1);
  });

  it('outside a frame, they are their plain values', () => {
    expect(JSON.stringify({ a: new Base64Json(Buffer.from('hi')), b: RawJson.of(Buffer.from('[1]')), c: new RawId('1.5') })).toBe('{"a":"aGk=","b":[1],"c":1.5}');
  });

  it('RawJson refuses bytes that are not one JSON value in UTF-8', () => {
    expect(RawJson.of(Buffer.from('{"a":1'))).toBeUndefined();
    expect(RawJson.of(Buffer.from('1 2'))).toBeUndefined();
    expect(RawJson.of(Buffer.from([0x22, 0xc3, 0x22]))).toBeUndefined();
  });

  it('RawJson: bytes checked once are spliced again without a scan; bad bytes are refused every time', () => {
    const good = Buffer.from('{"a":[1,"é"]}');
    const bad = Buffer.from('{"a":');
    for (let i = 0; i < 3; i++) {
      expect(JSON.stringify(RawJson.of(good))).toBe('{"a":[1,"é"]}');
      expect(RawJson.of(bad)).toBeUndefined();
    }
  });

  it('a JsonText answer framed by frameResult is byte for byte the frame of the same answer as a plain object', () => {
    const stored = Buffer.from('{"payload":"x é 🚀 \\"q\\""}');
    const ref = { id: '9439cbf5-5c25-59a5-b656-bba39d0d71c4', datasetType: 'out"é', dataId: { detector: 1, instrument: 'B\\ench' }, run: 'r/ü' };
    const text = new JsonText([`{"ref":${JSON.stringify(ref)},"storageClass":"Dict✓","payload":{"encoding":"json","value":`, RawJson.of(stored)!, `},"size":${stored.length}}`]);
    const plain = { ref, storageClass: 'Dict✓', payload: { encoding: 'json', value: JSON.parse(stored.toString()) as unknown }, size: stored.length };
    for (const id of [0, 7, -3, 2 ** 53 - 1, -0, 1.5, 'a"b', 'é', '\ud800', 'x\u0000', '']) {
      expect(frameResult(id, text).equals(frameMessage({ jsonrpc: '2.0', id, result: plain }))).toBe(true);
      // Inside a message framed the general way (a raw id), the same text.
      expect(frameMessage({ jsonrpc: '2.0', id, result: text }).equals(frameMessage({ jsonrpc: '2.0', id, result: plain }))).toBe(true);
    }
    const raw = new RawId('1.50');
    expect(frameMessage({ jsonrpc: '2.0', id: raw, result: text }).toString()).toBe(frameMessage({ jsonrpc: '2.0', id: raw, result: plain }).toString());
    // Outside a frame, its plain value.
    expect(JSON.parse(JSON.stringify({ r: text })) as unknown).toEqual({ r: plain });
    // The same answer with its head given as UTF-8 bytes (a subarray of a larger buffer): the same frame.
    const headText = `{"ref":${JSON.stringify(ref)},"storageClass":"Dict✓","payload":{"encoding":"json","value":`;
    const padded = Buffer.concat([Buffer.from('xx'), Buffer.from(headText), Buffer.from('yy')]);
    const headBytes = padded.subarray(2, padded.length - 2);
    const fromBytes = new JsonText([headBytes, RawJson.of(stored)!, `},"size":${stored.length}}`]);
    expect(fromBytes.byteLength).toBe(text.byteLength);
    for (const id of [0, 'é']) expect(frameResult(id, fromBytes).equals(frameMessage({ jsonrpc: '2.0', id, result: plain }))).toBe(true);
    expect(JSON.parse(JSON.stringify({ r: fromBytes })) as unknown).toEqual({ r: plain });
  });

  it('a JsonText writes ASCII pieces as they are and any other as UTF-8, wherever the non-ASCII piece sits', () => {
    const stored = RawJson.of(Buffer.from('{"v":"é"}'))!;
    for (const pieces of [
      ['{"a":"plain ascii","b":', stored, '}'],
      ['{"a":"plain ascii","b":', stored, ',"c":"ÿ"}'],
      ['{"c":"ÿ","b":', stored, ',"a":"plain ascii"}'],
      ['{"a":"🚀"}'],
    ]) {
      const text = new JsonText(pieces);
      const expected = Buffer.from(pieces.map((p) => (typeof p === 'string' ? p : '{"v":"é"}')).join(''), 'utf8');
      expect(text.byteLength).toBe(expected.length);
      const out = Buffer.alloc(text.byteLength);
      text.writeInto(out, 0);
      expect(out.equals(expected)).toBe(true);
    }
  });

  it('a JsonText of one ASCII string is answer text the writer frames as text, whichever way it was made; one with a non-ASCII string, a byte piece or several pieces is not', () => {
    // butler/stored's answers are `new JsonText(['{"stored":true}'])`: before, only JsonText.ascii
    // gave text, so they were framed into buffers of their own, and behind a turn's events copied
    // into the events' frame (~3,200 instructions an event, event-callgrind).
    for (const text of [new JsonText(['{"stored":true}']), JsonText.ascii('{"stored":true}')]) {
      expect(text.asciiText).toBe('{"stored":true}');
      expect(asciiAnswerText(7, text)).toBe('{"jsonrpc":"2.0","id":7,"result":{"stored":true}}');
    }
    for (const pieces of [['{"a":"é"}'], ['{"a":', Buffer.from('1'), '}'], ['{"a":1', '}']]) {
      const text = new JsonText(pieces);
      expect(text.asciiText).toBeUndefined();
      expect(asciiAnswerText(7, text)).toBeUndefined();
    }
  });
});

describe('ProtocolWriter', () => {
  it('writes each message as one frame that the codec reads back', () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new ProtocolWriter(out);
    w.write(req(1, 'héllo 🚀'));
    w.write(req(2));
    expect(chunks).toHaveLength(2);
    const read: unknown[] = [];
    jsonMessageDecoder((m) => read.push(m)).push(Buffer.concat(chunks));
    expect(read).toEqual([req(1, 'héllo 🚀'), req(2)]);
  });

  it('is congested while its output is over the high-water mark, until the output drains', () => {
    const pending: Array<() => void> = [];
    const out = new Writable({ highWaterMark: 100, write: (_c, _e, cb) => pending.push(() => cb()) });
    const w = new ProtocolWriter(out);
    let drains = 0;
    w.onDrain(() => drains++);
    w.write(req(1));
    expect(w.congested).toBe(false);
    w.write(req(2, 'y'.repeat(200)));
    expect(w.congested).toBe(true);
    while (pending.length > 0) pending.shift()!();
    expect(w.congested).toBe(false);
    expect(drains).toBe(1);
  });

  it('batched items leave as one notification, ahead of every message written after the first of them', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new ProtocolWriter(out, undefined, 60_000);
    const read = (): unknown[] => {
      const got: unknown[] = [];
      jsonMessageDecoder((m) => got.push(m)).push(Buffer.concat(chunks));
      return got;
    };
    w.write(req(1)); // no batch under way: straight out
    expect(read()).toEqual([req(1)]);
    w.writeBatched('test/batch', { n: 1 });
    w.write(req(2)); // waits behind the batch
    w.writeBatched('test/batch', { n: 2 });
    w.write(req(3));
    expect(read()).toEqual([req(1)]);
    // The end of the turn puts the batch off by a turn (this turn added to it), the end of the
    // next one releases it, then what waited: immediates queued after the writer's run after it.
    await ticked();
    await turns(1);
    expect(read()).toEqual([req(1)]);
    await turns(1);
    expect(read()).toEqual([req(1), { jsonrpc: '2.0', method: 'test/batch', params: { events: [{ n: 1 }, { n: 2 }] } }, req(2), req(3)]);
    // flush() releases at once (the connection calls it when it falls idle), and so does end().
    chunks.length = 0;
    w.writeBatched('test/batch', { n: 3 });
    w.write(req(4));
    w.flush();
    expect(read()).toEqual([{ jsonrpc: '2.0', method: 'test/batch', params: { events: [{ n: 3 }] } }, req(4)]);
    chunks.length = 0;
    w.writeBatched('test/batch', { n: 4 });
    await new Promise<void>((resolve) => w.end(resolve));
    expect(read()).toEqual([{ jsonrpc: '2.0', method: 'test/batch', params: { events: [{ n: 4 }] } }]);
  });

  it('a batch the next turn adds to leaves with that turn\'s items and answers in one write; a third turn\'s start a new batch', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new ProtocolWriter(out, undefined, 60_000); // turns, not a loaded machine's milliseconds
    const batch = (...n: number[]) => ({ jsonrpc: '2.0', method: 'test/batch', params: { events: n.map((i) => ({ n: i })) } });
    const decoded = (chunk: Buffer): unknown[] => {
      const got: unknown[] = [];
      jsonMessageDecoder((m) => got.push(m)).push(chunk);
      return got;
    };
    // A turn of the connection under a pipelined load: an event, its answer, queued in turn.
    const turn = (n: number) => {
      w.writeBatched('test/batch', { n });
      w.write(req(n));
    };
    turn(1);
    await ticked();
    await turns(1); // the connection's next turn, queued after the writer's end of turn
    turn(2);
    await turns(1);
    turn(3);
    await ticked();
    await turns(3);
    expect(chunks.map(decoded)).toEqual([[batch(1, 2), req(1), req(2)], [batch(3), req(3)]]);
  });

  it('a batch released in the tick it opened (a call answered one at a time) queues no end of turn', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new ProtocolWriter(out);
    const immediates = () => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;
    await turns(1);
    const before = immediates();
    w.writeBatched('test/batch', { n: 1 });
    w.write(req(1));
    w.flush(); // the connection, idle again, with the answer written
    await ticked();
    expect(immediates()).toBe(before);
    expect(chunks).toHaveLength(1);
    // One still open after its tick has its end of turn queued, and leaves then.
    w.writeBatched('test/batch', { n: 2 });
    await ticked();
    expect(immediates()).toBe(before + 1);
    await turns(1);
    expect(chunks).toHaveLength(2);
  });

  it('a batch released in the tick it opened (a synchronous handler) costs its writer no microtask either', async () => {
    const w = new ProtocolWriter(new PassThrough());
    const queued: string[] = [];
    const real = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn: () => void) => {
      queued.push(fn.name);
      real(fn);
    };
    try {
      await new Promise<void>((resolve) =>
        process.nextTick(() => {
          w.writeBatched('test/batch', { n: 1 });
          w.write(req(1));
          w.flush();
          process.nextTick(resolve);
        }),
      );
      await ticked();
    } finally {
      globalThis.queueMicrotask = real;
    }
    expect(queued.filter((name) => name === 'tickAfterMicrotasks')).toEqual([]);
  });

  it('a batch released after its handler\'s awaits settle, in the same turn (an async call answered one at a time), queues no end of turn', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new ProtocolWriter(out);
    // Which callbacks are queued as immediates meanwhile (the writer's end of turn is `endOfTurn`).
    const queued: string[] = [];
    const real = globalThis.setImmediate;
    globalThis.setImmediate = ((fn: (...args: unknown[]) => void, ...args: unknown[]) => {
      queued.push(fn.name);
      return real(fn, ...args);
    }) as typeof setImmediate;
    try {
      // As butler/put: the event is queued, then the answer follows a few promise steps later.
      const handler = async () => {
        w.writeBatched('test/batch', { n: 1 });
        for (let i = 0; i < 5; i++) await null;
        w.write(req(1));
        w.flush(); // the connection, idle again, with the answer written
      };
      // Called from a tick, as the connection starts a request (a tick queued there runs before the awaits).
      await new Promise((resolve) => process.nextTick(() => void handler().then(resolve)));
      await turns(2);
    } finally {
      globalThis.setImmediate = real;
    }
    expect(queued.filter((name) => name === 'endOfTurn')).toEqual([]);
    expect(chunks).toHaveLength(1);
  });

  it('a batch is written, with the answer behind it, as the bytes of the notification and the answer framed one by one', () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new ProtocolWriter(out);
    const items = [{ n: 1, text: 'héllo 🚀', nested: { a: [1, null, 'x'] } }, { n: 2, missing: undefined }, undefined];
    for (const item of items) w.writeBatched('test/batch', item);
    w.write(req(7));
    w.flush();
    const notification = { jsonrpc: '2.0', method: 'test/batch', params: { events: items } };
    expect(chunks).toHaveLength(1); // one write
    expect(chunks[0]!.equals(Buffer.concat([frameMessage(notification), frameMessage(req(7))]))).toBe(true);
  });

  it('answers held behind a batch, ASCII texts and frames alike, leave with it in one write; a large frame and what follows it on their own', () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new ProtocolWriter(out);
    const answer = { ref: { id: 'a' }, size: 12, alreadyStored: false };
    const big = 'y'.repeat(20 * 1024);
    w.writeBatched('test/batch', { n: 1 });
    w.writeResult(1, JsonText.ascii(JSON.stringify(answer))); // ASCII text, framed into the batch's buffer
    w.write(req(2, 'héllo')); // a frame
    w.writeResult('id-3', JsonText.ascii(JSON.stringify(answer)));
    w.writeResult('ïd', JsonText.ascii(JSON.stringify(answer))); // an id that is not ASCII: framed as before
    w.write(req(5, big)); // large: not copied into the batch's buffer
    w.writeResult(6, JsonText.ascii(JSON.stringify(answer)));
    w.flush();
    const messages = [
      { jsonrpc: '2.0', method: 'test/batch', params: { events: [{ n: 1 }] } },
      { jsonrpc: '2.0', id: 1, result: answer },
      req(2, 'héllo'),
      { jsonrpc: '2.0', id: 'id-3', result: answer },
      { jsonrpc: '2.0', id: 'ïd', result: answer },
      req(5, big),
      { jsonrpc: '2.0', id: 6, result: answer },
    ];
    expect(chunks.map((c) => c.length)).toEqual([
      Buffer.concat(messages.slice(0, 5).map((m) => frameMessage(m))).length,
      frameMessage(messages[5]).length,
      frameMessage(messages[6]).length,
    ]);
    expect(Buffer.concat(chunks).equals(Buffer.concat(messages.map((m) => frameMessage(m))))).toBe(true);
  });

  it('an ASCII answer written with no batch under way is one frame, the bytes of the answer as a plain object', () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new ProtocolWriter(out);
    const answer = { uri: 'mem://x/y', sha256: 'ab'.repeat(32), n: 1.5 };
    for (const id of [0, 7, -3, 'req-1', '']) w.writeResult(id, JsonText.ascii(JSON.stringify(answer)));
    expect(chunks.map((c) => c.toString('latin1'))).toEqual([0, 7, -3, 'req-1', ''].map((id) => frameMessage({ jsonrpc: '2.0', id, result: answer }).toString('latin1')));
  });

  it('a batch of items given as ASCII text, alone or with items it serialises (not ASCII), is the bytes of the notification', () => {
    const ascii = { n: 1, text: 'plain ~ text' };
    const other = { n: 2, text: 'héllo 🚀 \u2028' };
    for (const [items, method] of [
      [[ascii], 'test/batch'],
      [[ascii, ascii], 'test/batch'],
      [[ascii, other, ascii], 'test/batch'],
      [[other], 'test/batch'],
      [[ascii], 'test/bätch'], // a method that is not ASCII
      [[ascii], 'test/"batch"'],
    ] as const) {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      const w = new ProtocolWriter(out);
      for (const item of items) w.writeBatched(method, item, item === ascii ? JSON.stringify(item) : undefined);
      w.write(req(7));
      w.flush();
      const notification = { jsonrpc: '2.0', method, params: { events: items } };
      expect(Buffer.concat(chunks).equals(Buffer.concat([frameMessage(notification), frameMessage(req(7))]))).toBe(true);
    }
  });

  it('an item that cannot be serialised is refused as it is queued; the batch and what waits behind it still leave', () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new ProtocolWriter(out);
    w.writeBatched('test/batch', { n: 1 });
    expect(() => w.writeBatched('test/batch', { n: 2n })).toThrow(/BigInt/);
    w.write(req(2));
    expect(() => w.flush()).not.toThrow();
    const got: unknown[] = [];
    jsonMessageDecoder((m) => got.push(m)).push(Buffer.concat(chunks));
    expect(got).toEqual([{ jsonrpc: '2.0', method: 'test/batch', params: { events: [{ n: 1 }] } }, req(2)]);
  });

  it('a batch leaves early once it is large, or when another batch method starts', () => {
    const out = new PassThrough();
    const methods: string[] = [];
    const sizes: number[] = [];
    const decoder = jsonMessageDecoder<{ method?: string; params?: { events?: unknown[] } }>((m) => {
      methods.push(m.method ?? 'response');
      if (m.params?.events) sizes.push(m.params.events.length);
    });
    out.on('data', (c: Buffer) => decoder.push(c));
    const w = new ProtocolWriter(out);
    for (let i = 0; i < 1100; i++) w.writeBatched('a/batch', { i });
    w.writeBatched('b/batch', {});
    w.write(req(1, 'x'.repeat(300 * 1024))); // over the bytes that may wait behind a batch
    expect(sizes).toEqual([512, 512, 76, 1]);
    expect(methods).toEqual(['a/batch', 'a/batch', 'a/batch', 'b/batch', 'server/ping']);
  });

  it('reports a failed output once, and drops what is written after', () => {
    const out = new Writable({ write: (_c, _e, cb) => cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
    const w = new ProtocolWriter(out);
    const errors: Error[] = [];
    w.onError((e) => errors.push(e));
    w.write(req(1));
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        w.write(req(2));
        expect(errors.map((e) => e.message)).toEqual(['write EPIPE']);
        expect(w.broken).toBe(true);
        resolve();
      }),
    );
  });
});

describe('ProtocolReader: escape-free bodies', () => {
  const put = (value: unknown) => ({ jsonrpc: '2.0', id: 1, method: 'butler/put', params: { sessionId: 's', ref: { id: 'i' }, payload: { encoding: 'json', value } } });
  const paramsOf = (m: unknown) => (m as { params: unknown }).params;
  const escapeFree = (got: Incoming[]) => got.filter((i) => i.kind === 'message').map((i) => (i as { escapeFree: boolean }).escapeFree);

  it('says which bodies held no backslash, beside the message', () => {
    const { input, got } = reader();
    input.write(frame(put({ s: 'x'.repeat(300), t: 'é🚀' })));
    input.write(frame(put({ s: 'x'.repeat(300), t: 'a"b' }))); // the quote is escaped: a backslash
    input.write(frame({ ...put({ s: 'x' }), extra: '\n' })); // a backslash outside the params
    input.write(frame(put({ s: '\u0001' })));
    expect(escapeFree(got)).toEqual([true, false, false, false]);
  });

  it('marks nothing on the parsed message (a mark is an Object.defineProperty per request)', () => {
    const { input, messages } = reader();
    input.write(frame(put({ s: 'x'.repeat(300) })));
    const params = paramsOf(messages()[0]) as object;
    expect(isEscapeFree(params)).toBe(false);
    expect(Reflect.ownKeys(params)).toEqual(['sessionId', 'ref', 'payload']);
  });

  it('does not call a large body escape-free (its long strings are not read by JSON.parse)', () => {
    const { input, got, messages } = reader({ maxMessageBytes: 4 * LARGE_BODY });
    input.write(frame(put({ s: 'x'.repeat(LARGE_BODY) })));
    expect(messages()).toHaveLength(1);
    expect(escapeFree(got)).toEqual([false]);
  });
});
