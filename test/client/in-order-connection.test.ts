import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ResponseError, type MessageConnection } from 'vscode-jsonrpc/node';
import { EventTapReader } from '../../src/client/event-tap-reader.js';
import { FrameWriter } from '../../src/client/frame-writer.js';
import { inOrderConnection } from '../../src/client/in-order-connection.js';

function frame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...(message as object) }), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'latin1'), body]);
}

/** A connection over streams: `incoming` is what the sidecar would write, `sent` what the client wrote. */
function connection(): { conn: MessageConnection; incoming: PassThrough; sent: unknown[]; log: string[] } {
  const incoming = new PassThrough();
  const sent: unknown[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const text = chunk.toString('utf8');
      sent.push(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)));
      cb();
    },
  });
  const log: string[] = [];
  const conn = inOrderConnection(new EventTapReader(incoming, { event: 'butler/provenance', batch: 'butler/provenanceBatch', runs: 'butler/provenanceRuns' }, (e) => log.push(`event ${(e as { seq: number }).seq}`)), new FrameWriter(out));
  conn.onNotification('note', (p: { n: number }) => void log.push(`note ${p.n}`));
  conn.listen();
  return { conn, incoming, sent, log };
}

/** A request whose settlement is logged, through `depth` extra awaits (as a host's own wrappers add). */
function call(conn: MessageConnection, log: string[], name: string, depth = 0): Promise<void> {
  let p: Promise<unknown> = conn.sendRequest('m', { name });
  for (let i = 0; i < depth; i++) p = p.then((v) => v);
  return p.then(
    (v) => void log.push(`${name} ${JSON.stringify(v)}`),
    (e: ResponseError<unknown>) => void log.push(`${name} error ${e.code} ${JSON.stringify(e.data)}`),
  );
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('inOrderConnection', () => {
  it('settles an answer in the turn it is read, without waiting for a turn of its own', async () => {
    const { conn, incoming, log } = connection();
    const answered = call(conn, log, 'a');
    // A turn scheduled before the answer is read: vscode-jsonrpc's own queue settled the answer after it.
    setImmediate(() => log.push('turn'));
    incoming.write(frame({ id: 0, result: 1 }));
    await answered;
    await turn();
    expect(log).toEqual(['a 1', 'turn']);
  });

  it('answers read together settle one after another: each caller continues, however deep, before the next answer settles', async () => {
    const { conn, incoming, log } = connection();
    const calls = [call(conn, log, 'a', 8), call(conn, log, 'b', 0), call(conn, log, 'c', 2)];
    incoming.write(Buffer.concat([frame({ id: 0, result: 1 }), frame({ id: 1, result: 2 }), frame({ id: 2, result: 3 })]));
    await Promise.all(calls);
    expect(log).toEqual(['a 1', 'b 2', 'c 3']);
  });

  it('keeps the order read: notifications and events before the answers behind them, answers one after another however deep their callers', async () => {
    const { conn, incoming, log } = connection();
    const calls = [call(conn, log, 'a', 5), call(conn, log, 'b', 0), call(conn, log, 'c', 3), call(conn, log, 'd', 0)];
    incoming.write(
      Buffer.concat([
        frame({ method: 'note', params: { n: 1 } }),
        frame({ method: 'butler/provenanceBatch', params: { events: [{ seq: 1 }] } }),
        frame({ id: 0, result: 'A' }),
        frame({ id: 1, result: 'B' }),
        frame({ method: 'note', params: { n: 2 } }),
        frame({ method: 'note', params: { n: 3 } }),
        frame({ id: 2, error: { code: -32001, message: 'no', data: { kind: 'Nope' } } }),
        frame({ method: 'butler/provenance', params: { seq: 2 } }),
        frame({ id: 3, result: 'D' }),
      ]),
    );
    await Promise.all(calls);
    // Events are taken off as read; notifications go through the connection's queue; nothing overtakes what was read before it.
    expect(log).toEqual(['event 1', 'event 2', 'note 1', 'a "A"', 'b "B"', 'note 2', 'note 3', 'c error -32001 {"kind":"Nope"}', 'd "D"']);
  });

  it('answers a request from the sidecar (no handler: MethodNotFound) and settles the answer read behind it', async () => {
    const { conn, incoming, sent, log } = connection();
    const answered = call(conn, log, 'a');
    incoming.write(Buffer.concat([frame({ id: 'x', method: 'client/ask', params: {} }), frame({ method: '$/cancelRequest', params: { id: 'y' } }), frame({ id: 0, result: 1 })]));
    await answered;
    expect(log).toEqual(['a 1']);
    expect(sent).toContainEqual(expect.objectContaining({ id: 'x', error: expect.objectContaining({ code: -32601 }) }));
  });

  it('rejects what is still pending when the connection is disposed, and sends $/cancelRequest for a cancelled request', async () => {
    const { conn, incoming, sent, log } = connection();
    const { CancellationTokenSource } = await import('vscode-jsonrpc/node');
    const cts = new CancellationTokenSource();
    const cancelled = conn.sendRequest('m', {}, cts.token).catch((e: Error) => log.push(`cancelled: ${e.message}`));
    cts.cancel();
    await turn();
    expect(sent).toContainEqual(expect.objectContaining({ method: '$/cancelRequest', params: { id: 0 } }));
    incoming.write(frame({ id: 0, error: { code: -32800, message: 'Request cancelled' } }));
    await cancelled;
    const pending = call(conn, log, 'b');
    conn.dispose();
    await pending;
    expect(log).toEqual(['cancelled: Request cancelled', expect.stringMatching(/^b error/)]);
  });
});
