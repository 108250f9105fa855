/**
 * The registry contract, on every backend (SQLite always, PostgreSQL when a test server is
 * configured): runs and dataset types, dataset "ensure" semantics and conflicts
 * (all-or-nothing), queries, datastore records (first writer wins, conflicts reported),
 * quanta and their provenance documents. Then what only the SQLite file has: its schema,
 * pragmas and reopening.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/repository/registry.js';
import { SqliteRegistry } from '../../src/repository/sqlite/registry.js';
import { REGISTRY_SCHEMA_VERSION } from '../../src/repository/registry-schema.js';
import { testBackends } from '../support/registries.js';
import { makeDatasetType, type DatasetType } from '../../src/model/dataset-type.js';
import { makeDatasetRef, type DatasetRef } from '../../src/model/dataset-ref.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDataId } from '../../src/model/data-coordinate.js';
import { NULL_STRING, STORED_FILE_INFO_TABLE, type DatastoreRecordData, type RecordRow } from '../../src/model/datastore-records.js';
import {
  ConflictingDefinition,
  DatasetNotFound,
  DimensionNameError,
  DimensionValueError,
  InvalidArgument,
  RegistrySchemaMismatch,
  RepositoryError,
  UnknownDatasetType,
} from '../../src/model/errors.js';

const DIMS = ['instrument', 'detector'];
const ID_OLD = '0f8d4c2e-1111-4222-8333-444455556666';
const calexp = makeDatasetType({ name: 'calexp', storageClass: 'StructuredDataDict', dimensions: DIMS });
const src = makeDatasetType({ name: 'src', storageClass: 'StructuredDataDict', dimensions: DIMS });

function ref(dt: DatasetType, detector: number | string, run = 'run1', id?: string): DatasetRef {
  const dataId = makeDataId({ instrument: 'Cam1', detector });
  return makeDatasetRef(dt, dataId, run, id ?? makeDatasetId('DATAID_TYPE_RUN', dt.name, dataId, dt.dimensions, run));
}

function record(path: string, checksum: string | null, extra: Partial<RecordRow> = {}): RecordRow {
  return { formatter: 'json', path, storage_class: 'StructuredDataDict', component: NULL_STRING, checksum, file_size: 10, ...extra };
}

function records(entries: Array<[string, RecordRow[]]>): DatastoreRecordData {
  return new Map(entries.map(([id, rows]) => [id, new Map([[STORED_FILE_INFO_TABLE, rows]])]));
}

describe.each(testBackends())('Registry ($kind)', (backend) => {
let reg: Registry;
beforeEach(async () => {
  reg = await backend.fresh();
});
afterEach(async () => {
  await backend.dispose(reg);
});

it('a closed registry refuses calls; close is idempotent', async () => {
  const other = await backend.fresh();
  await backend.dispose(other);
  await other.close();
  expect(other.isOpen).toBe(false);
  await expect(other.runs()).rejects.toThrow(RepositoryError);
});

describe('Registry: runs and dataset types', () => {
  it('registers runs idempotently', async () => {
    expect(await reg.registerRun('r')).toBe(true);
    expect(await reg.registerRun('r')).toBe(false);
    expect(await reg.hasRun('r')).toBe(true);
    await expect(reg.registerRun('')).rejects.toThrow(InvalidArgument);
  });

  it('registers dataset types; a different definition conflicts', async () => {
    expect(await reg.registerDatasetType(calexp)).toBe(true);
    expect(await reg.registerDatasetType(calexp)).toBe(false);
    expect(await reg.getDatasetType('calexp')).toEqual(calexp);
    expect(await reg.getDatasetType('nope')).toBeUndefined();
    const other = makeDatasetType({ ...calexp, storageClass: 'StructuredDataList' });
    const err = (await reg.registerDatasetType(other).catch((e: unknown) => e)) as InstanceType<typeof ConflictingDefinition>;
    expect(err).toBeInstanceOf(ConflictingDefinition);
    expect(err.context.details).toMatchObject({ existing: { storageClass: 'StructuredDataDict' }, given: { storageClass: 'StructuredDataList' } });
    await reg.registerDatasetType(src);
    expect((await reg.datasetTypes()).map((t) => t.name)).toEqual(['calexp', 'src']);
    const comp = makeDatasetType({ name: 'calexp.wcs', storageClass: 'StructuredDataDict', dimensions: DIMS, parentStorageClass: 'StructuredDataDict', isCalibration: true });
    await reg.registerDatasetType(comp);
    expect(await reg.getDatasetType('calexp.wcs')).toEqual(comp);
  });
});

describe('Registry: implied dimensions', () => {
  it('sees one dataset type whether its implied dimensions are declared or not (daf_butler conforms them)', async () => {
    const flat = makeDatasetType({ name: 'flat', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector', 'physical_filter', 'band'], isCalibration: true });
    expect(await reg.registerDatasetType(flat)).toBe(true);
    const requiredOnly = makeDatasetType({ name: 'flat', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector', 'physical_filter'], isCalibration: true });
    expect(await reg.registerDatasetType(requiredOnly)).toBe(false);
    expect((await reg.getDatasetType('flat'))!.dimensions).toEqual(['instrument', 'detector', 'physical_filter']);
    expect((await reg.getDatasetType('flat'))!.group.implied).toEqual(['band']);
    // Dropping a required dimension is still another definition.
    await expect(reg.registerDatasetType(makeDatasetType({ ...requiredOnly, dimensions: ['instrument', 'detector'] }))).rejects.toThrow(ConflictingDefinition);
  });

  it('finds data IDs stored before values were coerced ("4" for an int key) by 4 and by "4"', async () => {
    await reg.registerDatasetType(calexp);
    await reg.registerRun('run1');
    const old = ref(calexp, 3);
    // A row as an older version wrote it: the detector as text (a ref built without standardising its data ID).
    const legacy: DatasetRef = { id: ID_OLD, datasetType: calexp, dataId: { detector: '4', instrument: 'Cam1' }, run: 'run1' };
    await reg.insertDatasets([old, legacy]);
    expect((await reg.getDataset(ID_OLD))!.dataId).toEqual({ detector: '4', instrument: 'Cam1' });
    expect((await reg.queryDatasets({ dataId: { detector: 4 } })).map((r) => r.id)).toEqual([ID_OLD]);
    expect((await reg.queryDatasets({ dataId: { detector: '4' } })).map((r) => r.id)).toEqual([ID_OLD]);
    expect((await reg.queryDatasets({ dataId: { detector: '3' } })).map((r) => r.id)).toEqual([old.id]);
    // The key made the same way for both: the old row is found by its coerced data ID too.
    expect((await reg.findDataset('calexp', { instrument: 'Cam1', detector: 4 }, 'run1'))?.id).toBe(ID_OLD);
  });
});

describe('Registry: datasets', () => {
  beforeEach(async () => {
    await reg.registerDatasetType(calexp);
    await reg.registerDatasetType(src);
    await reg.registerRun('run1');
  });

  it('inserts with ensure semantics', async () => {
    const refs = [ref(calexp, 1), ref(calexp, 2)];
    expect(await reg.insertDatasets(refs)).toEqual({ inserted: 2, existing: 0 });
    expect(await reg.insertDatasets([...refs, ref(calexp, 3)])).toEqual({ inserted: 1, existing: 2 });
    expect(await reg.getDataset(refs[0]!.id)).toEqual(refs[0]);
    expect(await reg.getDataset(refs[0]!.id.replace(/-/g, '').toUpperCase())).toEqual(refs[0]);
    expect(await reg.getDataset(makeDatasetId('UNIQUE', 'x', {}, [], 'r'))).toBeUndefined();
    expect(await reg.findDataset('calexp', { instrument: 'Cam1', detector: 2 }, 'run1')).toEqual(refs[1]);
    expect(await reg.findDataset('calexp', { instrument: 'Cam1', detector: 2 }, 'run2')).toBeUndefined();
    expect(await reg.findDataset('nope', { instrument: 'Cam1', detector: 2 }, 'run1')).toBeUndefined();
  });

  it('unknown dataset types and runs fail unless autoRegister', async () => {
    const t = makeDatasetType({ name: 'newtype', storageClass: 'StructuredDataDict', dimensions: DIMS });
    await expect(reg.insertDatasets([ref(t, 1)])).rejects.toThrow(UnknownDatasetType);
    await expect(reg.insertDatasets([ref(calexp, 1, 'newrun')])).rejects.toThrow(RepositoryError);
    expect(await reg.insertDatasets([ref(t, 1, 'newrun')], { autoRegister: true })).toEqual({ inserted: 1, existing: 0 });
    expect(await reg.getDatasetType('newtype')).toEqual(t);
    expect(await reg.runs()).toEqual(['newrun', 'run1']);
  });

  it('conflicts are listed and nothing is written', async () => {
    const a = ref(calexp, 1);
    await reg.insertDatasets([a]);
    const before = await reg.dump();
    // Same id, different data ID; same (type, run, data ID), different id; plus a good one.
    const sameIdOtherDataId = ref(calexp, 7, 'run1', a.id);
    const sameDataIdOtherId = ref(calexp, 1, 'run1', makeDatasetId('UNIQUE', 'calexp', {}, [], 'run1'));
    let err: InstanceType<typeof ConflictingDefinition> | undefined;
    try {
      await reg.insertDatasets([ref(calexp, 2), sameIdOtherDataId, sameDataIdOtherId]);
    } catch (e) {
      err = e as InstanceType<typeof ConflictingDefinition>;
    }
    expect(err).toBeInstanceOf(ConflictingDefinition);
    const conflicts = (err!.context.details as { conflicts: Array<{ datasetId: string; reason: string }> }).conflicts;
    expect(conflicts.map((c) => [c.datasetId, c.reason])).toEqual([
      [a.id, 'datasetIdConflict'],
      [sameDataIdOtherId.id, 'dataIdConflict'],
    ]);
    expect(await reg.dump()).toEqual(before);
    expect(await reg.getDataset(ref(calexp, 2).id)).toBeUndefined();
  });

  it('a ref whose dimensions differ from the registered type conflicts', async () => {
    const wrong = makeDatasetType({ name: 'calexp', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector', 'visit'] });
    const r = makeDatasetRef(wrong, makeDataId({ instrument: 'Cam1', detector: 1, visit: 3 }), 'run1', makeDatasetId('UNIQUE', 'calexp', {}, [], 'run1'));
    await expect(reg.insertDatasets([r])).rejects.toThrow(ConflictingDefinition);
  });

  it('uniqueness uses the required dimensions only; a storage-class override is the same dataset', async () => {
    const a = ref(calexp, 1);
    await reg.insertDatasets([a]);
    const withImplied = makeDatasetRef(calexp, makeDataId({ instrument: 'Cam1', detector: 1, physical_filter: 'g' }), 'run1', a.id);
    expect(await reg.insertDatasets([withImplied])).toEqual({ inserted: 0, existing: 1 });
    const override = makeDatasetRef(makeDatasetType({ ...calexp, storageClass: 'StructuredDataList' }), a.dataId, 'run1', a.id);
    expect(await reg.insertDatasets([override])).toEqual({ inserted: 0, existing: 1 });
    expect((await reg.getDataset(a.id))!.datasetType.storageClass).toBe('StructuredDataDict');
  });

  it('queries by dataset type glob, run and partial data ID, sorted', async () => {
    await reg.registerRun('run2');
    const all = [ref(src, 2, 'run2'), ref(calexp, 2), ref(calexp, 1), ref(src, 1), ref(src, '3')];
    await reg.insertDatasets(all);
    const names = (rs: DatasetRef[]) => rs.map((r) => `${r.run}/${r.datasetType.name}/${String(r.dataId['detector'])}`);
    expect(names(await reg.queryDatasets())).toEqual(['run1/calexp/1', 'run1/calexp/2', 'run1/src/1', 'run1/src/3', 'run2/src/2']);
    expect(names(await reg.queryDatasets({ datasetType: 'cal*' }))).toEqual(['run1/calexp/1', 'run1/calexp/2']);
    expect(names(await reg.queryDatasets({ datasetType: '{src,nothing}', run: 'run2' }))).toEqual(['run2/src/2']);
    expect(names(await reg.queryDatasets({ datasetType: 'src' }))).toEqual(['run1/src/1', 'run1/src/3', 'run2/src/2']);
    expect(await reg.queryDatasets({ datasetType: 'x*' })).toEqual([]);
    // detector has an int key: the ref made with "3" holds 3, and "3" and 3 both find it.
    expect(all[4]!.dataId).toEqual({ instrument: 'Cam1', detector: 3 });
    expect(names(await reg.queryDatasets({ dataId: { detector: 1 } }))).toEqual(['run1/calexp/1', 'run1/src/1']);
    expect(names(await reg.queryDatasets({ dataId: { detector: '3' } }))).toEqual(['run1/src/3']);
    expect(names(await reg.queryDatasets({ dataId: { detector: 3 } }))).toEqual(['run1/src/3']);
    // instrument has a string key: an integer is refused, not matched.
    await expect(reg.queryDatasets({ dataId: { instrument: 1 } })).rejects.toThrow(DimensionValueError);
    await expect(reg.queryDatasets({ dataId: { nonesuch: 1 } })).rejects.toThrow(DimensionNameError);
    expect(await reg.queryDatasets({ dataId: { detector: 2, instrument: 'Cam1' }, run: 'run1' })).toEqual([ref(calexp, 2)]);
    expect(await reg.queryDatasets({ dataId: { visit: 1 } })).toEqual([]);
    await expect(reg.queryDatasets({ dataId: { 'bad-name': 1 } })).rejects.toThrow(InvalidArgument);
  });
});

describe('Registry: datastore records', () => {
  const DS = 'FileDatastore@<butlerRoot>/datastore';
  let a: DatasetRef;
  let b: DatasetRef;
  beforeEach(async () => {
    await reg.registerDatasetType(calexp);
    await reg.registerRun('run1');
    a = ref(calexp, 1);
    b = ref(calexp, 2);
    await reg.insertDatasets([a, b]);
  });

  it('round-trips records, including extra fields and components', async () => {
    const rows = [record('a.json', 'c1'), record('a_wcs.json', 'c2', { component: 'wcs', file_size: -1, custom: 'x' })];
    expect(await reg.insertRecords(DS, records([[a.id, rows]]))).toEqual({ inserted: 2, alreadyPresent: 0, conflicts: [] });
    const got = await reg.getRecords(DS, [a.id, b.id]);
    expect([...got.keys()]).toEqual([a.id]);
    expect(got.get(a.id)!.get(STORED_FILE_INFO_TABLE)).toEqual([rows[0], rows[1]]);
    expect((await reg.getRecords('other', [a.id])).size).toBe(0);
    expect(Object.keys(await reg.recordsFor([a.id]))).toEqual([DS]);
  });

  it('first writer wins; a different checksum is reported, identical rows are already present', async () => {
    await reg.insertRecords(DS, records([[a.id, [record('a.json', 'c1')]]]));
    const res = await reg.insertRecords(DS, records([[a.id, [record('a.json', 'DIFFERENT')]], [b.id, [record('b.json', 'c3')]]]));
    expect(res.inserted).toBe(1);
    expect(res.conflicts).toEqual([
      { datasetId: a.id, datastoreName: DS, component: null, fields: ['checksum'], existing: record('a.json', 'c1'), given: record('a.json', 'DIFFERENT') },
    ]);
    expect((await reg.getRecords(DS, [a.id])).get(a.id)!.get(STORED_FILE_INFO_TABLE)![0]!['checksum']).toBe('c1');
    expect(await reg.insertRecords(DS, records([[a.id, [record('a.json', 'c1')]]]))).toEqual({ inserted: 0, alreadyPresent: 1, conflicts: [] });
  });

  it('records of unknown datasets are refused and nothing is written', async () => {
    const unknown = makeDatasetId('UNIQUE', 'x', {}, [], 'r');
    await expect(reg.insertRecords(DS, records([[a.id, [record('a.json', 'c1')]], [unknown, [record('u.json', 'c')]]]))).rejects.toThrow(DatasetNotFound);
    expect((await reg.getRecords(DS, [a.id])).size).toBe(0);
  });

  it('rejects malformed rows (values are never coerced)', async () => {
    await expect(reg.insertRecords(DS, records([[a.id, [{ ...record('a.json', 'c1'), file_size: 1.5 }]]]))).rejects.toThrow(InvalidArgument);
    await expect(reg.insertRecords(DS, records([[a.id, [{ formatter: 'f', storage_class: 's' } as RecordRow]]]))).rejects.toThrow(InvalidArgument);
  });
});

describe('Registry: quanta', () => {
  const q = {
    id: 'q-1',
    taskName: 'pkg.Task',
    dataId: { instrument: 'Cam1' },
    host: 'node1',
    startedAt: '2024-01-01T00:00:00.000Z',
    endedAt: '2024-01-01T00:00:01.000Z',
    format: 'daf_butler' as const,
    provenance: { predicted_inputs: ['x'], b: 1, a: 2 },
    inputs: [{ datasetId: makeDatasetId('UNIQUE', 'x', {}, [], 'r'), datasetType: 'raw', run: 'r', dataId: { instrument: 'Cam1' }, predicted: true, available: true, actual: false }],
    outputs: [{ datasetId: makeDatasetId('UNIQUE', 'y', {}, [], 'r'), predicted: true, actual: true }],
  };

  it('stores a quantum with its edges and returns the document as given', async () => {
    expect(await reg.insertQuantum(q)).toEqual({ inserted: true });
    expect(await reg.quantumProvenance('q-1')).toEqual(q.provenance);
    expect(await reg.quantumProvenance('nope')).toBeUndefined();
    expect(await reg.getQuantum('nope')).toBeUndefined();
    const got = (await reg.getQuantum('q-1'))!;
    expect(got).toMatchObject({ id: 'q-1', taskName: 'pkg.Task', dataId: { instrument: 'Cam1' }, host: 'node1', format: 'daf_butler' });
    expect(got.inputs).toEqual([{ ...q.inputs[0], initInput: false }]);
    expect(got.outputs).toEqual(q.outputs);
  });

  it('the same id: identical content (key order aside) is a no-op, other content conflicts', async () => {
    await reg.insertQuantum(q);
    expect(await reg.insertQuantum({ ...q, provenance: { a: 2, b: 1, predicted_inputs: ['x'] } })).toEqual({ inserted: false });
    await expect(reg.insertQuantum({ ...q, provenance: { ...q.provenance, b: 3 } })).rejects.toThrow(ConflictingDefinition);
    await expect(reg.insertQuantum({ ...q, taskName: 'other.Task' })).rejects.toThrow(ConflictingDefinition);
    expect(await reg.tableCounts()).toMatchObject({ quanta: 1, quantum_inputs: 1, quantum_outputs: 1 });
  });

  it('quanta() lists every stored quantum by id, without edges or document', async () => {
    expect(await reg.quanta()).toEqual([]);
    await reg.insertQuantum({ ...q, id: 'q-2', taskName: null, dataId: null, host: null, startedAt: null, endedAt: null, format: 'native' });
    await reg.insertQuantum(q);
    const { inputs: _i, outputs: _o, provenance: _p, ...summary } = q;
    expect(await reg.quanta()).toEqual([summary, { id: 'q-2', taskName: null, dataId: null, host: null, startedAt: null, endedAt: null, format: 'native' }]);
  });
});
});

describe('SQLite registry: the file', () => {
  let dir: string;
  let reg: SqliteRegistry;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qb-registry-'));
    reg = await SqliteRegistry.open(join(dir, 'registry.sqlite3'));
  });
  afterEach(async () => {
    await reg.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the schema with a version, WAL and foreign keys, and reopens', async () => {
    await reg.registerRun('run1');
    await reg.close();
    const db = new Database(join(dir, 'registry.sqlite3'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect((db.prepare("SELECT value FROM registry_meta WHERE key='schema_version'").get() as { value: string }).value).toBe(String(REGISTRY_SCHEMA_VERSION));
    db.close();
    reg = await SqliteRegistry.open(join(dir, 'registry.sqlite3'));
    expect(await reg.runs()).toEqual(['run1']);
    expect(reg.database.pragma('foreign_keys', { simple: true })).toBe(1);
    // The sidecar's own connection never waits inside SQLite (it would freeze every session): it waits on timers.
    expect(Number(reg.database.pragma('busy_timeout', { simple: true }))).toBe(0);
    expect(reg.busyTimeoutMs).toBeGreaterThan(0);
    expect(reg.database.pragma('page_size', { simple: true })).toBe(8192);
    expect(reg.checkpoint('TRUNCATE')).toMatchObject({ busy: 0 });
  });

  it('refuses a registry with another schema version (RegistrySchemaMismatch)', async () => {
    await reg.close();
    const db = new Database(join(dir, 'registry.sqlite3'));
    db.prepare("UPDATE registry_meta SET value='999' WHERE key='schema_version'").run();
    db.close();
    await expect(SqliteRegistry.open(join(dir, 'registry.sqlite3'))).rejects.toThrow(RegistrySchemaMismatch);
    reg = await SqliteRegistry.open(join(dir, 'other.sqlite3'));
  });

  it('a repository\'s registry file that is gone is RegistrySchemaMissing, not a new empty registry', async () => {
    await expect(SqliteRegistry.open(join(dir, 'missing.sqlite3'), { mustExist: true })).rejects.toMatchObject({ kind: 'RegistrySchemaMissing' });
  });
});
