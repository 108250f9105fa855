/**
 * collect-and-transfer over the daf_butler QBB fixture: quantum 1 reads the inputs and
 * writes `output`; quantum 2 reads `output` and writes `output2`. The provenance documents
 * come from real QuantumBackedButler sessions on a MemoryDatastore. Every behaviour is
 * checked on every registry backend (and, on SQLite, with the rows written inline and on
 * the writer thread); then what only SQLite's writer thread has.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/repository/registry.js';
import { SqliteRegistry } from '../../src/repository/sqlite/registry.js';
import { collectAndTransfer as collectAndTransferWith, deriveQuantumId, PARSE_THREAD_MIN_ITEMS, THREAD_MIN_ITEMS, type CollectItem, type CollectOptions, type CollectReport } from '../../src/repository/collect-and-transfer.js';
import { testBackends, type TestBackend } from '../support/registries.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { openButler } from '../../src/butler/open-butler.js';
import { parseQuantum, type Quantum } from '../../src/model/quantum.js';
import { parseDatasetRef } from '../../src/model/dataset-ref.js';
import { makeDatasetId, datasetIdHex } from '../../src/model/dataset-id.js';
import { parseDatastoreRecordData, STORED_FILE_INFO_CLASS, STORED_FILE_INFO_TABLE } from '../../src/model/datastore-records.js';
import { InvalidArgument, InvalidDatasetRef, RepositoryError, StoreBusy } from '../../src/model/errors.js';
import type { DafButlerProvenance, NativeProvenance } from '../../protocol/provenance.js';
import * as fx from '../e2e/fixture.js';
import { runQuantum1, seededDatastore } from '../support/fixture-quanta.js';
import { CAMERA_CHIP_DIMENSIONS } from '../support/universes.js';
import { defaultUniverse, universeFrom } from '../../src/model/dimensions/default-universe.js';

const DS_NAME = 'InMemoryDatastore@test';
const Q1_ID = '00000000-0000-4000-8000-000000000001';
const Q2_ID = '00000000-0000-4000-8000-000000000002';

interface Executed {
  quantum1: Quantum;
  quantum2: Quantum;
  native1: NativeProvenance;
  native2: NativeProvenance;
  daf1: DafButlerProvenance;
  daf2: DafButlerProvenance;
  datastore: MemoryDatastore;
}

/**
 * Run both quanta. Quantum 1 loads inputs 1-3 and the init input, checks input 4 (available)
 * and marks it unused; quantum 2 loads all of quantum 1's outputs.
 */
async function execute(): Promise<Executed> {
  const seeded = await seededDatastore(DS_NAME);
  const { datastore, storageClasses } = seeded;
  const { daf: daf1, native: native1 } = await runQuantum1(seeded, Q1_ID);

  const b2 = await openButler({ sessionId: 's2', quantumId: Q2_ID, quantum: fx.q2(), strictDeferred: false, datastore, storageClasses, universe: defaultUniverse() });
  for (const w of fx.outputRefs()) await b2.get({ id: w.id });
  for (const [i, w] of fx.output2Refs().entries()) await b2.put({ id: w.id }, { kind: 'value', value: { data: (i + 1) ** 3 } });
  const daf2 = b2.extractProvenance('daf_butler');
  const native2 = b2.close();
  return { quantum1: parseQuantum(fx.q1()), quantum2: parseQuantum(fx.q2()), native1, native2, daf1, daf2, datastore };
}

let ex: Executed;
beforeEach(async () => {
  ex ??= await execute();
});

const items = (): CollectItem[] => [
  { quantum: ex.quantum1, provenance: ex.native1 },
  { quantum: ex.quantum2, provenance: ex.native2 },
];
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function expectClean(report: CollectReport): void {
  expect(report.conflicts).toEqual([]);
  expect(report.conflictsOmitted).toBe(0);
}

// Every behaviour holds on every backend, with the writer inline and on its own thread (large batches use the thread).
const CASES: Array<{ backend: TestBackend; writer: 'inline' | 'thread'; name: string }> = testBackends().flatMap((backend) =>
  (['inline', 'thread'] as const).map((writer) => ({ backend, writer, name: `${backend.kind}, ${writer} writer` })),
);

