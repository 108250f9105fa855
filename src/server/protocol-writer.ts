/**
 * The server's message writer: each message leaves as one frame (header and body in one
 * buffer, spliced values written in place: see spliced-json.ts), handed to the output in
 * call order without waiting, and with backpressure: once the output holds more than its
 * high-water mark (it returned false), the writer is `congested` until the output drains,
 * and the connection starts no new request and reads no input meanwhile. Messages written
 * while congested are still accepted (a request already running must be answered); what
 * bounds them is that no new request starts.
 *
 * Batched notifications (`writeBatched`): items of a batch method queued in one turn leave
 * as one notification `{method, params: {events: [...]}}`, ahead of every message written
 * after the first of them, which wait behind the batch until it is written (at the end of
 * the turn, when the connection falls idle, or once the batch is large; the end of the turn is
 * queued in the tick after the batch opens, or after the promise steps then queued, so that a
 * batch the connection released meanwhile, with its one answer, costs no immediate: see
 * afterTick). A turn that adds to
 * the batch, or behind it, puts its end off by a turn (MAX_DEFERS, MAX_HOLD_MS), as the stdout
 * guard puts off a flush (src/stdout-guard.ts): under a pipelined load the connection works
 * through its queue 16 requests a turn, and a batch released at the end of every turn reached
 * the guard only after the guard had seen no turn add to its flush, so the answers of a
 * session with events left in a write a turn where those of a session without were gathered
 * over turns (0.05 against 0.04 writes per `butler/stored` 64 in flight, each a wake-up of the
 * host's reader and of the sidecar). So an event still
 * precedes every answer written after it, events keep their order, and a turn's events cost
 * one message instead of one each (a host reads and dispatches messages one at a time).
 * Each item is serialised as it is queued (one that cannot be is refused there, by a throw
 * to its sender, and never costs the batch or what waits behind it); the batch's frame is
 * its items' JSON text joined inside the envelope, which is the text JSON.stringify gives
 * for the whole notification, written with the one answer that usually waits behind it
 * into a single buffer.
 *
 * A batch form (`writeInForm`) writes a batch's params another way than `{events: [...]}`: it
 * gives each item's text as a piece of the params (separators included), knowing whether it is
 * the batch's first; the batch leaves, and holds what comes after it, as above.
 */
import type { Writable } from 'node:stream';
import { asciiAnswerText, frameMessage, frameResult, type SplicedJson } from './spliced-json.js';
import { asciiFrameText, frameHeaderBytes, writeFrameHeader } from '../util/framing.js';
import { jsonString } from '../model/json-value.js';
import { monotonicMs } from '../util/time.js';
import { nextTick } from '../util/node-globals.js';

/** A batch leaves once it holds this many items, or this many bytes wait behind it. */
const MAX_BATCH_ITEMS = 512;
const MAX_HELD_BYTES = 256 * 1024;
/** An answer shorter than this is copied into its batch's buffer rather than written on its own. */
const JOIN_BELOW = 16 * 1024;
/**
 * A batch's end is put off this many turns at most while each turn adds to it, and never past
 * this many milliseconds after it opened (as stdout-guard.ts does a flush). One: with the turn
 * the guard then takes, the answers of a session with events leave in as many writes as those
 * of a session without (0.04 per butler/stored 64 in flight, python_event_cost.py; two turns
 * made it 0.02, answers held longer than the guard holds those of a session without events).
 */
const MAX_DEFERS = 1;
const MAX_HOLD_MS = 2;

export class ProtocolWriter {
  private congestedNow = false;
  private readonly drainListeners = new Set<() => void>();
  private readonly errorListeners = new Set<(err: Error) => void>();
  private failed: Error | null = null;
  /** The batch being gathered (its items' JSON text, and whether all of it is ASCII), and the frames written since its first item (they wait behind it). */
  private batch: Batch | null = null;
  /** Frames, or ASCII message texts not yet framed (an answer's: framed into the batch's buffer when it leaves). */
  private held: (Buffer | string)[] = [];
  private heldBytes = 0;
  /** What will look at the batch: nothing, the tick after it opened (afterTick), that tick again once the promise steps then queued have run ('settled'), or the end of the turn (an immediate queued); something was added since; how often it was put off; when the batch opened. */
  private turnEnd: 'none' | 'tick' | 'settled' | 'immediate' = 'none';
  private added = false;
  private defers = 0;
  private openedAt = 0;

