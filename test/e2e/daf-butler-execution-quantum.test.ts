/**
 * The Done-when test of daf_butler fidelity: the execution quantum of fixtures/daf_butler (as
 * pipe_base builds it, unmodified) runs over the built CLI against a repository, with each
 * registry backend. Its inputs are seeded with `repository/put` under the id generation modes
 * daf_butler used for them (a real host's upstream quanta or ingest would have written them
 * with those deterministic ids; the sidecar has no ingest of foreign artifacts, and the
 * fixture's own datastore records describe FITS and Parquet files of a daf_butler repository
 * that we cannot write or read). The quantum's records name the same datastore
 * (`FileDatastore@<butlerRoot>/datastore`, every daf_butler file datastore's name), so for the
 * datasets this repository holds its own records stand instead (§9.6). Every id, set and
 * record field is then checked against the fixture's daf_butler documents.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as P from '../../protocol/index.js';
import type { QuantumButlerClient } from '../../src/client/index.js';
import { spawnClient } from './harness.js';
import { backends } from '../reliability/support.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/daf_butler/', import.meta.url));
const load = (name: string) => JSON.parse(readFileSync(FIXTURES + name, 'utf8'));
const QUANTUM = load('execution_quantum.json') as {
  dataId: { dataId: Record<string, string | number> };
  datasetTypeMapping: Record<string, { name: string; storageClass: string; parentStorageClass: string | null }>;
  inputs: Record<string, Array<[{ id: string; dataId: { dataId: Record<string, string | number> }; run: string }, number[]]>>;
  outputs: Record<string, Array<[{ id: string; dataId: { dataId: Record<string, string | number> }; run: string }, number[]]>>;
};
const REGISTRY_TYPES = load('registry_dataset_types.json') as Array<{ name: string; storageClass: string; isCalibration: boolean }>;
const PROVENANCE = load('quantum_provenance.json') as P.DafButlerProvenance;
const RECORD_CLASS = 'lsst.daf.butler.datastore.stored_file_info.StoredFileInfo';
const DATASTORE = 'FileDatastore@<butlerRoot>/datastore';
const STORE = Object.keys(PROVENANCE.datastore_records)[0]!;

const nested = (section: 'inputs' | 'outputs', name: string) => QUANTUM[section][name]![0]![0];
const registryClass = (name: string) => REGISTRY_TYPES.find((t) => t.name === name)!.storageClass;
const hex = (id: string) => id.replaceAll('-', '');

const PVI = nested('inputs', 'preliminary_visit_image.wcs');
const FLAT = nested('inputs', 'flat');
const STAR = nested('inputs', 'single_visit_star');
const WCS = { crval: [53.16, -27.78], crpix: [2036.5, 2000.5], cd: [[-5.5e-5, 0], [0, 5.5e-5]] };
const PHOTO_CALIB = { calibrationMean: 0.0271, calibrationErr: 0.0004 };
const PVI_VALUE = { image: [[1.5, 2.5]], mask: [[0, 0]], variance: [[0.1, 0.1]], wcs: WCS, photoCalib: PHOTO_CALIB };
const STAR_VALUE = { columns: { sourceId: [1, 2], psfFlux: [1520.5, 884.25] } };

/** What the task writes for each output, in the quantum's (connection) storage classes. */
const OUTPUT_VALUES: Record<string, unknown> = {
  visit_detector_summary: { psfSigma: 1.71, zeroPoint: 31.4, nStars: 2 },
  visit_detector_table: { columns: { visit: [2025120300150], detector: [94], psfSigma: [1.71] } },
  summarizeVisitDetector_metadata: { summarizeVisitDetector: { prepUtc: '2025-12-03T11:14:02Z', nInputs: 2 } },
  summarizeVisitDetector_log: [{ name: 'lsst.summarizeVisitDetector', levelname: 'INFO', message: 'Summarised 2 stars.' }],
};

/** The fixture quantum with its inputs in another order (the JSON's key order is all that changes). */
function withInputOrder(order: string[]): Record<string, unknown> {
  const q = load('execution_quantum.json') as Record<string, Record<string, unknown>>;
  expect(Object.keys(q['inputs']!).sort()).toEqual([...order].sort());
  return { ...q, inputs: Object.fromEntries(order.map((n) => [n, q['inputs']![n]])) };
}

const FIXTURE_ORDER = Object.keys(QUANTUM.inputs);
const SWAPPED_ORDER = ['single_visit_star', 'flat', 'preliminary_visit_image.photoCalib', 'preliminary_visit_image.wcs'];

