/**
 * repository/*: a persistent repository on disk (config, registry, file datastore). The
 * registry is a SQLite file beside the config, or a schema on a PostgreSQL server.
 * Every call names the repository's `root`.
 */
import * as z from 'zod';
import { ProvenanceDocumentSchema, ProvenanceFormatSchema } from './provenance-formats.js';
import { request } from './define.js';
import {
  DataIdInputSchema,
  DatasetRefInputSchema,
  DatasetRefSchema,
  ParametersSchema,
  PayloadEncodingSchema,
  PayloadSchema,
  SerializedDatasetTypeSchema,
  WorkDoneParams,
} from './common.js';
import { SerializedDatastoreRecordDataSchema } from './provenance.js';
import { GetResultSchema } from './butler.js';
import { DimensionsSpecSchema } from './dimensions.js';

const Root = { root: z.string().min(1).describe('Repository root directory') };
export const IdGenerationModeSchema = z.enum(['UNIQUE', 'DATAID_TYPE', 'DATAID_TYPE_RUN']);

export const RegistrySpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sqlite') }),
  z.object({
    kind: z.literal('postgresql'),
    url: z.string().min(1).describe('postgresql://user@host:port/database; a password here is used but never stored (PGPASSWORD or ~/.pgpass give it later)'),
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/)
      .optional()
      .describe('The schema holding the registry tables (default quantum_butler); several repositories can share a database'),
  }),
]);

export const RepositoryCreate = request(
  'repository/create',
  z.object({
    ...Root,
    config: z
      .object({
        datastore: z
          .object({ template: z.string().optional(), checksum: z.enum(['blake2b', 'sha256', 'none']).optional().describe("Record checksum: none (default, as daf_butler's), blake2b (daf_butler's with checksum on) or sha256 (older repositories)") })
          .optional()
          .describe('Location template (fields run, datasetType, dataId, id, any dimension) and checksum policy'),
        storageClasses: z.record(z.string(), z.unknown()).optional(),
        dimensions: DimensionsSpecSchema.optional().describe("The repository's dimension universe; default: daf_butler's default universe"),
      })
      .optional(),
    registry: RegistrySpecSchema.optional().describe('Where the registry lives (default: a SQLite file in the repository)'),
  }),
  z.object({ root: z.string(), datastoreName: z.string(), config: z.record(z.string(), z.unknown()) }),
  'Create a repository in a new or empty directory.',
);

export const RepositoryRegisterDatasetType = request(
  'repository/registerDatasetType',
  z.object({ ...Root, datasetType: SerializedDatasetTypeSchema }),
  z.object({ registered: z.boolean() }),
  'Register a dataset type (idempotent; a different definition under the same name is refused).',
);

export const RepositoryPut = request(
  'repository/put',
  z.object({
    ...Root,
    datasetType: z.string(),
    dataId: DataIdInputSchema,
    run: z.string().min(1),
    payload: PayloadSchema,
    idGenerationMode: IdGenerationModeSchema.default('DATAID_TYPE_RUN'),
    ...WorkDoneParams,
  }),
  z.object({ ref: DatasetRefSchema, size: z.number().int(), sha256: z.string().nullable() }),
  'Store a dataset directly into the repository (seeding inputs).',
);

export const RepositoryGet = request(
  'repository/get',
  z.object({
    ...Root,
    ref: DatasetRefInputSchema.describe('Only the id is needed: the registry knows the rest'),
    parameters: ParametersSchema.optional(),
    storageClass: z.string().optional(),
    component: z.string().optional(),
    as: PayloadEncodingSchema.optional(),
    destination: z.string().optional(),
    ...WorkDoneParams,
  }),
  GetResultSchema,
  'Read a dataset from the repository.',
);

export const RepositoryQueryDatasets = request(
  'repository/queryDatasets',
  z.object({
    ...Root,
    datasetType: z.string().optional().describe('Glob over dataset type names'),
    run: z.string().optional(),
    dataId: z.record(z.string(), z.union([z.string(), z.number().int()])).optional().describe('Every given key must match'),
  }),
  z.object({ refs: z.array(DatasetRefSchema) }),
  'Find datasets by dataset type glob, run and data ID.',
);

export const RepositoryExportRecords = request(
  'repository/exportRecords',
  z.object({ ...Root, refs: z.array(DatasetRefInputSchema) }),
  z.object({ records: z.record(z.string(), SerializedDatastoreRecordDataSchema) }),
  "Datastore records of stored datasets in daf_butler's SerializedDatastoreRecordData shape, by datastore name.",
);

