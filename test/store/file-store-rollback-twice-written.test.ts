/**
 * A FileStore transaction that writes one key twice and is rolled back puts back the key as it
 * was before the transaction, not as the first write left it: the journal keeps the oldest copy
 * of a key per transaction (file-journal.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/store/file-store.js';

describe('FileStore rollback of a key written twice', () => {
  let dir: string;
  let store: FileStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qb-file-twice-'));
    store = new FileStore(join(dir, 'root'));
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('restores the data and metadata from before the transaction', async () => {
    await store.set('run/a.json', Buffer.from('original'), { v: 0 });
    const tx = await store.begin('two writes');
    await store.set('run/a.json', Buffer.from('first write'), { v: 1 });
    await store.set('run/a.json', Buffer.from('second write'), { v: 2 });
    await tx.rollback();
    expect((await store.getData('run/a.json')).toString()).toBe('original');
    expect(await store.getMetadata('run/a.json')).toEqual({ v: 0 });
  });

  it('removes a key the transaction created and then wrote again', async () => {
    const tx = await store.begin('create then overwrite');
    await store.set('run/b.json', Buffer.from('first write'), { v: 1 });
    await store.set('run/b.json', Buffer.from('second write'), { v: 2 });
    await tx.rollback();
    expect(await store.exists('run/b.json')).toBe(false);
  });
});
