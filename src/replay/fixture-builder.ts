/**
 * The fixture repository, built through the sidecar's own protocol (repository/create,
 * registerDatasetType, put, makeQuantum) so the fixture exercises the same code a host
 * would. Small and deterministic: every id is DATAID_TYPE_RUN (uuid5), every value
 * fixed, so two builds give the same ids, checksums and quanta.
 *
 * Layout under `dir`: repo/ (the repository), quanta/q1.json and q2.json (the two
 * SerializedQuanta), fixture.json (the manifest returned here).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as P from '../../protocol/index.js';
import { QuantumButlerClient } from '../client/client.js';

export const FIXTURE_INSTRUMENT = 'Cam1';
export const FIXTURE_RUNS = { raw: 'raw/all', refcats: 'refcats', output: 'u/fixture/run1' } as const;

/** A composite defined in the repository config: two read/write components and a derived one. */
export const FIXTURE_STORAGE_CLASSES = {
  ExposureLike: {
    inheritsFrom: 'StructuredDataDict',
    components: { image: 'StructuredDataList', metadata: 'StructuredDataDict' },
    derivedComponents: { npix: { storageClass: 'Json', from: 'image', op: 'length' } },
  },
};

export const FIXTURE_DATASET_TYPES = [
  { name: 'calibrate_config', storageClass: 'StructuredDataDict', dimensions: [] as string[] },
  { name: 'raw', storageClass: 'ExposureLike', dimensions: ['instrument', 'detector'] },
  { name: 'ref_cat', storageClass: 'Table', dimensions: ['instrument'] },
  { name: 'calexp', storageClass: 'ExposureLike', dimensions: ['instrument', 'detector'] },
  { name: 'summary', storageClass: 'StructuredDataDict', dimensions: ['instrument'] },
];

export const FIXTURE_DETECTORS = [1, 2];

export interface FixtureQuantum {
  file: string;
  quantum: Record<string, unknown>;
  outputs: P.DatasetRef[];
}

export interface FixtureManifest {
  dir: string;
  root: string;
  instrument: string;
  runs: typeof FIXTURE_RUNS;
  storageClasses: typeof FIXTURE_STORAGE_CLASSES;
  datasetTypes: typeof FIXTURE_DATASET_TYPES;
  inputs: { calibrateConfig: P.DatasetRef; raw1: P.DatasetRef; raw2: P.DatasetRef; refCat: P.DatasetRef };
  quanta: { q1: FixtureQuantum; q2: FixtureQuantum };
}

export const rawValue = (detector: number) => ({
  image: [detector, detector + 1, detector + 2, detector + 3],
  metadata: { detector, exposure: 100, filter: 'r' },
});
export const REF_CAT_VALUE = { columns: { id: [1, 2, 3], ra: [10.5, 11.25, 12], mag: [17.5, 18.25, 19] } };
export const CALIBRATE_CONFIG_VALUE = { doPhotoCal: true, threshold: 5 };

export interface BuildOptions {
  /** The built CLI; the client's default (dist/src/cli.js) when absent. */
  cliPath?: string;
}

/** Build the fixture under `dir` (created; must not hold a repository yet). */
export async function buildFixtureRepository(dir: string, opts: BuildOptions = {}): Promise<FixtureManifest> {
  const root = join(dir, 'repo');
  mkdirSync(join(dir, 'quanta'), { recursive: true });
  const client = await QuantumButlerClient.spawn({ cliPath: opts.cliPath, stderr: 'pipe', clientName: 'fixture-builder' });
  try {
    const rq = <D extends P.RequestDef<any, any>>(def: D, params: P.ParamsOf<D>) => client.request(def, params);
    // blake2b records stated (new repositories carry none): the transcripts check verified reads and record comparisons.
    await rq(P.RepositoryCreate, { root, config: { storageClasses: FIXTURE_STORAGE_CLASSES, datastore: { checksum: 'blake2b' } } });
    for (const datasetType of FIXTURE_DATASET_TYPES) await rq(P.RepositoryRegisterDatasetType, { root, datasetType });

    const put = async (datasetType: string, dataId: Record<string, string | number>, run: string, value: unknown) =>
      (await rq(P.RepositoryPut, { root, datasetType, dataId, run, payload: { encoding: 'json', value } })).ref;
    const cam = { instrument: FIXTURE_INSTRUMENT };
    const inputs = {
      calibrateConfig: await put('calibrate_config', {}, FIXTURE_RUNS.refcats, CALIBRATE_CONFIG_VALUE),
      raw1: await put('raw', { ...cam, detector: 1 }, FIXTURE_RUNS.raw, rawValue(1)),
      raw2: await put('raw', { ...cam, detector: 2 }, FIXTURE_RUNS.raw, rawValue(2)),
      refCat: await put('ref_cat', cam, FIXTURE_RUNS.refcats, REF_CAT_VALUE),
    };

    // q1 calibrates both raws against the catalog; q2 summarises q1's calexps (its inputs
    // are predicted outputs, not yet stored: the second session reads them by trust mode).
    const q1 = await rq(P.RepositoryMakeQuantum, {
      root,
      taskName: 'fixture.CalibrateTask',
      dataId: cam,
      initInputs: [{ id: inputs.calibrateConfig.id }],
      inputs: [inputs.raw1, inputs.raw2, inputs.refCat].map((r) => ({ id: r.id })),
      outputs: FIXTURE_DETECTORS.map((detector) => ({ datasetType: 'calexp', dataId: { ...cam, detector }, run: FIXTURE_RUNS.output })),
    });
    const q2 = await rq(P.RepositoryMakeQuantum, {
      root,
      taskName: 'fixture.SummaryTask',
      dataId: cam,
      inputs: q1.outputs,
      outputs: [{ datasetType: 'summary', dataId: cam, run: FIXTURE_RUNS.output }],
    });

    const write = (name: string, made: typeof q1): FixtureQuantum => {
      const file = join(dir, 'quanta', `${name}.json`);
      writeFileSync(file, JSON.stringify(made.quantum, null, 2) + '\n');
      return { file, quantum: made.quantum, outputs: made.outputs };
    };
    const manifest: FixtureManifest = {
      dir,
      root,
      instrument: FIXTURE_INSTRUMENT,
      runs: FIXTURE_RUNS,
      storageClasses: FIXTURE_STORAGE_CLASSES,
      datasetTypes: FIXTURE_DATASET_TYPES,
      inputs,
      quanta: { q1: write('q1', q1), q2: write('q2', q2) },
    };
    writeFileSync(join(dir, 'fixture.json'), JSON.stringify(manifest, null, 2) + '\n');
    return manifest;
  } finally {
    await client.close();
  }
}
