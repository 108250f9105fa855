/** The key-value store layer: the Store contract, its backends and helpers. */
export type {
  Metadata,
  Store,
  StoreEvent,
  StoreInfo,
  StoreListener,
  StoreValue,
  Transaction,
} from './store.js';
export { BaseStore, type StoreOptions } from './base-store.js';
export { MemoryStore } from './memory-store.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { FileStore, type FileStoreOptions } from './file-store.js';
export { MountedStore, WHITEOUT, type MountedStoreOptions } from './mounted-store.js';
export { openStore, StoreSpecSchema, type StoreSpec } from './store-factory.js';
export { compileGlob, type Glob } from '../model/glob.js';
export { matchesQuery } from './query.js';
export { checkKey, compareKeys } from './keys.js';
export { DEFAULT_PROGRESS_THRESHOLD, DEFAULT_CHUNK_SIZE } from './progress.js';
