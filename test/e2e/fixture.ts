/**
 * The fixture of daf_butler's own QuantumBackedButler tests, built as
 * wire JSON: instrument Cam1, detectors 1–4, five dataset types with dimensions
 * {instrument, detector} and storage class StructuredDataDict, run "RUN".
 * Ids are deterministic (DATAID_TYPE_RUN), as a Python host would compute them.
 */
import { makeDatasetId } from '../../src/model/dataset-id.js';

export const RUN = 'RUN';
export const DIMENSIONS = ['instrument', 'detector'];
export const DETECTORS = [1, 2, 3, 4];

// A type alias, not an interface: the protocol's ref input is a loose object (an index
// signature), which an interface is never assignable to.
export type WireRef = {
  id: string;
  datasetType: { name: string; storageClass: string; dimensions: string[]; isCalibration: boolean };
  dataId: { dataId: { instrument: string; detector: number }; records: null };
  run: string;
  component: null;
};

export function datasetType(name: string, storageClass = 'StructuredDataDict') {
  return { name, storageClass, dimensions: DIMENSIONS, isCalibration: false };
}

export function ref(name: string, detector: number, run = RUN, storageClass = 'StructuredDataDict'): WireRef {
  const dataId = { instrument: 'Cam1', detector };
  return {
    id: makeDatasetId('DATAID_TYPE_RUN', name, dataId, DIMENSIONS, run),
    datasetType: datasetType(name, storageClass),
    dataId: { dataId, records: null },
    run,
    component: null,
  };
}

export function refs(name: string, run = RUN): WireRef[] {
  return DETECTORS.map((d) => ref(name, d, run));
}

/** daf_butler's SerializedQuantum shape: nested refs carry datasetType null. */
export function serializedQuantum(opts: {
  taskName: string;
  initInputs?: Record<string, WireRef>;
  inputs: Record<string, WireRef[]>;
  outputs: Record<string, WireRef[]>;
}) {
  const nested = (r: WireRef) => [{ ...r, datasetType: null }, []];
  const mapping: Record<string, unknown> = {};
  const all = [
    ...Object.entries(opts.initInputs ?? {}).map(([k, r]) => [k, [r]] as const),
    ...Object.entries(opts.inputs),
    ...Object.entries(opts.outputs),
  ];
  for (const [name, rs] of all) mapping[name] = rs[0]!.datasetType;
  return {
    taskName: opts.taskName,
    dataId: null,
    datasetTypeMapping: mapping,
    initInputs: Object.fromEntries(Object.entries(opts.initInputs ?? {}).map(([k, r]) => [k, nested(r)])),
    inputs: Object.fromEntries(Object.entries(opts.inputs).map(([k, rs]) => [k, rs.map(nested)])),
    outputs: Object.fromEntries(Object.entries(opts.outputs).map(([k, rs]) => [k, rs.map(nested)])),
    dimensionRecords: null,
    datastoreRecords: null,
  };
}

export const inputRefs = () => refs('input');
export const initRef = () => ref('init', 1);
export const outputRefs = () => refs('output');
export const output2Refs = () => refs('output2');
export const missingRefs = () => refs('extra');

export function q1() {
  return serializedQuantum({
    taskName: 'lsst.pipe.base.tests.TestTask',
    initInputs: { init: initRef() },
    inputs: { input: inputRefs() },
    outputs: { output: outputRefs() },
  });
}

export function q2() {
  return serializedQuantum({
    taskName: 'lsst.pipe.base.tests.TestTask2',
    inputs: { output: outputRefs() },
    outputs: { output2: output2Refs() },
  });
}
