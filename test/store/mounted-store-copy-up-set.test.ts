/**
 * MountedStore: a full `set` (data and metadata) of a key the mount does not hold yet but the
 * backing store does is an `update` in the mounted view (the key existed), as a copy-up by
 * `setData` is; a key in neither store is a `set`.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory-store.js';
import { MountedStore } from '../../src/store/mounted-store.js';
import type { StoreEvent } from '../../src/store/store.js';

describe('MountedStore set over a backing key', () => {
  it('reports an update for a key only the backing store held, and a set for a new key', async () => {
    const mount = new MemoryStore();
    const backing = new MemoryStore();
    await backing.set('test/below', Buffer.from('backing\n'), { metakey: 'backing' });
    const store = new MountedStore('test/', mount, backing);
    const events: StoreEvent[] = [];
    store.on((e) => events.push(e));
    await store.set('test/below', Buffer.from('mounted\n'), { metakey: 'mounted' });
    await store.set('test/fresh', Buffer.from('new\n'), { metakey: 'new' });
    expect(events).toEqual([
      { type: 'update', key: 'test/below', metadata: { metakey: 'mounted' } },
      { type: 'set', key: 'test/fresh', metadata: { metakey: 'new' } },
    ]);
    // The backing store is untouched.
    expect((await backing.getData('test/below')).toString()).toBe('backing\n');
  });
});
