/**
 * A quanta batch's documents travel to the writer thread in shared buffers reused in turn:
 * what the writer gets back must be each document as it was, in its place, whatever the
 * characters, through slot reuse and growth.
 */
import { describe, expect, it } from 'vitest';
import { PROVENANCE_AT, QUANTUM_STRIDE, type QuantaBatch } from '../../src/repository/bulk-batches.js';
import { TextSlotReader, TextSlots } from '../../src/repository/bulk-writer-texts.js';

function batch(texts: Array<string | null>): QuantaBatch {
  const quanta: Array<string | number | null> = [];
  for (const [i, t] of texts.entries()) quanta.push(`q${i}`, 'task', null, 'host', null, null, 'native', t, 1, 2);
  return { kind: 'quanta', quanta, inputs: ['in', 'raw', 'run', '{}', 3], outputs: ['out', 1] };
}

/** Through a structured clone, as postMessage sends it (a SharedArrayBuffer stays shared). */
const cross = <T>(v: T): T => structuredClone(v);

describe('quanta batch documents in shared buffers', () => {
  it('come back in their places, as they were: ASCII, beyond ASCII, astral, a lone surrogate (left in the batch), empty, and not a string', () => {
    const texts = ['{"a":1}', '{"é":"ünïcödé ✓"}', '{"x":"😀 𝄞"}', `{"s":"${'\ud800'}"}`, '', null, '{"tail":true}'];
    const slots = new TextSlots(4);
    const reader = new TextSlotReader();
    const b = batch(texts);
    const before = structuredClone(b);
    const packed = slots.pack(b, 0);
    // The documents left the batch; the batch given is untouched.
    expect(packed.quanta.filter((v, i) => i % QUANTUM_STRIDE === PROVENANCE_AT)).toEqual([null, null, null, texts[3], null, null, null]);
    expect(b).toEqual(before);
    const got = reader.unpack(cross(packed));
    expect({ kind: got.kind, quanta: got.quanta, inputs: got.inputs, outputs: got.outputs }).toEqual(b);
  });

  it('reuses each slot in turn, grows a slot a larger batch needs, and the writer keeps up with both', () => {
    const slots = new TextSlots(2);
    const reader = new TextSlotReader();
    const small = (n: number): string[] => Array.from({ length: 3 }, (_, i) => `{"n":${n},"i":${i},"pad":"${'é'.repeat(10 + n)}"}`);
    const sentBuffers: Array<SharedArrayBuffer | undefined> = [];
    for (let seq = 0; seq < 6; seq++) {
      // Batch 4 needs more than the smallest buffer a slot starts with.
      const texts = seq === 4 ? ['{"big":"' + 'ж'.repeat(1 << 20) + '"}'] : small(seq);
      const b = batch(texts);
      const packed = cross(slots.pack(b, seq));
      sentBuffers.push(packed.texts.buffer);
      expect(packed.texts.slot).toBe(seq % 2);
      const got = reader.unpack(packed);
      expect(got.quanta).toEqual(b.quanta);
    }
    // A buffer goes with a slot's first batch and with a grown one only.
    expect(sentBuffers.map((s) => s !== undefined)).toEqual([true, true, false, false, true, false]);
  });

  it('passes other batches as they are', () => {
    const reader = new TextSlotReader();
    const datasets = { kind: 'datasets' as const, datasets: ['id', 'q', 't', 'run', 'k', '{}', 0], records: [] };
    expect(reader.unpack(datasets)).toBe(datasets);
    const plain = batch(['{"a":1}']);
    expect(reader.unpack(plain)).toBe(plain);
  });
});
