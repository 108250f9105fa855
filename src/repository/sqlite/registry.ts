/**
 * The SQLite registry: the registry contract (../registry.ts) over one file, with
 * better-sqlite3 (synchronous). Each contract call is one transaction, run synchronously
 * once the write lock is taken; waiting for the lock happens on timers (connection.ts), so
 * a registry locked by another process never stops the event loop.
 *
 * The pieces: connection.ts (file, pragmas, schema, transactions, lock waits), datasets.ts,
 * records.ts and quanta.ts (typed statements per concern), bulk-writer.ts and the writer
 * thread (collect-and-transfer's rows), ../registry-ops.ts (the row logic both backends share).
 */
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import type { DataId } from '../../model/data-coordinate.js';
import { normalizeDatasetId, type DatasetId } from '../../model/dataset-id.js';
import { compareRefs, type DatasetRef } from '../../model/dataset-ref.js';
import type { DatasetType } from '../../model/dataset-type.js';
import type { DatastoreRecordData } from '../../model/datastore-records.js';
import { defaultUniverse } from '../../model/dimensions/default-universe.js';
import { trimDimensionConfig } from '../../model/dimensions/dimension-config.js';
import type { DimensionUniverse } from '../../model/dimensions/dimension-universe.js';
import { InvalidArgument } from '../../model/errors.js';
import type { BatchChannel, PlanningReads } from '../bulk-batches.js';
import { lineageArgs, shapeLineage, walkLineage, type Lineage, type LineageDirection } from '../lineage.js';
import { groupRecords, groupRecordsByDatastore } from '../record-columns.js';
import type {
  BulkBody,
  BulkLoadOptions,
  BulkOutcome,
  PreparedLoad,
  ClaimOutcome,
  DatasetClaim,
  DatasetQuery,
  InsertDatasetsOptions,
  InsertRecordsResult,
  QuantumInsert,
  Registry,
  QuantumSummary,
  StoredQuantum,
  TableCounts,
} from '../registry.js';
import { insertDatasetsSteps, insertQuantumSteps, insertRecordsSteps, registerDatasetTypeSteps, storeDatasetSteps, type RowOps } from '../registry-ops.js';
import { checkRunName, distinctIds, producerByDataset, quantumSummaryOf, refOfRow, requiredDataIdKey, slices, type DatasetKeyRow } from '../registry-rows.js';
import { REGISTRY_TABLES, type RegistryTable } from '../registry-schema.js';
import { runAsync, runSync } from '../steps.js';
import { BulkWriter, DrySink, WriteSink, type Tables } from './bulk-writer.js';
import { BulkWriterThread, THREAD_MIN_ITEMS, workerScript } from '../bulk-writer-thread.js';
import type { SqliteWorkerData } from './bulk-writer-worker.js';
import { SqliteConnection, type SqliteOptions } from './connection.js';
import { tablesOf } from './tables.js';

export { THREAD_MIN_ITEMS } from '../bulk-writer-thread.js';

export interface SqliteRegistryOptions extends SqliteOptions {
  /** The dimension universe dataset types are conformed in and data ID queries coerced by (default: daf_butler's). */
  universe?: DimensionUniverse;
}

class Rollback extends Error {
  constructor(readonly outcome: BulkOutcome) {
    super('rollback');
  }
}

export class SqliteRegistry implements Registry {
  readonly kind = 'sqlite' as const;
  private readonly tables: Tables;
  private readonly ops: RowOps;

  private constructor(
    private readonly conn: SqliteConnection,
    readonly universe: DimensionUniverse,
  ) {
    this.tables = tablesOf(conn.db, universe);
    this.ops = rowOpsOf(this.tables);
    conn.onRollback = () => this.tables.datasets.resetCaches();
  }

  /** Open (creating the file and schema unless `mustExist`) a registry; ':memory:' gives a private one. Waits on timers for a locked file. */
  static async open(path: string, opts: SqliteRegistryOptions = {}): Promise<SqliteRegistry> {
    return new SqliteRegistry(await SqliteConnection.openWaiting(path, opts), opts.universe ?? defaultUniverse());
  }

