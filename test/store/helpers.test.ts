import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { InvalidArgument, InvalidKey } from '../../src/model/errors.js';
import { checkKey, compareKeys } from '../../src/store/keys.js';
import { Mutex } from '../../src/util/mutex.js';
import { matchesQuery } from '../../src/store/query.js';
import { openStore, StoreSpecSchema } from '../../src/store/store-factory.js';
import { TransactionManager } from '../../src/store/transactions.js';

describe('keys', () => {
  it('accepts path-like keys and rejects escaping or ill-formed ones', () => {
    for (const k of ['a', 'a/b', '.a', 'a/.b', 'a..b', '...', 'x y', 'ü/日本', '\u{1F600}']) expect(checkKey(k)).toBe(k);
    for (const k of ['', '/a', 'a/', 'a//b', '.', '..', 'a/../b', 'a/./b', 'a\\b', 'a\0', '\ud800', 'x\udc00y']) {
      expect(() => checkKey(k)).toThrow(InvalidKey);
    }
  });

  it('a key checked again (the last one found valid, kept to spare a put its second check) is still the only thing let through', () => {
    const id = '5d4c2f5e-1b9b-4c3e-9d0a-2a1f0e3c4b5a';
    expect(checkKey(id)).toBe(id);
    expect(checkKey(id.split('').join(''))).toBe(id);
    for (const k of [undefined, null, 5, '', '/a', `${id}/`, '.qbstore', 'a/.qbtmp-x', '.qbstore/x']) expect(() => checkKey(k)).toThrow(InvalidKey);
    expect(checkKey(id)).toBe(id);
    expect(() => checkKey(`/${id}`)).toThrow(InvalidKey);
  });

  it('a plain key (letters, digits, _ and -: one compiled test) passes; a near one with anything the rules look at goes through them', () => {
    for (const k of ['-', '_', 'A9', '5d4c2f5e-1b9b-4c3e-9d0a-2a1f0e3c4b5a']) expect(checkKey(k)).toBe(k);
    for (const k of ['abc/', 'a-b\\c', 'ab\0', 'ab\ud800', 'ab/..']) expect(() => checkKey(k)).toThrow(InvalidKey);
    for (const k of ['abc\n', 'a-b/c', 'a.b']) expect(checkKey(k)).toBe(k);
  });

  it('compareKeys orders like SQLite (UTF-8 bytes / code points)', () => {
    const keys = ['b', 'a', 'ab', 'a/b', 'a0', '\u{1F600}', '\uE000', '\uFFFD', 'Z', 'é', 'e', ''];
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
    const ins = db.prepare('INSERT INTO t VALUES (?)');
    for (const k of keys) ins.run(k);
    const sqliteOrder = db.prepare('SELECT k FROM t ORDER BY k').pluck().all();
    db.close();
    expect([...keys].sort(compareKeys)).toEqual(sqliteOrder);
  });
});

describe('query semantics', () => {
  it('null matches only a stored null', () => {
    expect(matchesQuery({ x: null }, { x: null })).toBe(true);
    expect(matchesQuery({}, { x: null })).toBe(false);
    expect(matchesQuery({ x: 0 }, { x: null })).toBe(false);
  });
});

describe('Mutex', () => {
  it('grants the lock in FIFO order', async () => {
    const m = new Mutex();
    const order: number[] = [];
    const first = await m.acquire();
    const waiters = [1, 2, 3].map((n) => m.acquire().then((release) => {
      order.push(n);
      release();
    }));
    first();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    expect(m.isLocked).toBe(false);
  });
});

describe('StoreSpecSchema / openStore', () => {
  it('accepts nested specs and rejects bad ones', () => {
    expect(StoreSpecSchema.safeParse({ kind: 'memory' }).success).toBe(true);
    expect(
      StoreSpecSchema.safeParse({
        kind: 'mounted',
        prefix: 'a/',
        mount: { kind: 'mounted', prefix: 'b/', mount: { kind: 'memory' }, over: { kind: 'sqlite', path: ':memory:' } },
        over: { kind: 'file', path: '/tmp/x' },
      }).success,
    ).toBe(true);
    for (const bad of [{}, { kind: 'redis' }, { kind: 'sqlite' }, { kind: 'file', path: '' }, { kind: 'memory', extra: 1 }, { kind: 'mounted', prefix: 'a/', mount: { kind: 'memory' } }]) {
      expect(StoreSpecSchema.safeParse(bad).success).toBe(false);
    }
  });

  it('openStore rejects a bad spec with InvalidArgument', async () => {
    await expect(openStore({ kind: 'nope' } as never)).rejects.toBeInstanceOf(InvalidArgument);
    const s = await openStore({ kind: 'memory' });
    expect(s.info().kind).toBe('memory');
    await s.close();
  });
});

describe('TransactionManager.exclusive (the lock-free fast path)', () => {
  const manager = (guard: () => void = () => undefined): TransactionManager =>
    new TransactionManager({
      begin: async () => undefined,
      commit: async () => undefined,
      rollback: async () => undefined,
      guard,
      emit: () => undefined,
    });

  it('releases the lock however the write ends: value, rejection, synchronous throw, closed store', async () => {
    const tx = manager();
    await expect(tx.exclusive(async () => 1)).resolves.toBe(1);
    await expect(tx.exclusive(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    const sync = (): Promise<number> => {
      throw new Error('sync');
    };
    let threw: unknown;
    const p = (() => {
      try {
        return tx.exclusive(sync);
      } catch (err) {
        threw = err;
        return undefined;
      }
    })();
    expect(threw).toBeUndefined();
    await expect(p).rejects.toThrow('sync');
    await expect(tx.exclusive(async () => 2)).resolves.toBe(2);
    let open = false;
    const guarded = manager(() => {
      if (!open) throw new Error('closed');
    });
    await expect(guarded.exclusive(async () => 3)).rejects.toThrow('closed');
    open = true;
    await expect(guarded.exclusive(async () => 4)).resolves.toBe(4);
  });

  it('serialises overlapping writes in arrival order', async () => {
    const tx = manager();
    const order: string[] = [];
    let finishFirst!: () => void;
    const first = tx.exclusive(
      () =>
        new Promise<void>((resolve) => {
          order.push('first start');
          finishFirst = () => {
            order.push('first end');
            resolve();
          };
        }),
    );
    const second = tx.exclusive(async () => {
      order.push('second');
    });
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['first start']);
    finishFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(['first start', 'first end', 'second']);
  });
});
