/**
 * The registry: runs, dataset types, datasets, datastore records, quanta and their
 * input/output edges, in one SQLite file (better-sqlite3, synchronous).
 *
 * Concurrency: WAL journal, `busy_timeout`, foreign keys on. Every write is a
 * `BEGIN IMMEDIATE` transaction (nested calls become SAVEPOINTs), so several processes
 * can share the file; a reader never blocks a writer. Bulk imports (`bulkTransaction`,
 * used by collect-and-transfer) run with foreign-key enforcement off and leave the WAL
 * checkpoint to a timer that fires just after the call (or to close()); see there.
 *
 * Semantics ("ensure"): inserting something that is already there identically is a
 * no-op and is counted as already present; the same key with a different definition is
 * a conflict (ConflictingDefinition), and a failed call writes nothing.
 *
 * The row-level methods marked "@internal" are the building blocks that
 * collect-and-transfer uses with its own batching; they neither open transactions nor
 * validate beyond what the SQL needs, and callers must hold a transaction.
 */
import { canonicalFormatterName } from '../datastore/formatters.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import picomatch from 'picomatch';
import type { DataId, DataIdValue } from '../model/data-coordinate.js';
import { DIMENSION_NAME_RE, dataIdKey } from '../model/data-coordinate.js';
import { normalizeDatasetId, type DatasetId } from '../model/dataset-id.js';
import { compareRefs, type DatasetRef } from '../model/dataset-ref.js';
import {
  datasetTypeEquals,
  makeDatasetType,
  serializeDatasetType,
  validateDatasetTypeName,
  type DatasetType,
} from '../model/dataset-type.js';
import { NULL_STRING, type DatastoreRecordData, type RecordRow } from '../model/datastore-records.js';
import { ConflictingDefinition, DatasetNotFound, InvalidArgument, RepositoryError, StoreBusy, UnknownDatasetType } from '../model/errors.js';
import { canonicalJson, setOwn } from '../model/json-value.js';
import { REGISTRY_DDL, REGISTRY_SCHEMA_VERSION, REGISTRY_TABLES } from './registry-schema.js';

export type ProvenanceFormat = 'native' | 'daf_butler';

export interface RegistryOptions {
  /** How long a writer waits for another connection's lock, in ms (default 10000). */
  busyTimeoutMs?: number;
  /** Open read-only (the file must exist and have the current schema). */
  readonly?: boolean;
}

export interface InsertDatasetsOptions {
  /** Register unknown dataset types (from the refs) and runs instead of failing. */
  autoRegister?: boolean;
}

export interface DatasetQuery {
  /** Glob over dataset type names (picomatch). */
  datasetType?: string;
  run?: string;
  /** Every given dimension must be present with exactly this value (1 and "1" differ). */
  dataId?: Readonly<Record<string, DataIdValue>>;
}

/** One datastore record as stored: the StoredFileInfo fields plus any further fields. */
export interface RecordColumns {
  tableName: string;
  path: string;
  formatter: string;
  storageClass: string;
  /** `__NULL_STRING__` for no component. */
  component: string;
  checksum: string | null;
  /** -1 when unknown. */
  fileSize: number;
  /** Canonical JSON of further fields, or null. */
  extra: string | null;
}

export interface RecordConflict {
  datasetId: DatasetId;
  datastoreName: string;
  component: string | null;
  /** The fields that differ (`checksum`, `path`, `file_size`, ...). */
  fields: string[];
  existing: RecordRow;
  given: RecordRow;
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

/** Row counts per table (tests and diagnostics). */
export type TableCounts = Record<(typeof REGISTRY_TABLES)[number], number>;

/** @internal The identifying columns of a dataset row. */
export interface DatasetKeyRow {
  dataset_type: string;
  run: string;
  data_id_key: string;
}

/** @internal */
export interface QuantumRow {
  id: string;
  task_name: string | null;
  data_id: string | null;
  host: string | null;
  started_at: string | null;
  ended_at: string | null;
  format: ProvenanceFormat;
  provenance: string;
}

/** @internal Outcome of a row insert: the row was new, was there identically, or differs. */
export type RowOutcome = 'inserted' | 'present' | 'conflict';

/** @internal The (shared, allocation-free) result of a row insert that wrote the row. */
export const INSERTED: [RowOutcome, undefined] = ['inserted', undefined];

type Stmt = Database.Statement<unknown[], unknown>;

interface DatasetRow extends DatasetKeyRow {
  id: string;
  data_id: string;
}

interface RecordDbRow {
  dataset_id: string;
  datastore_name: string;
  table_name: string;
  path: string;
  formatter: string;
  storage_class: string;
  component: string;
  checksum: string | null;
  file_size: number;
  extra: string | null;
}

const DEFAULT_BUSY_TIMEOUT_MS = 10_000;
/** Page cache of a connection (KiB). A larger cache does not speed bulk imports up: it only moves the page writes into the commit. */
const DEFAULT_CACHE_KIB = 65_536;
/** Page size of new registry files: rows are a few hundred bytes, documents a few KB. */
const PAGE_SIZE = 8192;
/** SQLite's default automatic checkpoint threshold (pages), restored after bulk transactions. */
const WAL_AUTOCHECKPOINT_PAGES = 1000;
/** Delay of the checkpoint that follows a bulk transaction (ms). */
const CHECKPOINT_DELAY_MS = 250;
const RECORD_BASE_FIELDS = new Set(['formatter', 'path', 'storage_class', 'component', 'checksum', 'file_size']);
const GLOB_OPTIONS = { dot: true, windows: false, posix: true } as const;
const GLOB_SPECIAL = /[*?[\]{}()!+@\\]/;

/**
 * The canonical key of `dataId` over the dataset type's required dimensions (sorted), e.g.
 * `detector=1,instrument=Cam1`. Extra (implied) keys do not take part in uniqueness.
 * Throws InvalidArgument when a required dimension has no value.
 */
export function requiredDataIdKey(dt: DatasetType, dataId: DataId): string {
  const dims = dt.dimensions;
  let key = '';
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    const v = dataId[d];
    if (v === undefined) {
      throw new InvalidArgument(`No value in data ID (${dataIdKey(dataId)}) for required dimension '${d}' of dataset type '${dt.name}'.`, {
        details: { datasetType: dt.name, dataId, missing: d },
      });
    }
    key += (i === 0 ? '' : ',') + d + '=' + String(v);
  }
  return key;
}

