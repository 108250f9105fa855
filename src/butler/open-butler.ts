/**
 * Building a butler from what a host sends: a daf_butler SerializedQuantum (or our
 * compact quantum), or predicted refs (daf_butler's from_predicted).
 */
import { v4 as uuidv4 } from 'uuid';
import { parseQuantum } from '../model/quantum.js';
import { parseDatasetRef, type DatasetRef } from '../model/dataset-ref.js';
import { parseDatasetType, type DatasetType } from '../model/dataset-type.js';
import { parseDataId, type DataId } from '../model/data-coordinate.js';
import { parseDatastoreRecordData } from '../model/datastore-records.js';
import type { StorageClassRegistry } from '../model/storage-class.js';
import type { Datastore } from '../datastore/datastore.js';
import type { ProvenanceEvent } from '../../protocol/provenance.js';
import { QuantumBackedButler } from './quantum-backed-butler.js';

export interface PredictedSpec {
  inputs: unknown[];
  initInputs?: unknown[];
  outputs: unknown[];
  datastoreRecords?: Record<string, unknown>;
  datasetTypes?: unknown[];
  taskName?: string;
  dataId?: unknown;
}

export interface OpenSpec {
  sessionId: string;
  quantumId?: string;
  quantum?: unknown;
  predicted?: PredictedSpec;
  datasetTypes?: unknown[];
  strictDeferred: boolean;
  datastore: Datastore;
  storageClasses: StorageClassRegistry;
  onEvent?: (event: ProvenanceEvent) => void;
}

export async function openButler(spec: OpenSpec): Promise<QuantumBackedButler> {
  const datasetTypes = new Map<string, DatasetType>();
  for (const raw of spec.datasetTypes ?? []) {
    const dt = parseDatasetType(raw);
    datasetTypes.set(dt.name, dt);
  }
  let taskName: string | null = null;
  let dataId: DataId | null = null;
  let inputs: DatasetRef[];
  let initInputs: DatasetRef[] = [];
  let outputs: DatasetRef[];
  if (spec.quantum !== undefined) {
    const q = parseQuantum(spec.quantum, spec.storageClasses);
    for (const [name, dt] of q.datasetTypes) if (!datasetTypes.has(name)) datasetTypes.set(name, dt);
    taskName = q.taskName || null;
    dataId = q.dataId;
    inputs = q.inputs;
    initInputs = q.initInputs;
    outputs = q.outputs;
    // Each datastore takes only the records under its own name, as in daf_butler.
    const mine = q.datastoreRecords[spec.datastore.name];
    if (mine) await spec.datastore.importRecords(mine);
  } else {
    const p = spec.predicted!;
    for (const raw of p.datasetTypes ?? []) {
      const dt = parseDatasetType(raw);
      if (!datasetTypes.has(dt.name)) datasetTypes.set(dt.name, dt);
    }
    inputs = p.inputs.map((r) => parseDatasetRef(r, datasetTypes, spec.storageClasses));
    initInputs = (p.initInputs ?? []).map((r) => parseDatasetRef(r, datasetTypes, spec.storageClasses));
    outputs = p.outputs.map((r) => parseDatasetRef(r, datasetTypes, spec.storageClasses));
    taskName = p.taskName ?? null;
    dataId = p.dataId === undefined ? null : parseDataId(p.dataId);
    const mine = p.datastoreRecords?.[spec.datastore.name];
    if (mine !== undefined) await spec.datastore.importRecords(parseDatastoreRecordData(mine));
  }
  // Every dataset type the quantum names becomes known, so refs given by name resolve.
  for (const ref of [...inputs, ...initInputs, ...outputs]) {
    if (!datasetTypes.has(ref.datasetType.name)) datasetTypes.set(ref.datasetType.name, ref.datasetType);
  }
  return new QuantumBackedButler({
    sessionId: spec.sessionId,
    quantumId: spec.quantumId ?? uuidv4(),
    taskName,
    dataId,
    inputs,
    initInputs,
    outputs,
    datastore: spec.datastore,
    storageClasses: spec.storageClasses,
    datasetTypes,
    strictDeferred: spec.strictDeferred,
    onEvent: spec.onEvent,
  });
}
