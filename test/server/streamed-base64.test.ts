/**
 * Large bodies read as they arrive, with the base64 payload decoded on the way
 * (streamed-base64.ts): the message is the one the whole body gives (parseJsonBytes with the
 * payload hook, i.e. JSON.parse and Buffer.from(text, 'base64')) wherever the parts are cut;
 * text that is not decoded that way is rebuilt byte for byte and read as before, errors
 * included.
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decodeBase64Payload, takeDecoded } from '../../src/server/inline-base64.js';
import { decodePutPayload } from '../../src/server/payload.js';
import { ProtocolReader, type Incoming } from '../../src/server/protocol-reader.js';
import { RawId } from '../../src/server/spliced-json.js';
import { assembleBase64Body, type AssembledBody } from '../../src/server/streamed-base64.js';
import { encodeFrame } from '../../src/util/framing.js';
import { parseJsonBytes } from '../../src/util/parse-json-bytes.js';
import type { Payload } from '../../protocol/common.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Bytes that are not all alike, so that a quad decoded at the wrong place shows. */
function bytesOf(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

/** A put whose payload data is `text` as it stands in the body (JSON string text, quotes added). */
function putBody(text: string, payload = '{"encoding":"base64","data":@}', id = '7'): Buffer {
  const params = `{"sessionId":"s-1","ref":{"id":"r-1"},"payload":${payload.replace('@', `"${text}"`)}}`;
  return Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":"butler/put","params":${params}}`);
}

/** The body pushed to an assembler in parts cut at `cuts`. */
function assemble(body: Buffer, cuts: readonly number[]): AssembledBody {
  let out: AssembledBody | undefined;
  const assembler = assembleBase64Body(body.length, (read) => (out = read));
  if (!assembler) throw new Error('no assembler for a large body');
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b).concat(body.length)) {
    if (cut <= from || cut > body.length) continue;
    assembler.push(body.subarray(from, cut));
    from = cut;
  }
  if (out !== undefined) throw new Error('delivered before the end');
  assembler.end();
  return out!;
}

/** A parsed message with the decoded bytes a token stands for taken and described. */
function settled(message: unknown): unknown {
  const payload = (message as { params?: { payload?: { data?: unknown } } } | null)?.params?.payload;
  const taken = typeof payload?.data === 'string' ? takeDecoded(payload.data) : undefined;
  if (payload && taken) payload.data = { decoded: sha(taken[0]), length: taken[0].length, textLength: taken[1] };
  return message;
}

