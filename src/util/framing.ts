/**
 * The one Content-Length framing codec (LSP's base protocol), used by the server and by
 * everything that speaks to it by hand (the replay driver, the examples recorder, tests).
 *
 * A frame is a header block of `Name: value` lines, each ended by CRLF, then an empty line
 * (CRLF), then exactly `Content-Length` bytes of body. The decoder is strict, because a
 * header misread is a stream silently out of step: a bare LF or CR, a control or non-ASCII
 * byte, a line without `name:`, a missing, duplicated or non-digit `Content-Length`
 * (`12abc`, `12.9`, `12e3`, `-1`, ` `), or a header block over `maxHeaderBytes` is a
 * FramingError, after which the decoder reads nothing more (where the next frame starts can
 * no longer be known). A bare LF is caught at once, not when a later CRLFCRLF turns up.
 *
 * A body over `maxBodyBytes` is not buffered: its first `prefixBytes` are handed to
 * `onOversize` (so that the request's id can be read from them) and the rest is skipped as
 * it arrives, which keeps the stream in step. Other bodies are delivered whole: a slice of
 * the input chunk when the body lies in one chunk, else one buffer of exactly
 * `Content-Length` bytes, allocated once and filled as chunks arrive (never a list of
 * chunks joined at the end, which would hold the body twice). A body that arrives over
 * several chunks may instead be handed, part by part, to a `BodyAssembler` that the
 * `assembleBody` option gives for it (one that reads a body as it arrives, and delivers it
 * itself).
 */

export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;
const DEFAULT_PREFIX_BYTES = 4096;
/** Up to 15 digits: below 2^53, so the length is exact. */
const CONTENT_LENGTH = /^[0-9]{1,15}$/;
/** RFC 9110 token characters: a header name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CR = 0x0d;
const LF = 0x0a;
const HT = 0x09;

/** Said when the bytes that broke the framing look like a bare JSON message. */
export const RAW_JSON_HINT =
  'The input looks like JSON sent without a Content-Length header: frame each message as "Content-Length: <bytes>\\r\\n\\r\\n<json>" (the LSP base protocol; see the README).';

/** The byte stream cannot be read on: the frame boundary is lost. */
export class FramingError extends Error {
  override readonly name = 'FramingError';
}

export interface FrameDecoderOptions {
  /** Bodies longer than this are skipped and reported to `onOversize` (default: no limit). */
  maxBodyBytes?: number;
  /** A header block longer than this is a FramingError (default 64 KiB). */
  maxHeaderBytes?: number;
  /** How much of an oversize body is kept for `onOversize` (default 4 KiB). */
  prefixBytes?: number;
  /** A body over `maxBodyBytes`: its length and first bytes; the rest is skipped. */
  onOversize?: (length: number, prefix: Buffer) => void;
  /** For a body of `length` bytes that arrives over several chunks: who takes its parts instead of `onFrame`, if anyone. */
  assembleBody?: (length: number) => BodyAssembler | undefined;
}

/** Takes a body's parts in order (views of the input: copy what is kept), then its end. */
export interface BodyAssembler {
  push(part: Buffer): void;
  end(): void;
}

type State =
  | { kind: 'header' }
  /** A body that arrives over several chunks, filled into one buffer (or handed to an assembler). */
  | { kind: 'body'; into: Buffer | BodyAssembler | null; length: number; filled: number }
  /** An oversize body: its prefix being kept, then the rest being skipped. */
  | { kind: 'skip'; length: number; prefix: Buffer; kept: number; remaining: number; reported: boolean };

export class FrameDecoder {
  private state: State = { kind: 'header' };
  /** Header text carried across chunks: the current line so far (latin1, CR excluded). */
  private line = '';
  private headerBytes = 0;
  private afterCR = false;
  private contentLength = -1;
  private broken: FramingError | null = null;
  /** The current header block began with `{` or `[`: a JSON message sent without framing. */
  private rawJson = false;
  private readonly maxBodyBytes: number;
  private readonly maxHeaderBytes: number;
  private readonly prefixBytes: number;

  constructor(
    private readonly onFrame: (body: Buffer) => void,
    private readonly options: FrameDecoderOptions = {},
  ) {
    this.maxBodyBytes = options.maxBodyBytes ?? Number.MAX_SAFE_INTEGER;
    this.maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    this.prefixBytes = options.prefixBytes ?? DEFAULT_PREFIX_BYTES;
  }

  /** Part of a frame has been read and the rest has not. */
  get midFrame(): boolean {
    return this.state.kind !== 'header' || this.headerBytes > 0;
  }

  /** The unfinished header block began like a bare JSON message (`{` or `[`). */
  get looksLikeRawJson(): boolean {
    return this.rawJson && this.midFrame;
  }

