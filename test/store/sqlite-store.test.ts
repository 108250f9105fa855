import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreBusy } from '../../src/model/errors.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { openStore } from '../../src/store/store-factory.js';
import { assertBuilt, runWriter } from './multiprocess.js';

describe('SqliteStore', () => {
  let dir: string;
  let path: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qb-sqlite-'));
    path = join(dir, 'store.sqlite');
    store = new SqliteStore(path);
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function fill(n: number): Promise<void> {
    const keys = Array.from({ length: n }, (_, i) => `k${i}`);
    await store.multiset(
      keys,
      keys.map(() => Buffer.from('v')),
      keys.map((_, i) => ({ run: `run${i % 10}`, i, obj: { a: i % 3, b: [1, 2] } })),
    );
  }

  describe('exact-match queries use the metadata index', () => {
    const noScan = (plan: string[]): void => {
      expect(plan.length).toBeGreaterThan(0);
      for (const line of plan) expect(line).not.toMatch(/^SCAN /);
      expect(plan.some((l) => /USING (COVERING )?INDEX|USING PRIMARY KEY/.test(l))).toBe(true);
    };

    it('queryKeys({name: value}) searches the index, no full scan', async () => {
      await fill(200);
      const plan = store.explainQuery({ run: 'run3' });
      noScan(plan);
      // m0 is the qb_metadata side table, searched by its (name, value, key) primary key.
      expect(plan).toEqual(['SEARCH m0 USING PRIMARY KEY (name=? AND value=?)']);
      expect(await store.queryKeys({ run: 'run3' })).toHaveLength(20);
    });

    it('query() with several names, including objects, searches indexes only', async () => {
      await fill(200);
      const plan = store.explainQuery({ run: 'run3', obj: { b: [1, 2], a: 0 } }, true);
      noScan(plan);
      expect(plan[0]).toBe('SEARCH m0 USING PRIMARY KEY (name=? AND value=?)');
      expect(plan).toContain('SEARCH e USING INDEX sqlite_autoindex_qb_entries_1 (key=?)');
      const rows = await store.query({ run: 'run3', obj: { b: [1, 2], a: 0 } });
      // i % 10 == 3 and i % 3 == 0: 3, 33, 63, ...
      expect(rows.map(([k]) => k)).toEqual(['k123', 'k153', 'k183', 'k3', 'k33', 'k63', 'k93']);
    });

    it('an empty query scans (it returns everything)', async () => {
      await fill(5);
      expect(store.explainQuery({}).join('\n')).toMatch(/SCAN qb_entries/);
    });

    it('more names than the index joins still match exactly', async () => {
      const md = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`n${i}`, i]));
      await store.set('many', Buffer.from(''), md);
      await store.set('fewer', Buffer.from(''), { ...md, n11: 'x' });
      expect(await store.queryKeys(md)).toEqual(['many']);
      expect((await store.query(md)).map(([k]) => k)).toEqual(['many']);
    });
  });

  it('uses WAL and persists across reopen', async () => {
    await store.set('persist', Buffer.from('yes'), { p: 1 });
    await store.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    store = new SqliteStore(path);
    expect((await store.getData('persist')).toString()).toBe('yes');
    expect(await store.queryKeys({ p: 1 })).toEqual(['persist']);
  });

  it('nested transactions are savepoints: inner rollback, outer commit', async () => {
    await store.transaction('outer', async () => {
      await store.set('a', Buffer.from('1'), {});
      const inner = await store.begin('inner');
      await store.set('b', Buffer.from('2'), {});
      await store.transaction('innermost', async () => store.set('c', Buffer.from('3'), {}));
      await inner.rollback();
      await store.set('d', Buffer.from('4'), {});
    });
    expect(await store.glob('*')).toEqual(['a', 'd']);
  });

  it('a writer that cannot get the lock in time gets StoreBusy', async () => {
    const other = new SqliteStore(path, { busyTimeoutMs: 50 });
    const tx = await store.begin('holds the write lock');
    await store.set('locked', Buffer.from(''), {});
    try {
      await expect(other.set('blocked', Buffer.from(''), {})).rejects.toBeInstanceOf(StoreBusy);
      await expect(other.begin()).rejects.toBeInstanceOf(StoreBusy);
    } finally {
      await tx.commit();
    }
    await other.set('after', Buffer.from(''), {});
    expect(await other.exists('locked')).toBe(true);
    await other.close();
    expect(await store.exists('after')).toBe(true);
  });

  it('openStore opens sqlite files', async () => {
    const s = await openStore({ kind: 'sqlite', path: join(dir, 'other.sqlite') });
    expect(s).toBeInstanceOf(SqliteStore);
    expect(s.info()).toMatchObject({ kind: 'sqlite', path: join(dir, 'other.sqlite') });
    await s.close();
  });

  it('two processes writing the same file lose no writes', async () => {
    assertBuilt();
    const count = 150;
    await store.set('shared', Buffer.from(''), {});
    await store.set('counter', Buffer.from(''), { n: 0 });
    await store.close();
    await Promise.all([runWriter('sqlite', path, 'a', count), runWriter('sqlite', path, 'b', count)]);
    store = new SqliteStore(path);
    for (const tag of ['a', 'b']) {
      const keys = await store.glob(`${tag}/*`);
      expect(keys).toHaveLength(count);
      const values = await store.multiget(keys);
      for (const v of values) {
        const i = Number(v.key.split('/')[1]);
        expect(v.data.toString()).toBe(`${tag}:${i}`);
        expect(v.metadata).toEqual({ tag, i });
      }
      expect(await store.queryKeys({ tag })).toHaveLength(count);
    }
    const shared = await store.getMetadata('shared');
    expect(Object.keys(shared)).toHaveLength(2 * count);
    expect(await store.getMetadata('counter')).toEqual({ n: 2 * count });
  });
});
