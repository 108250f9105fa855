/**
 * The PostgreSQL registry's bulk writer: applies collect-and-transfer's batches
 * (../bulk-batches.ts) a stage at a time (a few thousand quanta, or datasets with their
 * records) with COPY and set-based statements instead of a round trip per row.
 *
 * Each stage takes one of two paths:
 * - new rows only (checked with one look-up of the stage's keys, the common case of a
 *   first import): COPY straight into the registry's tables, inside a savepoint. Should
 *   another collector insert one of those keys meanwhile, the COPY fails on the unique
 *   constraint, the savepoint is rolled back and the stage takes the other path;
 * - anything else: COPY into temporary staging tables (dropped with the transaction), then
 *   INSERT ... SELECT ... ON CONFLICT DO NOTHING (the keys it inserted kept), then one
 *   query for the staged rows that were not inserted and differ from what is stored: the
 *   conflicts. Rows not inserted that do not differ are already present.
 *
 * The rules are those of SQLite's row-by-row writer, applied to sets: within a stage the
 * first row of a key (in the order sent) is the one inserted (DISTINCT ON ... ORDER BY key,
 * ord), later ones compare with it; stages run in the order sent, so conflicts come out in
 * that order. Node builds the next stage while the server applies the previous one (at
 * most MAX_PENDING stages queued: `send` returns a promise to wait for).
 *
 * Concurrency: another collector inserting the same keys makes an insert (or the COPY)
 * wait for its commit, then find the row there (read committed): each row ends up once,
 * one collector reporting it inserted and the other already present. A dataset type
 * registered differently meanwhile aborts the attempt (ConcurrentChange), which
 * collect-and-transfer runs again from the start.
 *
 * Shared rows cannot deadlock collectors, by construction: the runs and dataset types the
 * reader sends (`ensure`, as it meets them, between quanta batches) are held back and
 * inserted when the writer finishes, one statement each in name order, after every other
 * row. So every transaction takes its locks in one order: quanta (by id, with their edges,
 * which no one else inserts), then datasets (by id, each stage with its records), then runs
 * and types (by name). Inserted batch by batch, a collector that met t1 in one batch and
 * t2 in a later one held t1 while it waited for t2, held by one that met them the other way
 * round. Last also means that collectors registering the same new types (all of them, on a
 * fresh registry) wait only from the first one's finish to its commit, not for its whole
 * transaction. What can still cross are keys of two kinds: one data ID sent with different
 * dataset ids by two collectors (a conflict), or new records two collectors both add to
 * datasets committed before either began, in stages cut at different ids; the database then
 * aborts one and collect-and-transfer runs it again.
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { datasetTypeEquals, makeDatasetType, type DatasetType } from '../../model/dataset-type.js';
import type { DimensionUniverse } from '../../model/dimensions/dimension-universe.js';
import {
  DATASET_STRIDE,
  INPUT_STRIDE,
  OUTPUT_STRIDE,
  QUANTUM_STRIDE,
  RECORD_STRIDE,
  roundTimings,
  sortGroups,
  type DatasetsBatch,
  type EnsureBatch,
  type QuantaBatch,
  type WriterBatch,
  type WriterResult,
} from '../bulk-batches.js';
import { ConflictList, type CollectConflict } from '../collect-report.js';
import { columnsOfDbRow, recordConflict, type RecordColumns, type RecordDbRow } from '../record-columns.js';
import { describeDatasetConflict, datasetTypeOfRow, dimensionsJson, quantumDifferences, type DatasetTypeRow, type QuantumRow } from '../registry-rows.js';
import { CopyText, copyInto } from './copy.js';
import { D_COLS, I_COLS, O_COLS, Q_COLS, R_COLS, SD_COLS, SQL, SR_COLS, STAGING } from './bulk-sql.js';
import type { Driver } from './driver.js';
import { sqlState } from './connection.js';

/** The code a ConcurrentChange carries (also across a writer thread). */
export const CONCURRENT_CHANGE = 'QB_CONCURRENT_CHANGE';

/** Another writer changed what this one planned on (a dataset type registered differently meanwhile): try again. */
export class ConcurrentChange extends Error {
  override readonly name = 'ConcurrentChange';
  readonly code = CONCURRENT_CHANGE;
}

