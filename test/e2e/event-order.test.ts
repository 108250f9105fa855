/**
 * The event stream's ordering guarantee (protocol/README.md §4), over real pipes with a
 * bare framing client that sees every message in the order the sidecar wrote it: each
 * `butler/provenance` event is written before the response of the call that caused it,
 * a session's events arrive in its call order with seq 1, 2, 3... and no gap, and sessions
 * pipelined together interleave without breaking either rule. The same holds, event by
 * event, for a client that reads events in batches (`butler/provenanceBatch`) and for one
 * that reads them in the compact form (`butler/provenanceRuns`, expanded here by the
 * protocol's rule, not by the client's code).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { inputRefs, ref } from './fixture.js';
import { RawClient, type Message } from './raw-client.js';
import { uniqueName } from './harness.js';

interface Event {
  sessionId: string;
  seq: number;
  event: string;
  datasetId: string;
}

let raw: RawClient | undefined;
afterEach(() => raw?.kill());

async function opened(c: RawClient, params: unknown): Promise<string> {
  const res = await c.call('session/open', params);
  expect(res.error).toBeUndefined();
  return (res.result as { sessionId: string }).sessionId;
}

interface Run {
  sessionId: string;
  seq: number;
  time: string;
  events: [string, string, string, object?][];
}

/** The wire's provenance events in the order written, each with the position of the message that carried it. */
function eventsOnWire(messages: readonly Message[]): Array<{ e: Event; message: Message }> {
  return messages.flatMap((m) =>
    m.method === 'butler/provenance'
      ? [{ e: m.params as Event, message: m }]
      : m.method === 'butler/provenanceBatch'
        ? (m.params as { events: Event[] }).events.map((e) => ({ e, message: m }))
        : m.method === 'butler/provenanceRuns'
          ? (m.params as { runs: Run[] }).runs.flatMap((r) =>
              r.events.map(([event, datasetId, datasetType, rest], i) => ({ e: { sessionId: r.sessionId, seq: r.seq + i, event, datasetId, datasetType, time: r.time, ...rest }, message: m })),
            )
          : [],
  );
}

const FORM_METHODS = ['butler/provenance', 'butler/provenanceBatch', 'butler/provenanceRuns'];

