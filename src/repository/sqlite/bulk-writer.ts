/**
 * The SQLite registry's bulk writer: applies collect-and-transfer's batches
 * (../bulk-batches.ts) row by row to a sink (a quantum's input and output edges each in one
 * multi-row statement: they need no outcome) and keeps the outcome (counts, conflicts,
 * groups). It sees only strings and numbers in flat arrays, so the same code runs in the
 * caller's thread or on a writer thread (bulk-writer-thread.ts) behind a message port.
 * Inserts use `INSERT ... ON CONFLICT DO NOTHING` and change counts: the lookup that
 * explains a no-op only runs when a row was already there.
 */
import { performance } from 'node:perf_hooks';
import { makeDatasetType, datasetTypeEquals, type DatasetType } from '../../model/dataset-type.js';
import type { DimensionUniverse } from '../../model/dimensions/dimension-universe.js';
import { ConflictList } from '../collect-report.js';
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
import { describeDatasetConflict, INSERTED, quantumDifferences, type DatasetKeyRow, type QuantumRow, type RowOutcome } from '../registry-rows.js';
import { recordConflict, recordDifferences, type RecordColumns } from '../record-columns.js';
import type { DatasetTables } from './datasets.js';
import type { QuantumTables } from './quanta.js';
import type { RecordTables } from './records.js';

/** The registry's tables as one connection sees them. */
export interface Tables {
  datasets: DatasetTables;
  records: RecordTables;
  quanta: QuantumTables;
}

// ------------------------------------------------------------------ sinks: where rows go

/** The row operations collect-and-transfer needs; one implementation writes, one only looks. */
export interface Sink {
  /** The universe dataset types are conformed in (the registry's). */
  readonly universe: DimensionUniverse;
  ensureRun(name: string): void;
  ensureDatasetType(dt: DatasetType): [RowOutcome, DatasetType | undefined];
  datasetType(name: string): DatasetType | undefined;
  insertDataset(id: string, datasetType: string, run: string, key: string, dataIdJson: string): RowOutcome;
  datasetKey(id: string): DatasetKeyRow | undefined;
  datasetIdByKey(datasetType: string, run: string, key: string): string | undefined;
  otherProducer(datasetId: string, quantumId: string): string | undefined;
  insertQuantum(row: QuantumRow): [RowOutcome, QuantumRow | undefined];
  /** The `n` input edges of a quantum from `from` in a quanta batch's `inputs` (INPUT_STRIDE values each). */
  insertInputEdges(quantumId: string, inputs: ReadonlyArray<string | number>, from: number, n: number): void;
  /** The `n` output edges of a quantum from `from` in a quanta batch's `outputs` (OUTPUT_STRIDE values each). */
  insertOutputEdges(quantumId: string, outputs: ReadonlyArray<string | number>, from: number, n: number): void;
  insertRecord(datasetId: string, datastoreName: string, cols: RecordColumns): [RowOutcome, RecordColumns | undefined];
}

export class WriteSink implements Sink {
  constructor(private readonly t: Tables) {}
  get universe(): DimensionUniverse {
    return this.t.datasets.universe;
  }
  ensureRun(name: string): void {
    this.t.datasets.ensureRun(name);
  }
  ensureDatasetType(dt: DatasetType): [RowOutcome, DatasetType | undefined] {
    return this.t.datasets.ensureDatasetType(dt);
  }
  datasetType(name: string): DatasetType | undefined {
    return this.t.datasets.datasetType(name);
  }
  insertDataset(id: string, datasetType: string, run: string, key: string, dataIdJson: string): RowOutcome {
    return this.t.datasets.insertDataset(id, datasetType, run, key, dataIdJson);
  }
  datasetKey(id: string): DatasetKeyRow | undefined {
    return this.t.datasets.datasetKey(id);
  }
  datasetIdByKey(datasetType: string, run: string, key: string): string | undefined {
    return this.t.datasets.datasetIdByKey(datasetType, run, key);
  }
  otherProducer(datasetId: string, quantumId: string): string | undefined {
    return this.t.quanta.otherProducer(datasetId, quantumId);
  }
  insertQuantum(row: QuantumRow): [RowOutcome, QuantumRow | undefined] {
    return this.t.quanta.insert(row);
  }
  insertInputEdges(q: string, inputs: ReadonlyArray<string | number>, from: number, n: number): void {
    this.t.quanta.insertInputs(q, inputs, from, n);
  }
  insertOutputEdges(q: string, outputs: ReadonlyArray<string | number>, from: number, n: number): void {
    this.t.quanta.insertOutputs(q, outputs, from, n);
  }
  insertRecord(datasetId: string, datastoreName: string, cols: RecordColumns): [RowOutcome, RecordColumns | undefined] {
    return this.t.records.insert(datasetId, datastoreName, cols);
  }
}

