/** butler/*: the quantum-backed butler of one session. */
import * as z from 'zod';
import { ProvenanceDocumentSchema, ProvenanceFormatSchema } from './provenance-formats.js';
import { request } from './define.js';
import {
  DatasetIdSchema,
  DatasetRefInputSchema,
  DatasetRefSchema,
  ParametersSchema,
  PayloadEncodingSchema,
  PayloadSchema,
  SessionIdSchema,
  WorkDoneParams,
} from './common.js';
import { SerializedDatastoreRecordDataSchema } from './provenance.js';

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

/**
 * The provenance given with a put: daf_butler's DatasetProvenance JSON (`inputs` as
 * SerializedDatasetRefs, `quantum_id`, `extras` keyed by dataset id), or the earlier short form
 * (`inputs` as dataset ids, `extras` free). Kept as given, as the output's annotation.
 */
export const DatasetProvenanceSchema = z
  .object({
    inputs: z.array(z.union([DatasetIdSchema, DatasetRefInputSchema])).optional().describe('Input datasets: SerializedDatasetRefs (daf_butler) or ids'),
    quantum_id: z.string().nullish().describe('daf_butler: id of the quantum that was executed'),
    extras: z.record(z.string(), z.unknown()).optional().describe('daf_butler: extra provenance keyed by dataset id ({key: scalar})'),
  })
  .loose();

export const Put = request(
  'butler/put',
  z.object({
    ...Session,
    ref: DatasetRefInputSchema,
    payload: PayloadSchema,
    provenance: DatasetProvenanceSchema.optional().describe('daf_butler DatasetProvenance, recorded with the output'),
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
  z.object({ ...Session, format: ProvenanceFormatSchema.default('native') }),
  ProvenanceDocumentSchema,
  'The provenance of the quantum so far: native, daf_butler QuantumProvenanceData, W3C PROV-JSON, or OpenLineage RunEvents.',
);

/** daf_butler ButlerMetrics, by its field names, then ours in the same style. */
export const MetricsSchema = z.object({
  time_in_put: z.number().describe('daf_butler: seconds in successful puts'),
  time_in_get: z.number().describe('daf_butler: seconds in successful gets'),
  time_in_ingest: z.number().describe('daf_butler: seconds in ingest (always 0: a session does not ingest)'),
  n_get: z.number().int().describe('daf_butler: successful gets'),
  n_put: z.number().int().describe('daf_butler: successful puts'),
  n_ingest: z.number().int().describe('daf_butler: datasets ingested (always 0)'),
  n_get_failed: z.number().int().describe('ours: failed gets'),
  n_put_failed: z.number().int().describe('ours: failed puts'),
  bytes_read: z.number().int().describe('ours: stored bytes read'),
  bytes_written: z.number().int().describe('ours: bytes stored'),
});

export const Metrics = request(
  'butler/metrics',
  z.object({ ...Session, reset: z.boolean().default(false) }),
  MetricsSchema,
  'Butler metrics (daf_butler ButlerMetrics plus failures and bytes); reset after reading if asked.',
);

const UrisSchema = z.object({ primary: z.string().nullable(), components: z.record(z.string(), z.string()) });

export const GetManyURIs = request(
  'butler/getManyURIs',
  z.object({
    ...Session,
    refs: z.array(DatasetRefInputSchema),
    predict: z.boolean().default(false),
    allowMissing: z.boolean().default(false).describe('Leave out datasets that are not stored instead of failing (when not predicting)'),
  }),
  z.object({ uris: z.record(z.string(), UrisSchema).describe('By dataset id') }),
  "daf_butler get_many_uris: URIs of many datasets, by dataset id.",
);

export const GetDatastoreRoots = request(
  'butler/getDatastoreRoots',
  z.object({ ...Session }),
  z.object({
    roots: z.record(z.string(), z.string().nullable()).describe('Datastore name → root URI; null for an in-memory datastore'),
    names: z.array(z.string()).describe('daf_butler get_datastore_names'),
  }),
  "daf_butler get_datastore_roots (and get_datastore_names).",
);

export const ArtifactTransferSchema = z.enum(['auto', 'copy', 'link', 'hardlink', 'symlink', 'relsymlink', 'move']);

export const RetrieveArtifacts = request(
  'butler/retrieveArtifacts',
  z.object({
    ...Session,
    refs: z.array(DatasetRefInputSchema),
    destination: z.string().min(1).describe('Absolute path of a directory (created if needed)'),
    transfer: ArtifactTransferSchema.default('auto').describe('auto = copy; link = hard link, else symbolic; move is refused, as in daf_butler'),
    preservePath: z.boolean().default(true).describe("Keep the artifact's path inside the datastore; else only its file name"),
    overwrite: z.boolean().default(false).describe('Replace files already at the destination; else FileExists and nothing is written'),
    ...WorkDoneParams,
  }),
  z.object({ paths: z.array(z.string()).describe('Absolute paths of the artifacts written (not the index)') }),
  "daf_butler retrieve_artifacts: copy the datasets' artifacts to a directory, with _butler_zip_index.json.",
);

export const RetrieveArtifactsZip = request(
  'butler/retrieveArtifactsZip',
  z.object({
    ...Session,
    refs: z.array(DatasetRefInputSchema).min(1),
    destination: z.string().min(1).describe('Absolute path of the directory that receives the Zip'),
    overwrite: z.boolean().default(true).describe('Replace a Zip of the same name; else FileExists'),
  }),
  z.object({ path: z.string().describe('The Zip: <uuid5 of its member paths>.zip') }),
  "daf_butler retrieve_artifacts_zip: the artifacts and their index in one Zip file.",
);

export const ExportPredictedRecords = request(
  'butler/exportPredictedRecords',
  z.object({ ...Session, refs: z.array(DatasetRefInputSchema) }),
  z.object({ records: z.record(z.string(), SerializedDatastoreRecordDataSchema) }),
  'Datastore records the datastore expects for predicted refs, by datastore name, without any put ({} for an in-memory datastore).',
);
