/**
 * Both quanta of the daf_butler QBB fixture executed on a memory datastore, as the collect
 * tests start from them: quantum 1 (see runQuantum1) then quantum 2, which loads every output
 * of quantum 1 and writes all of its own ({data: 0, 1, 2, 3}).
 */
import { openButler } from '../../src/butler/open-butler.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import { parseQuantum, type Quantum } from '../../src/model/quantum.js';
import type { NativeProvenance } from '../../protocol/provenance.js';
import * as fx from '../e2e/fixture.js';
import { runQuantum1, seededDatastore } from './fixture-quanta.js';

export interface ExecutedFixture {
  quantum1: Quantum;
  quantum2: Quantum;
  native1: NativeProvenance;
  native2: NativeProvenance;
}

/** Run both quanta, with ids `q1Id` and `q2Id`, on a memory datastore named `dsName`. */
export async function executeFixture(dsName: string, q1Id: string, q2Id: string): Promise<ExecutedFixture> {
  const seeded = await seededDatastore(dsName);
  const { native: native1 } = await runQuantum1(seeded, q1Id);
  const { datastore, storageClasses } = seeded;
  const b2 = await openButler({ sessionId: 'q2', quantumId: q2Id, quantum: fx.q2(), strictDeferred: false, datastore, storageClasses, universe: defaultUniverse() });
  for (const w of fx.outputRefs()) await b2.get({ id: w.id });
  for (const [i, w] of fx.output2Refs().entries()) await b2.put({ id: w.id }, { kind: 'value', value: { data: i } });
  return { quantum1: parseQuantum(fx.q1()), quantum2: parseQuantum(fx.q2()), native1, native2: b2.close() };
}
