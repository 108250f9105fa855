/**
 * BaseStore.setNow: set done in the caller's turn by a store that writes in memory, when nothing
 * holds its lock; otherwise nothing is done and the caller uses set.
 */
import { describe, expect, it, vi } from 'vitest';
import { InvalidKey } from '../../src/model/errors.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { StoreEvent } from '../../src/store/store.js';

describe('setNow', () => {
  it('writes at once with the lock free (the same outcome and event as set); does nothing in a transaction or on a store that writes by I/O', async () => {
    const store = new MemoryStore();
    const events: StoreEvent[] = [];
    store.on((e) => events.push(e));
    expect(store.setNow('a', Buffer.from('1'), { m: 1 })).toBe(true);
    expect([(await store.getData('a')).toString(), await store.getMetadata('a')]).toEqual(['1', { m: 1 }]);
    expect(events.map((e) => [e.type, 'key' in e ? e.key : null])).toEqual([['set', 'a']]);
    expect(store.setNow('a', Buffer.from('2'), { m: 2 })).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'update', key: 'a', metadata: { m: 2 } });
    expect(() => store.setNow('/bad', Buffer.from('x'), {})).toThrow(InvalidKey);

    const tx = await store.begin('open');
    expect(store.setNow('b', Buffer.from('3'), {})).toBe(false);
    expect(await store.exists('b')).toBe(false);
    await tx.commit();

    const sqlite = new SqliteStore(':memory:');
    expect(sqlite.setNow('c', Buffer.from('4'), {})).toBe(false);
    expect(await sqlite.exists('c')).toBe(false);
    await sqlite.close();
    await store.close();
  });

  it('createNow: a new key written at once with one lookup; a stored key answered with its metadata, nothing written; a held lock writes nothing', async () => {
    const store = new MemoryStore();
    const events: StoreEvent[] = [];
    store.on((e) => events.push(e));
    const lookups = vi.spyOn((store as unknown as { entries: Map<string, unknown> }).entries, 'get');
    expect(store.createNow('a', Buffer.from('1'), { m: 1 })).toBe(true);
    expect(lookups).toHaveBeenCalledTimes(1);
    expect([(await store.getData('a')).toString(), await store.getMetadata('a')]).toEqual(['1', { m: 1 }]);
    expect(events.map((e) => [e.type, 'key' in e ? e.key : null])).toEqual([['set', 'a']]);
    // Stored: its metadata as peekMetadata gives it, and nothing changed.
    expect(store.createNow('a', Buffer.from('2'), { m: 2 })).toBe(await store.peekMetadata('a'));
    expect([(await store.getData('a')).toString(), events.length]).toEqual(['1', 1]);
    expect(() => store.createNow('/bad', Buffer.from('x'), {})).toThrow(InvalidKey);

    const tx = await store.begin('open');
    expect(store.createNow('b', Buffer.from('3'), {})).toBe(false);
    expect(store.createNow('a', Buffer.from('3'), {})).toEqual({ m: 1 });
    expect(await store.exists('b')).toBe(false);
    await tx.commit();
    await store.close();
  });

  it('an entry keeps when it was created through overwrites and metadata updates (a first write keeps one time for both)', async () => {
    const store = new MemoryStore();
    let t = 1000;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => (t += 1000));
    try {
      expect(store.createNow('a', Buffer.from('1'), { m: 1 })).toBe(true);
      const first = await store.get('a');
      expect(first.created).toBe(first.modified);
      await store.set('a', Buffer.from('2'), { m: 2 });
      await store.updateMetadata('a', { n: 1 });
      const later = await store.get('a');
      expect(later.created).toBe(first.created);
      expect(later.modified).toBeGreaterThan(first.modified);
    } finally {
      clock.mockRestore();
      await store.close();
    }
  });
});