/**
 * SQLite's "busy"/"locked" (another connection, often another process, held the write lock
 * past the busy timeout) as the retryable StoreBusy; any other error as it is.
 */
export function busyAsStoreBusy(err: unknown, path: string): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) {
    return new StoreBusy(`The registry ${path} stayed locked by another writer past the lock timeout; retry.`, { details: { path, code } });
  }
  return err;
}

/**
 * Why (id, dataset type, run, data ID key) could not be inserted: the id is registered as
 * something else (`found`), or the (type, run, data ID) belongs to another id.
 */
export function describeDatasetConflict(
  found: DatasetKeyRow | undefined,
  otherId: () => string | undefined,
  id: string,
  datasetType: string,
  run: string,
  key: string,
): { reason: 'datasetIdConflict' | 'dataIdConflict'; details: Record<string, unknown> } {
  if (found) {
    return {
      reason: 'datasetIdConflict',
      details: {
        message: `Dataset ${id} is already registered with another dataset type, run or data ID.`,
        existing: { datasetType: found.dataset_type, run: found.run, dataId: found.data_id_key },
        given: { datasetType, run, dataId: key },
      },
    };
  }
  return {
    reason: 'dataIdConflict',
    details: {
      message: `A dataset of type '${datasetType}' with data ID {${key}} already exists in run '${run}' under another id.`,
      existingId: otherId() ?? null,
      datasetType,
      run,
      dataId: key,
    },
  };
}

/**
 * Validate one datastore record row (values are strings, integers or null; never coerced)
 * and split it into stored columns. `formatter`, `path` and `storage_class` are required.
 */
export function recordColumns(row: Readonly<Record<string, unknown>>, tableName: string, whereArg: string | (() => string)): RecordColumns {
  const where = (): string => (typeof whereArg === 'string' ? whereArg : whereArg());
  const str = (field: string): string => {
    const v = row[field];
    if (typeof v !== 'string') {
      throw new InvalidArgument(`Datastore record ${where()}: field '${field}' must be a string.`, { details: { row, field } });
    }
    return v;
  };
  const component = row['component'];
  if (component !== undefined && component !== null && typeof component !== 'string') {
    throw new InvalidArgument(`Datastore record ${where()}: component must be a string or null.`, { details: { row } });
  }
  const checksum = row['checksum'];
  if (checksum !== undefined && checksum !== null && typeof checksum !== 'string') {
    throw new InvalidArgument(`Datastore record ${where()}: checksum must be a string or null.`, { details: { row } });
  }
  const size = row['file_size'];
  if (size !== undefined && size !== null && !(typeof size === 'number' && Number.isSafeInteger(size))) {
    throw new InvalidArgument(`Datastore record ${where()}: file_size must be an integer or null.`, { details: { row } });
  }
  let extra: Record<string, unknown> | null = null;
  for (const k in row) {
    if (RECORD_BASE_FIELDS.has(k) || !Object.prototype.hasOwnProperty.call(row, k)) continue;
    const v = row[k];
    if (!(v === null || typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v)))) {
      throw new InvalidArgument(`Datastore record ${where()}: value of '${k}' must be a string, an integer or null.`, { details: { row, field: k } });
    }
    (extra ??= {})[k] = v;
  }
  return {
    tableName,
    path: str('path'),
    formatter: str('formatter'),
    storageClass: str('storage_class'),
    component: component === undefined || component === null ? NULL_STRING : component,
    checksum: (checksum as string | null | undefined) ?? null,
    fileSize: (size as number | null | undefined) ?? -1,
    extra: extra === null ? null : canonicalJson(extra),
  };
}

/** The record row (daf_butler form: component sentinel, file_size -1 when unknown) of stored columns. */
export function recordRowOf(c: RecordColumns): RecordRow {
  const row: RecordRow = {
    formatter: c.formatter,
    path: c.path,
    storage_class: c.storageClass,
    component: c.component,
    checksum: c.checksum,
    file_size: c.fileSize,
  };
  if (c.extra !== null) Object.assign(row, JSON.parse(c.extra) as RecordRow);
  return row;
}

/** One checksum SHA-256 (64 hex digits), the other blake2b (128): the same bytes may be behind both. */
function isOtherAlgorithm(a: string, b: string): boolean {
  return (a.length === 64 && b.length === 128) || (a.length === 128 && b.length === 64);
}

