/**
 * What pipe_base's execution quanta hand a butler: component refs (`pvi.wcs`, same id as
 * `pvi`) among the inputs, in any order, and refs adapted to each connection's storage class
 * while the registry keeps its own. Reads convert from what is stored, puts store the
 * registry's class, and datasets that are stored but not predicted are read untracked.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openButler } from '../../src/butler/open-butler.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import type { QuantumBackedButler, RefArg } from '../../src/butler/quantum-backed-butler.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { FileDatastore } from '../../src/datastore/file-datastore.js';
import { RecordsTable } from '../../src/datastore/records-table.js';
import { DEFAULT_TEMPLATE } from '../../src/datastore/location-template.js';
import type { Datastore } from '../../src/datastore/datastore.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { parseDatasetRef } from '../../src/model/dataset-ref.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { FileStore } from '../../src/store/file-store.js';
import type { ProvenanceEvent } from '../../protocol/provenance.js';

const DIMS = ['instrument', 'detector', 'visit'];
const DATA_ID = { instrument: 'LSSTCam', detector: 94, visit: 2025052000177 };
const RUN = 'LSSTCam/runs/nightly/20250520';
const OUT_RUN = 'u/someone/step1';

const type = (name: string, storageClass: string, parentStorageClass?: string) => ({
  name,
  storageClass,
  dimensions: DIMS,
  ...(parentStorageClass ? { parentStorageClass } : {}),
  isCalibration: false,
});
const PVI = type('pvi', 'ExposureLike');
const PVI_WCS = type('pvi.wcs', 'StructuredDataDict', 'ExposureLike');
const CAT_REGISTRY = type('source_table', 'Table');
const CAT_CONNECTION = type('source_table', 'StructuredDataList');
const PVI_ID = makeDatasetId('DATAID_TYPE_RUN', 'pvi', DATA_ID, DIMS, RUN);
const CAT_ID = makeDatasetId('DATAID_TYPE_RUN', 'source_table', DATA_ID, DIMS, OUT_RUN);
const PVI_VALUE = { wcs: { crval: [10.5, -3.25] }, image: [1, 2, 3], meta: { exptime: 30 } };
const ROWS = [{ id: 1, flux: 2.5 }, { id: 2, flux: 7.25 }];
const TABLE = { columns: { id: [1, 2], flux: [2.5, 7.25] } };

function storageClasses(): StorageClassRegistry {
  const reg = StorageClassRegistry.withBuiltins();
  reg.loadConfig({ ExposureLike: { inheritsFrom: 'StructuredDataDict', components: { wcs: 'StructuredDataDict', image: 'StructuredDataList' } } });
  return reg;
}

const nested = (id: string, run: string) => [{ id, datasetType: null, dataId: { dataId: DATA_ID, records: null }, run, component: null }, []];

/** daf_butler's SerializedQuantum as pipe_base's execution quanta make it: adapted types in the mapping. */
function quantum(inputTypes: Array<typeof PVI>, outputs: Array<typeof PVI> = []) {
  const mapping: Record<string, unknown> = {};
  for (const t of [...inputTypes, ...outputs]) mapping[t.name] = t;
  return {
    taskName: 'lsst.drp.tasks.TestTask',
    dataId: { dataId: DATA_ID, records: null },
    datasetTypeMapping: mapping,
    initInputs: {},
    inputs: Object.fromEntries(inputTypes.map((t) => [t.name, [nested(PVI_ID, RUN)]])),
    outputs: Object.fromEntries(outputs.map((t) => [t.name, [nested(CAT_ID, OUT_RUN)]])),
    dimensionRecords: null,
    datastoreRecords: null,
  };
}

async function open(datastore: Datastore, reg: StorageClassRegistry, q: unknown, events?: ProvenanceEvent[]): Promise<QuantumBackedButler> {
  return openButler({
    sessionId: 's',
    quantum: q,
    datasetTypes: [PVI, CAT_REGISTRY],
    strictDeferred: false,
    datastore,
    storageClasses: reg,
    universe: defaultUniverse(),
    onEvent: events ? (e) => events.push(e) : undefined,
  });
}

