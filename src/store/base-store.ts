/**
 * The shared implementation of the Store contract. Backends supply a few primitives
 * (read, put, merge, delete, list, query, transaction frames); this class does argument
 * checking, copying, events, progress, transactions and the multi-key calls, so every
 * backend behaves the same way.
 *
 * Choices that differ from encore's DictMemoryStore:
 * - `fromBytes`/`fromFile` keep the existing metadata (encore's abstract default; its
 *   DictMemoryStore replaced it with {}), so they behave like `setData`.
 * - `updateMetadata` is a shallow merge that bumps `modified` and emits an `update` event
 *   (DictMemoryStore did neither).
 * - multi-key writes validate every item first, then run as one transaction (notes
 *   'multiset', ...): all or nothing, with transactionStart/End around their events.
 *
 * Over 500 lines as one cohesive thing: the whole Store contract, once for every backend.
 */
import { NOT_OURS, openRegularForReading, openRegularForWriting } from '../util/regular-file.js';
import { ButlerError, IOFailure, InvalidArgument, KeyNotFound } from '../model/errors.js';
import { compileGlob, type Glob } from '../model/glob.js';
import { cloneJson } from '../model/json-value.js';
import { EventHub } from './events.js';
import { checkKey, checkKeys, compareKeys, sortKeys } from './keys.js';
import { DEFAULT_CHUNK_SIZE, DEFAULT_PROGRESS_THRESHOLD, noStep, readFileChunked, withProgress, writeChunked, type StepFn } from './progress.js';
import { checkMatch } from './query.js';
import type { Metadata, SetOptions, Store, StoreEvent, StoreInfo, StoreListener, StoreValue, StoredView, Transaction } from './store.js';
import { TransactionManager } from './transactions.js';
import { checkData, checkDatas, checkMetadata, checkMetadatas, checkSelect, project } from './values.js';
import { fsPathProblem } from '../util/fs-path.js';

/** What a write done in the caller's turn returns (one settled promise for them all). */
const DONE: Promise<void> = Promise.resolve();

export interface StoreOptions {
  /** Values of at least this many bytes emit progress events (default 1 MiB). */
  progressThreshold?: number;
  /** Bytes per progress step and per I/O chunk (default 1 MiB). */
  chunkSize?: number;
}

export interface Entry {
  data: Buffer;
  metadata: Metadata;
  created: number;
  modified: number;
}

/** What a put changes: absent data/metadata are kept (or b'' / {} for a new key). */
export interface PutChange {
  data?: Buffer;
  metadata?: Metadata;
  /** `data` was handed over (SetOptions.adopt): it may be kept without a copy. */
  adopt?: boolean;
}

export interface PutResult {
  existed: boolean;
  /** The metadata now stored; read-only for the caller. */
  metadata: Metadata;
}

export function keyNotFound(key: string): Error {
  return new KeyNotFound(`key not found: ${JSON.stringify(key)}`, { details: { key } });
}

export abstract class BaseStore implements Store {
  protected readonly hub = new EventHub();
  protected readonly tx: TransactionManager;
  protected readonly progressThreshold: number;
  protected readonly chunkSize: number;
  /** True when primitives return metadata objects the caller may keep (no copy needed). */
  protected readonly freshMetadata: boolean = false;
  private connected = false;
  private closed = false;

  constructor(options: StoreOptions = {}) {
    this.progressThreshold = options.progressThreshold ?? DEFAULT_PROGRESS_THRESHOLD;
    this.chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
    this.tx = new TransactionManager({
      begin: (depth, notes) => this._beginFrame(depth, notes),
      commit: (depth) => this._commitFrame(depth),
      rollback: (depth) => this._rollbackFrame(depth),
      guard: () => this.assertOpen(),
      emit: (event) => this.hub.emit(event),
    });
  }

  // ---- backend primitives -------------------------------------------------------------

