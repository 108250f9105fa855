/**
 * The key-value store contract (encore's AbstractStore, in TypeScript).
 *
 * Keys are strings; values are bytes plus a JSON-object metadata map. Every backend
 * (memory, sqlite, file, mounted) implements this interface and passes the same
 * conformance suite. Methods are async so file-backed stores can stream; values
 * always cross the boundary as copies, so callers never alias stored state.
 * A missing key is always a KeyNotFound error, never an empty value.
 */

export type Metadata = Record<string, unknown>;

export interface SetOptions {
  /**
   * The caller hands `data` and `metadata` over and never touches them again, so a store
   * that keeps values in memory may keep them instead of copies (a datastore's freshly
   * encoded bytes and record). Metadata is validated all the same, unless `checked`.
   */
  adopt?: boolean;
  /**
   * With `adopt`: the caller built `metadata` itself as a plain object of well-formed strings,
   * finite numbers (no -0) and booleans (a datastore's record), so the store neither scans nor
   * copies it. Never for metadata that came from outside.
   */
  checked?: boolean;
}

export interface StoreValue {
  key: string;
  data: Buffer;
  metadata: Metadata;
  size: number;
  /** Unix epoch seconds. */
  created: number;
  modified: number;
}

/** A stored value seen without copies: neither member may be modified. */
export interface StoredView {
  readonly data: Buffer;
  readonly metadata: Readonly<Metadata>;
}

export interface StoreInfo {
  readonly: boolean;
  kind: 'memory' | 'sqlite' | 'file' | 'mounted';
  /** Backend-specific facts (path, mount point, ...). */
  [extra: string]: unknown;
}

/** Events as encore emits them; `transaction*` bracket the commit of a transaction. */
export type StoreEvent =
  | { type: 'set' | 'update'; key: string; metadata: Metadata }
  | { type: 'delete'; key: string; metadata: Metadata }
  | { type: 'transactionStart'; notes: string }
  | { type: 'transactionEnd'; notes: string; state: 'done' | 'failed' }
  | { type: 'progressStart'; operationId: string; key: string; steps: number; message?: string }
  | { type: 'progressStep'; operationId: string; key: string; step: number }
  | { type: 'progressEnd'; operationId: string; key: string; exitState: 'normal' | 'error' };

export type StoreListener = (event: StoreEvent) => void;

export interface Transaction {
  readonly id: string;
  readonly notes: string;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export interface Store {
  info(): StoreInfo;
  connect(credentials?: unknown): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;

  get(key: string): Promise<StoreValue>;
  getData(key: string): Promise<Buffer>;
  /** The data, possibly the store's own buffer (no copy where the backend holds it in memory): the caller must not modify it. */
  readData(key: string): Promise<Buffer>;
  /** `end` is exclusive, as a slice; both clamp to the value's size; start > end is an error. */
  getDataRange(key: string, start?: number, end?: number): Promise<Buffer>;
  getMetadata(key: string, select?: readonly string[]): Promise<Metadata>;
  exists(key: string): Promise<boolean>;
  /**
   * The metadata as stored, or undefined when the key is missing (no KeyNotFound, no copy
   * where the backend holds it in memory): the caller must not modify it. For callers inside
   * the process that only read it (a datastore's record lookup); `getMetadata` stays the copy.
   */
  peekMetadata(key: string): Promise<Readonly<Metadata> | undefined>;
  /** Data and metadata in one read, both read-only as with `readData` and `peekMetadata`; undefined when missing. */
  peek(key: string): Promise<StoredView | undefined>;

  set(key: string, data: Buffer, metadata: Metadata, opts?: SetOptions): Promise<void>;
  /** set done in the caller's turn where the backend can (in memory, nothing holding its lock): true when written, false when nothing was done (then call set). */
  setNow?(key: string, data: Buffer, metadata: Metadata, opts?: SetOptions): boolean;
  /**
   * A new key's set, in the caller's turn, by a backend that holds its entries in memory (others
   * leave it out): the key is looked up once and, in the same call, written if it has no entry.
   * The key's metadata as stored (read-only, as peekMetadata) when it has an entry: nothing written;
   * true when written (as setNow); false when it has none but cannot be written now (then call set).
   */
  createNow?(key: string, data: Buffer, metadata: Metadata, opts?: SetOptions): Readonly<Metadata> | boolean;
  setData(key: string, data: Buffer): Promise<void>;
  setMetadata(key: string, metadata: Metadata): Promise<void>;
  updateMetadata(key: string, metadata: Metadata): Promise<void>;
  delete(key: string): Promise<void>;

  multiget(keys: readonly string[]): Promise<StoreValue[]>;
  multigetData(keys: readonly string[]): Promise<Buffer[]>;
  multigetMetadata(keys: readonly string[], select?: readonly string[]): Promise<Metadata[]>;
  /** Zip semantics: extra items on either side are ignored. One transaction where the backend has them. */
  multiset(keys: readonly string[], datas: readonly Buffer[], metadatas: readonly Metadata[]): Promise<void>;
  multisetData(keys: readonly string[], datas: readonly Buffer[]): Promise<void>;
  multisetMetadata(keys: readonly string[], metadatas: readonly Metadata[]): Promise<void>;
  multiupdateMetadata(keys: readonly string[], metadatas: readonly Metadata[]): Promise<void>;

  /** Keys matching a glob (model/glob.ts: `*` stops at `/`, `**` crosses it, dots match), sorted. */
  glob(pattern: string): Promise<string[]>;
  /** Exact-match metadata query; `select` projects the returned metadata. */
  query(match: Metadata, select?: readonly string[]): Promise<Array<[string, Metadata]>>;
  queryKeys(match: Metadata): Promise<string[]>;

  fromBytes(key: string, data: Buffer): Promise<void>;
  toBytes(key: string): Promise<Buffer>;
  fromFile(key: string, path: string): Promise<void>;
  toFile(key: string, path: string): Promise<void>;

  /** Begin a (possibly nested) transaction; events are held until the outermost commit. */
  begin(notes?: string): Promise<Transaction>;
  /** Run `fn` in a transaction: commit on success, roll back and rethrow on failure. */
  transaction<T>(notes: string, fn: () => Promise<T>): Promise<T>;

  /** Subscribe to events; returns an unsubscribe function. */
  on(listener: StoreListener): () => void;
  close(): Promise<void>;
}