describe.each([
  ['one notification per event', 'butler/provenance', {}],
  ['events in batches', 'butler/provenanceBatch', { provenanceBatches: true }],
  ['events in runs, the compact form', 'butler/provenanceRuns', { provenanceRuns: true, provenanceBatches: true }],
])('event stream ordering (%s)', (_mode, method, capabilities) => {
  it('a call\'s events precede its response; a session\'s events keep its call order; pipelined sessions interleave', async () => {
    const c = (raw = new RawClient());
    const init = await c.initialize({ capabilities });
    const answered = (init.result as { capabilities: { provenanceBatches: boolean; provenanceRuns: boolean } }).capabilities;
    expect([answered.provenanceBatches, answered.provenanceRuns]).toEqual([method === 'butler/provenanceBatch', method === 'butler/provenanceRuns']);
    const datastore = { kind: 'memory', name: uniqueName('order') };
    const inputs = inputRefs();
    const seed = await opened(c, { predicted: { inputs: [], outputs: inputs }, datastore, notifications: [] });
    for (const r of inputs) expect((await c.call('butler/put', { sessionId: seed, ref: r, payload: { encoding: 'json', value: { d: r.dataId.dataId.detector } } })).error).toBeUndefined();
    await c.call('session/close', { sessionId: seed });

    const PER_SESSION = 120;
    const outputsOf = (tag: string) => Array.from({ length: PER_SESSION }, (_, i) => ref(`out_${tag}`, 100 + i));
    const sessions = await Promise.all(
      ['a', 'b', 'c'].map(async (tag) => ({ tag, outputs: outputsOf(tag), id: await opened(c, { predicted: { inputs, outputs: outputsOf(tag) }, datastore }) })),
    );
    // Every call below causes exactly one event: which one, on which dataset, is known per call.
    const expected = new Map<number, { sessionId: string; event: string; datasetId: string }>();
    const callsOf = new Map<string, number[]>(sessions.map((s) => [s.id, []]));
    for (let i = 0; i < PER_SESSION; i++) {
      for (const s of sessions) {
        const input = inputs[i % inputs.length]!;
        const [method, params, event, datasetId] =
          i % 3 === 0
            ? (['butler/stored', { sessionId: s.id, ref: { id: input.id } }, 'inputCheckedAvailable', input.id] as const)
            : i % 3 === 1
              ? (['butler/get', { sessionId: s.id, ref: { id: input.id } }, 'inputLoaded', input.id] as const)
              : (['butler/put', { sessionId: s.id, ref: { id: s.outputs[i]!.id }, payload: { encoding: 'json', value: { i } } }, 'outputWritten', s.outputs[i]!.id] as const);
        const id = c.request(method, params); // all sent without waiting: hundreds in flight
        expected.set(id, { sessionId: s.id, event, datasetId });
        callsOf.get(s.id)!.push(id);
      }
    }
    for (const id of expected.keys()) await c.response(id, 60_000);

    const position = new Map<Message, number>();
    c.messages.forEach((m, at) => position.set(m, at));
    const responseAt = new Map<number, number>();
    c.messages.forEach((m, at) => typeof m.id === 'number' && expected.has(m.id) && m.method === undefined && responseAt.set(m.id, at));
    for (const id of expected.keys()) expect(c.messages.find((m) => m.id === id)?.error).toBeUndefined();
    const wire = eventsOnWire(c.messages);
    // Only the form the client asked for.
    for (const other of FORM_METHODS.filter((m) => m !== method)) expect(c.messages.filter((m) => m.method === other)).toHaveLength(0);
    // Hundreds of calls in flight: events made in one turn really did share a message.
    if (method !== 'butler/provenance') expect(c.messages.filter((m) => m.method === method).length).toBeLessThan(wire.length / 2);

    for (const s of sessions) {
      const events = wire.filter(({ e }) => e.sessionId === s.id).map(({ e, message }) => ({ e, at: position.get(message)! }));
      const calls = callsOf.get(s.id)!;
      // One event per call, in the session's call order, seq without gaps.
      expect(events.map(({ e }) => e.seq)).toEqual(calls.map((_, k) => k + 1));
      events.forEach(({ e, at }, k) => {
        const call = calls[k]!;
        expect({ event: e.event, datasetId: e.datasetId }).toEqual({ event: expected.get(call)!.event, datasetId: expected.get(call)!.datasetId });
        // Before its call's response.
        expect(at).toBeLessThan(responseAt.get(call)!);
      });
    }
    // The sessions really were interleaved on the wire (else the test above proves less).
    const order = wire.map(({ e }) => e.sessionId);
    const switches = order.filter((sid, i) => i > 0 && sid !== order[i - 1]).length;
    expect(switches).toBeGreaterThan(sessions.length);
  }, 90_000);
});

describe('the Node client', () => {
  it('has delivered a call\'s events to the listeners when the call resolves', async () => {
    const { spawnClient, seedInputs } = await import('./harness.js');
    const client = await spawnClient();
    try {
      // It reads events in the compact form (butler/provenanceRuns), handed to listeners one by one.
      expect(client.initializeResult.capabilities.provenanceRuns).toBe(true);
      const name = uniqueName('tap');
      await seedInputs(client, name);
      const inputs = inputRefs();
      const s = await client.openSession({ predicted: { inputs, outputs: [] }, datastore: { kind: 'memory', name } });
      const seen: string[] = [];
      const off = client.onProvenance((e) => seen.push(`${e.seq}:${e.event}`));
      await s.stored(inputs[0]!);
      expect(seen).toEqual(['1:inputCheckedAvailable']);
      await Promise.all([s.get(inputs[0]!), s.get(inputs[1]!)]);
      expect(seen).toEqual(['1:inputCheckedAvailable', '2:inputLoaded', '3:inputLoaded']);
      off();
      await s.close();
    } finally {
      await client.close();
    }
  }, 30_000);
});