  /** The error that stopped the decoder, if one did. */
  get error(): FramingError | null {
    return this.broken;
  }

  /**
   * Decode a chunk, calling `onFrame` for each complete body in order. Throws a
   * FramingError (once; later chunks are ignored) when the stream cannot be read on.
   * Exceptions thrown by the callbacks propagate, and the rest of the chunk is kept.
   */
  push(chunk: Buffer): void {
    if (this.broken) return;
    let pos = 0;
    while (pos < chunk.length) {
      const state = this.state;
      if (state.kind === 'header') {
        pos = this.header(chunk, pos);
      } else if (state.kind === 'body') {
        const want = state.length - state.filled;
        if (state.into === null && chunk.length - pos >= want) {
          // The whole body is in this chunk: hand out a view, no copy.
          const body = chunk.subarray(pos, pos + want);
          pos += want;
          this.state = { kind: 'header' };
          this.onFrame(body);
          continue;
        }
        const into = (state.into ??= this.options.assembleBody?.(state.length) ?? Buffer.allocUnsafe(state.length));
        const n = Math.min(want, chunk.length - pos);
        if (Buffer.isBuffer(into)) chunk.copy(into, state.filled, pos, pos + n);
        else into.push(chunk.subarray(pos, pos + n));
        state.filled += n;
        pos += n;
        if (state.filled === state.length) {
          this.state = { kind: 'header' };
          if (Buffer.isBuffer(into)) this.onFrame(into);
          else into.end();
        }
      } else {
        const n = Math.min(state.remaining, chunk.length - pos);
        if (state.kept < state.prefix.length) {
          const k = Math.min(n, state.prefix.length - state.kept);
          chunk.copy(state.prefix, state.kept, pos, pos + k);
          state.kept += k;
        }
        state.remaining -= n;
        pos += n;
        if (state.remaining === 0) this.state = { kind: 'header' };
        if (!state.reported && (state.kept === state.prefix.length || state.remaining === 0)) {
          state.reported = true;
          this.options.onOversize?.(state.length, state.prefix.subarray(0, state.kept));
        }
      }
    }
  }

  /** Read header bytes from `pos`; returns where the header ended (body starts) or the chunk's end. */
  private header(chunk: Buffer, pos: number): number {
    if (this.headerBytes === 0) {
      const end = this.plainHeader(chunk, pos);
      if (end > 0) {
        this.endHeader();
        return end;
      }
    }
    let lineStart = pos;
    for (let i = pos; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.headerBytes === 0) this.rawJson = b === 0x7b || b === 0x5b;
      if (++this.headerBytes > this.maxHeaderBytes) this.fail(`a header block longer than ${this.maxHeaderBytes} bytes`);
      if (this.afterCR) {
        if (b !== LF) this.fail('a CR not followed by LF in the header');
        this.afterCR = false;
        const line = this.line;
        this.line = '';
        lineStart = i + 1;
        if (line === '') {
          // The empty line: the header block is complete.
          if (this.contentLength < 0) this.fail(this.headerBytes === 2 ? 'an empty header block' : 'a header without Content-Length');
          this.endHeader();
          return i + 1;
        }
        this.headerLine(line);
      } else if (b === CR) {
        this.line += chunk.toString('latin1', lineStart, i);
        this.afterCR = true;
      } else if (b === LF) {
        this.fail('a header line ended by LF without CR');
      } else if ((b < 0x20 && b !== HT) || b >= 0x7f) {
        this.fail(`byte 0x${b.toString(16).padStart(2, '0')} in the header`);
      }
    }
    if (!this.afterCR) this.line += chunk.toString('latin1', lineStart, chunk.length);
    return chunk.length;
  }

  /**
   * Where the body starts if `chunk` holds, from `pos`, the whole of the usual header block
   * (exactly `Content-Length: <1 to 15 digits>\r\n\r\n`, within maxHeaderBytes), its length
   * then in `contentLength`; else 0, nothing changed, and the byte-by-byte reading decides.
   * Those bytes read that way give the same length: this only skips its per-byte work.
   */
  private plainHeader(chunk: Buffer, pos: number): number {
    // Read from the bytes as /^Content-Length: ([0-9]{1,15})\r\n\r\n/ would read their latin1
    // text: making that text and running the regular expression cost ~2,500 instructions a frame.
    const start = pos + HEADER_START.length;
    if (chunk.length < start + 5) return 0;
    for (let i = 0; i < HEADER_START.length; i++) if (chunk[pos + i] !== HEADER_START[i]) return 0;
    let at = start;
    let length = 0;
    const digitsEnd = Math.min(chunk.length, start + 15);
    for (; at < digitsEnd; at++) {
      const d = chunk[at]! - 0x30;
      if (d < 0 || d > 9) break;
      length = length * 10 + d; // 15 digits at most: exact
    }
    if (at === start || at + 4 > chunk.length || chunk[at] !== 13 || chunk[at + 1] !== 10 || chunk[at + 2] !== 13 || chunk[at + 3] !== 10) return 0;
    const end = at + 4;
    if (end - pos > this.maxHeaderBytes) return 0;
    this.rawJson = false;
    this.contentLength = length;
    return end;
  }

  /** The header block is complete (its Content-Length read): expect the body. */
  private endHeader(): void {
    const length = this.contentLength;
    this.contentLength = -1;
    this.headerBytes = 0;
    if (length > this.maxBodyBytes) {
      const prefix = Buffer.allocUnsafe(Math.min(length, this.prefixBytes));
      this.state = { kind: 'skip', length, prefix, kept: 0, remaining: length, reported: false };
    } else {
      this.state = { kind: 'body', into: null, length, filled: 0 };
    }
    if (length === 0) {
      this.state = { kind: 'header' };
      this.onFrame(Buffer.alloc(0));
    }
  }

  private headerLine(line: string): void {
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon);
    if (!TOKEN.test(name)) this.fail(`a header line that is not "Name: value": ${JSON.stringify(line)}`);
    if (name.toLowerCase() !== 'content-length') return;
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (this.contentLength >= 0) this.fail('Content-Length given twice');
    if (!CONTENT_LENGTH.test(value)) this.fail(`a Content-Length that is not a decimal byte count: ${JSON.stringify(value)}`);
    this.contentLength = Number(value);
  }

  private fail(why: string): never {
    this.broken = new FramingError(`Framing error: ${why}.${this.rawJson ? ` ${RAW_JSON_HINT}` : ''}`);
    this.state = { kind: 'header' };
    this.line = '';
    throw this.broken;
  }
}

