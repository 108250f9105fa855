/**
 * collect-and-transfer over the daf_butler QBB fixture (reference §5): quantum 1 reads the
 * inputs and writes `output`; quantum 2 reads `output` and writes `output2`. The
 * provenance documents come from real QuantumBackedButler sessions on a MemoryDatastore.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from '../../src/repository/registry.js';
import { collectAndTransfer as collectAndTransferWith, collectAndTransferAsync, deriveQuantumId, THREAD_MIN_ITEMS, type CollectItem, type CollectOptions, type CollectReport } from '../../src/repository/collect-and-transfer.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { openButler } from '../../src/butler/open-butler.js';
import { parseQuantum, type Quantum } from '../../src/model/quantum.js';
import { parseDatasetRef } from '../../src/model/dataset-ref.js';
import { makeDatasetId, datasetIdHex } from '../../src/model/dataset-id.js';
import { parseDatastoreRecordData, STORED_FILE_INFO_CLASS, STORED_FILE_INFO_TABLE } from '../../src/model/datastore-records.js';
import { InvalidArgument, RepositoryError, StoreBusy } from '../../src/model/errors.js';
import type { DafButlerProvenance, NativeProvenance } from '../../protocol/provenance.js';
import * as fx from '../e2e/fixture.js';

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
  const storageClasses = StorageClassRegistry.withBuiltins();
  const datastore = new MemoryDatastore(DS_NAME, new MemoryStore(), storageClasses);
  for (const [i, w] of fx.inputRefs().entries()) await datastore.put({ kind: 'value', value: { data: i + 1 } }, parseDatasetRef(w));
  await datastore.put({ kind: 'value', value: { data: -1 } }, parseDatasetRef(fx.initRef()));

  const b1 = await openButler({ sessionId: 's1', quantumId: Q1_ID, quantum: fx.q1(), strictDeferred: false, datastore, storageClasses });
  const inputs = fx.inputRefs();
  for (const w of inputs.slice(0, 3)) await b1.get({ id: w.id });
  await b1.get({ id: fx.initRef().id });
  await b1.stored({ id: inputs[3]!.id });
  b1.markInputUnused({ id: inputs[3]!.id }, 'not needed');
  for (const [i, w] of fx.outputRefs().entries()) await b1.put({ id: w.id }, { kind: 'value', value: { data: (i + 1) ** 2 } });
  const daf1 = b1.extractProvenance('daf_butler');
  const native1 = b1.close();

  const b2 = await openButler({ sessionId: 's2', quantumId: Q2_ID, quantum: fx.q2(), strictDeferred: false, datastore, storageClasses });
  for (const w of fx.outputRefs()) await b2.get({ id: w.id });
  for (const [i, w] of fx.output2Refs().entries()) await b2.put({ id: w.id }, { kind: 'value', value: { data: (i + 1) ** 3 } });
  const daf2 = b2.extractProvenance('daf_butler');
  const native2 = b2.close();
  return { quantum1: parseQuantum(fx.q1()), quantum2: parseQuantum(fx.q2()), native1, native2, daf1, daf2, datastore };
}

let ex: Executed;
let dir: string;
let reg: Registry;
beforeEach(async () => {
  ex ??= await execute();
  dir = mkdtempSync(join(tmpdir(), 'qb-collect-'));
  reg = Registry.open(join(dir, 'registry.sqlite3'));
});
afterEach(() => {
  reg.close();
  rmSync(dir, { recursive: true, force: true });
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

// Every behaviour holds with the writer inline and on its own thread (large batches use the thread).
describe.each(['inline', 'thread'] as const)('collectAndTransfer (%s writer)', (writer) => {
  const collectAndTransfer = (registry: Registry, batch: readonly CollectItem[], opts: CollectOptions = {}): CollectReport =>
    collectAndTransferWith(registry, batch, { writer, ...opts });

  it('transfers two chained quanta: datasets, records, quanta and edges', () => {
    const report = collectAndTransfer(reg, items());
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
    expect(reg.runs()).toEqual(['RUN']);
    expect(reg.datasetTypes().map((t) => t.name)).toEqual(['output', 'output2']);
    // The bulk path writes with foreign-key enforcement off: integrity holds by construction.
    expect(reg.database.pragma('foreign_key_check')).toEqual([]);
    expect(reg.database.pragma('foreign_keys', { simple: true })).toBe(1);
    const outs = [...fx.outputRefs(), ...fx.output2Refs()];
    for (const w of outs) expect(reg.getDataset(w.id)).toEqual(parseDatasetRef(w));
    // Inputs are not registered by collect-and-transfer (they were never outputs).
    expect(reg.getDataset(fx.inputRefs()[0]!.id)).toBeUndefined();
    // The registry has the datastore's own records for every output.
    const recs = reg.getRecords(DS_NAME, outs.map((w) => w.id));
    expect(recs.size).toBe(8);
    return Promise.all(
      outs.map(async (w) => {
        const info = await ex.datastore.record(parseDatasetRef(w));
        expect(recs.get(w.id)!.get(STORED_FILE_INFO_TABLE)![0]).toMatchObject({ path: info!.path, checksum: info!.checksum, file_size: info!.file_size });
      }),
    );
  });

  it('stores the quantum, its document and the predicted/available/actual flags', () => {
    collectAndTransfer(reg, items());
    const q1 = reg.getQuantum(Q1_ID)!;
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
    expect(reg.quantumProvenance(Q1_ID)).toEqual(ex.native1);
    expect(reg.quantumProvenance(Q2_ID)).toEqual(ex.native2);
  });

  it('re-running is a no-op that reports everything as already present', () => {
    collectAndTransfer(reg, items());
    const before = reg.dump();
    const again = collectAndTransfer(reg, items());
    expectClean(again);
    expect(again).toMatchObject({
      committed: true,
      quanta: { stored: 0, alreadyPresent: 2 },
      datasets: { inserted: 0, alreadyPresent: 8 },
      records: { inserted: 0, alreadyPresent: 8 },
    });
    expect(again.datasets.byGroup.map((g) => g.count)).toEqual([4, 4]);
    expect(reg.dump()).toEqual(before);
    // Overlapping batches resume: quantum 2 alone, then both.
    const fresh = Registry.open(join(dir, 'fresh.sqlite3'));
    try {
      expect(collectAndTransfer(fresh, [items()[1]!]).datasets.inserted).toBe(4);
      expect(collectAndTransfer(fresh, items())).toMatchObject({ quanta: { stored: 1, alreadyPresent: 1 }, datasets: { inserted: 4, alreadyPresent: 4 } });
    } finally {
      fresh.close();
    }
  });

  it('a duplicate item in one batch is already present, not a conflict', () => {
    const report = collectAndTransfer(reg, [...items(), items()[0]!]);
    expectClean(report);
    expect(report.quanta).toEqual({ stored: 2, alreadyPresent: 1 });
    expect(report.records).toEqual({ inserted: 8, alreadyPresent: 4 });
  });

  it('dry run computes the same report and writes nothing', () => {
    const empty = reg.dump();
    const dry = collectAndTransfer(reg, items(), { dryRun: true });
    expect(reg.dump()).toEqual(empty);
    const real = collectAndTransfer(reg, items());
    expect({ ...dry, dryRun: false, committed: true, writer: real.writer, timings: {} }).toEqual({ ...real, timings: {} });
    expect(Object.keys(dry.timings)).toEqual(Object.keys(real.timings).map((k) => (k === 'commit' ? 'end' : k)));
    const populated = reg.dump();
    const dryAgain = collectAndTransfer(reg, items(), { dryRun: true });
    expect(dryAgain).toMatchObject({ dryRun: true, committed: false, quanta: { stored: 0, alreadyPresent: 2 }, datasets: { inserted: 0, alreadyPresent: 8 } });
    expect(reg.dump()).toEqual(populated);
  });

  it('a record with another checksum is a conflict: the whole batch rolls back', () => {
    collectAndTransfer(reg, [items()[0]!]);
    const before = reg.dump();
    const tampered = clone(ex.native1);
    const firstOut = fx.outputRefs()[0]!;
    const rows = tampered.datastoreRecords[DS_NAME]!.records[STORED_FILE_INFO_CLASS]![datasetIdHex(firstOut.id)]![STORED_FILE_INFO_TABLE]!;
    rows[0]!['checksum'] = 'f'.repeat(String(rows[0]!['checksum']).length);
    // Quantum 2 would insert 4 new datasets: none of them may survive.
    const report = collectAndTransfer(reg, [items()[1]!, { quantum: ex.quantum1, provenance: tampered, quantumId: 'retry-of-q1' }]);
    expect(report.committed).toBe(false);
    const reasons = report.conflicts.map((c) => [c.reason, c.datasetId ?? null]);
    expect(reasons).toContainEqual(['recordConflict', firstOut.id]);
    // Quantum 1's outputs are already claimed by quantum 1 itself.
    expect(reasons.filter(([r]) => r === 'multipleProducers')).toHaveLength(4);
    const rc = report.conflicts.find((c) => c.reason === 'recordConflict')!;
    expect(rc).toMatchObject({ quantumId: 'retry-of-q1', details: { fields: ['checksum'], datastoreName: DS_NAME } });
    expect(reg.dump()).toEqual(before);
    expect(reg.getDataset(fx.output2Refs()[0]!.id)).toBeUndefined();
    // The caches were reset with the rollback: a new dataset type registers again.
    expect(collectAndTransfer(reg, [items()[1]!]).committed).toBe(true);
  });

  it('the same id with another data ID, and the same data ID with another id, conflict per dataset', () => {
    collectAndTransfer(reg, items());
    const before = reg.dump();
    // Quantum 2 re-planned: output2 refs keep their ids but move to other detectors, in a new quantum id.
    const moved = clone(fx.q2()) as ReturnType<typeof fx.q2>;
    const pairs = moved.outputs['output2']!;
    for (const pair of pairs) {
      const r = pair[0] as { dataId: { dataId: { detector: number } } };
      r.dataId.dataId.detector += 10;
    }
    const report = collectAndTransfer(reg, [{ quantum: parseQuantum(moved), provenance: ex.native2, quantumId: 'replanned' }]);
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
    const r2 = collectAndTransfer(reg, [{ quantum: parseQuantum(renamed), provenance: doc, quantumId: 'renamed' }]);
    expect(r2.conflicts.map((c) => c.reason)).toEqual(['dataIdConflict', 'dataIdConflict', 'dataIdConflict', 'dataIdConflict']);
    expect(r2.conflicts[0]!.details).toMatchObject({ datasetType: 'output2', run: 'RUN' });
    expect(reg.dump()).toEqual(before);
  });

  it('the same quantum id with other content conflicts', () => {
    collectAndTransfer(reg, items());
    const before = reg.dump();
    const changed = clone(ex.native1);
    changed.metrics['nGet'] = 999;
    const report = collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: changed }]);
    expect(report.conflicts).toEqual([expect.objectContaining({ quantumId: Q1_ID, reason: 'quantumConflict', details: expect.objectContaining({ fields: ['provenance'] }) })]);
    expect(reg.dump()).toEqual(before);
  });

  it('provenance that does not belong to its quantum conflicts', () => {
    const extra = fx.missingRefs()[0]!.id;
    const doc = clone(ex.native1);
    doc.actualOutputs = [...doc.actualOutputs, extra];
    doc.availableInputs = [...doc.availableInputs, fx.missingRefs()[1]!.id];
    const report = collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: doc }]);
    expect(report.conflicts.map((c) => [c.reason, c.datasetId])).toEqual([
      ['notPredictedOutput', extra],
      ['notPredictedInput', fx.missingRefs()[1]!.id],
    ]);
    // Swapped documents: the predicted sets do not match.
    const swapped = collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: ex.native2 }]);
    expect(swapped.conflicts.map((c) => c.reason)).toContain('provenanceMismatch');
    expect(reg.tableCounts()).toMatchObject({ datasets: 0, quanta: 0, runs: 0, dataset_types: 0 });
  });

  it('accepts daf_butler QuantumProvenanceData with derived, deterministic quantum ids', () => {
    const report = collectAndTransfer(reg, [
      { quantum: ex.quantum1, provenance: ex.daf1 },
      { quantum: ex.quantum2, provenance: ex.daf2 },
    ]);
    expectClean(report);
    expect(report.datasets.inserted).toBe(8);
    expect(report.records.inserted).toBe(8);
    const id1 = deriveQuantumId(ex.quantum1);
    expect(id1).toBe(deriveQuantumId(parseQuantum(fx.q1())));
    expect(reg.getQuantum(id1)).toMatchObject({ format: 'daf_butler', taskName: 'lsst.pipe.base.tests.TestTask', host: null, startedAt: null });
    expect(reg.quantumProvenance(id1)).toEqual(ex.daf1);
    expect(collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: ex.daf1 }]).quanta).toEqual({ stored: 0, alreadyPresent: 1 });
  });

  it('stores a document given as text verbatim; the same document as an object is already present', () => {
    const text = JSON.stringify(ex.native1, null, 2);
    const report = collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: ex.native1, provenanceText: text }]);
    expectClean(report);
    expect(reg.database.prepare('SELECT provenance FROM quanta WHERE id = ?').pluck().get(Q1_ID)).toBe(text);
    expect(reg.quantumProvenance(Q1_ID)).toEqual(ex.native1);
    expect(collectAndTransfer(reg, [items()[0]!]).quanta).toEqual({ stored: 0, alreadyPresent: 1 });
  });

  it('record merge: first writer wins and merging r1, r2, r1 again gives the union (daf_butler scenario 13)', () => {
    collectAndTransfer(reg, items());
    const r1 = parseDatastoreRecordData(ex.native1.datastoreRecords[DS_NAME]);
    const r2 = parseDatastoreRecordData(ex.native2.datastoreRecords[DS_NAME]);
    const fresh = Registry.open(join(dir, 'merge.sqlite3'));
    try {
      fresh.insertDatasets([...fx.outputRefs(), ...fx.output2Refs()].map((w) => parseDatasetRef(w)), { autoRegister: true });
      const results = [r1, r2, r1].map((r) => fresh.insertRecords(DS_NAME, r));
      expect(results.map((r) => [r.inserted, r.alreadyPresent, r.conflicts.length])).toEqual([
        [4, 0, 0],
        [4, 0, 0],
        [0, 4, 0],
      ]);
      const all = fresh.getRecords(DS_NAME, [...r1.keys(), ...r2.keys()]);
      expect(new Set(all.keys())).toEqual(new Set([...r1.keys(), ...r2.keys()]));
      for (const r of [r1, r2]) for (const id of r.keys()) expect(all.get(id)).toEqual(r.get(id));
      expect(fresh.dump()['datastore_records']).toEqual(reg.dump()['datastore_records']);
    } finally {
      fresh.close();
    }
  });

  it('reports progress about every 1% and can be cancelled (nothing written)', () => {
    const many: CollectItem[] = [];
    for (let i = 0; i < 250; i++) many.push({ quantum: ex.quantum1, provenance: ex.native1 });
    const calls: Array<[number, number]> = [];
    collectAndTransfer(reg, many, { dryRun: true, progress: (d, t) => calls.push([d, t]) });
    // `done` counts item-equivalents of work over both passes; steps are at least 1% of the items.
    expect(calls.length).toBeGreaterThanOrEqual(50);
    expect(calls.length).toBeLessThanOrEqual(101);
    expect(calls.every(([d], i) => i === 0 || d - calls[i - 1]![0] >= 3 || d === 250)).toBe(true);
    expect(calls.at(-1)).toEqual([250, 250]);
    expect(calls.every(([d], i) => i === 0 || d > calls[i - 1]![0])).toBe(true);
    let n = 0;
    expect(() =>
      collectAndTransfer(reg, many, {
        checkCancelled: () => {
          if (++n > 3) throw new Error('cancelled');
        },
      }),
    ).toThrow('cancelled');
    expect(reg.tableCounts()).toMatchObject({ datasets: 0, quanta: 0, datastore_records: 0 });
  });

  it('malformed documents are refused before anything is written', () => {
    expect(() => collectAndTransfer(reg, [{ quantum: ex.quantum1, provenance: { foo: 1 } as unknown as NativeProvenance }])).toThrow(InvalidArgument);
    const bad = clone(ex.native1);
    bad.actualOutputs = ['not-an-id'];
    expect(() => collectAndTransfer(reg, [items()[1]!, { quantum: ex.quantum1, provenance: bad }])).toThrow();
    expect(reg.tableCounts()).toMatchObject({ datasets: 0, quanta: 0 });
  });

  it('lists at most maxConflicts conflicts and counts the rest', () => {
    collectAndTransfer(reg, items());
    const changed = clone(ex.native2);
    for (const data of Object.values(changed.datastoreRecords)) {
      for (const perId of Object.values(data.records[STORED_FILE_INFO_CLASS]!)) for (const row of perId[STORED_FILE_INFO_TABLE]!) row['checksum'] = 'x';
    }
    const report = collectAndTransfer(reg, [{ quantum: ex.quantum2, provenance: changed, quantumId: 'x' }], { maxConflicts: 2 });
    expect(report.conflicts).toHaveLength(2);
    expect(report.conflictsOmitted).toBeGreaterThan(0);
  });
});

describe('collectAndTransfer on a writer thread', () => {
  const many = (n: number): CollectItem[] => Array.from({ length: n }, () => ({ quantum: ex.quantum1, provenance: ex.native1 }));

  it('is chosen for large batches on a file registry, and the caller sees what it committed', () => {
    const report = collectAndTransferWith(reg, [...many(THREAD_MIN_ITEMS), items()[1]!]);
    expectClean(report);
    expect(report.writer).toBe('thread');
    expect(report).toMatchObject({ committed: true, quanta: { stored: 2, alreadyPresent: THREAD_MIN_ITEMS - 1 } });
    expect(reg.tableCounts()).toMatchObject({ quanta: 2, datasets: 8 });
    const small = collectAndTransferWith(reg, items());
    expect(small.writer).toBe('inline');
    expect(small.quanta).toEqual({ stored: 0, alreadyPresent: 2 });
  });

  it('cancelled after the quanta were handed over: the thread rolls back and lets go of the lock', () => {
    // 600 items: two batches of 256 quanta go to the thread before reading ends (at 30% of the work).
    let reading = true;
    expect(() =>
      collectAndTransferWith(reg, many(600), {
        writer: 'thread',
        progress: (done) => (reading = done < 180),
        checkCancelled: () => {
          if (!reading) throw new Error('cancelled');
        },
      }),
    ).toThrow('cancelled');
    expect(reg.tableCounts()).toMatchObject({ datasets: 0, quanta: 0, quantum_inputs: 0, datastore_records: 0 });
    expect(collectAndTransferWith(reg, items(), { writer: 'thread' }).committed).toBe(true);
  });

  it('a registry locked by another connection fails with the retryable StoreBusy (thread or inline), and works once released', () => {
    const path = join(dir, 'locked.sqlite3');
    const mine = Registry.open(path, { busyTimeoutMs: 100 });
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      expect(() => collectAndTransferWith(mine, items(), { writer: 'thread' })).toThrow(StoreBusy);
      expect(() => collectAndTransferWith(mine, items(), { writer: 'inline' })).toThrow(StoreBusy);
      expect(mine.tableCounts()).toMatchObject({ quanta: 0, datasets: 0 });
      other.exec('ROLLBACK');
      expect(collectAndTransferWith(mine, items(), { writer: 'thread' }).committed).toBe(true);
      expect(mine.tableCounts()).toMatchObject({ quanta: 2, datasets: 8 });
    } finally {
      other.close();
      mine.close();
    }
  });

  it('a writer thread that stops showing signs of life is given up on: RepositoryError, nothing written', () => {
    // Without the stall check this call would never return (the test would time out).
    const script = new URL('./hung-writer.mjs', import.meta.url);
    let failure: unknown;
    try {
      collectAndTransferWith(reg, items(), { writer: 'thread', thread: { script, stallMs: 300 } });
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(RepositoryError);
    expect((failure as Error).message).toMatch(/stopped responding/);
    expect(reg.tableCounts()).toMatchObject({ quanta: 0, datasets: 0 });
    expect(collectAndTransferWith(reg, items(), { writer: 'thread' }).committed).toBe(true);
  });

  it('collectAndTransferAsync gives the same report and registry, and lets the event loop run meanwhile', async () => {
    const batch = [...many(THREAD_MIN_ITEMS), items()[1]!];
    const other = Registry.open(join(dir, 'other.sqlite3'));
    try {
      const sync = collectAndTransferWith(other, batch);
      let turns = 0;
      const timer = setInterval(() => turns++, 0);
      const report = await collectAndTransferAsync(reg, batch);
      clearInterval(timer);
      expect(turns).toBeGreaterThan(0); // the synchronous call leaves no turn to timers
      expect({ ...report, timings: {} }).toEqual({ ...sync, timings: {} });
      expect(reg.dump()).toEqual(other.dump());
    } finally {
      other.close();
    }
  });

  it('collectAndTransferAsync cancelled between pauses: the thread rolls back, nothing is written', async () => {
    let pauses = 0;
    await expect(
      collectAndTransferAsync(reg, many(THREAD_MIN_ITEMS * 2), {
        checkCancelled: () => {
          if (++pauses > 5) throw new Error('cancelled');
        },
      }),
    ).rejects.toThrow('cancelled');
    expect(reg.tableCounts()).toMatchObject({ quanta: 0, datasets: 0, quantum_inputs: 0 });
    expect((await collectAndTransferAsync(reg, items())).committed).toBe(true);
  });

  it('an in-memory registry cannot be written from a thread', () => {
    const mem = Registry.open(':memory:');
    try {
      expect(() => collectAndTransferWith(mem, items(), { writer: 'thread' })).toThrow(InvalidArgument);
      expect(collectAndTransferWith(mem, many(THREAD_MIN_ITEMS)).committed).toBe(true);
    } finally {
      mem.close();
    }
  });
});