  get path(): string {
    return this.conn.path;
  }

  get location(): string {
    return this.conn.path;
  }

  get isOpen(): boolean {
    return this.conn.isOpen;
  }

  /** How long a write waits for another connection's lock before StoreBusy (ms). */
  get busyTimeoutMs(): number {
    return this.conn.busyTimeoutMs;
  }

  /** The underlying connection (tests, diagnostics). */
  get database(): Database.Database {
    this.conn.assertOpen();
    return this.conn.db;
  }

  /** Copy the WAL into the database file now (see SqliteConnection.checkpoint). */
  checkpoint(mode: 'PASSIVE' | 'TRUNCATE' = 'PASSIVE'): { busy: number; log: number; checkpointed: number } {
    return this.conn.checkpoint(mode);
  }

  async close(opts: { checkpoint?: boolean } = {}): Promise<void> {
    this.conn.close(opts);
  }

  // ---------------------------------------------------------------- runs and dataset types

  async registerRun(name: string): Promise<boolean> {
    checkRunName(name);
    return this.conn.write(() => this.tables.datasets.ensureRun(name));
  }

  async hasRun(name: string): Promise<boolean> {
    return this.conn.read(() => this.tables.datasets.hasRun(name));
  }

  async runs(): Promise<string[]> {
    return this.conn.read(() => this.tables.datasets.runs());
  }

  async registerDatasetType(dt: DatasetType): Promise<boolean> {
    return this.conn.write(() => runSync(registerDatasetTypeSteps(this.ops, dt)));
  }

  async getDatasetType(name: string): Promise<DatasetType | undefined> {
    return this.conn.read(() => this.tables.datasets.datasetType(name));
  }

  async datasetTypes(): Promise<DatasetType[]> {
    return this.conn.read(() => this.tables.datasets.datasetTypes());
  }

  // ---------------------------------------------------------------- datasets

  async insertDatasets(refs: readonly DatasetRef[], opts: InsertDatasetsOptions = {}): Promise<{ inserted: number; existing: number }> {
    return this.conn.write(() => runSync(insertDatasetsSteps(this.ops, refs, opts)));
  }

  async getDataset(id: DatasetId): Promise<DatasetRef | undefined> {
    const key = normalizeDatasetId(id);
    return this.conn.read(() => {
      const row = this.tables.datasets.datasetRow(key);
      return row ? refOfRow(row, this.tables.datasets.datasetType(row.dataset_type)) : undefined;
    });
  }

  async findDataset(datasetTypeName: string, dataId: DataId, run: string): Promise<DatasetRef | undefined> {
    return this.conn.read(() => {
      const dt = this.tables.datasets.datasetType(datasetTypeName);
      if (!dt) return undefined;
      const row = this.tables.datasets.findRow(dt.name, run, requiredDataIdKey(dt, dataId));
      return row ? refOfRow(row, dt) : undefined;
    });
  }

  async queryDatasets(query: DatasetQuery = {}): Promise<DatasetRef[]> {
    return this.conn.read(() =>
      this.tables.datasets
        .query(query)
        .map((r) => refOfRow(r, this.tables.datasets.datasetType(r.dataset_type)))
        .sort(compareRefs),
    );
  }

  // ---------------------------------------------------------------- datastore records

  async insertRecords(datastoreName: string, data: DatastoreRecordData): Promise<InsertRecordsResult> {
    return this.conn.write(() => runSync(insertRecordsSteps(this.ops, datastoreName, data)));
  }

  async getRecords(datastoreName: string, ids: Iterable<DatasetId>): Promise<DatastoreRecordData> {
    const list = distinctIds(ids);
    return this.conn.read(() => groupRecords(this.tables.records.rowsFor(datastoreName, list)));
  }

  async recordsFor(ids: Iterable<DatasetId>): Promise<Record<string, DatastoreRecordData>> {
    const list = distinctIds(ids);
    return this.conn.read(() => groupRecordsByDatastore(this.tables.records.allRowsFor(list)));
  }

