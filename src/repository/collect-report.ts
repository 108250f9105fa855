/** What collect-and-transfer reports: counts, conflicts and timings (plain data, cloneable across threads). */

export type ConflictReason =
  /** The id exists with another dataset type, run or data ID. */
  | 'datasetIdConflict'
  /** (dataset type, run, data ID) exists under another id. */
  | 'dataIdConflict'
  /** A registered dataset type has another definition than the quantum's. */
  | 'datasetTypeConflict'
  /** A datastore record differs from the stored one (checksum, path, size, ...). */
  | 'recordConflict'
  /** A record for a dataset the provenance does not list as an actual output. */
  | 'recordNotActualOutput'
  /** The same quantum id is stored (or given twice) with different content. */
  | 'quantumConflict'
  /** The provenance lists an actual output the quantum did not predict. */
  | 'notPredictedOutput'
  /** The provenance lists an available or actual input the quantum did not predict. */
  | 'notPredictedInput'
  /** The provenance's predicted ids or task name do not match the quantum. */
  | 'provenanceMismatch'
  /** A quantum input ref disagrees with the registered dataset of that id. */
  | 'inputRefMismatch'
  /** Another quantum already claims this dataset as an actual output. */
  | 'multipleProducers';

export interface CollectConflict {
  datasetId?: string;
  quantumId?: string;
  reason: ConflictReason;
  details: unknown;
}

export interface CollectReport {
  dryRun: boolean;
  /** True when the batch was written (not a dry run, no conflicts). */
  committed: boolean;
  quanta: { stored: number; alreadyPresent: number };
  datasets: {
    inserted: number;
    alreadyPresent: number;
    /** Actual outputs per (dataset type, run), counting inserted and already present ones. */
    byGroup: Array<{ datasetType: string; run: string; count: number }>;
  };
  records: { inserted: number; alreadyPresent: number };
  conflicts: CollectConflict[];
  /** Conflicts found beyond `maxConflicts` and not listed. */
  conflictsOmitted: number;
  /** Where the rows were written: in the caller's thread, on a writer thread, or by the database server (PostgreSQL). */
  writer: 'inline' | 'thread' | 'server';
  /** How many times the transaction was aborted by the registry (serialization failure, deadlock) and run again. */
  retries: number;
  /**
   * Seconds per phase, always the same keys: prepare (reading the items; quanta and their
   * edges are written meanwhile), datasets (sorting and handing over the actual outputs),
   * checks (inputs against the registry), write (waiting for the writer), then commit,
   * rollback or end (dry run). `writer.ensure|quanta|datasets|producers` are the writer's
   * own time per kind of work; on a writer thread they overlap the caller's phases.
   */
  timings: Record<string, number>;
}

/** A bounded list of conflicts that still counts every one. */
export class ConflictList {
  readonly listed: CollectConflict[] = [];
  count = 0;
  constructor(private readonly max: number) {}
  add(c: CollectConflict): void {
    this.count++;
    if (this.listed.length < this.max) this.listed.push(c);
  }
}
