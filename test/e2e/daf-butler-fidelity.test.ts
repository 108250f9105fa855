/**
 * Over the built CLI, what a daf_butler pipeline hands the sidecar: an execution quantum with
 * a component input (`pvi.wcs`) and an output adapted to its connection's storage class, in a
 * repository; daf_butler's DatasetProvenance on put; reads of stored but unpredicted datasets;
 * retrieve_artifacts, its Zip, get_many_uris and get_datastore_roots; daf_butler's metric
 * names; and collect-and-transfer of the result. With each registry backend.
 */
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as P from '../../protocol/index.js';
import type { QuantumButlerClient, QuantumButlerError } from '../../src/client/index.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { kindOf, spawnClient } from './harness.js';
import { backends } from '../reliability/support.js';

const DIMS = ['instrument', 'detector', 'visit'];
const DATA_ID = { instrument: 'LSSTCam', detector: 94, visit: 2025052000177 };
const t = (name: string, storageClass: string, parentStorageClass?: string) => ({ name, storageClass, dimensions: DIMS, ...(parentStorageClass ? { parentStorageClass } : {}), isCalibration: false });
const STORAGE_CLASSES = { ExposureLike: { inheritsFrom: 'StructuredDataDict', components: { wcs: 'StructuredDataDict', image: 'StructuredDataList' } } };
const PVI = { wcs: { crval: [10.5, -3.25] }, image: [1, 2, 3] };
const ROWS = [{ id: 1, flux: 2.5 }, { id: 2, flux: 7.25 }];

let client: QuantumButlerClient;
let dir: string;
let root: string;
let pviId: string;
let catId: string;
const rq = <D extends P.RequestDef<any, any>>(def: D, params: P.ParamsOf<D>) => client.request(def, params);
const nested = (id: string, run: string) => [{ id, datasetType: null, dataId: { dataId: DATA_ID, records: null }, run, component: null }, []];

function executionQuantum(inputOrder: string[]) {
  const mapping: Record<string, unknown> = { pvi: t('pvi', 'ExposureLike'), 'pvi.wcs': t('pvi.wcs', 'StructuredDataDict', 'ExposureLike'), source_table: t('source_table', 'StructuredDataList') };
  return {
    taskName: 'lsst.drp.tasks.MeasureTask',
    dataId: { dataId: DATA_ID, records: null },
    datasetTypeMapping: mapping,
    initInputs: {},
    inputs: Object.fromEntries(inputOrder.map((n) => [n, [nested(pviId, 'LSSTCam/raw/all')]])),
    outputs: { source_table: [nested(catId, 'u/drp/step1')] },
    dimensionRecords: null,
    datastoreRecords: null,
  };
}

async function open(inputOrder: string[], sessionId: string) {
  return client.openSession({
    sessionId,
    quantum: executionQuantum(inputOrder),
    datasetTypes: [t('pvi', 'ExposureLike'), t('source_table', 'Table')],
    repository: { root },
    notifications: [],
  });
}

