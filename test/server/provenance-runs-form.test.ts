/**
 * The compact form's writer (butler/provenanceRuns): a turn's events, written through the
 * protocol writer, are one notification whose runs expand (by the protocol's rule) to exactly
 * the events given, members in their order; runs break where the session, the seq's
 * succession or the time does; the frame is sound whatever the text; the batch precedes
 * what is written after its first event.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ProvenanceEvent } from '../../protocol/provenance.js';
import { ProtocolWriter } from '../../src/server/protocol-writer.js';
import { ProvenanceRunsForm } from '../../src/server/provenance-runs-form.js';
import { JsonText, frameMessage } from '../../src/server/spliced-json.js';
import { jsonMessageDecoder } from '../../src/util/framing.js';
import { isoNow } from '../../src/util/time.js';

interface Run {
  sessionId: string;
  seq: number;
  time: string;
  events: [string, string, string, object?][];
}

const T1 = '2026-12-04T05:40:01.007Z';
const T2 = '2026-12-04T05:40:01.008Z';
const ev = (sessionId: string, seq: number, time = T1, rest: object = {}): ProvenanceEvent =>
  ({ sessionId, seq, event: 'inputLoaded', datasetId: `d-${seq}`, datasetType: 'raw', time, ...rest }) as ProvenanceEvent;

/** Writes `events` in one turn, then an answer; returns the messages read back. */
function written(events: unknown[]): { messages: Array<{ method?: string; id?: number; params?: { runs: Run[] } }>; chunks: Buffer[] } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const w = new ProtocolWriter(out);
  const form = new ProvenanceRunsForm();
  for (const e of events) w.writeInForm(form, e as ProvenanceEvent);
  w.write({ jsonrpc: '2.0', id: 1, result: true });
  w.flush();
  const messages: Array<{ method?: string; id?: number; params?: { runs: Run[] } }> = [];
  jsonMessageDecoder<(typeof messages)[number]>((m) => messages.push(m)).push(Buffer.concat(chunks));
  return { messages, chunks };
}

const expand = (runs: Run[]) =>
  runs.flatMap((r) => r.events.map(([event, datasetId, datasetType, rest], i) => ({ sessionId: r.sessionId, seq: r.seq + i, event, datasetId, datasetType, time: r.time, ...rest })));