describe.each(CASES)('collectAndTransfer ($name)', ({ backend, writer }) => {
  const collectAndTransfer = (registry: Registry, batch: readonly CollectItem[], opts: CollectOptions = {}): Promise<CollectReport> =>
    collectAndTransferWith(registry, batch, { writer, ...opts });
  let reg: Registry;
  const others: Registry[] = [];
  const fresh = async (opts?: Parameters<TestBackend['fresh']>[0]): Promise<Registry> => {
    const r = await backend.fresh(opts);
    others.push(r);
    return r;
  };
  beforeEach(async () => {
    reg = await backend.fresh();
  });
  afterEach(async () => {
    await backend.dispose(reg);
    for (const r of others.splice(0)) await backend.dispose(r);
  });

  it('transfers two chained quanta: datasets, records, quanta and edges', async () => {
    const report = await collectAndTransfer(reg, items());
    expectClean(report);
    expect(report).toMatchObject({
      dryRun: false,
      committed: true,
      quanta: { stored: 2, alreadyPresent: 0 },
      datasets: {
        inserted: 8,
        alreadyPresent: 0,
        byGroup: [
          { datasetType: 'output', run: 'RUN', count: 4 },
          { datasetType: 'output2', run: 'RUN', count: 4 },
        ],
      },
      records: { inserted: 8, alreadyPresent: 0 },
    });
    expect(await reg.runs()).toEqual(['RUN']);
    expect((await reg.datasetTypes()).map((t) => t.name)).toEqual(['output', 'output2']);
    if (reg instanceof SqliteRegistry) {
      // The bulk path writes with foreign-key enforcement off: integrity holds by construction.
      expect(reg.database.pragma('foreign_key_check')).toEqual([]);
      expect(reg.database.pragma('foreign_keys', { simple: true })).toBe(1);
    }
    const outs = [...fx.outputRefs(), ...fx.output2Refs()];
    for (const w of outs) expect(await reg.getDataset(w.id)).toEqual(parseDatasetRef(w));
    // Inputs are not registered by collect-and-transfer (they were never outputs).
    expect(await reg.getDataset(fx.inputRefs()[0]!.id)).toBeUndefined();
    // The registry has the datastore's own records for every output.
    const recs = await reg.getRecords(DS_NAME, outs.map((w) => w.id));
    expect(recs.size).toBe(8);
    return Promise.all(
      outs.map(async (w) => {
        const info = await ex.datastore.record(parseDatasetRef(w));
        expect(recs.get(w.id)!.get(STORED_FILE_INFO_TABLE)![0]).toMatchObject({ path: info!.path, checksum: info!.checksum, file_size: info!.file_size });
      }),
    );
  });

  it("conforms dataset types in the registry's own universe, on whichever thread writes them", async () => {
    // A universe whose only dimensions are camera and chip: daf_butler's default knows neither.
    const universe = universeFrom(CAMERA_CHIP_DIMENSIONS);
    const own = await fresh({ universe });
    const frame = { name: 'frame', storageClass: 'StructuredDataDict', dimensions: ['camera', 'chip'], isCalibration: false };
    const frames = [1, 2].map((chip) => {
      const dataId = { camera: 'TC', chip };
      return { id: makeDatasetId('DATAID_TYPE_RUN', 'frame', dataId, frame.dimensions, 'RUN'), datasetType: frame, dataId: { dataId, records: null }, run: 'RUN', component: null };
    });
    const quantum = {
      taskName: 'pkg.FrameTask',
      dataId: null,
      datasetTypeMapping: { frame },
      initInputs: {},
      inputs: {},
      outputs: { frame: frames.map((r) => [{ ...r, datasetType: null }, []]) },
      dimensionRecords: null,
      datastoreRecords: null,
    };
    const storageClasses = StorageClassRegistry.withBuiltins();
    const datastore = new MemoryDatastore(DS_NAME, new MemoryStore(), storageClasses);
    const b = await openButler({ sessionId: 'sf', quantumId: Q1_ID, quantum, strictDeferred: false, datastore, storageClasses, universe });
    for (const r of frames) await b.put({ id: r.id }, { kind: 'value', value: { chip: r.dataId.dataId.chip } });
    const report = await collectAndTransfer(own, [{ quantum: parseQuantum(quantum, storageClasses, universe), provenance: b.close() }]);
    expectClean(report);
    expect(report).toMatchObject({ committed: true, datasets: { inserted: 2 } });
    const stored = (await own.getDatasetType('frame'))!;
    expect(stored.group.universe).toBe(universe);
    expect(stored.dimensions).toEqual(['camera', 'chip']);
    expect((await own.queryDatasets({ dataId: { chip: '2' } })).map((r) => r.id)).toEqual([frames[1]!.id]);
  });

  it('stores the quantum, its document and the predicted/available/actual flags', async () => {
    await collectAndTransfer(reg, items());
    const q1 = (await reg.getQuantum(Q1_ID))!;
    expect(q1).toMatchObject({ id: Q1_ID, taskName: 'lsst.pipe.base.tests.TestTask', format: 'native', host: ex.native1.execution.host });
    expect(q1.startedAt).toBe(ex.native1.execution.startedAt);
    expect(q1.endedAt).toBe(ex.native1.execution.endedAt);
    const flags = Object.fromEntries(q1.inputs.map((e) => [e.datasetId, [e.initInput, e.predicted, e.available, e.actual]]));
    const [i1, , , i4] = fx.inputRefs();
    expect(flags[i1!.id]).toEqual([false, true, true, true]);
    expect(flags[i4!.id]).toEqual([false, true, true, false]);
    expect(flags[fx.initRef().id]).toEqual([true, true, true, true]);
    expect(q1.inputs.find((e) => e.datasetId === i4!.id)).toMatchObject({ datasetType: 'input', run: 'RUN', dataId: { instrument: 'Cam1', detector: 4 } });
    expect(q1.outputs).toHaveLength(4);
    expect(q1.outputs.every((e) => e.predicted && e.actual)).toBe(true);
    expect(await reg.quantumProvenance(Q1_ID)).toEqual(ex.native1);
    expect(await reg.quantumProvenance(Q2_ID)).toEqual(ex.native2);
  });

  it('re-running is a no-op that reports everything as already present', async () => {
    await collectAndTransfer(reg, items());
    const before = await reg.dump();
    const again = await collectAndTransfer(reg, items());
    expectClean(again);
    expect(again).toMatchObject({
      committed: true,
      quanta: { stored: 0, alreadyPresent: 2 },
      datasets: { inserted: 0, alreadyPresent: 8 },
      records: { inserted: 0, alreadyPresent: 8 },
    });
    expect(again.datasets.byGroup.map((g) => g.count)).toEqual([4, 4]);
    expect(await reg.dump()).toEqual(before);
    // Overlapping batches resume: quantum 2 alone, then both.
    const other = await fresh();
    expect((await collectAndTransfer(other, [items()[1]!])).datasets.inserted).toBe(4);
    expect(await collectAndTransfer(other, items())).toMatchObject({ quanta: { stored: 1, alreadyPresent: 1 }, datasets: { inserted: 4, alreadyPresent: 4 } });
  });

  it('a duplicate item in one batch is already present, not a conflict', async () => {
    const report = await collectAndTransfer(reg, [...items(), items()[0]!]);
    expectClean(report);
    expect(report.quanta).toEqual({ stored: 2, alreadyPresent: 1 });
    expect(report.records).toEqual({ inserted: 8, alreadyPresent: 4 });
  });

  it('dry run computes the same report and writes nothing', async () => {
    const empty = await reg.dump();
    const dry = await collectAndTransfer(reg, items(), { dryRun: true });
    expect(await reg.dump()).toEqual(empty);
    const real = await collectAndTransfer(reg, items());
    expect({ ...dry, dryRun: false, committed: true, writer: real.writer, timings: {} }).toEqual({ ...real, timings: {} });
    expect(Object.keys(dry.timings)).toEqual(Object.keys(real.timings).map((k) => (k === 'commit' ? 'end' : k)));
    const populated = await reg.dump();
    const dryAgain = await collectAndTransfer(reg, items(), { dryRun: true });
    expect(dryAgain).toMatchObject({ dryRun: true, committed: false, quanta: { stored: 0, alreadyPresent: 2 }, datasets: { inserted: 0, alreadyPresent: 8 } });
    expect(await reg.dump()).toEqual(populated);
  });

  it('a record with another checksum is a conflict: the whole batch rolls back', async () => {
    await collectAndTransfer(reg, [items()[0]!]);
    const before = await reg.dump();
    const tampered = clone(ex.native1);
    const firstOut = fx.outputRefs()[0]!;
    const rows = tampered.datastoreRecords[DS_NAME]!.records[STORED_FILE_INFO_CLASS]![datasetIdHex(firstOut.id)]![STORED_FILE_INFO_TABLE]!;
    rows[0]!['checksum'] = 'f'.repeat(String(rows[0]!['checksum']).length);
    // Quantum 2 would insert 4 new datasets: none of them may survive.
    const report = await collectAndTransfer(reg, [items()[1]!, { quantum: ex.quantum1, provenance: tampered, quantumId: 'retry-of-q1' }]);
    expect(report.committed).toBe(false);
    const reasons = report.conflicts.map((c) => [c.reason, c.datasetId ?? null]);
    expect(reasons).toContainEqual(['recordConflict', firstOut.id]);
    // Quantum 1's outputs are already claimed by quantum 1 itself.
    expect(reasons.filter(([r]) => r === 'multipleProducers')).toHaveLength(4);
    const rc = report.conflicts.find((c) => c.reason === 'recordConflict')!;
    expect(rc).toMatchObject({ quantumId: 'retry-of-q1', details: { fields: ['checksum'], datastoreName: DS_NAME } });
    expect(await reg.dump()).toEqual(before);
    expect(await reg.getDataset(fx.output2Refs()[0]!.id)).toBeUndefined();
    // The caches were reset with the rollback: a new dataset type registers again.
    expect((await collectAndTransfer(reg, [items()[1]!])).committed).toBe(true);
  });

  it('the same id with another data ID, and the same data ID with another id, conflict per dataset', async () => {
    await collectAndTransfer(reg, items());
    const before = await reg.dump();
    // Quantum 2 re-planned: output2 refs keep their ids but move to other detectors, in a new quantum id.
    const moved = clone(fx.q2()) as ReturnType<typeof fx.q2>;
    const pairs = moved.outputs['output2']!;
    for (const pair of pairs) {
      const r = pair[0] as { dataId: { dataId: { detector: number } } };
      r.dataId.dataId.detector += 10;
    }
    const report = await collectAndTransfer(reg, [{ quantum: parseQuantum(moved), provenance: ex.native2, quantumId: 'replanned' }]);
    expect(report.committed).toBe(false);
    expect(report.conflicts.filter((c) => c.reason === 'datasetIdConflict').map((c) => c.datasetId).sort()).toEqual(
      fx.output2Refs().map((w) => w.id).sort(),
    );
    // Same data IDs under new ids.
    const renamed = clone(fx.q2()) as ReturnType<typeof fx.q2>;
    const newIds: string[] = [];
    for (const pair of renamed.outputs['output2']!) {
      const r = pair[0] as { id: string };
      r.id = makeDatasetId('UNIQUE', 'output2', {}, [], 'RUN');
      newIds.push(r.id);
    }
    const doc = clone(ex.native2);
    const map = new Map(fx.output2Refs().map((w, i) => [w.id, newIds[i]!]));
    doc.predictedOutputs = doc.predictedOutputs.map((id) => map.get(id)!);
    doc.actualOutputs = doc.actualOutputs.map((id) => map.get(id)!);
    doc.datastoreRecords = {};
    const r2 = await collectAndTransfer(reg, [{ quantum: parseQuantum(renamed), provenance: doc, quantumId: 'renamed' }]);
    expect(r2.conflicts.map((c) => c.reason)).toEqual(['dataIdConflict', 'dataIdConflict', 'dataIdConflict', 'dataIdConflict']);
    expect(r2.conflicts[0]!.details).toMatchObject({ datasetType: 'output2', run: 'RUN' });
    expect(await reg.dump()).toEqual(before);
  });

  it('the same quantum id with other content conflicts', async () => {
    await collectAndTransfer(reg, items());
    const before = await reg.dump();
    const changed = clone(ex.native1);
    changed.metrics['nGet'] = 999;
    const report = await collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: changed }]);
    expect(report.conflicts).toEqual([expect.objectContaining({ quantumId: Q1_ID, reason: 'quantumConflict', details: expect.objectContaining({ fields: ['provenance'] }) })]);
    expect(await reg.dump()).toEqual(before);
  });

  it("an input naming another item's output of the batch agrees with that output's ref, or conflicts (its own ref object or an equal copy is fine)", async () => {
    // Quantum 2 parsed on its own: its input refs are equal copies of quantum 1's outputs, not the same objects.
    expectClean(await collectAndTransfer(await fresh(), [items()[0]!, { quantum: parseQuantum(fx.q2()), provenance: ex.native2 }]));
    const elsewhere = clone(fx.q2()) as ReturnType<typeof fx.q2>;
    for (const pair of elsewhere.inputs['output']!) (pair[0] as { run: string }).run = 'elsewhere';
    const moved = clone(fx.q2()) as ReturnType<typeof fx.q2>;
    for (const pair of moved.inputs['output']!) (pair[0] as { dataId: { dataId: { detector: number } } }).dataId.dataId.detector += 10;
    for (const [q, what] of [[elsewhere, 'run'], [moved, 'dataId']] as const) {
      const report = await collectAndTransfer(reg, [items()[0]!, { quantum: parseQuantum(q), provenance: ex.native2 }]);
      expect(report.committed).toBe(false);
      const ids = fx.outputRefs().map((w) => w.id);
      expect(report.conflicts.map((c) => [c.reason, c.datasetId, c.quantumId])).toEqual(ids.sort().map((id) => ['inputRefMismatch', id, Q2_ID]));
      for (const c of report.conflicts) {
        const given = q.inputs['output']!.map((p) => p[0] as { id: string; run: string }).find((r) => r.id === c.datasetId)!;
        expect(c.details).toMatchObject({ registered: { datasetType: 'output', run: 'RUN' }, quantum: { datasetType: 'output', run: given.run } });
        const { registered, quantum } = c.details as { registered: { dataId: string }; quantum: { dataId: Record<string, unknown> } };
        expect(registered.dataId === `${Object.entries(quantum.dataId).sort().map(([k, v]) => `${k}=${v}`).join(',')}`).toBe(what === 'run');
      }
      expect(await reg.tableCounts()).toMatchObject({ datasets: 0, quanta: 0 });
    }
  });

  it('provenance that does not belong to its quantum conflicts', async () => {
    const extra = fx.missingRefs()[0]!.id;
    const doc = clone(ex.native1);
    doc.actualOutputs = [...doc.actualOutputs, extra];
    doc.availableInputs = [...doc.availableInputs, fx.missingRefs()[1]!.id];
    const report = await collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: doc }]);
    expect(report.conflicts.map((c) => [c.reason, c.datasetId])).toEqual([
      ['notPredictedOutput', extra],
      ['notPredictedInput', fx.missingRefs()[1]!.id],
    ]);
    // Swapped documents: the predicted sets do not match.
    const swapped = await collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: ex.native2 }]);
    expect(swapped.conflicts.map((c) => c.reason)).toContain('provenanceMismatch');
    expect(await reg.tableCounts()).toMatchObject({ datasets: 0, quanta: 0, runs: 0, dataset_types: 0 });
  });

  it('accepts daf_butler QuantumProvenanceData with derived, deterministic quantum ids', async () => {
    const report = await collectAndTransfer(reg, [
      { quantum: ex.quantum1, provenance: ex.daf1 },
      { quantum: ex.quantum2, provenance: ex.daf2 },
    ]);
    expectClean(report);
    expect(report.datasets.inserted).toBe(8);
    expect(report.records.inserted).toBe(8);
    const id1 = deriveQuantumId(ex.quantum1);
    expect(id1).toBe(deriveQuantumId(parseQuantum(fx.q1())));
    expect(await reg.getQuantum(id1)).toMatchObject({ format: 'daf_butler', taskName: 'lsst.pipe.base.tests.TestTask', host: null, startedAt: null });
    expect(await reg.quantumProvenance(id1)).toEqual(ex.daf1);
    expect((await collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: ex.daf1 }])).quanta).toEqual({ stored: 0, alreadyPresent: 1 });
  });

  it('stores a document given as text verbatim; the same document as an object is already present', async () => {
    const text = JSON.stringify(ex.native1, null, 2);
    const report = await collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: ex.native1, provenanceText: text }]);
    expectClean(report);
    expect((await reg.dump())['quanta']!.map((r) => (r as { provenance: string }).provenance)).toEqual([text]);
    expect(await reg.quantumProvenance(Q1_ID)).toEqual(ex.native1);
    expect((await collectAndTransfer(reg, [items()[0]!])).quanta).toEqual({ stored: 0, alreadyPresent: 1 });
  });

  it('documents beyond ASCII, one with a lone surrogate, are stored the same whichever thread writes them', async () => {
    const doc = { ...ex.native1, note: 'ünïcödé ✓ 😀 𝄞 ж' };
    const text = JSON.stringify(doc, null, 1);
    // A raw lone surrogate inside a string (JSON.stringify would have escaped it).
    const lone = JSON.stringify(ex.native2, null, 1).replace('"schemaVersion": "', '"schemaVersion": "\ud800');
    const batch: CollectItem[] = [
      { quantum: ex.quantum1, provenanceText: text },
      { quantum: ex.quantum2, provenanceText: lone },
    ];
    const stored = async (r: Registry): Promise<string[]> => (await r.dump())['quanta']!.map((row) => (row as { provenance: string }).provenance);
    const inline = await fresh();
    expectClean(await collectAndTransferWith(inline, batch, { writer: 'inline' }));
    expectClean(await collectAndTransfer(reg, batch));
    expect(await stored(reg)).toEqual(await stored(inline));
    expect((await stored(reg)).find((t) => t.includes('"note"'))).toBe(text);
  });

  it('documents given as text only are read (inline or on parser threads) and stored verbatim: the same report and registry as objects', async () => {
    const texts = [JSON.stringify(ex.native1, null, 1), JSON.stringify(ex.native2)];
    const asObjects = await fresh();
    const expected = await collectAndTransfer(asObjects, items());
    for (const parse of ['inline', 'thread'] as const) {
      const r = await fresh();
      const report = await collectAndTransfer(r, [{ quantum: ex.quantum1, provenanceText: texts[0]! }, { quantum: ex.quantum2, provenanceText: texts[1]! }], { parse });
      expectClean(report);
      expect({ ...report, timings: {} }).toEqual({ ...expected, timings: {} });
      expect(report.timings['parse']).toEqual(expect.any(Number));
      const dump = await r.dump();
      expect(new Set(dump['quanta']!.map((q) => (q as { provenance: string }).provenance))).toEqual(new Set(texts));
      expect({ ...dump, quanta: [] }).toEqual({ ...(await asObjects.dump()), quanta: [] });
    }
  });

  it('a document given as text is what is checked: a tampered checksum in the text conflicts, the whole batch rolls back', async () => {
    await collectAndTransfer(reg, [items()[0]!]);
    const before = await reg.dump();
    const tampered = clone(ex.native1);
    const firstOut = fx.outputRefs()[0]!;
    const rows = tampered.datastoreRecords[DS_NAME]!.records[STORED_FILE_INFO_CLASS]![datasetIdHex(firstOut.id)]![STORED_FILE_INFO_TABLE]!;
    rows[0]!['checksum'] = 'f'.repeat(String(rows[0]!['checksum']).length);
    for (const parse of ['inline', 'thread'] as const) {
      const report = await collectAndTransfer(
        reg,
        [{ quantum: ex.quantum2, provenanceText: JSON.stringify(ex.native2) }, { quantum: ex.quantum1, provenanceText: JSON.stringify(tampered), quantumId: 'retry-of-q1' }],
        { parse },
      );
      expect(report.committed).toBe(false);
      expect(report.conflicts.find((c) => c.reason === 'recordConflict')).toMatchObject({ datasetId: firstOut.id, quantumId: 'retry-of-q1', details: { fields: ['checksum'] } });
      expect(await reg.dump()).toEqual(before);
    }
  });

  it('a malformed document given as text fails the collect with the error reading it as an object gives (inline or on threads), nothing written', async () => {
    const badId = clone(ex.native1);
    badId.actualOutputs = ['not-an-id'];
    const badRecords = clone(ex.native1) as unknown as { datastoreRecords: Record<string, { records: Record<string, unknown> }> };
    badRecords.datastoreRecords[DS_NAME]!.records[STORED_FILE_INFO_CLASS] = [];
    const cases: Array<[string, unknown]> = [
      ['not JSON', '{"actualOutputs": ['],
      ['neither format', { foo: 1 }],
      ['a bad id', badId],
      ['bad records', badRecords],
    ];
    for (const [what, doc] of cases) {
      const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
      const batch: CollectItem[] = [items()[0]!, { quantum: ex.quantum1, provenanceText: text }, { quantum: ex.quantum2, provenanceText: JSON.stringify(ex.native2) }];
      const asObject = typeof doc === 'string' ? null : await collectAndTransfer(reg, [items()[0]!, { quantum: ex.quantum1, provenance: doc as NativeProvenance }, items()[1]!]).catch((e: unknown) => e);
      for (const parse of ['inline', 'thread'] as const) {
        const failure = await collectAndTransfer(reg, batch, { parse }).catch((e: unknown) => e);
        expect(failure, `${what}, ${parse}`).toBeInstanceOf(typeof doc === 'string' || what === 'neither format' || what === 'bad records' ? InvalidArgument : InvalidDatasetRef);
        if (asObject !== null) {
          expect((failure as Error).constructor, what).toBe((asObject as Error).constructor);
          expect((failure as Error).message, what).toBe((asObject as Error).message);
        } else {
          expect((failure as Error).message).toMatch(/^Provenance document 1 is not JSON/);
        }
        expect(await reg.tableCounts(), what).toMatchObject({ datasets: 0, quanta: 0, quantum_inputs: 0, datastore_records: 0 });
      }
    }
  });

  it('record merge: first writer wins and merging r1, r2, r1 again gives the union (daf_butler scenario 13)', async () => {
    await collectAndTransfer(reg, items());
    const r1 = parseDatastoreRecordData(ex.native1.datastoreRecords[DS_NAME]);
    const r2 = parseDatastoreRecordData(ex.native2.datastoreRecords[DS_NAME]);
    const merged = await fresh();
    await merged.insertDatasets([...fx.outputRefs(), ...fx.output2Refs()].map((w) => parseDatasetRef(w)), { autoRegister: true });
    const results = [];
    for (const r of [r1, r2, r1]) results.push(await merged.insertRecords(DS_NAME, r));
    expect(results.map((r) => [r.inserted, r.alreadyPresent, r.conflicts.length])).toEqual([
      [4, 0, 0],
      [4, 0, 0],
      [0, 4, 0],
    ]);
    const all = await merged.getRecords(DS_NAME, [...r1.keys(), ...r2.keys()]);
    expect(new Set(all.keys())).toEqual(new Set([...r1.keys(), ...r2.keys()]));
    for (const r of [r1, r2]) for (const id of r.keys()) expect(all.get(id)).toEqual(r.get(id));
    expect((await merged.dump())['datastore_records']).toEqual((await reg.dump())['datastore_records']);
  });

  it('reports progress about every 1% and can be cancelled (nothing written)', async () => {
    const many: CollectItem[] = [];
    for (let i = 0; i < 250; i++) many.push({ quantum: ex.quantum1, provenance: ex.native1 });
    const calls: Array<[number, number]> = [];
    await collectAndTransfer(reg, many, { dryRun: true, progress: (d, t) => calls.push([d, t]) });
    // `done` counts item-equivalents of work over both passes; steps are at least 1% of the items.
    // PostgreSQL reports its writing per applied stage (about 1/64 of the batch), SQLite per row.
    expect(calls.length).toBeGreaterThanOrEqual(backend.kind === 'sqlite' ? 50 : 40);
    expect(calls.length).toBeLessThanOrEqual(101);
    expect(calls.every(([d], i) => i === 0 || d - calls[i - 1]![0] >= 3 || d === 250)).toBe(true);
    expect(calls.at(-1)).toEqual([250, 250]);
    expect(calls.every(([d], i) => i === 0 || d > calls[i - 1]![0])).toBe(true);
    let n = 0;
    await expect(collectAndTransfer(reg, many, {
        checkCancelled: () => {
          if (++n > 3) throw new Error('cancelled');
        },
      })).rejects.toThrow('cancelled');
    expect(await reg.tableCounts()).toMatchObject({ datasets: 0, quanta: 0, datastore_records: 0 });
  });

  it('malformed documents are refused before anything is written', async () => {
    await expect(collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: { foo: 1 } as unknown as NativeProvenance }])).rejects.toThrow(InvalidArgument);
    const bad = clone(ex.native1);
    bad.actualOutputs = ['not-an-id'];
    await expect(collectAndTransfer(reg, [items()[1]!, { quantum: ex.quantum1, provenance: bad }])).rejects.toThrow();
    expect(await reg.tableCounts()).toMatchObject({ datasets: 0, quanta: 0 });
  });

  it('lists at most maxConflicts conflicts and counts the rest', async () => {
    await collectAndTransfer(reg, items());
    const changed = clone(ex.native2);
    for (const data of Object.values(changed.datastoreRecords)) {
      for (const perId of Object.values(data.records[STORED_FILE_INFO_CLASS]!)) for (const row of perId[STORED_FILE_INFO_TABLE]!) row['checksum'] = 'x';
    }
    const report = await collectAndTransfer(reg, [{ quantum: ex.quantum2, provenance: changed, quantumId: 'x' }], { maxConflicts: 2 });
    expect(report.conflicts).toHaveLength(2);
    expect(report.conflictsOmitted).toBeGreaterThan(0);
  });
});

