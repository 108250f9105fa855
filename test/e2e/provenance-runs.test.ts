/**
 * The compact event form (`butler/provenanceRuns`) changes only the wire: the Node client's
 * listeners get the very events (same members, same order of members, same values) that a
 * client reading `butler/provenanceBatch` or one `butler/provenance` per event gets, for every
 * kind of event, events with members of their own, text that is not ASCII, and two sessions'
 * calls in flight at once.
 */
import { describe, expect, it } from 'vitest';
import type { ProvenanceEvent } from '../../protocol/index.js';
import { inputRefs, ref } from './fixture.js';
import { seedInputs, spawnClient, uniqueName } from './harness.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Every kind of event on two sessions, some calls in flight together; the events as the listener got them, as JSON text (member order kept), times masked. */
async function script(capabilities: Record<string, boolean>): Promise<{ events: string[]; answered: Record<string, unknown> }> {
  const client = await spawnClient({ capabilities });
  try {
    const name = uniqueName('runs');
    await seedInputs(client, name);
    const inputs = inputRefs();
    const missing = ref('raw', 99);
    const datastore = { kind: 'memory' as const, name };
    const seen: ProvenanceEvent[] = [];
    client.onProvenance((e) => seen.push(e));
    const [a, b] = await Promise.all(
      ['sa', 'sb ✓'].map((sessionId, k) =>
        client.openSession({ sessionId, predicted: { inputs: [...inputs, missing], outputs: [ref('calexp', 10 + k), ref('calexp', 20 + k)] }, datastore }),
      ),
    );
    await a!.storedMany([...inputs, missing]);
    await a!.get(inputs[0]!);
    await expect(a!.get(missing)).rejects.toThrow();
    await a!.getDeferred(inputs[1]!);
    await a!.markInputUnused(inputs[2]!, 'not needed: "é" \\ ✓');
    await Promise.all([
      a!.put(ref('calexp', 10), { x: 1 }),
      b!.put(ref('calexp', 21), { x: 'ü' }),
      a!.stored(inputs[3]!),
      b!.stored(inputs[0]!),
      a!.put(ref('calexp', 20), { x: 2 }),
      b!.get(inputs[1]!),
    ]);
    await a!.pruneDatasets([ref('calexp', 20)], { disassociate: true, purge: true, unstore: true });
    for (const e of seen) expect(e.time).toMatch(ISO);
    // Across sessions the order is not guaranteed; within one it is (seq 1, 2, 3...).
    for (const sessionId of ['sa', 'sb ✓']) expect(seen.filter((e) => e.sessionId === sessionId).map((e) => e.seq)).toEqual(Array.from({ length: seen.filter((e) => e.sessionId === sessionId).length }, (_, i) => i + 1));
    const bySession = [...seen].sort((x, y) => x.sessionId.localeCompare(y.sessionId) || x.seq - y.seq);
    // A handle is a random id: masked like the time.
    return { events: bySession.map((e) => JSON.stringify({ ...e, time: 'T', ...(e.handle !== undefined ? { handle: 'H' } : {}) })), answered: client.initializeResult.capabilities };
  } finally {
    await client.close();
  }
}

describe('butler/provenanceRuns', () => {
  it('gives the Node client\'s listeners exactly the events of the other forms', async () => {
    const runs = await script({ provenanceBatches: true, provenanceRuns: true });
    const batches = await script({ provenanceBatches: true });
    const single = await script({});
    expect([runs.answered.provenanceRuns, runs.answered.provenanceBatches]).toEqual([true, false]);
    expect([batches.answered.provenanceRuns, batches.answered.provenanceBatches]).toEqual([false, true]);
    expect([single.answered.provenanceRuns, single.answered.provenanceBatches]).toEqual([false, false]);
    const kinds = new Set(runs.events.map((e) => (JSON.parse(e) as ProvenanceEvent).event));
    expect([...kinds].sort()).toEqual(['deferredIssued', 'inputCheckedAvailable', 'inputCheckedMissing', 'inputLoadFailed', 'inputLoaded', 'inputMarkedUnused', 'outputPruned', 'outputWritten']);
    expect(runs.events).toEqual(batches.events);
    expect(runs.events).toEqual(single.events);
  }, 30_000);
});
