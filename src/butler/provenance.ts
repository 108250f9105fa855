/**
 * Provenance derived from the butler's state: the id sets, the per-input and
 * per-output detail, and structured diagnostics in place of daf_butler's two log
 * warnings. Exports our native document and daf_butler's QuantumProvenanceData.
 */
import { hostname } from 'node:os';
import type { DatasetRef } from '../model/dataset-ref.js';
import type { DataId } from '../model/data-coordinate.js';
import type { StoredFileInfo } from '../model/datastore-records.js';
import { serializeDatastoreRecordData, toRecordRow, type DatastoreRecordData } from '../model/datastore-records.js';
import type {
  DafButlerProvenance,
  Diagnostic,
  NativeProvenance,
} from '../../protocol/provenance.js';
import { NATIVE_PROVENANCE_SCHEMA_VERSION } from '../../protocol/provenance.js';
import type { DatasetRef as WireRef } from '../../protocol/common.js';
import { STORED_FILE_INFO_TABLE } from '../model/datastore-records.js';
import { isActual, isAvailable, presenceOf, stateName, type InputState } from './input-state.js';
import type { ButlerMetrics } from './metrics.js';
import { SIDECAR_NAME, SIDECAR_VERSION } from '../version.js';

export interface InputEntry {
  readonly ref: DatasetRef;
  readonly initInput: boolean;
  state: InputState;
  firstUsedAt: string | null;
  /** Successful reads, kept even if the input is later marked unused. */
  loads: number;
}

export interface OutputEntry {
  readonly ref: DatasetRef;
  /**
   * The record of the artifact written, null while none is; with its SHA-256 and when it was
   * written (members of the entry, not an object of their own: one object fewer kept per put).
   */
  written: StoredFileInfo | null;
  sha256: string | null;
  writtenAt: string | null;
  pruned: boolean;
  annotation: unknown;
}

export interface ProvenanceSource {
  sessionId: string;
  quantumId: string;
  taskName: string | null;
  dataId: DataId | null;
  startedAt: string;
  strictDeferred: boolean;
  datastoreName: string;
  /** See Datastore.isEphemeral: whether records() is `{}` when there are none. */
  datastoreIsEphemeral: boolean;
  inputs: ReadonlyMap<string, InputEntry>;
  outputs: ReadonlyMap<string, OutputEntry>;
  metrics: ButlerMetrics;
}


export function wireRef(ref: DatasetRef): WireRef {
  return {
    id: ref.id,
    datasetType: ref.datasetType.name,
    storageClass: ref.datasetType.storageClass,
    dimensions: [...ref.datasetType.dimensions],
    dataId: { ...ref.dataId },
    run: ref.run,
  };
}

const sorted = (ids: Iterable<string>): string[] => [...ids].sort();

export interface ProvenanceSets {
  predictedInputs: string[];
  availableInputs: string[];
  actualInputs: string[];
  predictedOutputs: string[];
  actualOutputs: string[];
}

export function provenanceSets(src: ProvenanceSource): ProvenanceSets {
  const inputs = [...src.inputs.values()];
  const outputs = [...src.outputs.values()];
  return {
    predictedInputs: sorted(src.inputs.keys()),
    availableInputs: sorted(inputs.filter((e) => isAvailable(e.state)).map((e) => e.ref.id)),
    actualInputs: sorted(inputs.filter((e) => isActual(e.state, src.strictDeferred)).map((e) => e.ref.id)),
    predictedOutputs: sorted(src.outputs.keys()),
    actualOutputs: sorted(outputs.filter((e) => e.written !== null).map((e) => e.ref.id)),
  };
}

