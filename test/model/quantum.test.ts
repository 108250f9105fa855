import { describe, it, expect } from 'vitest';
import { parseQuantum, quantumInputIds, quantumOutputIds, serializeQuantum } from '../../src/model/quantum.js';
import { serializeDatasetRef } from '../../src/model/dataset-ref.js';
import { STORED_FILE_INFO_CLASS } from '../../src/model/datastore-records.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { ConflictingDefinition, InvalidArgument, UnknownDatasetType } from '../../src/model/errors.js';

const DT = (name: string) => ({ name, storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'], isCalibration: false });
const IN = ['10000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000002'];
const INIT = '20000000-0000-4000-8000-000000000001';
const OUT = ['30000000-0000-4000-8000-000000000001', '30000000-0000-4000-8000-000000000002'];
const hex = (id: string) => id.replace(/-/g, '');
const nested = (id: string, detector: number, recIds: number[] = [0, 1]) => [
  { id, datasetType: null, dataId: { dataId: { instrument: 'Cam1', detector }, records: null }, run: 'RUN', component: null },
  recIds,
];
const row = (path: string) => ({
  formatter: 'lsst.daf.butler.formatters.json.JsonFormatter',
  path,
  storage_class: 'StructuredDataDict',
  component: '__NULL_STRING__',
  checksum: null,
  file_size: 17,
});

/** A hand-written daf_butler SerializedQuantum (the shape of `quantum.to_simple()`): Q1 of the QBB test fixture (test/e2e/fixture.ts). */
const SERIALIZED = {
  taskName: 'lsst.pipe.base.tests.NoDimensionsTestTask',
  dataId: { dataId: { instrument: 'Cam1' }, records: null },
  datasetTypeMapping: { init: DT('init'), input: DT('input'), output: DT('output') },
  initInputs: { init: nested(INIT, 1) },
  inputs: { input: [nested(IN[0]!, 1), nested(IN[1]!, 2)] },
  outputs: { output: [nested(OUT[0]!, 1, []), nested(OUT[1]!, 2, [])] },
  dimensionRecords: null,
  datastoreRecords: {
    'FileDatastore@<butlerRoot>/datastore': {
      dataset_ids: [...IN, INIT], // sorted, as serialize writes them
      records: {
        [STORED_FILE_INFO_CLASS]: {
          [hex(INIT)]: { file_datastore_records: [row('RUN/init/init_Cam1_1.json')] },
          [hex(IN[0]!)]: { file_datastore_records: [row('RUN/input/input_Cam1_1.json')] },
          [hex(IN[1]!)]: { file_datastore_records: [row('RUN/input/input_Cam1_2.json')] },
        },
      },
    },
  },
};

describe('quantum: daf_butler SerializedQuantum', () => {
  it('parses refs, types, data IDs and records', () => {
    const q = parseQuantum(JSON.parse(JSON.stringify(SERIALIZED)));
    expect(q.taskName).toBe('lsst.pipe.base.tests.NoDimensionsTestTask');
    expect(q.dataId).toEqual({ instrument: 'Cam1' });
    expect([...q.datasetTypes.keys()]).toEqual(['init', 'input', 'output']);
    expect(q.initInputs.map((r) => r.id)).toEqual([INIT]);
    expect(q.inputs.map((r) => r.id)).toEqual(IN);
    expect(q.outputs.map((r) => r.id)).toEqual(OUT);
    expect(q.inputs[1]!.dataId).toEqual({ detector: 2, instrument: 'Cam1' });
    expect(q.inputs[0]!.datasetType).toBe(q.datasetTypes.get('input'));
    expect(q.outputs[0]!.run).toBe('RUN');
    expect(quantumInputIds(q)).toEqual([INIT, ...IN]);
    expect(quantumOutputIds(q)).toEqual(OUT);
    const recs = q.datastoreRecords['FileDatastore@<butlerRoot>/datastore']!;
    expect([...recs.keys()].sort()).toEqual([INIT, ...IN].sort());
    expect(recs.get(IN[1]!)!.get('file_datastore_records')![0]!.path).toBe('RUN/input/input_Cam1_2.json');
  });

  it('round trips through serializeQuantum and JSON', () => {
    const q = parseQuantum(SERIALIZED);
    const s = serializeQuantum(q);
    expect(s.dimensionRecords).toBeNull();
    expect(s.inputs['input']![0]![0].datasetType).toBeNull();
    expect(s.inputs['input']![0]![1]).toEqual([]);
    expect(s.datastoreRecords).toEqual(SERIALIZED.datastoreRecords);
    expect(Object.keys(s.datasetTypeMapping)).toEqual(['init', 'input', 'output']);
    const again = parseQuantum(JSON.parse(JSON.stringify(s)));
    expect(again).toEqual(q);
    expect(serializeQuantum(again)).toEqual(s);
  });

  it('reports problems', () => {
    expect(() => parseQuantum({ ...SERIALIZED, datasetTypeMapping: { input: DT('input') } })).toThrow(UnknownDatasetType);
    expect(() => parseQuantum({ ...SERIALIZED, datasetTypeMapping: { ...SERIALIZED.datasetTypeMapping, input: DT('other') } })).toThrow(InvalidArgument);
    expect(() => parseQuantum({ ...SERIALIZED, inputs: { input: nested(IN[0]!, 1) } })).toThrow();
    expect(() => parseQuantum({ ...SERIALIZED, inputs: { input: [[{ ...nested(IN[0]!, 1)[0], run: null }, []]] } })).toThrow(
      /Run collection name is missing/,
    );
    expect(() => parseQuantum([])).toThrow(InvalidArgument);
    expect(() => parseQuantum({ ...SERIALIZED, taskName: 3 })).toThrow(InvalidArgument);
  });
});

describe('quantum: compact form', () => {
  it('parses flat ref lists with types given by name', () => {
    const q = parseQuantum({
      taskName: 't.T',
      datasetTypes: [DT('input'), DT('output')],
      inputs: [{ id: IN[0], datasetType: 'input', dataId: { instrument: 'Cam1', detector: 1 }, run: 'RUN' }],
      outputs: [
        { id: OUT[0], datasetType: 'output', dataId: { instrument: 'Cam1', detector: 1 }, run: 'RUN' },
        { id: OUT[1], datasetType: 'tbl', dataId: { instrument: 'Cam1', visit: 4 }, run: 'RUN', storageClass: 'Table' },
      ],
    });
    expect(q.dataId).toBeNull();
    expect(q.initInputs).toEqual([]);
    expect(q.inputs[0]!.datasetType).toBe(q.datasetTypes.get('input'));
    expect(q.datasetTypes.get('tbl')).toMatchObject({ name: 'tbl', storageClass: 'Table', dimensions: ['instrument', 'visit'], isCalibration: false });
    expect(q.datastoreRecords).toEqual({});
    expect(parseQuantum(serializeQuantum(q))).toEqual(q);
  });

  it('keeps per-ref storage-class overrides through a round trip', () => {
    const reg = StorageClassRegistry.withBuiltins();
    const q = parseQuantum(
      {
        datasetTypes: [DT('input')],
        inputs: [{ id: IN[0], datasetType: 'input', dataId: { instrument: 'Cam1', detector: 1 }, run: 'RUN', storageClass: 'Json' }],
      },
      reg,
    );
    expect(q.datasetTypes.get('input')!.storageClass).toBe('StructuredDataDict');
    expect(q.inputs[0]!.datasetType.storageClass).toBe('Json');
    const s = serializeQuantum(q);
    expect(s.inputs['input']![0]![0].datasetType).toMatchObject({ storageClass: 'Json' });
    expect(parseQuantum(s)).toEqual(q);
  });

  it('rejects conflicting type definitions and duplicate init-inputs', () => {
    expect(() => parseQuantum({ datasetTypes: [DT('a'), { ...DT('a'), storageClass: 'Json' }] })).toThrow(ConflictingDefinition);
    const init = (id: string) => ({ id, datasetType: 'init', dataId: { instrument: 'Cam1', detector: 1 }, run: 'RUN' });
    expect(() => parseQuantum({ datasetTypes: [DT('init')], initInputs: [init(IN[0]!), init(IN[1]!)] })).toThrow(InvalidArgument);
  });

  it('accepts full daf_butler refs in lists', () => {
    const q1 = parseQuantum(SERIALIZED);
    const q = parseQuantum({ taskName: 'x', inputs: q1.inputs.map(serializeDatasetRef) });
    expect(q.inputs.map((r) => r.id)).toEqual(IN);
    expect(q.datasetTypes.get('input')).toEqual(q1.datasetTypes.get('input'));
  });
});
