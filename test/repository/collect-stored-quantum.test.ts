/**
 * What collect-and-transfer stores for a quantum. One that writes only some of its predicted
 * outputs: an output edge for every predicted output, flagged actual only for those written;
 * only the written ones registered; lineage follows only the actual edges. A quantum without
 * a data ID: stored with its document's. Over the daf_butler QBB
 * fixture's quantum 1 (inputs → output, detectors 1-4) writing detectors 1-3, on every
 * registry backend.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/repository/registry.js';
import { collectAndTransfer } from '../../src/repository/collect-and-transfer.js';
import { openButler } from '../../src/butler/open-butler.js';
import { parseQuantum } from '../../src/model/quantum.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import type { NativeProvenance } from '../../protocol/provenance.js';
import * as fx from '../e2e/fixture.js';
import { seededDatastore } from '../support/fixture-quanta.js';
import { testBackends } from '../support/registries.js';

const DS_NAME = 'InMemoryDatastore@partial-outputs';
const Q_ID = '00000000-0000-4000-8000-0000000000e1';

let native: NativeProvenance;
/** Quantum 1 loading every input and writing outputs 1-3 of 4. */
beforeAll(async () => {
  const { datastore, storageClasses } = await seededDatastore(DS_NAME);
  const b = await openButler({ sessionId: 'p1', quantumId: Q_ID, quantum: fx.q1(), strictDeferred: false, datastore, storageClasses, universe: defaultUniverse() });
  for (const w of fx.inputRefs()) await b.get({ id: w.id });
  await b.get({ id: fx.initRef().id });
  for (const [i, w] of fx.outputRefs().slice(0, 3).entries()) await b.put({ id: w.id }, { kind: 'value', value: { data: i } });
  native = b.close();
});

describe.each(testBackends())('what collect-and-transfer stores for a quantum ($kind)', (backend) => {
  let reg: Registry;
  beforeEach(async () => {
    reg = await backend.fresh();
  });
  afterEach(async () => {
    await backend.dispose(reg);
  });

  it('every predicted output has an edge, flagged actual only when written; only those are registered', async () => {
    const outs = fx.outputRefs();
    const unwritten = outs[3]!.id;
    expect(native.actualOutputs).not.toContain(unwritten);
    const report = await collectAndTransfer(reg, [{ quantum: parseQuantum(fx.q1()), provenance: native }]);
    expect(report.conflicts).toEqual([]);
    expect(report).toMatchObject({ committed: true, quanta: { stored: 1 }, datasets: { inserted: 3 }, records: { inserted: 3 } });
    const q = (await reg.getQuantum(Q_ID))!;
    const flags = Object.fromEntries(q.outputs.map((e) => [e.datasetId, [e.predicted, e.actual]]));
    expect(flags).toEqual(Object.fromEntries(outs.map((w) => [w.id, [true, w.id !== unwritten]])));
    expect(await reg.getDataset(unwritten)).toBeUndefined();
    // Lineage down from an input reaches the written outputs only.
    const down = await reg.lineage(fx.inputRefs()[0]!.id, 'down');
    expect(down.edges.filter((e) => e.kind === 'output').map((e) => e.to).sort()).toEqual(outs.slice(0, 3).map((w) => w.id).sort());
  });

  it("a quantum without a data ID is stored with its document's", async () => {
    const quantum = parseQuantum(fx.q1());
    expect(quantum.dataId).toBeNull();
    const doc = JSON.parse(JSON.stringify(native)) as NativeProvenance;
    doc.quantum.dataId = { instrument: 'Cam1', detector: 1 };
    expect((await collectAndTransfer(reg, [{ quantum, provenance: doc }])).committed).toBe(true);
    expect((await reg.getQuantum(Q_ID))!.dataId).toEqual({ instrument: 'Cam1', detector: 1 });
  });
});