const HEADER_START = Buffer.from('Content-Length: ', 'latin1');
/** `Content-Length: ` and `\r\n\r\n` around the digits. */
const HEADER_FIXED_BYTES = HEADER_START.length + 4;

/** The length in bytes of the header `Content-Length: <length>\r\n\r\n`, for a length below 2^53. */
export function frameHeaderBytes(length: number): number {
  let digits = 1;
  for (let n = length; n >= 10; n = Math.floor(n / 10)) digits++;
  return HEADER_FIXED_BYTES + digits;
}

/**
 * The header `Content-Length: <length>\r\n\r\n` written into `out` from `at` (room for frameHeaderBytes(length) bytes);
 * returns where it ends. Byte by byte: writing the header into the buffer as a string of its own
 * cost a call into the runtime, which first made the concatenated string flat (~400
 * instructions a frame). An ASCII text's frame is cheaper still made as one string with its
 * header (asciiFrameText) and written by one Buffer.from.
 */
export function writeFrameHeader(out: Buffer, at: number, length: number): number {
  for (let i = 0; i < HEADER_START.length; i++) out[at + i] = HEADER_START[i]!;
  const end = at + frameHeaderBytes(length);
  let i = end - 4;
  let n = length;
  do {
    const next = Math.floor(n / 10);
    out[--i] = 0x30 + (n - next * 10);
    n = next;
  } while (n > 0);
  out[end - 4] = 0x0d;
  out[end - 3] = 0x0a;
  out[end - 2] = 0x0d;
  out[end - 1] = 0x0a;
  return end;
}

/**
 * The frame of an ASCII text (its length in characters is its length in bytes), as text: to be
 * joined with others and written into a buffer by one latin1 Buffer.from, which makes the joined
 * text flat once (src/server/protocol-writer.ts).
 */
export function asciiFrameText(text: string): string {
  return `Content-Length: ${text.length}\r\n\r\n${text}`;
}

/** One frame (header and body) as a single buffer. */
export function encodeFrame(body: string | Buffer): Buffer {
  const length = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  const out = Buffer.allocUnsafe(frameHeaderBytes(length) + length);
  const at = writeFrameHeader(out, 0, length);
  if (typeof body === 'string') out.write(body, at, 'utf8');
  else body.copy(out, at);
  return out;
}

/**
 * A decoder for the sidecar's own output (trusted, no size limit) that parses each body as
 * JSON: what a hand-written client needs. A body that is not JSON throws from `push`.
 */
export function jsonMessageDecoder<M = unknown>(onMessage: (message: M) => void): FrameDecoder {
  return new FrameDecoder((body) => onMessage(JSON.parse(body.toString('utf8')) as M));
}