describe.each(backends())('a daf_butler execution quantum over the wire ($kind registry)', (backend) => {
  beforeAll(async () => {
    client = await spawnClient();
    dir = mkdtempSync(join(tmpdir(), 'qb-fidelity-'));
    root = join(dir, 'repo');
    await backend.create(client, root, { storageClasses: STORAGE_CLASSES });
    await rq(P.RepositoryRegisterDatasetType, { root, datasetType: t('pvi', 'ExposureLike') });
    await rq(P.RepositoryRegisterDatasetType, { root, datasetType: t('source_table', 'Table') });
    pviId = (await rq(P.RepositoryPut, { root, datasetType: 'pvi', dataId: DATA_ID, run: 'LSSTCam/raw/all', payload: { encoding: 'json', value: PVI } })).ref.id;
    catId = makeDatasetId('DATAID_TYPE_RUN', 'source_table', DATA_ID, DIMS, 'u/drp/step1');
  });
  afterAll(async () => {
    expect(await client.close()).toBe(0);
    rmSync(dir, { recursive: true, force: true });
    await backend.cleanup();
  });

  it('reads component inputs in both orders, by their own ref and as {id, component}; a bare id is the composite', async () => {
    for (const order of [['pvi.wcs', 'pvi'], ['pvi', 'pvi.wcs']]) {
      const s = await open(order, `read-${order[0]}`);
      const componentRef = { id: pviId, datasetType: t('pvi.wcs', 'StructuredDataDict', 'ExposureLike'), dataId: { dataId: DATA_ID, records: null }, run: 'LSSTCam/raw/all', component: null };
      expect(await s.get(componentRef)).toEqual(PVI.wcs);
      expect(await s.get(pviId, { component: 'wcs' })).toEqual(PVI.wcs);
      expect(await s.get(pviId)).toEqual(PVI);
      const prov = (await s.extractProvenance('native')) as P.NativeProvenance;
      expect(prov.actualInputs).toEqual([pviId]);
      expect(prov.inputs.map((i) => i.ref.datasetType)).toEqual(['pvi']);
      await s.close();
    }
  });

  it('puts through the connection class, stores the registry class (record and artifact), takes DatasetProvenance, and collect-and-transfers', async () => {
    const s = await open(['pvi.wcs'], 'write');
    await s.stored(pviId);
    await s.get(pviId, { component: 'wcs' });
    const daf = {
      inputs: [{ id: pviId, datasetType: t('pvi.wcs', 'StructuredDataDict', 'ExposureLike'), dataId: { dataId: DATA_ID, records: null }, run: 'LSSTCam/raw/all', component: null }],
      quantum_id: '4f4cb2bc-38f5-4e3b-9a49-0ce11e3b1d5f',
      extras: { [pviId]: { 'psf.fwhm': 0.71 } },
    };
    const put = await s.put(catId, ROWS, { provenance: daf });
    expect(put.ref.storageClass).toBe('StructuredDataList');
    expect(await s.get(catId)).toEqual(ROWS);
    const metrics = await s.metrics();
    expect(Object.keys(metrics).sort()).toEqual(['bytes_read', 'bytes_written', 'n_get', 'n_get_failed', 'n_ingest', 'n_put', 'n_put_failed', 'time_in_get', 'time_in_ingest', 'time_in_put']);
    expect(metrics).toMatchObject({ n_put: 1, n_ingest: 0, time_in_ingest: 0 });
    const native = (await s.extractProvenance('native')) as P.NativeProvenance;
    expect(native.outputs[0]!.annotation).toEqual(daf);
    const provenance = await s.extractProvenance('daf_butler');
    const rows = Object.values((provenance as P.DafButlerProvenance).datastore_records)[0]!.records['lsst.daf.butler.datastore.stored_file_info.StoredFileInfo']!;
    const row = Object.values(rows)[0]!['file_datastore_records']![0]!;
    expect(row).toMatchObject({ storage_class: 'Table', formatter: 'lsst.daf.butler.formatters.json.JsonFormatter', component: '__NULL_STRING__' });
    // A new repository's records carry no checksum, as daf_butler's FileDatastore writes by default.
    expect(row['checksum']).toBeNull();
    expect(row['file_size']).toBe(readFileSync(join(root, 'datastore', String(row['path']))).length);
    expect(JSON.parse(readFileSync(join(root, 'datastore', String(row['path'])), 'utf8'))).toEqual({ columns: { id: [1, 2], flux: [2.5, 7.25] } });
    await s.close();
    const report = await rq(P.RepositoryCollectAndTransfer, { root, quanta: [executionQuantum(['pvi.wcs'])], provenance: [provenance as never] });
    expect(report.conflicts).toEqual([]);
    expect(report.committed).toBe(true);
    const got = await rq(P.RepositoryGet, { root, ref: { id: catId } });
    expect(got.ref.storageClass).toBe('Table');
  });

  it('refuses a DatasetProvenance whose inputs are neither ids nor refs', async () => {
    const s = await client.openSession({ predicted: { inputs: [], outputs: [{ id: catId, datasetType: t('source_table', 'Table'), dataId: DATA_ID, run: 'u/x' }] }, notifications: [] });
    expect(await kindOf(s.put(catId, { columns: {} }, { provenance: { inputs: [42] } as never }))).toBe('InvalidParams');
    await s.close();
  });

  it('reads a stored dataset that is not predicted, untracked', async () => {
    const s = await client.openSession({ predicted: { inputs: [], outputs: [] }, repository: { root }, notifications: [] });
    const full = { id: pviId, datasetType: 'pvi', dataId: DATA_ID, run: 'LSSTCam/raw/all', storageClass: 'ExposureLike', dimensions: DIMS };
    expect(await s.get(full)).toEqual(PVI);
    const prov = (await s.extractProvenance('daf_butler')) as P.DafButlerProvenance;
    expect([prov.predicted_inputs, prov.actual_inputs]).toEqual([[], []]);
    // A file datastore that wrote nothing still names itself, as FileDatastore.export_records does.
    const [name] = await s.getDatastoreNames();
    const empty = { [name!]: { dataset_ids: [], records: {} } };
    expect(prov.datastore_records).toEqual(empty);
    expect((await s.extractProvenance('native') as P.NativeProvenance).datastoreRecords).toEqual(empty);
    expect((await client.request(P.ExportPredictedRecords, { sessionId: s.sessionId, refs: [] })).records).toEqual(empty);
    await s.close();
  });

  it('retrieve_artifacts (copy, symlink, preserve_path, overwrite), the Zip, get_many_uris and get_datastore_roots', async () => {
    const s = await open(['pvi'], 'artifacts');
    const out = join(dir, 'retrieved');
    const paths = await s.retrieveArtifacts([pviId], out);
    expect(paths).toHaveLength(1);
    expect(JSON.parse(readFileSync(paths[0]!, 'utf8'))).toEqual(PVI);
    expect(paths[0]!.startsWith(join(out, 'LSSTCam/raw/all/pvi/'))).toBe(true);
    const index = JSON.parse(readFileSync(join(out, '_butler_zip_index.json'), 'utf8'));
    expect(Object.values(index.artifact_map)).toEqual([expect.objectContaining({ ids: [pviId] })]);
    expect(await kindOf(s.retrieveArtifacts([pviId], out))).toBe('FileExists');
    expect(await kindOf(s.retrieveArtifacts([pviId], out, { transfer: 'move' }))).toBe('InvalidArgument');
    const flat = await s.retrieveArtifacts([pviId], join(dir, 'flat'), { preservePath: false, transfer: 'symlink' });
    expect(lstatSync(flat[0]!).isSymbolicLink()).toBe(true);
    writeFileSync(paths[0]!, 'stale');
    await s.retrieveArtifacts([pviId], out, { overwrite: true });
    expect(JSON.parse(readFileSync(paths[0]!, 'utf8'))).toEqual(PVI);

    const zip = await s.retrieveArtifactsZip([pviId], join(dir, 'zips'));
    const files = unzipSync(new Uint8Array(readFileSync(zip)));
    expect(Object.keys(files)[0]).toBe('_butler_zip_index.json');
    expect(Object.keys(files)).toHaveLength(2);

    const uris = await s.getManyURIs([pviId, catId], { allowMissing: true });
    expect(Object.keys(uris).sort()).toEqual([catId, pviId].sort()); // cat was written by the previous test
    expect(uris[pviId]!.primary).toBe(`file://${paths[0]!.replace(out, join(root, 'datastore'))}`);
    const missing = makeDatasetId('DATAID_TYPE_RUN', 'pvi', { ...DATA_ID, detector: 1 }, DIMS, 'LSSTCam/raw/all');
    const absent = { id: missing, datasetType: 'pvi', dataId: { ...DATA_ID, detector: 1 }, run: 'LSSTCam/raw/all' };
    expect(await kindOf(s.getManyURIs([absent]))).toBe('DatasetNotFound');
    // A file datastore fails with the first missing ref, as daf_butler's FileDatastore.getManyURIs.
    const missing2 = makeDatasetId('DATAID_TYPE_RUN', 'pvi', { ...DATA_ID, detector: 2 }, DIMS, 'LSSTCam/raw/all');
    const absent2 = { ...absent, id: missing2, dataId: { ...DATA_ID, detector: 2 } };
    const fileErr = (await s.getManyURIs([pviId, absent2, absent]).catch((e: unknown) => e)) as QuantumButlerError;
    expect([fileErr.kind, fileErr.data?.datasetId]).toEqual(['DatasetNotFound', missing2]);
    expect(await s.getManyURIs([absent], { allowMissing: true })).toEqual({});
    expect((await s.getManyURIs([absent], { predict: true }))[missing]!.primary).toMatch(/#predicted$/);
    expect(await s.getDatastoreRoots()).toEqual({ 'FileDatastore@<butlerRoot>/datastore': `file://${join(root, 'datastore')}/` });
    expect(await s.getDatastoreNames()).toEqual(['FileDatastore@<butlerRoot>/datastore']);
    await s.close();
    const mem = await client.openSession({ predicted: { inputs: [], outputs: [] }, notifications: [] });
    expect(Object.values(await mem.getDatastoreRoots())).toEqual([null]);
    // An in-memory one counts every missing ref before it fails, as daf_butler's base Datastore.
    const typed = (r: typeof absent) => ({ ...r, datasetType: { name: 'pvi', storageClass: 'StructuredDataDict', dimensions: DIMS } });
    const err = (await mem.getManyURIs([typed(absent), typed(absent2)]).catch((e: unknown) => e)) as QuantumButlerError;
    expect([err.kind, err.message]).toEqual(['DatasetNotFound', 'Missing 2 refs from datastore out of 2 and predict=False.']);
    expect(err.data?.details).toEqual({ missing: [missing, missing2] });
    await mem.close();
    expect(existsSync(join(dir, 'zips'))).toBe(true);
  });
});
