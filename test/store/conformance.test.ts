import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../src/store/file-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { MountedStore } from '../../src/store/mounted-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { runConformance, type StoreFixture } from './conformance.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'qb-store-'));
}

function fixture(store: Store, dir?: string): StoreFixture {
  return {
    store,
    async cleanup() {
      await store.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Stale copies of the fixture keys in the backing store: the view must mask all of them. */
async function seedBacking(backing: Store): Promise<void> {
  const keys = ['test1', ...Array.from({ length: 10 }, (_, i) => `key${i}`), ...Array.from({ length: 10 }, (_, i) => `existing_key${i}`)];
  await backing.multiset(
    keys,
    keys.map(() => Buffer.from('stale backing value')),
    keys.map(() => ({ stale: true, query_test1: 'value', query_test2: 99, a_str: 'test3' })),
  );
}

runConformance('memory', async () => fixture(new MemoryStore()));

runConformance('sqlite (temp file)', async () => {
  const dir = await tempDir();
  return fixture(new SqliteStore(join(dir, 'store.sqlite')), dir);
});

runConformance('sqlite (:memory:)', async () => fixture(new SqliteStore(':memory:')));

runConformance('file (temp dir)', async () => {
  const dir = await tempDir();
  return fixture(new FileStore(join(dir, 'root')), dir);
});

runConformance('mounted (memory over memory, stale backing)', async () => {
  const backing = new MemoryStore();
  await seedBacking(backing);
  return fixture(new MountedStore('', new MemoryStore(), backing));
});

runConformance('mounted (sqlite mount over file backing)', async () => {
  const dir = await tempDir();
  const backing = new FileStore(join(dir, 'backing'));
  await seedBacking(backing);
  return fixture(new MountedStore('', new SqliteStore(join(dir, 'mount.sqlite')), backing), dir);
});
