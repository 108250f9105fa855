/**
 * QuantumBackedButler.put awaits the datastore's put itself (timed's counting inlined, not its
 * async frame): the put settles in fewer microtask turns after the datastore's does, and its
 * metrics count successes and failures as before.
 */
import { describe, expect, it } from 'vitest';
import { openButler } from '../../src/butler/open-butler.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import type { Datastore, StoredArtifact } from '../../src/datastore/datastore.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { MemoryStore } from '../../src/store/memory-store.js';

const DIMS = ['instrument', 'visit'];
const type = { name: 'metric', storageClass: 'StructuredDataDict', dimensions: DIMS, isCalibration: false };
const output = (visit: number) => {
  const dataId = { instrument: 'dummy', visit };
  return { id: makeDatasetId('DATAID_TYPE_RUN', 'metric', dataId, DIMS, 'run'), datasetType: type, dataId, run: 'run' };
};

/** A memory datastore whose put settles only when `release` is called (or fails with `fail`). */
function gated(): { ds: Datastore; release: () => void; fail: (err: Error) => void } {
  const reg = StorageClassRegistry.withBuiltins();
  const inner = new MemoryDatastore('InMemoryDatastore@turns', new MemoryStore(), reg);
  let settle: ((v: StoredArtifact | Error) => void) | undefined;
  const ds = Object.create(inner) as Datastore;
  ds.putNow = undefined; // every put goes through the gate
  ds.put = async (...args) => {
    const result = await inner.put(...args);
    const gate = await new Promise<StoredArtifact | Error>((resolve) => (settle = resolve));
    if (gate instanceof Error) throw gate;
    return result;
  };
  return { ds, release: () => settle!(undefined as never), fail: (err) => settle!(err) };
}

/** Microtask turns from `start()` until `p` settles. */
async function turnsUntil(p: Promise<unknown>, start: () => void): Promise<number> {
  let settled = false;
  p.then(() => (settled = true), () => (settled = true));
  start();
  let turns = 0;
  while (!settled && turns < 100) {
    await Promise.resolve();
    turns++;
  }
  return turns;
}

describe('QuantumBackedButler.put', () => {
  it('settles within three turns of the datastore put settling, and counts the put', async () => {
    const { ds, release } = gated();
    const outputs = [output(1)];
    const b = await openButler({ sessionId: 's', predicted: { inputs: [], outputs }, strictDeferred: false, datastore: ds, storageClasses: StorageClassRegistry.withBuiltins(), universe: defaultUniverse() });
    const put = b.put({ id: outputs[0]!.id }, { kind: 'value', value: { a: 1 } });
    for (let i = 0; i < 20; i++) await Promise.resolve(); // the datastore's put is waiting at its gate
    const turns = await turnsUntil(put, release);
    expect((await put).unchanged).toBe(false);
    expect(turns).toBeLessThanOrEqual(3);
    expect([b.metrics.n_put, b.metrics.n_put_failed, b.metrics.bytes_written]).toEqual([1, 0, 7]);
  });

  it('over an in-memory datastore with its store free, settles in one turn (written in the call: putNow); in a transaction, as part of it', async () => {
    const reg = StorageClassRegistry.withBuiltins();
    const store = new MemoryStore();
    const outputs = [output(3), output(4)];
    const b = await openButler({ sessionId: 's', predicted: { inputs: [], outputs }, strictDeferred: false, datastore: new MemoryDatastore('InMemoryDatastore@now', store, reg), storageClasses: reg, universe: defaultUniverse() });
    const now = b.put({ id: outputs[0]!.id }, { kind: 'value', value: { a: 1 } });
    expect(await turnsUntil(now, () => {})).toBe(1); // settled when the call returned
    expect((await now).unchanged).toBe(false);
    // In a transaction of the store the write is the transaction's (set, not putNow): rolled back with it.
    const tx = await store.begin('held');
    const inTx = b.put({ id: outputs[1]!.id }, { kind: 'value', value: { b: 2 } });
    expect(await turnsUntil(inTx, () => {})).toBeGreaterThan(1);
    expect(await store.exists(outputs[1]!.id)).toBe(true);
    await tx.rollback();
    expect(await store.exists(outputs[1]!.id)).toBe(false);
    expect([b.metrics.n_put, b.metrics.n_put_failed, b.metrics.bytes_written]).toEqual([2, 0, 14]);
  });

  it('counts a failed datastore put as a failure and passes its error on', async () => {
    const { ds, fail } = gated();
    const outputs = [output(2)];
    const b = await openButler({ sessionId: 's', predicted: { inputs: [], outputs }, strictDeferred: false, datastore: ds, storageClasses: StorageClassRegistry.withBuiltins(), universe: defaultUniverse() });
    const put = b.put({ id: outputs[0]!.id }, { kind: 'value', value: { a: 1 } });
    for (let i = 0; i < 20; i++) await Promise.resolve();
    const boom = new Error('boom');
    fail(boom);
    await expect(put).rejects.toBe(boom);
    expect([b.metrics.n_put, b.metrics.n_put_failed]).toEqual([0, 1]);
  });
});
