/**
 * The wire bytes of butler/provenanceRuns batches, pinned for any change to how the writer builds
 * a batch's frame: batch after batch of one event and its answer (as calls one at a time make),
 * kept by the output unread, are each byte for byte the notification and the answer framed one
 * by one (no later batch writes over an earlier frame); so is a batch of over 64 KiB with answers
 * behind it, and a batch from which events were refused part-way through their text, as its
 * first or a later one.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ProvenanceEvent } from '../../protocol/provenance.js';
import { ProtocolWriter } from '../../src/server/protocol-writer.js';
import { ProvenanceRunsForm } from '../../src/server/provenance-runs-form.js';
import { JsonText, frameMessage } from '../../src/server/spliced-json.js';

const T = '2026-12-05T07:40:01.007Z';
const SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ev = (sessionId: string, seq: number, rest: object = {}): ProvenanceEvent =>
  ({ sessionId, seq, event: 'inputCheckedAvailable', datasetId: `4f0c6d1e-0000-4000-8000-${String(seq).padStart(12, '0')}`, datasetType: 'StructuredDataDict', time: T, ...rest }) as ProvenanceEvent;

/** The output's chunks, kept as the writer handed them (a PassThrough copies nothing). */
function output(): { w: ProtocolWriter; chunks: Buffer[] } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  return { w: new ProtocolWriter(out), chunks };
}

const runsFrame = (runs: unknown[]) => frameMessage({ jsonrpc: '2.0', method: 'butler/provenanceRuns', params: { runs } });
const run = (sessionId: string, seq: number, events: unknown[][]) => ({ sessionId, seq, time: T, events });
const tuple = (e: ProvenanceEvent, rest?: object) => (rest === undefined ? [e.event, e.datasetId, e.datasetType] : [e.event, e.datasetId, e.datasetType, rest]);
const answer = (id: number) => ({ ref: { id: `d-${id}`, datasetType: 'StructuredDataDict' }, size: 1012 });

describe('butler/provenanceRuns frames', () => {
  it('batch after batch (one event and its answer, as calls one at a time make), kept unread, are each the bytes of the notification and the answer', () => {
    const { w, chunks } = output();
    const form = new ProvenanceRunsForm();
    const n = 3000; // enough that a writer reusing its memory across batches would reuse it
    for (let i = 0; i < n; i++) {
      const sessionId = i % 7 === 0 ? 'other ✓' : 'session-1';
      w.writeInForm(form, ev(sessionId, i, i % 5 === 0 ? { size: i, sha256: SHA } : {}));
      w.writeResult(i, JsonText.ascii(JSON.stringify(answer(i))));
      w.flush();
    }
    expect(chunks).toHaveLength(n);
    for (let i = 0; i < n; i++) {
      const sessionId = i % 7 === 0 ? 'other ✓' : 'session-1';
      const e = ev(sessionId, i);
      const expected = Buffer.concat([runsFrame([run(sessionId, i, [tuple(e, i % 5 === 0 ? { size: i, sha256: SHA } : undefined)])]), frameMessage({ jsonrpc: '2.0', id: i, result: answer(i) })]);
      if (!chunks[i]!.equals(expected)) expect(chunks[i]!.toString('utf8')).toBe(expected.toString('utf8'));
    }
  });

  it('a batch larger than a pool, with answers behind it, is the bytes of the notification and the answers', () => {
    const { w, chunks } = output();
    const form = new ProvenanceRunsForm();
    const reason = `r${'é'.repeat(100)}${'x'.repeat(300)}`;
    const events = Array.from({ length: 400 }, (_, i) => ev('s', i, { reason: `${reason}${i}` }));
    for (const [i, e] of events.entries()) {
      w.writeInForm(form, e);
      w.writeResult(i, JsonText.ascii(JSON.stringify(answer(i))));
    }
    w.flush();
    const expected = Buffer.concat([runsFrame([run('s', 0, events.map((e) => tuple(e, { reason: (e as { reason: string }).reason })))]), ...events.map((_, i) => frameMessage({ jsonrpc: '2.0', id: i, result: answer(i) }))]);
    expect(Buffer.concat(chunks).equals(expected)).toBe(true);
  });

  it('an event refused part-way through its text, as the batch\'s first or a later one, leaves no byte of it', () => {
    const { w, chunks } = output();
    const form = new ProvenanceRunsForm();
    const bad = (seq: number) => ev('s', seq, { size: 3, sha256: SHA, handle: 1n }) as ProvenanceEvent;
    expect(() => w.writeInForm(form, bad(1))).toThrow(/BigInt/);
    w.writeInForm(form, ev('s', 1));
    expect(() => w.writeInForm(form, bad(2))).toThrow(/BigInt/);
    expect(() => w.writeInForm(form, { ...ev('t', 9), reason: () => 1 } as unknown as ProvenanceEvent)).toThrow(/no JSON form/);
    w.writeInForm(form, ev('s', 2));
    w.writeResult(1, JsonText.ascii(JSON.stringify(answer(1))));
    w.flush();
    const expected = Buffer.concat([runsFrame([run('s', 1, [tuple(ev('s', 1)), tuple(ev('s', 2))])]), frameMessage({ jsonrpc: '2.0', id: 1, result: answer(1) })]);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.toString('utf8')).toBe(expected.toString('utf8'));
  });
});
