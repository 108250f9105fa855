/**
 * Dimension universes over the wire, through the built CLI: refs whose data IDs give int
 * dimensions as strings and name implied dimensions (or not) match their predictions and
 * get daf_butler's ids (the fixture vectors of fixtures/daf_butler, computed by Python's
 * uuid.uuid5); `butler/dimensions`; a session with its own universe; ref containers from
 * another universe; repositories that record their universe, and old ones.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as P from '../../protocol/index.js';
import { QuantumButlerError, type QuantumButlerClient } from '../../src/client/index.js';
import { kindOf, spawnClient, uniqueName } from './harness.js';
import { CAMERA_CHIP_DIMENSIONS } from '../support/universes.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/daf_butler/', import.meta.url));
const vectors = JSON.parse(readFileSync(FIXTURES + 'id_vectors.json', 'utf8')) as Array<{ datasetType: string; id: string; run: string; dataId: Record<string, unknown> }>;
const vector = (name: string) => vectors.find((v) => v.datasetType === name)!;
const FLAT = vector('flat');
const SUMMARY = vector('visit_detector_summary');

const FLAT_DATA_ID = { instrument: 'LSSTCam', detector: 94, physical_filter: 'r_57', band: 'r' };
const VISIT_DETECTOR = { instrument: 'LSSTCam', detector: 94, visit: 2025120300150, band: 'r', day_obs: 20251203, physical_filter: 'r_57' };

let client: QuantumButlerClient;
let dir: string;
beforeAll(async () => {
  client = await spawnClient();
  dir = mkdtempSync(join(tmpdir(), 'qb-dims-'));
});
afterAll(async () => {
  expect(await client.close()).toBe(0);
  rmSync(dir, { recursive: true, force: true });
});

async function errorOf(p: Promise<unknown>): Promise<QuantumButlerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof QuantumButlerError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('sessions and data IDs', () => {
  it('reads and writes by refs with string-typed int dimensions and implied dimensions, with daf_butler ids', async () => {
    const datastore = { kind: 'memory' as const, name: uniqueName('dims') };
    // The flat is seeded through a ref that declares its implied band and gives ints.
    const seed = await client.openSession({
      predicted: {
        inputs: [],
        outputs: [{ id: FLAT.id, datasetType: 'flat', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector', 'physical_filter', 'band'], dataId: FLAT_DATA_ID, run: FLAT.run }],
      },
      datastore,
      notifications: [],
    });
    const seeded = await seed.put(FLAT.id, { gain: 1.02 });
    expect(seeded.ref.dimensions).toEqual(['instrument', 'detector', 'physical_filter']);
    await seed.close();

    // The quantum's refs give detector and visit as strings, and the flat without band.
    const s = await client.openSession({
      predicted: {
        inputs: [{ id: FLAT.id, datasetType: 'flat', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector', 'physical_filter'], dataId: { ...FLAT_DATA_ID, detector: '94' }, run: FLAT.run }],
        outputs: [
          {
            id: SUMMARY.id,
            datasetType: 'visit_detector_summary',
            storageClass: 'StructuredDataDict',
            dimensions: ['instrument', 'visit', 'detector'],
            dataId: { ...VISIT_DETECTOR, detector: '94', visit: '2025120300150' },
            run: SUMMARY.run,
          },
        ],
      },
      datastore,
      notifications: [],
    });
    // Read with a full ref that gives ints and names band: the same dataset as predicted.
    const flatRef = { id: FLAT.id, datasetType: 'flat', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector', 'physical_filter', 'band'], dataId: FLAT_DATA_ID, run: FLAT.run };
    expect(await s.get(flatRef)).toEqual({ gain: 1.02 });
    const read = await s.getResult({ ...flatRef, dataId: { ...FLAT_DATA_ID, detector: '94' } });
    expect(read.ref.dataId).toEqual(FLAT_DATA_ID);
    // Write with a daf_butler SerializedDatasetRef holding ints (the prediction held strings).
    const put = await s.put(
      {
        id: SUMMARY.id,
        datasetType: { name: 'visit_detector_summary', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector', 'visit'], isCalibration: false },
        dataId: { dataId: VISIT_DETECTOR, records: null },
        run: SUMMARY.run,
        component: null,
      },
      { nImages: 1 },
    );
    expect(put.ref).toMatchObject({ id: SUMMARY.id, dimensions: ['instrument', 'detector', 'visit'], dataId: VISIT_DETECTOR });
    // A value that is not an integer for an int key, and an unknown dimension, fail with stable kinds.
    const bad = await errorOf(s.get({ ...flatRef, dataId: { ...FLAT_DATA_ID, detector: 'R22_S11' } }));
    expect([bad.kind, bad.code]).toEqual(['DimensionValueError', 1046]);
    const unknown = await errorOf(s.get({ ...flatRef, dimensions: ['instrument', 'amplifier'] }));
    expect([unknown.kind, unknown.code]).toEqual(['DimensionNameError', 1045]);
    await s.close();
  });

  it('butler/dimensions describes the session universe (daf_butler@8 by default)', async () => {
    const s = await client.openSession({ predicted: { inputs: [], outputs: [] }, notifications: [] });
    const d = await s.dimensions();
    expect([d.namespace, d.version, d.commonSkyPix]).toEqual(['daf_butler', 8, 'htm7']);
    expect(d.config).toBeUndefined();
    const visit = d.elements.find((e) => e.name === 'visit')!;
    expect(visit).toEqual({ name: 'visit', kind: 'dimension', required: ['instrument', 'visit'], implied: ['day_obs', 'physical_filter'], keyType: 'int', governor: 'instrument' });
    expect(d.elements.find((e) => e.name === 'band')).toMatchObject({ keyType: 'string', governor: null });
    expect(d.elements.find((e) => e.name === 'visit_detector_region')).toMatchObject({ kind: 'combination', keyType: null });
    const withConfig = await s.dimensions({ config: true });
    expect(withConfig.config).toEqual(JSON.parse(readFileSync(fileURLToPath(new URL('../../src/model/dimensions/default-universe.json', import.meta.url)), 'utf8')));
    await s.close();
    expect(await kindOf(s.dimensions())).toBe('SessionNotFound');
  });

  it("opens a session in its own universe, and refuses a ref container from another universe's namespace", async () => {
    const id = '5c5a3b37-27f0-4d7a-9a3e-6d2f0a8f2a11';
    const s = await client.openSession({
      dimensions: CAMERA_CHIP_DIMENSIONS,
      predicted: { inputs: [], outputs: [{ id, datasetType: 'frame', storageClass: 'StructuredDataDict', dimensions: ['chip'], dataId: { camera: 'TC', chip: '3' }, run: 'r' }] },
      notifications: [],
    });
    expect((await s.put(id, { ok: true })).ref).toMatchObject({ dimensions: ['camera', 'chip'], dataId: { camera: 'TC', chip: 3 } });
    expect(await s.dimensions()).toMatchObject({ namespace: 'test_cam', version: 1 });
    await s.close();
    // In the default universe 'chip' is no dimension.
    expect(await kindOf(client.openSession({ predicted: { inputs: [], outputs: [{ id, datasetType: 'frame', storageClass: 'Json', dimensions: ['chip'], dataId: { chip: 3 }, run: 'r' }] } }))).toBe(
      'DimensionNameError',
    );

    const container = (namespace: string) => ({
      container_version: 'V1' as const,
      universe_version: 8,
      universe_namespace: namespace,
      dataset_types: { flat: { name: 'flat', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector', 'physical_filter'], parentStorageClass: null, isCalibration: true } },
      compact_refs: { [FLAT.id]: { dataset_type_name: 'flat', run: FLAT.run, data_id: { instrument: 'LSSTCam', detector: 94, physical_filter: 'r_57' } } },
    });
    const e = await errorOf(client.openSession({ predicted: { inputs: container('other_ns'), outputs: [] } }));
    expect([e.kind, e.code]).toEqual(['InconsistentUniverse', 1047]);
    const ok = await client.openSession({ predicted: { inputs: container('daf_butler'), outputs: [] }, notifications: [] });
    expect(ok.info.predictedInputs).toBe(1);
    await ok.close();
  });
});

describe('repositories', () => {
  const rq = <D extends P.RequestDef<any, any>>(def: D, params: P.ParamsOf<D>) => client.request(def, params);

  it('records the default universe, sees one flat type with or without band, and finds data IDs given as strings', async () => {
    const root = join(dir, 'repo');
    const created = await rq(P.RepositoryCreate, { root });
    expect(created.config['dimensions']).toEqual({ namespace: 'daf_butler', version: 8 });
    expect(JSON.parse(readFileSync(join(root, 'butler.json'), 'utf8')).dimensions).toEqual({ namespace: 'daf_butler', version: 8 });
    const flat = { name: 'flat', storageClass: 'StructuredDataDict', isCalibration: true };
    expect((await rq(P.RepositoryRegisterDatasetType, { root, datasetType: { ...flat, dimensions: ['instrument', 'detector', 'physical_filter', 'band'] } })).registered).toBe(true);
    expect((await rq(P.RepositoryRegisterDatasetType, { root, datasetType: { ...flat, dimensions: ['instrument', 'detector', 'physical_filter'] } })).registered).toBe(false);
    const put = await rq(P.RepositoryPut, {
      root,
      datasetType: 'flat',
      dataId: { ...FLAT_DATA_ID, detector: '94' },
      run: FLAT.run,
      payload: { encoding: 'json', value: { gain: 1.02 } },
      idGenerationMode: 'DATAID_TYPE',
    });
    expect(put.ref).toMatchObject({ id: FLAT.id, dataId: FLAT_DATA_ID, dimensions: ['instrument', 'detector', 'physical_filter'] });
    for (const detector of [94, '94']) {
      expect((await rq(P.RepositoryQueryDatasets, { root, dataId: { detector } })).refs.map((r) => r.id)).toEqual([FLAT.id]);
    }
    expect(await kindOf(rq(P.RepositoryPut, { root, datasetType: 'flat', dataId: { instrument: 'LSSTCam', detector: 94 }, run: 'x', payload: { encoding: 'json', value: 1 } }))).toBe(
      'DimensionNameError',
    );
    // A session on the repository works in its universe; naming another one is refused.
    const bad = await errorOf(client.openSession({ repository: { root }, dimensions: { namespace: 'daf_butler', version: 7 }, predicted: { inputs: [], outputs: [] } }));
    expect(bad.kind).toBe('InconsistentUniverse');
  });

  it('reads a repository written before universes (config version 1) with the default universe; refuses unknown old dimensions', async () => {
    const old = join(dir, 'old');
    await rq(P.RepositoryCreate, { root: old });
    const legacy = { version: 1, dimensions: { instrument: { requires: [] }, detector: { requires: ['instrument'] }, band: { requires: [] } } };
    writeFileSync(join(old, 'butler.json'), JSON.stringify(legacy));
    const custom = join(dir, 'custom');
    await rq(P.RepositoryCreate, { root: custom });
    writeFileSync(join(custom, 'butler.json'), JSON.stringify({ version: 1, dimensions: { instrument: { requires: [] }, amplifier: { requires: ['instrument'] } } }));
    // A fresh sidecar, so the repository is read from disk.
    const other = await spawnClient();
    try {
      expect((await other.request(P.RepositoryRegisterDatasetType, { root: old, datasetType: { name: 'bias', storageClass: 'Json', dimensions: ['instrument', 'detector'] } })).registered).toBe(true);
      const e = await errorOf(other.request(P.RepositoryQueryDatasets, { root: custom }));
      expect(e.kind).toBe('RepositoryError');
      expect(e.message).toMatch(/amplifier/);
    } finally {
      expect(await other.close()).toBe(0);
    }
  });
});
