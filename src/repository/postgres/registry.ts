/**
 * The PostgreSQL registry: the registry contract (../registry.ts) in one schema of a
 * PostgreSQL database, for repositories that many hosts write at once. Every call is one
 * transaction (read committed) on a pooled connection; the row logic is the one both
 * backends share (../registry-ops.ts), awaited statement by statement; collect-and-transfer
 * stages its rows with COPY and applies them in set-based statements (bulk-writer.ts);
 * lineage is one recursive query, then the same breadth-first walk as SQLite's, in memory.
 *
 * Concurrency comes from PostgreSQL itself: unique constraints and ON CONFLICT decide
 * which of two writers inserts a row (the other waits for its commit, then finds the row
 * there), a transaction advisory lock serialises schema creation and migration, and a
 * transaction the server aborts (serialization failure, deadlock) is reported as such for
 * collect-and-transfer to run again (`isTransient`).
 */
import type pg from 'pg';
import type { DataId } from '../../model/data-coordinate.js';
import { normalizeDatasetId, type DatasetId } from '../../model/dataset-id.js';
import { compareRefs, type DatasetRef } from '../../model/dataset-ref.js';
import type { DatasetType } from '../../model/dataset-type.js';
import type { DatastoreRecordData } from '../../model/datastore-records.js';
import { defaultUniverse } from '../../model/dimensions/default-universe.js';
import { trimDimensionConfig } from '../../model/dimensions/dimension-config.js';
import type { DimensionUniverse } from '../../model/dimensions/dimension-universe.js';
import type { BatchChannel, PlanningReads } from '../bulk-batches.js';
import { lineageArgs, shapeLineage, walkLineage, type Lineage, type LineageDirection, type LineageLink, type LineageLinks } from '../lineage.js';
import { groupRecords, groupRecordsByDatastore, type RecordDbRow } from '../record-columns.js';
import type {
  BulkBody,
  BulkLoadOptions,
  BulkOutcome,
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
import { insertDatasetsSteps, insertQuantumSteps, insertRecordsSteps, registerDatasetTypeSteps, storeDatasetSteps } from '../registry-ops.js';
import {
  checkDataIdQuery,
  checkRunName,
  datasetTypeMatcher,
  datasetTypeOfRow,
  distinctIds,
  producerByDataset,
  quantumSummaryOf,
  refOfRow,
  requiredDataIdKey,
  slices,
  type DatasetKeyRow,
  type DatasetRow,
  type DatasetTypeRow,
  type QuantumRow,
} from '../registry-rows.js';
import { REGISTRY_TABLES, TABLE_KEYS, type RegistryTable } from '../registry-schema.js';
import { runAsync } from '../steps.js';
import { CONCURRENT_CHANGE, ConcurrentChange, PgBulkWriter } from './bulk-writer.js';
import { PgConnection, TRANSIENT_SQLSTATE, mapPgError, sqlState } from './connection.js';
import { checkSchema, createSchema } from './schema.js';
import { pgRowOps } from './rows.js';
import { BulkWriterThread, THREAD_MIN_ITEMS, workerScript } from '../bulk-writer-thread.js';
import type { PgWorkerData } from './bulk-writer-worker.js';
import type { Driver } from './driver.js';

export interface PgRegistryOptions {
  /** postgresql://user[:password]@host[:port]/database (a password here is used, never stored). */
  url: string;
  /** The schema holding the registry's tables (a lower-case identifier). */
  schema: string;
  /** Create the schema and its tables (it must not hold a registry yet) instead of opening them. */
  create?: boolean;
  poolSize?: number;
  /** The dimension universe dataset types are conformed in and data ID queries coerced by (default: daf_butler's). */
  universe?: DimensionUniverse;
}

interface InputEdgeRow {
  dataset_id: string;
  dataset_type: string | null;
  run: string | null;
  data_id: string | null;
  init_input: boolean;
  predicted: boolean;
  available: boolean;
  actual: boolean;
}

export class PgRegistry implements Registry {
  readonly kind = 'postgresql' as const;
  /** Registered dataset types seen so far (a registered type never changes). */
  private readonly typeCache = new Map<string, DatasetType>();

  private constructor(
    private readonly conn: PgConnection,
    readonly universe: DimensionUniverse,
  ) {}

  static async open(opts: PgRegistryOptions): Promise<PgRegistry> {
    const conn = await PgConnection.create(opts);
    try {
      if (opts.create) await createSchema(conn, opts.schema);
      else await checkSchema(conn);
    } catch (err) {
      await conn.close();
      throw mapPgError(err, conn.where);
    }
    return new PgRegistry(conn, opts.universe ?? defaultUniverse());
  }

  get schema(): string {
    return this.conn.opts.schema;
  }

  /** The client library (migration copies with COPY). */
  get driver(): Driver {
    return this.conn.driver;
  }

  get location(): string {
    return this.conn.where;
  }

  get isOpen(): boolean {
    return this.conn.isOpen;
  }

  async close(): Promise<void> {
    await this.conn.close();
  }

  /** Drop the registry's schema and everything in it (tests, a failed migration). */
  async dropSchema(): Promise<void> {
    await this.conn.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
  }

  // ---------------------------------------------------------------- runs and dataset types

  async registerRun(name: string): Promise<boolean> {
    checkRunName(name);
    return this.conn.transaction(async (c) => (await pgRowOps(c, this.universe).ensureRun(name)) === true);
  }

  async hasRun(name: string): Promise<boolean> {
    return (await this.conn.query('SELECT 1 FROM runs WHERE name = $1', [name])).rowCount! > 0;
  }

  async runs(): Promise<string[]> {
    return (await this.conn.query<{ name: string }>('SELECT name FROM runs ORDER BY name')).rows.map((r) => r.name);
  }

  async registerDatasetType(dt: DatasetType): Promise<boolean> {
    return this.conn.transaction((c) => runAsync(registerDatasetTypeSteps(pgRowOps(c, this.universe), dt)));
  }

  async getDatasetType(name: string): Promise<DatasetType | undefined> {
    const cached = this.typeCache.get(name);
    if (cached) return cached;
    const row = (await this.conn.query<DatasetTypeRow>({ name: 'qb_type_get', text: 'SELECT * FROM dataset_types WHERE name = $1', values: [name] })).rows[0];
    if (!row) return undefined;
    const dt = datasetTypeOfRow(row, this.universe);
    this.typeCache.set(name, dt);
    return dt;
  }

  async datasetTypes(): Promise<DatasetType[]> {
    return (await this.conn.query<DatasetTypeRow>('SELECT * FROM dataset_types ORDER BY name')).rows.map((r) => datasetTypeOfRow(r, this.universe));
  }

  // ---------------------------------------------------------------- datasets

  async insertDatasets(refs: readonly DatasetRef[], opts: InsertDatasetsOptions = {}): Promise<{ inserted: number; existing: number }> {
    return this.conn.transaction((c) => runAsync(insertDatasetsSteps(pgRowOps(c, this.universe), refs, opts)));
  }

  async getDataset(id: DatasetId): Promise<DatasetRef | undefined> {
    const key = normalizeDatasetId(id);
    const row = (await this.conn.query<DatasetRow>({ name: 'qb_ds_get', text: 'SELECT * FROM datasets WHERE id = $1', values: [key] })).rows[0];
    return row ? refOfRow(row, await this.getDatasetType(row.dataset_type)) : undefined;
  }

  async findDataset(datasetTypeName: string, dataId: DataId, run: string): Promise<DatasetRef | undefined> {
    const dt = await this.getDatasetType(datasetTypeName);
    if (!dt) return undefined;
    const key = requiredDataIdKey(dt, dataId);
    const row = (await this.conn.query<DatasetRow>('SELECT * FROM datasets WHERE dataset_type = $1 AND run = $2 AND data_id_key = $3', [dt.name, run, key])).rows[0];
    return row ? refOfRow(row, dt) : undefined;
  }

  async queryDatasets(query: DatasetQuery = {}): Promise<DatasetRef[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    if (query.datasetType !== undefined) {
      const glob = datasetTypeMatcher(query.datasetType);
      if (glob.literal === undefined) {
        const names = (await this.conn.query<{ name: string }>('SELECT name FROM dataset_types')).rows.map((r) => r.name).filter((n) => glob.match(n));
        if (names.length === 0) return [];
        where.push(`dataset_type = ANY(${p(names)}::text[])`);
      } else {
        where.push(`dataset_type = ${p(glob.literal)}`);
      }
    }
    if (query.run !== undefined) where.push(`run = ${p(query.run)}`);
    for (const [k, v] of checkDataIdQuery(query.dataId ?? {}, this.universe)) {
      // An int key matches a JSON number or, in data IDs written before values were coerced,
      // its decimal text; a string key only a JSON string.
      const key = p(k);
      const types = typeof v === 'number' ? `('number', 'string')` : `('string')`;
      where.push(`jsonb_typeof(data_id::jsonb -> ${key}) IN ${types} AND data_id::jsonb ->> ${key} = ${p(String(v))}`);
    }
    const rows = (await this.conn.query<DatasetRow>(`SELECT * FROM datasets${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, params)).rows;
    const out: DatasetRef[] = [];
    for (const r of rows) out.push(refOfRow(r, await this.getDatasetType(r.dataset_type)));
    return out.sort(compareRefs);
  }

  // ---------------------------------------------------------------- datastore records

  async insertRecords(datastoreName: string, data: DatastoreRecordData): Promise<InsertRecordsResult> {
    return this.conn.transaction((c) => runAsync(insertRecordsSteps(pgRowOps(c, this.universe), datastoreName, data)));
  }

  async getRecords(datastoreName: string, ids: Iterable<DatasetId>): Promise<DatastoreRecordData> {
    const list = distinctIds(ids);
    const rows = (
      await this.conn.query<RecordDbRow>({
        name: 'qb_rec_for',
        text: 'SELECT * FROM datastore_records WHERE datastore_name = $1 AND dataset_id = ANY($2::uuid[]) ORDER BY dataset_id, table_name, component',
        values: [datastoreName, list],
      })
    ).rows;
    return groupRecords(rows);
  }

  async recordsFor(ids: Iterable<DatasetId>): Promise<Record<string, DatastoreRecordData>> {
    const list = distinctIds(ids);
    const rows = (
      await this.conn.query<RecordDbRow>(
        'SELECT * FROM datastore_records WHERE dataset_id = ANY($1::uuid[]) ORDER BY datastore_name, dataset_id, table_name, component',
        [list],
      )
    ).rows;
    return groupRecordsByDatastore(rows);
  }

  async storeDataset(claim: DatasetClaim): Promise<ClaimOutcome> {
    return this.conn.transaction((c) => runAsync(storeDatasetSteps(pgRowOps(c, this.universe), claim)));
  }

  // ---------------------------------------------------------------- quanta

  async insertQuantum(q: QuantumInsert): Promise<{ inserted: boolean }> {
    return this.conn.transaction((c) => runAsync(insertQuantumSteps(pgRowOps(c, this.universe), q)));
  }

  async getQuantum(id: string): Promise<StoredQuantum | undefined> {
    return this.conn.transaction(
      async (c) => {
        const row = (await c.query<QuantumRow>('SELECT * FROM quanta WHERE id = $1', [id])).rows[0];
        if (!row) return undefined;
        const inputs = (await c.query<InputEdgeRow>('SELECT * FROM quantum_inputs WHERE quantum_id = $1 ORDER BY dataset_id', [id])).rows;
        const outputs = (await c.query<{ dataset_id: string; predicted: boolean; actual: boolean }>('SELECT * FROM quantum_outputs WHERE quantum_id = $1 ORDER BY dataset_id', [id])).rows;
        return {
          ...quantumSummaryOf(row),
          inputs: inputs.map((r) => ({
            datasetId: r.dataset_id,
            datasetType: r.dataset_type,
            run: r.run,
            dataId: r.data_id === null ? null : (JSON.parse(r.data_id) as DataId),
            initInput: r.init_input,
            predicted: r.predicted,
            available: r.available,
            actual: r.actual,
          })),
          outputs: outputs.map((r) => ({ datasetId: r.dataset_id, predicted: r.predicted, actual: r.actual })),
        };
      },
      { isolation: 'REPEATABLE READ', readOnly: true },
    );
  }

  async quantumProvenance(id: string): Promise<unknown> {
    const row = (await this.conn.query<{ provenance: string }>('SELECT provenance FROM quanta WHERE id = $1', [id])).rows[0];
    return row ? (JSON.parse(row.provenance) as unknown) : undefined;
  }

  async quanta(): Promise<QuantumSummary[]> {
    const rows = (await this.conn.query<Omit<QuantumRow, 'provenance'>>('SELECT id, task_name, data_id, host, started_at, ended_at, format FROM quanta ORDER BY id')).rows;
    return rows.map(quantumSummaryOf);
  }

  async producersOf(ids: Iterable<DatasetId>): Promise<Map<DatasetId, string>> {
    const out = new Map<DatasetId, string>();
    for (const chunk of slices(distinctIds(ids))) {
      const links = await this.conn.query<LineageLink>({
        name: 'qb_producers_of',
        text: 'SELECT quantum_id AS q, dataset_id::text AS d FROM quantum_outputs WHERE dataset_id = ANY($1::uuid[]) AND actual',
        values: [chunk],
      });
      producerByDataset(links.rows, out);
    }
    return out;
  }

  async quantumProvenances(quantumIds: Iterable<string>): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    for (const chunk of slices([...new Set(quantumIds)])) {
      const rows = await this.conn.query<{ id: string; provenance: string }>({ name: 'qb_provenances', text: 'SELECT id, provenance FROM quanta WHERE id = ANY($1::text[])', values: [chunk] });
      for (const r of rows.rows) out.set(r.id, JSON.parse(r.provenance) as unknown);
    }
    return out;
  }

  /**
   * One recursive query finds the quanta reachable from the dataset (within depth + 1
   * hops when a depth is given, so the walk can tell it was cut) and their actual edges;
   * the breadth-first walk SQLite runs query by query then runs over those edges in memory.
   */
  async lineage(datasetId: DatasetId, direction: LineageDirection, depth?: number): Promise<Lineage> {
    const args = lineageArgs(datasetId, direction, depth);
    const [seed, step] =
      args.direction === 'up'
        ? [
            'SELECT quantum_id FROM quantum_outputs WHERE dataset_id = $1 AND actual',
            'FROM reach r JOIN quantum_inputs i ON i.quantum_id = r.q AND i.actual JOIN quantum_outputs n ON n.dataset_id = i.dataset_id AND n.actual',
          ]
        : [
            'SELECT quantum_id FROM quantum_inputs WHERE dataset_id = $1 AND actual',
            'FROM reach r JOIN quantum_outputs o ON o.quantum_id = r.q AND o.actual JOIN quantum_inputs n ON n.dataset_id = o.dataset_id AND n.actual',
          ];
    // Without a depth each quantum is reached once (UNION drops repeats), so a cycle ends the recursion.
    const reach =
      args.depth === undefined
        ? `WITH RECURSIVE reach(q) AS (${seed} UNION SELECT n.quantum_id ${step})`
        : `WITH RECURSIVE hops(q, hop) AS (${seed.replace('SELECT quantum_id', 'SELECT quantum_id, 1')} UNION SELECT n.quantum_id, r.hop + 1 ${step.replace('FROM reach r', 'FROM hops r')} WHERE r.hop <= $2),
             reach(q) AS (SELECT DISTINCT q FROM hops)`;
    const params = args.depth === undefined ? [args.root] : [args.root, args.depth];
    return this.conn.transaction(
      async (c) => {
        // A walk is a chain of index look-ups from a handful of rows: never let statistics (stale
        // after a bulk load, or blind to the recursion) pick a scan or merge of a whole edge table.
        await c.query('SET LOCAL enable_seqscan = off; SET LOCAL enable_mergejoin = off; SET LOCAL enable_hashjoin = off');
        const quanta = (await c.query<{ q: string }>(`${reach} SELECT q FROM reach`, params)).rows.map((r) => r.q);
        const edges = (
          await c.query<{ kind: 'i' | 'o'; q: string; d: string }>(
            `SELECT 'i' AS kind, quantum_id AS q, dataset_id::text AS d FROM quantum_inputs WHERE quantum_id = ANY($1::text[]) AND actual
             UNION ALL
             SELECT 'o', quantum_id, dataset_id::text FROM quantum_outputs WHERE quantum_id = ANY($1::text[]) AND actual`,
            [quanta],
          )
        ).rows;
        const walk = walkLineage(linksOf(edges), args.root, args.direction, args.depth);
        const ids = [...walk.datasets];
        const registered = (
          await c.query<{ id: string; dataset_type: string; run: string; data_id: string }>('SELECT id::text AS id, dataset_type, run, data_id FROM datasets WHERE id = ANY($1::uuid[])', [ids])
        ).rows;
        const known = new Set(registered.map((r) => r.id));
        const missing = ids.filter((id) => !known.has(id));
        const predicted =
          missing.length === 0
            ? []
            : (
                await c.query<{ dataset_id: string; dataset_type: string; run: string | null; data_id: string | null }>(
                  'SELECT dataset_id::text AS dataset_id, dataset_type, run, data_id FROM quantum_inputs WHERE dataset_id = ANY($1::uuid[]) AND dataset_type IS NOT NULL ORDER BY dataset_id, quantum_id',
                  [missing],
                )
              ).rows;
        const summaries = (await c.query<{ id: string; task_name: string | null; data_id: string | null }>('SELECT id, task_name, data_id FROM quanta WHERE id = ANY($1::text[]) ORDER BY id', [[...walk.quanta]])).rows;
        return shapeLineage(args.root, args.direction, args.depth, { ...walk, edges: walk.edges.values() }, { datasets: registered, predicted, quanta: summaries });
      },
      { isolation: 'REPEATABLE READ', readOnly: true },
    );
  }

  // ---------------------------------------------------------------- collect-and-transfer

  isTransient(err: unknown): boolean {
    const code = sqlState(err);
    return err instanceof ConcurrentChange || (code !== undefined && (TRANSIENT_SQLSTATE.has(code) || code === CONCURRENT_CHANGE));
  }

  /**
   * One transaction on a connection of its own: the reader's batches are staged and
   * applied there (PgBulkWriter) while its planning reads go through the pool (the
   * committed registry). A dry run applies everything the same way and rolls back.
   * Transient aborts come out as they are (collect-and-transfer runs again); others mapped.
   */
  async bulkLoad(opts: BulkLoadOptions, body: BulkBody): Promise<BulkOutcome> {
    this.conn.assertOpen();
    const planning = this.planning();
    const wantThread = opts.writer === 'thread' || (opts.writer === 'auto' && opts.items >= THREAD_MIN_ITEMS);
    const script = wantThread ? (opts.thread?.script ?? workerScript('postgres')) : null;
    try {
      if (script) return await this.threadLoad(script, opts, planning, body);
      let bodyDone = 0;
      const outcome = await this.conn.transaction(
        async (c) => {
          const channel: BatchChannel = { send: (b) => writer.send(b), rowsApplied: () => writer.rows, tick: () => {} };
          const writer = new PgBulkWriter(c, this.conn.driver, { maxConflicts: opts.maxConflicts, items: opts.items, universe: this.universe }, () => channel.tick());
          await writer.begin();
          const commit = await runAsync(body(planning, channel));
          const result = await writer.finish();
          bodyDone = performance.now();
          return { result, committed: commit && result.conflictCount === 0 && !opts.dryRun, writer: 'server' as const, commitSeconds: 0 };
        },
        { keep: (o) => o.committed, raw: true },
      );
      return { ...outcome, commitSeconds: Math.round(performance.now() - bodyDone) / 1000 };
    } catch (err) {
      if (this.isTransient(err)) throw err;
      throw mapPgError(err, this.conn.where);
    }
  }

  /**
   * A large load: the writer on a thread of its own with its own connection and
   * transaction (../bulk-writer-thread.ts), so that neither the reading side's turns nor
   * its heap slow the writer's round trips to the server.
   */
  private async threadLoad(script: URL, opts: BulkLoadOptions, planning: PlanningReads, body: BulkBody): Promise<BulkOutcome> {
    const data: PgWorkerData = {
      url: this.conn.opts.url,
      schema: this.schema,
      maxConflicts: opts.maxConflicts,
      items: opts.items,
      dryRun: opts.dryRun,
      dimensions: trimDimensionConfig(this.universe.config),
    };
    const thread = await BulkWriterThread.start(script, { ...data }, { waitMs: 0, ...(opts.thread?.stallMs !== undefined ? { stallMs: opts.thread.stallMs } : {}) });
    try {
      const channel: BatchChannel = { send: (b) => thread.send(b, () => channel.tick()), rowsApplied: () => thread.rowsApplied, tick: () => {} };
      const commit = await runAsync(body(planning, channel));
      const done = await thread.finish(commit, () => channel.tick());
      return { result: done.result, committed: done.committed, writer: 'server', commitSeconds: done.seconds.commit };
    } catch (err) {
      await thread.abort();
      throw err;
    }
  }

  private planning(): PlanningReads {
    return {
      hasRun: (name) => this.hasRun(name),
      datasetType: (name) => this.getDatasetType(name),
      datasetKeys: async (ids) => {
        const rows = (
          await this.conn.query<DatasetKeyRow & { id: string }>('SELECT id::text AS id, dataset_type, run, data_id_key FROM datasets WHERE id = ANY($1::uuid[])', [ids])
        ).rows;
        return new Map(rows.map((r) => [r.id, { dataset_type: r.dataset_type, run: r.run, data_id_key: r.data_id_key }]));
      },
    };
  }

  // ---------------------------------------------------------------- diagnostics

  async tableCounts(): Promise<TableCounts> {
    const sql = REGISTRY_TABLES.map((t) => `SELECT '${t}' AS t, count(*)::int AS n FROM ${t}`).join(' UNION ALL ');
    const out = {} as TableCounts;
    for (const r of (await this.conn.query<{ t: RegistryTable; n: number }>(sql)).rows) out[r.t] = r.n;
    return out;
  }

  async dump(): Promise<Record<string, unknown[]>> {
    return this.conn.transaction(
      async (c) => {
        const out: Record<string, unknown[]> = {};
        for (const t of REGISTRY_TABLES) out[t] = (await c.query(`SELECT * FROM ${t} ORDER BY ${TABLE_KEYS[t].join(', ')}`)).rows;
        return out;
      },
      { isolation: 'REPEATABLE READ', readOnly: true },
    );
  }

  /** @internal A connection of the registry's pool with a transaction around `fn` (migration). */
  withTransaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.conn.transaction(fn);
  }
}

/** Links by dataset and by quantum, over the fetched edges. */
function linksOf(edges: ReadonlyArray<{ kind: 'i' | 'o'; q: string; d: string }>): LineageLinks {
  const index = (kind: 'i' | 'o', by: 'q' | 'd'): Map<string, LineageLink[]> => {
    const m = new Map<string, LineageLink[]>();
    for (const e of edges) {
      if (e.kind !== kind) continue;
      const k = e[by];
      const l = m.get(k);
      if (l) l.push({ q: e.q, d: e.d });
      else m.set(k, [{ q: e.q, d: e.d }]);
    }
    return m;
  };
  const outByD = index('o', 'd');
  const inByD = index('i', 'd');
  const inByQ = index('i', 'q');
  const outByQ = index('o', 'q');
  const gather = (m: Map<string, LineageLink[]>, keys: readonly string[]): LineageLink[] => keys.flatMap((k) => m.get(k) ?? []);
  return {
    producers: (ids) => gather(outByD, ids),
    consumers: (ids) => gather(inByD, ids),
    actualInputsOf: (ids) => gather(inByQ, ids),
    actualOutputsOf: (ids) => gather(outByQ, ids),
  };
}
