/**
 * The server's message reader: frames decoded by the framing codec as bytes arrive, each
 * body parsed at once and handed on in order, with flow control (pause/resume) and the
 * limits of the transport:
 *
 * - a large body with a base64 payload is read as it arrives, the payload decoded on the way
 *   (streamed-base64.ts), so that it is never held beside its decoded bytes;
 * - a body over `maxMessageBytes` is never buffered: it is skipped as it arrives and
 *   reported with the request's id and method when they can be read from its first bytes
 *   (the stream stays in step);
 * - a body that is not JSON is reported with its id when one can be read before the break;
 * - a numeric id that a JavaScript number does not hold exactly (anything but a safe
 *   integer, and -0) is replaced by a RawId carrying the text as sent, so the answer echoes
 *   it; so is the `id` of a `$/cancelRequest`, so that it finds its request;
 * - a framing error (see util/framing.ts), or a frame that stalls half-sent for
 *   `messageTimeoutMs` while being read, is fatal: where the next message starts is lost.
 */
import type { Readable } from 'node:stream';
import { FrameDecoder, FramingError, RAW_JSON_HINT } from '../util/framing.js';
import { findMember } from '../util/json-scanner.js';
import { LARGE_BODY, parseJsonBytes } from '../util/parse-json-bytes.js';
import { RawId } from './spliced-json.js';
import { collectGarbageFor } from '../util/collect-garbage.js';
import { decodeBase64Payload } from './inline-base64.js';
import { monotonicMs } from '../util/time.js';
import { assembleBase64Body } from './streamed-base64.js';

/** After a body this large, its buffer is freed at once (see collect-garbage.ts). */
const COLLECT_AFTER_BYTES = 16 * 1024 * 1024;

export type Id = number | string | RawId;

/** A parsed body: any JSON (the connection checks that it is a JSON-RPC message). */
export type Incoming =
  /**
   * `escapeFree`: the body was small and held no backslash, so no string in it (member names
   * too) has an escape: the handler may mark what it keeps of it (markEscapeFree). Told beside
   * the message rather than marked on it: a mark is an Object.defineProperty (~2,000
   * instructions), which every small request paid and only a put's value uses.
   */
  | { kind: 'message'; message: unknown; escapeFree: boolean }
  /** A body that is not JSON (or not UTF-8 text that fits in a string). */
  | { kind: 'unparsable'; id: Id | null; reason: string }
  /** A body over the size limit, skipped. */
  | { kind: 'tooLarge'; id: Id | null; method: string | undefined; bytes: number }
  /** The byte stream cannot be read on; nothing more will be read. */
  | { kind: 'broken'; error: FramingError };

export interface ReaderLimits {
  maxMessageBytes: number;
  /** A frame begun and not continued for this long while being read is a framing error; 0: never. */
  messageTimeoutMs: number;
}

/** A number id that JSON.stringify would not write back as sent (or not at all). */
function inexact(id: unknown): id is number {
  return typeof id === 'number' && (!Number.isSafeInteger(id) || Object.is(id, -0));
}

/** The id at `path` in a body or a prefix of one, if it is there, complete, and a number or string. */
export function readId(body: Uint8Array, path: readonly string[]): Id | null {
  const span = findMember(body, path);
  if (!span) return null;
  const text = Buffer.from(body.buffer, body.byteOffset + span.start, span.end - span.start).toString('utf8');
  const c = text.charCodeAt(0);
  if (c === 0x22) return JSON.parse(text) as string;
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    const n = JSON.parse(text) as number;
    return inexact(n) ? new RawId(text) : n;
  }
  return null;
}

const BACKSLASH = 0x5c;

export class ProtocolReader {
  private readonly decoder: FrameDecoder;
  private sink: ((incoming: Incoming) => void) | null = null;
  private paused = false;
  private lastData = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The size of a body over COLLECT_AFTER_BYTES parsed in the chunk being decoded, else 0. */
  private largeBodyDone = 0;
  /** After a framing error: nothing more is read. */
  private stopped = false;