/** Looks rows up in the registry and keeps what the batch would add in memory: the dry run's sink. */
export class DrySink implements Sink {
  private readonly types = new Map<string, DatasetType>();
  private readonly datasets = new Map<string, DatasetKeyRow>();
  private readonly keys = new Map<string, string>();
  private readonly producers = new Map<string, string>();
  private readonly quanta = new Map<string, QuantumRow>();
  private readonly records = new Map<string, RecordColumns>();
  constructor(private readonly t: Tables) {}
  get universe(): DimensionUniverse {
    return this.t.datasets.universe;
  }
  ensureRun(): void {}
  ensureDatasetType(dt: DatasetType): [RowOutcome, DatasetType | undefined] {
    const existing = this.datasetType(dt.name);
    if (existing) return datasetTypeEquals(existing, dt) ? ['present', existing] : ['conflict', existing];
    this.types.set(dt.name, dt);
    return INSERTED;
  }
  datasetType(name: string): DatasetType | undefined {
    return this.types.get(name) ?? this.t.datasets.datasetType(name);
  }
  insertDataset(id: string, datasetType: string, run: string, key: string): RowOutcome {
    const row = this.datasetKey(id);
    if (row) return row.dataset_type === datasetType && row.run === run && row.data_id_key === key ? 'present' : 'conflict';
    if (this.datasetIdByKey(datasetType, run, key) !== undefined) return 'conflict';
    this.datasets.set(id, { dataset_type: datasetType, run, data_id_key: key });
    this.keys.set(`${datasetType}\0${run}\0${key}`, id);
    return 'inserted';
  }
  datasetKey(id: string): DatasetKeyRow | undefined {
    return this.datasets.get(id) ?? this.t.datasets.datasetKey(id);
  }
  datasetIdByKey(datasetType: string, run: string, key: string): string | undefined {
    return this.keys.get(`${datasetType}\0${run}\0${key}`) ?? this.t.datasets.datasetIdByKey(datasetType, run, key);
  }
  otherProducer(datasetId: string, quantumId: string): string | undefined {
    const mine = this.producers.get(datasetId);
    if (mine !== undefined && mine !== quantumId) return mine;
    return this.t.quanta.otherProducer(datasetId, quantumId);
  }
  insertQuantum(row: QuantumRow): [RowOutcome, QuantumRow | undefined] {
    const existing = this.quanta.get(row.id) ?? this.t.quanta.row(row.id);
    if (existing) return [quantumDifferences(existing, row).length === 0 ? 'present' : 'conflict', existing];
    this.quanta.set(row.id, row);
    return INSERTED;
  }
  insertInputEdges(): void {}
  insertOutputEdges(q: string, outputs: ReadonlyArray<string | number>, from: number, n: number): void {
    for (let e = from, end = from + n * OUTPUT_STRIDE; e < end; e += OUTPUT_STRIDE) {
      const d = outputs[e] as string;
      if (outputs[e + 1] === 1 && !this.producers.has(d)) this.producers.set(d, q);
    }
  }
  insertRecord(datasetId: string, datastoreName: string, cols: RecordColumns): [RowOutcome, RecordColumns | undefined] {
    const k = `${datasetId}\0${datastoreName}\0${cols.component}`;
    const existing = this.records.get(k) ?? this.t.records.columns(datasetId, datastoreName, cols.component);
    if (existing) return [recordDifferences(existing, cols).length === 0 ? 'present' : 'conflict', existing];
    this.records.set(k, cols);
    return INSERTED;
  }
}

// ------------------------------------------------------------------ the writer

export class BulkWriter {
  /** Rows applied so far (quanta, edges, datasets, records): the caller's progress measure. */
  rows = 0;
  private readonly conflicts: ConflictList;
  private readonly result: Omit<WriterResult, 'conflicts' | 'conflictCount' | 'timings'> = {
    quanta: { stored: 0, alreadyPresent: 0 },
    datasets: { inserted: 0, alreadyPresent: 0, byGroup: [] },
    records: { inserted: 0, alreadyPresent: 0 },
  };
  private readonly groups = new Map<string, { datasetType: string; run: string; count: number }>();
  /** Datasets that were already there: each may be claimed by only one producer. */
  private readonly present: Array<{ id: string; quantumId: string }> = [];
  /** Seconds spent applying each kind of batch (every key present, so reports have one shape). */
  private readonly timings: Record<string, number> = { ensure: 0, quanta: 0, datasets: 0, producers: 0 };

  /** `onRows` is called after each quantum and each dataset (inline progress). */
  constructor(
    private readonly sink: Sink,
    maxConflicts: number,
    private readonly onRows: () => void = () => {},
  ) {
    this.conflicts = new ConflictList(maxConflicts);
  }

  apply(batch: WriterBatch): void {
    const t0 = performance.now();
    if (batch.kind === 'ensure') this.ensure(batch);
    else if (batch.kind === 'quanta') this.quanta(batch);
    else this.datasets(batch);
    this.timings[batch.kind]! += (performance.now() - t0) / 1000;
  }

