/**
 * The fixture's first quantum executed on a memory datastore, as the collect-and-transfer and
 * lineage tests both start from it (the second quantum differs between them).
 */
import { openButler } from '../../src/butler/open-butler.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { parseDatasetRef } from '../../src/model/dataset-ref.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { DafButlerProvenance, NativeProvenance } from '../../protocol/provenance.js';
import * as fx from '../e2e/fixture.js';

export interface Seeded {
  datastore: MemoryDatastore;
  storageClasses: StorageClassRegistry;
}

/** A memory datastore `name` holding the fixture's inputs ({data: 1..4}) and init input ({data: -1}). */
export async function seededDatastore(name: string): Promise<Seeded> {
  const storageClasses = StorageClassRegistry.withBuiltins();
  const datastore = new MemoryDatastore(name, new MemoryStore(), storageClasses);
  for (const [i, w] of fx.inputRefs().entries()) await datastore.put({ kind: 'value', value: { data: i + 1 } }, parseDatasetRef(w));
  await datastore.put({ kind: 'value', value: { data: -1 } }, parseDatasetRef(fx.initRef()));
  return { datastore, storageClasses };
}

/**
 * Quantum 1 as `quantumId`: loads inputs 1-3 and the init input, checks input 4 (available)
 * and marks it unused, writes every output ({data: 1, 4, 9, ...}).
 */
export async function runQuantum1({ datastore, storageClasses }: Seeded, quantumId: string): Promise<{ daf: DafButlerProvenance; native: NativeProvenance }> {
  const b1 = await openButler({ sessionId: 's1', quantumId, quantum: fx.q1(), strictDeferred: false, datastore, storageClasses, universe: defaultUniverse() });
  const inputs = fx.inputRefs();
  for (const w of inputs.slice(0, 3)) await b1.get({ id: w.id });
  await b1.get({ id: fx.initRef().id });
  await b1.stored({ id: inputs[3]!.id });
  b1.markInputUnused({ id: inputs[3]!.id }, 'not needed');
  for (const [i, w] of fx.outputRefs().entries()) await b1.put({ id: w.id }, { kind: 'value', value: { data: (i + 1) ** 2 } });
  const daf = b1.extractProvenance('daf_butler');
  return { daf, native: b1.close() };
}
