/**
 * A put's outputWritten event: its members, in order, as the event stream writes them (the
 * butler builds it in one literal), and none for a put that changed nothing.
 */
import { describe, expect, it } from 'vitest';
import { openButler } from '../../src/butler/open-butler.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { ProvenanceEvent } from '../../protocol/provenance.js';

const DIMS = ['instrument', 'visit'];
const type = { name: 'metric', storageClass: 'StructuredDataDict', dimensions: DIMS, isCalibration: false };
const dataId = { instrument: 'dummy', visit: 1 };
const output = { id: makeDatasetId('DATAID_TYPE_RUN', 'metric', dataId, DIMS, 'run'), datasetType: type, dataId, run: 'run' };

describe('outputWritten', () => {
  it('carries the session, sequence, dataset, time, size and SHA-256 of the write, in that order; a put that changed nothing emits none', async () => {
    const reg = StorageClassRegistry.withBuiltins();
    const events: ProvenanceEvent[] = [];
    const b = await openButler({
      sessionId: 's1',
      predicted: { inputs: [], outputs: [output] },
      strictDeferred: false,
      datastore: new MemoryDatastore('InMemoryDatastore@ev', new MemoryStore(), reg),
      storageClasses: reg,
      universe: defaultUniverse(),
      onEvent: (e) => events.push(e),
    });
    const put = await b.put({ id: output.id }, { kind: 'value', value: { a: 1 } });
    expect(events).toHaveLength(1);
    const [e] = events;
    expect(Object.keys(e!)).toEqual(['sessionId', 'seq', 'event', 'datasetId', 'datasetType', 'time', 'size', 'sha256']);
    expect(e).toEqual({ sessionId: 's1', seq: 1, event: 'outputWritten', datasetId: output.id, datasetType: 'metric', time: expect.any(String), size: 7, sha256: put.sha256 });
    expect(b.extractProvenance('native').outputs[0]).toMatchObject({ written: true, size: 7, sha256: put.sha256, writtenAt: e!.time });
    expect((await b.put({ id: output.id }, { kind: 'value', value: { a: 1 } })).unchanged).toBe(true);
    expect(events).toHaveLength(1);
  });
});
