/**
 * The server's connection over real streams: order, turns, cancellation, invalid messages,
 * a queue that never runs empty, and close.
 */
import { PassThrough, Writable } from 'node:stream';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { CancellationToken } from 'vscode-jsonrpc/node';
import { ServerConnection, type RequestHandler } from '../../src/server/connection.js';
import { ProtocolReader } from '../../src/server/protocol-reader.js';
import { ProtocolWriter } from '../../src/server/protocol-writer.js';
import { encodeFrame, jsonMessageDecoder } from '../../src/util/framing.js';

interface Out {
  id?: number | string | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { kind?: string } };
}

const frame = (msg: unknown): Buffer => encodeFrame(JSON.stringify(msg));

function setup(onRequest: RequestHandler, notes: Array<[string, unknown]> = [], maxInFlight = 64, output: Writable = new PassThrough(), flushOutput?: () => void) {
  const input = new PassThrough();
  const sent: Out[] = [];
  const decoder = jsonMessageDecoder<Out>((m) => sent.push(m));
  output.on('data', (chunk: Buffer) => decoder.push(chunk));
  const reader = new ProtocolReader(input, { maxMessageBytes: 1 << 20, messageTimeoutMs: 0 });
  const conn = new ServerConnection(reader, new ProtocolWriter(output, flushOutput), onRequest, (method, params) => notes.push([method, params]), {
    maxInFlight,
    maxMessageBytes: 1 << 20,
  });
  conn.listen();
  const until = async (pred: () => boolean): Promise<void> => {
    for (let i = 0; i < 10_000 && !pred(); i++) await turn();
    expect(pred()).toBe(true);
  };
  return { input, sent, conn, notes, until, reader };
}

