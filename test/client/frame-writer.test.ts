import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from 'vscode-jsonrpc/node';
import { FrameWriter } from '../../src/client/frame-writer.js';
import { spawnClient } from '../e2e/harness.js';
import type { QuantumButlerClient } from '../../src/client/index.js';

/** The messages in `chunk` if it holds whole frames only, else null. */
function wholeFrames(chunk: Buffer): unknown[] | null {
  const out: unknown[] = [];
  let at = 0;
  while (at < chunk.length) {
    const end = chunk.indexOf('\r\n\r\n', at, 'latin1');
    const m = /^Content-Length: (\d+)$/.exec(chunk.toString('latin1', at, end));
    if (end < 0 || !m) return null;
    const bodyEnd = end + 4 + Number(m[1]);
    if (bodyEnd > chunk.length) return null;
    out.push(JSON.parse(chunk.toString('utf8', end + 4, bodyEnd)));
    at = bodyEnd;
  }
  return out;
}

/** A stream that takes one chunk at a time and acknowledges it when told (a pipe the reader has not emptied). */
function slowStream() {
  const chunks: Buffer[] = [];
  const acks: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      acks.push(() => cb());
    },
  });
  return { stream, chunks, ack: () => acks.shift()!() };
}

/** A stream that takes every chunk at once. */
function fastStream() {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { stream, chunks };
}

const msg = (id: number, params: unknown = {}): Message => ({ jsonrpc: '2.0', id, method: 'm', params }) as Message;

describe('FrameWriter', () => {
  it('writes each message as one whole frame, header and body in one chunk, in call order', async () => {
    const { stream, chunks } = fastStream();
    const w = new FrameWriter(stream);
    const sent = [msg(1, { text: 'é ✓ 𝄞' }), msg(2, { value: 'x'.repeat(100_000) }), msg(3)];
    await Promise.all(sent.map((m) => w.write(m)));
    expect(chunks.map(wholeFrames)).toEqual(sent.map((m) => [m]));
  });

  it('holds later messages unwritten while the stream waits for a drain, then writes them in order', async () => {
    const { stream, chunks, ack } = slowStream();
    const w = new FrameWriter(stream);
    const settled: number[] = [];
    const writes = [1, 2, 3].map((id) => w.write(msg(id, { value: 'y'.repeat(64) })).then(() => settled.push(id)));
    await new Promise((r) => setImmediate(r));
    expect(chunks).toHaveLength(1); // the other two wait in the writer, not in the stream
    for (let i = 1; i <= 3; i++) {
      ack();
      await new Promise((r) => setImmediate(r));
      expect(chunks).toHaveLength(Math.min(i + 1, 3));
    }
    await Promise.all(writes);
    expect(settled).toEqual([1, 2, 3]);
    expect(chunks.map((c) => (wholeFrames(c)![0] as { id: number }).id)).toEqual([1, 2, 3]);
  });

  it('fails a message that cannot be serialised and writes the next one', async () => {
    const { stream, chunks } = fastStream();
    const w = new FrameWriter(stream);
    const errors: string[] = [];
    w.onError(([err]) => errors.push(err.message));
    await expect(w.write(msg(1, { n: 1n }))).rejects.toThrow(/BigInt/);
    await w.write(msg(2));
    expect(errors).toHaveLength(1);
    expect(chunks.map(wholeFrames)).toEqual([[msg(2)]]);
  });

  it('rejects the messages still waiting when the stream closes', async () => {
    const { stream } = slowStream();
    const w = new FrameWriter(stream);
    let closed = false;
    w.onClose(() => (closed = true));
    void w.write(msg(1, { value: 'z'.repeat(64) })).catch(() => {}); // taken by the stream
    const second = w.write(msg(2)); // waiting in the writer
    stream.destroy();
    await expect(second).rejects.toThrow(/closed/);
    expect(closed).toBe(true);
  });
});

describe('QuantumButlerClient over a real sidecar', () => {
  let client: QuantumButlerClient | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
  });

  it('writes each request to the sidecar as one whole frame (one write: the sidecar never wakes for a header alone)', async () => {
    client = await spawnClient();
    const stdin = client.child.stdin!;
    const chunks: Buffer[] = [];
    const write = stdin.write.bind(stdin) as (...args: unknown[]) => boolean;
    stdin.write = ((chunk: unknown, ...rest: unknown[]) => {
      chunks.push(Buffer.from(chunk as Buffer | string));
      return write(chunk, ...rest);
    }) as typeof stdin.write;
    await client.conn.sendRequest('server/ping', {});
    const session = await client.openSession({ predicted: { inputs: [], outputs: [] }, notifications: [] });
    await session.close();
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const c of chunks) expect(wholeFrames(c), c.toString('latin1', 0, 80)).toHaveLength(1);
  });
});
