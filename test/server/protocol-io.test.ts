/**
 * The server's own framing: ProtocolReader (Content-Length frames → messages) and
 * ProtocolWriter (message → one framed buffer), over real streams.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Message } from 'vscode-jsonrpc/node';
import { ProtocolReader } from '../../src/server/protocol-reader.js';
import { ProtocolWriter } from '../../src/server/protocol-writer.js';

const frame = (msg: unknown, extraHeaders = ''): Buffer => {
  const body = Buffer.from(JSON.stringify(msg), 'utf8');
  return Buffer.concat([Buffer.from(`${extraHeaders}Content-Length: ${body.length}\r\n\r\n`, 'latin1'), body]);
};

function reader(): { input: PassThrough; messages: Message[]; errors: Error[] } {
  const input = new PassThrough();
  const messages: Message[] = [];
  const errors: Error[] = [];
  const r = new ProtocolReader(input);
  r.onError((err) => errors.push(err));
  r.listen((m) => messages.push(m));
  return { input, messages, errors };
}

const req = (id: number, text = 'x'): Message => ({ jsonrpc: '2.0', id, method: 'server/ping', params: { text } }) as Message;

describe('ProtocolReader', () => {
  it('reads messages split at every byte, in order, multi-byte characters included', () => {
    const { input, messages, errors } = reader();
    const bytes = Buffer.concat([frame(req(1, 'héllo ✓ 🚀')), frame(req(2))]);
    for (let i = 0; i < bytes.length; i++) input.write(bytes.subarray(i, i + 1));
    expect(errors).toEqual([]);
    expect(messages).toEqual([req(1, 'héllo ✓ 🚀'), req(2)]);
  });

  it('reads several messages from one chunk, and other headers in any case', () => {
    const { input, messages } = reader();
    input.write(Buffer.concat([frame(req(1)), frame(req(2), 'Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n'), frame(req(3))]));
    const lower = Buffer.from(JSON.stringify(req(4)));
    input.write(Buffer.concat([Buffer.from(`content-length: ${lower.length}\r\n\r\n`), lower]));
    expect(messages.map((m) => (m as { id: number }).id)).toEqual([1, 2, 3, 4]);
  });

  it('joins a large body from many chunks', () => {
    const { input, messages } = reader();
    const big = req(7, 'y'.repeat(3 * 1024 * 1024));
    const bytes = frame(big);
    for (let off = 0; off < bytes.length; off += 65536) input.write(bytes.subarray(off, off + 65536));
    expect(messages).toEqual([big]);
  });

  it('a body that is not JSON is a SyntaxError, and the next message is read', () => {
    const { input, messages, errors } = reader();
    input.write(Buffer.concat([Buffer.from('Content-Length: 5\r\n\r\n{oops'), frame(req(2))]));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SyntaxError);
    expect(messages).toEqual([req(2)]);
  });

  it('a header that never ends is a framing error once it passes 64 KiB (nothing is buffered forever)', () => {
    const { input, messages, errors } = reader();
    input.write(Buffer.from('X'.repeat(32 * 1024)));
    expect(errors).toEqual([]);
    input.write(Buffer.from('X'.repeat(40 * 1024)));
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('longer than 65536 bytes')]);
    input.write(frame(req(3)));
    expect(messages).toEqual([]);
  });

  it.each([
    ['a header line without a colon', 'Content-Length 5\r\n\r\n'],
    ['no Content-Length', 'Content-Type: x\r\n\r\n'],
    ['a Content-Length that is not a number', 'Content-Length: five\r\n\r\n'],
  ])('%s is a framing error, after which nothing more is read', (_name, header) => {
    const { input, messages, errors } = reader();
    input.write(Buffer.concat([Buffer.from(header), frame(req(2))]));
    input.write(frame(req(3)));
    expect(errors).toHaveLength(1);
    expect(errors[0]).not.toBeInstanceOf(SyntaxError);
    expect(messages).toEqual([]);
  });
});

describe('ProtocolWriter', () => {
  it('writes each message as one framed buffer whose Content-Length counts UTF-8 bytes', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new ProtocolWriter(out);
    await w.write(req(1, 'héllo 🚀'));
    await w.write(req(2));
    expect(chunks).toHaveLength(2);
    const text = chunks[0]!.toString('utf8');
    const body = JSON.stringify(req(1, 'héllo 🚀'));
    expect(text).toBe(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    // What the writer frames, the reader reads back.
    const { input, messages } = reader();
    input.write(Buffer.concat(chunks));
    expect(messages).toEqual([req(1, 'héllo 🚀'), req(2)]);
  });

  it('refuses to write once the output is closed', async () => {
    const out = new PassThrough();
    const w = new ProtocolWriter(out);
    const errors: Error[] = [];
    w.onError(([err]) => errors.push(err));
    out.end();
    await expect(w.write(req(1))).rejects.toThrow('closed');
    expect(errors).toHaveLength(1);
  });
});
