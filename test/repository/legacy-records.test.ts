/**
 * Records written before daf_butler's names and checksums (formatter
 * `quantum_butler.formatters.JsonFormatter`, a SHA-256 checksum) describe the same artifact
 * as today's (daf_butler's JsonFormatter, a blake2b checksum): the registry takes the new
 * record as the one already present, through `insertRecords` and through collect-and-transfer
 * (SQLite's row writer and PostgreSQL's set-based writer alike). Two checksums of one
 * algorithm still have to agree, and another formatter is still another record. A record
 * without a checksum (daf_butler's default, and a new repository's) is compared by its other
 * fields alone.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/repository/registry.js';
import { collectAndTransfer, type CollectItem } from '../../src/repository/collect-and-transfer.js';
import { testBackends, type TestBackend } from '../support/registries.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { openButler } from '../../src/butler/open-butler.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import { parseQuantum } from '../../src/model/quantum.js';
import { parseDatasetRef, type DatasetRef } from '../../src/model/dataset-ref.js';
import { STORED_FILE_INFO_TABLE, type RecordRow } from '../../src/model/datastore-records.js';
import { blake2bHex, sha256Hex } from '../../src/util/checksum.js';
import * as fx from '../e2e/fixture.js';

const DS_NAME = 'InMemoryDatastore@legacy';
const LEGACY_JSON = 'quantum_butler.formatters.JsonFormatter';
const DAF_JSON = 'lsst.daf.butler.formatters.json.JsonFormatter';

interface Executed {
  item: CollectItem;
  outputs: DatasetRef[];
  /** The current record of each output, as the session wrote it, and the SHA-256 of its bytes. */
  records: Map<string, { row: RecordRow; sha256: string }>;
}

/** Quantum 1 of the fixture, executed on a memory datastore: its outputs carry today's records. */
async function execute(): Promise<Executed> {
  const storageClasses = StorageClassRegistry.withBuiltins();
  const datastore = new MemoryDatastore(DS_NAME, new MemoryStore(), storageClasses);
  for (const [i, w] of fx.inputRefs().entries()) await datastore.put({ kind: 'value', value: { data: i } }, parseDatasetRef(w));
  await datastore.put({ kind: 'value', value: { data: -1 } }, parseDatasetRef(fx.initRef()));
  const b = await openButler({ sessionId: 'legacy', quantum: fx.q1(), strictDeferred: false, datastore, storageClasses, universe: defaultUniverse() });
  for (const w of fx.inputRefs()) await b.get({ id: w.id });
  await b.get({ id: fx.initRef().id });
  for (const [i, w] of fx.outputRefs().entries()) await b.put({ id: w.id }, { kind: 'value', value: { data: i * 10 } });
  const provenance = b.close();
  const outputs = fx.outputRefs().map((w) => parseDatasetRef(w));
  const records = new Map<string, { row: RecordRow; sha256: string }>();
  const exported = await datastore.exportRecords(outputs);
  for (const ref of outputs) {
    const row = exported.get(ref.id)!.get(STORED_FILE_INFO_TABLE)![0]!;
    const { bytes } = await datastore.getBytes(ref);
    records.set(ref.id, { row, sha256: sha256Hex(bytes) });
  }
  return { item: { quantum: parseQuantum(fx.q1()), provenance }, outputs, records };
}

let ex: Executed;
beforeEach(async () => {
  ex ??= await execute();
});

/** The outputs registered with records in the older form (or another form `edit` makes of it). */
async function seed(reg: Registry, edit: (row: RecordRow, sha256: string) => RecordRow): Promise<void> {
  await reg.insertDatasets(ex.outputs, { autoRegister: true });
  const data = new Map(ex.outputs.map((ref) => {
    const { row, sha256 } = ex.records.get(ref.id)!;
    return [ref.id, new Map([[STORED_FILE_INFO_TABLE, [edit(row, sha256)]]])];
  }));
  const result = await reg.insertRecords(DS_NAME, data);
  expect(result.conflicts).toEqual([]);
}

const legacy = (row: RecordRow, sha256: string): RecordRow => ({ ...row, formatter: LEGACY_JSON, checksum: sha256 });

const CASES: Array<{ backend: TestBackend; writer: 'inline' | 'thread'; name: string }> = testBackends().flatMap((backend) =>
  (['inline', 'thread'] as const).map((writer) => ({ backend, writer, name: `${backend.kind}, ${writer} writer` })),
);