  private ensure(b: EnsureBatch): void {
    for (const run of b.runs) this.sink.ensureRun(run);
    for (const s of b.datasetTypes) {
      const dt = makeDatasetType({ ...s, universe: this.sink.universe });
      const [outcome] = this.sink.ensureDatasetType(dt);
      // The caller resolved these against the same snapshot; a difference means another writer got in.
      if (outcome === 'conflict') throw new Error(`Dataset type '${dt.name}' changed while the batch was being written.`);
    }
  }

  private quanta(b: QuantaBatch): void {
    const q = b.quanta;
    const ins = b.inputs;
    const outs = b.outputs;
    let i = 0;
    let o = 0;
    for (let k = 0; k < q.length; k += QUANTUM_STRIDE) {
      const row: QuantumRow = {
        id: q[k] as string,
        task_name: q[k + 1] as string | null,
        data_id: q[k + 2] as string | null,
        host: q[k + 3] as string | null,
        started_at: q[k + 4] as string | null,
        ended_at: q[k + 5] as string | null,
        format: q[k + 6] as QuantumRow['format'],
        provenance: q[k + 7] as string,
      };
      const nIn = q[k + 8] as number;
      const nOut = q[k + 9] as number;
      const [outcome, existing] = this.sink.insertQuantum(row);
      if (outcome === 'inserted') {
        this.result.quanta.stored++;
        if (nIn > 0) this.sink.insertInputEdges(row.id, ins, i, nIn);
        if (nOut > 0) this.sink.insertOutputEdges(row.id, outs, o, nOut);
      } else if (outcome === 'present') {
        this.result.quanta.alreadyPresent++;
      } else {
        this.conflicts.add({
          quantumId: row.id,
          reason: 'quantumConflict',
          details: { message: `Quantum ${row.id} is already stored with different content.`, fields: quantumDifferences(existing!, row) },
        });
      }
      i += nIn * INPUT_STRIDE;
      o += nOut * OUTPUT_STRIDE;
      this.rows += 1 + nIn + nOut;
      this.onRows();
    }
  }

  private datasets(b: DatasetsBatch): void {
    const d = b.datasets;
    const recs = b.records;
    let r = 0;
    for (let k = 0; k < d.length; k += DATASET_STRIDE) {
      const id = d[k] as string;
      const quantumId = d[k + 1] as string;
      const datasetType = d[k + 2] as string;
      const run = d[k + 3] as string;
      const key = d[k + 4] as string;
      const nRec = d[k + 6] as number;
      const first = r;
      r += nRec * RECORD_STRIDE;
      this.rows += 1 + nRec;
      this.onRows();
      const outcome = this.sink.insertDataset(id, datasetType, run, key, d[k + 5] as string);
      if (outcome === 'conflict') {
        const sink = this.sink;
        this.conflicts.add({ datasetId: id, quantumId, ...describeDatasetConflict(sink.datasetKey(id), () => sink.datasetIdByKey(datasetType, run, key), id, datasetType, run, key) });
        continue;
      }
      if (outcome === 'inserted') this.result.datasets.inserted++;
      else {
        this.result.datasets.alreadyPresent++;
        this.present.push({ id, quantumId });
      }
      const gk = `${datasetType}\0${run}`;
      const g = this.groups.get(gk);
      if (g) g.count++;
      else this.groups.set(gk, { datasetType, run, count: 1 });
      for (let e = first; e < r; e += RECORD_STRIDE) {
        const datastoreName = recs[e] as string;
        const cols: RecordColumns = {
          tableName: recs[e + 1] as string,
          path: recs[e + 2] as string,
          formatter: recs[e + 3] as string,
          storageClass: recs[e + 4] as string,
          component: recs[e + 5] as string,
          checksum: recs[e + 6] as string | null,
          fileSize: recs[e + 7] as number,
          extra: recs[e + 8] as string | null,
        };
        const [rOutcome, existing] = this.sink.insertRecord(id, datastoreName, cols);
        if (rOutcome === 'inserted') this.result.records.inserted++;
        else if (rOutcome === 'present') this.result.records.alreadyPresent++;
        else this.conflicts.add({ datasetId: id, quantumId, reason: 'recordConflict', details: recordConflict(id, datastoreName, existing!, cols) });
      }
    }
  }

  /** Check the producers of datasets that were already there, and return the outcome. */
  finish(): WriterResult {
    const t0 = performance.now();
    for (const { id, quantumId } of this.present) {
      const other = this.sink.otherProducer(id, quantumId);
      if (other !== undefined) {
        this.conflicts.add({ datasetId: id, quantumId, reason: 'multipleProducers', details: { message: `Dataset ${id} is already an actual output of quantum ${other}.`, otherQuantumId: other } });
      }
    }
    this.timings['producers'] = (performance.now() - t0) / 1000;
    const byGroup = sortGroups(this.groups.values());
    return {
      ...this.result,
      datasets: { ...this.result.datasets, byGroup },
      conflicts: this.conflicts.listed,
      conflictCount: this.conflicts.count,
      timings: roundTimings(this.timings),
    };
  }
}