  async storeDataset(claim: DatasetClaim): Promise<ClaimOutcome> {
    return this.conn.write(() => runSync(storeDatasetSteps(this.ops, claim)));
  }

  // ---------------------------------------------------------------- quanta

  async insertQuantum(q: QuantumInsert): Promise<{ inserted: boolean }> {
    return this.conn.write(() => runSync(insertQuantumSteps(this.ops, q)));
  }

  async getQuantum(id: string): Promise<StoredQuantum | undefined> {
    return this.conn.read(() => {
      const row = this.tables.quanta.row(id);
      if (!row) return undefined;
      return {
        ...quantumSummaryOf(row),
        inputs: this.tables.quanta.inputs(id).map((r) => ({
          datasetId: r.dataset_id,
          datasetType: r.dataset_type,
          run: r.run,
          dataId: r.data_id === null ? null : (JSON.parse(r.data_id) as DataId),
          initInput: r.init_input === 1,
          predicted: r.predicted === 1,
          available: r.available === 1,
          actual: r.actual === 1,
        })),
        outputs: this.tables.quanta.outputs(id).map((r) => ({ datasetId: r.dataset_id, predicted: r.predicted === 1, actual: r.actual === 1 })),
      };
    });
  }

  async quantumProvenance(id: string): Promise<unknown> {
    return this.conn.read(() => {
      const row = this.tables.quanta.row(id);
      return row ? (JSON.parse(row.provenance) as unknown) : undefined;
    });
  }

  async quanta(): Promise<QuantumSummary[]> {
    return this.conn.read(() => this.tables.quanta.all().map(quantumSummaryOf));
  }

  async producersOf(ids: Iterable<DatasetId>): Promise<Map<DatasetId, string>> {
    const chunks = slices(distinctIds(ids));
    if (chunks.length === 0) return new Map();
    return this.conn.read(() => {
      const out = new Map<DatasetId, string>();
      for (const chunk of chunks) producerByDataset(this.tables.quanta.producers(chunk), out);
      return out;
    });
  }

  async quantumProvenances(quantumIds: Iterable<string>): Promise<Map<string, unknown>> {
    const chunks = slices([...new Set(quantumIds)]);
    if (chunks.length === 0) return new Map();
    return this.conn.read(() => {
      const out = new Map<string, unknown>();
      for (const chunk of chunks) for (const r of this.tables.quanta.provenances(chunk)) out.set(r.id, JSON.parse(r.provenance) as unknown);
      return out;
    });
  }

  async lineage(datasetId: DatasetId, direction: LineageDirection, depth?: number): Promise<Lineage> {
    const args = lineageArgs(datasetId, direction, depth);
    return this.conn.read(() => {
      const q = this.tables.quanta;
      const walk = walkLineage(q, args.root, args.direction, args.depth);
      const ids = [...walk.datasets];
      const registered = q.datasetSummaries(ids);
      const known = new Set(registered.map((r) => r.id));
      const missing = ids.filter((id) => !known.has(id));
      return shapeLineage(args.root, args.direction, args.depth, { ...walk, edges: walk.edges.values() }, {
        datasets: registered,
        predicted: missing.length > 0 ? q.predictedRefs(missing) : [],
        quanta: q.summaries([...walk.quanta]),
      });
    });
  }

  // ---------------------------------------------------------------- collect-and-transfer

  isTransient(): boolean {
    return false;
  }

