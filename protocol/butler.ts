/** butler/*: the quantum-backed butler of one session. */
import { z } from 'zod';
import { request } from './define.js';
import {
  DatasetRefInputSchema,
  DatasetRefSchema,
  ParametersSchema,
  PayloadEncodingSchema,
  PayloadSchema,
  SessionIdSchema,
  WorkDoneParams,
} from './common.js';
import { DafButlerProvenanceSchema, NativeProvenanceSchema, SerializedDatastoreRecordDataSchema } from './provenance.js';

const Session = { sessionId: SessionIdSchema };

const ReadOptions = {
  parameters: ParametersSchema.optional(),
  storageClass: z.string().optional().describe('Read with this storage class (converts or fails)'),
  component: z.string().optional().describe('Read this component of a composite'),
  as: PayloadEncodingSchema.optional().describe('Encoding of the returned value; default json for structured classes, text for Text, base64 for Bytes'),
  destination: z.string().optional().describe('as=file: absolute path to write the bytes to'),
};

export const GetResultSchema = z.object({
  ref: DatasetRefSchema,
  storageClass: z.string().describe('Storage class of the returned value'),
  payload: z.union([
    z.object({ encoding: z.literal('json'), value: z.unknown() }),
    z.object({ encoding: z.literal('text'), text: z.string() }),
    z.object({ encoding: z.literal('base64'), data: z.string() }),
    z.object({ encoding: z.literal('file'), path: z.string() }),
  ]),
  size: z.number().int().describe('Bytes of the encoded value'),
});

export const Get = request(
  'butler/get',
  z.object({ ...Session, ref: DatasetRefInputSchema, ...ReadOptions, ...WorkDoneParams }),
  GetResultSchema,
  'Read a dataset. Records the input as available and used when it is a predicted input.',
);

export const GetDeferred = request(
  'butler/getDeferred',
  z.object({ ...Session, ref: DatasetRefInputSchema, parameters: ParametersSchema.optional(), storageClass: z.string().optional() }),
  z.object({ handle: z.string(), ref: DatasetRefSchema }),
  'Issue a deferred handle without reading or checking existence.',
);

export const LoadDeferred = request(
  'butler/loadDeferred',
  z.object({ ...Session, handle: z.string(), ...ReadOptions, ...WorkDoneParams }),
  GetResultSchema,
  'Load through a deferred handle; per-call parameters override the handle\'s.',
);

export const Stored = request(
  'butler/stored',
  z.object({ ...Session, ref: DatasetRefInputSchema }),
  z.object({ stored: z.boolean() }),
  'Does the dataset exist? Records predicted inputs as available or missing.',
);

export const StoredMany = request(
  'butler/storedMany',
  z.object({ ...Session, refs: z.array(DatasetRefInputSchema) }),
  z.object({ stored: z.record(z.string(), z.boolean()) }),
  'Bulk stored(): a map from dataset id to existence.',
);

export const MarkInputUnused = request(
  'butler/markInputUnused',
  z.object({ ...Session, ref: DatasetRefInputSchema, reason: z.string().optional() }),
  z.object({ state: z.string() }),
  'Declare that a predicted input was not really used.',
);

export const Put = request(
  'butler/put',
  z.object({
    ...Session,
    ref: DatasetRefInputSchema,
    payload: PayloadSchema,
    provenance: z
      .object({ inputs: z.array(z.string()).optional(), extras: z.record(z.string(), z.unknown()).optional() })
      .optional()
      .describe('daf_butler DatasetProvenance-like annotation, recorded with the output'),
    ...WorkDoneParams,
  }),
  z.object({ ref: DatasetRefSchema, size: z.number().int(), sha256: z.string(), uri: z.string(), alreadyStored: z.boolean() }),
  'Write a predicted output. The full ref (id, type, data ID, run) must match the prediction.',
);

export const PruneDatasets = request(
  'butler/pruneDatasets',
  z.object({
    ...Session,
    refs: z.array(DatasetRefInputSchema),
    disassociate: z.boolean().default(true),
    unstore: z.boolean().default(false),
    purge: z.boolean().default(false),
    tags: z.array(z.string()).optional().describe('Ignored, as in daf_butler'),
  }),
  z.object({ pruned: z.array(z.string()) }),
  'Remove written outputs, with daf_butler\'s argument rules. Inputs are never deleted.',
);

export const GetURIs = request(
  'butler/getURIs',
  z.object({ ...Session, ref: DatasetRefInputSchema, predict: z.boolean().default(false) }),
  z.object({ primary: z.string().nullable(), components: z.record(z.string(), z.string()) }),
  'URIs of a dataset (mem:// for the in-memory datastore; #predicted when predicted).',
);

export const ExtractProvenance = request(
  'butler/extractProvenance',
  z.object({ ...Session, format: z.enum(['native', 'daf_butler', 'prov', 'openlineage']).default('native') }),
  z.union([NativeProvenanceSchema, DafButlerProvenanceSchema, z.unknown()]),
  'The provenance of the quantum so far: native, daf_butler QuantumProvenanceData, W3C PROV-JSON, or OpenLineage RunEvents.',
);

export const MetricsSchema = z.object({
  nGet: z.number().int(),
  nPut: z.number().int(),
  nGetFailed: z.number().int(),
  nPutFailed: z.number().int(),
  timeInGet: z.number().describe('seconds'),
  timeInPut: z.number().describe('seconds'),
  bytesRead: z.number().int(),
  bytesWritten: z.number().int(),
});

export const Metrics = request(
  'butler/metrics',
  z.object({ ...Session, reset: z.boolean().default(false) }),
  MetricsSchema,
  'Butler metrics (daf_butler ButlerMetrics plus failures and bytes); reset after reading if asked.',
);

export const ExportPredictedRecords = request(
  'butler/exportPredictedRecords',
  z.object({ ...Session, refs: z.array(DatasetRefInputSchema) }),
  z.object({ records: z.record(z.string(), SerializedDatastoreRecordDataSchema) }),
  'Datastore records the datastore expects for predicted refs, by datastore name, without any put ({} for an in-memory datastore).',
);