/** Store pvi through a seeding butler that predicts it as an output. */
async function seed(datastore: Datastore, reg: StorageClassRegistry): Promise<void> {
  const b = await openButler({
    sessionId: 'seed',
    predicted: { inputs: [], outputs: [{ id: PVI_ID, datasetType: PVI, dataId: DATA_ID, run: RUN }] },
    strictDeferred: false,
    datastore,
    storageClasses: reg,
    universe: defaultUniverse(),
  });
  await b.put({ id: PVI_ID }, { kind: 'value', value: PVI_VALUE });
}

const fullRef = (t: typeof PVI, id = PVI_ID, run = RUN): RefArg => ({ ref: parseDatasetRef({ id, datasetType: t, dataId: DATA_ID, run }, undefined, storageClasses()) });

describe('component refs as quantum inputs', () => {
  let reg: StorageClassRegistry;
  let ds: MemoryDatastore;
  beforeEach(async () => {
    reg = storageClasses();
    ds = new MemoryDatastore('InMemoryDatastore@qbb', new MemoryStore(), reg);
    await seed(ds, reg);
  });

  for (const order of [[PVI_WCS, PVI], [PVI, PVI_WCS]]) {
    it(`reads pvi.wcs and pvi with the same id whichever comes first (${order.map((t) => t.name).join(', ')})`, async () => {
      const events: ProvenanceEvent[] = [];
      const b = await open(ds, reg, quantum(order), events);
      expect(b.predictedInputCount).toBe(1);
      const wcs = await b.get(fullRef(PVI_WCS));
      expect(wcs.value).toEqual(PVI_VALUE.wcs);
      expect(wcs.storageClass).toBe('StructuredDataDict');
      expect(wcs.ref.datasetType.name).toBe('pvi.wcs');
      expect((await b.get({ id: PVI_ID, component: 'wcs' })).value).toEqual(PVI_VALUE.wcs);
      // A bare id, and the parent's full ref, are the composite (it is predicted).
      expect((await b.get({ id: PVI_ID })).value).toEqual(PVI_VALUE);
      expect((await b.get(fullRef(PVI))).value).toEqual(PVI_VALUE);
      expect((await b.get({ id: PVI_ID, component: 'image' })).value).toEqual(PVI_VALUE.image);
      // Provenance names the parent, as daf_butler's id-keyed sets do.
      const prov = b.extractProvenance('daf_butler');
      expect(prov.actual_inputs).toEqual([PVI_ID]);
      const native = b.extractProvenance('native');
      expect(native.inputs.map((i) => [i.ref.id, i.ref.datasetType, i.loads])).toEqual([[PVI_ID, 'pvi', 5]]);
      expect(new Set(events.map((e) => `${e.event}:${e.datasetType}:${e.datasetId}`))).toEqual(new Set([`inputLoaded:pvi:${PVI_ID}`]));
    });
  }

  it('with only pvi.wcs predicted: its own ref, {id, component} and a bare {id} read the component', async () => {
    const b = await open(ds, reg, quantum([PVI_WCS]));
    expect((await b.get(fullRef(PVI_WCS))).value).toEqual(PVI_VALUE.wcs);
    expect((await b.get({ id: PVI_ID, component: 'wcs' })).value).toEqual(PVI_VALUE.wcs);
    const bare = await b.get({ id: PVI_ID });
    expect([bare.ref.datasetType.name, bare.value]).toEqual(['pvi.wcs', PVI_VALUE.wcs]);
    expect(b.extractProvenance('daf_butler').actual_inputs).toEqual([PVI_ID]);
  });
});

