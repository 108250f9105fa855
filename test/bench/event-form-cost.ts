/**
 * What each provenance event form costs per event, in this process, without pipes or a sidecar:
 * the sidecar's half (making the event as the butler does and writing it through the protocol
 * writer with a turn's answer: butler/provenanceBatch's template text, or butler/provenanceRuns'
 * compact form) and the Node client's half (EventTapReader reading those bytes and handing each
 * event to a listener). A turn is `--perTurn` events then one answer (a `butler/stored` with 64 in
 * flight makes ~28 a turn; one at a time, 1). Per event = (turns with the form - turns with the
 * answer alone) / events, CPU time (process.cpuUsage) of chunks of `--events` events; the forms
 * take turns in every round, in the reverse order on odd rounds, and the runs form is measured
 * twice (`runs` and `runs'`, an A/A check: their difference is the noise).
 *
 *     node dist/test/bench/event-form-cost.js [--rounds=15] [--events=30000] [--perTurn=28]
 *
 * Prints per form the median and range over rounds of the sidecar's and the client's
 * microseconds per event and the bytes per event written.
 */
import { PassThrough, Writable } from 'node:stream';
import { loadavg } from 'node:os';
import type { ProvenanceEvent } from '../../protocol/provenance.js';
import { ProvenanceBatchNotification, ProvenanceNotification, ProvenanceRunsNotification } from '../../protocol/notifications.js';
import { ProtocolWriter } from '../../src/server/protocol-writer.js';
import { asciiProvenanceEventJson } from '../../src/server/provenance-event-json.js';
import { ProvenanceRunsForm } from '../../src/server/provenance-runs-form.js';
import { EventTapReader } from '../../src/client/event-tap-reader.js';
import { isoNow } from '../../src/util/time.js';
import { numberOption } from './argv.js';
import { median } from './median.js';

const ROUNDS = numberOption('rounds', 15), EVENTS = numberOption('events', 30000), PER_TURN = numberOption('perTurn', 28);
const TURNS = Math.ceil(EVENTS / PER_TURN);
const FORMS = ['none', 'batch', 'runs', "runs'"] as const;
type Form = (typeof FORMS)[number];

const SESSION = '0b7c9a52-3f1e-4d2a-9c8b-7a6f5e4d3c2b';
const DATASET = '5d4c2f5e-1b9b-4c3e-9d0a-2a1f0e3c4b5a';
const ANSWER = { stored: true };

/** The sidecar's half: TURNS turns of the form; returns the bytes written. */
function sidecarTurns(form: Form, seq: { n: number }, keep: Buffer[] | null): number {
  let bytes = 0;
  const out = new Writable({
    write(chunk: Buffer, _e, cb) {
      bytes += chunk.length;
      keep?.push(chunk);
      cb();
    },
  });
  const w = new ProtocolWriter(out);
  const runs = new ProvenanceRunsForm();
  for (let t = 0; t < TURNS; t++) {
    if (form !== 'none') {
      for (let i = 0; i < PER_TURN; i++) {
        // As QuantumBackedButler.emit makes it.
        const e: ProvenanceEvent = { sessionId: SESSION, seq: ++seq.n, event: 'inputCheckedAvailable', datasetId: DATASET, datasetType: 'raw', time: isoNow() };
        if (form === 'batch') w.writeBatched(ProvenanceBatchNotification.method, e, asciiProvenanceEventJson(e));
        else w.writeInForm(runs, e);
      }
    }
    w.write({ jsonrpc: '2.0', id: t, result: ANSWER });
    w.flush();
  }
  return bytes;
}

/** The client's half: the chunks read by an EventTapReader, every event to a listener. */
function clientReads(chunks: Buffer[]): number {
  const input = new PassThrough();
  let events = 0;
  const methods = { event: ProvenanceNotification.method, batch: ProvenanceBatchNotification.method, runs: ProvenanceRunsNotification.method };
  const reader = new EventTapReader(input, methods, () => events++);
  reader.listen(() => {});
  for (const c of chunks) input.emit('data', c);
  return events;
}

const cpu = (f: () => void): number => {
  const t0 = process.cpuUsage();
  f();
  const t = process.cpuUsage(t0);
  return t.user + t.system;
};

const m: Record<Form, { sidecar: number[]; client: number[]; bytes: number }> = Object.fromEntries(FORMS.map((f) => [f, { sidecar: [], client: [], bytes: 0 }])) as never;
const seq = { n: 0 };
for (const f of FORMS) for (let i = 0; i < 3; i++) clientReads(((k: Buffer[]) => (sidecarTurns(f, seq, k), k))([])); // optimised code
const loadBefore = loadavg()[0]!;
for (let r = 0; r < ROUNDS; r++) {
  for (const f of r % 2 === 0 ? FORMS : [...FORMS].reverse()) {
    const chunks: Buffer[] = [];
    let bytes = 0;
    m[f].sidecar.push(cpu(() => void (bytes = sidecarTurns(f, seq, null))));
    sidecarTurns(f, seq, chunks);
    let events = 0;
    m[f].client.push(cpu(() => void (events = clientReads(chunks))));
    if (events !== (f === 'none' ? 0 : TURNS * PER_TURN)) throw new Error(`${f}: ${events} events read`);
    m[f].bytes = bytes;
  }
}
const perEvent = (f: Form, half: 'sidecar' | 'client') => m[f][half].map((v, i) => (v - m.none[half][i]!) / (TURNS * PER_TURN));
const show = (xs: number[]) => `${median(xs).toFixed(3)} [${Math.min(...xs).toFixed(3)}, ${Math.max(...xs).toFixed(3)}]`;
console.log(`${ROUNDS} rounds of ${TURNS} turns of ${PER_TURN} events and an answer; load average ${loadBefore.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`);
console.log(`answer alone: sidecar ${show(m.none.sidecar.map((v) => v / TURNS))} us, client ${show(m.none.client.map((v) => v / TURNS))} us per turn`);
for (const f of FORMS.slice(1)) {
  console.log(`${f.padEnd(6)} per event: sidecar ${show(perEvent(f, 'sidecar'))} us; client ${show(perEvent(f, 'client'))} us; ${((m[f].bytes - m.none.bytes) / (TURNS * PER_TURN)).toFixed(1)} bytes`);
}
const ratio = (a: Form, b: Form, half: 'sidecar' | 'client') => show(perEvent(a, half).map((v, i) => v / perEvent(b, half)[i]!));
console.log(`runs / batch, paired by round: sidecar ${ratio('runs', 'batch', 'sidecar')}; client ${ratio('runs', 'batch', 'client')}`);
console.log(`runs' / runs (A/A):            sidecar ${ratio("runs'", 'runs', 'sidecar')}; client ${ratio("runs'", 'runs', 'client')}`);