/** A SQLite registry in its own temp directory, made before and removed after each test. */
function tempSqliteRegistry(prefix: string): { dir: string; reg: SqliteRegistry } {
  const t = {} as { dir: string; reg: SqliteRegistry };
  beforeEach(async () => {
    t.dir = mkdtempSync(join(tmpdir(), prefix));
    t.reg = await SqliteRegistry.open(join(t.dir, 'registry.sqlite3'));
  });
  afterEach(async () => {
    await t.reg.close();
    rmSync(t.dir, { recursive: true, force: true });
  });
  return t;
}

describe('collectAndTransfer on SQLite\'s writer thread', () => {
  const t = tempSqliteRegistry('qb-collect-');
  const many = (n: number): CollectItem[] => Array.from({ length: n }, () => ({ quantum: ex.quantum1, provenance: ex.native1 }));

  it('is chosen for large batches on a file registry, and the caller sees what it committed', async () => {
    const report = await collectAndTransferWith(t.reg, [...many(THREAD_MIN_ITEMS), items()[1]!]);
    expectClean(report);
    expect(report.writer).toBe('thread');
    expect(report).toMatchObject({ committed: true, quanta: { stored: 2, alreadyPresent: THREAD_MIN_ITEMS - 1 } });
    expect(await t.reg.tableCounts()).toMatchObject({ quanta: 2, datasets: 8 });
    const small = await collectAndTransferWith(t.reg, items());
    expect(small.writer).toBe('inline');
    expect(small.quanta).toEqual({ stored: 0, alreadyPresent: 2 });
  });

  it('a load into an empty registry builds the edge indexes after its rows: they are there (and used) after a commit and after a rollback', async () => {
    const indexes = (): string[] => {
      const db = new Database(join(t.dir, 'registry.sqlite3'), { readonly: true });
      try {
        const names = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'quantum_%_by_dataset' ORDER BY name").all();
        const plan = db.prepare<[], { detail: string }>('EXPLAIN QUERY PLAN SELECT quantum_id FROM quantum_outputs WHERE dataset_id = 1 AND actual = 1').all();
        return [...names.map((r) => r.name), ...plan.map((p) => p.detail)];
      } finally {
        db.close();
      }
    };
    const expected = ['quantum_inputs_by_dataset', 'quantum_outputs_by_dataset', expect.stringContaining('USING COVERING INDEX quantum_outputs_by_dataset')];
    const mismatched = { quantum: ex.quantum1, provenance: { ...clone(ex.native1), predictedOutputs: [] } } as CollectItem;
    const failed = await collectAndTransferWith(t.reg, [...many(THREAD_MIN_ITEMS), mismatched], { writer: 'thread' });
    expect(failed.committed).toBe(false);
    expect(indexes()).toEqual(expected);
    const report = await collectAndTransferWith(t.reg, [...many(THREAD_MIN_ITEMS), items()[1]!], { writer: 'thread' });
    expect(report.committed).toBe(true);
    expect(indexes()).toEqual(expected);
    // Quantum 2 again under another id claims the same outputs: the producer check (which reads the index) still finds it.
    const again = await collectAndTransferWith(t.reg, [...many(THREAD_MIN_ITEMS), { ...items()[1]!, quantumId: 'another-q2' }], { writer: 'thread' });
    expect(again.conflicts.filter((c) => c.reason === 'multipleProducers')).toHaveLength(4);
    expect(indexes()).toEqual(expected);
  });

  it('cancelled after the quanta were handed over: the thread rolls back and lets go of the lock', async () => {
    // 600 items: two batches of 256 quanta go to the thread before reading ends (at 30% of the work).
    let reading = true;
    await expect(collectAndTransferWith(t.reg, many(600), {
        writer: 'thread',
        progress: (done) => (reading = done < 180),
        checkCancelled: () => {
          if (!reading) throw new Error('cancelled');
        },
      })).rejects.toThrow('cancelled');
    expect(await t.reg.tableCounts()).toMatchObject({ datasets: 0, quanta: 0, quantum_inputs: 0, datastore_records: 0 });
    expect((await collectAndTransferWith(t.reg, items(), { writer: 'thread' })).committed).toBe(true);
  });

  it('a registry locked by another connection: the wait lets the event loop run, then the retryable StoreBusy (thread or inline); works once released', async () => {
    const path = join(t.dir, 'locked.sqlite3');
    const mine = await SqliteRegistry.open(path, { busyTimeoutMs: 200 });
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      for (const writer of ['thread', 'inline'] as const) {
        let turns = 0;
        const timer = setInterval(() => turns++, 1);
        const failure = await collectAndTransferWith(mine, items(), { writer }).catch((e: unknown) => e);
        clearInterval(timer);
        expect(failure).toBeInstanceOf(StoreBusy);
        expect((failure as InstanceType<typeof StoreBusy>).context.details).toMatchObject({ retryAfterMs: expect.any(Number) });
        // A wait inside SQLite would have left no turn to the timer.
        expect(turns).toBeGreaterThan(0);
      }
      expect(await mine.tableCounts()).toMatchObject({ quanta: 0, datasets: 0 });
      other.exec('ROLLBACK');
      expect((await collectAndTransferWith(mine, items(), { writer: 'thread' })).committed).toBe(true);
      expect(await mine.tableCounts()).toMatchObject({ quanta: 2, datasets: 8 });
    } finally {
      other.close();
      await mine.close();
    }
  });

  it('a writer thread spawned ahead of the load (while documents are read) takes no lock until the load begins', async () => {
    const path = join(t.dir, 'prepared.sqlite3');
    const mine = await SqliteRegistry.open(path, { busyTimeoutMs: 200 });
    const other = new Database(path);
    try {
      const opts = { dryRun: false, maxConflicts: 10, items: THREAD_MIN_ITEMS, writer: 'thread' as const };
      for (let n = 0; n < 2; n++) {
        const prepared = mine.prepareBulkLoad(opts);
        expect(prepared).toBeDefined();
        // Time for the thread to load; it must not have opened the registry and begun a transaction.
        await new Promise((r) => setTimeout(r, 300));
        other.exec('BEGIN IMMEDIATE');
        other.exec('ROLLBACK');
        prepared!.release();
        prepared!.release();
      }
      expect(mine.prepareBulkLoad({ ...opts, writer: 'inline' })).toBeUndefined();
      expect((await collectAndTransferWith(mine, items(), { writer: 'thread' })).committed).toBe(true);
      expect(await mine.tableCounts()).toMatchObject({ quanta: 2, datasets: 8 });
    } finally {
      other.close();
      await mine.close();
    }
  });

  it('a writer thread that stops showing signs of life is given up on: RepositoryError, nothing written', async () => {
    // Without the stall check this call would never return (the test would time out).
    const script = new URL('./hung-writer.mjs', import.meta.url);
    let failure: unknown;
    try {
      await collectAndTransferWith(t.reg, items(), { writer: 'thread', thread: { script, stallMs: 300 } });
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(RepositoryError);
    expect((failure as Error).message).toMatch(/stopped responding/);
    expect(await t.reg.tableCounts()).toMatchObject({ quanta: 0, datasets: 0 });
    expect((await collectAndTransferWith(t.reg, items(), { writer: 'thread' })).committed).toBe(true);
  });

  it('gives the same report and registry as the inline writer, and lets the event loop run meanwhile', async () => {
    const batch = [...many(THREAD_MIN_ITEMS), items()[1]!];
    const other = await SqliteRegistry.open(join(t.dir, 'other.sqlite3'));
    try {
      const inline = await collectAndTransferWith(other, batch, { writer: 'inline' });
      let turns = 0;
      const timer = setInterval(() => turns++, 0);
      const report = await collectAndTransferWith(t.reg, batch);
      clearInterval(timer);
      expect(turns).toBeGreaterThan(0); // an inline write leaves no turn to timers
      expect(report.writer).toBe('thread');
      expect({ ...report, writer: 'inline', timings: {} }).toEqual({ ...inline, timings: {} });
      expect(await t.reg.dump()).toEqual(await other.dump());
    } finally {
      await other.close();
    }
  });

  it('cancelled between pauses: the thread rolls back, nothing is written', async () => {
    let pauses = 0;
    await expect(
      collectAndTransferWith(t.reg, many(THREAD_MIN_ITEMS * 2), {
        checkCancelled: () => {
          if (++pauses > 5) throw new Error('cancelled');
        },
      }),
    ).rejects.toThrow('cancelled');
    expect(await t.reg.tableCounts()).toMatchObject({ quanta: 0, datasets: 0, quantum_inputs: 0 });
    expect((await collectAndTransferWith(t.reg, items())).committed).toBe(true);
  });

  it('an in-memory registry cannot be written from a thread', async () => {
    const mem = await SqliteRegistry.open(':memory:');
    try {
      await expect(collectAndTransferWith(mem, items(), { writer: 'thread' })).rejects.toThrow(InvalidArgument);
      expect((await collectAndTransferWith(mem, many(THREAD_MIN_ITEMS))).committed).toBe(true);
    } finally {
      await mem.close();
    }
  });
});

