/**
 * The client's message reader: slices `Content-Length` frames out of the sidecar's stdout,
 * one JSON.parse per body, and hands `butler/provenance` events (and each event of a
 * `butler/provenanceBatch` or `butler/provenanceRuns`, the latter rebuilt as the events it
 * stands for, read from their text without JSON.parse when laid out as the sidecar writes them:
 * runs-text.ts) straight to the tap, synchronously in the order read; other
 * messages go to the connection in order. (vscode-jsonrpc's reader costs a header Map and
 * a promise chain per message.) The sidecar writes a call's events before its response, so
 * they have reached their listeners before its promise settles. A header without a valid
 * Content-Length, a body that is not JSON and a throwing tap are reported through onError, and
 * so are lines something else wrote on the sidecar's stdout between two messages, then skipped.
 */
import type { Readable } from 'node:stream';
import { AbstractMessageReader, Disposable, type DataCallback, type Message } from 'vscode-jsonrpc/node';
import { forEachRunEvent } from './provenance-runs.js';
import { runEventsOfText } from './runs-text.js';

/** The methods whose events go to the tap: one event, a batch of them, runs of them. */
export interface TapMethods {
  event: string;
  batch: string;
  runs: string;
}

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
/** A fresh chunk up to this long is decoded whole (#textFrames); a longer one holds a large body, read from the bytes. */
const TEXT_CHUNK_MAX = 16 * 1024;
const EMPTY = Buffer.alloc(0);
const PLAIN = Buffer.from('Content-Length: ', 'latin1');
const PLAIN_TEXT = PLAIN.toString('latin1');
/** The digits a plain header's length may have: at most 15, exact as a double. */
const MAX_DIGITS = 15;
/** The longest plain header: a chunk's text longer than a message and this holds other messages (#deliverText). */
const HEADER_MAX = PLAIN.length + MAX_DIGITS + HEADER_END.length;

export class EventTapReader extends AbstractMessageReader {
  /** Bytes read and not yet consumed: `buf` from `pos` (a header, or a whole frame's start). */
  #buf: Buffer = EMPTY;
  #pos = 0;
  /** A body longer than what has arrived: its length, and the chunks gathered so far. */
  #bodyLength = -1;
  #parts: Buffer[] = [];
  #partsLength = 0;
  #callback: DataCallback | null = null;

  readonly #readable: Readable;
  readonly #methods: TapMethods;
  /** The text the sidecar writes before a batch's items: `{"jsonrpc":"2.0","method":…,"params":{"events":` (or `{"runs":`). */
  readonly #batchHead: string;
  readonly #runsHead: string;
  readonly #tap: (params: unknown) => void;
  readonly #tapRun = (event: unknown): void => this.#tapSafely(event);

  constructor(readable: Readable, methods: TapMethods, tap: (params: unknown) => void) {
    super();
    this.#readable = readable;
    this.#methods = methods;
    this.#batchHead = `{"jsonrpc":"2.0","method":${JSON.stringify(methods.batch)},"params":{"events":`;
    this.#runsHead = `{"jsonrpc":"2.0","method":${JSON.stringify(methods.runs)},"params":{"runs":`;
    this.#tap = tap;
  }

  listen(callback: DataCallback): Disposable {
    this.#callback = callback;
    const onData = (chunk: Buffer): void => this.#onData(chunk);
    const onError = (err: Error): void => this.fireError(err);
    const onClose = (): void => this.fireClose();
    this.#readable.on('data', onData);
    this.#readable.on('error', onError);
    this.#readable.on('close', onClose);
    return Disposable.create(() => {
      this.#readable.off('data', onData);
      this.#readable.off('error', onError);
      this.#readable.off('close', onClose);
      this.#callback = null;
    });
  }

