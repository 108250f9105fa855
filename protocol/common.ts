/** Shapes shared by many methods: refs, data ids, dataset types, payloads, progress tokens. */
import * as z from 'zod';

export const DatasetIdSchema = z.string().min(1).describe('Dataset UUID, dashed (canonical) or 32 hex digits');

export const DataIdValueSchema = z.union([z.string(), z.number().int()]);
export const DataIdMappingSchema = z.record(z.string(), DataIdValueSchema);

/** daf_butler SerializedDataCoordinate. */
export const SerializedDataCoordinateSchema = z
  .object({ dataId: DataIdMappingSchema, records: z.unknown().nullish() })
  .describe('daf_butler SerializedDataCoordinate');

export const DataIdInputSchema = z
  .union([SerializedDataCoordinateSchema, DataIdMappingSchema])
  .describe('A data ID: a plain mapping or a daf_butler SerializedDataCoordinate');

/** daf_butler SerializedDatasetType. */
export const SerializedDatasetTypeSchema = z
  .object({
    name: z.string(),
    storageClass: z.string().nullish(),
    dimensions: z.array(z.string()).nullish(),
    parentStorageClass: z.string().nullish(),
    isCalibration: z.boolean().optional(),
  })
  .loose();

/**
 * A dataset ref as accepted on input: daf_butler's SerializedDatasetRef
 * ({id, datasetType, dataId, run, component}), the compact form with a dataset type
 * name and a plain data ID, or just {id} for a ref the session already knows.
 */
export const DatasetRefInputSchema = z
  .object({
    id: DatasetIdSchema,
    datasetType: z.union([z.string(), SerializedDatasetTypeSchema]).nullish(),
    dataId: DataIdInputSchema.nullish(),
    run: z.string().nullish(),
    component: z.string().nullish(),
    storageClass: z.string().optional().describe('Storage class override for this read, or the class of a compact ref'),
    dimensions: z.array(z.string()).optional(),
  })
  .loose();
export type DatasetRefInput = z.input<typeof DatasetRefInputSchema>;

/** A ref as the sidecar returns it: always complete. */
export const DatasetRefSchema = z.object({
  id: z.string(),
  datasetType: z.string(),
  storageClass: z.string(),
  dimensions: z.array(z.string()),
  dataId: DataIdMappingSchema,
  run: z.string(),
});
export type DatasetRef = z.infer<typeof DatasetRefSchema>;

export const JsonValueSchema: z.ZodType<unknown> = z.unknown().describe('Any JSON value');

/** How a value travels. Bytes encodings (base64, file) carry the formatter's bytes. */
export const PayloadSchema = z.discriminatedUnion('encoding', [
  z.object({ encoding: z.literal('json'), value: JsonValueSchema }),
  z.object({ encoding: z.literal('text'), text: z.string() }),
  z.object({ encoding: z.literal('base64'), data: z.string() }),
  z.object({
    encoding: z.literal('file'),
    path: z.string().min(1).describe('Absolute path on the sidecar host'),
    mode: z.enum(['copy', 'move', 'link']).default('copy').describe('put only: how the file is taken'),
  }),
]);
export type Payload = z.input<typeof PayloadSchema>;

export { PayloadEncodingSchema, type PayloadEncoding } from './payload-encoding.js';

export const ProgressTokenSchema = z.union([z.string(), z.number().int()]);

export const WorkDoneParams = { workDoneToken: ProgressTokenSchema.optional() };

export const SessionIdSchema = z.string().min(1);

export const ParametersSchema = z.record(z.string(), z.unknown()).describe('Read parameters of the storage class');
