/**
 * Quanta and their input/output edges in the SQLite registry: typed prepared statements,
 * the synchronous row operations built on them, and the link queries lineage walks.
 */
import type Database from 'better-sqlite3';
import { EDGE_ACTUAL, EDGE_AVAILABLE, EDGE_INIT, INPUT_STRIDE, OUTPUT_STRIDE } from '../bulk-batches.js';
import { INSERTED, quantumDifferences, type QuantumRow, type RowOutcome } from '../registry-rows.js';

export interface InputEdgeRow {
  dataset_id: string;
  dataset_type: string | null;
  run: string | null;
  data_id: string | null;
  init_input: number;
  predicted: number;
  available: number;
  actual: number;
}

export interface OutputEdgeRow {
  dataset_id: string;
  predicted: number;
  actual: number;
}

/** A quantum → dataset link: a quantum and one of its actual inputs or outputs. */
export interface Link {
  q: string;
  d: string;
}

const IN_IDS = 'IN (SELECT value FROM json_each(?))';

/**
 * Edge rows per INSERT statement at most in insertInputs / insertOutputs. A statement's run
 * (binding, stepping, resetting) costs about as much as the B-tree insert of a row: a large
 * collect writes 700,000 edges, a handful per quantum, and one statement per quantum for each
 * kind instead of one per edge took about a third off their cost.
 */
export const EDGES_PER_STATEMENT = 16;

const INPUT_COLUMNS = 'quantum_id, dataset_id, dataset_type, run, data_id, init_input, predicted, available, actual';
const OUTPUT_COLUMNS = 'quantum_id, dataset_id, predicted, actual';

/** A multi-row statement for `n` rows and the array its values are bound from (reused). */
interface EdgeStatement {
  stmt: Database.Statement<unknown[]>;
  args: unknown[];
}

export class QuantumTables {
  private readonly s;
  /** Multi-row edge inserts by row count (index n: n rows), prepared when first needed. */
  private readonly inputStatements: Array<EdgeStatement | undefined> = [];
  private readonly outputStatements: Array<EdgeStatement | undefined> = [];

