/**
 * The scenarios of daf_butler's own QuantumBackedButler tests (numbered below),
 * re-enacted through the real CLI over pipes. Where we deliberately differ from
 * daf_butler (non-predicted ids never enter provenance), the test says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DafButlerProvenanceSchema, NativeProvenanceSchema, type DafButlerProvenance } from '../../protocol/index.js';
import type { QuantumButlerClient, ButlerSession } from '../../src/client/index.js';
import { QuantumButlerError } from '../../src/client/index.js';
import { datasetIdHex } from '../../src/model/dataset-id.js';
import { initRef, inputRefs, missingRefs, outputRefs, q1 } from './fixture.js';
import { seedInputs, spawnClient, uniqueName } from './harness.js';

let client: QuantumButlerClient;
beforeAll(async () => {
  client = await spawnClient();
});
afterAll(async () => {
  expect(await client.close()).toBe(0);
});

const ids = (rs: { id: string }[]) => rs.map((r) => r.id).sort();
const predictedInputIds = () => ids([...inputRefs(), initRef()]);

async function openQ1(): Promise<ButlerSession> {
  const name = uniqueName('qbb');
  await seedInputs(client, name);
  return client.openSession({ quantum: q1(), datastore: { kind: 'memory', name } });
}

async function dafProvenance(s: ButlerSession): Promise<DafButlerProvenance> {
  return DafButlerProvenanceSchema.parse(await s.extractProvenance('daf_butler'));
}

async function expectError(p: Promise<unknown>, kind: string, code?: number): Promise<QuantumButlerError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(QuantumButlerError);
    const e = err as QuantumButlerError;
    expect(e.kind).toBe(kind);
    if (code !== undefined) expect(e.code).toBe(code);
    return e;
  }
  throw new Error(`expected a ${kind} error`);
}

describe("QuantumBackedButler scenarios (after daf_butler's tests)", () => {
  it('1. opens from a SerializedQuantum with empty provenance sets', async () => {
    const s = await openQ1();
    expect(s.info.predictedInputs).toBe(5);
    expect(s.info.predictedOutputs).toBe(4);
    expect(s.info.taskName).toBe('lsst.pipe.base.tests.TestTask');
    const p = await dafProvenance(s);
    expect(p.predicted_inputs).toEqual(predictedInputIds());
    expect(p.predicted_outputs).toEqual(ids(outputRefs()));
    expect(p.available_inputs).toEqual([]);
    expect(p.actual_inputs).toEqual([]);
    expect(p.actual_outputs).toEqual([]);
    await s.close();
  });

  it('3. opens from predicted refs with the same state', async () => {
    const name = uniqueName('pred');
    await seedInputs(client, name);
    const s = await client.openSession({
      predicted: { inputs: [...inputRefs(), initRef()], outputs: outputRefs() },
      datastore: { kind: 'memory', name },
    });
    const p = await dafProvenance(s);
    expect(p.predicted_inputs).toEqual(predictedInputIds());
    expect(p.predicted_outputs).toEqual(ids(outputRefs()));
    expect(p.available_inputs).toEqual([]);
    expect(await s.get(inputRefs()[2]!)).toEqual({ data: 3 });
    await s.close();
  });

  it('4. get/put cycle with metrics', async () => {
    const s = await openQ1();
    for (const r of inputRefs()) expect(await s.get(r)).toEqual({ data: r.dataId.dataId.detector });
    expect(await s.get(initRef())).toEqual({ data: -1 });
    for (const r of missingRefs()) await expectError(s.get(r), 'DatasetNotFound', 1002);
    let p = await dafProvenance(s);
    expect(p.available_inputs).toEqual(predictedInputIds());
    expect(p.actual_inputs).toEqual(predictedInputIds());
    // Unlike daf_butler, the missing (never predicted) ids are not recorded anywhere.
    const native = NativeProvenanceSchema.parse(await s.extractProvenance('native'));
    expect(native.inputs.map((i) => i.ref.id).sort()).toEqual(predictedInputIds());

    await s.metrics(true);
    const sizes: number[] = [];
    for (const r of outputRefs()) sizes.push((await s.put(r, { data: r.dataId.dataId.detector ** 2 })).size);
    expect((await s.metrics(true))).toMatchObject({ n_put: 4, bytes_written: sizes.reduce((a, b) => a + b) });
    for (const r of outputRefs()) expect(await s.get(r)).toEqual({ data: r.dataId.dataId.detector ** 2 });
    expect((await s.metrics())).toMatchObject({ n_get: 4, bytes_read: sizes.reduce((a, b) => a + b) });
    // A read that decodes (here: a storage-class override) counts the artifact it read too.
    await s.metrics(true);
    await s.get(outputRefs()[0]!, { storageClass: 'StructuredDataDict' });
    expect((await s.metrics())).toMatchObject({ n_get: 1, bytes_read: sizes[0] });
    p = await dafProvenance(s);
    expect(p.actual_outputs).toEqual(ids(outputRefs()));
    expect(p.actual_inputs).toEqual(predictedInputIds()); // reading outputs back changes no input set
    await s.close();
  });

  it('6. deferred handles', async () => {
    const s = await openQ1();
    const chosen = [inputRefs()[0]!, inputRefs()[1]!, initRef()];
    for (const r of chosen) {
      const { handle } = await s.getDeferred(r);
      const got = await s.loadDeferred(handle);
      expect(got.payload).toEqual({ encoding: 'json', value: r.datasetType.name === 'init' ? { data: -1 } : { data: r.dataId.dataId.detector } });
    }
    const { handle } = await s.getDeferred(missingRefs()[0]!); // no existence check at issue time
    await expectError(s.loadDeferred(handle), 'DatasetNotFound');
    const p = await dafProvenance(s);
    expect(p.available_inputs).toEqual(ids(chosen));
    expect(p.actual_inputs).toEqual(ids(chosen));
    await s.close();
  });

  it('7. stored and storedMany', async () => {
    const s = await openQ1();
    const present = [inputRefs()[0]!, inputRefs()[1]!, initRef()];
    for (const r of present) expect(await s.stored(r)).toBe(true);
    for (const r of missingRefs()) expect(await s.stored(r)).toBe(false);
    const many = await s.storedMany([...present, ...missingRefs()]);
    expect(many).toEqual(Object.fromEntries([...present.map((r) => [r.id, true]), ...missingRefs().map((r) => [r.id, false])]));
    const p = await dafProvenance(s);
    expect(p.available_inputs).toEqual(ids(present));
    expect(p.actual_inputs).toEqual([]);
    await s.close();
  });

  it('8. markInputUnused', async () => {
    const s = await openQ1();
    for (const r of [...inputRefs(), initRef()]) await s.get(r);
    const first = inputRefs()[0]!;
    expect((await s.markInputUnused(first, 'only used to reject nothing')).state).toBe('unused');
    const p = await dafProvenance(s);
    expect(p.available_inputs).toEqual(predictedInputIds());
    expect(p.actual_inputs).toEqual(predictedInputIds().filter((id) => id !== first.id));
    const native = NativeProvenanceSchema.parse(await s.extractProvenance());
    expect(native.inputs.find((i) => i.ref.id === first.id)?.unusedReason).toBe('only used to reject nothing');
    await expectError(s.markInputUnused(outputRefs()[0]!), 'NotPredictedInput');
    await s.close();
  });

  it('9. pruneDatasets argument rules, unstore, purge and re-put', async () => {
    const s = await openQ1();
    for (const r of outputRefs()) await s.put(r, { data: r.dataId.dataId.detector ** 2 });
    for (const r of outputRefs()) expect(await s.get(r)).toEqual({ data: r.dataId.dataId.detector ** 2 });
    const [o0, o1] = outputRefs();
    let e = await expectError(s.pruneDatasets([o0!], { purge: true, disassociate: false, unstore: true }), 'InvalidPruneArguments');
    expect(e.message).toMatch('Cannot pass purge=True without disassociate=True');
    e = await expectError(s.pruneDatasets([o0!], { purge: true, disassociate: true, unstore: false }), 'InvalidPruneArguments');
    expect(e.message).toMatch('Cannot pass purge=True without unstore=True');
    e = await expectError(s.pruneDatasets([o0!], { purge: false, disassociate: true, unstore: true }), 'InvalidPruneArguments');
    expect(e.message).toMatch('Cannot pass disassociate=True without purge=True');
    // The defaults are daf_butler's, so they raise too.
    await expectError(s.pruneDatasets([o0!]), 'InvalidPruneArguments');

    await s.pruneDatasets([o0!], { disassociate: false, unstore: true, purge: false });
    expect(await s.stored(o0!)).toBe(false);
    await expectError(s.get(o0!), 'DatasetNotFound');
    expect((await dafProvenance(s)).actual_outputs).not.toContain(o0!.id);
    await s.put(o0!, { data: 1 });
    expect(await s.stored(o0!)).toBe(true);

    await s.pruneDatasets([o1!], { disassociate: true, unstore: true, purge: true });
    expect(await s.stored(o1!)).toBe(false);
    await expectError(s.get(o1!), 'DatasetNotFound');
    await s.put(o1!, { data: 4 });
    expect(await s.stored(o1!)).toBe(true);

    // Never an input; a component is refused before anything is touched.
    await expectError(s.pruneDatasets([inputRefs()[0]!], { disassociate: false, unstore: true }), 'CannotPruneInput');
    expect(await s.stored(inputRefs()[0]!)).toBe(true);
    // An empty list is a no-op, not "empty the whole trash".
    expect((await s.pruneDatasets([], { disassociate: false, unstore: true })).pruned).toEqual([]);
    expect(await s.stored(o1!)).toBe(true);
    await s.close();
  });

  it('10. provenance extraction and its JSON round trip', async () => {
    const s = await openQ1();
    await s.storedMany([...inputRefs(), initRef()]);
    for (const r of [...inputRefs(), initRef()]) await s.get(r);
    for (const r of outputRefs()) await s.put(r, { data: r.dataId.dataId.detector ** 2 });
    const p = await dafProvenance(s);
    expect(p.predicted_inputs).toEqual(predictedInputIds());
    expect(p.available_inputs).toEqual(predictedInputIds());
    expect(p.actual_inputs).toEqual(predictedInputIds());
    expect(p.predicted_outputs).toEqual(ids(outputRefs()));
    expect(p.actual_outputs).toEqual(ids(outputRefs()));
    const names = Object.keys(p.datastore_records);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^InMemoryDatastore@/);
    const rec = p.datastore_records[names[0]!]!;
    expect([...rec.dataset_ids].sort()).toEqual(ids(outputRefs()));
    expect(Object.keys(rec.records)).toEqual(['lsst.daf.butler.datastore.stored_file_info.StoredFileInfo']);
    const perDataset = rec.records['lsst.daf.butler.datastore.stored_file_info.StoredFileInfo']!;
    expect(Object.keys(perDataset).sort()).toEqual(ids(outputRefs()).map(datasetIdHex).sort());
    for (const tables of Object.values(perDataset)) {
      expect(Object.keys(tables)).toEqual(['file_datastore_records']);
      const row = tables.file_datastore_records![0]!;
      expect(row.component).toBe('__NULL_STRING__');
      expect(row.checksum).toMatch(/^[0-9a-f]{128}$/); // daf_butler: blake2b hex
    }
    // Round trip through JSON text gives identical fields (what direct(**json) needs).
    expect(DafButlerProvenanceSchema.parse(JSON.parse(JSON.stringify(p)))).toEqual(p);

    const native = NativeProvenanceSchema.parse(await s.extractProvenance('native'));
    expect(native.schemaVersion).toBe('1.0');
    expect(native.execution.pid).toBeGreaterThan(0);
    expect(native.diagnostics).toEqual([]);
    expect(native.outputs.every((o) => o.written && o.sha256 && o.size! > 0)).toBe(true);
    const closed = await s.close();
    expect(closed.alreadyClosed).toBe(false);
    expect(closed.provenance?.actualOutputs).toEqual(ids(outputRefs()));
    expect((await s.close()).alreadyClosed).toBe(true);
  });
});