describe.each(backends())('the daf_butler execution quantum fixture, end to end ($kind registry)', (backend) => {
  let client: QuantumButlerClient;
  let dir: string;
  let root: string;
  const rq = <D extends P.RequestDef<any, any>>(def: D, params: P.ParamsOf<D>) => client.request(def, params);

  beforeAll(async () => {
    client = await spawnClient();
    dir = mkdtempSync(join(tmpdir(), 'qb-daf-quantum-'));
    root = join(dir, 'repo');
    await backend.create(client, root);
    for (const datasetType of REGISTRY_TYPES) await rq(P.RepositoryRegisterDatasetType, { root, datasetType: datasetType as never });
    // The inputs, as upstream work wrote them: the pvi and the star table with run-scoped ids,
    // the calibration with a run-independent one (daf_butler's DATAID_TYPE for calibrations).
    const seed = [
      { name: 'preliminary_visit_image', ref: PVI, value: PVI_VALUE, mode: 'DATAID_TYPE_RUN' as const },
      { name: 'flat', ref: FLAT, value: { image: [[1.0]], metadata: { FILTER: 'r_57' } }, mode: 'DATAID_TYPE' as const },
      { name: 'single_visit_star', ref: STAR, value: STAR_VALUE, mode: 'DATAID_TYPE_RUN' as const },
    ];
    for (const s of seed) {
      const put = await rq(P.RepositoryPut, { root, datasetType: s.name, dataId: s.ref.dataId.dataId, run: s.ref.run, payload: { encoding: 'json', value: s.value }, idGenerationMode: s.mode });
      expect(put.ref.id).toBe(s.ref.id);
      expect(put.ref.storageClass).toBe(registryClass(s.name));
    }
  });
  afterAll(async () => {
    expect(await client.close()).toBe(0);
    rmSync(dir, { recursive: true, force: true });
    await backend.cleanup();
  });

  const open = (order: string[], sessionId: string) =>
    client.openSession({ sessionId, quantum: withInputOrder(order), datasetTypes: REGISTRY_TYPES as never, repository: { root }, notifications: [] });

  it('reads the component inputs in both orders, each as its own component, the star table in the connection class', async () => {
    for (const [i, order] of [FIXTURE_ORDER, SWAPPED_ORDER].entries()) {
      const s = await open(order, `read-${i}`);
      const ref = (name: string) => ({ ...nested('inputs', name), datasetType: QUANTUM.datasetTypeMapping[name]! });
      // The component refs as pipe_base hands them to the task (full refs with the component type).
      expect(await s.get(ref('preliminary_visit_image.wcs'))).toEqual(WCS);
      expect(await s.get(ref('preliminary_visit_image.photoCalib'))).toEqual(PHOTO_CALIB);
      // Both components share the parent's id; either order of asking gives each its own value.
      expect(await s.get(PVI.id, { component: 'photoCalib' })).toEqual(PHOTO_CALIB);
      expect(await s.get(PVI.id, { component: 'wcs' })).toEqual(WCS);
      // Stored as the registry's ArrowAstropy, read in the connection's DataFrame.
      const star = await s.getResult(ref('single_visit_star'));
      expect([star.storageClass, star.payload]).toEqual(['DataFrame', { encoding: 'json', value: STAR_VALUE }]);
      expect((await s.getResult(ref('preliminary_visit_image.wcs'))).storageClass).toBe('Wcs');
      const prov = (await s.extractProvenance('daf_butler')) as P.DafButlerProvenance;
      expect(new Set(prov.actual_inputs)).toEqual(new Set([PVI.id, STAR.id]));
      await s.close();
    }
  });

  it('writes every output through the quantum classes, extracts daf_butler provenance equal to the fixture, and collect-and-transfers it', async () => {
    const s = await open(SWAPPED_ORDER, 'run');
    // The executor checks every predicted input's existence first, as daf_butler assumes.
    expect(await s.storedMany([PVI.id, FLAT.id, STAR.id])).toEqual({ [PVI.id]: true, [FLAT.id]: true, [STAR.id]: true });
    await s.get({ ...PVI, datasetType: QUANTUM.datasetTypeMapping['preliminary_visit_image.wcs']! });
    await s.get({ ...PVI, datasetType: QUANTUM.datasetTypeMapping['preliminary_visit_image.photoCalib']! });
    await s.get({ ...STAR, datasetType: QUANTUM.datasetTypeMapping['single_visit_star']! });
    for (const name of Object.keys(QUANTUM.outputs)) {
      const out = nested('outputs', name);
      const put = await s.put({ ...out, datasetType: QUANTUM.datasetTypeMapping[name]! }, OUTPUT_VALUES[name]);
      expect(put.ref.id).toBe(out.id);
      expect(put.ref.storageClass).toBe(QUANTUM.datasetTypeMapping[name]!.storageClass);
      expect(await s.get(out.id)).toEqual(OUTPUT_VALUES[name]);
    }
    // The overridden output's artifact holds the registry's class (ArrowAstropy), as daf_butler writes it.
    const tableUri = (await s.getURIs(nested('outputs', 'visit_detector_table').id)).primary!;
    expect(JSON.parse(readFileSync(decodeURI(tableUri.replace(/^file:\/\//, '')), 'utf8'))).toEqual(OUTPUT_VALUES['visit_detector_table']);
    const prov = (await s.extractProvenance('daf_butler')) as P.DafButlerProvenance;
    // Extraction has no side effect: a second call gives the same document.
    expect(await s.extractProvenance('daf_butler')).toEqual(prov);
    await s.close();

    // QuantumProvenanceData's fields, and nothing else.
    expect(Object.keys(prov).sort()).toEqual(Object.keys(PROVENANCE).sort());
    for (const field of ['predicted_inputs', 'available_inputs', 'actual_inputs', 'predicted_outputs', 'actual_outputs'] as const) {
      expect(new Set(prov[field]), field).toEqual(new Set(PROVENANCE[field]));
    }
    expect(Object.keys(prov.datastore_records)).toEqual([STORE]);
    const ours = prov.datastore_records[STORE]!;
    const theirs = PROVENANCE.datastore_records[STORE]!;
    expect(new Set(ours.dataset_ids)).toEqual(new Set(theirs.dataset_ids));
    expect(Object.keys(ours.records)).toEqual([RECORD_CLASS]);
    const ourRows = ours.records[RECORD_CLASS]!;
    const theirRows = theirs.records[RECORD_CLASS]!;
    expect(new Set(Object.keys(ourRows))).toEqual(new Set(Object.keys(theirRows)));
    for (const [name, [out]] of Object.entries(QUANTUM.outputs)) {
      const id = hex(out![0].id);
      expect(Object.keys(ourRows[id]!)).toEqual(['file_datastore_records']);
      const [ours1, ...moreOurs] = ourRows[id]!['file_datastore_records']!;
      const [theirs1] = theirRows[id]!['file_datastore_records']!;
      expect(moreOurs, name).toEqual([]);
      expect(Object.keys(ours1!).sort(), name).toEqual(Object.keys(theirs1!).sort());
      // Same storage class (the registry's, not the connection's) and the whole dataset in one row.
      expect(ours1!['storage_class'], name).toBe(theirs1!['storage_class']);
      expect(ours1!['component'], name).toBe(theirs1!['component']);
      // The path: relative to the datastore root and starting `<run>/<datasetType>/` in both.
      // The rest is the repository's file template: daf_butler's default one spells out
      // dimension-record fields (`detector.full_name`) that the sidecar does not hold, ours
      // ends in the id (§9.6); the extension names the format (ours JSON for every class).
      const head = `${out![0].run}/${name}/`;
      expect(String(theirs1!['path']).startsWith(head)).toBe(true);
      expect(String(ours1!['path']).startsWith(head), name).toBe(true);
      expect(String(ours1!['path']), name).toMatch(new RegExp(`${out![0].id}\\.json$`));
      // The formatter: a daf_butler class that reads JSON into this storage class. daf_butler
      // writes StructuredDataDict as YAML and tables as Parquet; ours are JSON, so JsonFormatter.
      // TaskMetadata and ButlerLogRecords are JSON in daf_butler too: the very same classes.
      expect(String(ours1!['formatter']), name).toMatch(/^lsst\.daf\.butler\.formatters\./);
      if (String(theirs1!['path']).endsWith('.json')) expect(ours1!['formatter'], name).toBe(theirs1!['formatter']);
      else expect(ours1!['formatter'], name).toBe('lsst.daf.butler.formatters.json.JsonFormatter');
      // checksum: daf_butler's default is none (null), and so is a new repository's (blake2b,
      // daf_butler's algorithm, when its config asks). file_size: the bytes we wrote, not
      // daf_butler's fixture's.
      expect(theirs1!['checksum']).toBeNull();
      expect(ours1!['checksum'], name).toBeNull();
      expect(ours1!['file_size'], name).toBe(readFileSync(join(root, 'datastore', String(ours1!['path']))).length);
    }

    const report = await rq(P.RepositoryCollectAndTransfer, { root, quanta: [withInputOrder(SWAPPED_ORDER)], provenance: [prov as never] });
    expect(report.conflicts).toEqual([]);
    expect(report.committed).toBe(true);
    expect(report.datasets.inserted).toBe(Object.keys(QUANTUM.outputs).length);

    // The registry holds every output under the fixture's id, in the registry's storage class.
    const run = nested('outputs', 'visit_detector_summary').run;
    const { refs } = await rq(P.RepositoryQueryDatasets, { root, run, dataId: { visit: 2025120300150, detector: 94 } });
    const byId = new Map(refs.map((r) => [r.id, r]));
    for (const [name, [out]] of Object.entries(QUANTUM.outputs)) {
      expect(byId.get(out![0].id)?.datasetType, name).toBe(name);
      expect(byId.get(out![0].id)?.storageClass, name).toBe(registryClass(name));
    }
    const exported = await rq(P.RepositoryExportRecords, { root, refs: Object.values(QUANTUM.outputs).map(([o]) => ({ id: o![0].id })) });
    const rows = exported.records[DATASTORE]!.records[RECORD_CLASS]!;
    for (const [name, [out]] of Object.entries(QUANTUM.outputs)) {
      const [row] = rows[hex(out![0].id)]!['file_datastore_records']!;
      expect(row!['storage_class'], name).toBe(registryClass(name));
      expect(String(row!['formatter']), name).toMatch(/^lsst\.daf\.butler\.formatters\./);
    }
    // A reader of the repository gets each output back, converted to the registry's class.
    const table = await rq(P.RepositoryGet, { root, ref: { id: nested('outputs', 'visit_detector_table').id } });
    expect(table.ref.storageClass).toBe('ArrowAstropy');
  });
});