export const RepositoryMakeQuantum = request(
  'repository/makeQuantum',
  z.object({
    ...Root,
    taskName: z.string(),
    dataId: z.record(z.string(), z.union([z.string(), z.number().int()])).optional(),
    inputs: z.array(DatasetRefInputSchema).describe('Existing datasets, or predicted outputs of upstream quanta (full refs)'),
    initInputs: z.array(DatasetRefInputSchema).default([]),
    outputs: z.array(
      z.object({
        datasetType: z.string(),
        dataId: DataIdInputSchema,
        run: z.string().min(1),
        idGenerationMode: IdGenerationModeSchema.default('DATAID_TYPE_RUN'),
      }),
    ),
    includeRecords: z.boolean().default(true).describe('Carry the inputs\' datastore records (false: readers use trust mode)'),
  }),
  z.object({ quantum: z.record(z.string(), z.unknown()).describe('daf_butler SerializedQuantum'), outputs: z.array(DatasetRefSchema) }),
  'Build a SerializedQuantum ready for session/open.',
);

export const CollectReportSchema = z.object({
  dryRun: z.boolean(),
  committed: z.boolean().describe('True when the batch was written (not a dry run and no conflicts)'),
  conflictsOmitted: z.number().int().describe('Conflicts beyond the listed ones'),
  writer: z
    .enum(['inline', 'thread', 'server'])
    .describe("Where the rows were written: in the request's thread, on a writer thread (large batches on a SQLite registry), or by the PostgreSQL server from staged rows"),
  retries: z.number().int().describe('How many times the registry aborted the transaction (serialization failure, deadlock) and it ran again'),
  timings: z.record(z.string(), z.number()).describe('Seconds per phase: parse, prepare, datasets, checks, write, then commit | rollback | end; writer.* are the writer\'s own time'),
  quanta: z.object({ stored: z.number().int(), alreadyPresent: z.number().int() }),
  datasets: z.object({
    inserted: z.number().int(),
    alreadyPresent: z.number().int(),
    byGroup: z.array(z.object({ datasetType: z.string(), run: z.string(), count: z.number().int() })),
  }),
  records: z.object({ inserted: z.number().int(), alreadyPresent: z.number().int() }),
  conflicts: z.array(
    z.object({ datasetId: z.string().optional(), quantumId: z.string().optional(), reason: z.string(), details: z.unknown().optional() }),
  ),
});

export const RepositoryCollectAndTransfer = request(
  'repository/collectAndTransfer',
  z.object({
    ...Root,
    quanta: z.array(z.union([z.string(), z.record(z.string(), z.unknown())])).describe('SerializedQuanta, inline or as JSON file paths'),
    provenance: z
      .array(z.union([z.string(), z.record(z.string(), z.unknown())]))
      .describe('One provenance document per quantum (native or daf_butler), inline or as JSON file paths'),
    dryRun: z.boolean().default(false),
    ...WorkDoneParams,
  }),
  CollectReportSchema,
  'Import the actual outputs, datastore records, quanta and input→output edges in one transaction. Idempotent; conflicts write nothing.',
);

export const LineageSchema = z.object({
  root: z.string(),
  direction: z.enum(['up', 'down']),
  depth: z.number().int().nullable(),
  hops: z.number().int(),
  truncated: z.boolean(),
  quanta: z.array(z.object({ id: z.string(), taskName: z.string().nullable(), dataId: z.unknown() })),
  datasets: z.array(z.object({ id: z.string(), datasetType: z.string(), run: z.string(), dataId: z.unknown(), registered: z.boolean() })),
  edges: z.array(z.object({ from: z.string(), to: z.string(), kind: z.enum(['input', 'output']) })),
});

export const RepositoryLineage = request(
  'repository/lineage',
  z.object({ ...Root, datasetId: z.string(), direction: z.enum(['up', 'down']).default('up'), depth: z.number().int().positive().optional() }),
  LineageSchema,
  'The graph of quanta and datasets that produced (up) or used (down) a dataset.',
);

export const RepositoryProvenance = request(
  'repository/provenance',
  z.object({ ...Root, quantumId: z.string(), format: ProvenanceFormatSchema.default('native') }),
  ProvenanceDocumentSchema,
  "A stored quantum's provenance: native, daf_butler QuantumProvenanceData, W3C PROV-JSON, or OpenLineage RunEvents.",
);

const RegistryLocationSchema = z.object({ kind: z.enum(['sqlite', 'postgresql']), location: z.string(), version: z.number().int() });

export const RepositoryMigrateRegistry = request(
  'repository/migrateRegistry',
  z.object({
    ...Root,
    to: z
      .object({
        kind: z.literal('postgresql'),
        url: z.string().min(1).describe('postgresql://user@host:port/database (a password here is used, never stored)'),
        schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).optional().describe('A new, empty schema (default quantum_butler)'),
      })
      .optional()
      .describe('Copy the SQLite registry into PostgreSQL; omitted: upgrade the registry\'s schema in place'),
  }),
  z.object({
    from: RegistryLocationSchema,
    to: RegistryLocationSchema,
    rows: z.record(z.string(), z.number().int()).describe('Rows copied per table (a copy)'),
    keysSha256: z.string().nullable().describe('SHA-256 over every copied table\'s keys in key order, equal on both sides'),
    applied: z.array(z.number().int()).describe('Schema versions reached by the migrations applied (an upgrade in place)'),
  }),
  "Move a repository's SQLite registry to PostgreSQL (butler.json switches only after the copy is verified), or upgrade its schema in place.",
);