  #onData(chunk: Buffer): void {
    if (this.#bodyLength >= 0) {
      // Gathering a long body: join the chunks once, when it is whole.
      this.#parts.push(chunk);
      this.#partsLength += chunk.length;
      if (this.#partsLength < this.#bodyLength) return;
      const all = Buffer.concat(this.#parts, this.#partsLength);
      const length = this.#bodyLength;
      this.#parts = [];
      this.#partsLength = 0;
      this.#bodyLength = -1;
      this.#buf = all;
      this.#pos = length;
      this.#deliver(all, 0, length);
    } else if (this.#pos < this.#buf.length) {
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), chunk]);
      this.#pos = 0;
    } else {
      this.#buf = chunk;
      this.#pos = 0;
      if (chunk.length <= TEXT_CHUNK_MAX) this.#textFrames();
    }
    this.#frames();
  }

  /**
   * The whole frames at the start of a fresh chunk, read from the chunk decoded once: a call's
   * events and its answer arrive in one chunk, and each frame's own search for its header's end
   * in the bytes and decoding of its body cost a call with an event 1,500-2,400 instructions more
   * (client-callgrind, paired rounds). Only when the text has one character a byte
   * (ASCII, or bytes no character starts with, each one U+FFFD), so that the text's offsets are
   * the bytes' and each body's text is what decoding its bytes gives. Stops at the first frame
   * it does not read (another header, one not all here), which #frames then reads from the bytes.
   */
  #textFrames(): void {
    const buf = this.#buf;
    const text = buf.toString('utf8');
    if (text.length !== buf.length) return;
    while (this.#pos < text.length) {
      const start = this.#pos;
      const end = text.indexOf('\r\n\r\n', start);
      if (end < 0) return;
      const length = plainContentLengthOfText(text, start, end);
      const bodyEnd = end + HEADER_END.length + length;
      if (length < 0 || bodyEnd > text.length) return;
      this.#pos = bodyEnd;
      this.#deliverText(text, end + HEADER_END.length, bodyEnd, buf);
    }
  }

  /** Deliver every whole frame in `buf`; keep a partial header, or start gathering a long body. */
  #frames(): void {
    const buf = this.#buf;
    while (this.#pos < buf.length) {
      const start = this.#pos;
      const end = buf.indexOf(HEADER_END, start);
      if (end < 0) return; // the header is not all here yet
      const length = plainContentLength(buf, start, end) ?? this.#headerLength(buf.toString('latin1', start, end));
      if (length < 0) {
        this.fireError(new Error(`Header must provide a valid Content-Length property: ${JSON.stringify(buf.toString('latin1', start, Math.min(end, start + 200)))}`));
        this.#buf = EMPTY;
        this.#pos = 0;
        return;
      }
      const bodyStart = end + HEADER_END.length;
      const bodyEnd = bodyStart + length;
      if (bodyEnd > buf.length) {
        this.#bodyLength = length;
        this.#parts = [buf.subarray(bodyStart)];
        this.#partsLength = buf.length - bodyStart;
        this.#buf = EMPTY;
        this.#pos = 0;
        return;
      }
      this.#pos = bodyEnd;
      this.#deliver(buf, bodyStart, bodyEnd);
    }
  }

  /**
   * The Content-Length of a header block that is not `Content-Length: N` alone. Lines before it
   * ended by a bare `\n` are not header lines (those end with `\r\n`) but output something else
   * wrote on the sidecar's stdout, between two messages: V8 prints there when given flags such as
   * --trace-deopt or --log-deopt, and so would a native module. They are reported through onError
   * and skipped, as the Python client skips them; before, the block was refused whole and the
   * message after them lost, and a spawn waiting for its `initialize` answer waited forever.
   */
  #headerLength(header: string): number {
    // The last bare \n: the last \n, passing over those of a \r\n.
    let junkEnd = header.lastIndexOf('\n');
    while (junkEnd > 0 && header.charCodeAt(junkEnd - 1) === 0x0d) junkEnd = header.lastIndexOf('\n', junkEnd - 2);
    if (junkEnd < 0) return contentLength(header);
    this.fireError(new Error(`Unexpected output on the sidecar's stdout, skipped: ${JSON.stringify(header.slice(0, Math.min(junkEnd + 1, 200)))}`));
    return contentLength(header.slice(junkEnd + 1));
  }

  #deliver(buf: Buffer, start: number, end: number): void {
    const body = buf.toString('utf8', start, end);
    this.#deliverText(body, 0, body.length);
  }

  /**
   * The message whose body is `text` from `start` to `end`; `chunk`: the bytes `text` decodes,
   * one a character, when it holds more than this message (#textFrames).
   */
  #deliverText(text: string, start: number, end: number, chunk?: Buffer): void {
    // One decoding of the body serves every path: the runs and the batch are told by their
    // envelope's text (a string comparison, where Buffer.compare was a call into the runtime
    // with its arguments checked), read in place, and anything else is JSON.parse'd.
    const runsAt = itemsAt(this.#runsHead, text, start, end);
    if (runsAt > 0) {
      // The runs as the sidecar lays them out are read without JSON.parse (runs-text.ts). Their
      // strings are slices of the text they are read from, which each one a host keeps (an id as
      // a map's key, the event) keeps whole (JSON.parse copies its strings): from a chunk's text,
      // an event kept the answer read with it, 14.8 KB an event beside a 14 KB one. So when the
      // chunk holds other messages, the runs are decoded again on their own (~0.25 µs, 2 GHz),
      // and what a kept string holds is its notification's text at most.
      const events = chunk !== undefined && text.length - (end - start) > HEADER_MAX ? runsOfBytes(chunk, runsAt, end - 2) : runEventsOfText(text, runsAt, end - 2);
      if (events !== undefined) {
        for (const e of events) this.#tapSafely(e);
        return;
      }
      const runs = parsedArray(text.slice(runsAt, end - 2));
      if (runs !== undefined) return this.#tapRuns(runs);
    }
    const batchAt = itemsAt(this.#batchHead, text, start, end);
    const events = batchAt > 0 ? parsedArray(text.slice(batchAt, end - 2)) : undefined;
    if (events !== undefined) {
      for (const e of events) this.#tapSafely(e);
      return;
    }
    let message: Message;
    try {
      // A slice of the chunk's text is a view of it, not a copy (the whole text is itself).
      message = JSON.parse(text.slice(start, end)) as Message;
    } catch (err) {
      this.fireError(new Error(`A message from the sidecar is not JSON (${(err as Error).message})`));
      return;
    }
    const m = message as { method?: unknown; id?: unknown; params?: unknown };
    if (m.id !== undefined || typeof m.method !== 'string') this.#callback?.(message);
    else if (m.method === this.#methods.event) this.#tapSafely(m.params);
    else if (m.method === this.#methods.batch) for (const e of (m.params as { events: unknown[] }).events) this.#tapSafely(e);
    else if (m.method === this.#methods.runs) this.#tapRuns((m.params as { runs: unknown }).runs);
    else this.#callback?.(message);
  }

  #tapRuns(runs: unknown): void {
    try {
      forEachRunEvent(runs, this.#tapRun);
    } catch (err) {
      this.fireError(err as Error); // params that are not runs (a throwing tap is reported by #tapSafely)
    }
  }

  /** A listener that throws is reported through onError; the messages after it are still read. */
  #tapSafely(event: unknown): void {
    try {
      this.#tap(event);
    } catch (err) {
      this.fireError(err);
    }
  }
}

/**
 * Where the items of a batch written as the sidecar writes it begin in the body that is `text`
 * from `start` to `end` (its envelope's
 * exact text, `head`, then an array and `}}`): the array's `[`; -1 for any other body. Sound: a
 * body that is that envelope's start, a JSON array, then `}}` is exactly the batch notification
 * of those items. (The envelope's members cost about a fifth of a one-event batch's JSON.parse.)
 * Whether the text between is a JSON array is the caller's to find out.
 */
function itemsAt(head: string, text: string, start: number, end: number): number {
  const at = start + head.length;
  if (end - at < 4 || text.charCodeAt(at) !== 0x5b || text.charCodeAt(end - 1) !== 0x7d || text.charCodeAt(end - 2) !== 0x7d || text.charCodeAt(end - 3) !== 0x5d) return -1;
  // Not startsWith: V8 compares its characters one by one (~500 ns for this head, 2 GHz); the
  // slice (a view, not a copy) and === compare them in one go (~110 ns), Buffer.compare ~250.
  return text.slice(start, at) === head ? at : -1;
}

/** The events of the runs array that `chunk` holds from `from` to `to`, read from a text of their own (runEventsOfText). */
function runsOfBytes(chunk: Buffer, from: number, to: number): ReturnType<typeof runEventsOfText> {
  const text = chunk.toString('utf8', from, to);
  return runEventsOfText(text, 0, text.length);
}

/** The array `text` holds, or undefined if it is not JSON of an array (another body: parsed whole). */
function parsedArray(text: string): unknown[] | undefined {
  try {
    const items: unknown = JSON.parse(text);
    return Array.isArray(items) ? items : undefined;
  } catch {
    return undefined;
  }
}

/** The length in a header that is `Content-Length: <digits>` alone (what the sidecar writes), read from the bytes; else undefined. */
function plainContentLength(buf: Buffer, start: number, end: number): number | undefined {
  const digitsAt = start + PLAIN.length;
  if (end - digitsAt < 1 || end - digitsAt > MAX_DIGITS) return undefined;
  // Byte by byte: Buffer.compare is a call into the runtime with its arguments checked (~800 instructions a frame).
  for (let i = 0; i < PLAIN.length; i++) if (buf[start + i] !== PLAIN[i]) return undefined;
  let n = 0;
  for (let i = digitsAt; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n;
}

/** plainContentLength for a header that is `text` from `start` to `end`; -1 for any other header. */
function plainContentLengthOfText(text: string, start: number, end: number): number {
  const digitsAt = start + PLAIN_TEXT.length;
  if (end - digitsAt < 1 || end - digitsAt > MAX_DIGITS || text.slice(start, digitsAt) !== PLAIN_TEXT) return -1;
  let n = 0;
  for (let i = digitsAt; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** The Content-Length of a header block (lines `Name: value`, names in any case); -1 if none is valid. */
function contentLength(header: string): number {
  if (header.startsWith('Content-Length: ') && header.indexOf('\r\n') < 0) return digits(header.slice(16));
  for (const line of header.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'content-length') return digits(line.slice(colon + 1).trim());
  }
  return -1;
}

function digits(text: string): number {
  return /^\d{1,15}$/.test(text) ? Number(text) : -1;
}