/**
 * Quanta per stage (datasets: four times as many): large enough that a stage's few round
 * trips cost little next to its rows, small enough (about 1/64 of the batch) that each
 * applied stage is a step of progress.
 */
const MAX_QUANTA_PER_STAGE = 4096;
const MIN_QUANTA_PER_STAGE = 16;
const STAGES_PER_BATCH = 64;
/** Stages queued (one applying, the rest waiting) before `send` makes the reader wait. */
const MAX_PENDING = 2;

export function quantaPerStage(items: number): number {
  return Math.min(MAX_QUANTA_PER_STAGE, Math.max(MIN_QUANTA_PER_STAGE, Math.ceil(items / STAGES_PER_BATCH)));
}

/** A stage of quanta: their rows and edges, as COPY text (the same for either path). */
interface QuantaStage {
  q: CopyText;
  i: CopyText;
  o: CopyText;
  ids: string[];
  rows: number;
}

/** A stage of datasets: the batches' values (a path's COPY text is made when the stage is applied). */
interface DatasetsStage {
  /** DATASET_STRIDE values per dataset, as in DatasetsBatch. */
  d: Array<string | number>;
  /** RECORD_STRIDE values per record. */
  r: Array<string | number | null>;
  rows: number;
}

export class PgBulkWriter {
  /** Rows applied so far (quanta, edges, datasets, records): the reader's progress measure. */
  rows = 0;
  private readonly conflicts: ConflictList;
  private readonly result: Omit<WriterResult, 'conflicts' | 'conflictCount' | 'timings'> = {
    quanta: { stored: 0, alreadyPresent: 0 },
    datasets: { inserted: 0, alreadyPresent: 0, byGroup: [] },
    records: { inserted: 0, alreadyPresent: 0 },
  };
  private readonly groups = new Map<string, { datasetType: string; run: string; count: number }>();
  private readonly timings: Record<string, number> = { ensure: 0, quanta: 0, datasets: 0, producers: 0 };
  private chain: Promise<void> = Promise.resolve();
  /** Completion of each queued stage, oldest first. */
  private readonly queued: Array<Promise<void>> = [];
  private failure: { err: unknown } | undefined;
  private quanta = newQuantaStage();
  private datasets = newDatasetsStage();
  /** Runs and dataset types sent so far, inserted when the writer finishes (see ensure). */
  private readonly shared: EnsureBatch = { kind: 'ensure', runs: [], datasetTypes: [] };
  /** Order of staged datasets over the whole load (producers are checked in this order). */
  private datasetOrd = 0;
  private readonly quantaPerStage: number;
  private readonly datasetsPerStage: number;
  /** The universe dataset types are conformed in (the registry's). */
  private readonly universe: DimensionUniverse;

  constructor(
    private readonly c: pg.ClientBase,
    private readonly driver: Driver,
    opts: { maxConflicts: number; items: number; universe: DimensionUniverse },
    /** Called after each stage is applied (progress). */
    private readonly onApplied: () => void = () => {},
  ) {
    this.conflicts = new ConflictList(opts.maxConflicts);
    this.universe = opts.universe;
    this.quantaPerStage = quantaPerStage(opts.items);
    this.datasetsPerStage = 4 * this.quantaPerStage;
  }

  /** Create the staging tables (in the transaction the caller began). */
  async begin(): Promise<void> {
    // The registry's tables grow within this transaction past what their statistics say; a
    // plan that scanned or hashed a whole one for a stage of a few thousand rows would make
    // the load quadratic. So: index look-ups into them only (see STAGING).
    await this.c.query(`SET LOCAL work_mem = '64MB'; SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off`);
    await this.c.query(STAGING.join(';\n'));
  }

  /** Take a batch; wait for what it returns (if anything) before sending more. */
  send(batch: WriterBatch): void | Promise<void> {
    if (this.failure) throw this.failure.err;
    if (batch.kind === 'ensure') {
      // A loop, not push(...): a batch may hold more new runs than a call takes arguments.
      for (const r of batch.runs) this.shared.runs.push(r);
      for (const t of batch.datasetTypes) this.shared.datasetTypes.push(t);
    } else if (batch.kind === 'quanta') {
      this.stageQuanta(batch);
    } else {
      // Every quantum is sent before the first dataset: apply what is staged of them first.
      if (this.quanta.ids.length > 0) this.flushQuanta();
      this.stageDatasets(batch);
    }
    if (this.queued.length > MAX_PENDING) return this.drain(MAX_PENDING);
  }

