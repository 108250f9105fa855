/**
 * JSON text that a message carries as it is: spliced into the outgoing frame by the writer,
 * never parsed or re-serialised. Three kinds:
 *
 * - `RawId`: a request id echoed exactly as sent, where a JavaScript number cannot hold it
 *   (`1e400`, `9007199254740993`, `-0`, `1.50`).
 * - `RawJson`: stored JSON bytes returned as a value: one copy into the frame instead of a
 *   parse, a re-serialisation and a copy (checked to be one JSON value in UTF-8 first).
 * - `Base64Json`: bytes returned as a base64 string, encoded piecewise straight into the
 *   frame, so that the base64 text never exists as one JavaScript string beside the frame.
 * - `JsonText`: a value assembled by hand from JSON texts and spliced values (a small call's
 *   answer, its constant parts and cached ref written as they are instead of serialised
 *   again per call); `frameResult` frames an answer whose result is one without JSON.stringify.
 *
 * `frameMessage` serialises a message with JSON.stringify, during which each spliced value's
 * toJSON leaves a marker that no other string can produce (it holds a per-process random
 * nonce); the frame is then assembled from the text between markers and the spliced bytes.
 * Outside `frameMessage` (logs, tests) toJSON gives the equivalent plain value.
 */
import { randomBytes } from 'node:crypto';
import { encodeFrame, frameHeaderBytes, writeFrameHeader } from '../util/framing.js';
import { isJsonText } from '../util/json-scanner.js';
import { asciiQuoted, jsonString } from '../model/json-value.js';

const MARK = `\u0000qb-splice-${randomBytes(12).toString('hex')}-`;
let collecting: SplicedJson[] | null = null;

export abstract class SplicedJson {
  /** Bytes written into the frame. */
  abstract readonly byteLength: number;
  abstract writeInto(out: Buffer, offset: number): void;
  /** The value JSON.stringify gives outside a frame. */
  protected abstract plain(): unknown;

  toJSON(): unknown {
    if (collecting === null) return this.plain();
    collecting.push(this);
    return MARK + (collecting.length - 1);
  }
}

export class RawId extends SplicedJson {
  private readonly bytes: Buffer;

  /** `text` is the id's JSON number text as the client sent it (ASCII by the JSON grammar). */
  constructor(readonly text: string) {
    super();
    this.bytes = Buffer.from(text, 'latin1');
  }

  get byteLength(): number {
    return this.bytes.length;
  }

  writeInto(out: Buffer, offset: number): void {
    this.bytes.copy(out, offset);
  }

  protected plain(): unknown {
    return Number(this.text);
  }

  override toString(): string {
    return this.text;
  }
}

export class RawJson extends SplicedJson {
  private constructor(private readonly bytes: Buffer) {
    super();
  }

  /** The bytes as a spliced value, or undefined if they are not exactly one JSON value in UTF-8. */
  static of(bytes: Buffer): RawJson | undefined {
    if (checkedJson.has(bytes)) return new RawJson(bytes);
    if (!isJsonText(bytes)) return undefined;
    checkedJson.add(bytes);
    return new RawJson(bytes);
  }

  get byteLength(): number {
    return this.bytes.length;
  }

  writeInto(out: Buffer, offset: number): void {
    this.bytes.copy(out, offset);
  }

  protected plain(): unknown {
    return JSON.parse(this.bytes.toString('utf8'));
  }
}

/**
 * Encoded this many bytes at a time (a multiple of 3, so the pieces join without padding): 96 KiB
 * of text a piece, under V8's 128 KiB limit for ordinary heap objects. A larger piece is a string
 * in the large-object space, mapped on its own and unmapped on the collector's schedule, which a
 * loaded machine puts off: with 256 KiB pieces a 32 MiB get peaked 47-50 MiB above the value on
 * a quiet machine, up to 63 with the collector's threads starved and 67.6 in a loaded suite; with
 * these the young generation's pages are reused (48-53 either way), and encoding takes 12 ms of
 * CPU instead of 30.
 */
const BASE64_STEP = 3 * 24 * 1024;

/** `bytes` as base64 text written at `offset`, piecewise (never one string of it all); returns where it ends. */
export function writeBase64Into(bytes: Buffer, out: Buffer, offset: number): number {
  for (let i = 0; i < bytes.length; i += BASE64_STEP) {
    offset += out.write(bytes.subarray(i, i + BASE64_STEP).toString('base64'), offset, 'latin1');
  }
  return offset;
}

export class Base64Json extends SplicedJson {
  constructor(private readonly bytes: Buffer) {
    super();
  }

  get byteLength(): number {
    return 2 + 4 * Math.ceil(this.bytes.length / 3);
  }

  writeInto(out: Buffer, offset: number): void {
    out[offset] = 0x22;
    out[writeBase64Into(this.bytes, out, offset + 1)] = 0x22;
  }

  protected plain(): unknown {
    return this.bytes.toString('base64');
  }
}

/** Stored bytes already checked to be JSON text (read-only by the datastore contract): not scanned again per read. */
const checkedJson = new WeakSet<Buffer>();

/**
 * A value assembled from pieces: JSON texts (strings, written as UTF-8; or their UTF-8 bytes,
 * copied as they are) and spliced values, which together are exactly the JSON text of the value
 * it stands for (what JSON.stringify would write for it: the caller keeps the member order and forms).
 */
