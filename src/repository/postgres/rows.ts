/**
 * Row operations of the PostgreSQL registry on one connection inside a transaction: the
 * RowOps the shared row logic (../registry-ops.ts) runs on, as named prepared statements.
 * Inserts use ON CONFLICT DO NOTHING: when another transaction inserted the same key and
 * has not committed yet, PostgreSQL waits for it, then reports the row as there; the
 * look-up that follows sees it (read committed), so a race ends as "already present" or a
 * conflict, never as an error or a half-written row.
 */
import type pg from 'pg';
import { datasetTypeEquals, validateDatasetTypeName, type DatasetType } from '../../model/dataset-type.js';
import { columnsOfDbRow, recordDifferences, type RecordColumns, type RecordDbRow } from '../record-columns.js';
import type { RowOps } from '../registry-ops.js';
import {
  INSERTED,
  datasetTypeOfRow,
  dimensionsJson,
  quantumDifferences,
  type DatasetKeyRow,
  type DatasetTypeRow,
  type QuantumRow,
  type RowOutcome,
} from '../registry-rows.js';

type Q = pg.ClientBase;

function q<R extends pg.QueryResultRow>(c: Q, name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
  return c.query<R>({ name, text, values });
}

export async function datasetTypeRow(c: Q, name: string): Promise<DatasetType | undefined> {
  const r = await q<DatasetTypeRow>(c, 'qb_type_get', 'SELECT * FROM dataset_types WHERE name = $1', [name]);
  return r.rows[0] ? datasetTypeOfRow(r.rows[0]) : undefined;
}

export async function hasRun(c: Q, name: string): Promise<boolean> {
  return (await q(c, 'qb_run_get', 'SELECT 1 FROM runs WHERE name = $1', [name])).rowCount! > 0;
}

export async function datasetKey(c: Q, id: string): Promise<DatasetKeyRow | undefined> {
  return (await q<DatasetKeyRow>(c, 'qb_ds_key', 'SELECT dataset_type, run, data_id_key FROM datasets WHERE id = $1', [id])).rows[0];
}

export async function recordOf(c: Q, id: string, datastoreName: string, component: string): Promise<RecordColumns | undefined> {
  const r = await q<RecordDbRow>(c, 'qb_rec_get', 'SELECT * FROM datastore_records WHERE dataset_id = $1 AND datastore_name = $2 AND component = $3', [
    id,
    datastoreName,
    component,
  ]);
  return r.rows[0] ? columnsOfDbRow(r.rows[0]) : undefined;
}

export async function quantumRow(c: Q, id: string): Promise<QuantumRow | undefined> {
  return (await q<QuantumRow>(c, 'qb_q_get', 'SELECT * FROM quanta WHERE id = $1', [id])).rows[0];
}

/** The shared row logic's operations on connection `c` (inside its transaction). */
export function pgRowOps(c: Q): RowOps {
  return {
    ensureRun: async (name) => (await q(c, 'qb_run_ins', 'INSERT INTO runs (name) VALUES ($1) ON CONFLICT DO NOTHING', [name])).rowCount! > 0,
    hasRun: (name) => hasRun(c, name),
    datasetType: (name) => datasetTypeRow(c, name),
    ensureDatasetType: async (dt): Promise<[RowOutcome, DatasetType | undefined]> => {
      validateDatasetTypeName(dt.name);
      const r = await q(
        c,
        'qb_type_ins',
        'INSERT INTO dataset_types (name, storage_class, dimensions, parent_storage_class, is_calibration) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [dt.name, dt.storageClass, dimensionsJson(dt), dt.parentStorageClass ?? null, dt.isCalibration],
      );
      if (r.rowCount! > 0) return INSERTED;
      const existing = (await datasetTypeRow(c, dt.name))!;
      return [datasetTypeEquals(existing, dt) ? 'present' : 'conflict', existing];
    },
    insertDataset: async (id, datasetType, run, key, dataIdJson) => {
      const r = await q(c, 'qb_ds_ins', 'INSERT INTO datasets (id, dataset_type, run, data_id_key, data_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [
        id,
        datasetType,
        run,
        key,
        dataIdJson,
      ]);
      if (r.rowCount! > 0) return 'inserted';
      const row = await datasetKey(c, id);
      return row !== undefined && row.dataset_type === datasetType && row.run === run && row.data_id_key === key ? 'present' : 'conflict';
    },
    datasetKey: (id) => datasetKey(c, id),
    datasetIdByKey: async (datasetType, run, key) =>
      (await q<{ id: string }>(c, 'qb_ds_by_key', 'SELECT id FROM datasets WHERE dataset_type = $1 AND run = $2 AND data_id_key = $3', [datasetType, run, key])).rows[0]?.id,
    insertRecord: async (id, datastoreName, col): Promise<[RowOutcome, RecordColumns | undefined]> => {
      const r = await q(
        c,
        'qb_rec_ins',
        'INSERT INTO datastore_records (dataset_id, datastore_name, table_name, path, formatter, storage_class, component, checksum, file_size, extra) ' +
          'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING',
        [id, datastoreName, col.tableName, col.path, col.formatter, col.storageClass, col.component, col.checksum, col.fileSize, col.extra],
      );
      if (r.rowCount! > 0) return INSERTED;
      const existing = (await recordOf(c, id, datastoreName, col.component))!;
      return [recordDifferences(existing, col).length === 0 ? 'present' : 'conflict', existing];
    },
    recordOf: (id, datastoreName, component) => recordOf(c, id, datastoreName, component),
    insertQuantum: async (row): Promise<[RowOutcome, QuantumRow | undefined]> => {
      const r = await q(
        c,
        'qb_q_ins',
        'INSERT INTO quanta (id, task_name, data_id, host, started_at, ended_at, format, provenance) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING',
        [row.id, row.task_name, row.data_id, row.host, row.started_at, row.ended_at, row.format, row.provenance],
      );
      if (r.rowCount! > 0) return INSERTED;
      const existing = (await quantumRow(c, row.id))!;
      return [quantumDifferences(existing, row).length === 0 ? 'present' : 'conflict', existing];
    },
    insertInputEdge: async (quantumId, datasetId, datasetType, run, dataIdJson, f) => {
      await q(
        c,
        'qb_qi_ins',
        'INSERT INTO quantum_inputs (quantum_id, dataset_id, dataset_type, run, data_id, init_input, predicted, available, actual) ' +
          'VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING',
        [quantumId, datasetId, datasetType, run, dataIdJson, f.init, f.predicted, f.available, f.actual],
      );
    },
    insertOutputEdge: async (quantumId, datasetId, predicted, actual) => {
      await q(c, 'qb_qo_ins', 'INSERT INTO quantum_outputs (quantum_id, dataset_id, predicted, actual) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
        quantumId,
        datasetId,
        predicted,
        actual,
      ]);
    },
  };
}