  /** Apply what is staged, check the producers of datasets that were already there, and return the outcome. */
  async finish(): Promise<WriterResult> {
    if (this.quanta.ids.length > 0) this.flushQuanta();
    if (this.datasets.d.length > 0) this.flushDatasets();
    if (this.shared.runs.length > 0 || this.shared.datasetTypes.length > 0) this.enqueue('ensure', () => this.ensure(this.shared));
    await this.drain(0);
    const t0 = performance.now();
    const rows = (await this.c.query<{ ord: number; id: string; quantum_id: string; other: string }>(SQL.producers)).rows;
    for (const r of rows) {
      this.conflicts.add({
        datasetId: r.id,
        quantumId: r.quantum_id,
        reason: 'multipleProducers',
        details: { message: `Dataset ${r.id} is already an actual output of quantum ${r.other}.`, otherQuantumId: r.other },
      });
    }
    this.timings['producers']! += (performance.now() - t0) / 1000;
    return {
      ...this.result,
      datasets: { ...this.result.datasets, byGroup: sortGroups(this.groups.values()) },
      conflicts: this.conflicts.listed,
      conflictCount: this.conflicts.count,
      timings: roundTimings(this.timings),
    };
  }

  // ---------------------------------------------------------------- the queue of stages

  /** Queue a stage after the others; the first failure stops the rest and is thrown to the reader. */
  private enqueue(kind: 'ensure' | 'quanta' | 'datasets', op: () => Promise<void>): void {
    const done = this.chain.then(async () => {
      if (this.failure) return;
      const t0 = performance.now();
      try {
        await op();
      } catch (err) {
        this.failure = { err };
      } finally {
        this.timings[kind]! += (performance.now() - t0) / 1000;
        this.onApplied();
      }
    });
    this.chain = done;
    this.queued.push(done);
    void done.then(() => this.queued.splice(this.queued.indexOf(done), 1));
  }

  /** Wait until at most `n` stages are queued; rethrow a stage's failure. */
  private async drain(n: number): Promise<void> {
    while (this.queued.length > n && !this.failure) await this.queued[0];
    if (this.failure) throw this.failure.err;
  }

  /**
   * `fast()` inside a savepoint; when it meets a key another transaction inserted
   * meanwhile (unique violation), undo it and run `slow()` instead.
   */
  private async fastOrSlow(fast: () => Promise<void>, slow: () => Promise<void>): Promise<void> {
    await this.c.query('SAVEPOINT qb_fast');
    try {
      await fast();
    } catch (err) {
      if (sqlState(err) !== '23505') throw err;
      await this.c.query('ROLLBACK TO SAVEPOINT qb_fast');
      await slow();
      return;
    }
    await this.c.query('RELEASE SAVEPOINT qb_fast');
  }

  // ---------------------------------------------------------------- ensure

  /**
   * The rows other collectors may insert too, last and in key order (see the module notes):
   * in the orders the documents list them (by dataset id, which differs per run), or batch
   * by batch, two collectors each held one the other then waited for, and PostgreSQL aborted
   * one as a deadlock. In one order the second simply waits for the first's commit.
   */
  private async ensure(b: EnsureBatch): Promise<void> {
    if (b.runs.length > 0) await this.c.query(SQL.ensureRuns, [b.runs]);
    if (b.datasetTypes.length === 0) return;
    const types = b.datasetTypes.map((s) => makeDatasetType({ ...s, universe: this.universe }));
    await this.c.query(SQL.ensureDatasetTypes, [
      types.map((t) => t.name),
      types.map((t) => t.storageClass),
      types.map((t) => dimensionsJson(t)),
      types.map((t) => t.parentStorageClass ?? null),
      types.map((t) => t.isCalibration),
    ]);
    const stored = (await this.c.query<DatasetTypeRow>('SELECT * FROM dataset_types WHERE name = ANY($1::text[])', [types.map((t) => t.name)])).rows;
    const byName = new Map<string, DatasetType>(stored.map((r) => [r.name, datasetTypeOfRow(r, this.universe)]));
    for (const dt of types) {
      const existing = byName.get(dt.name);
      // Planned as new against the committed registry; another collector registered it otherwise meanwhile.
      if (!existing || !datasetTypeEquals(existing, dt)) throw new ConcurrentChange(`Dataset type '${dt.name}' was registered differently while the batch was being written.`);
    }
  }

