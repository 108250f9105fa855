/**
 * runEventsOfText reads the runs the sidecar's form writes without JSON.parse, and for any
 * other text gives either what JSON.parse and forEachRunEvent give or undefined (the reader
 * then parses it): checked on the form's own output, on hand-made layouts, and on every
 * one-character change of a written text.
 */
import { describe, expect, it } from 'vitest';
import type { ProvenanceEvent } from '../../protocol/provenance.js';
import { forEachRunEvent } from '../../src/client/provenance-runs.js';
import { runEventsOfText } from '../../src/client/runs-text.js';
import { ProvenanceRunsForm } from '../../src/server/provenance-runs-form.js';

const T1 = '2026-12-05T10:00:00.000Z';
const T2 = '2026-12-05T10:00:00.001Z';
const S = '0b6e0e3c-9a3f-4f7e-8d7e-6a1c2b3d4e5f';
const D = '1b6e0e3c-9a3f-4f7e-8d7e-6a1c2b3d4e5f';

/** The runs array's text the sidecar writes for `events` in one turn (the params' `runs`). */
function runsText(events: ProvenanceEvent[]): string {
  const form = new ProvenanceRunsForm();
  const params = form.open + events.map((e, i) => form.piece(e, i === 0)).join('') + form.close;
  return params.slice('{"runs":'.length, -1);
}

/** What the reader delivered before runs-text.ts: JSON.parse, then the protocol's rule. */
function parsed(text: string): ProvenanceEvent[] | 'throws' {
  try {
    const out: ProvenanceEvent[] = [];
    forEachRunEvent(JSON.parse(text), (e) => out.push(e));
    return out;
  } catch {
    return 'throws';
  }
}

const ev = (seq: number, rest: object = {}, sessionId = S, time = T1): ProvenanceEvent =>
  ({ sessionId, seq, event: 'inputCheckedAvailable', datasetId: `${D.slice(0, -2)}${String(seq % 100).padStart(2, '0')}`, datasetType: 'raw', time, ...rest }) as ProvenanceEvent;

const samples: Record<string, ProvenanceEvent[]> = {
  'one event': [ev(0)],
  'a run of three': [ev(5), ev(6), ev(7)],
  'runs broken by session, seq and time': [ev(1), ev(2, {}, 'other'), ev(9, {}, 'other'), ev(10, {}, 'other', T2)],
  'other members': [ev(1, { event: 'outputWritten', size: 1034, sha256: 'ab'.repeat(32) }), ev(2, { event: 'inputMarkedUnused', reason: 'not needed }] {x:[1]}' })],
  'non-ASCII strings': [ev(3, { datasetType: 'calexp_é', reason: '✓ 𝄞' })],
  'a 15-digit seq': [ev(2 ** 49)],
  // As many as a batch holds (MAX_BATCH_ITEMS), each with other members: one pass over 80 kB.
  'a run of 512': Array.from({ length: 512 }, (_, i) => ev(i, { event: 'outputWritten', size: i, sha256: 'ab'.repeat(32) })),
};

/** Text around a range: a backslash, a control character, a quote and brackets. */
const OUTSIDE = '"\\\u0001[]}';

describe('runEventsOfText', () => {
  for (const [name, events] of Object.entries(samples)) {
    it(`reads the sidecar's runs without JSON.parse, as it would: ${name}`, () => {
      const text = runsText(events);
      const got = runEventsOfText(text);
      expect(got).toBeDefined(); // the fast path was taken
      expect(got).toEqual(events);
      expect(got).toEqual(parsed(text));
      // Members in the message's order, as butler/provenance params.
      expect(got!.map((e) => JSON.stringify(e))).toEqual(events.map((e) => JSON.stringify(e)));
    });
  }

  it('leaves to JSON.parse what it does not read itself: escapes, control characters, nesting, other layouts', () => {
    const others = [
      runsText([ev(1, { reason: 'a "quoted" reason' })]), // an escape in a string
      runsText([ev(1, { datasetType: 'tab\there' })]),
      runsText([ev(1, { extra: { nested: true } })]), // an object inside the event's other members
      runsText([ev(1, { extra: [1, 2] })]),
      JSON.stringify([{ sessionId: S, seq: 1, time: T1, events: [['used', D, 'raw']] }], null, 1), // whitespace
      JSON.stringify([{ seq: 1, sessionId: S, time: T1, events: [['used', D, 'raw']] }]), // another member order
      `[{"sessionId":"${S}","seq":1.5,"time":"${T1}","events":[["used","${D}","raw"]]}]`, // not an integer
      `[{"sessionId":"${S}","seq":1e3,"time":"${T1}","events":[["used","${D}","raw"]]}]`,
      `[{"sessionId":"${S}","seq":-1,"time":"${T1}","events":[["used","${D}","raw"]]}]`,
      `[{"sessionId":"${S}","seq":1234567890123456,"time":"${T1}","events":[["used","${D}","raw"]]}]`, // past 15 digits
      `[{"sessionId":"${S}","seq":1,"time":"${T1}","events":[["used","${D}",7]]}]`, // a type that is not a string
      `[{"sessionId":"${S}","seq":1,"time":"${T1}","events":[]}]`, // a run without events
      '[]',
    ];
    for (const text of others) {
      expect(runEventsOfText(text), text).toBeUndefined();
      expect(parsed(text), text).not.toBe('throws'); // valid runs all: JSON.parse reads them
    }
  });

  it('gives what JSON.parse gives, or undefined, for every one-character change of a written text', () => {
    const text = runsText([...samples['a run of three']!, ...samples['other members']!, ev(3, {}, 'other')]);
    const replacements = ['"', '\\', ',', ':', '[', ']', '{', '}', '0', '9', ' ', '\u0001', 'x'];
    let read = 0, checked = 0;
    for (let i = 0; i < text.length; i++) {
      for (const r of ['', ...replacements]) {
        const changed = text.slice(0, i) + r + text.slice(i + (r === '' ? 1 : 0)); // delete, or insert r
        const changedOver = text.slice(0, i) + r + text.slice(i + 1); // or replace with r
        for (const t of [changed, changedOver]) {
          const got = runEventsOfText(t);
          // The same text read as a range of a longer one (as the reader reads a message's body),
          // with what is outside the range holding what the range may not: it is not looked at.
          expect(runEventsOfText(`${OUTSIDE}${t}${OUTSIDE}`, OUTSIDE.length, OUTSIDE.length + t.length), t).toEqual(got);
          checked++;
          if (got === undefined) continue;
          read++;
          expect(got, t).toEqual(parsed(t));
        }
      }
    }
    // Most changes (a letter in an id, a digit of the seq) are still the sidecar's layout.
    expect(read).toBeGreaterThan(checked / 10);
  });
});