  constructor(
    private readonly input: Readable,
    private readonly limits: ReaderLimits,
  ) {
    this.decoder = new FrameDecoder((body) => this.body(body), {
      maxBodyBytes: limits.maxMessageBytes,
      onOversize: (bytes, prefix) => {
        const span = findMember(prefix, ['method']);
        let method: string | undefined;
        if (span && prefix[span.start] === 0x22) method = JSON.parse(Buffer.from(prefix.subarray(span.start, span.end)).toString('utf8')) as string;
        this.emit({ kind: 'tooLarge', id: readId(prefix, ['id']), method, bytes });
      },
      assembleBody: (length) =>
        assembleBase64Body(length, (read) => {
          if (read.kind === 'body') return this.body(read.body);
          // The input chunks it came in, as large as it, are garbage now.
          if (length >= COLLECT_AFTER_BYTES) this.largeBodyDone = length;
          this.message(read.message, read.envelope, false);
        }),
    });
  }

  /** Start reading: every body, in order, goes to `sink`; `onError` gets stream errors, `onClose` the end. */
  listen(sink: (incoming: Incoming) => void, onError: (err: Error) => void, onClose: () => void): void {
    this.sink = sink;
    this.input.on('data', (chunk: Buffer) => this.data(chunk));
    this.input.on('error', onError);
    this.input.on('close', () => {
      this.clearTimer();
      // A bare JSON message ends the input mid-"header": say what is wrong before the end.
      if (!this.stopped && this.decoder.looksLikeRawJson) this.stop(new FramingError(`Framing error: the input ended inside a header. ${RAW_JSON_HINT}`));
      onClose();
    });
  }

  /** Stop reading input (the OS pipe fills and the host's writes block) until resume(). */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.clearTimer();
    this.input.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.lastData = monotonicMs();
    if (!this.stopped) this.input.resume();
    this.armTimer();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  private emit(incoming: Incoming): void {
    this.sink?.(incoming);
  }

  private data(chunk: Buffer): void {
    if (this.stopped) return;
    try {
      this.decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      this.stop(err);
      return;
    } finally {
      // Here no local of the decoder still holds the body; the handler has not run yet.
      if (this.largeBodyDone > 0) {
        // Strings cut from the body (as long as it, at most) cost a collection nothing to mark.
        collectGarbageFor(this.largeBodyDone, this.largeBodyDone);
        this.largeBodyDone = 0;
      }
    }
    if (this.limits.messageTimeoutMs > 0 && this.decoder.midFrame) {
      this.lastData = monotonicMs();
      this.armTimer();
    }
  }

  private body(body: Buffer): void {
    if (body.length >= COLLECT_AFTER_BYTES) this.largeBodyDone = body.length;
    let message: unknown;
    try {
      message = parseJsonBytes(body, decodeBase64Payload);
    } catch (err) {
      this.emit({ kind: 'unparsable', id: readId(body, ['id']), reason: (err as Error).message });
      return;
    }
    // A body without a backslash (one memchr) has no escape in any string: its params' strings
    // can be written back as they are (canonicalJson of a put's value). Small bodies only: a
    // large one's long strings are not JSON.parse's.
    this.message(message, body, body.length < LARGE_BODY && body.indexOf(BACKSLASH) < 0);
  }

  /** A parsed message, with its ids read again from `text` (its body, or one that differs from it only inside a string) where a number cannot hold them. */
  private message(message: unknown, text: Buffer, escapeFree: boolean): void {
    if (typeof message === 'object' && message !== null) {
      const m = message as { id?: unknown; method?: unknown; params?: { id?: unknown } };
      if (inexact(m.id)) m.id = readId(text, ['id']) ?? m.id;
      if (m.method === '$/cancelRequest' && typeof m.params === 'object' && m.params !== null && inexact(m.params.id)) {
        m.params.id = readId(text, ['params', 'id']) ?? m.params.id;
      }
    }
    this.emit({ kind: 'message', message, escapeFree });
  }

  private armTimer(): void {
    if (this.timer !== null || this.paused || this.limits.messageTimeoutMs <= 0 || !this.decoder.midFrame) return;
    this.timer = setTimeout(this.check, this.limits.messageTimeoutMs);
    this.timer.unref();
  }

  private readonly check = (): void => {
    this.timer = null;
    if (this.paused || this.stopped || !this.decoder.midFrame) return;
    const idle = monotonicMs() - this.lastData;
    if (idle < this.limits.messageTimeoutMs) {
      this.timer = setTimeout(this.check, this.limits.messageTimeoutMs - idle);
      this.timer.unref();
      return;
    }
    this.stop(new FramingError(`Framing error: a message stalled half-sent (no byte for ${this.limits.messageTimeoutMs} ms).`));
  };

  private stop(error: FramingError): void {
    this.stopped = true;
    this.clearTimer();
    this.input.pause();
    this.emit({ kind: 'broken', error });
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
