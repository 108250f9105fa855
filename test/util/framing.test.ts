/**
 * The framing codec: strict Content-Length headers (anything else is a FramingError, never
 * a silent misread), bodies delivered whole and in order however the bytes are split,
 * oversize bodies skipped with the stream kept in step.
 */
import { describe, expect, it, vi } from 'vitest';
import { FrameDecoder, FramingError, encodeFrame, frameHeaderBytes, writeFrameHeader } from '../../src/util/framing.js';

function decode(bytes: Buffer | string, options: ConstructorParameters<typeof FrameDecoder>[1] = {}, step = 0) {
  const bodies: string[] = [];
  const d = new FrameDecoder((b) => bodies.push(b.toString('utf8')), options);
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1');
  let error: unknown;
  try {
    if (step === 0) d.push(buf);
    else for (let i = 0; i < buf.length; i += step) d.push(buf.subarray(i, i + step));
  } catch (err) {
    error = err;
  }
  return { bodies, error, decoder: d };
}

describe('FrameDecoder', () => {
  it('reads frames split at every byte, with multi-byte characters, other headers and header names in any case', () => {
    const bytes = Buffer.concat([
      encodeFrame('{"a":"héllo ✓ 🚀"}'),
      Buffer.from('content-length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}'),
      Buffer.from('Content-Length:\t3  \r\n\r\n[1]'),
      encodeFrame(''),
      encodeFrame('"end"'),
    ]);
    for (const step of [0, 1, 2, 7]) {
      const { bodies, error } = decode(bytes, {}, step);
      expect(error).toBeUndefined();
      expect(bodies).toEqual(['{"a":"héllo ✓ 🚀"}', '{}', '[1]', '', '"end"']);
    }
  });

  it('a body in one chunk is a view of it; a body over several chunks is one buffer of exactly its length', () => {
    const seen: Buffer[] = [];
    const d = new FrameDecoder((b) => seen.push(b));
    const chunk = Buffer.concat([encodeFrame('abc'), encodeFrame('x'.repeat(100))]);
    d.push(chunk.subarray(0, 60)); // the second body starts at byte 47
    d.push(chunk.subarray(60));
    expect(seen.map((b) => b.toString())).toEqual(['abc', 'x'.repeat(100)]);
    expect(seen[1]!.byteLength).toBe(100);
    chunk.fill(0x2e);
    expect(seen.map((b) => b.toString())).toEqual(['...', 'x'.repeat(100)]);
    expect(d.midFrame).toBe(false);
  });

  it('a body over several chunks goes part by part to the assembler given for it, if one is, and only its end is reported', () => {
    const events: string[] = [];
    const lengths: number[] = [];
    const d = new FrameDecoder((b) => events.push(`frame ${b.toString()}`), {
      assembleBody: (length) => {
        lengths.push(length);
        return length < 10 ? undefined : { push: (part) => events.push(`part ${part.toString()}`), end: () => events.push('end') };
      },
    });
    const bytes = Buffer.concat([encodeFrame('whole'), encodeFrame('abcdefghijkl'), encodeFrame('small'), encodeFrame('0123456789')]);
    d.push(bytes.subarray(0, 52)); // the first body, and 4 bytes of the second
    d.push(bytes.subarray(52, 57));
    d.push(bytes.subarray(57, 84)); // the second body's end and 3 bytes of the third (short: no assembler)
    d.push(bytes.subarray(84)); // the third's end, and the fourth in one chunk
    expect(events).toEqual(['frame whole', 'part abcd', 'part efghi', 'part jkl', 'end', 'frame small', 'frame 0123456789']);
    expect(lengths).toEqual([12, 5]); // asked only for bodies over several chunks, once each
  });

  it('knows when it holds part of a frame', () => {
    const d = new FrameDecoder(() => {});
    d.push(Buffer.from('Content-Len'));
    expect(d.midFrame).toBe(true);
    d.push(Buffer.from('gth: 4\r\n\r\nab'));
    expect(d.midFrame).toBe(true);
    d.push(Buffer.from('cd'));
    expect(d.midFrame).toBe(false);
  });

  it.each([
    ['digits followed by letters', 'Content-Length: 12abc\r\n\r\n'],
    ['a fraction', 'Content-Length: 12.9\r\n\r\n'],
    ['an exponent', 'Content-Length: 12e3\r\n\r\n'],
    ['a negative length', 'Content-Length: -1\r\n\r\n'],
    ['a plus sign', 'Content-Length: +5\r\n\r\n'],
    ['an empty value', 'Content-Length: \r\n\r\n'],
    ['a hexadecimal length', 'Content-Length: 0x10\r\n\r\n'],
    ['more than 15 digits', 'Content-Length: 1234567890123456\r\n\r\n'],
    ['Content-Length twice', 'Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}'],
    ['no Content-Length', 'Content-Type: x\r\n\r\n{}'],
    ['an empty header block', '\r\n\r\n{}'],
    ['a line without a colon', 'Content-Length 5\r\n\r\n'],
    ['a header name with a space', 'Content Length: 2\r\n\r\n{}'],
    ['LF-only line endings', 'Content-Length: 2\n\n{}'],
    ['an LF-only blank line', 'Content-Length: 2\r\n\n{}Content-Length: 2\r\n\r\n{}'],
    ['a bare CR', 'Content-Length: 2\r\rx\r\n\r\n{}'],
    ['a control byte', 'Content-Length: 2\u0000\r\n\r\n{}'],
    ['a non-ASCII byte', 'Content-Léngth: 2\r\n\r\n{}'],
    ['a body where a header belongs', '{"jsonrpc":"2.0"}'],
  ])('%s is a FramingError, after which nothing more is read', (_name, header) => {
    for (const step of [0, 1]) {
      const bytes = Buffer.concat([Buffer.from(header, 'latin1'), encodeFrame('"next"')]);
      const { bodies, error, decoder } = decode(bytes, {}, step);
      expect(error).toBeInstanceOf(FramingError);
      expect(decoder.error).toBe(error);
      expect(bodies).toEqual([]);
      decoder.push(encodeFrame('"later"'));
      expect(bodies).toEqual([]);
    }
  });

  it('a bare LF is caught at once, not when a later blank line turns up', () => {
    const { error } = decode('Content-Length: 2\n');
    expect(error).toBeInstanceOf(FramingError);
  });

  it('a header block over the limit is a FramingError as soon as it passes it', () => {
    const d = new FrameDecoder(() => {}, { maxHeaderBytes: 100 });
    d.push(Buffer.from('X-Pad: ' + 'a'.repeat(80)));
    expect(() => d.push(Buffer.from('a'.repeat(20)))).toThrow(FramingError);
  });

  it('the usual header block read whole from one chunk obeys the same rules as read byte by byte', () => {
    for (const step of [0, 1]) {
      expect(decode('Content-Length: 002\r\n\r\n{}Content-Length: 0\r\n\r\n', {}, step).bodies).toEqual(['{}', '']);
      expect(decode('Content-Length: 2\r\n\r\n{}', { maxHeaderBytes: 20 }, step).error).toBeInstanceOf(FramingError);
      expect(decode('Content-Length: 2\r\n\r\n{}', { maxHeaderBytes: 21 }, step).bodies).toEqual(['{}']);
      const over = decode(`Content-Length: 999999999999999\r\n\r\n${'z'.repeat(10)}`, { maxBodyBytes: 5, prefixBytes: 4, onOversize: () => {} }, step);
      expect([over.error, over.bodies, over.decoder.midFrame]).toEqual([undefined, [], true]);
    }
  });

  it('the usual header block read from the bytes whole gives what reading it byte by byte gives, for near misses too', () => {
    const digits = ['0', '7', '02', '1'.repeat(14), '9'.repeat(15), '1'.repeat(16), '', '1a', ' 2', '2 '];
    const heads = ['Content-Length: ', 'content-length: ', 'Content-Length:', 'Content-Length:  ', 'Content-Lengtx: '];
    const tails = ['\r\n\r\n', '\r\n\r', '\r\n', '\n\r\n', '\r\n\r\nx', '\r\nA: b\r\n\r\n'];
    const result = (r: ReturnType<typeof decode>) => [r.bodies, (r.error as Error | undefined)?.message, r.decoder.midFrame];
    for (const h of heads) for (const d of digits) for (const t of tails) {
      const text = `${h}${d}${t}{"a":1}`;
      for (const options of [{}, { maxHeaderBytes: 22 }, { maxBodyBytes: 7, onOversize: () => {} }]) {
        expect(result(decode(text, options, 0)), JSON.stringify([text, options])).toEqual(result(decode(text, options, 1)));
      }
    }
  });

  it('reads the usual header block without making text of it', () => {
    const bodies: Buffer[] = [];
    const d = new FrameDecoder((b) => bodies.push(Buffer.from(b)));
    const toString = vi.spyOn(Buffer.prototype, 'toString');
    try {
      d.push(Buffer.from('Content-Length: 7\r\n\r\n{"a":1}Content-Length: 2\r\n\r\n[]'));
      expect(toString).not.toHaveBeenCalled();
    } finally {
      toString.mockRestore();
    }
    expect(bodies.map(String)).toEqual(['{"a":1}', '[]']);
  });

  it('an oversize body is skipped as it arrives, its prefix reported once, and the next frame read', () => {
    const bodies: string[] = [];
    const oversize: Array<[number, string]> = [];
    const d = new FrameDecoder((b) => bodies.push(b.toString()), { maxBodyBytes: 10, prefixBytes: 4, onOversize: (n, p) => oversize.push([n, p.toString()]) });
    const big = 'abcdefghijklmnopqrstuvwxyz';
    const bytes = Buffer.concat([encodeFrame('"a"'), encodeFrame(big), encodeFrame('"b"'), encodeFrame('0123456789A'), encodeFrame('"c"')]);
    for (let i = 0; i < bytes.length; i += 3) d.push(bytes.subarray(i, i + 3));
    expect(oversize).toEqual([
      [26, 'abcd'],
      [11, '0123'],
    ]);
    expect(bodies).toEqual(['"a"', '"b"', '"c"']);
  });

  it('an oversize body shorter than the prefix is reported once it is complete', () => {
    const oversize: Array<[number, string]> = [];
    const d = new FrameDecoder(() => {}, { maxBodyBytes: 2, prefixBytes: 100, onOversize: (n, p) => oversize.push([n, p.toString()]) });
    d.push(Buffer.from('Content-Length: 5\r\n\r\nab'));
    expect(oversize).toEqual([]);
    d.push(Buffer.from('cde'));
    expect(oversize).toEqual([[5, 'abcde']]);
  });

  it('a huge declared length within the limit allocates nothing until bytes arrive', () => {
    const d = new FrameDecoder(() => {});
    d.push(Buffer.from('Content-Length: 999999999999999\r\n\r\n'));
    expect(d.midFrame).toBe(true);
  });
});

