/**
 * Datastores by name: sessions that name the same one share it (one quantum's
 * outputs become the next one's inputs, as with two butlers on one root); an
 * unnamed one is private to its session and closed with it. Each runs on the
 * store its first opener chose (memory by default; sqlite, file, or mounted).
 */
import { v4 as uuidv4 } from 'uuid';
import { StorageClassRegistry } from '../model/storage-class.js';
import { ConflictingDefinition } from '../model/errors.js';
import { openStore, type StoreSpec } from '../store/store-factory.js';
import type { Store } from '../store/store.js';
import { MemoryDatastore } from './memory-datastore.js';

interface Named {
  datastore: MemoryDatastore;
  store: Store;
  specKey: string;
}

export class MemoryDatastoreRegistry {
  private readonly named = new Map<string, Named>();

  async open(
    name: string | undefined,
    spec: StoreSpec = { kind: 'memory' },
  ): Promise<{ datastore: MemoryDatastore; store: Store; shared: boolean }> {
    const specKey = JSON.stringify(spec);
    if (name !== undefined) {
      const existing = this.named.get(name);
      if (existing) {
        if (existing.specKey !== specKey) {
          throw new ConflictingDefinition(`Datastore ${name} is already open on another store (${existing.specKey}).`, {
            details: { name, store: JSON.parse(existing.specKey) as unknown },
          });
        }
        return { datastore: existing.datastore, store: existing.store, shared: true };
      }
    }
    const store = await openStore(spec);
    const datastore = new MemoryDatastore(`InMemoryDatastore@${name ?? uuidv4()}`, store, StorageClassRegistry.withBuiltins());
    if (name !== undefined) this.named.set(name, { datastore, store, specKey });
    return { datastore, store, shared: false };
  }

  names(): string[] {
    return [...this.named.keys()];
  }

  async closeAll(): Promise<void> {
    for (const { store } of this.named.values()) await store.close().catch(() => {});
    this.named.clear();
  }
}