describe('ProvenanceRunsForm', () => {
  it('a turn\'s events leave as one notification ahead of the answer, in one write, and expand to exactly those events', () => {
    const events = [
      ev('s', 1, isoNow()),
      { ...ev('s', 2), event: 'outputWritten', size: 1012, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
      { ...ev('s', 3), event: 'inputMarkedUnused', reason: 'not "needed"\\\n\u0001 é 🚀' },
      { ...ev('s', 4), reason: 'x\ud800' },
      { ...ev('s', 5), event: 'deferredIssued', handle: 'h-1' },
      { ...ev('s', 6), sha256: 'ab', size: 0 },
      { ...ev('s', 7), size: -0, reason: undefined },
      { ...ev('s', 8), size: 1e21 },
      { ...ev('s ✓ "q"', 2 ** 53 - 2), datasetType: 'týpe', datasetId: 'ü' },
      { ...ev('s ✓ "q"', 2 ** 53 - 1), size: Number.NaN, reason: null },
      // Member names that are not printable ASCII needing no escape, twice (their texts are not kept).
      { ...ev('t', 1), 'nöte "x"': 1, size: 3 },
      { ...ev('t', 2), 'nöte "x"': 2, 'tab\t': 'y', size: 4 },
    ];
    const { messages, chunks } = written(events);
    expect(chunks).toHaveLength(1);
    expect(messages.map((m) => m.method ?? m.id)).toEqual(['butler/provenanceRuns', 1]);
    const got = expand(messages[0]!.params!.runs);
    expect(got).toEqual(JSON.parse(JSON.stringify(events)));
    expect(got.map((e) => JSON.stringify(e))).toEqual(events.map((e) => JSON.stringify(e)));
  });

  it('a batch of mixed ASCII and other events, with answers behind it, is byte for byte the notification and answers framed one by one', () => {
    const sha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    const now = isoNow();
    const events = [
      { ...ev('s', 1, now), event: 'outputWritten', size: 1012, sha256: sha },
      { ...ev('s', 2, now), event: 'outputWritten', size: 7, sha256: sha },
      { ...ev('s', 3, now), datasetId: 'dé "1"', reason: 'ünused \\ \u2028 🚀' },
      { ...ev('s', 4, now), datasetType: 'týpe', handle: 'h-1' },
      { ...ev('s', 5, now), event: 'outputWritten', size: 0, sha256: 'not "hex"' },
      ev('s', 6, T2),
      { ...ev('s ✓', 7, T2), size: 3 },
      { ...ev('s ✓', 8, T2), event: 'outputWritten', size: 1012, sha256: sha },
    ] as ProvenanceEvent[];
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new ProtocolWriter(out);
    const form = new ProvenanceRunsForm();
    const answer = { ref: { id: 'd-1', datasetType: 'raw' }, size: 1012 };
    for (const [i, e] of events.entries()) {
      w.writeInForm(form, e);
      if (i % 3 === 0) w.writeResult(i, JsonText.ascii(JSON.stringify(answer))); // an answer between events waits behind the batch
    }
    w.write({ jsonrpc: '2.0', id: 'ïd', result: 'é' });
    w.flush();
    expect(chunks).toHaveLength(1);
    const runs = [
      { sessionId: 's', seq: 1, time: now, events: [['outputWritten', 'd-1', 'raw', { size: 1012, sha256: sha }], ['outputWritten', 'd-2', 'raw', { size: 7, sha256: sha }], ['inputLoaded', 'dé "1"', 'raw', { reason: 'ünused \\ \u2028 🚀' }], ['inputLoaded', 'd-4', 'týpe', { handle: 'h-1' }], ['outputWritten', 'd-5', 'raw', { size: 0, sha256: 'not "hex"' }]] },
      { sessionId: 's', seq: 6, time: T2, events: [['inputLoaded', 'd-6', 'raw']] },
      { sessionId: 's ✓', seq: 7, time: T2, events: [['inputLoaded', 'd-7', 'raw', { size: 3 }], ['outputWritten', 'd-8', 'raw', { size: 1012, sha256: sha }]] },
    ];
    const messages = [
      { jsonrpc: '2.0', method: 'butler/provenanceRuns', params: { runs } },
      ...[0, 3, 6].map((id) => ({ jsonrpc: '2.0', id, result: answer })),
      { jsonrpc: '2.0', id: 'ïd', result: 'é' },
    ];
    expect(chunks[0]!.equals(Buffer.concat(messages.map((m) => frameMessage(m))))).toBe(true);
  });

  it('breaks runs where the session changes, the seq does not follow on, or the time differs, and nowhere else', () => {
    const events = [ev('a', 1), ev('a', 2), ev('a', 3, T2), ev('b', 4, T2), ev('a', 4, T2), ev('a', 6, T2), ev('a', 7, T2)];
    const runs = written(events).messages[0]!.params!.runs;
    expect(runs.map((r) => [r.sessionId, r.seq, r.time, r.events.length])).toEqual([
      ['a', 1, T1, 2],
      ['a', 3, T2, 1],
      ['b', 4, T2, 1],
      ['a', 4, T2, 1],
      ['a', 6, T2, 2],
    ]);
    expect(expand(runs)).toEqual(events);
    // The compact text: the members shared by a run once, each event three strings.
    const body = frameMessage({ jsonrpc: '2.0', method: 'butler/provenanceRuns', params: { runs } }).toString('latin1');
    expect(body).toContain('{"sessionId":"a","seq":6,"time":"2026-12-04T05:40:01.008Z","events":[["inputLoaded","d-6","raw"],["inputLoaded","d-7","raw"]]}');
  });

  it('an event whose shared members are not first, or not in the usual order, is written with the same members', () => {
    const { sessionId, seq, event, datasetId, datasetType, time } = ev('s', 1);
    const events = [
      { size: 5, sessionId, seq, event, datasetId, datasetType, time, sha256: 'ab' },
      { sessionId, seq: 2, event, datasetId, time, datasetType, reason: 'r' },
      { sessionId, seq: 3, event, datasetId, handle: 'h', datasetType, time },
      { time, datasetType, datasetId, event, seq: 4, sessionId },
    ];
    const got = expand(written(events).messages[0]!.params!.runs);
    expect(got).toEqual(events);
  });

  it('reads each of an event\'s members once: the shared ones are not read again in the loop over its own', () => {
    const reads = new Map<PropertyKey, number>();
    const base = { ...ev('s', 1), event: 'outputWritten', size: 12, sha256: 'ab' };
    const counted = new Proxy(base, { get: (t, k, r) => (reads.set(k, (reads.get(k) ?? 0) + 1), Reflect.get(t, k, r) as unknown) });
    const got = expand(written([counted]).messages[0]!.params!.runs);
    expect(got).toEqual([base]);
    expect(['event', 'datasetId', 'datasetType', 'size', 'sha256'].map((k) => reads.get(k))).toEqual([1, 1, 1, 1, 1]);
  });

  it('refuses, to its sender, an event it cannot write, and the batch and the answer still leave', () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new ProtocolWriter(out);
    const form = new ProvenanceRunsForm();
    w.writeInForm(form, ev('a', 1));
    expect(() => w.writeInForm(form, { ...ev('a', 2), size: 2n } as unknown as ProvenanceEvent)).toThrow(/BigInt/);
    expect(() => w.writeInForm(form, { ...ev('b', 1), time: undefined } as unknown as ProvenanceEvent)).toThrow();
    w.writeInForm(form, ev('a', 2));
    w.write({ jsonrpc: '2.0', id: 1, result: true });
    w.flush();
    const got: Array<{ params?: { runs: Run[] } }> = [];
    jsonMessageDecoder<(typeof got)[number]>((m) => got.push(m)).push(Buffer.concat(chunks));
    expect(expand(got[0]!.params!.runs)).toEqual([ev('a', 1), ev('a', 2)]);
    expect(got[1]).toEqual({ jsonrpc: '2.0', id: 1, result: true });
  });
});
