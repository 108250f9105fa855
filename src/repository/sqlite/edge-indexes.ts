/**
 * Building the edge tables' secondary indexes after a large bulk load instead of row by row.
 *
 * Each edge row costs a B-tree insert into its table and one into its by-dataset index, and
 * the index keys (dataset ids) arrive in random order. When a load brings at least as many
 * quanta as the registry already holds, the writer drops the two indexes at the start of
 * its transaction and creates them again (one sort) before anything reads them: the
 * producer check at the end of the load, and every reader after the commit. The writer
 * thread creates them once the edges are all in (collect sends every quanta batch before
 * the first datasets batch), so that the sort overlaps the caller's making of the dataset
 * batches instead of following the last of them. Both
 * statements run inside the load's one transaction, so a rollback, a crash or a killed
 * process leaves the indexes exactly as they were; other connections never see the
 * registry without them.
 */
import type Database from 'better-sqlite3';
import { EDGE_INDEXES } from './ddl.js';

/**
 * About how many quanta the registry holds: the largest rowid of `quanta` (rows are
 * never deleted, so this is their count; a B-tree lookup, not a scan).
 */
function quantaHeld(db: Database.Database): number {
  return db.prepare<[], { n: number | null }>('SELECT max(rowid) AS n FROM quanta').get()?.n ?? 0;
}

/**
 * In a write transaction, before a bulk load of about `incoming` quanta: drop the edge
 * indexes if the load is at least as large as what is there. Returns whether it did (then
 * `restoreEdgeIndexes` must run before the edges are read, in the same transaction).
 */
export function deferEdgeIndexes(db: Database.Database, incoming: number): boolean {
  if (!db.inTransaction) throw new Error('deferEdgeIndexes needs a write transaction.');
  if (incoming <= 0 || incoming < quantaHeld(db)) return false;
  for (const { name } of EDGE_INDEXES) db.exec(`DROP INDEX IF EXISTS ${name}`);
  return true;
}

/** Create the edge indexes again (after `deferEdgeIndexes`; a no-op where they exist). */
export function restoreEdgeIndexes(db: Database.Database): void {
  for (const { create } of EDGE_INDEXES) db.exec(create);
}
