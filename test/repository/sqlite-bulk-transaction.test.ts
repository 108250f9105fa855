/**
 * The SQLite connection's bulk transaction: a larger page cache, no foreign-key checks and no
 * automatic checkpoints while it runs, the connection's own settings again afterwards (also
 * when the body fails).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteConnection } from '../../src/repository/sqlite/connection.js';

describe('SqliteConnection.bulkTransaction', () => {
  let dir: string;
  let conn: SqliteConnection;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'qb-bulk-txn-'));
    conn = SqliteConnection.open(join(dir, 'registry.sqlite3'));
  });
  afterEach(() => {
    conn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const settings = () => ({
    cache: conn.db.pragma('cache_size', { simple: true }) as number,
    foreignKeys: conn.db.pragma('foreign_keys', { simple: true }) as number,
    autocheckpoint: conn.db.pragma('wal_autocheckpoint', { simple: true }) as number,
  });

  it('uses a larger page cache while it runs and gives it back afterwards, also after a failure', () => {
    const before = settings();
    expect(before.foreignKeys).toBe(1);
    let during: ReturnType<typeof settings> | undefined;
    conn.bulkTransaction(() => {
      during = settings();
    });
    // cache_size is negative: KiB.
    expect(-during!.cache).toBeGreaterThan(-before.cache);
    expect(during).toMatchObject({ foreignKeys: 0, autocheckpoint: 0 });
    expect(settings()).toEqual(before);
    expect(() =>
      conn.bulkTransaction(() => {
        throw new Error('body failed');
      }),
    ).toThrow('body failed');
    expect(settings()).toEqual(before);
  });
});