describe.each(CASES)('records in the older form ($name)', ({ backend, writer }) => {
  let reg: Registry;
  beforeEach(async () => {
    reg = await backend.fresh();
  });
  afterEach(() => backend.dispose(reg));

  it('the session writes daf_butler formatter names and blake2b checksums', () => {
    for (const { row } of ex.records.values()) {
      expect(row['formatter']).toBe(DAF_JSON);
      expect(row['checksum']).toMatch(/^[0-9a-f]{128}$/);
    }
  });

  it('insertRecords: today\'s record of an artifact is the older one already present', async () => {
    await seed(reg, legacy);
    const again = new Map(ex.outputs.map((ref) => [ref.id, new Map([[STORED_FILE_INFO_TABLE, [ex.records.get(ref.id)!.row]]])]));
    const result = await reg.insertRecords(DS_NAME, again);
    expect(result).toMatchObject({ inserted: 0, alreadyPresent: ex.outputs.length, conflicts: [] });
    // The stored record stays as it was.
    const stored = await reg.getRecords(DS_NAME, [ex.outputs[0]!.id]);
    expect(stored.get(ex.outputs[0]!.id)!.get(STORED_FILE_INFO_TABLE)![0]).toMatchObject({ formatter: LEGACY_JSON, checksum: ex.records.get(ex.outputs[0]!.id)!.sha256 });
  });

  it('collect-and-transfer: a quantum whose records are today\'s form of the stored ones transfers cleanly', async () => {
    await seed(reg, legacy);
    const report = await collectAndTransfer(reg, [ex.item], { writer });
    expect(report.conflicts).toEqual([]);
    expect(report.committed).toBe(true);
    expect(report.datasets).toMatchObject({ inserted: 0, alreadyPresent: ex.outputs.length });
    expect(report.records).toEqual({ inserted: 0, alreadyPresent: ex.outputs.length });
  });

  it('collect-and-transfer: two checksums of one algorithm must agree', async () => {
    // A stored blake2b of other bytes: the same algorithm, so compared, and different.
    await seed(reg, (row) => ({ ...row, formatter: LEGACY_JSON, checksum: blake2bHex(Buffer.from('other bytes')) }));
    const report = await collectAndTransfer(reg, [ex.item], { writer });
    expect(report.committed).toBe(false);
    expect(report.conflicts).toHaveLength(ex.outputs.length);
    for (const c of report.conflicts) expect(c).toMatchObject({ reason: 'recordConflict', details: { fields: ['checksum'] } });
  });

  it('collect-and-transfer: a stored record without a checksum (daf_butler\'s default) is the one a quantum brings with one, and the reverse', async () => {
    await seed(reg, (row) => ({ ...row, checksum: null }));
    const report = await collectAndTransfer(reg, [ex.item], { writer });
    expect(report.conflicts).toEqual([]);
    expect(report.committed).toBe(true);
    expect(report.records).toEqual({ inserted: 0, alreadyPresent: ex.outputs.length });
    // And the reverse: stored with a checksum, given without.
    const reg2 = await backend.fresh();
    try {
      await seed(reg2, (row) => row);
      const withoutChecksums = new Map(ex.outputs.map((ref) => [ref.id, new Map([[STORED_FILE_INFO_TABLE, [{ ...ex.records.get(ref.id)!.row, checksum: null }]]])]));
      expect(await reg2.insertRecords(DS_NAME, withoutChecksums)).toMatchObject({ inserted: 0, alreadyPresent: ex.outputs.length, conflicts: [] });
    } finally {
      await backend.dispose(reg2);
    }
  });

  it('collect-and-transfer: without a checksum, the other fields still decide (another size is another record)', async () => {
    await seed(reg, (row) => ({ ...row, checksum: null, file_size: (row['file_size'] as number) + 1 }));
    const report = await collectAndTransfer(reg, [ex.item], { writer });
    expect(report.committed).toBe(false);
    expect(report.conflicts).toHaveLength(ex.outputs.length);
    for (const c of report.conflicts) expect(c).toMatchObject({ reason: 'recordConflict', details: { fields: ['file_size'] } });
  });

  it('collect-and-transfer: another formatter is another record', async () => {
    await seed(reg, (row, sha256) => ({ ...row, formatter: 'quantum_butler.formatters.BytesFormatter', checksum: sha256 }));
    const report = await collectAndTransfer(reg, [ex.item], { writer });
    expect(report.committed).toBe(false);
    expect(report.conflicts).toHaveLength(ex.outputs.length);
    for (const c of report.conflicts) expect(c).toMatchObject({ reason: 'recordConflict', details: { fields: ['formatter'] } });
  });
});