  constructor(
    private readonly out: Writable,
    private readonly flushOut: () => void = () => {},
    /** MAX_HOLD_MS (a test gives a loaded machine more). */
    private readonly holdMs = MAX_HOLD_MS,
  ) {
    out.on('error', (err: Error) => this.fail(err));
    out.on('close', () => this.fail(this.failed ?? new Error('The protocol output is closed.')));
    out.on('drain', () => {
      this.congestedNow = false;
      for (const l of [...this.drainListeners]) l();
    });
  }

  /** The output is above its high-water mark: wait for onDrain before producing more. */
  get congested(): boolean {
    return this.congestedNow;
  }

  /** The output cannot be written (an error such as EPIPE, or closed). */
  get broken(): boolean {
    return this.failed !== null;
  }

  onDrain(listener: () => void): void {
    this.drainListeners.add(listener);
  }

  /** The first failure of the output (reported once). */
  onError(listener: (err: Error) => void): void {
    this.errorListeners.add(listener);
  }

  /**
   * Frame and write a message. Throws if it cannot be serialised; a message written after
   * the output failed is dropped (the failure was reported through onError).
   */
  write(message: unknown): void {
    this.writeFrame(frameMessage(message));
  }

  /** An answer whose result is spliced as a whole (a JsonText): the same bytes as write({jsonrpc, id, result}), framed without serialising. */
  writeResult(id: number | string, result: SplicedJson): void {
    const text = asciiAnswerText(id, result);
    if (text === undefined) return this.writeFrame(frameResult(id, result));
    if (this.failed !== null || !this.out.writable) return;
    // Behind a batch, the text waits unframed: it is framed straight into the batch's buffer.
    if (this.batch === null) return this.put(asciiFrame(text));
    this.hold(text, text.length);
  }

  private writeFrame(frame: Buffer): void {
    if (this.failed !== null || !this.out.writable) return;
    if (this.batch === null) return this.put(frame);
    this.hold(frame, frame.length);
  }

  private hold(frame: Buffer | string, bytes: number): void {
    this.held.push(frame);
    this.heldBytes += bytes;
    this.added = true;
    if (this.heldBytes >= MAX_HELD_BYTES) this.release();
  }

  /**
   * Queue an item of the batched notification `method` (see the header); `asciiText`: its JSON
   * text, when the sender has it and it is all ASCII (else the item is serialised here).
   */
  writeBatched(method: string, item: unknown, asciiText?: string): void {
    if (this.failed !== null || !this.out.writable) return;
    // Throws here, to the sender, for an item that cannot be serialised (a BigInt, a cycle).
    // What has no JSON form (undefined) is null, as in the array JSON.stringify would write.
    const json = asciiText ?? JSON.stringify(item) ?? 'null';
    if (this.batch !== null && this.batch.method !== method) this.release();
    if (this.batch === null) this.open(method, EVENTS_OPEN, EVENTS_CLOSE, json, asciiText !== undefined);
    else this.add(`,${json}`, asciiText !== undefined);
  }

  /** Queue an item of `form`'s batched notification (see the header). */
  writeInForm<T>(form: BatchForm<T>, item: T): void {
    if (this.failed !== null || !this.out.writable) return;
    if (this.batch !== null && this.batch.method !== form.method) this.release();
    const first = this.batch === null;
    const piece = form.piece(item, first); // a throw goes to the sender, the batch unchanged
    if (first) this.open(form.method, form.open, form.close, piece, form.pieceAscii);
    else this.add(piece, form.pieceAscii);
  }

  private open(method: string, open: string, close: string, piece: string, ascii: boolean): void {
    this.batch = { method, open, close, items: piece, count: 1, ascii };
    this.added = false;
    this.defers = 0;
    if (this.turnEnd === 'immediate') this.openedAt = monotonicMs();
    else if (this.turnEnd === 'none') {
      this.turnEnd = 'tick';
      nextTick(this.afterTick);
    }
  }