describe('ServerConnection', () => {
  it('flushes the output when it falls idle: after the last answer owed, not while others run', async () => {
    const gates = new Map<number, () => void>();
    let flushes = 0;
    const { input, sent, until } = setup(
      (_method, params) => new Promise((resolve) => gates.set((params as { n: number }).n, () => resolve((params as { n: number }).n))),
      [],
      64,
      new PassThrough(),
      () => void flushes++,
    );
    input.write(Buffer.concat([1, 2].map((n) => frame({ jsonrpc: '2.0', id: n, method: 'm', params: { n } }))));
    await until(() => gates.size === 2);
    gates.get(1)!();
    await until(() => sent.length === 1);
    await turn();
    expect(flushes).toBe(0); // request 2 still runs: its answer may share the write
    gates.get(2)!();
    await until(() => sent.length === 2 && flushes === 1);
    await turn();
    expect(flushes).toBe(1);
  });

  it('tells each request whether its body held no escape, in order across turns; a member of the message cannot claim it', async () => {
    const told: Array<[number, boolean]> = [];
    const { input, sent, until } = setup(async (_method, params, _token, escapeFree) => {
      told.push([(params as { n: number }).n, escapeFree]);
      return null;
    });
    // 40 requests in one chunk (more than a turn's BATCH); every third has a backslash, and
    // every fifth says escapeFree in its envelope (and params), which is not what tells.
    const msg = (n: number) => ({ jsonrpc: '2.0', id: n, method: 'm', params: { n, s: n % 3 === 0 ? 'a"b' : 'ab', ...(n % 5 === 0 ? { escapeFree: true } : {}) }, ...(n % 5 === 0 ? { escapeFree: true } : {}) });
    const ns = Array.from({ length: 40 }, (_, i) => i + 1);
    input.write(Buffer.concat(ns.map((n) => frame(msg(n)))));
    await until(() => sent.length === 40);
    expect(told).toEqual(ns.map((n) => [n, n % 3 !== 0]));
  });

  it('starts messages in the order read; each runs as far as it can before the next starts', async () => {
    const log: string[] = [];
    const { input, sent, until } = setup(async (_method, params) => {
      const n = (params as { n: number }).n;
      log.push(`start ${n}`);
      await Promise.resolve();
      await Promise.resolve();
      log.push(`end ${n}`);
      return n;
    });
    input.write(Buffer.concat([1, 2, 3].map((n) => frame({ jsonrpc: '2.0', id: n, method: 'm', params: { n } }))));
    await until(() => sent.length === 3);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
    expect(sent.map((m) => [m.id, m.result])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  });

  it('handles a long queue a batch per turn, so input and timers are not starved', async () => {
    let turns = 0;
    const { input, sent, until } = setup(async () => turns);
    const ticker = setInterval(() => {}, 0);
    const counting = (async () => {
      while (sent.length < 3000) {
        turns++;
        await turn();
      }
    })();
    input.write(Buffer.concat(Array.from({ length: 3000 }, (_, i) => frame({ jsonrpc: '2.0', id: i, method: 'm' }))));
    await until(() => sent.length === 3000);
    await counting;
    clearInterval(ticker);
    expect(new Set(sent.map((m) => m.id)).size).toBe(3000);
    // Answers were made over many turns (a batch each), not all in one.
    expect(new Set(sent.map((m) => m.result)).size).toBeGreaterThan(3000 / 16 / 2);
  });

  it('a cancel for a running request cancels its token; for a queued one, the request starts cancelled', async () => {
    const seen: Array<[number, boolean]> = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { input, sent, until } = setup(async (_method, params, token: CancellationToken) => {
      const n = (params as { n: number }).n;
      seen.push([n, token.isCancellationRequested]);
      if (n === 1) await gate;
      return token.isCancellationRequested ? 'cancelled' : 'done';
    });
    input.write(frame({ jsonrpc: '2.0', id: 1, method: 'm', params: { n: 1 } }));
    await until(() => seen.length === 1);
    // Request 2 and its cancellation arrive in one read; 1 is cancelled while it runs.
    input.write(Buffer.concat([frame({ jsonrpc: '2.0', id: 2, method: 'm', params: { n: 2 } }), frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 2 } })]));
    input.write(frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 1 } }));
    input.write(frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 999 } })); // unknown: ignored
    await until(() => seen.length === 2);
    release();
    await until(() => sent.length === 2);
    expect(seen).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(Object.fromEntries(sent.map((m) => [m.id, m.result]))).toEqual({ 1: 'cancelled', 2: 'cancelled' });
  });

  it('a cancel that lands before the handler reads its token is seen when it does; one for a finished request does nothing, and its id can be used again', async () => {
    const seen: Array<[number, boolean]> = [];
    const gates = new Map<number, () => void>();
    const { input, sent, until } = setup(async (_method, params, token: CancellationToken) => {
      const n = (params as { n: number }).n;
      await new Promise<void>((r) => gates.set(n, r));
      seen.push([n, token.isCancellationRequested]); // the token is read only now
      return n;
    });
    input.write(frame({ jsonrpc: '2.0', id: 1, method: 'm', params: { n: 1 } }));
    await until(() => gates.has(1));
    input.write(frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 1 } }));
    await turn();
    gates.get(1)!();
    await until(() => sent.length === 1);
    // Finished: its cancel does nothing, and the id, used again, starts uncancelled.
    input.write(frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 1 } }));
    input.write(frame({ jsonrpc: '2.0', id: 1, method: 'm', params: { n: 2 } }));
    await until(() => gates.has(2));
    gates.get(2)!();
    await until(() => sent.length === 2);
    expect(seen).toEqual([
      [1, true],
      [2, false],
    ]);
  });

  it('onCancellationRequested: a listener hears the cancel once; one that subscribes after it is called on a later turn', async () => {
    const heard: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { input, sent, until } = setup(async (_method, _params, token: CancellationToken) => {
      token.onCancellationRequested(() => heard.push('before'));
      await gate;
      token.onCancellationRequested(() => heard.push('after'));
      heard.push('subscribed');
      return null;
    });
    input.write(frame({ jsonrpc: '2.0', id: 7, method: 'm' }));
    await turn();
    input.write(frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 7 } }));
    input.write(frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 7 } }));
    await until(() => heard.length === 1);
    release();
    await until(() => sent.length === 1 && heard.length === 3);
    expect(heard).toEqual(['before', 'subscribed', 'after']);
  });

  it('notifications reach the handler in order; $/cancelRequest never does', async () => {
    const notes: Array<[string, unknown]> = [];
    const { input, until } = setup(async () => null, notes);
    input.write(
      Buffer.concat([
        frame({ jsonrpc: '2.0', method: 'a', params: { x: 1 } }),
        frame({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 5 } }),
        frame({ jsonrpc: '2.0', method: 'b' }),
      ]),
    );
    await until(() => notes.length === 2);
    expect(notes).toEqual([
      ['a', { x: 1 }],
      ['b', undefined],
    ]);
  });

  it('maps errors: a ResponseError as it is, anything else to -32603 with the method named', async () => {
    const { ResponseError } = await import('vscode-jsonrpc/node');
    const { input, sent, until } = setup(async (method) => {
      if (method === 'typed') throw new ResponseError(1234, 'typed failure', { kind: 'X' });
      throw new Error('boom');
    });
    input.write(Buffer.concat([frame({ jsonrpc: '2.0', id: 1, method: 'typed' }), frame({ jsonrpc: '2.0', id: 2, method: 'plain' })]));
    await until(() => sent.length === 2);
    expect(sent.find((m) => m.id === 1)?.error).toEqual({ code: 1234, message: 'typed failure', data: { kind: 'X' } });
    expect(sent.find((m) => m.id === 2)?.error).toMatchObject({ code: -32603, message: 'Request plain failed with message: boom' });
  });

  it('answers what is not a JSON-RPC message with -32600, ignores responses, and goes on', async () => {
    const { input, sent, until } = setup(async () => 'ok');
    input.write(
      Buffer.concat([
        frame([{ jsonrpc: '2.0', id: 1, method: 'm' }]),
        frame('text'),
        frame({ jsonrpc: '2.0', id: true, method: 'm' }),
        frame({ jsonrpc: '2.0', id: 7 }),
        frame({ jsonrpc: '2.0', id: 8, result: 1 }),
        frame({ jsonrpc: '2.0', id: 9, method: 'm' }),
      ]),
    );
    await until(() => sent.some((m) => m.id === 9));
    expect(sent.map((m) => [m.id, m.error?.code ?? m.result, m.error?.data?.kind])).toEqual([
      [null, -32600, 'InvalidRequest'],
      [null, -32600, 'InvalidRequest'],
      [null, -32600, 'InvalidRequest'],
      [7, -32600, 'InvalidRequest'],
      [9, 'ok', undefined],
    ]);
  });

  it('is busy until every request read is answered, and reports the end of input once', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { input, sent, conn, until } = setup(async () => {
      await gate;
      return 1;
    });
    let closes = 0;
    conn.onClose(() => closes++);
    expect(conn.busy).toBe(false);
    input.write(frame({ jsonrpc: '2.0', id: 1, method: 'm' }));
    expect(conn.busy).toBe(true);
    input.end();
    await until(() => closes === 1);
    expect(conn.busy).toBe(true); // read before the end: still to be answered
    release();
    await until(() => sent.length === 1);
    await until(() => !conn.busy);
    expect(closes).toBe(1);
  });

  it('starts at most maxInFlight requests; while that many wait to start, input is not read', async () => {
    const releases: Array<() => void> = [];
    const started: number[] = [];
    const { input, sent, until, reader } = setup(
      (_m, params) => {
        started.push((params as { n: number }).n);
        return new Promise((r) => releases.push(() => r('ok')));
      },
      [],
      3,
    );
    input.write(Buffer.concat(Array.from({ length: 10 }, (_, n) => frame({ jsonrpc: '2.0', id: n, method: 'm', params: { n } }))));
    await until(() => started.length === 3);
    for (let i = 0; i < 20; i++) await turn();
    expect(started).toEqual([0, 1, 2]);
    expect(reader.isPaused).toBe(true); // seven wait: more than maxInFlight
    while (sent.length < 10) {
      releases.shift()?.();
      await turn();
    }
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(reader.isPaused).toBe(false);
  });

  it('starts no request and reads no input while the host does not read the answers; goes on when it does', async () => {
    const held: Array<() => void> = [];
    const output = new Writable({ highWaterMark: 1024, write: (chunk, _e, cb) => held.push(() => (output.emit('data', chunk), cb())) });
    const started: number[] = [];
    const { input, sent, until, reader } = setup(
      async (_m, params) => {
        started.push((params as { n: number }).n);
        return 'z'.repeat(4096);
      },
      [],
      64,
      output,
    );
    input.write(Buffer.concat(Array.from({ length: 5 }, (_, n) => frame({ jsonrpc: '2.0', id: n, method: 'm', params: { n } }))));
    await until(() => started.length === 1);
    for (let i = 0; i < 20; i++) await turn();
    expect(started).toEqual([0]); // its 4 KiB answer is over the 1 KiB mark, and unread
    expect(reader.isPaused).toBe(true);
    while (sent.length < 5) {
      held.shift()?.();
      await turn();
    }
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it('echoes ids exactly as sent where a number cannot hold them, and cancels by them', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const output = new PassThrough();
    const text: string[] = [];
    output.on('data', (c: Buffer) => text.push(c.toString()));
    const { input, sent, until } = setup(
      async (method, _p, token) => {
        if (method === 'wait') await gate;
        return token.isCancellationRequested ? 'cancelled' : 'ran';
      },
      [],
      64,
      output,
    );
    for (const raw of ['1e400', '9007199254740993', '-0', '1.5']) input.write(encodeFrame(`{"jsonrpc":"2.0","id":${raw},"method":"m"}`));
    input.write(encodeFrame('{"jsonrpc":"2.0","id":9007199254740995,"method":"wait"}'));
    input.write(encodeFrame('{"jsonrpc":"2.0","id":9007199254740994,"method":"wait"}'));
    await until(() => sent.length === 4);
    input.write(encodeFrame('{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":9007199254740995}}'));
    await turn();
    release();
    await until(() => sent.length === 6);
    const all = text.join('');
    for (const raw of ['1e400', '9007199254740993', '-0', '1.5']) expect(all).toContain(`"id":${raw},"result":"ran"`);
    expect(all).toContain('"id":9007199254740995,"result":"cancelled"');
    expect(all).toContain('"id":9007199254740994,"result":"ran"');
    expect(all).not.toContain('"id":null');
  });

  it('every error answer carries data.kind, whoever made the error', async () => {
    const { ResponseError } = await import('vscode-jsonrpc/node');
    const { input, sent, until } = setup(async () => {
      throw new ResponseError(1234, 'no data');
    });
    input.write(frame({ jsonrpc: '2.0', id: 1, method: 'm' }));
    await until(() => sent.length === 1);
    expect(sent[0]!.error).toMatchObject({ code: 1234, data: { kind: 'InternalError' } });
  });

  it('a message over maxMessageBytes is answered MessageTooLarge with its id, and the next is handled', async () => {
    const { input, sent, until } = setup(async () => 'ok');
    input.write(frame({ jsonrpc: '2.0', id: 'big', method: 'butler/put', params: { data: 'A'.repeat(2 << 20) } }));
    input.write(frame({ jsonrpc: '2.0', id: 2, method: 'm' }));
    await until(() => sent.length === 2);
    expect(sent[0]).toMatchObject({ id: 'big', error: { code: 1035, data: { kind: 'MessageTooLarge', details: { maxMessageBytes: 1 << 20 } } } });
    expect(sent[1]).toMatchObject({ id: 2, result: 'ok' });
  });
});
