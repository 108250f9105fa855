/**
 * The datastore records of one file-datastore client (a session), in SQLite: a file
 * given by the host (so a crashed quantum's records survive) or ':memory:'. Each row
 * is daf_butler's StoredFileInfo plus a trash flag.
 */
import Database from 'better-sqlite3';
import type { DatasetId } from '../model/dataset-id.js';
import type { StoredFileInfo } from '../model/datastore-records.js';

export interface RecordRowWithState extends StoredFileInfo {
  trashed: boolean;
}

interface Row {
  dataset_id: string;
  path: string;
  formatter: string;
  storage_class: string;
  component: string;
  checksum: string | null;
  file_size: number;
  trashed: number;
}

const NULL_COMPONENT = '__NULL_STRING__';

export class RecordsTable {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(readonly path: string) {
    this.db = new Database(path);
    if (path !== ':memory:') {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
    }
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS file_datastore_records (
      dataset_id TEXT NOT NULL,
      component TEXT NOT NULL DEFAULT '${NULL_COMPONENT}',
      path TEXT NOT NULL,
      formatter TEXT NOT NULL,
      storage_class TEXT NOT NULL,
      checksum TEXT,
      file_size INTEGER NOT NULL DEFAULT -1,
      trashed INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (dataset_id, component)
    ) WITHOUT ROWID`);
    this.db.exec('CREATE INDEX IF NOT EXISTS records_trashed ON file_datastore_records (trashed) WHERE trashed = 1');
    this.stmts = {
      get: this.db.prepare<[string], Row>(`SELECT * FROM file_datastore_records WHERE dataset_id = ? AND component = '${NULL_COMPONENT}'`),
      insert: this.db.prepare(
        `INSERT INTO file_datastore_records (dataset_id, component, path, formatter, storage_class, checksum, file_size)
         VALUES (@dataset_id, @component, @path, @formatter, @storage_class, @checksum, @file_size)
         ON CONFLICT DO NOTHING`,
      ),
      replace: this.db.prepare(
        `INSERT OR REPLACE INTO file_datastore_records (dataset_id, component, path, formatter, storage_class, checksum, file_size, trashed)
         VALUES (@dataset_id, @component, @path, @formatter, @storage_class, @checksum, @file_size, 0)`,
      ),
      remove: this.db.prepare('DELETE FROM file_datastore_records WHERE dataset_id = ?'),
      trash: this.db.prepare('UPDATE file_datastore_records SET trashed = 1 WHERE dataset_id = ?'),
      untrash: this.db.prepare('UPDATE file_datastore_records SET trashed = 0 WHERE dataset_id = ?'),
      trashed: this.db.prepare<[], { dataset_id: string }>('SELECT DISTINCT dataset_id FROM file_datastore_records WHERE trashed = 1'),
    };
  }

  private toInfo(row: Row): RecordRowWithState {
    return {
      formatter: row.formatter,
      path: row.path,
      storage_class: row.storage_class,
      component: row.component === NULL_COMPONENT ? null : row.component,
      checksum: row.checksum,
      file_size: row.file_size,
      trashed: row.trashed === 1,
    };
  }

  get(id: DatasetId): RecordRowWithState | undefined {
    const row = this.stmts.get.get(id);
    return row ? this.toInfo(row) : undefined;
  }

  private params(id: DatasetId, info: StoredFileInfo) {
    return {
      dataset_id: id,
      component: info.component ?? NULL_COMPONENT,
      path: info.path,
      formatter: info.formatter,
      storage_class: info.storage_class,
      checksum: info.checksum,
      file_size: info.file_size,
    };
  }

  /** Record a written artifact (replacing a trashed or stale row). */
  put(id: DatasetId, info: StoredFileInfo): void {
    this.stmts.replace.run(this.params(id, info));
  }

  /** Import a record from elsewhere: first writer wins. */
  importRecord(id: DatasetId, info: StoredFileInfo): void {
    this.stmts.insert.run(this.params(id, info));
  }

  remove(id: DatasetId): void {
    this.stmts.remove.run(id);
  }

  setTrashed(id: DatasetId, trashed: boolean): void {
    (trashed ? this.stmts.trash : this.stmts.untrash).run(id);
  }

  trashedIds(): DatasetId[] {
    return this.stmts.trashed.all().map((r) => r.dataset_id);
  }

  /** SAVEPOINT-based nesting, usable across awaits because one session owns this table. */
  savepoint(name: string): { release(): void; rollback(): void } {
    const sp = `sp_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
    this.db.exec(`SAVEPOINT ${sp}`);
    return {
      release: () => this.db.exec(`RELEASE ${sp}`),
      rollback: () => {
        this.db.exec(`ROLLBACK TO ${sp}`);
        this.db.exec(`RELEASE ${sp}`);
      },
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
