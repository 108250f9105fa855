/**
 * The provenance documents of a quanta batch on their way to a writer thread: written as
 * UTF-8 into a shared buffer, one of a few reused in turn, instead of cloned with the batch;
 * the writer thread decodes them back before it applies the batch (the same strings: what
 * the registry stores is their UTF-8 either way).
 *
 * Why: the documents are most of a quanta batch (~1.4 MB of 256 ~5 KB documents). Cloned
 * with postMessage, each batch's were copied into a fresh, growing serialisation buffer
 * (page faults, reallocations) on the caller's thread, the limit of a large collect, and
 * out of it again on the writer's; here they are copied once into memory already mapped.
 *
 * Reuse: the caller has at most `slots` batches unapplied (bulk-writer-thread.ts waits for
 * the writer before sending more), so batch n's buffer is free again once batch n - slots
 * has been applied, which it has by the time batch n is sent.
 */
import { PROVENANCE_AT, QUANTUM_STRIDE, type QuantaBatch } from './bulk-batches.js';

/** A quanta batch's documents as they travel: where they are in which shared buffer. */
export interface PackedTexts {
  slot: number;
  /** The slot's buffer, when it is new to the writer (the first use of the slot, or grown). */
  buffer?: SharedArrayBuffer;
  /** Byte offset where each quantum's document ends; -1: left in the batch (not a string, or not well-formed). */
  ends: number[];
}

/** A quanta batch with its documents moved out into a shared buffer. */
export type PackedQuantaBatch = QuantaBatch & { texts: PackedTexts };

/** String.prototype.isWellFormed (ES2024; V8 answers a one-byte string at once). */
type WellFormed = string & { isWellFormed(): boolean };

/** Smallest buffer made for a slot (bytes). */
const MIN_BYTES = 1 << 20;

/** The caller's side: the shared buffers, by slot. */
export class TextSlots {
  private readonly buffers: Buffer[] = [];

  constructor(private readonly slots: number) {}

  /** `b` with its documents in slot `seq % slots` (`b` itself is left as it is). */
  pack(b: QuantaBatch, seq: number): PackedQuantaBatch {
    const quanta = b.quanta.slice();
    let chars = 0;
    for (let i = PROVENANCE_AT; i < quanta.length; i += QUANTUM_STRIDE) {
      const t = quanta[i];
      if (typeof t === 'string') chars += t.length;
    }
    const slot = seq % this.slots;
    let buf = this.buffers[slot];
    let fresh: SharedArrayBuffer | undefined;
    // A UTF-16 code unit takes at most 3 bytes of UTF-8 (a lone surrogate: the 3 of U+FFFD).
    if (buf === undefined || buf.length < 3 * chars) {
      fresh = new SharedArrayBuffer(Math.max(MIN_BYTES, 3 * chars + (buf ? buf.length >> 1 : 0)));
      this.buffers[slot] = buf = Buffer.from(fresh);
    }
    const ends: number[] = [];
    let at = 0;
    for (let i = PROVENANCE_AT; i < quanta.length; i += QUANTUM_STRIDE) {
      const t = quanta[i];
      // A string with a lone surrogate (not well-formed UTF-16) would not come back from UTF-8 as it was: it stays.
      if (typeof t !== 'string' || !(t as WellFormed).isWellFormed()) {
        ends.push(-1);
        continue;
      }
      at += buf.write(t, at);
      ends.push(at);
      quanta[i] = null;
    }
    return { ...b, quanta, texts: fresh ? { slot, buffer: fresh, ends } : { slot, ends } };
  }
}

/** The writer's side: put a packed batch's documents back into it (any other batch passes as it is). */
export class TextSlotReader {
  private readonly buffers: Buffer[] = [];

  unpack<T extends { kind: string }>(msg: T): T {
    if (msg.kind !== 'quanta' || !('texts' in msg)) return msg;
    const b = msg as unknown as PackedQuantaBatch;
    const { slot, buffer, ends } = b.texts;
    if (buffer) this.buffers[slot] = Buffer.from(buffer);
    const buf = this.buffers[slot]!;
    let from = 0;
    for (let q = 0; q < ends.length; q++) {
      const to = ends[q]!;
      if (to < 0) continue;
      b.quanta[q * QUANTUM_STRIDE + PROVENANCE_AT] = buf.toString('utf8', from, to);
      from = to;
    }
    return msg;
  }
}
