/**
 * A dry run finds the same conflicts as the real run (its report is the real one's, but for
 * `dryRun` and `committed`), looking rows up without writing: a dataset id registered with
 * another data ID, a data ID registered under another id, a quantum id stored with other
 * content, a record that differs from the stored one, and two quanta of one batch writing the
 * same dataset. Neither run writes anything. Records per component are told apart. Over the daf_butler QBB fixture (quantum 1:
 * inputs → output; quantum 2: output → output2), on every registry backend.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/repository/registry.js';
import { collectAndTransfer, type CollectItem, type CollectReport } from '../../src/repository/collect-and-transfer.js';
import { parseQuantum } from '../../src/model/quantum.js';
import { datasetIdHex, makeDatasetId } from '../../src/model/dataset-id.js';
import { STORED_FILE_INFO_CLASS, STORED_FILE_INFO_TABLE } from '../../src/model/datastore-records.js';
import * as fx from '../e2e/fixture.js';
import { executeFixture, type ExecutedFixture } from '../support/executed-fixture.js';
import { testBackends } from '../support/registries.js';

const DS_NAME = 'InMemoryDatastore@dry-run';
const Q1_ID = '00000000-0000-4000-8000-0000000000d1';
const Q2_ID = '00000000-0000-4000-8000-0000000000d2';

let ex: ExecutedFixture;
beforeAll(async () => {
  ex = await executeFixture(DS_NAME, Q1_ID, Q2_ID);
});

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const reasons = (r: CollectReport): string[] => [...new Set(r.conflicts.map((c) => c.reason))].sort();

describe.each(testBackends())('collect-and-transfer dry run with conflicts ($kind)', (backend) => {
  let reg: Registry;
  beforeEach(async () => {
    reg = await backend.fresh();
  });
  afterEach(async () => {
    await backend.dispose(reg);
  });

  /** The dry run's report, checked equal to the real run's; neither writes. */
  async function dryAndReal(batch: CollectItem[]): Promise<CollectReport> {
    const before = await reg.dump();
    const dry = await collectAndTransfer(reg, batch, { dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, committed: false });
    expect(await reg.dump()).toEqual(before);
    const real = await collectAndTransfer(reg, batch);
    expect(real.committed).toBe(false);
    expect({ ...dry, dryRun: false, writer: real.writer, timings: {} }).toEqual({ ...real, timings: {} });
    expect(await reg.dump()).toEqual(before);
    return dry;
  }

  it('datasetIdConflict and dataIdConflict', async () => {
    expect((await collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: ex.native1 }])).committed).toBe(true);
    // Quantum 1 re-planned: its output ids on other detectors.
    const moved = clone(fx.q1());
    for (const pair of moved.outputs['output']!) (pair[0] as { dataId: { dataId: { detector: number } } }).dataId.dataId.detector += 10;
    const r1 = await dryAndReal([{ quantum: parseQuantum(moved), provenance: ex.native1, quantumId: 'moved' }]);
    expect(reasons(r1)).toEqual(['datasetIdConflict']);
    // The same data IDs under new ids (the document without records).
    const renamed = clone(fx.q1());
    const map = new Map<string, string>();
    for (const pair of renamed.outputs['output']!) {
      const r = pair[0] as { id: string };
      const id = makeDatasetId('UNIQUE', 'output', {}, [], 'RUN');
      map.set(r.id, id);
      r.id = id;
    }
    const doc = clone(ex.native1);
    doc.predictedOutputs = doc.predictedOutputs.map((id) => map.get(id)!);
    doc.actualOutputs = doc.actualOutputs.map((id) => map.get(id)!);
    doc.datastoreRecords = {};
    const r2 = await dryAndReal([{ quantum: parseQuantum(renamed), provenance: doc, quantumId: 'renamed' }]);
    expect(r2.conflicts.map((c) => c.reason)).toEqual(['dataIdConflict', 'dataIdConflict', 'dataIdConflict', 'dataIdConflict']);
  });

  it('quantumConflict and recordConflict', async () => {
    expect((await collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: ex.native1 }])).committed).toBe(true);
    const changed = clone(ex.native1);
    changed.metrics['nGet'] = 999;
    const r1 = await dryAndReal([{ quantum: ex.quantum1, provenance: changed }]);
    expect(r1.conflicts.map((c) => [c.reason, c.quantumId])).toEqual([['quantumConflict', Q1_ID]]);
    const tampered = clone(ex.native1);
    const first = fx.outputRefs()[0]!.id;
    const rows = tampered.datastoreRecords[DS_NAME]!.records[STORED_FILE_INFO_CLASS]![datasetIdHex(first)]![STORED_FILE_INFO_TABLE]!;
    rows[0]!['checksum'] = 'f'.repeat(String(rows[0]!['checksum']).length);
    const r2 = await dryAndReal([{ quantum: ex.quantum1, provenance: tampered, quantumId: 'retry' }]);
    expect(r2.conflicts.filter((c) => c.reason === 'recordConflict').map((c) => c.datasetId)).toEqual([first]);
  });

  it('records of one dataset per component are distinct rows, not a conflict', async () => {
    // A disassembled dataset: two records of the first output, one per component.
    const doc = clone(ex.native1);
    const first = fx.outputRefs()[0]!.id;
    const rows = doc.datastoreRecords[DS_NAME]!.records[STORED_FILE_INFO_CLASS]![datasetIdHex(first)]![STORED_FILE_INFO_TABLE]!;
    rows.splice(0, 1, { ...rows[0]!, component: 'a', path: 'first_a.json' }, { ...rows[0]!, component: 'b', path: 'first_b.json' });
    const dry = await collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: doc }], { dryRun: true });
    expect(dry.conflicts).toEqual([]);
    expect(dry.records).toEqual({ inserted: 5, alreadyPresent: 0 });
    const real = await collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: doc }]);
    expect({ ...dry, dryRun: false, committed: true, writer: real.writer, timings: {} }).toEqual({ ...real, timings: {} });
  });

  it('multipleProducers: two quanta of one batch that both wrote the same datasets', async () => {
    const r = await dryAndReal([
      { quantum: ex.quantum1, provenance: ex.native1 },
      { quantum: ex.quantum1, provenance: ex.native1, quantumId: 'again' },
      { quantum: ex.quantum2, provenance: ex.native2 },
    ]);
    expect(r.conflicts.map((c) => [c.reason, c.quantumId]).sort()).toEqual(fx.outputRefs().map(() => ['multipleProducers', 'again']));
    expect(r.quanta).toEqual({ stored: 3, alreadyPresent: 0 });
  });
});
