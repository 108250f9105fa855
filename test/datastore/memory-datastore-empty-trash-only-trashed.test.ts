/**
 * MemoryDatastore.emptyTrash deletes only what was trashed: naming a stored dataset that is
 * not in the trash leaves it stored (datastore.ts: "Delete trashed datasets; with refs, only
 * those"), and records are exported only for datasets not in the trash.
 */
import { describe, expect, it } from 'vitest';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { MemoryStore } from '../../src/store/memory-store.js';

function ref(visit: number): DatasetRef {
  const dataId = { instrument: 'dummy', visit };
  return {
    id: makeDatasetId('DATAID_TYPE_RUN', 'metric', dataId, ['instrument', 'visit'], 'run'),
    datasetType: makeDatasetType({ name: 'metric', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'visit'] }),
    dataId,
    run: 'run',
  };
}

/** A datastore holding two datasets, the second of them in the trash. */
async function oneKeptOneTrashed() {
    const ds = new MemoryDatastore('InMemoryDatastore@trash', new MemoryStore(), StorageClassRegistry.withBuiltins());
    const kept = ref(1);
    const trashed = ref(2);
    await ds.put({ kind: 'value', value: { a: 1 } }, kept);
    await ds.put({ kind: 'value', value: { a: 2 } }, trashed);
    await ds.trash([trashed]);
  return { ds, kept, trashed };
}

describe('MemoryDatastore.emptyTrash', () => {
  it('removes the trashed datasets it is given and keeps the stored ones', async () => {
    const { ds, kept, trashed } = await oneKeptOneTrashed();
    expect(await ds.emptyTrash([kept, trashed])).toEqual([trashed.id]);
    expect(await ds.exists(kept)).toBe(true);
    expect((await ds.get(kept)).value).toEqual({ a: 1 });
    expect(await ds.exists(trashed)).toBe(false);
  });

  it('exports no record for a trashed dataset', async () => {
    const { ds, kept, trashed } = await oneKeptOneTrashed();
    expect([...(await ds.exportRecords([kept, trashed])).keys()]).toEqual([kept.id]);
  });
});
