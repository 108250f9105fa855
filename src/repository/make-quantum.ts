/**
 * Building a quantum from a repository: inputs are registered datasets (or the
 * predicted outputs of upstream quanta), outputs get ids from their dataset type,
 * data ID and run. The result is daf_butler's SerializedQuantum, ready for session/open.
 */
import type { DatasetRef } from '../model/dataset-ref.js';
import type { DatasetType } from '../model/dataset-type.js';
import { makeDatasetId, type IdGenerationMode } from '../model/dataset-id.js';
import { missingDimensions, type DataId } from '../model/data-coordinate.js';
import { serializeQuantum, type Quantum, type SerializedQuantum } from '../model/quantum.js';
import type { DatastoreRecordData } from '../model/datastore-records.js';
import { InvalidArgument, UnknownDatasetType } from '../model/errors.js';
import type { Repository } from './repository.js';

export interface OutputSpec {
  datasetType: string;
  dataId: DataId;
  run: string;
  mode: IdGenerationMode;
}

export interface MakeQuantumSpec {
  taskName: string;
  dataId: DataId | null;
  inputs: DatasetRef[];
  initInputs: DatasetRef[];
  outputs: OutputSpec[];
  includeRecords: boolean;
}

export async function makeQuantum(repo: Repository, spec: MakeQuantumSpec): Promise<{ quantum: SerializedQuantum; outputs: DatasetRef[] }> {
  const outputs: DatasetRef[] = [];
  for (const o of spec.outputs) {
    const dt = await repo.registry.getDatasetType(o.datasetType);
    if (!dt) throw new UnknownDatasetType(`Dataset type ${o.datasetType} is not registered in ${repo.root}.`);
    const missing = missingDimensions(o.dataId, dt.dimensions);
    if (missing.length) throw new InvalidArgument(`Output ${o.datasetType} lacks required dimensions: ${missing.join(', ')}.`);
    const dataId = Object.fromEntries(dt.dimensions.map((d) => [d, o.dataId[d]!]));
    outputs.push({ id: makeDatasetId(o.mode, dt.name, dataId, dt.dimensions, o.run), datasetType: dt, dataId, run: o.run });
  }
  const datasetTypes = new Map<string, DatasetType>();
  for (const r of [...spec.inputs, ...spec.initInputs, ...outputs]) datasetTypes.set(r.datasetType.name, r.datasetType);
  let datastoreRecords: Record<string, DatastoreRecordData> = {};
  if (spec.includeRecords) {
    const records = await repo.exportRecords([...spec.inputs, ...spec.initInputs].map((r) => r.id));
    if (records.size > 0) datastoreRecords = { [repo.datastoreName]: records };
  }
  const q: Quantum = {
    taskName: spec.taskName,
    dataId: spec.dataId,
    initInputs: spec.initInputs,
    inputs: spec.inputs,
    outputs,
    datasetTypes,
    datastoreRecords,
  };
  return { quantum: serializeQuantum(q), outputs };
}
