/**
 * The registry contract: runs, dataset types, datasets, datastore records, quanta and
 * their input/output edges, lineage, and the bulk-load seam collect-and-transfer writes
 * through. Two backends implement it: SQLite (sqlite/, one file, embedded, the default)
 * and PostgreSQL (postgres/, a shared server for many hosts). A backend owns its SQL;
 * nothing above this contract knows which one runs.
 *
 * Semantics ("ensure"), the same in both: inserting something that is already there
 * identically is a no-op and is counted as already present; the same key with a
 * different definition is a conflict (ConflictingDefinition), and a failed call writes
 * nothing. Every call is one transaction of its own.
 */
import type { DataId, DataIdValue } from '../model/data-coordinate.js';
import type { DatasetId } from '../model/dataset-id.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import type { DatasetType } from '../model/dataset-type.js';
import type { DatastoreRecordData, RecordRow } from '../model/datastore-records.js';
import type { DimensionUniverse } from '../model/dimensions/dimension-universe.js';
import type { BatchChannel, PlanningReads, WriterResult } from './bulk-batches.js';
import type { Lineage, LineageDirection } from './lineage.js';
import type { RecordConflict } from './record-columns.js';
import type { ProvenanceFormat } from './registry-rows.js';
import type { REGISTRY_TABLES } from './registry-schema.js';
import type { Steps } from './steps.js';

export type { ProvenanceFormat } from './registry-rows.js';
export type { RecordColumns, RecordConflict } from './record-columns.js';
export { requiredDataIdKey } from './registry-rows.js';

export type RegistryKind = 'sqlite' | 'postgresql';

export interface InsertDatasetsOptions {
  /** Register unknown dataset types (from the refs) and runs instead of failing. */
  autoRegister?: boolean;
}

export interface DatasetQuery {
  /** Glob over dataset type names (model/glob.ts syntax). */
  datasetType?: string;
  run?: string;
  /** Every given dimension must be present with this value, coerced by the dimension's key type ("1" is 1 for an int key). */
  dataId?: Readonly<Record<string, DataIdValue>>;
}

export interface InsertRecordsResult {
  inserted: number;
  alreadyPresent: number;
  /** Records that were already there with different content: the first writer's row is kept. */
  conflicts: RecordConflict[];
}

export interface QuantumInputEdge {
  datasetId: DatasetId;
  /** The ref as the quantum predicted it (lets lineage describe inputs the registry does not hold). */
  datasetType?: string | null;
  run?: string | null;
  dataId?: DataId | null;
  initInput?: boolean;
  predicted: boolean;
  available: boolean;
  actual: boolean;
}

export interface QuantumOutputEdge {
  datasetId: DatasetId;
  predicted: boolean;
  actual: boolean;
}

export interface QuantumInsert {
  id: string;
  taskName: string | null;
  dataId: DataId | null;
  host?: string | null;
  startedAt?: string | null;
  endedAt?: string | null;
  format: ProvenanceFormat;
  provenance: unknown;
  inputs: readonly QuantumInputEdge[];
  outputs: readonly QuantumOutputEdge[];
}

export interface StoredQuantum {
  id: string;
  taskName: string | null;
  dataId: DataId | null;
  host: string | null;
  startedAt: string | null;
  endedAt: string | null;
  format: ProvenanceFormat;
  inputs: QuantumInputEdge[];
  outputs: QuantumOutputEdge[];
}

/** A stored quantum as listed: no edges, no provenance document. */
export type QuantumSummary = Omit<StoredQuantum, 'inputs' | 'outputs'>;

/** Row counts per table (tests and diagnostics). */
export type TableCounts = Record<(typeof REGISTRY_TABLES)[number], number>;

/**
 * A put's claim on a dataset: its row, and its record in one datastore. `publish` makes
 * the artifact visible at its final path; it runs inside the registry transaction after
 * the claim succeeded, so the record commits only with its file in place, and a failed
 * publish rolls the claim back.
 */
export interface DatasetClaim {
  /** A ref of a registered dataset type (its run is registered if new). */
  ref: DatasetRef;
  datastoreName: string;
  record: RecordRow;
  /** SQLite calls it synchronously (its transaction cannot span event-loop turns). */
  publish(): void | Promise<void>;
}

/** Claimed and published; or the dataset already had a record in that datastore (nothing changed). */
export type ClaimOutcome = { stored: true } | { stored: false; existing: RecordRow };

export interface BulkLoadOptions {
  /** Compute the outcome without writing (nothing is committed). */
  dryRun: boolean;
  maxConflicts: number;
  /** About how many items the reading side will read (SQLite picks its writer by it). */
  items: number;
  /**
   * SQLite: where rows are written: on a writer thread ('thread'), in the caller's thread
   * ('inline'), or 'auto'. PostgreSQL writes from the caller's thread through the server.
   */
  writer: 'auto' | 'thread' | 'inline';
  /** @internal Tests: another worker script, a shorter stall limit. */
  thread?: { script?: URL; stallMs?: number };
  /** What `prepareBulkLoad` made ready for this load (with the same options), if anything. */
  prepared?: PreparedLoad;
}

/** A bulk load's start made ahead of it (Registry.prepareBulkLoad): the load takes it, or it is released. */
export interface PreparedLoad {
  /** Give up what the load did not take (a no-op once taken, and when called twice). */
  release(): void;
}

/**
 * The reading side of a bulk load: reads its input, plans with `planning`, sends batches
 * through `channel`, and returns whether it may commit (false: it found conflicts of its own).
 */
export type BulkBody = (planning: PlanningReads, channel: BatchChannel) => Steps<boolean>;