  /**
   * A dry run reads one snapshot through a sink that only looks. A real load writes on a
   * writer thread for large batches on a file registry, else inline in one synchronous
   * transaction (it cannot span event-loop turns: the body never waits for a promise here).
   */
  async bulkLoad(opts: BulkLoadOptions, body: BulkBody): Promise<BulkOutcome> {
    this.conn.assertOpen();
    const planning = this.planning();
    const script = this.threadScript(opts);
    if (opts.writer === 'thread' && !opts.dryRun && !script) {
      throw new InvalidArgument(
        this.path === ':memory:' ? 'An in-memory registry cannot be written from a writer thread.' : 'The registry writer thread script is not built (run `npm run build`).',
      );
    }
    if (script) return this.threadLoad(script, opts, planning, body);

    let bodyDone = 0;
    const inline = (sink: WriteSink | DrySink): BulkOutcome => {
      const channel: BatchChannel = { send: (b) => writer.apply(b), rowsApplied: () => writer.rows, tick: () => {} };
      const writer = new BulkWriter(sink, opts.maxConflicts, () => channel.tick());
      const commit = runSync(body(planning, channel));
      const result = writer.finish();
      bodyDone = performance.now();
      return { result, committed: commit && result.conflictCount === 0 && !opts.dryRun, writer: 'inline', commitSeconds: 0 };
    };
    const settled = (o: BulkOutcome): BulkOutcome => ({ ...o, commitSeconds: Math.round(performance.now() - bodyDone) / 1000 });
    if (opts.dryRun) return settled(await this.conn.read(() => inline(new DrySink(this.tables))));
    try {
      return settled(
        await this.conn.write(() =>
          this.conn.bulkTransaction(() => {
            const o = inline(new WriteSink(this.tables));
            if (!o.committed) throw new Rollback(o);
            return o;
          }),
        ),
      );
    } catch (err) {
      if (!(err instanceof Rollback)) throw err;
      return settled(err.outcome);
    }
  }

  /**
   * The writer thread's start-up (loading its modules, ~100-600 ms on a busy machine) while the
   * caller reads its documents: the thread opens the registry only when the load begins.
   */
  prepareBulkLoad(opts: BulkLoadOptions): PreparedLoad | undefined {
    const script = this.isOpen ? this.threadScript(opts) : null;
    return script ? new SpawnedWriter(this, opts, this.spawnWriter(script, opts)) : undefined;
  }

  /** The writer thread's script when a load with `opts` writes on one (null: inline, or none built). */
  private threadScript(opts: BulkLoadOptions): URL | null {
    const wantThread = !opts.dryRun && (opts.writer === 'thread' || (opts.writer === 'auto' && opts.items >= THREAD_MIN_ITEMS));
    return wantThread && this.path !== ':memory:' ? (opts.thread?.script ?? workerScript('sqlite')) : null;
  }

  private spawnWriter(script: URL, opts: BulkLoadOptions): BulkWriterThread {
    const data: SqliteWorkerData = {
      path: this.path,
      maxConflicts: opts.maxConflicts,
      busyTimeoutMs: this.busyTimeoutMs,
      dimensions: trimDimensionConfig(this.universe.config),
      items: opts.items,
    };
    return BulkWriterThread.spawn(script, { ...data }, opts.thread?.stallMs);
  }

  private async threadLoad(script: URL, opts: BulkLoadOptions, planning: PlanningReads, body: BulkBody): Promise<BulkOutcome> {
    const spawned = (opts.prepared instanceof SpawnedWriter && opts.prepared.take(this, opts)) || this.spawnWriter(script, opts);
    const thread = await spawned.open(this.busyTimeoutMs);
    try {
      const channel: BatchChannel = { send: (b) => thread.send(b, () => channel.tick()), rowsApplied: () => thread.rowsApplied, tick: () => {} };
      const commit = await runAsync(body(planning, channel));
      const done = await thread.finish(commit, () => channel.tick());
      if (done.committed) this.conn.scheduleCheckpoint();
      return { result: done.result, committed: done.committed, writer: 'thread', commitSeconds: done.seconds.commit };
    } catch (err) {
      await thread.abort();
      throw err;
    }
  }

  /** Planning reads on this connection: the committed registry (or, inline, this transaction's view). */
  private planning(): PlanningReads {
    const d = this.tables.datasets;
    return {
      hasRun: (name) => d.hasRun(name),
      datasetType: (name) => d.datasetType(name),
      datasetKeys: (ids) => {
        const out = new Map<string, DatasetKeyRow>();
        for (const id of ids) {
          const row = d.datasetKey(id);
          if (row) out.set(id, row);
        }
        return out;
      },
    };
  }