/** Names of the fields that differ between two records (empty: identical). */
export function recordDifferences(a: RecordColumns, b: RecordColumns): string[] {
  const out: string[] = [];
  // Checksums of two algorithms (our former SHA-256, daf_butler's blake2b) cannot be compared.
  if (a.checksum !== b.checksum && !(a.checksum !== null && b.checksum !== null && isOtherAlgorithm(a.checksum, b.checksum))) out.push('checksum');
  if (a.path !== b.path) out.push('path');
  if (a.fileSize !== b.fileSize) out.push('file_size');
  if (canonicalFormatterName(a.formatter) !== canonicalFormatterName(b.formatter)) out.push('formatter');
  if (a.storageClass !== b.storageClass) out.push('storage_class');
  if (a.tableName !== b.tableName) out.push('table');
  if (a.extra !== b.extra) out.push('extra');
  return out;
}

function columnsOfDbRow(r: RecordDbRow): RecordColumns {
  return {
    tableName: r.table_name,
    path: r.path,
    formatter: r.formatter,
    storageClass: r.storage_class,
    component: r.component,
    checksum: r.checksum,
    fileSize: r.file_size,
    extra: r.extra,
  };
}

function typeOfRow(r: { name: string; storage_class: string; dimensions: string; parent_storage_class: string | null; is_calibration: number }): DatasetType {
  return makeDatasetType({
    name: r.name,
    storageClass: r.storage_class,
    dimensions: JSON.parse(r.dimensions) as string[],
    parentStorageClass: r.parent_storage_class,
    isCalibration: r.is_calibration === 1,
  });
}

function checkRunName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgument(`A run name must be a non-empty string, got ${JSON.stringify(name) ?? String(name)}.`, { details: { run: name } });
  }
}