  // ---------------------------------------------------------------- quanta

  private stageQuanta(b: QuantaBatch): void {
    let st = this.quanta;
    const q = b.quanta;
    let i = 0;
    let o = 0;
    for (let k = 0; k < q.length; k += QUANTUM_STRIDE) {
      const id = q[k] as string;
      st.q.row(id, q[k + 1] as string | null, q[k + 2] as string | null, q[k + 3] as string | null, q[k + 4] as string | null, q[k + 5] as string | null, q[k + 6] as string, q[k + 7] as string);
      const nIn = q[k + 8] as number;
      const nOut = q[k + 9] as number;
      for (let e = i, end = i + nIn * INPUT_STRIDE; e < end; e += INPUT_STRIDE) {
        const flags = b.inputs[e + 4] as number;
        st.i.row(id, b.inputs[e] as string, b.inputs[e + 1] as string, b.inputs[e + 2] as string, b.inputs[e + 3] as string, (flags & 1) !== 0, true, (flags & 2) !== 0, (flags & 4) !== 0);
      }
      for (let e = o, end = o + nOut * OUTPUT_STRIDE; e < end; e += OUTPUT_STRIDE) st.o.row(id, b.outputs[e] as string, true, b.outputs[e + 1] === 1);
      i += nIn * INPUT_STRIDE;
      o += nOut * OUTPUT_STRIDE;
      st.ids.push(id);
      st.rows += 1 + nIn + nOut;
      if (st.ids.length >= this.quantaPerStage) {
        this.flushQuanta();
        st = this.quanta;
      }
    }
  }

  private flushQuanta(): void {
    const st = this.quanta;
    this.quanta = newQuantaStage();
    const text = { q: st.q.take(), i: st.i.take(), o: st.o.take() };
    const n = st.ids.length;
    this.enqueue('quanta', async () => {
      const fresh = new Set(st.ids).size === n && (await this.c.query(SQL.anyQuantum, [st.ids])).rowCount === 0;
      const fast = async (): Promise<void> => {
        await copyInto(this.driver, this.c, 'quanta', Q_COLS, text.q);
        await copyInto(this.driver, this.c, 'quantum_inputs', I_COLS, text.i);
        await copyInto(this.driver, this.c, 'quantum_outputs', O_COLS, text.o);
        this.result.quanta.stored += n;
      };
      if (fresh) await this.fastOrSlow(fast, () => this.quantaSlow(text, n));
      else await this.quantaSlow(text, n);
      this.rows += st.rows;
    });
  }

  private async quantaSlow(text: { q: string[]; i: string[]; o: string[] }, n: number): Promise<void> {
    const c = this.c;
    await copyInto(this.driver, c, 'qb_sq', Q_COLS, text.q);
    await copyInto(this.driver, c, 'qb_si', I_COLS, text.i);
    await copyInto(this.driver, c, 'qb_so', O_COLS, text.o);
    const inserted = (await c.query(SQL.insertQuanta)).rowCount ?? 0;
    if (inserted > 0) {
      await c.query(SQL.newInputs);
      await c.query(SQL.newOutputs);
    }
    let conflicts = 0;
    if (inserted < n) {
      type Row = QuantumRow & { ord: number; e_task_name: string | null; e_data_id: string | null; e_format: QuantumRow['format']; e_provenance: string };
      for (const r of (await c.query<Row>(SQL.quantaDiffering)).rows) {
        const existing = { ...r, task_name: r.e_task_name, data_id: r.e_data_id, format: r.e_format, provenance: r.e_provenance };
        const fields = quantumDifferences(existing, r);
        if (fields.length === 0) continue; // the same document, serialised otherwise
        conflicts++;
        this.conflicts.add({ quantumId: r.id, reason: 'quantumConflict', details: { message: `Quantum ${r.id} is already stored with different content.`, fields } });
      }
    }
    await c.query('TRUNCATE qb_sq, qb_si, qb_so, qb_qnew');
    this.result.quanta.stored += inserted;
    this.result.quanta.alreadyPresent += n - inserted - conflicts;
  }