  // ---------------------------------------------------------------- diagnostics

  async tableCounts(): Promise<TableCounts> {
    return this.conn.read(() => {
      const out = {} as TableCounts;
      for (const t of REGISTRY_TABLES) out[t] = this.conn.db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${t}`).get()!.n;
      return out;
    });
  }

  async dump(): Promise<Record<string, unknown[]>> {
    return this.conn.read(() => {
      const out: Record<string, unknown[]> = {};
      for (const t of REGISTRY_TABLES) out[t] = this.rowsOf(t);
      return out;
    });
  }

  /** Every row of one table in primary-key order (dumps, migration). */
  rowsOf(table: RegistryTable): Array<Record<string, unknown>> {
    const db = this.conn.db;
    const cols = db.prepare<[string], { name: string; pk: number }>('SELECT name, pk FROM pragma_table_info(?) ORDER BY pk, cid').all(table);
    const pk = cols.filter((c) => c.pk > 0).map((c) => c.name);
    return db.prepare<[], Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY ${(pk.length ? pk : cols.map((c) => c.name)).join(', ')}`).all();
  }

  /** Iterate one table's rows in primary-key order without loading them all (migration). */
  iterateRows(table: RegistryTable): IterableIterator<Record<string, unknown>> {
    const db = this.conn.db;
    const cols = db.prepare<[string], { name: string; pk: number }>('SELECT name, pk FROM pragma_table_info(?) ORDER BY pk, cid').all(table);
    const pk = cols.filter((c) => c.pk > 0).map((c) => c.name);
    return db.prepare<[], Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY ${(pk.length ? pk : cols.map((c) => c.name)).join(', ')}`).iterate();
  }
}

/** The shared row logic's operations on this connection's statements. */
function rowOpsOf(t: Tables): RowOps {
  const sink = new WriteSink(t);
  return {
    ensureRun: (name) => t.datasets.ensureRun(name),
    hasRun: (name) => t.datasets.hasRun(name),
    datasetType: (name) => t.datasets.datasetType(name),
    ensureDatasetType: (dt) => t.datasets.ensureDatasetType(dt),
    insertDataset: (id, type, run, key, json) => t.datasets.insertDataset(id, type, run, key, json),
    datasetKey: (id) => t.datasets.datasetKey(id),
    datasetIdByKey: (type, run, key) => t.datasets.datasetIdByKey(type, run, key),
    insertRecord: (id, ds, cols) => sink.insertRecord(id, ds, cols),
    recordOf: (id, ds, component) => t.records.columns(id, ds, component),
    insertQuantum: (row) => t.quanta.insert(row),
    insertInputEdge: (q, d, type, run, json, f) => t.quanta.insertInput(q, d, type, run, json, f.init, f.predicted, f.available, f.actual),
    insertOutputEdge: (q, d, predicted, actual) => t.quanta.insertOutput(q, d, predicted, actual),
  };
}

/** A writer thread spawned by prepareBulkLoad, for the load with the same options. */
class SpawnedWriter implements PreparedLoad {
  constructor(
    private readonly registry: SqliteRegistry,
    private readonly opts: BulkLoadOptions,
    private thread: BulkWriterThread | undefined,
  ) {}

  /** The thread, once, for a load of the registry and options it was spawned for. */
  take(registry: SqliteRegistry, opts: BulkLoadOptions): BulkWriterThread | undefined {
    const same = registry === this.registry && opts.maxConflicts === this.opts.maxConflicts && opts.items === this.opts.items && opts.thread?.script === this.opts.thread?.script && opts.thread?.stallMs === this.opts.thread?.stallMs;
    if (!same) return undefined;
    const t = this.thread;
    this.thread = undefined;
    return t;
  }

  release(): void {
    this.thread?.discard();
    this.thread = undefined;
  }
}
