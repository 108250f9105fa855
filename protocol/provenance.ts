/** Provenance: the live event stream and the exported documents. */
import * as z from 'zod';
import { DataIdMappingSchema, DatasetRefSchema } from './common.js';

export const ProvenanceEventKindSchema = z.enum([
  'inputCheckedAvailable',
  'inputCheckedMissing',
  'inputLoaded',
  'inputLoadFailed',
  'deferredIssued',
  'inputMarkedUnused',
  'outputWritten',
  'outputPruned',
]);
export type ProvenanceEventKind = z.infer<typeof ProvenanceEventKindSchema>;

export const ProvenanceEventSchema = z.object({
  sessionId: z.string(),
  seq: z.number().int().describe('Per-session sequence number, from 1, without gaps'),
  event: ProvenanceEventKindSchema,
  datasetId: z.string(),
  datasetType: z.string(),
  time: z.string().describe('ISO 8601'),
  reason: z.string().optional().describe('inputMarkedUnused: the reason given; inputLoadFailed: the error; outputPruned: unstore or purge'),
  size: z.number().int().optional().describe('outputWritten: bytes as stored'),
  sha256: z.string().optional().describe('outputWritten: checksum of the stored bytes'),
  handle: z.string().optional().describe('deferredIssued: the handle id'),
});
export type ProvenanceEvent = z.infer<typeof ProvenanceEventSchema>;

/** The per-input state machine's states, as exported. */
export const InputStateSchema = z.enum(['predicted', 'available', 'missing', 'deferred', 'loaded', 'unused']);

export const DiagnosticSchema = z.object({
  code: z.enum(['UsedButMissing', 'InputsNotChecked', 'DeferredNeverLoaded']),
  severity: z.enum(['warning', 'info']),
  message: z.string(),
  datasetIds: z.array(z.string()),
});
export type Diagnostic = z.infer<typeof DiagnosticSchema>;

export const SerializedDatastoreRecordDataSchema = z.object({
  dataset_ids: z.array(z.string()),
  records: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.array(z.record(z.string(), z.unknown()))))),
});

/** daf_butler QuantumProvenanceData, exactly. */
export const DafButlerProvenanceSchema = z.object({
  predicted_inputs: z.array(z.string()),
  available_inputs: z.array(z.string()),
  actual_inputs: z.array(z.string()),
  predicted_outputs: z.array(z.string()),
  actual_outputs: z.array(z.string()),
  datastore_records: z.record(z.string(), SerializedDatastoreRecordDataSchema),
});
export type DafButlerProvenance = z.infer<typeof DafButlerProvenanceSchema>;

export const InputDetailSchema = z.object({
  ref: DatasetRefSchema,
  initInput: z.boolean(),
  state: InputStateSchema,
  checked: z.enum(['available', 'missing']).nullable().describe('Result of the last existence check, if any'),
  loads: z.number().int(),
  unusedReason: z.string().nullable(),
  firstUsedAt: z.string().nullable(),
});

export const OutputDetailSchema = z.object({
  ref: DatasetRefSchema,
  written: z.boolean(),
  size: z.number().int().nullable(),
  sha256: z.string().nullable(),
  writtenAt: z.string().nullable(),
  pruned: z.boolean(),
  annotation: z.unknown().optional().describe('The provenance annotation given with put (daf_butler DatasetProvenance-like)'),
});

export const NATIVE_PROVENANCE_SCHEMA_VERSION = '1.0';

export const NativeProvenanceSchema = z.object({
  schemaVersion: z.literal(NATIVE_PROVENANCE_SCHEMA_VERSION),
  quantum: z.object({
    id: z.string(),
    taskName: z.string().nullable(),
    dataId: DataIdMappingSchema.nullable(),
  }),
  execution: z.object({
    sessionId: z.string(),
    host: z.string(),
    pid: z.number().int(),
    sidecar: z.object({ name: z.string(), version: z.string() }),
    node: z.string(),
    startedAt: z.string(),
    endedAt: z.string(),
  }),
  predictedInputs: z.array(z.string()),
  availableInputs: z.array(z.string()),
  actualInputs: z.array(z.string()),
  predictedOutputs: z.array(z.string()),
  actualOutputs: z.array(z.string()),
  inputs: z.array(InputDetailSchema),
  outputs: z.array(OutputDetailSchema),
  datastoreRecords: z.record(z.string(), SerializedDatastoreRecordDataSchema),
  metrics: z.record(z.string(), z.number()),
  diagnostics: z.array(DiagnosticSchema),
});
export type NativeProvenance = z.infer<typeof NativeProvenanceSchema>;
