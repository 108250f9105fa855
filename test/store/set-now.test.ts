/**
 * BaseStore.setNow: set done in the caller's turn by a store that writes in memory, when nothing
 * holds its lock; otherwise nothing is done and the caller uses set.
 */
import { describe, expect, it } from 'vitest';
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
});