describe('encodeFrame', () => {
  it('counts UTF-8 bytes, for strings and buffers alike', () => {
    const text = '{"s":"é🚀"}';
    const frame = encodeFrame(text);
    expect(frame.toString('utf8')).toBe(`Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
    expect(encodeFrame(Buffer.from(text)).equals(frame)).toBe(true);
  });
});

describe('writeFrameHeader', () => {
  it('writes the bytes of `Content-Length: <length>\\r\\n\\r\\n` where it is told, and says where they end', () => {
    const lengths = [0, 1, 9, 10, 11, 99, 100, 999, 1000, 12345, 65535, 65536, 999999, 1e6, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 1e15 - 1, 1e15, 2 ** 53 - 1];
    for (const length of lengths) {
      const expected = Buffer.from(`Content-Length: ${length}\r\n\r\n`, 'latin1');
      expect(frameHeaderBytes(length)).toBe(expected.length);
      const out = Buffer.alloc(expected.length + 6, 0x2a);
      expect(writeFrameHeader(out, 3, length)).toBe(3 + expected.length);
      expect(out.subarray(3, 3 + expected.length).equals(expected)).toBe(true);
      // Nothing around it is touched.
      expect([...out.subarray(0, 3), ...out.subarray(3 + expected.length)]).toEqual([0x2a, 0x2a, 0x2a, 0x2a, 0x2a, 0x2a]);
    }
  });
});