export class JsonText extends SplicedJson {
  readonly byteLength: number;
  /** Every string piece is ASCII (as many UTF-8 bytes as characters): written as latin1, a copy rather than an encoding. */
  private readonly ascii: boolean;
  /** The whole text, when it is one string known (JsonText.ascii) or measured to be ASCII: the writer may join it to other text unframed. */
  readonly asciiText: string | undefined;

  constructor(private readonly pieces: readonly (string | Uint8Array | SplicedJson)[], asciiText?: string) {
    super();
    if (asciiText !== undefined) {
      this.asciiText = asciiText;
      this.byteLength = asciiText.length;
      this.ascii = true;
      return;
    }
    let n = 0;
    let ascii = true;
    for (const p of pieces) {
      if (typeof p !== 'string') n += p.byteLength;
      else {
        const bytes = Buffer.byteLength(p, 'utf8');
        if (bytes !== p.length) ascii = false;
        n += bytes;
      }
    }
    this.byteLength = n;
    this.ascii = ascii;
    // One ASCII string (a constant answer such as butler/stored's) is text the writer may frame
    // as text, as JsonText.ascii's: measured here once, it need not be made with that.
    const only = pieces.length === 1 ? pieces[0] : undefined;
    this.asciiText = ascii && typeof only === 'string' ? only : undefined;
  }

  /**
   * JSON text its maker knows to be all ASCII (built from pieces each checked to be): not
   * measured here (Buffer.byteLength first made a concatenated answer flat, then counted its
   * UTF-8 bytes, ~1,100 instructions a put's answer, callgrind).
   */
  static ascii(text: string): JsonText {
    return new JsonText([text], text);
  }

  writeInto(out: Buffer, offset: number): void {
    const encoding = this.ascii ? 'latin1' : 'utf8';
    for (const p of this.pieces) {
      if (typeof p === 'string') offset += out.write(p, offset, encoding);
      else if (p instanceof Uint8Array) {
        out.set(p, offset);
        offset += p.byteLength;
      } else {
        p.writeInto(out, offset);
        offset += p.byteLength;
      }
    }
  }

  protected plain(): unknown {
    const text = (p: string | Uint8Array | SplicedJson) =>
      typeof p === 'string' ? p : p instanceof Uint8Array ? Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8') : JSON.stringify(p);
    return JSON.parse(this.pieces.map(text).join(''));
  }
}

/**
 * A spliced value where a result's type names the JSON value it stands for (a base64
 * string, a JSON value): what it writes is exactly that value's JSON text.
 */
export function spliced<T>(value: SplicedJson): T {
  return value as unknown as T;
}

/**
 * The text of the answer `{"jsonrpc":"2.0","id":id,"result":result}` when it is all ASCII and
 * known to be without reading it (a JsonText.ascii result, an integer id or a string id of
 * printable ASCII), else undefined (frameResult frames it).
 */
export function asciiAnswerText(id: number | string, result: SplicedJson): string | undefined {
  const text = result instanceof JsonText ? result.asciiText : undefined;
  if (text === undefined) return undefined;
  if (typeof id === 'number') return Number.isFinite(id) ? `{"jsonrpc":"2.0","id":${id},"result":${text}}` : undefined;
  const quoted = asciiQuoted(id);
  return quoted === undefined ? undefined : `{"jsonrpc":"2.0","id":${quoted},"result":${text}}`;
}

/**
 * The answer `{"jsonrpc":"2.0","id":id,"result":result}` as one frame, the bytes frameMessage
 * gives for it, without serialising anything but the id.
 */
export function frameResult(id: number | string, result: SplicedJson): Buffer {
  const head = `{"jsonrpc":"2.0","id":${typeof id === 'string' ? jsonString(id) : Number.isFinite(id) ? String(id) : 'null'},"result":`;
  const headBytes = Buffer.byteLength(head, 'utf8');
  const length = headBytes + result.byteLength + 1;
  const out = Buffer.allocUnsafe(frameHeaderBytes(length) + length);
  let at = writeFrameHeader(out, 0, length);
  at += out.write(head, at, 'utf8');
  result.writeInto(out, at);
  out[at + result.byteLength] = 0x7d; // }
  return out;
}

/** A message as one frame (header and body), with spliced values written in place. */
export function frameMessage(message: unknown): Buffer {
  const pieces: SplicedJson[] = [];
  collecting = pieces;
  let text: string;
  try {
    text = JSON.stringify(message);
  } finally {
    collecting = null;
  }
  if (pieces.length === 0) return encodeFrame(text);
  const parts: string[] = [];
  let from = 0;
  for (let k = 0; k < pieces.length; k++) {
    const marker = JSON.stringify(MARK + k);
    const at = text.indexOf(marker, from);
    parts.push(text.slice(from, at));
    from = at + marker.length;
  }
  parts.push(text.slice(from));
  let length = 0;
  for (const p of parts) length += Buffer.byteLength(p, 'utf8');
  for (const p of pieces) length += p.byteLength;
  const out = Buffer.allocUnsafe(frameHeaderBytes(length) + length);
  let at = writeFrameHeader(out, 0, length);
  for (let k = 0; k < pieces.length; k++) {
    at += out.write(parts[k]!, at, 'utf8');
    pieces[k]!.writeInto(out, at);
    at += pieces[k]!.byteLength;
  }
  out.write(parts[pieces.length]!, at, 'utf8');
  return out;
}