  abstract info(): StoreInfo;
  /** The entry, with a data Buffer the caller owns; undefined when missing. */
  protected abstract _get(key: string): Promise<Entry | undefined>;
  protected abstract _getMeta(key: string): Promise<Metadata | undefined>;
  /** The data alone; backends that keep metadata apart (files) skip reading it. */
  protected async _getData(key: string): Promise<Buffer | undefined> {
    return (await this._get(key))?.data;
  }
  /** The data, which the caller will not modify: a backend holding it in memory may return its own buffer. */
  protected _readData(key: string): Promise<Buffer | undefined> {
    return this._getData(key);
  }
  protected abstract _exists(key: string): Promise<boolean>;
  /** Data and metadata, both read-only (see `_readData`); backends holding both may read them at once. */
  protected async _peek(key: string): Promise<StoredView | undefined> {
    const metadata = await this._getMeta(key);
    if (metadata === undefined) return undefined;
    const data = await this._readData(key);
    return data && { data, metadata };
  }
  /** Bytes [start, end) clamped to the size (end undefined: to the end). */
  protected async _getRange(key: string, start: number, end: number | undefined): Promise<Buffer | undefined> {
    const entry = await this._get(key);
    if (!entry) return undefined;
    const [s, e] = clampRange(entry.data.length, start, end);
    return entry.data.subarray(s, e);
  }
  /** Creates or overwrites; keeps `created` of an existing key. Called with the write lock held. */
  protected abstract _put(key: string, change: PutChange, step: StepFn): Promise<PutResult>;
  /** _put done in the caller's turn, for a store that needs no I/O to write (see set). */
  protected _putNow?(key: string, change: PutChange, step: StepFn): PutResult;
  /** Several puts, in order, inside an open frame (multiset*); backends may batch them. */
  protected async _putMany(items: ReadonlyArray<{ key: string; change: PutChange }>): Promise<PutResult[]> {
    const out: PutResult[] = [];
    for (const { key, change } of items) out.push(await this._put(key, change, noStep));
    return out;
  }
  /** Shallow-merges `patch` into an existing key's metadata; undefined when missing. */
  protected async _merge(key: string, patch: Metadata): Promise<Metadata | undefined> {
    const current = await this._getMeta(key);
    if (current === undefined) return undefined;
    return (await this._put(key, { metadata: { ...current, ...patch } }, noStep)).metadata;
  }
  /** Deletes; returns the old metadata, or undefined when missing. */
  protected abstract _delete(key: string): Promise<Metadata | undefined>;
  /** Every key starting with `prefix`, any order. */
  protected abstract _keys(prefix: string): Promise<string[]>;
  /** Keys matching `glob`, any order. */
  protected async _glob(glob: Glob): Promise<string[]> {
    return (await this._keys(glob.prefix)).filter((k) => glob.match(k));
  }
  /** Entries matching `match` (see query.ts), any order; metadata read-only. */
  protected abstract _query(match: Metadata): Promise<Array<[string, Metadata]>>;
  protected async _queryKeys(match: Metadata): Promise<string[]> {
    return (await this._query(match)).map(([k]) => k);
  }
  /** Optional: store a file's content without loading it whole (return undefined to decline). */
  protected _putFile(_key: string, _path: string, _step: StepFn): Promise<PutResult | undefined> {
    return Promise.resolve(undefined);
  }
  /** When true, toFile uses `_size` and `_toFile` instead of loading the value. */
  protected readonly streamsToFile: boolean = false;
  /** Writes a value to a file without loading it whole; false when the key is missing. */
  protected _toFile(_key: string, _path: string, _step: StepFn): Promise<boolean> {
    return Promise.reject(new Error('_toFile not implemented'));
  }
  /** The size of a value without reading it; undefined when missing. */
  protected _size(_key: string): Promise<number | undefined> {
    return Promise.reject(new Error('_size not implemented'));
  }
  protected abstract _beginFrame(depth: number, notes: string): Promise<void>;
  protected abstract _commitFrame(depth: number): Promise<void>;
  protected abstract _rollbackFrame(depth: number): Promise<void>;
  protected abstract _close(): Promise<void>;

