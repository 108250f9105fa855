/**
 * Building a butler from what a host sends: a daf_butler SerializedQuantum (or our
 * compact quantum), or predicted refs (daf_butler's from_predicted).
 */
import { v4 as uuidv4 } from 'uuid';
import { parseQuantum } from '../model/quantum.js';
import { parseDatasetRef, type DatasetRef } from '../model/dataset-ref.js';
import { isRefContainer, parseRefContainer } from '../model/dataset-ref-container.js';
import { parseDatasetType, type DatasetType } from '../model/dataset-type.js';
import { parseDataId, type DataId } from '../model/data-coordinate.js';
import { parseDatastoreRecordData } from '../model/datastore-records.js';
import type { StorageClassRegistry } from '../model/storage-class.js';
import type { DimensionUniverse } from '../model/dimensions/dimension-universe.js';
import type { Datastore } from '../datastore/datastore.js';
import type { ProvenanceEvent } from '../../protocol/provenance.js';
import { QuantumBackedButler } from './quantum-backed-butler.js';

/** A list of refs, or a daf_butler SerializedDatasetRefContainerV1. */
export type RefList = unknown[] | Record<string, unknown>;

export interface PredictedSpec {
  inputs: RefList;
  initInputs?: RefList;
  outputs: RefList;
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
  /** The session's dimension universe: dataset types, refs and data IDs are read in it. */
  universe: DimensionUniverse;
  onEvent?: (event: ProvenanceEvent) => void;
}

export async function openButler(spec: OpenSpec): Promise<QuantumBackedButler> {
  const datasetTypes = new Map<string, DatasetType>();
  const universe = spec.universe;
  for (const raw of spec.datasetTypes ?? []) {
    const dt = parseDatasetType(raw, undefined, universe);
    datasetTypes.set(dt.name, dt);
  }
  let taskName: string | null = null;
  let dataId: DataId | null = null;
  let inputs: DatasetRef[];
  let initInputs: DatasetRef[] = [];
  let outputs: DatasetRef[];
  if (spec.quantum !== undefined) {
    const q = parseQuantum(spec.quantum, spec.storageClasses, universe);
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
      const dt = parseDatasetType(raw, undefined, universe);
      if (!datasetTypes.has(dt.name)) datasetTypes.set(dt.name, dt);
    }
    const refs = (list: RefList | undefined): DatasetRef[] =>
      isRefContainer(list)
        ? parseRefContainer(list, universe, datasetTypes)
        : ((list ?? []) as unknown[]).map((r) => parseDatasetRef(r, datasetTypes, spec.storageClasses, undefined, universe));
    inputs = refs(p.inputs);
    initInputs = refs(p.initInputs);
    outputs = refs(p.outputs);
    taskName = p.taskName ?? null;
    dataId = p.dataId === undefined ? null : parseDataId(p.dataId, universe);
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
    universe,
    onEvent: spec.onEvent,
  });
}
