import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteConnection } from '../../src/repository/sqlite/connection.js';
import { deferEdgeIndexes, restoreEdgeIndexes } from '../../src/repository/sqlite/edge-indexes.js';

const edgeIndexes = (conn: SqliteConnection): string[] =>
  conn.db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'quantum_%_by_dataset' ORDER BY name").all().map((r) => r.name);

describe('edge indexes deferred during a large bulk load', () => {
  let dir: string;
  let conn: SqliteConnection;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'qb-edge-idx-'));
    conn = SqliteConnection.open(join(dir, 'registry.sqlite3'));
    const insert = conn.db.prepare("INSERT INTO quanta (id, format, provenance) VALUES (?, 'native', '{}')");
    conn.transaction(() => {
      for (let i = 0; i < 10; i++) insert.run(`q${i}`);
    });
  });
  afterEach(() => {
    conn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('are dropped only for a load at least as large as the quanta held, and only inside a transaction', () => {
    const all = ['quantum_inputs_by_dataset', 'quantum_outputs_by_dataset'];
    expect(() => deferEdgeIndexes(conn.db, 100)).toThrow(/transaction/);
    expect(conn.transaction(() => [deferEdgeIndexes(conn.db, 9), edgeIndexes(conn)])).toEqual([false, all]);
    expect(conn.transaction(() => [deferEdgeIndexes(conn.db, 0), edgeIndexes(conn)])).toEqual([false, all]);
    expect(
      conn.transaction(() => {
        const dropped = deferEdgeIndexes(conn.db, 10);
        const during = edgeIndexes(conn);
        restoreEdgeIndexes(conn.db);
        return [dropped, during, edgeIndexes(conn)];
      }),
    ).toEqual([true, [], all]);
  });

  it('come back with a rolled-back load, and other connections never see the registry without them', () => {
    const other = SqliteConnection.open(join(dir, 'registry.sqlite3'), { readonly: true });
    try {
      expect(() =>
        conn.transaction(() => {
          expect(deferEdgeIndexes(conn.db, 1000)).toBe(true);
          expect(edgeIndexes(other)).toHaveLength(2);
          throw new Error('rolled back');
        }),
      ).toThrow('rolled back');
      expect(edgeIndexes(conn)).toHaveLength(2);
    } finally {
      other.close();
    }
  });
});
