/**
 * Conflict reasons of collect-and-transfer that the main collect tests leave unchecked, each
 * alone so that no other check can report it instead: a provenance whose predicted inputs
 * alone differ from the quantum's, one naming another task, an actual input that is neither
 * predicted nor listed as available, and two quanta of one batch defining an output type
 * differently. Each conflict writes nothing. Over the daf_butler QBB fixture (quantum 1:
 * inputs → output), on every registry backend.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/repository/registry.js';
import { collectAndTransfer } from '../../src/repository/collect-and-transfer.js';
import { parseQuantum, type Quantum } from '../../src/model/quantum.js';
import type { NativeProvenance } from '../../protocol/provenance.js';
import * as fx from '../e2e/fixture.js';
import { runQuantum1, seededDatastore } from '../support/fixture-quanta.js';
import { testBackends } from '../support/registries.js';

const DS_NAME = 'InMemoryDatastore@conflict-reasons';
const Q1_ID = '00000000-0000-4000-8000-0000000000c1';

let quantum1: Quantum;
let native1: NativeProvenance;
beforeAll(async () => {
  ({ native: native1 } = await runQuantum1(await seededDatastore(DS_NAME), Q1_ID));
  quantum1 = parseQuantum(fx.q1());
});

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe.each(testBackends())('collect-and-transfer conflict reasons ($kind)', (backend) => {
  let reg: Registry;
  beforeEach(async () => {
    reg = await backend.fresh();
  });
  afterEach(async () => {
    await backend.dispose(reg);
  });

  async function expectNothingWritten(): Promise<void> {
    expect(await reg.tableCounts()).toMatchObject({ datasets: 0, quanta: 0, datastore_records: 0, runs: 0, dataset_types: 0 });
  }

  /** Quantum 1 collected alone with `doc`: the one conflict listed (of quantum 1), nothing written. */
  async function expectOnly(doc: NativeProvenance, conflict: Record<string, unknown>): Promise<void> {
    const report = await collectAndTransfer(reg, [{ quantum: quantum1, provenance: doc }]);
    expect(report.committed).toBe(false);
    expect(report.conflicts).toEqual([expect.objectContaining({ quantumId: Q1_ID, ...conflict })]);
    await expectNothingWritten();
  }

  it('provenanceMismatch when only the predicted inputs differ (the outputs match)', async () => {
    const dropped = fx.inputRefs()[3]!.id;
    const doc = clone(native1);
    doc.predictedInputs = doc.predictedInputs.filter((id) => id !== dropped);
    doc.availableInputs = doc.availableInputs.filter((id) => id !== dropped);
    doc.actualInputs = doc.actualInputs.filter((id) => id !== dropped);
    await expectOnly(doc, {
      reason: 'provenanceMismatch',
      details: expect.objectContaining({ inputsMissingFromProvenance: [dropped], inputsNotInQuantum: [], outputsMissingFromProvenance: [], outputsNotInQuantum: [] }),
    });
  });

  it("provenanceMismatch when the document names another task than the quantum's", async () => {
    const doc = clone(native1);
    doc.quantum.taskName = 'other.pkg.OtherTask';
    await expectOnly(doc, { reason: 'provenanceMismatch', details: expect.objectContaining({ quantum: 'lsst.pipe.base.tests.TestTask', provenance: 'other.pkg.OtherTask' }) });
    // A document that names no task is not a mismatch.
    const unnamed = clone(native1);
    unnamed.quantum.taskName = null;
    const ok = await collectAndTransfer(reg, [{ quantum: quantum1, provenance: unnamed }]);
    expect(ok.conflicts).toEqual([]);
    expect(ok.committed).toBe(true);
  });

  it('datasetTypeConflict between two quanta of one batch that define an output type differently', async () => {
    // The second quantum declares `output` with a storage class that converts neither way with the first's.
    const json = clone(fx.q1());
    json.datasetTypeMapping['output'] = { ...fx.datasetType('output'), storageClass: 'Bytes' };
    const second = '00000000-0000-4000-8000-0000000000c2';
    const report = await collectAndTransfer(reg, [
      { quantum: quantum1, provenance: native1 },
      { quantum: parseQuantum(json), provenance: native1, quantumId: second },
    ]);
    expect(report.committed).toBe(false);
    // Listed for its outputs (not a multipleProducers of the first quantum's outputs: they are not planned).
    expect(report.conflicts.length).toBeGreaterThan(0);
    for (const c of report.conflicts) {
      expect(c).toMatchObject({ quantumId: second, reason: 'datasetTypeConflict', details: { datasetType: 'output', fields: ['storageClass'], givenStorageClass: 'Bytes' } });
    }
    await expectNothingWritten();
  });

  it('notPredictedInput for an actual input that is neither predicted nor listed as available', async () => {
    const extra = fx.missingRefs()[0]!.id;
    const doc = clone(native1);
    doc.actualInputs = [...doc.actualInputs, extra];
    await expectOnly(doc, { datasetId: extra, reason: 'notPredictedInput' });
  });
});
