/**
 * Runs, dataset types and datasets in the SQLite registry: typed prepared statements and
 * the synchronous row operations built on them. Callers hold a transaction where they
 * write (see SqliteRegistry); nothing here opens one.
 */
import type Database from 'better-sqlite3';
import { datasetTypeEquals, validateDatasetTypeName, type DatasetType } from '../../model/dataset-type.js';
import type { DatasetQuery } from '../registry.js';
import {
  INSERTED,
  checkDataIdQuery,
  datasetTypeMatcher,
  datasetTypeOfRow,
  dimensionsJson,
  type DatasetKeyRow,
  type DatasetRow,
  type DatasetTypeRow,
  type RowOutcome,
} from '../registry-rows.js';

export class DatasetTables {
  private readonly typeCache = new Map<string, DatasetType>();
  private readonly runCache = new Set<string>();
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      runInsert: db.prepare<[string]>('INSERT INTO runs (name) VALUES (?) ON CONFLICT DO NOTHING'),
      runGet: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM runs WHERE name = ?'),
      runs: db.prepare<[], { name: string }>('SELECT name FROM runs ORDER BY name'),
      typeInsert: db.prepare<[string, string, string, string | null, number]>(
        'INSERT INTO dataset_types (name, storage_class, dimensions, parent_storage_class, is_calibration) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      typeGet: db.prepare<[string], DatasetTypeRow>('SELECT * FROM dataset_types WHERE name = ?'),
      typeNames: db.prepare<[], { name: string }>('SELECT name FROM dataset_types ORDER BY name'),
      types: db.prepare<[], DatasetTypeRow>('SELECT * FROM dataset_types ORDER BY name'),
      dsInsert: db.prepare<[string, string, string, string, string]>(
        'INSERT INTO datasets (id, dataset_type, run, data_id_key, data_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      dsKeyById: db.prepare<[string], DatasetKeyRow>('SELECT dataset_type, run, data_id_key FROM datasets WHERE id = ?'),
      dsIdByKey: db.prepare<[string, string, string], { id: string }>('SELECT id FROM datasets WHERE dataset_type = ? AND run = ? AND data_id_key = ?'),
      dsGet: db.prepare<[string], DatasetRow>('SELECT * FROM datasets WHERE id = ?'),
      dsFind: db.prepare<[string, string, string], DatasetRow>('SELECT * FROM datasets WHERE dataset_type = ? AND run = ? AND data_id_key = ?'),
    };
  }

  /** Forget cached types and runs (after a rollback they may name rows that are gone). */
  resetCaches(): void {
    this.typeCache.clear();
    this.runCache.clear();
  }

  /** Insert a run if missing; true if new. */
  ensureRun(name: string): boolean {
    if (this.runCache.has(name)) return false;
    const inserted = this.s.runInsert.run(name).changes > 0;
    this.runCache.add(name);
    return inserted;
  }

  hasRun(name: string): boolean {
    return this.runCache.has(name) || this.s.runGet.get(name) !== undefined;
  }

  runs(): string[] {
    return this.s.runs.all().map((r) => r.name);
  }

  /** Insert a dataset type if missing; 'conflict' with the registered one if it differs. */
  ensureDatasetType(dt: DatasetType): [RowOutcome, DatasetType | undefined] {
    validateDatasetTypeName(dt.name);
    const existing = this.datasetType(dt.name);
    if (existing) return datasetTypeEquals(existing, dt) ? ['present', existing] : ['conflict', existing];
    this.s.typeInsert.run(dt.name, dt.storageClass, dimensionsJson(dt), dt.parentStorageClass ?? null, dt.isCalibration ? 1 : 0);
    this.typeCache.set(dt.name, dt);
    return INSERTED;
  }

  datasetType(name: string): DatasetType | undefined {
    const cached = this.typeCache.get(name);
    if (cached) return cached;
    const row = this.s.typeGet.get(name);
    if (!row) return undefined;
    const dt = datasetTypeOfRow(row);
    this.typeCache.set(name, dt);
    return dt;
  }

  datasetTypes(): DatasetType[] {
    return this.s.types.all().map(datasetTypeOfRow);
  }

  datasetKey(id: string): DatasetKeyRow | undefined {
    return this.s.dsKeyById.get(id);
  }

  datasetIdByKey(datasetType: string, run: string, key: string): string | undefined {
    return this.s.dsIdByKey.get(datasetType, run, key)?.id;
  }

  /**
   * Insert a dataset row. Not inserted because of a uniqueness constraint: 'present' if the
   * row with this id has the same type, run and key, 'conflict' otherwise.
   */
  insertDataset(id: string, datasetType: string, run: string, key: string, dataIdJson: string): RowOutcome {
    if (this.s.dsInsert.run(id, datasetType, run, key, dataIdJson).changes > 0) return 'inserted';
    const row = this.datasetKey(id);
    return row !== undefined && row.dataset_type === datasetType && row.run === run && row.data_id_key === key ? 'present' : 'conflict';
  }

  datasetRow(id: string): DatasetRow | undefined {
    return this.s.dsGet.get(id);
  }

  findRow(datasetType: string, run: string, key: string): DatasetRow | undefined {
    return this.s.dsFind.get(datasetType, run, key);
  }

  /** Rows matching a query (unsorted). */
  query(query: DatasetQuery): DatasetRow[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.datasetType !== undefined) {
      const glob = datasetTypeMatcher(query.datasetType);
      if (glob.literal === undefined) {
        const names = this.s.typeNames.all().map((r) => r.name).filter((n) => glob.match(n));
        if (names.length === 0) return [];
        where.push('dataset_type IN (SELECT value FROM json_each(?))');
        params.push(JSON.stringify(names));
      } else {
        where.push('dataset_type = ?');
        params.push(glob.literal);
      }
    }
    if (query.run !== undefined) {
      where.push('run = ?');
      params.push(query.run);
    }
    for (const [k, v] of checkDataIdQuery(query.dataId ?? {})) {
      // json_type tells the integer 1 from the string "1", as dataIdEquals does.
      where.push(`json_type(data_id, ?) = ? AND json_extract(data_id, ?) = ?`);
      const path = `$.${k}`;
      params.push(path, typeof v === 'number' ? 'integer' : 'text', path, v);
    }
    const sql = `SELECT * FROM datasets${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
    return this.db.prepare<unknown[], DatasetRow>(sql).all(...params);
  }
}