  /** Key validation; backends may add rules (and must keep these). */
  protected checkKey(key: unknown): string {
    return checkKey(key);
  }

  // ---- connection -----------------------------------------------------------------------

  connect(_credentials?: unknown): Promise<void> {
    this.connected = true;
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    this.connected = false;
    return Promise.resolve();
  }

  isConnected(): boolean {
    return this.connected;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.tx.shutdown(async () => {
      if (this.closed) return;
      this.closed = true;
      await this._close();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  on(listener: StoreListener): () => void {
    return this.hub.on(listener);
  }

  // ---- reads --------------------------------------------------------------------------

  async get(key: string): Promise<StoreValue> {
    const k = this.readKey(key);
    const entry = await this._get(k);
    if (!entry) throw keyNotFound(k);
    return {
      key: k,
      data: entry.data,
      metadata: this.copyOut(entry.metadata),
      size: entry.data.length,
      created: entry.created,
      modified: entry.modified,
    };
  }

  async getData(key: string): Promise<Buffer> {
    const k = this.readKey(key);
    const data = await this._getData(k);
    if (!data) throw keyNotFound(k);
    return data;
  }

  async readData(key: string): Promise<Buffer> {
    const k = this.readKey(key);
    const data = await this._readData(k);
    if (!data) throw keyNotFound(k);
    return data;
  }

  async getDataRange(key: string, start?: number, end?: number): Promise<Buffer> {
    const k = this.readKey(key);
    const s = checkOffset(start, 'start') ?? 0;
    const e = checkOffset(end, 'end');
    if (e !== undefined && s > e) throw new InvalidArgument(`start (${s}) > end (${e})`, { details: { start, end } });
    const data = await this._getRange(k, s, e);
    if (!data) throw keyNotFound(k);
    return data;
  }

  async getMetadata(key: string, select?: readonly string[]): Promise<Metadata> {
    const k = this.readKey(key);
    const names = checkSelect(select);
    const md = await this._getMeta(k);
    if (md === undefined) throw keyNotFound(k);
    return names ? project(md, names) : this.copyOut(md);
  }

  async exists(key: string): Promise<boolean> {
    return this._exists(this.readKey(key));
  }

  peekMetadata(key: string): Promise<Readonly<Metadata> | undefined> {
    try {
      return this._getMeta(this.readKey(key));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  peek(key: string): Promise<StoredView | undefined> {
    try {
      return this._peek(this.readKey(key));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async multiget(keys: readonly string[]): Promise<StoreValue[]> {
    const ks = this.readKeys(keys);
    const out: StoreValue[] = [];
    for (const k of ks) out.push(await this.get(k));
    return out;
  }

  async multigetData(keys: readonly string[]): Promise<Buffer[]> {
    const ks = this.readKeys(keys);
    const out: Buffer[] = [];
    for (const k of ks) out.push(await this.getData(k));
    return out;
  }

  async multigetMetadata(keys: readonly string[], select?: readonly string[]): Promise<Metadata[]> {
    const ks = this.readKeys(keys);
    const names = checkSelect(select);
    const out: Metadata[] = [];
    for (const k of ks) out.push(await this.getMetadata(k, names));
    return out;
  }

  async glob(pattern: string): Promise<string[]> {
    this.assertOpen();
    return sortKeys(await this._glob(compileGlob(pattern)));
  }

  async query(match: Metadata, select?: readonly string[]): Promise<Array<[string, Metadata]>> {
    this.assertOpen();
    const m = checkMatch(match);
    const names = checkSelect(select);
    const rows = await this._query(m);
    rows.sort((a, b) => compareKeys(a[0], b[0]));
    return rows.map(([k, md]) => [k, names ? project(md, names) : this.copyOut(md)]);
  }

  async queryKeys(match: Metadata): Promise<string[]> {
    this.assertOpen();
    return sortKeys(await this._queryKeys(checkMatch(match)));
  }

  async toBytes(key: string): Promise<Buffer> {
    return this.getData(key);
  }

  async toFile(key: string, path: string): Promise<void> {
    const k = this.readKey(key);
    checkPath(path);
    if (this.streamsToFile) {
      const size = await this._size(k);
      if (size === undefined) throw keyNotFound(k);
      const found = await withProgress(this.hub, k, size, this.progressThreshold, (step) => this._toFile(k, path, step));
      if (!found) throw keyNotFound(k);
      return;
    }
    const entry = await this._get(k);
    if (!entry) throw keyNotFound(k);
    await withProgress(this.hub, k, entry.data.length, this.progressThreshold, (step) =>
      writeFileChunked(path, entry.data, this.chunkSize, step),
    );
  }

  // ---- writes -------------------------------------------------------------------------

  set(key: string, data: Buffer, metadata: Metadata, opts: SetOptions = {}): Promise<void> {
    // Not async, nor putOne: the datastore's every put comes here, and each async layer
    // is one more promise and microtask turn. Errors still arrive as rejections.
    try {
      const k = this.checkKey(key);
      const d = checkData(data);
      const change = this.setChange(d, metadata, opts);
      return this._putNow !== undefined && this.putNowIfFree(k, change, this._putNow) ? DONE : this.write(() => this.putOne(k, change));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * set done in the caller's turn, by a store that writes in place (memory) when nothing holds
   * its lock and no progress is reported: true when written (its event emitted as set's), false
   * when nothing was done (then call set). Invalid arguments throw, as set rejects.
   */
  setNow(key: string, data: Buffer, metadata: Metadata, opts: SetOptions = {}): boolean {
    if (this._putNow === undefined) return false;
    return this.putNowIfFree(this.checkKey(key), this.setChange(checkData(data), metadata, opts), this._putNow);
  }

  /**
   * setNow of a checked key, written by `put` (a backend's _putNow that knows what the key holds,
   * found in the same synchronous call: see MemoryStore.createNow).
   */
  protected setNowWith(k: string, data: Buffer, metadata: Metadata, opts: SetOptions, put: (key: string, change: PutChange, step: StepFn) => PutResult): boolean {
    return this.putNowIfFree(k, this.setChange(checkData(data), metadata, opts), put);
  }

  private setChange(d: Buffer, metadata: Metadata, opts: SetOptions): PutChange {
    const adopt = opts.adopt === true;
    // A record its caller built and vouches for (SetOptions.checked) is kept unscanned.
    const md = adopt && opts.checked === true ? metadata : checkMetadata(metadata, 'metadata', adopt);
    return { data: d, metadata: md, adopt };
  }

  /** _putNow under the lock taken at once, when free and no progress is due: two promises and two microtask turns fewer per put. */
  private putNowIfFree(k: string, change: PutChange, put: (key: string, change: PutChange, step: StepFn) => PutResult): boolean {
    const d = change.data!;
    if (d.length >= this.progressThreshold && this.hub.size !== 0) return false;
    const release = this.tx.tryExclusive();
    if (!release) return false;
    try {
      this.recordPut(k, put.call(this, k, change, noStep));
    } finally {
      release();
    }
    return true;
  }

  async setData(key: string, data: Buffer): Promise<void> {
    const k = this.checkKey(key);
    const d = checkData(data);
    await this.write(() => this.putOne(k, { data: d }));
  }

  async setMetadata(key: string, metadata: Metadata): Promise<void> {
    const k = this.checkKey(key);
    const md = checkMetadata(metadata);
    await this.write(() => this.putOne(k, { metadata: md }));
  }

  async updateMetadata(key: string, metadata: Metadata): Promise<void> {
    const k = this.checkKey(key);
    const patch = checkMetadata(metadata);
    await this.write(() => this.mergeOne(k, patch));
  }

  async delete(key: string): Promise<void> {
    const k = this.checkKey(key);
    await this.write(async () => {
      const old = await this._delete(k);
      if (old === undefined) throw keyNotFound(k);
      this.recordChange('delete', k, old);
    });
  }

  async multiset(keys: readonly string[], datas: readonly Buffer[], metadatas: readonly Metadata[]): Promise<void> {
    const ks = this.writeKeys(keys);
    const ds = checkDatas(datas);
    const ms = checkMetadatas(metadatas);
    const n = Math.min(ks.length, ds.length, ms.length);
    await this.putMany('multiset', Array.from({ length: n }, (_, i) => ({ key: ks[i], change: { data: ds[i], metadata: ms[i] } })));
  }

  async multisetData(keys: readonly string[], datas: readonly Buffer[]): Promise<void> {
    const ks = this.writeKeys(keys);
    const ds = checkDatas(datas);
    const n = Math.min(ks.length, ds.length);
    await this.putMany('multisetData', Array.from({ length: n }, (_, i) => ({ key: ks[i], change: { data: ds[i] } })));
  }

  async multisetMetadata(keys: readonly string[], metadatas: readonly Metadata[]): Promise<void> {
    const ks = this.writeKeys(keys);
    const ms = checkMetadatas(metadatas);
    const n = Math.min(ks.length, ms.length);
    await this.putMany('multisetMetadata', Array.from({ length: n }, (_, i) => ({ key: ks[i], change: { metadata: ms[i] } })));
  }

  async multiupdateMetadata(keys: readonly string[], metadatas: readonly Metadata[]): Promise<void> {
    const ks = this.writeKeys(keys);
    const ms = checkMetadatas(metadatas);
    await this.many('multiupdateMetadata', Math.min(ks.length, ms.length), (i) => this.mergeOne(ks[i], ms[i]));
  }

  async fromBytes(key: string, data: Buffer): Promise<void> {
    return this.setData(key, data);
  }

  async fromFile(key: string, path: string): Promise<void> {
    const k = this.checkKey(key);
    checkPath(path);
    await this.write(async () => {
      const size = await fileSize(path);
      const result = await withProgress(this.hub, k, size, this.progressThreshold, async (step) => {
        const direct = await this._putFile(k, path, step);
        if (direct) return direct;
        const data = await ioCall(`read ${path}`, () => readFileChunked(path, this.chunkSize, step));
        return this._put(k, { data }, noStep);
      });
      this.recordChange(result.existed ? 'update' : 'set', k, result.metadata);
    });
  }

  // ---- transactions -------------------------------------------------------------------

  async begin(notes = ''): Promise<Transaction> {
    this.assertOpen();
    return this.tx.begin(checkNotes(notes));
  }

  async transaction<T>(notes: string, fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    if (typeof fn !== 'function') throw new InvalidArgument('transaction() needs a function');
    return this.tx.run(checkNotes(notes), fn);
  }

  // ---- helpers for subclasses ---------------------------------------------------------

  /** Runs a write under the transaction manager's lock for the caller's level. */
  protected write<T>(fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.tx.exclusive(fn);
  }

  protected recordChange(type: 'set' | 'update' | 'delete', key: string, metadata: Metadata): void {
    // Nobody listening: skip the copy (a listener added mid-transaction misses earlier events).
    if (this.hub.size === 0) return;
    const event: StoreEvent = { type, key, metadata: cloneJson(metadata) };
    this.tx.record(event);
  }

  protected assertOpen(): void {
    if (this.closed) throw new IOFailure('the store is closed');
  }

  protected readKey(key: string): string {
    this.assertOpen();
    return this.checkKey(key);
  }

  private readKeys(keys: readonly string[]): readonly string[] {
    this.assertOpen();
    return checkKeys(keys).map((k) => this.checkKey(k));
  }

  private writeKeys(keys: readonly string[]): readonly string[] {
    return this.readKeys(keys);
  }

  private copyOut(md: Metadata): Metadata {
    return this.freshMetadata ? md : cloneJson(md);
  }

  private putOne(key: string, change: PutChange): Promise<void> {
    const size = change.data?.length ?? 0;
    return withProgress(this.hub, key, size, this.progressThreshold, (step) => this._put(key, change, step)).then((result) =>
      this.recordPut(key, result),
    );
  }

  private recordPut(key: string, result: PutResult): void {
    this.recordChange(result.existed ? 'update' : 'set', key, result.metadata);
  }

  private async mergeOne(key: string, patch: Metadata): Promise<void> {
    const md = await this._merge(key, patch);
    if (md === undefined) throw keyNotFound(key);
    this.recordChange('update', key, md);
  }

  private async many(notes: string, n: number, fn: (i: number) => Promise<void>): Promise<void> {
    if (n === 0) return;
    // One lock acquisition for the whole loop: nothing else runs at this private frame's level.
    await this.transaction(notes, () =>
      this.write(async () => {
        for (let i = 0; i < n; i++) await fn(i);
      }),
    );
  }

  private async putMany(notes: string, items: Array<{ key: string; change: PutChange }>): Promise<void> {
    if (items.length === 0) return;
    // Large values go one by one so that each reports its progress.
    const progress = this.hub.size > 0 && items.some((it) => (it.change.data?.length ?? 0) >= this.progressThreshold);
    await this.transaction(notes, () =>
      this.write(async () => {
        if (progress) {
          for (const { key, change } of items) await this.putOne(key, change);
          return;
        }
        const results = await this._putMany(items);
        results.forEach((r, i) => this.recordChange(r.existed ? 'update' : 'set', items[i].key, r.metadata));
      }),
    );
  }
}

/** [start, end) clamped to [0, size]. */
export function clampRange(size: number, start: number, end: number | undefined): [number, number] {
  const s = Math.min(start, size);
  const e = Math.min(end ?? size, size);
  return [s, Math.max(s, e)];
}

function checkOffset(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidArgument(`${name} must be an integer byte offset`, { details: { [name]: value } });
  }
  if (value < 0) throw new InvalidArgument(`${name} must not be negative`, { details: { [name]: value } });
  return value;
}

function checkNotes(notes: unknown): string {
  if (notes === undefined || notes === null) return '';
  if (typeof notes !== 'string') throw new InvalidArgument('transaction notes must be a string');
  return notes;
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidArgument('path must be a non-empty string');
  const bad = fsPathProblem(path);
  if (bad) throw new InvalidArgument(`path ${bad}`, { details: { problem: bad } });
}

/** Maps a Node fs error to a domain error (a missing/unusable user path is the caller's mistake). */
export function fsError(err: unknown, what: string): Error {
  if (err instanceof ButlerError) return err; // named already
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = `${what}: ${(err as Error | undefined)?.message ?? String(err)}`;
  if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR' || (code !== undefined && NOT_OURS.has(code))) return new InvalidArgument(message, { details: { code } });
  return new IOFailure(message, { details: { code } });
}

export async function ioCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fsError(err, what);
  }
}

async function fileSize(path: string): Promise<number> {
  return ioCall(`stat ${path}`, async () => {
    const { handle, size } = await openRegularForReading(path);
    await handle.close();
    return size;
  });
}

async function writeFileChunked(path: string, data: Buffer, chunk: number, step: StepFn): Promise<void> {
  await ioCall(`write ${path}`, async () => {
    const fh = await openRegularForWriting(path);
    try {
      await writeChunked(fh, data, chunk, step);
    } finally {
      await fh.close();
    }
  });
}
