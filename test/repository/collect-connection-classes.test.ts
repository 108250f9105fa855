/**
 * collect-and-transfer of quanta as pipe_base executes them: outputs typed with a connection's
 * storage class (registry: Table, connection: StructuredDataList) and component inputs
 * (`pvi.wcs` with the id of `pvi`). Types are matched by name, as daf_butler's import does;
 * a storage class with no conversion either way is a precise conflict. On every registry
 * backend, with the rows written inline and on SQLite's writer thread.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/repository/registry.js';
import { collectAndTransfer as collectAndTransferWith, type CollectItem, type CollectOptions } from '../../src/repository/collect-and-transfer.js';
import { testBackends, type TestBackend } from '../support/registries.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { openButler } from '../../src/butler/open-butler.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import { parseQuantum } from '../../src/model/quantum.js';
import { parseDatasetType } from '../../src/model/dataset-type.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';

const DIMS = ['instrument', 'detector'];
const DATA_ID = { instrument: 'LSSTCam', detector: 12 };
const t = (name: string, storageClass: string, parentStorageClass?: string) => ({ name, storageClass, dimensions: DIMS, ...(parentStorageClass ? { parentStorageClass } : {}), isCalibration: false });
const PVI_ID = makeDatasetId('DATAID_TYPE_RUN', 'pvi', DATA_ID, DIMS, 'in');
const CAT_ID = makeDatasetId('DATAID_TYPE_RUN', 'cat', DATA_ID, DIMS, 'out');
const Q_ID = '00000000-0000-4000-8000-0000000000c1';
const nested = (id: string, run: string) => [{ id, datasetType: null, dataId: { dataId: DATA_ID, records: null }, run, component: null }, []];

function classes(): StorageClassRegistry {
  const reg = StorageClassRegistry.withBuiltins();
  reg.loadConfig({ ExposureLike: { inheritsFrom: 'StructuredDataDict', components: { wcs: 'StructuredDataDict', image: 'StructuredDataList' } } });
  return reg;
}

/** The execution quantum: pvi.wcs as input, cat in the connection's class as output. */
function quantumJson(catConnection: string) {
  return {
    taskName: 'lsst.drp.Measure',
    dataId: { dataId: DATA_ID, records: null },
    datasetTypeMapping: { 'pvi.wcs': t('pvi.wcs', 'StructuredDataDict', 'ExposureLike'), cat: t('cat', catConnection) },
    initInputs: {},
    inputs: { 'pvi.wcs': [nested(PVI_ID, 'in')] },
    outputs: { cat: [nested(CAT_ID, 'out')] },
    dimensionRecords: null,
    datastoreRecords: null,
  };
}

async function execute(catConnection: string, registryTypes: boolean) {
  const sc = classes();
  const ds = new MemoryDatastore('InMemoryDatastore@x', new MemoryStore(), sc);
  const seed = await openButler({ sessionId: 'seed', predicted: { inputs: [], outputs: [{ id: PVI_ID, datasetType: t('pvi', 'ExposureLike'), dataId: DATA_ID, run: 'in' }] }, strictDeferred: false, datastore: ds, storageClasses: sc, universe: defaultUniverse() });
  await seed.put({ id: PVI_ID }, { kind: 'value', value: { wcs: { a: 1 } } });
  const q = quantumJson(catConnection);
  const b = await openButler({
    sessionId: 'q',
    quantum: q,
    datasetTypes: registryTypes ? [t('cat', 'Table'), t('pvi', 'ExposureLike')] : undefined,
    strictDeferred: false,
    datastore: ds,
    storageClasses: sc,
    universe: defaultUniverse(),
  });
  await b.stored({ id: PVI_ID });
  await b.get({ id: PVI_ID, component: 'wcs' });
  if (catConnection === 'StructuredDataList') await b.put({ id: CAT_ID }, { kind: 'value', value: [{ x: 1 }] });
  return { quantum: parseQuantum(q, sc), provenance: b.extractProvenance('daf_butler'), sc };
}

const CASES: Array<{ backend: TestBackend; writer: 'inline' | 'thread'; name: string }> = testBackends().flatMap((backend) =>
  (['inline', 'thread'] as const).map((writer) => ({ backend, writer, name: `${backend.kind}, ${writer} writer` })),
);

describe.each(CASES)('collect-and-transfer with connection storage classes ($name)', ({ backend, writer }) => {
  const collectAndTransfer = (registry: Registry, batch: readonly CollectItem[], opts: CollectOptions = {}) => collectAndTransferWith(registry, batch, { writer, ...opts });
  let reg: Registry;
  beforeEach(async () => {
    reg = await backend.fresh();
    await reg.registerDatasetType(parseDatasetType(t('cat', 'Table')));
    await reg.registerDatasetType(parseDatasetType(t('pvi', 'ExposureLike')));
  });
  afterEach(() => backend.dispose(reg));

  it('accepts an output typed with a convertible connection class; the registry keeps its class; a component input is an edge to its parent', async () => {
    const { quantum, provenance, sc } = await execute('StructuredDataList', true);
    // The record written through the connection names the registry's class.
    const row = Object.values(provenance.datastore_records)[0]!.records['lsst.daf.butler.datastore.stored_file_info.StoredFileInfo']![CAT_ID.replace(/-/g, '')]!['file_datastore_records']![0]!;
    expect(row['storage_class']).toBe('Table');
    const report = await collectAndTransfer(reg, [{ quantum, provenance, quantumId: Q_ID }], { storageClasses: sc });
    expect(report.conflicts).toEqual([]);
    expect(report.committed).toBe(true);
    expect((await reg.getDatasetType('cat'))!.storageClass).toBe('Table');
    expect((await reg.getDataset(CAT_ID))!.datasetType.storageClass).toBe('Table');
    // The input edge names the parent dataset (pvi), whose id the component ref carries.
    const stored = await reg.getQuantum(Q_ID);
    expect(stored!.inputs).toEqual([expect.objectContaining({ datasetId: PVI_ID, datasetType: 'pvi', run: 'in', actual: true })]);
  });

  it('checks a component input against its registered parent dataset', async () => {
    const { quantum, provenance, sc } = await execute('StructuredDataList', true);
    // pvi is in the registry: the input pvi.wcs (with pvi's id) agrees with it.
    await reg.insertDatasets([{ id: PVI_ID, datasetType: parseDatasetType(t('pvi', 'ExposureLike')), dataId: DATA_ID, run: 'in' }], { autoRegister: true });
    const report = await collectAndTransfer(reg, [{ quantum, provenance }], { storageClasses: sc });
    expect(report.conflicts).toEqual([]);
    expect(report.committed).toBe(true);
  });

  it('says which type and which classes when no conversion exists', async () => {
    const { provenance, sc } = await execute('StructuredDataList', true);
    // The same document against a quantum whose output claims Bytes, which converts neither way with Table.
    const quantum = parseQuantum(quantumJson('Bytes'), sc);
    const report = await collectAndTransfer(reg, [{ quantum, provenance }], { storageClasses: sc });
    expect(report.committed).toBe(false);
    expect(report.conflicts).toHaveLength(1);
    expect(report.conflicts[0]).toMatchObject({
      reason: 'datasetTypeConflict',
      details: {
        datasetType: 'cat',
        fields: ['storageClass'],
        registeredStorageClass: 'Table',
        givenStorageClass: 'Bytes',
        message: "Dataset type 'cat' of the quantum does not match the registry's: storage class Bytes (quantum) cannot be converted to or from Table (registry).",
      },
    });
  });
});