export interface BulkOutcome {
  result: WriterResult;
  committed: boolean;
  /** Where rows were written: in the caller's thread, a writer thread, or by the database server from staged rows. */
  writer: 'inline' | 'thread' | 'server';
  /** Seconds the commit (or rollback) took. */
  commitSeconds: number;
}

export interface Registry {
  readonly kind: RegistryKind;
  /** Where it lives, for messages: the file, or the server URL (never a password) and schema. */
  readonly location: string;
  readonly isOpen: boolean;
  /** The universe stored dataset types are conformed in and data ID queries coerced by (the repository's). */
  readonly universe: DimensionUniverse;
  /** Close the connection(s). Idempotent. */
  close(): Promise<void>;

  /** Register a RUN collection; true if it was new. */
  registerRun(name: string): Promise<boolean>;
  hasRun(name: string): Promise<boolean>;
  runs(): Promise<string[]>;

  /** Register a dataset type; true if new, false if there identically; another definition → ConflictingDefinition. */
  registerDatasetType(dt: DatasetType): Promise<boolean>;
  getDatasetType(name: string): Promise<DatasetType | undefined>;
  /** All registered dataset types, sorted by name. */
  datasetTypes(): Promise<DatasetType[]>;

  /**
   * Insert resolved refs with their own ids ("ensure"). A ref whose id exists with another
   * type/run/data ID, or whose (type, run, data ID) exists under another id, is a conflict:
   * ConflictingDefinition listing every conflict in `details.conflicts`, nothing written.
   * Unknown dataset types → UnknownDatasetType and unknown runs → RepositoryError, unless
   * `autoRegister`.
   */
  insertDatasets(refs: readonly DatasetRef[], opts?: InsertDatasetsOptions): Promise<{ inserted: number; existing: number }>;
  getDataset(id: DatasetId): Promise<DatasetRef | undefined>;
  /** The dataset of this type, data ID (required dimensions are compared) and run, or undefined. */
  findDataset(datasetTypeName: string, dataId: DataId, run: string): Promise<DatasetRef | undefined>;
  /** Datasets matching every given criterion, sorted by (run, dataset type, data ID, id). */
  queryDatasets(query?: DatasetQuery): Promise<DatasetRef[]>;

  /**
   * Add datastore records, first writer wins per (dataset, datastore, component): an
   * identical record is already present; a different one keeps the stored row and is
   * returned in `conflicts`. Every dataset must be registered (DatasetNotFound otherwise,
   * and nothing is written).
   */
  insertRecords(datastoreName: string, data: DatastoreRecordData): Promise<InsertRecordsResult>;
  /** The records one datastore holds for `ids` (ids without records are left out). */
  getRecords(datastoreName: string, ids: Iterable<DatasetId>): Promise<DatastoreRecordData>;
  /** Records of `ids` in every datastore: {datastoreName: data}, names sorted. */
  recordsFor(ids: Iterable<DatasetId>): Promise<Record<string, DatastoreRecordData>>;
  /** A put: claim the dataset and its record, publish the artifact, commit (see DatasetClaim). */
  storeDataset(claim: DatasetClaim): Promise<ClaimOutcome>;

  /**
   * Store a quantum, its provenance document and its edges. Identical content already
   * stored → `{inserted: false}`; the same id with other content → ConflictingDefinition.
   */
  insertQuantum(q: QuantumInsert): Promise<{ inserted: boolean }>;
  /** A stored quantum with its edges (sorted by dataset id), without the provenance document. */
  getQuantum(id: string): Promise<StoredQuantum | undefined>;
  /** The provenance document stored with a quantum (as it was given), or undefined. */
  quantumProvenance(id: string): Promise<unknown>;
  /** Every stored quantum, sorted by id. */
  quanta(): Promise<QuantumSummary[]>;
  /**
   * The quantum that wrote each of `ids` (its actual-output edge; the least quantum id should
   * two claim it), by normalised dataset id. Ids no stored quantum wrote, known to the registry
   * or not, are left out. A batch read (IDS_PER_QUERY ids a statement, registry-rows.ts).
   */
  producersOf(ids: Iterable<DatasetId>): Promise<Map<DatasetId, string>>;
  /** The provenance documents stored with `quantumIds` (as given), by quantum id; unknown ids left out. A batch read. */
  quantumProvenances(quantumIds: Iterable<string>): Promise<Map<string, unknown>>;

  /** The lineage graph of a dataset (see lineage.ts); DatasetNotFound if the registry never heard of it. */
  lineage(datasetId: DatasetId, direction: LineageDirection, depth?: number): Promise<Lineage>;

  /**
   * collect-and-transfer's seam: run `body` against a writer in one transaction, then
   * commit when the body allows it, the writer found no conflicts and this is no dry run.
   */
  bulkLoad(opts: BulkLoadOptions, body: BulkBody): Promise<BulkOutcome>;
  /**
   * Start what a bulk load with `opts` will need and can start early without touching the
   * registry (SQLite: its writer thread, up to opening the file), while the caller does other
   * work first; pass the result to that `bulkLoad` as `prepared`, and release it in any case.
   */
  prepareBulkLoad?(opts: BulkLoadOptions): PreparedLoad | undefined;
  /** True for a failure that a fresh attempt of the whole transaction may not meet (serialization failure, deadlock). */
  isTransient(err: unknown): boolean;

  /** Row count of every table. */
  tableCounts(): Promise<TableCounts>;
  /** Every row of every table, in primary-key order: a deterministic dump for comparisons. */
  dump(): Promise<Record<string, unknown[]>>;
}