export class Registry {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly s: Record<string, Stmt>;
  private readonly typeCache = new Map<string, DatasetType>();
  private readonly runCache = new Set<string>();
  private closed = false;
  private checkpointTimer: NodeJS.Timeout | undefined;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
    const p = (sql: string): Stmt => db.prepare(sql);
    this.s = {
      runInsert: p('INSERT INTO runs (name) VALUES (?) ON CONFLICT DO NOTHING'),
      runGet: p('SELECT 1 FROM runs WHERE name = ?'),
      runs: p('SELECT name FROM runs ORDER BY name'),
      typeInsert: p(
        'INSERT INTO dataset_types (name, storage_class, dimensions, parent_storage_class, is_calibration) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      typeGet: p('SELECT * FROM dataset_types WHERE name = ?'),
      typeNames: p('SELECT name FROM dataset_types ORDER BY name'),
      types: p('SELECT * FROM dataset_types ORDER BY name'),
      dsInsert: p('INSERT INTO datasets (id, dataset_type, run, data_id_key, data_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      dsKeyById: p('SELECT dataset_type, run, data_id_key FROM datasets WHERE id = ?'),
      dsIdByKey: p('SELECT id FROM datasets WHERE dataset_type = ? AND run = ? AND data_id_key = ?'),
      dsGet: p('SELECT * FROM datasets WHERE id = ?'),
      dsFind: p('SELECT * FROM datasets WHERE dataset_type = ? AND run = ? AND data_id_key = ?'),
      recInsert: p(
        'INSERT INTO datastore_records (dataset_id, datastore_name, table_name, path, formatter, storage_class, component, checksum, file_size, extra) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      recGet: p('SELECT * FROM datastore_records WHERE dataset_id = ? AND datastore_name = ? AND component = ?'),
      recForIds: p(
        'SELECT * FROM datastore_records WHERE datastore_name = ? AND dataset_id IN (SELECT value FROM json_each(?)) ORDER BY dataset_id, table_name, component',
      ),
      recAllForIds: p(
        'SELECT * FROM datastore_records WHERE dataset_id IN (SELECT value FROM json_each(?)) ORDER BY datastore_name, dataset_id, table_name, component',
      ),
      qInsert: p(
        'INSERT INTO quanta (id, task_name, data_id, host, started_at, ended_at, format, provenance) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      qGet: p('SELECT * FROM quanta WHERE id = ?'),
      qInsertInput: p(
        'INSERT INTO quantum_inputs (quantum_id, dataset_id, dataset_type, run, data_id, init_input, predicted, available, actual) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      qInsertOutput: p('INSERT INTO quantum_outputs (quantum_id, dataset_id, predicted, actual) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      qInputs: p('SELECT * FROM quantum_inputs WHERE quantum_id = ? ORDER BY dataset_id'),
      qOutputs: p('SELECT * FROM quantum_outputs WHERE quantum_id = ? ORDER BY dataset_id'),
      otherProducer: p('SELECT quantum_id FROM quantum_outputs WHERE dataset_id = ? AND actual = 1 AND quantum_id <> ? LIMIT 1'),
    };
  }

  /** Open (creating the file and schema if missing) a registry. ':memory:' gives a private in-memory registry. */
  static open(path: string, opts: RegistryOptions = {}): Registry {
    if (typeof path !== 'string' || path.length === 0) throw new InvalidArgument('A registry path must be a non-empty string.');
    let db: Database.Database;
    try {
      if (path !== ':memory:' && !opts.readonly) mkdirSync(dirname(path), { recursive: true });
      db = new Database(path, opts.readonly ? { readonly: true, fileMustExist: true } : {});
    } catch (err) {
      throw new RepositoryError(`Cannot open registry ${path}: ${(err as Error).message}`, { details: { path } });
    }
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS))}`);
      // Only an empty file can still choose its page size (before WAL mode is set).
      if (!opts.readonly && db.pragma('page_count', { simple: true }) === 0) db.pragma(`page_size = ${PAGE_SIZE}`);
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
      }
      db.pragma('foreign_keys = ON');
      db.pragma(`cache_size = -${DEFAULT_CACHE_KIB}`);
      db.pragma('temp_store = MEMORY');
      if (opts.readonly) {
        Registry.checkVersion(db, path);
      } else {
        db.transaction(() => {
          db.exec(REGISTRY_DDL);
          const row = db.prepare("SELECT value FROM registry_meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
          if (!row) db.prepare("INSERT INTO registry_meta (key, value) VALUES ('schema_version', ?)").run(String(REGISTRY_SCHEMA_VERSION));
          else Registry.checkVersion(db, path);
        }).immediate();
      }
      return new Registry(path, db);
    } catch (err) {
      db.close();
      if (err instanceof RepositoryError) throw err;
      const busy = busyAsStoreBusy(err, path);
      if (busy !== err) throw busy;
      throw new RepositoryError(`Cannot open registry ${path}: ${(err as Error).message}`, { details: { path } });
    }
  }

  private static checkVersion(db: Database.Database, path: string): void {
    const row = db.prepare("SELECT value FROM registry_meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
    if (!row || row.value !== String(REGISTRY_SCHEMA_VERSION)) {
      throw new RepositoryError(
        `Registry ${path} has schema version ${row?.value ?? 'none'}; this sidecar needs version ${REGISTRY_SCHEMA_VERSION}.`,
        { details: { path, found: row?.value ?? null, expected: REGISTRY_SCHEMA_VERSION } },
      );
    }
  }

  /** How long this connection waits for another one's lock (ms). */
  get busyTimeoutMs(): number {
    return this.db.pragma('busy_timeout', { simple: true }) as number;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * Checkpoint the WAL and close. Idempotent. `checkpoint: false` leaves the WAL to the
   * other connections (a writer thread closing while the caller's connection stays open).
   */
  close(opts: { checkpoint?: boolean } = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelCheckpoint();
    try {
      if (opts.checkpoint !== false && !this.db.readonly && this.db.open && !this.db.inTransaction) this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Another connection may hold the database; the checkpoint is only housekeeping.
    }
    this.db.close();
  }

  /**
   * Run `fn` in a write transaction (BEGIN IMMEDIATE; a SAVEPOINT when nested). If `fn`
   * throws, everything it wrote is rolled back and the error propagates.
   */
  transaction<T>(fn: () => T): T {
    this.assertOpen();
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      // Cached types and runs may name rows that were just rolled back.
      this.typeCache.clear();
      this.runCache.clear();
      throw busyAsStoreBusy(err, this.path);
    }
  }

  /** Run `fn` on one consistent snapshot (BEGIN DEFERRED; no write lock unless `fn` writes). */
  readTransaction<T>(fn: () => T): T {
    this.assertOpen();
    try {
      return this.db.transaction(fn).deferred();
    } catch (err) {
      this.typeCache.clear();
      this.runCache.clear();
      throw err;
    }
  }

  /**
   * @internal A write transaction for bulk loads whose caller guarantees referential
   * integrity by construction (collect-and-transfer). When it is the outermost transaction:
   * - foreign-key enforcement is off for its duration (SQLite can only change that outside
   *   a transaction; the per-row parent lookups cost about a fifth of a bulk import);
   * - the commit does not checkpoint the WAL (which would copy the whole import a second
   *   time inside the call); a PASSIVE checkpoint follows shortly after (see
   *   scheduleCheckpoint), and close() checkpoints too.
   * Both settings are restored afterwards. Nested in another transaction it is a plain
   * savepoint with foreign keys enforced.
   */
  bulkTransaction<T>(fn: () => T): T {
    this.assertOpen();
    if (this.db.inTransaction) return this.transaction(fn);
    this.db.pragma('foreign_keys = OFF');
    this.db.pragma('wal_autocheckpoint = 0');
    try {
      return this.transaction(fn);
    } finally {
      this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      this.db.pragma('foreign_keys = ON');
      this.scheduleCheckpoint();
    }
  }

  /**
   * Copy the WAL into the database file now (PASSIVE: never waits for other connections;
   * TRUNCATE: also empties the WAL, waiting for readers up to the busy timeout). Returns
   * SQLite's [busy, log frames, checkpointed frames].
   */
  checkpoint(mode: 'PASSIVE' | 'TRUNCATE' = 'PASSIVE'): { busy: number; log: number; checkpointed: number } {
    this.assertOpen();
    this.cancelCheckpoint();
    const row = this.db.pragma(`wal_checkpoint(${mode})`) as Array<{ busy: number; log: number; checkpointed: number }>;
    return row[0] ?? { busy: 0, log: 0, checkpointed: 0 };
  }

  /**
   * After a bulk commit the WAL can hold the whole import; rather than copying it into the
   * database inside the commit (which would double the time of the import), a PASSIVE
   * checkpoint runs shortly after on the event loop (an unref'd timer), or on close.
   */
  /** @internal Checkpoint soon (after a bulk import committed by another connection of this process). */
  _scheduleCheckpoint(): void {
    this.scheduleCheckpoint();
  }

  private scheduleCheckpoint(): void {
    if (this.checkpointTimer || this.path === ':memory:' || this.db.readonly) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = undefined;
      if (this.closed || this.db.inTransaction) return;
      try {
        this.db.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        // Housekeeping only: the next commit or close() checkpoints again.
      }
    }, CHECKPOINT_DELAY_MS);
    this.checkpointTimer.unref();
  }

  private cancelCheckpoint(): void {
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = undefined;
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  private assertOpen(): void {
    if (this.closed) throw new RepositoryError(`Registry ${this.path} is closed.`, { details: { path: this.path } });
  }

  // ---------------------------------------------------------------- runs

  /** Register a RUN collection; true if it was new. */
  registerRun(name: string): boolean {
    this.assertOpen();
    checkRunName(name);
    return this._ensureRun(name);
  }

  hasRun(name: string): boolean {
    this.assertOpen();
    return this.runCache.has(name) || this.s.runGet!.get(name) !== undefined;
  }

  runs(): string[] {
    this.assertOpen();
    return (this.s.runs!.pluck().all() as string[]);
  }

  // ---------------------------------------------------------------- dataset types

  /**
   * Register a dataset type; true if it was new, false if it was there identically.
   * The same name with another definition → ConflictingDefinition.
   */
  registerDatasetType(dt: DatasetType): boolean {
    this.assertOpen();
    const checked = makeDatasetType(dt);
    const [outcome, existing] = this._ensureDatasetType(checked);
    if (outcome === 'conflict') {
      throw new ConflictingDefinition(`Dataset type '${dt.name}' is already registered with a different definition.`, {
        details: { existing: serializeDatasetType(existing!), given: serializeDatasetType(checked) },
      });
    }
    return outcome === 'inserted';
  }

  /** The registered dataset type, or undefined. */
  getDatasetType(name: string): DatasetType | undefined {
    this.assertOpen();
    const cached = this.typeCache.get(name);
    if (cached) return cached;
    const row = this.s.typeGet!.get(name) as Parameters<typeof typeOfRow>[0] | undefined;
    if (!row) return undefined;
    const dt = typeOfRow(row);
    this.typeCache.set(name, dt);
    return dt;
  }

  /** All registered dataset types, sorted by name. */
  datasetTypes(): DatasetType[] {
    this.assertOpen();
    return (this.s.types!.all() as Parameters<typeof typeOfRow>[0][]).map(typeOfRow);
  }

  // ---------------------------------------------------------------- datasets

  /**
   * Insert resolved refs with their own ids ("ensure": identical rows are skipped). A ref
   * whose id exists with another type/run/data ID, or whose (type, run, data ID) exists
   * under another id, is a conflict: ConflictingDefinition listing every conflict in
   * `details.conflicts`, and nothing is written. Unknown dataset types → UnknownDatasetType
   * and unknown runs → RepositoryError, unless `autoRegister`.
   */
  insertDatasets(refs: readonly DatasetRef[], opts: InsertDatasetsOptions = {}): { inserted: number; existing: number } {
    this.assertOpen();
    return this.transaction(() => {
      let inserted = 0;
      let existing = 0;
      const conflicts: Array<{ datasetId: string; reason: string; details: unknown }> = [];
      for (const ref of refs) {
        const id = normalizeDatasetId(ref.id);
        checkRunName(ref.run);
        let dt = this.getDatasetType(ref.datasetType.name);
        if (!dt) {
          if (!opts.autoRegister) {
            throw new UnknownDatasetType(`Dataset type '${ref.datasetType.name}' is not registered.`, {
              datasetId: id,
              details: { datasetType: ref.datasetType.name },
            });
          }
          this.registerDatasetType(ref.datasetType);
          dt = this.getDatasetType(ref.datasetType.name)!;
        } else if (!sameDims(dt.dimensions, ref.datasetType.dimensions)) {
          conflicts.push({
            datasetId: id,
            reason: 'datasetTypeConflict',
            details: { datasetType: dt.name, registeredDimensions: [...dt.dimensions], givenDimensions: [...ref.datasetType.dimensions] },
          });
          continue;
        }
        if (!this.hasRun(ref.run)) {
          if (!opts.autoRegister) throw new RepositoryError(`Run '${ref.run}' is not registered.`, { datasetId: id, details: { run: ref.run } });
          this._ensureRun(ref.run);
        }
        const key = requiredDataIdKey(dt, ref.dataId);
        const outcome = this._insertDatasetRow(id, dt.name, ref.run, key, JSON.stringify(ref.dataId));
        if (outcome === 'inserted') inserted++;
        else if (outcome === 'present') existing++;
        else conflicts.push({ datasetId: id, ...this._datasetConflict(id, dt.name, ref.run, key, ref.dataId) });
      }
      if (conflicts.length > 0) {
        throw new ConflictingDefinition(
          `${conflicts.length} dataset${conflicts.length > 1 ? 's' : ''} conflict with the registry; nothing was inserted.`,
          { datasetId: conflicts[0]!.datasetId, details: { conflicts } },
        );
      }
      return { inserted, existing };
    });
  }

  /** The dataset with this id, or undefined. */
  getDataset(id: DatasetId): DatasetRef | undefined {
    this.assertOpen();
    const row = this.s.dsGet!.get(normalizeDatasetId(id)) as DatasetRow | undefined;
    return row ? this.refOfRow(row) : undefined;
  }

  /** The dataset of this type, data ID (required dimensions are compared) and run, or undefined. */
  findDataset(datasetTypeName: string, dataId: DataId, run: string): DatasetRef | undefined {
    this.assertOpen();
    const dt = this.getDatasetType(datasetTypeName);
    if (!dt) return undefined;
    const row = this.s.dsFind!.get(dt.name, run, requiredDataIdKey(dt, dataId)) as DatasetRow | undefined;
    return row ? this.refOfRow(row) : undefined;
  }

  /** Datasets matching every given criterion, sorted by (run, dataset type, data ID, id). */
  queryDatasets(query: DatasetQuery = {}): DatasetRef[] {
    this.assertOpen();
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.datasetType !== undefined) {
      if (typeof query.datasetType !== 'string' || query.datasetType.length === 0) {
        throw new InvalidArgument('datasetType must be a non-empty glob pattern.', { details: { datasetType: query.datasetType } });
      }
      if (GLOB_SPECIAL.test(query.datasetType)) {
        let match: (s: string) => boolean;
        try {
          match = picomatch(query.datasetType, GLOB_OPTIONS);
        } catch (err) {
          throw new InvalidArgument(`Invalid dataset type pattern ${JSON.stringify(query.datasetType)}: ${(err as Error).message}`);
        }
        const names = (this.s.typeNames!.pluck().all() as string[]).filter((n) => match(n));
        if (names.length === 0) return [];
        where.push('dataset_type IN (SELECT value FROM json_each(?))');
        params.push(JSON.stringify(names));
      } else {
        where.push('dataset_type = ?');
        params.push(query.datasetType);
      }
    }
    if (query.run !== undefined) {
      where.push('run = ?');
      params.push(query.run);
    }
    for (const [k, v] of Object.entries(query.dataId ?? {})) {
      if (!DIMENSION_NAME_RE.test(k)) throw new InvalidArgument(`Invalid dimension name '${k}' in data ID query.`, { details: { key: k } });
      if (!(typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v)))) {
        throw new InvalidArgument(`Invalid value for dimension '${k}' in data ID query; values must be integers or strings.`, { details: { key: k, value: v } });
      }
      // json_type tells the integer 1 from the string "1", as dataIdEquals does.
      where.push(`json_type(data_id, ?) = ? AND json_extract(data_id, ?) = ?`);
      const path = `$.${k}`;
      params.push(path, typeof v === 'number' ? 'integer' : 'text', path, v);
    }
    const sql = `SELECT * FROM datasets${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
    const rows = this.db.prepare(sql).all(...params) as DatasetRow[];
    return rows.map((r) => this.refOfRow(r)).sort(compareRefs);
  }

  private refOfRow(row: DatasetRow): DatasetRef {
    const dt = this.getDatasetType(row.dataset_type);
    if (!dt) throw new RepositoryError(`Dataset ${row.id} names dataset type '${row.dataset_type}', which is not registered.`, { datasetId: row.id });
    return Object.freeze({ id: row.id, datasetType: dt, dataId: Object.freeze(JSON.parse(row.data_id) as Record<string, DataIdValue>), run: row.run });
  }

  // ---------------------------------------------------------------- datastore records

  /**
   * Add datastore records, first writer wins per (dataset, datastore, component): an
   * identical record is counted as already present; a different one (another checksum,
   * path, size, ...) keeps the stored row and is returned in `conflicts`. Every dataset must
   * be registered (DatasetNotFound otherwise, and nothing is written).
   */
  insertRecords(datastoreName: string, data: DatastoreRecordData): InsertRecordsResult {
    this.assertOpen();
    if (typeof datastoreName !== 'string' || datastoreName.length === 0) throw new InvalidArgument('A datastore name must be a non-empty string.');
    return this.transaction(() => {
      const result: InsertRecordsResult = { inserted: 0, alreadyPresent: 0, conflicts: [] };
      for (const [rawId, tables] of data) {
        const id = normalizeDatasetId(rawId);
        let checked = false;
        for (const [table, rows] of tables) {
          for (let i = 0; i < rows.length; i++) {
            if (!checked) {
              if (!this._datasetKey(id)) throw new DatasetNotFound(`Dataset ${id} is not registered; cannot add its datastore records.`, { datasetId: id });
              checked = true;
            }
            const cols = recordColumns(rows[i]!, table, `${id}.${table}[${i}]`);
            const [outcome, existing] = this._insertRecordRow(id, datastoreName, cols);
            if (outcome === 'inserted') result.inserted++;
            else if (outcome === 'present') result.alreadyPresent++;
            else result.conflicts.push(recordConflict(id, datastoreName, existing!, cols));
          }
        }
      }
      return result;
    });
  }

  /** The records one datastore holds for `ids` (ids without records are left out). */
  getRecords(datastoreName: string, ids: Iterable<DatasetId>): DatastoreRecordData {
    this.assertOpen();
    const list = [...new Set([...ids].map((i) => normalizeDatasetId(i)))];
    const rows = this.s.recForIds!.all(datastoreName, JSON.stringify(list)) as RecordDbRow[];
    return groupRecords(rows);
  }

  /** Records of `ids` in every datastore: {datastoreName: data}, names sorted. */
  recordsFor(ids: Iterable<DatasetId>): Record<string, DatastoreRecordData> {
    this.assertOpen();
    const list = [...new Set([...ids].map((i) => normalizeDatasetId(i)))];
    const rows = this.s.recAllForIds!.all(JSON.stringify(list)) as RecordDbRow[];
    const byStore = new Map<string, RecordDbRow[]>();
    for (const r of rows) {
      const l = byStore.get(r.datastore_name);
      if (l) l.push(r);
      else byStore.set(r.datastore_name, [r]);
    }
    const out: Record<string, DatastoreRecordData> = {};
    for (const name of [...byStore.keys()].sort()) setOwn(out, name, groupRecords(byStore.get(name)!));
    return out;
  }

  // ---------------------------------------------------------------- quanta

  /**
   * Store a quantum, its provenance document and its edges. Identical content already
   * stored → `{inserted: false}`; the same id with different content (task, data ID,
   * format or document) → ConflictingDefinition.
   */
  insertQuantum(q: QuantumInsert): { inserted: boolean } {
    this.assertOpen();
    if (typeof q.id !== 'string' || q.id.length === 0) throw new InvalidArgument('A quantum id must be a non-empty string.');
    if (q.format !== 'native' && q.format !== 'daf_butler') throw new InvalidArgument(`Unknown provenance format '${String(q.format)}'.`);
    const row: QuantumRow = {
      id: q.id,
      task_name: q.taskName,
      data_id: q.dataId ? JSON.stringify(q.dataId) : null,
      host: q.host ?? null,
      started_at: q.startedAt ?? null,
      ended_at: q.endedAt ?? null,
      format: q.format,
      provenance: JSON.stringify(q.provenance),
    };
    return this.transaction(() => {
      const [outcome, existing] = this._insertQuantumRow(row);
      if (outcome === 'conflict') {
        throw new ConflictingDefinition(`Quantum ${q.id} is already stored with different content.`, {
          details: { quantumId: q.id, fields: quantumDifferences(existing!, row) },
        });
      }
      if (outcome === 'inserted') {
        for (const e of q.inputs) {
          this._insertInputEdge(q.id, normalizeDatasetId(e.datasetId), e.datasetType ?? null, e.run ?? null, e.dataId ? JSON.stringify(e.dataId) : null,
            e.initInput ?? false, e.predicted, e.available, e.actual);
        }
        for (const e of q.outputs) this._insertOutputEdge(q.id, normalizeDatasetId(e.datasetId), e.predicted, e.actual);
      }
      return { inserted: outcome === 'inserted' };
    });
  }

  /** A stored quantum with its edges (sorted by dataset id), without the provenance document. */
  getQuantum(id: string): StoredQuantum | undefined {
    this.assertOpen();
    const row = this._quantumRow(id);
    if (!row) return undefined;
    const inputs = (this.s.qInputs!.all(id) as Array<{
      dataset_id: string;
      dataset_type: string | null;
      run: string | null;
      data_id: string | null;
      init_input: number;
      predicted: number;
      available: number;
      actual: number;
    }>).map((r) => ({
      datasetId: r.dataset_id,
      datasetType: r.dataset_type,
      run: r.run,
      dataId: r.data_id === null ? null : (JSON.parse(r.data_id) as DataId),
      initInput: r.init_input === 1,
      predicted: r.predicted === 1,
      available: r.available === 1,
      actual: r.actual === 1,
    }));
    const outputs = (this.s.qOutputs!.all(id) as Array<{ dataset_id: string; predicted: number; actual: number }>).map((r) => ({
      datasetId: r.dataset_id,
      predicted: r.predicted === 1,
      actual: r.actual === 1,
    }));
    return {
      id: row.id,
      taskName: row.task_name,
      dataId: row.data_id === null ? null : (JSON.parse(row.data_id) as DataId),
      host: row.host,
      startedAt: row.started_at,
      endedAt: row.ended_at,
      format: row.format,
      inputs,
      outputs,
    };
  }

  /** The provenance document stored with a quantum (as it was given), or undefined. */
  quantumProvenance(id: string): unknown {
    this.assertOpen();
    const row = this._quantumRow(id);
    return row ? (JSON.parse(row.provenance) as unknown) : undefined;
  }

  // ---------------------------------------------------------------- diagnostics

  /** Row count of every table. */
  tableCounts(): TableCounts {
    this.assertOpen();
    const out = {} as TableCounts;
    for (const t of REGISTRY_TABLES) out[t] = (this.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    return out;
  }

  /** Every row of every table, in primary-key order: a deterministic dump for comparisons. */
  dump(): Record<string, unknown[]> {
    this.assertOpen();
    const out: Record<string, unknown[]> = {};
    for (const t of REGISTRY_TABLES) {
      const cols = (this.db.prepare(`SELECT name, pk FROM pragma_table_info(?) ORDER BY pk, cid`).all(t) as Array<{ name: string; pk: number }>);
      const pk = cols.filter((c) => c.pk > 0).map((c) => c.name);
      out[t] = this.db.prepare(`SELECT * FROM ${t} ORDER BY ${(pk.length ? pk : cols.map((c) => c.name)).join(', ')}`).all();
    }
    return out;
  }

  /** @internal The underlying connection (lineage queries). */
  get database(): Database.Database {
    this.assertOpen();
    return this.db;
  }

  // ---------------------------------------------------------------- row-level building blocks (@internal)

  /** @internal Insert a run if missing; true if new. */
  _ensureRun(name: string): boolean {
    if (this.runCache.has(name)) return false;
    const inserted = this.s.runInsert!.run(name).changes > 0;
    this.runCache.add(name);
    return inserted;
  }

  /** @internal Insert a dataset type if missing; 'conflict' with the registered one if it differs. */
  _ensureDatasetType(dt: DatasetType): [RowOutcome, DatasetType | undefined] {
    validateDatasetTypeName(dt.name);
    const existing = this.getDatasetType(dt.name);
    if (existing) return datasetTypeEquals(existing, dt) ? ['present', existing] : ['conflict', existing];
    this.s.typeInsert!.run(dt.name, dt.storageClass, JSON.stringify([...dt.dimensions].sort()), dt.parentStorageClass ?? null, dt.isCalibration ? 1 : 0);
    this.typeCache.set(dt.name, dt);
    return ['inserted', undefined];
  }

  /** @internal */
  _datasetKey(id: DatasetId): DatasetKeyRow | undefined {
    return this.s.dsKeyById!.get(id) as DatasetKeyRow | undefined;
  }

  /** @internal */
  _datasetIdByKey(datasetType: string, run: string, key: string): string | undefined {
    return (this.s.dsIdByKey!.get(datasetType, run, key) as { id: string } | undefined)?.id;
  }

  /**
   * @internal Insert a dataset row. Not inserted because of a uniqueness constraint: 'present'
   * if the row with this id has the same type, run and key, 'conflict' otherwise.
   */
  _insertDatasetRow(id: string, datasetType: string, run: string, key: string, dataIdJson: string): RowOutcome {
    if (this.s.dsInsert!.run(id, datasetType, run, key, dataIdJson).changes > 0) return 'inserted';
    const row = this._datasetKey(id);
    return row !== undefined && row.dataset_type === datasetType && row.run === run && row.data_id_key === key ? 'present' : 'conflict';
  }

  /** @internal Describe why (id, type, run, key) conflicts with the registry. */
  _datasetConflict(id: string, datasetType: string, run: string, key: string, dataId: DataId): { reason: string; details: unknown } {
    const c = describeDatasetConflict(this._datasetKey(id), () => this._datasetIdByKey(datasetType, run, key), id, datasetType, run, key);
    if (c.reason === 'datasetIdConflict') c.details['dataIdMapping'] = dataId;
    return c;
  }

  /** @internal */
  _recordColumns(datasetId: string, datastoreName: string, component: string): RecordColumns | undefined {
    const r = this.s.recGet!.get(datasetId, datastoreName, component) as RecordDbRow | undefined;
    return r ? columnsOfDbRow(r) : undefined;
  }

  /** @internal First writer wins: 'present' if identical, 'conflict' (with the stored row) if not. */
  _insertRecordRow(datasetId: string, datastoreName: string, c: RecordColumns): [RowOutcome, RecordColumns | undefined] {
    const changes = this.s.recInsert!.run(datasetId, datastoreName, c.tableName, c.path, c.formatter, c.storageClass, c.component, c.checksum, c.fileSize, c.extra).changes;
    if (changes > 0) return INSERTED;
    const existing = this._recordColumns(datasetId, datastoreName, c.component)!;
    return recordDifferences(existing, c).length === 0 ? ['present', existing] : ['conflict', existing];
  }

  /** @internal */
  _quantumRow(id: string): QuantumRow | undefined {
    return this.s.qGet!.get(id) as QuantumRow | undefined;
  }

  /** @internal Insert a quantum row; 'present' when the stored one has the same content. */
  _insertQuantumRow(row: QuantumRow): [RowOutcome, QuantumRow | undefined] {
    const changes = this.s.qInsert!.run(row.id, row.task_name, row.data_id, row.host, row.started_at, row.ended_at, row.format, row.provenance).changes;
    if (changes > 0) return INSERTED;
    const existing = this._quantumRow(row.id)!;
    return [quantumDifferences(existing, row).length === 0 ? 'present' : 'conflict', existing];
  }

  /** @internal */
  _insertInputEdge(
    quantumId: string,
    datasetId: string,
    datasetType: string | null,
    run: string | null,
    dataIdJson: string | null,
    initInput: boolean,
    predicted: boolean,
    available: boolean,
    actual: boolean,
  ): void {
    this.s.qInsertInput!.run(quantumId, datasetId, datasetType, run, dataIdJson, initInput ? 1 : 0, predicted ? 1 : 0, available ? 1 : 0, actual ? 1 : 0);
  }

  /** @internal */
  _insertOutputEdge(quantumId: string, datasetId: string, predicted: boolean, actual: boolean): void {
    this.s.qInsertOutput!.run(quantumId, datasetId, predicted ? 1 : 0, actual ? 1 : 0);
  }

  /** @internal Another quantum that already claims `datasetId` as an actual output, if any. */
  _otherProducer(datasetId: string, quantumId: string): string | undefined {
    return (this.s.otherProducer!.get(datasetId, quantumId) as { quantum_id: string } | undefined)?.quantum_id;
  }
}

function sameDims(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) {
    const sa = [...new Set(a)].sort();
    const sb = [...new Set(b)].sort();
    return sa.length === sb.length && sa.every((d, i) => d === sb[i]);
  }
  const sb = [...b].sort();
  return [...a].sort().every((d, i) => d === sb[i]);
}

function groupRecords(rows: readonly RecordDbRow[]): DatastoreRecordData {
  const out: DatastoreRecordData = new Map();
  for (const r of rows) {
    let tables = out.get(r.dataset_id);
    if (!tables) out.set(r.dataset_id, (tables = new Map()));
    const list = tables.get(r.table_name);
    const row = recordRowOf(columnsOfDbRow(r));
    if (list) list.push(row);
    else tables.set(r.table_name, [row]);
  }
  return out;
}

/** @internal */
export function recordConflict(datasetId: string, datastoreName: string, existing: RecordColumns, given: RecordColumns): RecordConflict {
  return {
    datasetId,
    datastoreName,
    component: given.component === NULL_STRING ? null : given.component,
    fields: recordDifferences(existing, given),
    existing: recordRowOf(existing),
    given: recordRowOf(given),
  };
}

/**
 * @internal Fields that differ between two quantum rows. Provenance documents are compared
 * as canonical JSON (object key order does not matter; array order does), so a document
 * re-serialised by another JSON library still matches.
 */
export function quantumDifferences(a: QuantumRow, b: QuantumRow): string[] {
  const out: string[] = [];
  if (a.task_name !== b.task_name) out.push('taskName');
  if (a.data_id !== b.data_id && !sameJson(a.data_id, b.data_id)) out.push('dataId');
  if (a.format !== b.format) out.push('format');
  if (a.provenance !== b.provenance && !sameJson(a.provenance, b.provenance)) out.push('provenance');
  return out;
}

function sameJson(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  try {
    return canonicalJson(JSON.parse(a)) === canonicalJson(JSON.parse(b));
  } catch {
    return false;
  }
}