  /** Queued as a microtask: afterTick again, once the microtasks queued before it, and those they queue, have run. */
  private readonly tickAfterMicrotasks = (): void => nextTick(this.afterTick);

  /**
   * The tick after a batch opened: if it is still open (nothing released it meanwhile, as the
   * connection does when it falls idle with the answer that waited behind it: one at a time,
   * every call), it looks again once the promise steps then queued have run. The connection
   * starts a request in a tick, and a tick queued there runs before an async handler's promise
   * steps (`butler/put`), whose answer releases the batch; a synchronous handler's (`butler/stored`)
   * has by the first look, and costs no microtask. Still open then, its end of turn is queued,
   * and the clock read for MAX_HOLD_MS. A batch that has left by then costs neither the immediate
   * nor the clock read (~1,500 instructions, callgrind, when an event of a one-at-a-time
   * `butler/stored` cost ~11,000).
   */
  private readonly afterTick = (): void => {
    if (this.batch === null) {
      this.turnEnd = 'none';
      return;
    }
    if (this.turnEnd === 'tick') {
      this.turnEnd = 'settled';
      queueMicrotask(this.tickAfterMicrotasks);
      return;
    }
    this.openedAt = monotonicMs();
    this.turnEnd = 'immediate';
    setImmediate(this.endOfTurn);
  };

  private add(piece: string, ascii: boolean): void {
    const batch = this.batch!;
    this.added = true;
    batch.items = `${batch.items}${piece}`;
    if (!ascii) batch.ascii = false;
    if (++batch.count >= MAX_BATCH_ITEMS) this.release();
  }

  /** The end of a turn with a batch under way: release it, unless this turn added to it (see the header). */
  private readonly endOfTurn = (): void => {
    this.turnEnd = 'none';
    if (this.batch === null) return;
    if (this.added && this.defers < MAX_DEFERS && monotonicMs() - this.openedAt < this.holdMs) {
      this.added = false;
      this.defers++;
      this.turnEnd = 'immediate';
      setImmediate(this.endOfTurn);
      return;
    }
    this.release();
  };

  /** The batch, then what waited behind it, to the output (a no-op when nothing waits). */
  private readonly release = (): void => {
    const batch = this.batch;
    if (batch === null) return;
    this.batch = null;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    if (this.failed !== null || !this.out.writable) return;
    // The answers that waited behind the batch leave with it as one buffer, one write to the
    // output (16 answers a turn at 64 puts in flight were 16 writes more, each through the
    // stream's machinery); from the first large frame on, frames are written as they are.
    let joined = 0;
    while (joined < held.length && (typeof held[joined] === 'string' || held[joined]!.length < JOIN_BELOW)) joined++;
    this.put(batchFrame(batch, held, joined));
    for (let i = joined; i < held.length; i++) {
      const f = held[i]!;
      this.put(typeof f === 'string' ? asciiFrame(f) : f);
    }
  };

  private put(frame: Buffer): void {
    if (!this.out.write(frame)) this.congestedNow = true;
  }

  /** Nothing more is about to be written: let what the output holds back go now. */
  flush(): void {
    this.release();
    if (this.failed === null) this.flushOut();
  }

  /** Flush what is queued, then end the output; `done` runs once it has (or failed). */
  end(done: () => void): void {
    this.release();
    if (this.failed !== null || !this.out.writable) {
      done();
      return;
    }
    this.out.end(done);
  }

  private fail(err: Error): void {
    if (this.failed !== null) return;
    this.failed = err;
    this.congestedNow = false;
    for (const l of [...this.errorListeners]) l(err);
    // Whatever waited for a drain must not wait forever.
    for (const l of [...this.drainListeners]) l();
  }
}

/** How a batch's params are written from its items (ProtocolWriter.writeInForm). */
export interface BatchForm<T> {
  readonly method: string;
  /** The params' text before the first item's piece, and after the last one's. */
  readonly open: string;
  readonly close: string;
  /** The text of `item` in the params, after the pieces before it (none when `first`); throws for an item it cannot write. */
  piece(item: T, first: boolean): string;
  /** The last piece is all ASCII. */
  readonly pieceAscii: boolean;
}

const EVENTS_OPEN = '{"events":[';
const EVENTS_CLOSE = ']}';

