/**
 * The interface between collect-and-transfer's reading side and a backend's bulk writer:
 * batches of ready-made rows in flat arrays (cheap to build, and cheap to clone to a
 * writer thread), and the writer's result. A writer never sees items, documents or refs.
 *
 * Batches, in the order the caller sends them:
 * - `ensure`: runs and dataset types the batch needs (resolved by the caller's planning;
 *   a writer may insert them at any point before it commits: PostgreSQL's does so last);
 * - `quanta`: quanta in quantum id order, each with its input and output edges; a
 *   quantum's edges are written only when the quantum row is new (a stored one has them);
 * - `datasets`: actual outputs in dataset id order, each with its datastore records.
 * Finishing then checks that no dataset already present is claimed by another quantum.
 *
 * The rules a writer applies (both backends apply them identically; the shared tests hold
 * them to it): a row is inserted, or is already present identically, or conflicts. A
 * conflicting dataset writes none of its records. Conflicts are listed in the order the
 * rows were sent: quanta first, then datasets each followed by its records, then the
 * producers found at finishing.
 */
import type { DatasetKeyRow } from './registry-rows.js';
import type { DatasetType, SerializedDatasetType } from '../model/dataset-type.js';
import type { Awaitable } from './steps.js';
import type { CollectConflict } from './collect-report.js';

/** Input edge flags (bits of one number, so an edge is five values in a batch). */
export const EDGE_INIT = 1;
export const EDGE_AVAILABLE = 2;
export const EDGE_ACTUAL = 4;

/** Values per quantum in `QuantaBatch.quanta`: the QuantumRow columns, then the edge counts. */
export const QUANTUM_STRIDE = 10;
/** Values per input edge: dataset id, dataset type, run, data ID JSON, flags (EDGE_*). */
export const INPUT_STRIDE = 5;
/** Values per output edge: dataset id, actual (0/1). */
export const OUTPUT_STRIDE = 2;
/** Values per dataset: id, quantum id, dataset type, run, data ID key, data ID JSON, record count. */
export const DATASET_STRIDE = 7;
/** Values per record: datastore name, then the RecordColumns in declaration order. */
export const RECORD_STRIDE = 9;

export interface EnsureBatch {
  kind: 'ensure';
  runs: string[];
  datasetTypes: SerializedDatasetType[];
}

export interface QuantaBatch {
  kind: 'quanta';
  /** id, task_name, data_id, host, started_at, ended_at, format, provenance, #inputs, #outputs. */
  quanta: Array<string | number | null>;
  inputs: Array<string | number>;
  outputs: Array<string | number>;
}

export interface DatasetsBatch {
  kind: 'datasets';
  datasets: Array<string | number>;
  records: Array<string | number | null>;
}

export type WriterBatch = EnsureBatch | QuantaBatch | DatasetsBatch;

/** What the writer found; merged into the CollectReport by the caller. */
export interface WriterResult {
  quanta: { stored: number; alreadyPresent: number };
  datasets: { inserted: number; alreadyPresent: number; byGroup: Array<{ datasetType: string; run: string; count: number }> };
  records: { inserted: number; alreadyPresent: number };
  conflicts: CollectConflict[];
  conflictCount: number;
  /** Seconds the writer spent per kind of work: ensure, quanta, datasets, producers. */
  timings: Record<string, number>;
}

/** Reads of the committed registry that planning needs (synchronous where the backend is). */
export interface PlanningReads {
  hasRun(name: string): Awaitable<boolean>;
  datasetType(name: string): Awaitable<DatasetType | undefined>;
  /** The identifying columns of those of `ids` that are registered. */
  datasetKeys(ids: readonly string[]): Awaitable<Map<string, DatasetKeyRow>>;
}

/** Where batches go. Wait for what `send` returns (if anything) before sending more. */
export interface BatchChannel {
  send(batch: WriterBatch): Awaitable<void>;
  /** Rows the writer has applied so far (quanta, edges, datasets, records): the progress measure. */
  rowsApplied(): number;
  /** Set by the reading side; the writer calls it as rows get applied (progress while the reader waits). */
  tick: () => void;
}

/** Sort the writer's dataset groups by (dataset type, run). */
export function sortGroups(groups: Iterable<{ datasetType: string; run: string; count: number }>): Array<{ datasetType: string; run: string; count: number }> {
  return [...groups].sort((a, b) => (a.datasetType !== b.datasetType ? (a.datasetType < b.datasetType ? -1 : 1) : a.run < b.run ? -1 : a.run > b.run ? 1 : 0));
}

/** Seconds rounded to the millisecond, every key present (reports keep one shape). */
export function roundTimings(t: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
}
