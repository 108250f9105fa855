/**
 * Datastore records in the SQLite registry: typed prepared statements and the synchronous
 * row operations built on them (first writer wins per dataset, datastore and component).
 */
import type Database from 'better-sqlite3';
import { INSERTED, type RowOutcome } from '../registry-rows.js';
import { columnsOfDbRow, recordDifferences, type RecordColumns, type RecordDbRow } from '../record-columns.js';

export class RecordTables {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      insert: db.prepare<[string, string, string, string, string, string, string, string | null, number, string | null]>(
        'INSERT INTO datastore_records (dataset_id, datastore_name, table_name, path, formatter, storage_class, component, checksum, file_size, extra) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      get: db.prepare<[string, string, string], RecordDbRow>('SELECT * FROM datastore_records WHERE dataset_id = ? AND datastore_name = ? AND component = ?'),
      forIds: db.prepare<[string, string], RecordDbRow>(
        'SELECT * FROM datastore_records WHERE datastore_name = ? AND dataset_id IN (SELECT value FROM json_each(?)) ORDER BY dataset_id, table_name, component',
      ),
      allForIds: db.prepare<[string], RecordDbRow>(
        'SELECT * FROM datastore_records WHERE dataset_id IN (SELECT value FROM json_each(?)) ORDER BY datastore_name, dataset_id, table_name, component',
      ),
    };
  }

  columns(datasetId: string, datastoreName: string, component: string): RecordColumns | undefined {
    const r = this.s.get.get(datasetId, datastoreName, component);
    return r ? columnsOfDbRow(r) : undefined;
  }

  /** First writer wins: 'present' if identical, 'conflict' (with the stored row) if not. */
  insert(datasetId: string, datastoreName: string, c: RecordColumns): [RowOutcome, RecordColumns | undefined] {
    const changes = this.s.insert.run(datasetId, datastoreName, c.tableName, c.path, c.formatter, c.storageClass, c.component, c.checksum, c.fileSize, c.extra).changes;
    if (changes > 0) return INSERTED;
    const existing = this.columns(datasetId, datastoreName, c.component)!;
    return recordDifferences(existing, c).length === 0 ? ['present', existing] : ['conflict', existing];
  }

  rowsFor(datastoreName: string, ids: readonly string[]): RecordDbRow[] {
    return this.s.forIds.all(datastoreName, JSON.stringify(ids));
  }

  allRowsFor(ids: readonly string[]): RecordDbRow[] {
    return this.s.allForIds.all(JSON.stringify(ids));
  }
}