interface Batch {
  method: string;
  open: string;
  close: string;
  /** The items' pieces as they come (for writeBatched, JSON texts joined by commas: no array, no join when the batch leaves). */
  items: string;
  count: number;
  /** Every item's text is ASCII (as its sender said). */
  ascii: boolean;
}

/** A batch's envelope up to its items, and whether it is ASCII: the last one is kept (a writer batches one method), so it is not scanned per batch. */
let lastEnvelope: { method: string; open: string; start: string; ascii: boolean } | undefined;

function envelopeOf(method: string, open: string): { start: string; ascii: boolean } {
  if (lastEnvelope?.method !== method || lastEnvelope.open !== open) {
    const start = `{"jsonrpc":"2.0","method":${jsonString(method)},"params":${open}`;
    lastEnvelope = { method, open, start, ascii: /^[\x00-\x7f]*$/.test(start) };
  }
  return lastEnvelope;
}

/**
 * The frame of `{jsonrpc, method, params: {events: items}}` from the items' JSON text (the
 * bytes frameMessage gives for the notification), followed in the same buffer by the first
 * `joined` of `after`: frames, or ASCII message texts framed here.
 * An ASCII body is its length in bytes and is written as latin1: no pass over it to count its
 * UTF-8 bytes, which first made the concatenated text flat (~1,500 instructions a batch of one
 * event, callgrind). The write still flattens the items' concatenated text once (~1,000
 * instructions an event), but writing each item's text into the buffer as it is queued cost
 * more: ~840 instructions an event more (test/bench/writer-callgrind.ts), each write a call into
 * the runtime that flattens its own piece first. When the batch is ASCII and all that follows
 * it is ASCII answer texts (the usual turn), the frames are one string, made flat and written
 * by one Buffer.from: a buffer allocated first and the header's bytes, the body and each answer
 * written into it, one call each, cost ~4,200 instructions more an event one a turn, ~1,450
 * with 16 a turn (writer-callgrind --perTurn=1 and 16: 40.3-40.8k against 36.2-36.4k, 11.7-11.8k
 * against 10.3k).
 */
function batchFrame(batch: Batch, after: readonly (Buffer | string)[], joined: number): Buffer {
  const envelope = envelopeOf(batch.method, batch.open);
  const body = `${envelope.start}${batch.items}${batch.close}}`;
  // The forms' closes are ASCII constants.
  const ascii = batch.ascii && envelope.ascii;
  if (ascii && joined === after.length && allText(after)) {
    // The usual turn: the batch and ASCII answers, one text made flat and written once.
    let text = asciiFrameText(body);
    for (let i = 0; i < after.length; i++) text = `${text}${asciiFrameText(after[i]!)}`;
    return Buffer.from(text, 'latin1');
  }
  const length = ascii ? body.length : Buffer.byteLength(body, 'utf8');
  let total = frameHeaderBytes(length) + length;
  for (let i = 0; i < joined; i++) {
    const f = after[i]!;
    total += typeof f === 'string' ? frameHeaderBytes(f.length) + f.length : f.length;
  }
  const out = Buffer.allocUnsafe(total);
  let at = writeFrameHeader(out, 0, length);
  at += out.write(body, at, ascii ? 'latin1' : 'utf8');
  for (let i = 0; i < joined; i++) at = writeAfter(out, at, after[i]!);
  return out;
}

/** Every one of `after` is an ASCII message text (none a frame). */
function allText(after: readonly (Buffer | string)[]): after is readonly string[] {
  for (let i = 0; i < after.length; i++) if (typeof after[i] !== 'string') return false;
  return true;
}

/** A frame, or an ASCII message text framed, written at `at`; returns where it ends. */
function writeAfter(out: Buffer, at: number, f: Buffer | string): number {
  if (typeof f !== 'string') return at + f.copy(out, at);
  at = writeFrameHeader(out, at, f.length);
  return at + out.write(f, at, 'latin1');
}

/**
 * The frame of an ASCII message text: header and text made one string and written once (a
 * buffer allocated first, then the header's bytes and the text written into it, cost ~110 ns
 * more a frame).
 */
function asciiFrame(text: string): Buffer {
  return Buffer.from(asciiFrameText(text), 'latin1');
}