describe('storage-class overrides (registry class vs connection class)', () => {
  let dir: string;
  let store: FileStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'qb-override-'));
    store = new FileStore(dir);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const fileDatastore = (reg: StorageClassRegistry, records = new RecordsTable(':memory:')) =>
    new FileDatastore({ name: 'FileDatastore@<butlerRoot>/datastore', root: dir, store, template: DEFAULT_TEMPLATE, records, storageClasses: reg, checksum: 'blake2b' });

  it('a put through the connection class (memory datastore) stores the registry class, converted; reads convert back', async () => {
    const reg = storageClasses();
    const ds = new MemoryDatastore('InMemoryDatastore@qbb', new MemoryStore(), reg);
    const b = await open(ds, reg, quantum([], [CAT_CONNECTION]));
    const put = await b.put({ id: CAT_ID }, { kind: 'value', value: ROWS });
    expect(put.info.storage_class).toBe('Table');
    const registryRef = parseDatasetRef({ id: CAT_ID, datasetType: CAT_REGISTRY, dataId: DATA_ID, run: OUT_RUN }, undefined, reg);
    const { bytes, info } = await ds.getBytes(registryRef);
    expect(info.storage_class).toBe('Table');
    expect(JSON.parse(bytes.toString('utf8'))).toEqual(TABLE);
    const back = await b.get({ id: CAT_ID });
    expect([back.storageClass, back.value]).toEqual(['StructuredDataList', ROWS]);
    const asTable = await b.get({ id: CAT_ID, storageClass: 'Table' });
    expect([asTable.storageClass, asTable.value]).toEqual(['Table', TABLE]);
  });

  it('file datastore: the record and the artifact have the registry class; a later quantum reads it through its own class, with records and without (trust mode)', async () => {
    const reg = storageClasses();
    const writer = fileDatastore(reg);
    const b = await open(writer, reg, quantum([], [CAT_CONNECTION]));
    const put = await b.put({ id: CAT_ID }, { kind: 'value', value: ROWS });
    expect(put.info).toMatchObject({ storage_class: 'Table', formatter: 'lsst.daf.butler.formatters.json.JsonFormatter', component: null });
    expect(JSON.parse(readFileSync(join(dir, put.info.path), 'utf8'))).toEqual(TABLE);
    const records = await writer.exportRecords([b.predictedRef(CAT_ID)!]);

    // The downstream quantum lists source_table as an input in StructuredDataList.
    const downstream = {
      ...quantum([]),
      datasetTypeMapping: { source_table: CAT_CONNECTION },
      inputs: { source_table: [nested(CAT_ID, OUT_RUN)] },
    };
    for (const withRecords of [false, true]) {
      const reader = fileDatastore(reg);
      if (withRecords) await reader.importRecords(records);
      const d = await open(reader, reg, downstream);
      const got = await d.get({ id: CAT_ID });
      expect([withRecords, got.storageClass, got.value]).toEqual([withRecords, 'StructuredDataList', ROWS]);
      expect(await d.stored({ id: CAT_ID })).toBe(true);
      const uris = await d.getURIs({ id: CAT_ID }, false);
      expect(uris.primary).toContain(put.info.path);
    }
  });

  it('a put in a class that does not convert to the registry class is refused', async () => {
    const reg = storageClasses();
    const ds = new MemoryDatastore('InMemoryDatastore@qbb', new MemoryStore(), reg);
    const textType = type('source_table', 'Text');
    const b = await open(ds, reg, quantum([], [textType]));
    await expect(b.put({ id: CAT_ID }, { kind: 'value', value: 'rows' })).rejects.toMatchObject({ kind: 'PredictedRefMismatch' });
  });
});

describe('a stored dataset that is not predicted', () => {
  it('is read, untracked (no event, not in provenance), as daf_butler reads it', async () => {
    const reg = storageClasses();
    const ds = new MemoryDatastore('InMemoryDatastore@qbb', new MemoryStore(), reg);
    await seed(ds, reg);
    const events: ProvenanceEvent[] = [];
    const b = await open(ds, reg, quantum([]), events);
    const got = await b.get(fullRef(PVI));
    expect(got.value).toEqual(PVI_VALUE);
    expect((await b.get(fullRef(PVI_WCS))).value).toEqual(PVI_VALUE.wcs);
    expect(events).toEqual([]);
    const prov = b.extractProvenance('daf_butler');
    expect([prov.predicted_inputs, prov.available_inputs, prov.actual_inputs]).toEqual([[], [], []]);
    expect(b.metrics.n_get).toBe(2);
    // Not stored at all: DatasetNotFound; an {id} alone that is not predicted cannot be resolved.
    await expect(b.get(fullRef(PVI, CAT_ID))).rejects.toMatchObject({ kind: 'DatasetNotFound' });
    expect(() => b.resolve({ id: PVI_ID }, 'read')).toThrow(/not among this quantum's predicted/);
  });
});