export function diagnostics(src: ProvenanceSource): Diagnostic[] {
  const out: Diagnostic[] = [];
  const entries = [...src.inputs.values()];
  const usedButMissing = entries.filter((e) => e.state.kind === 'deferred' && e.state.present === false).map((e) => e.ref.id);
  if (usedButMissing.length > 0) {
    out.push({
      code: 'UsedButMissing',
      severity: 'warning',
      message:
        'Deferred handles were issued for these inputs but they do not exist; they are not counted as used. ' +
        'The task should call markInputUnused to state this itself.',
      datasetIds: sorted(usedButMissing),
    });
  }
  const neverLoaded = entries.filter((e) => e.state.kind === 'deferred' && e.state.present === null).map((e) => e.ref.id);
  if (neverLoaded.length > 0) {
    out.push({
      code: 'DeferredNeverLoaded',
      severity: src.strictDeferred ? 'info' : 'warning',
      message:
        'Deferred handles were issued for these inputs but they were never loaded nor checked for existence; ' +
        'they are not counted as used because their availability is unknown.',
      datasetIds: sorted(neverLoaded),
    });
  }
  const unchecked = entries.filter((e) => presenceOf(e.state) === null).map((e) => e.ref.id);
  if (unchecked.length > 0) {
    out.push({
      code: 'InputsNotChecked',
      severity: 'warning',
      message:
        'The execution harness did not check these predicted inputs for existence; ' +
        'the available inputs recorded in provenance may be incomplete.',
      datasetIds: sorted(unchecked),
    });
  }
  return out;
}

function recordData(src: ProvenanceSource): DatastoreRecordData {
  const data: DatastoreRecordData = new Map();
  for (const e of src.outputs.values()) {
    if (e.written) data.set(e.ref.id, new Map([[STORED_FILE_INFO_TABLE, [toRecordRow(e.written)]]]));
  }
  return data;
}

function datastoreRecords(src: ProvenanceSource): NativeProvenance['datastoreRecords'] {
  const data = recordData(src);
  return data.size === 0 && src.datastoreIsEphemeral ? {} : { [src.datastoreName]: serializeDatastoreRecordData(data) as NativeProvenance['datastoreRecords'][string] };
}

export function nativeProvenance(src: ProvenanceSource, endedAt: string): NativeProvenance {
  const sets = provenanceSets(src);
  return {
    schemaVersion: NATIVE_PROVENANCE_SCHEMA_VERSION,
    quantum: { id: src.quantumId, taskName: src.taskName, dataId: src.dataId ? { ...src.dataId } : null },
    execution: {
      sessionId: src.sessionId,
      host: hostname(),
      pid: process.pid,
      sidecar: { name: SIDECAR_NAME, version: SIDECAR_VERSION },
      node: process.version,
      startedAt: src.startedAt,
      endedAt,
    },
    ...sets,
    inputs: [...src.inputs.values()]
      .sort((a, b) => a.ref.id.localeCompare(b.ref.id))
      .map((e) => ({
        ref: wireRef(e.ref),
        initInput: e.initInput,
        state: stateName(e.state),
        checked: ((): 'available' | 'missing' | null => {
          const p = presenceOf(e.state);
          return p === null ? null : p ? 'available' : 'missing';
        })(),
        loads: e.loads,
        unusedReason: e.state.kind === 'unused' ? e.state.reason : null,
        firstUsedAt: e.firstUsedAt,
      })),
    outputs: [...src.outputs.values()]
      .sort((a, b) => a.ref.id.localeCompare(b.ref.id))
      .map((e) => ({
        ref: wireRef(e.ref),
        written: e.written !== null,
        size: e.written?.file_size ?? null,
        sha256: e.written === null ? null : e.sha256,
        writtenAt: e.written === null ? null : e.writtenAt,
        pruned: e.pruned,
        annotation: e.annotation ?? null,
      })),
    datastoreRecords: datastoreRecords(src),
    metrics: { ...src.metrics },
    diagnostics: diagnostics(src),
  };
}

export function dafButlerProvenance(src: ProvenanceSource): DafButlerProvenance {
  const sets = provenanceSets(src);
  return {
    predicted_inputs: sets.predictedInputs,
    available_inputs: sets.availableInputs,
    actual_inputs: sets.actualInputs,
    predicted_outputs: sets.predictedOutputs,
    actual_outputs: sets.actualOutputs,
    datastore_records: datastoreRecords(src),
  };
}

export { SIDECAR_NAME, SIDECAR_VERSION };
