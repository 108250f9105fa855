/** session/*: one quantum-backed butler per session. */
import * as z from 'zod';
import { request, request0 } from './define.js';
import { DatasetRefInputSchema, SerializedDatasetTypeSchema, SessionIdSchema } from './common.js';
import { NoParamsSchema, NotificationStreamSchema } from './lifecycle.js';
import { MountSpecSchema, PlainStoreSpecSchema } from './store.js';
import { NativeProvenanceSchema } from './provenance.js';
import { DimensionsSpecSchema } from './dimensions.js';

export const DatastoreSpecSchema = z
  .object({
    kind: z.literal('memory'),
    name: z
      .string()
      .min(1)
      .optional()
      .describe('Sessions naming the same in-memory datastore share it; unnamed ones are private'),
  })
  .describe('Where datasets live');

/** Storage classes defined in configuration (composites, derived components, parameters, converters). */
export const StorageClassConfigSchema = z.record(
  z.string(),
  z
    .object({
      inheritsFrom: z.string().optional(),
      kind: z.string().optional(),
      components: z.record(z.string(), z.string()).optional(),
      derivedComponents: z.record(z.string(), z.unknown()).optional(),
      parameters: z.array(z.string()).optional(),
      converters: z.array(z.string()).optional(),
    })
    .loose(),
);

/** daf_butler's SerializedDatasetRefContainerV1 (`SerializedDatasetRefContainerV1.from_refs(refs)`). */
export const SerializedDatasetRefContainerSchema = z
  .object({
    container_version: z.literal('V1'),
    universe_version: z.number().int(),
    universe_namespace: z.string(),
    dataset_types: z.record(z.string(), SerializedDatasetTypeSchema),
    compact_refs: z.record(
      z.string(),
      z.object({ dataset_type_name: z.string(), run: z.string(), data_id: z.record(z.string(), z.union([z.string(), z.number().int()])) }).loose(),
    ),
    dimension_records: z.unknown().optional(),
  })
  .loose()
  .describe('daf_butler SerializedDatasetRefContainerV1; its universe namespace must be the session\'s');

const RefList = z.union([z.array(DatasetRefInputSchema), SerializedDatasetRefContainerSchema]);

export const PredictedSchema = z.object({
  inputs: RefList.describe('Predicted inputs, as full refs or a daf_butler ref container'),
  initInputs: RefList.default([]).describe('Predicted init-inputs, as full refs or a daf_butler ref container'),
  outputs: RefList.describe('Predicted outputs, as full refs or a daf_butler ref container (put checks them field by field)'),
  datastoreRecords: z.record(z.string(), z.unknown()).optional(),
  datasetTypes: z.array(SerializedDatasetTypeSchema).optional(),
  taskName: z.string().optional(),
  dataId: z.record(z.string(), z.union([z.string(), z.number().int()])).optional(),
});

export const SessionOpenParamsSchema = z
  .object({
    sessionId: SessionIdSchema.optional().describe('Client-chosen id; re-opening with identical params is idempotent'),
    quantumId: z.string().optional().describe('Id of the quantum for provenance; a new uuid when absent'),
    quantum: z.record(z.string(), z.unknown()).optional().describe('daf_butler SerializedQuantum (quantum.to_simple()) or the compact form'),
    predicted: PredictedSchema.optional().describe('from_predicted: ids or refs instead of a quantum'),
    datasetTypes: z.array(SerializedDatasetTypeSchema).optional().describe('Registry dataset type definitions'),
    dimensions: DimensionsSpecSchema.optional().describe("The session's dimension universe; default: the repository's for a repository session, else daf_butler's default"),
    datastore: DatastoreSpecSchema.default({ kind: 'memory' }),
    store: PlainStoreSpecSchema.default({ kind: 'memory' }).describe('The key-value store under the datastore'),
    mount: MountSpecSchema.optional().describe('Mount the session store at a prefix over a read-only backing store'),
    repository: z
      .object({
        root: z.string().min(1).describe('A repository made by repository/create'),
        recordsFile: z
          .string()
          .default(':memory:')
          .describe("SQLite file for this session's datastore records; a file survives a crash"),
      })
      .optional()
      .describe('Read inputs from and write outputs into this repository\'s file datastore (instead of an in-memory datastore)'),
    storageClasses: StorageClassConfigSchema.optional(),
    notifications: z.array(NotificationStreamSchema).default(['provenance', 'progress']),
    strictDeferred: z
      .boolean()
      .default(false)
      .describe('Count a deferred input as used only once loaded (daf_butler counts it when the handle is issued)'),
    provenanceFile: z
      .string()
      .min(1)
      .optional()
      .describe('Absolute path: the native provenance document is written here (atomically) whenever the session ends: close, shutdown, exit, end of input, parent death, SIGTERM'),
  })
  .refine((p) => (p.quantum === undefined) !== (p.predicted === undefined), {
    message: 'Give exactly one of quantum or predicted',
  })
  .refine((p) => p.repository === undefined || (p.datastore.name === undefined && p.mount === undefined), {
    message: 'A repository session uses the repository datastore: do not also name an in-memory datastore or a mount',
  });

export const SessionSummarySchema = z.object({
  sessionId: z.string(),
  quantumId: z.string(),
  taskName: z.string().nullable(),
  openedAt: z.string(),
  datastore: z.string(),
  store: z.string().describe('Kind of the session store: memory, sqlite, file or mounted'),
  predictedInputs: z.number().int(),
  predictedOutputs: z.number().int(),
  notifications: z.array(NotificationStreamSchema),
});

export const SessionOpen = request(
  'session/open',
  SessionOpenParamsSchema,
  SessionSummarySchema.extend({ reopened: z.boolean() }),
  'Open a quantum-backed butler for one quantum.',
);

export const SessionClose = request(
  'session/close',
  z.object({ sessionId: SessionIdSchema }),
  z.object({ alreadyClosed: z.boolean(), provenance: NativeProvenanceSchema.nullable() }),
  'Close a session and return its final provenance. Idempotent.',
);

export const SessionList = request0(
  'session/list',
  NoParamsSchema,
  z.object({ sessions: z.array(SessionSummarySchema) }),
  'The open sessions.',
);