  // ---------------------------------------------------------------- datasets and records

  private stageDatasets(b: DatasetsBatch): void {
    let st = this.datasets;
    const d = b.datasets;
    const recs = b.records;
    let r = 0;
    for (let k = 0; k < d.length; k += DATASET_STRIDE) {
      const nRec = d[k + 6] as number;
      for (let j = 0; j < DATASET_STRIDE; j++) st.d.push(d[k + j]!);
      for (let j = 0, end = nRec * RECORD_STRIDE; j < end; j++) st.r.push(recs[r + j]!);
      r += nRec * RECORD_STRIDE;
      st.rows += 1 + nRec;
      if (st.d.length >= this.datasetsPerStage * DATASET_STRIDE) {
        this.flushDatasets();
        st = this.datasets;
      }
    }
  }

  private flushDatasets(): void {
    const st = this.datasets;
    this.datasets = newDatasetsStage();
    const base = this.datasetOrd;
    this.datasetOrd += st.d.length / DATASET_STRIDE;
    this.enqueue('datasets', async () => {
      const d = st.d;
      const n = d.length / DATASET_STRIDE;
      const ids: string[] = [];
      const keySet = new Set<string>();
      for (let k = 0; k < d.length; k += DATASET_STRIDE) {
        ids.push(d[k] as string);
        keySet.add(`${d[k + 2] as string}\0${d[k + 3] as string}\0${d[k + 4] as string}`);
      }
      const fresh = new Set(ids).size === n && keySet.size === n && uniqueRecordKeys(st) && (await this.c.query(SQL.anyDataset, [ids])).rowCount === 0;
      const fast = async (): Promise<void> => {
        const dt = new CopyText();
        const rt = new CopyText();
        let r = 0;
        for (let k = 0; k < d.length; k += DATASET_STRIDE) {
          dt.row(d[k] as string, d[k + 2] as string, d[k + 3] as string, d[k + 4] as string, d[k + 5] as string);
          for (let j = 0, nRec = d[k + 6] as number; j < nRec; j++, r += RECORD_STRIDE) rt.row(d[k] as string, ...recordFields(st.r, r));
        }
        await copyInto(this.driver, this.c, 'datasets', D_COLS, dt.take());
        await copyInto(this.driver, this.c, 'datastore_records', R_COLS, rt.take());
        this.result.datasets.inserted += n;
        this.result.records.inserted += st.r.length / RECORD_STRIDE;
        for (let k = 0; k < d.length; k += DATASET_STRIDE) this.countGroup(d[k + 2] as string, d[k + 3] as string);
      };
      if (fresh) await this.fastOrSlow(fast, () => this.datasetsSlow(st, base));
      else await this.datasetsSlow(st, base);
      this.rows += st.rows;
    });
  }