describe('collectAndTransfer of documents given as text, read on parser threads', () => {
  const t = tempSqliteRegistry('qb-collect-text-');
  /** `n` copies of quantum 1 (its document as text, or `bad`'s text for item i), then quantum 2. */
  const batch = (n: number, bad: ReadonlyMap<number, string> = new Map()): CollectItem[] => {
    const text = JSON.stringify(ex.native1);
    return [
      ...Array.from({ length: n }, (_, i): CollectItem => ({ quantum: ex.quantum1, provenanceText: bad.get(i) ?? text })),
      { quantum: ex.quantum2, provenanceText: JSON.stringify(ex.native2) },
    ];
  };

  it('a large batch is read on threads by default: the same report and registry as read inline', async () => {
    const many = batch(PARSE_THREAD_MIN_ITEMS + 300);
    const other = await SqliteRegistry.open(join(t.dir, 'other.sqlite3'));
    try {
      const inline = await collectAndTransferWith(other, many, { parse: 'inline' });
      let turns = 0;
      const timer = setInterval(() => turns++, 0);
      const report = await collectAndTransferWith(t.reg, many);
      clearInterval(timer);
      expect(turns).toBeGreaterThan(0);
      expectClean(report);
      expect(report).toMatchObject({ committed: true, quanta: { stored: 2, alreadyPresent: PARSE_THREAD_MIN_ITEMS + 299 }, datasets: { inserted: 8 } });
      expect({ ...report, timings: {} }).toEqual({ ...inline, timings: {} });
      expect(await t.reg.dump()).toEqual(await other.dump());
    } finally {
      await other.close();
    }
  });

  it('distinct documents, some given as objects, across several chunks: each item gets its own document back from the threads', async () => {
    // Alternating documents (a document read for the wrong item is a provenance mismatch), every third given as an object (not sent to a thread).
    const texts = [JSON.stringify(ex.native1), JSON.stringify(ex.native2)];
    const many = Array.from({ length: PARSE_THREAD_MIN_ITEMS + 700 }, (_, i): CollectItem => {
      const k = i % 2;
      const quantum = k === 0 ? ex.quantum1 : ex.quantum2;
      return i % 3 === 0 ? { quantum, provenance: k === 0 ? ex.native1 : ex.native2 } : { quantum, provenanceText: texts[k]! };
    });
    const other = await SqliteRegistry.open(join(t.dir, 'other-mixed.sqlite3'));
    try {
      const inline = await collectAndTransferWith(other, many, { parse: 'inline' });
      const report = await collectAndTransferWith(t.reg, many, { parse: 'thread' });
      expectClean(report);
      expect(report).toMatchObject({ committed: true, quanta: { stored: 2 }, datasets: { inserted: 8 } });
      expect({ ...report, timings: {} }).toEqual({ ...inline, timings: {} });
      expect(await t.reg.dump()).toEqual(await other.dump());
    } finally {
      await other.close();
    }
  });

  it('records read on parser threads (validated there) are stored, conflict and fail exactly as read inline', async () => {
    let n = 0;
    /** Quantum 1's document, its output k's record row changed by `edit`. */
    const variant = (...edits: Array<[number, (row: Record<string, unknown>, doc: NativeProvenance) => void]>): NativeProvenance => {
      const doc = clone(ex.native1);
      const perId = doc.datastoreRecords[DS_NAME]!.records[STORED_FILE_INFO_CLASS]!;
      for (const [k, edit] of edits) edit(perId[datasetIdHex(fx.outputRefs()[k]!.id)]![STORED_FILE_INFO_TABLE]![0]!, doc);
      return doc;
    };
    const collect = async (doc: NativeProvenance, parse: 'inline' | 'thread', opts: CollectOptions) => {
      const r = await SqliteRegistry.open(join(t.dir, `records-${n++}.sqlite3`));
      try {
        const batch: CollectItem[] = [{ quantum: ex.quantum1, provenanceText: JSON.stringify(doc) }, { quantum: ex.quantum2, provenanceText: JSON.stringify(ex.native2) }];
        const outcome = await collectAndTransferWith(r, batch, { ...opts, parse }).then((rep) => ({ ...rep, timings: {} }), (e: unknown) => e);
        return { outcome, dump: await r.dump() };
      } finally {
        await r.close();
      }
    };
    const same = async (doc: NativeProvenance, opts: CollectOptions = {}) => {
      const inline = await collect(doc, 'inline', opts);
      const threads = await collect(doc, 'thread', opts);
      expect(threads.outcome).toEqual(inline.outcome);
      if (inline.outcome instanceof Error) {
        expect((threads.outcome as Error).message).toBe(inline.outcome.message);
        expect((threads.outcome as InstanceType<typeof InvalidArgument>).context).toEqual((inline.outcome as InstanceType<typeof InvalidArgument>).context);
      }
      expect(threads.dump).toEqual(inline.dump);
      return inline;
    };
    // Further fields (extra), null checksum, no file_size, null component: stored alike.
    const odd = await same(
      variant(
        [0, (row) => { Object.assign(row, { note: 'x', level: 3, gone: null, checksum: null }); delete row['file_size']; }],
        [1, (row) => { row['component'] = null; }],
      ),
    );
    expect((odd.outcome as CollectReport).committed).toBe(true);
    expect(odd.dump['datastore_records']!.filter((r) => (r as { extra: string | null }).extra !== null)).toHaveLength(1);
    // An invalid record of an actual output: the same error.
    const invalid = await same(variant([2, (row) => { row['file_size'] = '12'; }]));
    expect(invalid.outcome).toBeInstanceOf(InvalidArgument);
    // A path outside the repository's own datastore: the same error, naming the same row.
    const outside = await same(variant([1, (row) => { row['path'] = '../elsewhere.json'; }]), { ownDatastore: DS_NAME });
    expect((outside.outcome as Error).message).toMatch(/^Datastore record .*\[0\]: path "\.\.\/elsewhere\.json" does not point inside the datastore/);
    expect((await same(variant(), { ownDatastore: DS_NAME })).outcome).toMatchObject({ committed: true });
    // An invalid record of an output not written: a conflict, not an error.
    const notWritten = await same(
      variant([3, (row, doc) => {
        row['file_size'] = 'x';
        doc.actualOutputs = doc.actualOutputs.filter((id) => id !== fx.outputRefs()[3]!.id);
      }]),
    );
    expect((notWritten.outcome as CollectReport).conflicts.map((c) => c.reason)).toContain('recordNotActualOutput');
    // Ids listed again, or outside the quantum (a thread packs an id its document lists again as its index in the
    // predicted list): the same conflicts, in the same order, as read inline.
    const stray = '00000000-0000-4000-8000-00000000abcd';
    const relisted = await same(
      variant([0, (row, doc) => {
        doc.predictedOutputs = [...doc.predictedOutputs, doc.predictedOutputs[0]!];
        doc.availableInputs = [...doc.availableInputs, stray, doc.predictedInputs[0]!];
        doc.actualInputs = [stray, ...doc.actualInputs];
        doc.actualOutputs = [...doc.actualOutputs, stray];
        doc.datastoreRecords[DS_NAME]!.records[STORED_FILE_INFO_CLASS]![datasetIdHex(stray)] = { [STORED_FILE_INFO_TABLE]: [{ ...row, path: 'stray.json' }] };
      }]),
    );
    expect((relisted.outcome as CollectReport).conflicts.map((c) => [c.reason, c.datasetId])).toEqual([
      ['notPredictedOutput', stray],
      ['notPredictedInput', stray],
    ]);
    const mismatched = await same(variant([0, (_row, doc) => { doc.predictedInputs = doc.predictedInputs.slice(1); doc.actualOutputs = doc.actualOutputs.slice(1); }]));
    expect((mismatched.outcome as CollectReport).conflicts.map((c) => c.reason)).toEqual(['provenanceMismatch', 'recordNotActualOutput']);
  });

  it('malformed documents in several chunks: the lowest-indexed one fails the call, as read inline; nothing written', async () => {
    const n = PARSE_THREAD_MIN_ITEMS + 1500;
    const bad = new Map([
      [n - 10, '{"late": '],
      [700, JSON.stringify({ ...ex.native1, predictedInputs: 'nope' })],
      [1200, '[1, 2'],
    ]);
    const inline = await collectAndTransferWith(t.reg, batch(n, bad), { parse: 'inline' }).catch((e: unknown) => e);
    expect(inline).toBeInstanceOf(InvalidArgument);
    expect((inline as Error).message).toMatch(/^Provenance document 700: 'predictedInputs' must be a list/);
    for (let round = 0; round < 3; round++) {
      const failure = await collectAndTransferWith(t.reg, batch(n, bad), { parse: 'thread' }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(InvalidArgument);
      expect((failure as Error).message).toBe((inline as Error).message);
      expect((failure as InstanceType<typeof InvalidArgument>).context).toEqual((inline as InstanceType<typeof InvalidArgument>).context);
    }
    expect(await t.reg.tableCounts()).toMatchObject({ datasets: 0, quanta: 0, quantum_inputs: 0, datastore_records: 0 });
    expect((await collectAndTransferWith(t.reg, batch(1))).committed).toBe(true);
  });

  it('cancelled while the documents are read: the call stops, nothing written', async () => {
    let answers = 0;
    const failure = await collectAndTransferWith(t.reg, batch(PARSE_THREAD_MIN_ITEMS * 3), {
      parse: 'thread',
      checkCancelled: () => {
        // The first call is before reading starts; the next ones as the threads answer.
        if (++answers > 2) throw new Error('cancelled');
      },
    }).catch((e: unknown) => e);
    expect((failure as Error).message).toBe('cancelled');
    expect(answers).toBe(3);
    expect(await t.reg.tableCounts()).toMatchObject({ datasets: 0, quanta: 0 });
    expect((await collectAndTransferWith(t.reg, batch(1))).committed).toBe(true);
  });
});
