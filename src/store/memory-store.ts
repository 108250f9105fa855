/**
 * An in-process store (encore's DictMemoryStore semantics). Values and metadata are
 * copied in and out, `created` is kept on overwrite, a set on a new key emits `set` and on
 * an existing key `update`. `fromBytes`/`fromFile` keep the existing metadata like
 * `setData` (the abstract default; DictMemoryStore replaced it with {}).
 *
 * Stored entries are never mutated in place, so a transaction journal only needs to keep
 * references to the entries it replaced; rollback puts them back.
 */
import { BaseStore, clampRange, type Entry, type PutChange, type PutResult, type StoreOptions } from './base-store.js';
import { copyBuffer, type StepFn } from './progress.js';
import { matchesQuery } from './query.js';
import type { Metadata, SetOptions, StoreInfo, StoredView } from './store.js';
import { nowSeconds } from './values.js';

const EMPTY = Buffer.alloc(0);

interface MemEntry {
  readonly data: Buffer;
  readonly metadata: Metadata;
  /** Undefined for an entry's first write (created when modified): one number fewer kept per key. */
  readonly created: number | undefined;
  readonly modified: number;
}

export class MemoryStore extends BaseStore {
  private readonly entries = new Map<string, MemEntry>();
  /** One journal per open transaction frame: key -> entry before the frame touched it. */
  private readonly journals: Array<Map<string, MemEntry | undefined>> = [];

  constructor(options: StoreOptions = {}) {
    super(options);
  }

  info(): StoreInfo {
    return { readonly: false, kind: 'memory', keys: this.entries.size };
  }

  protected async _get(key: string): Promise<Entry | undefined> {
    const e = this.entries.get(key);
    return e && { data: Buffer.from(e.data), metadata: e.metadata, created: e.created ?? e.modified, modified: e.modified };
  }

  /** No copy: stored buffers are never changed in place (a put replaces the entry). */
  protected override async _readData(key: string): Promise<Buffer | undefined> {
    return this.entries.get(key)?.data;
  }

  /**
   * Store.createNow: one lookup serves the check and the write. Between `entries.get` and the
   * write only argument checks and the lock's tryExclusive run, all in this synchronous call and
   * none touching `entries`, so the key is still absent when written (createdNow does not look again).
   */
  createNow(key: string, data: Buffer, metadata: Metadata, opts: SetOptions = {}): Readonly<Metadata> | boolean {
    const k = this.readKey(key);
    const prev = this.entries.get(k);
    if (prev !== undefined) return prev.metadata;
    return this.setNowWith(k, data, metadata, opts, this.createdNow);
  }

  protected async _getMeta(key: string): Promise<Metadata | undefined> {
    return this.entries.get(key)?.metadata;
  }

  /** One lookup, no copies: the entry's own buffer and metadata (never changed in place). */
  protected override async _peek(key: string): Promise<StoredView | undefined> {
    return this.entries.get(key);
  }

  protected async _exists(key: string): Promise<boolean> {
    return this.entries.has(key);
  }

  protected override async _getRange(key: string, start: number, end: number | undefined): Promise<Buffer | undefined> {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const [s, t] = clampRange(e.data.length, start, end);
    return Buffer.from(e.data.subarray(s, t));
  }

  protected async _put(key: string, change: PutChange, step: StepFn): Promise<PutResult> {
    return this._putNow(key, change, step);
  }

  protected override _putNow(key: string, change: PutChange, step: StepFn): PutResult {
    return this.putEntry(key, change, step, this.entries.get(key));
  }

  /** _putNow of a key createNow found absent in this same call. */
  private createdNow(key: string, change: PutChange, step: StepFn): PutResult {
    return this.putEntry(key, change, step, undefined);
  }

  /** The write of `key`, whose entry is `prev`. */
  private putEntry(key: string, change: PutChange, step: StepFn, prev: MemEntry | undefined): PutResult {
    const data = change.data ? (change.adopt ? change.data : copyBuffer(change.data, this.chunkSize, step)) : (prev?.data ?? EMPTY);
    // change.metadata is already a private copy (BaseStore validated and copied it).
    const metadata = change.metadata ?? prev?.metadata ?? {};
    const now = nowSeconds();
    this.journal(key, prev);
    this.entries.set(key, { data, metadata, created: prev === undefined ? undefined : (prev.created ?? prev.modified), modified: now });
    return { existed: prev !== undefined, metadata };
  }

  protected override async _merge(key: string, patch: Metadata): Promise<Metadata | undefined> {
    const prev = this.entries.get(key);
    if (!prev) return undefined;
    const metadata = { ...prev.metadata, ...patch };
    this.journal(key, prev);
    this.entries.set(key, { data: prev.data, metadata, created: prev.created ?? prev.modified, modified: nowSeconds() });
    return metadata;
  }

  protected async _delete(key: string): Promise<Metadata | undefined> {
    const prev = this.entries.get(key);
    if (!prev) return undefined;
    this.journal(key, prev);
    this.entries.delete(key);
    return prev.metadata;
  }

  protected async _keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) out.push(k);
    return out;
  }

  protected async _query(match: Metadata): Promise<Array<[string, Metadata]>> {
    const names = Object.keys(match);
    const out: Array<[string, Metadata]> = [];
    for (const [k, e] of this.entries) if (matchesQuery(e.metadata, match, names)) out.push([k, e.metadata]);
    return out;
  }

  protected override async _queryKeys(match: Metadata): Promise<string[]> {
    const names = Object.keys(match);
    const out: string[] = [];
    for (const [k, e] of this.entries) if (matchesQuery(e.metadata, match, names)) out.push(k);
    return out;
  }

  protected async _beginFrame(): Promise<void> {
    this.journals.push(new Map());
  }

  protected async _commitFrame(depth: number): Promise<void> {
    const journal = this.journals.pop();
    if (!journal || depth === 0) return;
    // The parent must still be able to undo this frame's changes: keep its older records.
    const parent = this.journals[this.journals.length - 1];
    for (const [k, prev] of journal) if (!parent.has(k)) parent.set(k, prev);
  }

  protected async _rollbackFrame(): Promise<void> {
    const journal = this.journals.pop();
    if (!journal) return;
    for (const [k, prev] of journal) {
      if (prev) this.entries.set(k, prev);
      else this.entries.delete(k);
    }
  }

  protected async _close(): Promise<void> {
    this.entries.clear();
    this.journals.length = 0;
  }

  private journal(key: string, prev: MemEntry | undefined): void {
    // No read of journals[-1] when none is open (every put outside a transaction): a negative
    // index is a named property to V8, looked up the slow way (~770 instructions, callgrind).
    const n = this.journals.length;
    if (n === 0) return;
    const journal = this.journals[n - 1]!;
    if (!journal.has(key)) journal.set(key, prev);
  }
}