/** What the whole body gives, read at once (the way before). */
function atOnce(body: Buffer): { message: unknown } | { error: string } {
  try {
    return { message: settled(parseJsonBytes(body, decodeBase64Payload)) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** What the body gives read in parts: how it was read, and the same outcome as atOnce. */
function inParts(body: Buffer, cuts: readonly number[]): { read: AssembledBody['kind'] } & ({ message: unknown } | { error: string }) {
  const read = assemble(body, cuts);
  if (read.kind === 'body') {
    // Rebuilt exactly as sent, then read the way before.
    expect(read.body.equals(body)).toBe(true);
    return { read: 'body', ...atOnce(read.body) };
  }
  // The envelope holds everything but the payload's text.
  expect(read.envelope.length).toBeLessThan(body.length - 64 * 1024);
  return { read: 'message', message: settled(read.message) };
}

/** Cuts around every position in `at` (each of the 4 places in a quad, and more). */
const around = (...at: number[]): number[] => at.flatMap((p) => [p - 5, p - 4, p - 3, p - 2, p - 1, p, p + 1, p + 2, p + 3]);

function randomCuts(length: number, count: number, seed: number): number[] {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31);
  return Array.from({ length: count }, () => next() % length);
}

const b64 = bytesOf(900_000).toString('base64');
const late = b64.length - 1000;

describe('a large body read as it arrives, its base64 payload decoded on the way', () => {
  it.each([0, 1, 2])('decodes exactly what JSON.parse and Buffer.from give, wherever the parts are cut (value size 3k+%d: padding)', (extra) => {
    const value = bytesOf(800_001 + extra);
    const text = value.toString('base64');
    const body = putBody(text);
    const start = body.indexOf(text);
    const end = start + text.length;
    const expected = atOnce(body);
    expect(expected).toEqual({
      message: { ...JSON.parse(body.toString()), params: { ...JSON.parse(body.toString()).params, payload: { encoding: 'base64', data: { decoded: sha(value), length: value.length, textLength: text.length } } } },
    });
    const cutSets = [
      [],
      [start - 1],
      [start],
      [start + 1],
      around(start + 4 * 1000),
      around(end - 4, end),
      [end - 2, end - 1],
      [end],
      [end + 1],
      Array.from({ length: 200 }, (_, i) => start + i * 4093), // odd parts: boundaries fall in every place of a quad
      randomCuts(body.length, 300, extra + 1),
      Array.from({ length: body.length / 65536 }, (_, i) => (i + 1) * 65536), // a pipe's chunks
    ];
    for (const cuts of cutSets) expect(inParts(body, cuts)).toEqual({ read: 'message', ...expected });
  });

  it('the decoded bytes are the payload a put stores, owned (kept without a copy)', async () => {
    const value = bytesOf(900_000);
    const read = assemble(putBody(value.toString('base64')), randomCuts(1_300_000, 40, 3));
    expect(read.kind).toBe('message');
    const payload = (read as { message: { params: { payload: Payload } } }).message.params.payload;
    const put = await decodePutPayload(payload, 1 << 20);
    expect(put.source).toMatchObject({ kind: 'bytes', owned: true });
    expect((put.source as { bytes: Buffer }).bytes.equals(value)).toBe(true);
  });

  it('text with non-zero bits after the last byte (AB==) decodes as Buffer.from decodes it', () => {
    const text = `${bytesOf(900_000).toString('base64')}AB==`;
    const body = putBody(text);
    const expected = atOnce(body);
    expect(JSON.stringify(expected)).toContain(sha(Buffer.from(text, 'base64')));
    expect(inParts(body, around(body.indexOf('AB=='), body.indexOf('AB==') + 4))).toEqual({ read: 'message', ...expected });
  });

  it.each([
    ['base64url characters (-, _), which Node decodes but which would not encode back', `${b64.slice(0, late)}-_${b64.slice(late + 2)}`],
    ['a space', `${b64.slice(0, late)} ${b64.slice(late + 1)}`],
    ['a non-ASCII character', `${b64.slice(0, late)}é${b64.slice(late + 1)}`],
    ['an escape (\\/)', `${b64.slice(0, late)}\\/${b64.slice(late + 1)}`],
    ['an escaped quote', `${b64.slice(0, late)}\\"${b64.slice(late + 1)}`],
    ['an escape (\\u0041), at the start', `\\u0041${b64.slice(1)}`],
    ['padding in the middle', `${b64.slice(0, late)}==${b64.slice(late + 2)}`],
    ['padding and then more', `${b64}AA==AAAA`],
    ['three pads', `${b64}A===`],
    ['a length that is no multiple of 4', b64.slice(0, -1)],
    ['a length that is no multiple of 4, padded', `${b64}AA=`],
    ['a raw control character (not JSON)', `${b64.slice(0, late)}\u0001${b64.slice(late + 1)}`],
  ])('text decoded otherwise is rebuilt as sent and read as before (%s)', (_name, text) => {
    const body = putBody(text);
    const expected = atOnce(body);
    for (const cuts of [[], around(body.indexOf(text.slice(late - 8, late + 8)) + 8), randomCuts(body.length, 100, 5)]) {
      expect(inParts(body, cuts)).toEqual({ read: 'body', ...expected });
    }
  });

  it.each([
    ['data before encoding, and a long member after it', '{"data":@,"note":"' + 'n'.repeat(200_000) + '","encoding":"base64"}', 'message'],
    ['a key written with an escape', '{"encoding":"base64","\\u0064ata":@}', 'message'],
    ['another encoding', '{"encoding":"text","data":@}', 'body'],
    ['another encoding, base64url text', `{"encoding":"text","data":"${b64.slice(0, late)}-_${b64.slice(late + 2)}"}`, 'body'],
    ['no encoding', '{"data":@}', 'body'],
    ['a later duplicate data (short)', '{"encoding":"base64","data":@,"data":"QUJD"}', 'body'],
    ['a later duplicate data (long)', `{"encoding":"base64","data":@,"data":"${b64.slice(4)}"}`, 'body'],
    ['an earlier short duplicate data', '{"encoding":"base64","data":"QUJD","data":@}', 'body'],
    ['a later duplicate encoding', '{"encoding":"base64","data":@,"encoding":"text"}', 'body'],
    ['a payload that is then replaced', '{"encoding":"base64","data":@},"payload":{"encoding":"base64","data":"QUJD"}', 'body'],
    ['the text followed by a colon (not JSON)', '{"encoding":"base64","data":@:1}', 'body'],
    ['the body cut short after the text (not JSON)', '{"encoding":"base64","data":@', 'body'],
    ['a short text', '{"encoding":"base64","data":"QUJD","pad":"' + 'p'.repeat(1_200_000) + '"}', 'body'],
  ] as const)('the message is the one the whole body gives (%s)', (_name, payload, read) => {
    const body = putBody(b64, payload);
    const expected = atOnce(body);
    for (const cuts of [[], randomCuts(body.length, 100, 9)]) expect(inParts(body, cuts)).toEqual({ read, ...expected });
  });

  it('a body whose payload comes after its first 64 KiB is read as before', () => {
    const body = Buffer.from(
      `{"jsonrpc":"2.0","id":1,"method":"butler/put","params":{"sessionId":"${'s'.repeat(70_000)}","ref":{"id":"r"},"payload":{"encoding":"base64","data":"${b64}"}}}`,
    );
    expect(inParts(body, randomCuts(body.length, 50, 11))).toEqual({ read: 'body', ...atOnce(body) });
  });

  it('a body that ends inside the text is rebuilt and refused as before', () => {
    const body = Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"butler/put","params":{"payload":{"encoding":"base64","data":"${b64}`);
    const expected = atOnce(body);
    expect(expected).toHaveProperty('error');
    expect(inParts(body, randomCuts(body.length, 50, 13))).toEqual({ read: 'body', ...expected });
  });
});

describe('the reader with streamed bodies', () => {
  /** A reader of frames written in pipe-sized chunks: what it read. */
  function read(frames: Buffer): Incoming[] {
    const input = new PassThrough();
    const got: Incoming[] = [];
    new ProtocolReader(input, { maxMessageBytes: 1 << 24, messageTimeoutMs: 0 }).listen(
      (i) => got.push(i),
      () => {},
      () => {},
    );
    for (let i = 0; i < frames.length; i += 65536) input.write(frames.subarray(i, i + 65536));
    return got;
  }

  it('reads a put in pipe-sized chunks to the same message, its inexact id kept as sent, and the next message after it', () => {
    const value = bytesOf(2_000_000);
    const got = read(Buffer.concat([encodeFrame(putBody(value.toString('base64'), undefined, '1e400')), encodeFrame('{"jsonrpc":"2.0","id":2,"method":"server/ping"}')]));
    expect(got.map((i) => i.kind)).toEqual(['message', 'message']);
    const put = (got[0] as { message: { id: unknown; params: { payload: { data: string } } } }).message;
    expect(put.id).toBeInstanceOf(RawId);
    expect(String(put.id)).toBe('1e400');
    expect(takeDecoded(put.params.payload.data)?.[0].equals(value)).toBe(true);
    expect((got[1] as { message: unknown }).message).toEqual({ jsonrpc: '2.0', id: 2, method: 'server/ping' });
  });

  it('a streamed body that is not JSON is unparsable with its id, as before', () => {
    const body = putBody(b64, '{"encoding":"base64","data":@}}', '"x-9"');
    const error = atOnce(body) as { error: string };
    expect(read(encodeFrame(body))).toEqual([{ kind: 'unparsable', id: 'x-9', reason: error.error }]);
  });
});
