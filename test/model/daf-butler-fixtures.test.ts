/**
 * The fixtures of fixtures/daf_butler (built by its build.py, independently of this code)
 * read as daf_butler reads them: ids equal to the vectors computed with Python's uuid.uuid5,
 * dataset types conformed, data IDs standardised in daf_butler's key order.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { datasetIdSeed, makeDatasetId, type IdGenerationMode } from '../../src/model/dataset-id.js';
import { makeDataId, serializeDataCoordinate, standardizeDataId } from '../../src/model/data-coordinate.js';
import { makeDatasetType, parseDatasetType, datasetTypeEquals } from '../../src/model/dataset-type.js';
import { parseQuantum } from '../../src/model/quantum.js';
import { parseDatastoreRecordData } from '../../src/model/datastore-records.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { defaultUniverse } from '../../src/model/dimensions/index.js';
import { DafButlerProvenanceSchema } from '../../protocol/provenance.js';

const DIR = fileURLToPath(new URL('../../fixtures/daf_butler/', import.meta.url));
const load = <T>(name: string): T => JSON.parse(readFileSync(DIR + name, 'utf8')) as T;

interface Vector {
  note: string;
  datasetType: string;
  dimensions: string[];
  requiredDimensions: string[];
  dataId: Record<string, string | number>;
  run: string;
  mode: Exclude<IdGenerationMode, 'UNIQUE'>;
  seed: string;
  id: string;
}

const vectors = load<Vector[]>('id_vectors.json');

describe('dataset id vectors (Python uuid.uuid5, as daf_butler computes them)', () => {
  it('has at least five LSSTCam vectors and two ids daf_butler itself wrote', () => {
    expect(vectors.filter((v) => v.dataId['instrument'] === 'LSSTCam').length).toBeGreaterThanOrEqual(5);
    expect(vectors.map((v) => v.id)).toEqual(expect.arrayContaining(['3f452f1d-b8a5-5202-8190-4e723004a6ba', '5d32ede2-f2ca-5d3b-b900-bba4a00c3bf9']));
  });

  it.each(vectors.map((v) => [v.note, v] as const))('%s', (_note, v) => {
    const dt = makeDatasetType({ name: v.datasetType, storageClass: 'StructuredDataDict', dimensions: v.dimensions });
    expect(dt.dimensions).toEqual(v.requiredDimensions);
    // The caller's data ID as it is: implied values, strings for int keys, non-dimension keys.
    const dataId = standardizeDataId(makeDataId(v.dataId), dt.group);
    expect(datasetIdSeed(v.mode, dt.name, dataId, dt.dimensions, v.run)).toBe(v.seed);
    expect(makeDatasetId(v.mode, dt.name, dataId, dt.dimensions, v.run)).toBe(v.id);
  });
});

describe('the execution quantum', () => {
  const serialized = load<Record<string, unknown>>('execution_quantum.json');
  const registryTypes = load<unknown[]>('registry_dataset_types.json').map((t) => parseDatasetType(t));
  const sc = StorageClassRegistry.withBuiltins();

  it("parses with daf_butler's storage classes, component types and implied dimensions", () => {
    const q = parseQuantum(serialized, sc, defaultUniverse());
    expect(q.taskName).toBe('lsst.pipe.tasks.visitDetectorSummary.VisitDetectorSummaryTask');
    expect(q.dataId).toEqual({ instrument: 'LSSTCam', detector: 94, visit: 2025120300150, band: 'r', day_obs: 20251203, physical_filter: 'r_57' });
    const wcs = q.inputs.find((r) => r.datasetType.name === 'preliminary_visit_image.wcs')!;
    const photoCalib = q.inputs.find((r) => r.datasetType.name === 'preliminary_visit_image.photoCalib')!;
    expect(wcs.datasetType).toMatchObject({ storageClass: 'Wcs', parentStorageClass: 'ExposureF' });
    expect(wcs.id).toBe(photoCalib.id);
    const flat = q.inputs.find((r) => r.datasetType.name === 'flat')!;
    expect(flat.datasetType.group.implied).toEqual(['band']);
    expect(flat.dataId).toEqual({ instrument: 'LSSTCam', detector: 94, physical_filter: 'r_57', band: 'r' });
    expect(flat.datasetType.isCalibration).toBe(true);
    // Storage-class overrides: the quantum says DataFrame where the registry says ArrowAstropy.
    const stars = q.inputs.find((r) => r.datasetType.name === 'single_visit_star')!;
    const registryStars = registryTypes.find((t) => t.name === 'single_visit_star')!;
    expect(stars.datasetType.storageClass).toBe('DataFrame');
    expect(registryStars.storageClass).toBe('ArrowAstropy');
    expect(sc.canConvert('ArrowAstropy', 'DataFrame') && sc.canConvert('DataFrame', 'ArrowAstropy')).toBe(true);
    expect(datasetTypeEquals({ ...stars.datasetType }, registryStars)).toBe(false);
    expect(stars.datasetType.group.equals(registryStars.group)).toBe(true);
  });

  it('has the ids the registry types give (a component shares its parent id) and data IDs in daf_butler key order', () => {
    const q = parseQuantum(serialized, sc, defaultUniverse());
    for (const ref of [...q.inputs, ...q.outputs]) {
      const parent = ref.datasetType.name.split('.')[0]!;
      const mode = ref.datasetType.isCalibration ? 'DATAID_TYPE' : 'DATAID_TYPE_RUN';
      expect(makeDatasetId(mode, parent, ref.dataId, ref.datasetType.dimensions, ref.run), ref.datasetType.name).toBe(ref.id);
    }
    const raw = serialized['inputs'] as Record<string, Array<[{ dataId: { dataId: Record<string, unknown> } }, number[]]>>;
    for (const ref of q.inputs) {
      const given = raw[ref.datasetType.name]![0]![0].dataId.dataId;
      expect(Object.keys(serializeDataCoordinate(ref.dataId, ref.datasetType.group).dataId)).toEqual(Object.keys(given));
    }
  });

  it("carries input records under the repository datastore's name; provenance is a QuantumProvenanceData", () => {
    const records = parseDatastoreRecordData((serialized['datastoreRecords'] as Record<string, unknown>)['FileDatastore@<butlerRoot>/datastore']);
    expect(records.size).toBe(3);
    const prov = DafButlerProvenanceSchema.parse(load('quantum_provenance.json'));
    expect(prov.actual_inputs.length).toBe(2);
    expect(prov.actual_outputs.length).toBe(4);
  });
});