  constructor(private readonly db: Database.Database) {
    this.s = {
      insert: db.prepare<[string, string | null, string | null, string | null, string | null, string | null, string, string]>(
        'INSERT INTO quanta (id, task_name, data_id, host, started_at, ended_at, format, provenance) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      get: db.prepare<[string], QuantumRow>('SELECT * FROM quanta WHERE id = ?'),
      all: db.prepare<[], Omit<QuantumRow, 'provenance'>>('SELECT id, task_name, data_id, host, started_at, ended_at, format FROM quanta ORDER BY id'),
      insertInput: db.prepare<[string, string, string | null, string | null, string | null, number, number, number, number]>(
        'INSERT INTO quantum_inputs (quantum_id, dataset_id, dataset_type, run, data_id, init_input, predicted, available, actual) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      insertOutput: db.prepare<[string, string, number, number]>(
        'INSERT INTO quantum_outputs (quantum_id, dataset_id, predicted, actual) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      inputs: db.prepare<[string], InputEdgeRow>('SELECT * FROM quantum_inputs WHERE quantum_id = ? ORDER BY dataset_id'),
      outputs: db.prepare<[string], OutputEdgeRow>('SELECT * FROM quantum_outputs WHERE quantum_id = ? ORDER BY dataset_id'),
      otherProducer: db.prepare<[string, string], { quantum_id: string }>(
        'SELECT quantum_id FROM quantum_outputs WHERE dataset_id = ? AND actual = 1 AND quantum_id <> ? LIMIT 1',
      ),
      producers: db.prepare<[string], Link>(`SELECT quantum_id AS q, dataset_id AS d FROM quantum_outputs WHERE dataset_id ${IN_IDS} AND actual = 1`),
      consumers: db.prepare<[string], Link>(`SELECT quantum_id AS q, dataset_id AS d FROM quantum_inputs WHERE dataset_id ${IN_IDS} AND actual = 1`),
      usedBy: db.prepare<[string], Link>(`SELECT quantum_id AS q, dataset_id AS d FROM quantum_inputs WHERE quantum_id ${IN_IDS} AND actual = 1`),
      wrote: db.prepare<[string], Link>(`SELECT quantum_id AS q, dataset_id AS d FROM quantum_outputs WHERE quantum_id ${IN_IDS} AND actual = 1`),
      provenances: db.prepare<[string], { id: string; provenance: string }>(`SELECT id, provenance FROM quanta WHERE id ${IN_IDS}`),
      summaries: db.prepare<[string], { id: string; task_name: string | null; data_id: string | null }>(
        `SELECT id, task_name, data_id FROM quanta WHERE id ${IN_IDS} ORDER BY id`,
      ),
      predictedRefs: db.prepare<[string], { dataset_id: string; dataset_type: string; run: string | null; data_id: string | null }>(
        `SELECT dataset_id, dataset_type, run, data_id FROM quantum_inputs WHERE dataset_id ${IN_IDS} AND dataset_type IS NOT NULL ORDER BY dataset_id, quantum_id`,
      ),
      datasetSummaries: db.prepare<[string], { id: string; dataset_type: string; run: string; data_id: string }>(
        `SELECT id, dataset_type, run, data_id FROM datasets WHERE id ${IN_IDS}`,
      ),
    };
  }

  row(id: string): QuantumRow | undefined {
    return this.s.get.get(id);
  }

  /** Every quantum row without its document, by id. */
  all(): Array<Omit<QuantumRow, 'provenance'>> {
    return this.s.all.all();
  }

  /** Insert a quantum row; 'present' when the stored one has the same content. */
  insert(row: QuantumRow): [RowOutcome, QuantumRow | undefined] {
    const changes = this.s.insert.run(row.id, row.task_name, row.data_id, row.host, row.started_at, row.ended_at, row.format, row.provenance).changes;
    if (changes > 0) return INSERTED;
    const existing = this.row(row.id)!;
    return [quantumDifferences(existing, row).length === 0 ? 'present' : 'conflict', existing];
  }

  insertInput(
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
    this.s.insertInput.run(quantumId, datasetId, datasetType, run, dataIdJson, initInput ? 1 : 0, predicted ? 1 : 0, available ? 1 : 0, actual ? 1 : 0);
  }

  insertOutput(quantumId: string, datasetId: string, predicted: boolean, actual: boolean): void {
    this.s.insertOutput.run(quantumId, datasetId, predicted ? 1 : 0, actual ? 1 : 0);
  }

  /**
   * Insert the `n` predicted input edges of a quantum that start at `from` in `flat` (bulk
   * batches' layout: INPUT_STRIDE values each, flags as EDGE_* bits), in order, as
   * insertInput one by one would, EDGES_PER_STATEMENT rows a statement.
   */
  insertInputs(quantumId: string, flat: ReadonlyArray<string | number>, from: number, n: number): void {
    this.insertEdges(this.inputStatements, 'quantum_inputs', INPUT_COLUMNS, 9, INPUT_STRIDE, from, n, (args, a, e) => {
      const flags = flat[e + 4] as number;
      args[a] = quantumId;
      args[a + 1] = flat[e];
      args[a + 2] = flat[e + 1];
      args[a + 3] = flat[e + 2];
      args[a + 4] = flat[e + 3];
      args[a + 5] = (flags & EDGE_INIT) !== 0 ? 1 : 0;
      args[a + 6] = 1;
      args[a + 7] = (flags & EDGE_AVAILABLE) !== 0 ? 1 : 0;
      args[a + 8] = (flags & EDGE_ACTUAL) !== 0 ? 1 : 0;
    });
  }

  /** Insert the `n` predicted output edges of a quantum that start at `from` in `flat` (OUTPUT_STRIDE values each: id, actual 0/1), as insertInputs. */
  insertOutputs(quantumId: string, flat: ReadonlyArray<string | number>, from: number, n: number): void {
    this.insertEdges(this.outputStatements, 'quantum_outputs', OUTPUT_COLUMNS, 4, OUTPUT_STRIDE, from, n, (args, a, e) => {
      args[a] = quantumId;
      args[a + 1] = flat[e];
      args[a + 2] = 1;
      args[a + 3] = flat[e + 1] === 1 ? 1 : 0;
    });
  }

  /** `n` edges of `stride` values each from `from` in a flat batch, EDGES_PER_STATEMENT a statement; `fill` puts edge `e`'s `width` columns (read from the batch) at `args[a]`. */
  private insertEdges(
    statements: Array<EdgeStatement | undefined>,
    table: string,
    columns: string,
    width: number,
    stride: number,
    from: number,
    n: number,
    fill: (args: unknown[], a: number, e: number) => void,
  ): void {
    for (let done = 0; done < n; ) {
      const k = Math.min(EDGES_PER_STATEMENT, n - done);
      const { stmt, args } = (statements[k] ??= this.edgeStatement(table, columns, width, k));
      for (let r = 0, e = from + done * stride; r < k; r++, e += stride) fill(args, r * width, e);
      stmt.run(args);
      done += k;
    }
  }

  private edgeStatement(table: string, columns: string, width: number, rows: number): EdgeStatement {
    const row = `(${new Array<string>(width).fill('?').join(', ')})`;
    const stmt = this.db.prepare<unknown[]>(`INSERT INTO ${table} (${columns}) VALUES ${new Array<string>(rows).fill(row).join(', ')} ON CONFLICT DO NOTHING`);
    return { stmt, args: new Array<unknown>(width * rows).fill(null) };
  }

  inputs(quantumId: string): InputEdgeRow[] {
    return this.s.inputs.all(quantumId);
  }

  outputs(quantumId: string): OutputEdgeRow[] {
    return this.s.outputs.all(quantumId);
  }

  /** Another quantum that already claims `datasetId` as an actual output, if any. */
  otherProducer(datasetId: string, quantumId: string): string | undefined {
    return this.s.otherProducer.get(datasetId, quantumId)?.quantum_id;
  }

  // Lineage: ids go in as one JSON array per query.
  producers(datasetIds: readonly string[]): Link[] {
    return this.s.producers.all(JSON.stringify(datasetIds));
  }
  consumers(datasetIds: readonly string[]): Link[] {
    return this.s.consumers.all(JSON.stringify(datasetIds));
  }
  actualInputsOf(quantumIds: readonly string[]): Link[] {
    return this.s.usedBy.all(JSON.stringify(quantumIds));
  }
  actualOutputsOf(quantumIds: readonly string[]): Link[] {
    return this.s.wrote.all(JSON.stringify(quantumIds));
  }
  /** The stored documents (JSON text) of these quanta. */
  provenances(quantumIds: readonly string[]): Array<{ id: string; provenance: string }> {
    return this.s.provenances.all(JSON.stringify(quantumIds));
  }
  summaries(quantumIds: readonly string[]): Array<{ id: string; task_name: string | null; data_id: string | null }> {
    return this.s.summaries.all(JSON.stringify(quantumIds));
  }
  datasetSummaries(ids: readonly string[]): Array<{ id: string; dataset_type: string; run: string; data_id: string }> {
    return this.s.datasetSummaries.all(JSON.stringify(ids));
  }
  predictedRefs(ids: readonly string[]): Array<{ dataset_id: string; dataset_type: string; run: string | null; data_id: string | null }> {
    return this.s.predictedRefs.all(JSON.stringify(ids));
  }
}