  private async datasetsSlow(st: DatasetsStage, base: number): Promise<void> {
    const c = this.c;
    const d = st.d;
    const n = d.length / DATASET_STRIDE;
    const sd = new CopyText();
    const sr = new CopyText();
    let r = 0;
    for (let k = 0, ord = base; k < d.length; k += DATASET_STRIDE, ord++) {
      sd.row(ord, d[k + 1] as string, d[k] as string, d[k + 2] as string, d[k + 3] as string, d[k + 4] as string, d[k + 5] as string);
      for (let j = 0, nRec = d[k + 6] as number; j < nRec; j++, r += RECORD_STRIDE) sr.row(ord, j, d[k + 1] as string, d[k] as string, ...recordFields(st.r, r));
    }
    await copyInto(this.driver, c, 'qb_sd', SD_COLS, sd.take());
    await copyInto(this.driver, c, 'qb_sr', SR_COLS, sr.take());
    const inserted = (await c.query(SQL.insertDatasets)).rowCount ?? 0;
    const present = inserted < n ? ((await c.query(SQL.presentDatasets)).rowCount ?? 0) : 0;
    const found: Array<{ ord: number; rord: number; conflict: CollectConflict }> = [];
    const conflicting = new Set<number>();
    if (inserted + present < n) {
      type Row = { ord: number; id: string; quantum_id: string; dataset_type: string; run: string; data_id_key: string; e_type: string | null; e_run: string; e_key: string; other_id: string | null };
      for (const row of (await c.query<Row>(SQL.datasetConflicts)).rows) {
        conflicting.add(row.ord);
        const existing = row.e_type === null ? undefined : { dataset_type: row.e_type, run: row.e_run, data_id_key: row.e_key };
        found.push({
          ord: row.ord,
          rord: -1,
          conflict: { datasetId: row.id, quantumId: row.quantum_id, ...describeDatasetConflict(existing, () => row.other_id ?? undefined, row.id, row.dataset_type, row.run, row.data_id_key) },
        });
      }
      if (conflicting.size > 0) await c.query('UPDATE qb_sr SET conflict = true WHERE ord = ANY($1::int[])', [[...conflicting]]);
    }
    let records = 0;
    for (let k = 0, ord = base; k < d.length; k += DATASET_STRIDE, ord++) {
      if (conflicting.has(ord)) continue;
      records += d[k + 6] as number;
      this.countGroup(d[k + 2] as string, d[k + 3] as string);
    }
    const recordsInserted = records > 0 ? ((await c.query(SQL.insertRecords)).rowCount ?? 0) : 0;
    let recordConflicts = 0;
    if (recordsInserted < records) {
      type Row = RecordDbRow & { ord: number; rord: number; quantum_id: string; e_table_name: string; e_path: string; e_formatter: string; e_storage_class: string; e_checksum: string | null; e_file_size: number; e_extra: string | null };
      // SQL finds the rows that are not identical; the one record comparison decides which differ.
      for (const row of (await c.query<Row>(SQL.recordConflicts)).rows) {
        const existing: RecordColumns = {
          tableName: row.e_table_name,
          path: row.e_path,
          formatter: row.e_formatter,
          storageClass: row.e_storage_class,
          component: row.component,
          checksum: row.e_checksum,
          fileSize: Number(row.e_file_size),
          extra: row.e_extra,
        };
        const details = recordConflict(row.dataset_id, row.datastore_name, existing, columnsOfDbRow(row));
        if (details.fields.length === 0) continue;
        recordConflicts++;
        found.push({ ord: row.ord, rord: row.rord, conflict: { datasetId: row.dataset_id, quantumId: row.quantum_id, reason: 'recordConflict', details } });
      }
    }
    await c.query('TRUNCATE qb_sd, qb_sr, qb_dnew, qb_rnew');
    // In the order sent: each dataset's own conflict, or its records' conflicts.
    found.sort((a, b) => a.ord - b.ord || a.rord - b.rord);
    for (const f of found) this.conflicts.add(f.conflict);
    this.result.datasets.inserted += inserted;
    this.result.datasets.alreadyPresent += present;
    this.result.records.inserted += recordsInserted;
    this.result.records.alreadyPresent += records - recordsInserted - recordConflicts;
  }

  private countGroup(datasetType: string, run: string): void {
    const gk = `${datasetType}\0${run}`;
    const g = this.groups.get(gk);
    if (g) g.count++;
    else this.groups.set(gk, { datasetType, run, count: 1 });
  }
}

/** A record's columns after its dataset id (RecordColumns order, the datastore name first). */
function recordFields(r: ReadonlyArray<string | number | null>, at: number): Array<string | number | null> {
  return [r[at]!, r[at + 1]!, r[at + 2]!, r[at + 3]!, r[at + 4]!, r[at + 5]!, r[at + 6]!, r[at + 7]!, r[at + 8]!];
}

/** No two records of the stage share a key (dataset, datastore, component). */
function uniqueRecordKeys(st: DatasetsStage): boolean {
  const seen = new Set<string>();
  let r = 0;
  for (let k = 0; k < st.d.length; k += DATASET_STRIDE) {
    for (let j = 0, nRec = st.d[k + 6] as number; j < nRec; j++, r += RECORD_STRIDE) {
      const key = `${st.d[k] as string}\0${st.r[r] as string}\0${st.r[r + 5] as string}`;
      if (seen.has(key)) return false;
      seen.add(key);
    }
  }
  return true;
}

function newQuantaStage(): QuantaStage {
  return { q: new CopyText(), i: new CopyText(), o: new CopyText(), ids: [], rows: 0 };
}

function newDatasetsStage(): DatasetsStage {
  return { d: [], r: [], rows: 0 };
}
