/**
 * The ceilings of collect-and-transfer: the same rows the collect writes (quanta, edges,
 * datasets, records), built beforehand (not timed) and written with nothing else in the way:
 * - SQLite: one prepared INSERT per row, in one bulk transaction, into a fresh registry file
 *   (the registry's own schema and pragmas), rows in the order the collect sends them;
 * - PostgreSQL: one COPY per table (text format, built beforehand), in one transaction, into
 *   a fresh registry schema.
 * The collect's figure divided by its ceiling is what the algorithm (reading, checking,
 * planning, conflicts, progress) costs on top of writing.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { NativeProvenance } from '../../protocol/provenance.js';
import { splitComponent } from '../../src/model/dataset-type.js';
import { forEachSerializedRecord, recordWhere } from '../../src/repository/provenance-documents.js';
import { recordColumns } from '../../src/repository/record-columns.js';
import { dimensionsJson, requiredDataIdKey } from '../../src/repository/registry-rows.js';
import { SqliteConnection } from '../../src/repository/sqlite/connection.js';
import type { CollectItem } from '../../src/repository/collect-and-transfer.js';
import type { DatasetType } from '../../src/model/dataset-type.js';

type Row = Array<string | number | boolean | null>;

export interface CeilingRows {
  runs: string[];
  types: DatasetType[];
  quanta: Row[];
  inputs: Row[];
  outputs: Row[];
  datasets: Row[];
  records: Row[];
}

const byKeys = (a: Row, b: Row): number => {
  for (let i = 0; i < 2; i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
};

/** The rows a collect of `items` (native documents naming their quantum ids, every output written) writes. */
export function ceilingRows(items: readonly CollectItem[]): CeilingRows {
  const out: CeilingRows = { runs: [], types: [], quanta: [], inputs: [], outputs: [], datasets: [], records: [] };
  const runs = new Set<string>();
  const types = new Map<string, DatasetType>();
  for (const { quantum: q, provenance } of items) {
    const p = provenance as NativeProvenance;
    const qid = p.quantum.id!;
    out.quanta.push([qid, q.taskName, JSON.stringify(q.dataId), p.execution.host ?? null, p.execution.startedAt ?? null, p.execution.endedAt ?? null, 'native', JSON.stringify(p)]);
    const available = new Set(p.availableInputs);
    const actual = new Set(p.actualInputs);
    for (const r of q.inputs) out.inputs.push([qid, r.id, splitComponent(r.datasetType.name).parent, r.run, JSON.stringify(r.dataId), false, true, available.has(r.id), actual.has(r.id)]);
    const written = new Set(p.actualOutputs);
    for (const r of q.outputs) {
      out.outputs.push([qid, r.id, true, written.has(r.id)]);
      if (!written.has(r.id)) continue;
      runs.add(r.run);
      types.set(r.datasetType.name, r.datasetType);
      out.datasets.push([r.id, r.datasetType.name, r.run, requiredDataIdKey(r.datasetType, r.dataId), JSON.stringify(r.dataId)]);
    }
    forEachSerializedRecord(p.datastoreRecords as Record<string, unknown>, 0, (datastore, id, table, row, i) => {
      const c = recordColumns(row, table, () => recordWhere(datastore, id, table, i));
      out.records.push([id, datastore, c.tableName, c.path, c.formatter, c.storageClass, c.component, c.checksum, c.fileSize, c.extra]);
    });
  }
  out.runs = [...runs];
  out.types = [...types.values()];
  for (const rows of [out.quanta, out.inputs, out.outputs, out.datasets, out.records]) rows.sort(byKeys);
  return out;
}

const COLUMNS = {
  quanta: ['id', 'task_name', 'data_id', 'host', 'started_at', 'ended_at', 'format', 'provenance'],
  quantum_inputs: ['quantum_id', 'dataset_id', 'dataset_type', 'run', 'data_id', 'init_input', 'predicted', 'available', 'actual'],
  quantum_outputs: ['quantum_id', 'dataset_id', 'predicted', 'actual'],
  datasets: ['id', 'dataset_type', 'run', 'data_id_key', 'data_id'],
  datastore_records: ['dataset_id', 'datastore_name', 'table_name', 'path', 'formatter', 'storage_class', 'component', 'checksum', 'file_size', 'extra'],
} as const;

function tablesOf(rows: CeilingRows): Array<[keyof typeof COLUMNS, Row[]]> {
  return [
    ['quanta', rows.quanta],
    ['quantum_inputs', rows.inputs],
    ['quantum_outputs', rows.outputs],
    ['datasets', rows.datasets],
    ['datastore_records', rows.records],
  ];
}

/** Seconds to write `rows` into a fresh SQLite registry in `dir` with one prepared INSERT per row. */
export function sqliteCeiling(rows: CeilingRows, dir: string): number {
  const conn = SqliteConnection.open(join(dir, 'ceiling.sqlite3'));
  try {
    const db = conn.db;
    const sqlite = (v: Row[number]): string | number | null => (typeof v === 'boolean' ? (v ? 1 : 0) : v);
    const t0 = performance.now();
    conn.bulkTransaction(() => {
      for (const run of rows.runs) db.prepare('INSERT INTO runs (name) VALUES (?)').run(run);
      for (const dt of rows.types) {
        db.prepare('INSERT INTO dataset_types (name, storage_class, dimensions, parent_storage_class, is_calibration) VALUES (?, ?, ?, ?, ?)').run(
          dt.name,
          dt.storageClass,
          dimensionsJson(dt),
          dt.parentStorageClass ?? null,
          dt.isCalibration ? 1 : 0,
        );
      }
      for (const [table, list] of tablesOf(rows)) {
        const cols = COLUMNS[table];
        const insert = db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
        for (const r of list) insert.run(r.map(sqlite));
      }
    });
    return (performance.now() - t0) / 1000;
  } finally {
    conn.close({ checkpoint: false });
  }
}

/** Seconds to COPY `rows` into the (fresh, empty) registry schema `schema` at `url`, in one transaction. */
export async function postgresCeiling(rows: CeilingRows, url: string, schema: string): Promise<number> {
  const { CopyText, copyInto } = await import('../../src/repository/postgres/copy.js');
  const { loadDriver } = await import('../../src/repository/postgres/driver.js');
  const driver = await loadDriver();
  const texts = tablesOf(rows).map(([table, list]) => {
    const t = new CopyText();
    for (const r of list) t.row(...r);
    return [table, t.take()] as const;
  });
  const c = new driver.pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`SET search_path = ${schema}`);
    const t0 = performance.now();
    await c.query('BEGIN');
    await c.query('INSERT INTO runs (name) SELECT unnest($1::text[])', [rows.runs]);
    for (const dt of rows.types) {
      await c.query('INSERT INTO dataset_types (name, storage_class, dimensions, parent_storage_class, is_calibration) VALUES ($1, $2, $3, $4, $5)', [
        dt.name,
        dt.storageClass,
        dimensionsJson(dt),
        dt.parentStorageClass ?? null,
        dt.isCalibration,
      ]);
    }
    for (const [table, chunks] of texts) await copyInto(driver, c, table, COLUMNS[table], chunks);
    await c.query('COMMIT');
    return (performance.now() - t0) / 1000;
  } finally {
    await c.end();
  }
}
