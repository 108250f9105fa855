/** The SQLite registry's statement groups on one connection. */
import type Database from 'better-sqlite3';
import type { Tables } from './bulk-writer.js';
import { DatasetTables } from './datasets.js';
import { QuantumTables } from './quanta.js';
import { RecordTables } from './records.js';

export function tablesOf(db: Database.Database): Tables {
  return { datasets: new DatasetTables(db), records: new RecordTables(db), quanta: new QuantumTables(db) };
}
