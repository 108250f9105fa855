/**
 * MountedStore: encore's MountedStoreTest (mount point 'test/'), plus whiteouts, query
 * masking, read-only keys outside the mount, push, events and transactions.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgument, InvalidValue, KeyNotFound, ReadOnlyStore } from '../../src/model/errors.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { MountedStore, WHITEOUT } from '../../src/store/mounted-store.js';
import { openStore } from '../../src/store/store-factory.js';
import type { StoreEvent } from '../../src/store/store.js';

describe('MountedStore', () => {
  let mount: MemoryStore;
  let backing: MemoryStore;
  let store: MountedStore;

  beforeEach(async () => {
    mount = new MemoryStore();
    backing = new MemoryStore();
    await mount.set('test1', Buffer.from('mounted\n'), { metakey: 'mounted' });
    await backing.set('test/test1', Buffer.from('backing\n'), { metakey: 'backing' });
    await backing.set('test/test2', Buffer.from('backing\n'), { metakey: 'backing' });
    await backing.set('other/x', Buffer.from('outside\n'), { metakey: 'backing' });
    store = new MountedStore('test/', mount, backing);
  });

  async function backingSnapshot(): Promise<Array<[string, unknown]>> {
    return backing.query({});
  }

  describe('reads', () => {
    it('a key in the mount store masks the backing store', async () => {
      const v = await store.get('test/test1');
      expect(v.data.toString()).toBe('mounted\n');
      expect(v.metadata).toEqual({ metakey: 'mounted' });
      expect(v.key).toBe('test/test1');
      expect((await store.getData('test/test1')).toString()).toBe('mounted\n');
      expect(await store.getMetadata('test/test1')).toEqual({ metakey: 'mounted' });
      expect((await store.getDataRange('test/test1', 0, 5)).toString()).toBe('mount');
    });

    it('other keys fall through to the backing store', async () => {
      expect((await store.get('test/test2')).data.toString()).toBe('backing\n');
      expect((await store.getData('test/test2')).toString()).toBe('backing\n');
      expect(await store.getMetadata('test/test2')).toEqual({ metakey: 'backing' });
      expect((await store.getDataRange('test/test2', 1, 4)).toString()).toBe('ack');
      expect((await store.getData('other/x')).toString()).toBe('outside\n');
      expect(await store.exists('test/test2')).toBe(true);
      expect(await store.exists('other/x')).toBe(true);
    });

    it('missing keys are KeyNotFound', async () => {
      await expect(store.get('test/nope')).rejects.toBeInstanceOf(KeyNotFound);
      await expect(store.get('nope')).rejects.toBeInstanceOf(KeyNotFound);
      expect(await store.exists('test/nope')).toBe(false);
    });

    it('info describes both layers', () => {
      expect(store.info()).toMatchObject({ kind: 'mounted', prefix: 'test/', readonly: false, mount: { kind: 'memory' }, over: { kind: 'memory' } });
    });
  });

  describe('copy-on-write', () => {
    it('set writes into the mount store under the short key', async () => {
      await store.set('test/test2', Buffer.from('new\n'), { metakey: 'new' });
      expect((await mount.get('test2')).data.toString()).toBe('new\n');
      expect((await store.getData('test/test2')).toString()).toBe('new\n');
      expect((await backing.getData('test/test2')).toString()).toBe('backing\n');
    });

    it('setData copies a backing key up and keeps its metadata', async () => {
      const before = await backingSnapshot();
      await store.setData('test/test2', Buffer.from('data only\n'));
      expect(await mount.getMetadata('test2')).toEqual({ metakey: 'backing' });
      expect((await mount.getData('test2')).toString()).toBe('data only\n');
      expect(await store.getMetadata('test/test2')).toEqual({ metakey: 'backing' });
      expect((await store.getData('test/test2')).toString()).toBe('data only\n');
      expect(await backingSnapshot()).toEqual(before);
    });

    it('setMetadata copies a backing key up and keeps its data', async () => {
      await store.setMetadata('test/test2', { metakey: 'changed' });
      expect((await mount.getData('test2')).toString()).toBe('backing\n');
      expect(await mount.getMetadata('test2')).toEqual({ metakey: 'changed' });
      expect(await store.getMetadata('test/test2')).toEqual({ metakey: 'changed' });
      expect(await backing.getMetadata('test/test2')).toEqual({ metakey: 'backing' });
    });

    it('updateMetadata copies up and overrides an existing name', async () => {
      await store.updateMetadata('test/test2', { metakey: 'updated' });
      expect(await mount.getMetadata('test2')).toEqual({ metakey: 'updated' });
      expect((await mount.getData('test2')).toString()).toBe('backing\n');
      expect(await backing.getMetadata('test/test2')).toEqual({ metakey: 'backing' });
    });

    it('updateMetadata copies up and adds a name', async () => {
      await store.updateMetadata('test/test2', { added: 1 });
      expect(await store.getMetadata('test/test2')).toEqual({ metakey: 'backing', added: 1 });
      expect(await mount.getMetadata('test2')).toEqual({ metakey: 'backing', added: 1 });
    });

    it('updateMetadata of a masked key merges in the mount store', async () => {
      await store.updateMetadata('test/test1', { added: 2 });
      expect(await mount.getMetadata('test1')).toEqual({ metakey: 'mounted', added: 2 });
    });

    it('new keys are created in the mount store', async () => {
      await store.setData('test/brand/new', Buffer.from('x'));
      expect(await mount.exists('brand/new')).toBe(true);
      expect(await backing.exists('test/brand/new')).toBe(false);
    });

    it('copying up is an update in this view; a new key is a set', async () => {
      const events: StoreEvent[] = [];
      store.on((e) => events.push(e));
      await store.setData('test/test2', Buffer.from('x'));
      await store.set('test/test3', Buffer.from('y'), { a: 1 });
      expect(events).toEqual([
        { type: 'update', key: 'test/test2', metadata: { metakey: 'backing' } },
        { type: 'set', key: 'test/test3', metadata: { a: 1 } },
      ]);
    });
  });

  describe('keys outside the mount are read-only', () => {
    it('every write path raises ReadOnlyStore and the backing store is untouched', async () => {
      const before = await backingSnapshot();
      await expect(store.set('other/x', Buffer.from('no'), {})).rejects.toBeInstanceOf(ReadOnlyStore);
      await expect(store.set('other/new', Buffer.from('no'), {})).rejects.toBeInstanceOf(ReadOnlyStore);
      await expect(store.setData('other/x', Buffer.from('no'))).rejects.toBeInstanceOf(ReadOnlyStore);
      await expect(store.setMetadata('other/x', {})).rejects.toBeInstanceOf(ReadOnlyStore);
      await expect(store.updateMetadata('other/x', {})).rejects.toBeInstanceOf(ReadOnlyStore);
      await expect(store.delete('other/x')).rejects.toBeInstanceOf(ReadOnlyStore);
      await expect(store.fromBytes('other/x', Buffer.from('no'))).rejects.toBeInstanceOf(ReadOnlyStore);
      await expect(store.multiset(['test/ok', 'other/x'], [Buffer.from(''), Buffer.from('')], [{}, {}])).rejects.toBeInstanceOf(ReadOnlyStore);
      // The multiset was one transaction: its first write was rolled back too.
      expect(await store.exists('test/ok')).toBe(false);
      // The prefix itself is not a key inside the mount.
      await expect(store.set('test', Buffer.from('no'), {})).rejects.toBeInstanceOf(ReadOnlyStore);
      expect(await backingSnapshot()).toEqual(before);
    });
  });

  describe('whiteouts', () => {
    it('deleting a backing-only key hides it', async () => {
      await store.delete('test/test2');
      expect(await store.exists('test/test2')).toBe(false);
      await expect(store.get('test/test2')).rejects.toBeInstanceOf(KeyNotFound);
      await expect(store.getData('test/test2')).rejects.toBeInstanceOf(KeyNotFound);
      await expect(store.getMetadata('test/test2')).rejects.toBeInstanceOf(KeyNotFound);
      await expect(store.getDataRange('test/test2')).rejects.toBeInstanceOf(KeyNotFound);
      await expect(store.delete('test/test2')).rejects.toBeInstanceOf(KeyNotFound);
      await expect(store.updateMetadata('test/test2', { a: 1 })).rejects.toBeInstanceOf(KeyNotFound);
      expect(await store.glob('test/*')).toEqual(['test/test1']);
      expect(await store.glob('**')).toEqual(['other/x', 'test/test1']);
      expect(await store.queryKeys({ metakey: 'backing' })).toEqual(['other/x']);
      expect(await store.queryKeys({})).toEqual(['other/x', 'test/test1']);
      expect((await store.query({})).map(([k]) => k)).toEqual(['other/x', 'test/test1']);
      // The backing store still has it.
      expect(await backing.exists('test/test2')).toBe(true);
      expect(await mount.getMetadata('test2')).toEqual({ [WHITEOUT]: true });
    });

    it('deleting a masked key that also exists below keeps it deleted', async () => {
      await store.delete('test/test1');
      expect(await store.exists('test/test1')).toBe(false);
      await expect(store.get('test/test1')).rejects.toBeInstanceOf(KeyNotFound);
      expect(await store.glob('test/**')).toEqual(['test/test2']);
    });

    it('deleting a mount-only key leaves no whiteout', async () => {
      await store.set('test/only', Buffer.from('x'), {});
      await store.delete('test/only');
      expect(await mount.exists('only')).toBe(false);
      expect(await store.exists('test/only')).toBe(false);
    });

    it('a later set un-hides the key with fresh values', async () => {
      const events: StoreEvent[] = [];
      store.on((e) => events.push(e));
      await store.delete('test/test2');
      await store.setData('test/test2', Buffer.from('reborn'));
      expect(await store.getMetadata('test/test2')).toEqual({});
      expect((await store.getData('test/test2')).toString()).toBe('reborn');
      await store.delete('test/test2');
      await store.setMetadata('test/test2', { m: 1 });
      expect((await store.getData('test/test2')).length).toBe(0);
      expect(events).toEqual([
        { type: 'delete', key: 'test/test2', metadata: { metakey: 'backing' } },
        { type: 'set', key: 'test/test2', metadata: {} },
        { type: 'delete', key: 'test/test2', metadata: {} },
        { type: 'set', key: 'test/test2', metadata: { m: 1 } },
      ]);
    });

    it('the whiteout metadata name is reserved', async () => {
      await expect(store.set('test/w', Buffer.from(''), { [WHITEOUT]: true })).rejects.toBeInstanceOf(InvalidValue);
      await expect(store.updateMetadata('test/test1', { [WHITEOUT]: true })).rejects.toBeInstanceOf(InvalidValue);
      await expect(store.queryKeys({ [WHITEOUT]: true })).rejects.toBeInstanceOf(InvalidArgument);
    });

    it('a rolled-back delete restores visibility', async () => {
      await expect(
        store.transaction('t', async () => {
          await store.delete('test/test2');
          expect(await store.exists('test/test2')).toBe(false);
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      expect(await store.exists('test/test2')).toBe(true);
      expect(await mount.exists('test2')).toBe(false);
    });
  });

  describe('queries and globs merge both layers', () => {
    it('no duplicates, masked keys answered from the mount only', async () => {
      // test/test1 exists in both: mount says 'mounted', backing says 'backing'.
      expect(await store.queryKeys({ metakey: 'backing' })).toEqual(['other/x', 'test/test2']);
      expect(await store.queryKeys({ metakey: 'mounted' })).toEqual(['test/test1']);
      expect(await store.query({ metakey: 'mounted' })).toEqual([['test/test1', { metakey: 'mounted' }]]);
      expect(await store.query({ metakey: 'backing' }, ['metakey'])).toEqual([
        ['other/x', { metakey: 'backing' }],
        ['test/test2', { metakey: 'backing' }],
      ]);
      expect(await store.glob('**')).toEqual(['other/x', 'test/test1', 'test/test2']);
      expect(await store.glob('test/test?')).toEqual(['test/test1', 'test/test2']);
      expect(await store.glob('other/*')).toEqual(['other/x']);
    });

    it('copy-up changes which metadata a query sees', async () => {
      await store.updateMetadata('test/test2', { metakey: 'moved' });
      expect(await store.queryKeys({ metakey: 'backing' })).toEqual(['other/x']);
      expect(await store.queryKeys({ metakey: 'moved' })).toEqual(['test/test2']);
    });
  });

  describe('push', () => {
    it('moves a key from the mount into the backing store; the view is unchanged', async () => {
      const before = await store.get('test/test1');
      await store.push('test/test1');
      expect(await mount.exists('test1')).toBe(false);
      expect((await backing.getData('test/test1')).toString()).toBe('mounted\n');
      expect(await backing.getMetadata('test/test1')).toEqual({ metakey: 'mounted' });
      const after = await store.get('test/test1');
      expect(after.data).toEqual(before.data);
      expect(after.metadata).toEqual(before.metadata);
    });

    it('pushing a whiteout deletes the key from the backing store', async () => {
      await store.delete('test/test2');
      await store.push('test/test2');
      expect(await backing.exists('test/test2')).toBe(false);
      expect(await mount.exists('test2')).toBe(false);
      expect(await store.exists('test/test2')).toBe(false);
    });

    it('push of a key the mount store lacks is KeyNotFound; inside a transaction InvalidArgument', async () => {
      await expect(store.push('test/test2')).rejects.toBeInstanceOf(KeyNotFound);
      await expect(store.push('other/x')).rejects.toBeInstanceOf(KeyNotFound);
      await expect(store.transaction('t', () => store.push('test/test1'))).rejects.toBeInstanceOf(InvalidArgument);
      expect(await mount.exists('test1')).toBe(true);
    });
  });

  describe('transactions delegate to the mount store', () => {
    it('commit and rollback act on the mount store; events carry full keys', async () => {
      const events: StoreEvent[] = [];
      const mountEvents: StoreEvent[] = [];
      store.on((e) => events.push(e));
      mount.on((e) => mountEvents.push(e));
      await store.transaction('ok', async () => {
        await store.set('test/a', Buffer.from('a'), {});
        expect(await mount.exists('a')).toBe(true);
      });
      expect(events).toEqual([
        { type: 'transactionStart', notes: 'ok' },
        { type: 'set', key: 'test/a', metadata: {} },
        { type: 'transactionEnd', notes: 'ok', state: 'done' },
      ]);
      expect(mountEvents.map((e) => e.type)).toEqual(['transactionStart', 'set', 'transactionEnd']);

      const tx = await store.begin('undo');
      await store.set('test/b', Buffer.from('b'), {});
      await store.updateMetadata('test/test2', { x: 1 });
      await tx.rollback();
      expect(await store.exists('test/b')).toBe(false);
      expect(await mount.exists('test2')).toBe(false);
      expect(await store.getMetadata('test/test2')).toEqual({ metakey: 'backing' });
    });
  });

  it('openStore builds a mounted store that owns its children', async () => {
    const s = await openStore({ kind: 'mounted', prefix: 'scratch/', mount: { kind: 'memory' }, over: { kind: 'memory' } });
    expect(s).toBeInstanceOf(MountedStore);
    await s.set('scratch/a', Buffer.from('a'), {});
    await expect(s.set('repo/a', Buffer.from('a'), {})).rejects.toBeInstanceOf(ReadOnlyStore);
    const m = s as MountedStore;
    expect(await m.mount.exists('a')).toBe(true);
    await s.close();
    await expect(m.mount.exists('a')).rejects.toThrow();
  });
});
