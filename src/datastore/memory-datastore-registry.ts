/**
 * In-memory datastores by name: sessions that name the same one share it (one
 * quantum's outputs become the next one's inputs, as with two butlers on one root);
 * an unnamed one is private to its session.
 */
import { v4 as uuidv4 } from 'uuid';
import { StorageClassRegistry } from '../model/storage-class.js';
import { openStore } from '../store/store-factory.js';
import { MemoryDatastore } from './memory-datastore.js';

export class MemoryDatastoreRegistry {
  private readonly named = new Map<string, MemoryDatastore>();

  async open(name: string | undefined): Promise<{ datastore: MemoryDatastore; shared: boolean }> {
    if (name !== undefined) {
      const existing = this.named.get(name);
      if (existing) return { datastore: existing, shared: true };
    }
    const store = await openStore({ kind: 'memory' });
    const datastore = new MemoryDatastore(`InMemoryDatastore@${name ?? uuidv4()}`, store, StorageClassRegistry.withBuiltins());
    if (name !== undefined) this.named.set(name, datastore);
    return { datastore, shared: false };
  }

  names(): string[] {
    return [...this.named.keys()];
  }
}
