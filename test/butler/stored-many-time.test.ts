/**
 * The events of one `storedMany` come from one existence check and carry its time, however the
 * clock moves while they are emitted: so they stay one run of butler/provenanceRuns (a run
 * breaks where the time changes) and a recorded example of it replays the same.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProvenanceEvent } from '../../protocol/provenance.js';
import { openButler } from '../../src/butler/open-butler.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { MemoryStore } from '../../src/store/memory-store.js';

afterEach(() => vi.restoreAllMocks());

describe('storedMany', () => {
  it('gives the events of its one check one time, even when the clock moves between them', async () => {
    const reg = StorageClassRegistry.withBuiltins();
    const ds = new MemoryDatastore('InMemoryDatastore@t', new MemoryStore(), reg);
    const ref = (detector: number) => {
      const dataId = { instrument: 'Cam', detector };
      return { id: makeDatasetId('DATAID_TYPE_RUN', 'in', dataId, ['instrument', 'detector'], 'run'), datasetType: { name: 'in', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'] }, dataId, run: 'run' };
    };
    const inputs = [ref(1), ref(2), ref(3)];
    const events: ProvenanceEvent[] = [];
    const butler = await openButler({ sessionId: 's', predicted: { inputs, outputs: [] }, strictDeferred: false, datastore: ds, storageClasses: reg, universe: defaultUniverse(), onEvent: (e) => events.push(e) });
    let now = Date.UTC(2026, 11, 4, 17, 0, 0, 0);
    vi.spyOn(Date, 'now').mockImplementation(() => (now += 1)); // a millisecond passes at every look
    await butler.storedMany(inputs.map((r) => ({ id: r.id })));
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(new Set(events.map((e) => e.time)).size).toBe(1);
    // Separate calls keep their own times.
    await butler.stored({ id: inputs[0]!.id });
    expect(events[3]!.time).not.toBe(events[0]!.time);
  });
});
