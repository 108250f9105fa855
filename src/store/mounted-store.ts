/**
 * A store mounted at a key prefix over a read-only backing store (encore's MountedStore,
 * as a union filesystem).
 *
 * A full key K is *in the mount* when it starts with `prefix` and is longer than it; the
 * mount store sees the short key K.slice(prefix.length), the backing store always sees
 * full keys. Reads of a key in the mount come from the mount store when it has the key
 * ("masked"), otherwise fall through to the backing store. Writes go to the mount store
 * only; keys outside the mount are read-only (ReadOnlyStore).
 * - setData / setMetadata / updateMetadata of a key only in the backing store copy it up
 *   first (the other half of the value comes from the backing store).
 * - delete leaves a *whiteout* in the mount store when the backing store has the key, so
 *   the key stays deleted in this view (exists false, reads KeyNotFound, glob/query skip
 *   it); a later set replaces the whiteout. (encore re-exposed the backing value, and could
 *   not delete a backing-only key at all.)
 * - push(K) moves a key down: the backing store gets the view's value (or, for a
 *   whiteout, loses the key) and the mount store forgets it. It is the only write to the
 *   backing store and is not transactional, so it is refused inside a transaction.
 * - glob/query merge both layers without duplicates; a key the mount store has (entry or
 *   whiteout) is answered from the mount store only (encore could still return a masked
 *   key through its backing metadata).
 *
 * A whiteout is a mount-store entry with empty data and metadata {[WHITEOUT]: true}, so it
 * is covered by the mount store's transactions; the name WHITEOUT is reserved here.
 * Transactions delegate to the mount store: each frame of this view opens a nested
 * begin() on the mount store. Events are this view's own (full keys, view semantics:
 * copy-up is an `update`, replacing a whiteout is a `set`, a whiteout is a `delete`).
 * `created` of a copied-up key is the time of the copy.
 */
import { InvalidArgument, InvalidValue, KeyNotFound, ReadOnlyStore } from '../model/errors.js';
import { BaseStore, keyNotFound, type Entry, type PutChange, type PutResult, type StoreOptions } from './base-store.js';
import type { Glob } from '../model/glob.js';
import { checkKey } from './keys.js';
import type { StepFn } from './progress.js';
import type { Metadata, Store, StoreInfo, StoreValue, Transaction } from './store.js';

/** Metadata name marking a whiteout in the mount store. */
export const WHITEOUT = '__qb_whiteout__';

const EMPTY = Buffer.alloc(0);

export interface MountedStoreOptions extends StoreOptions {
  /** close() also closes the mount and backing stores (default true). */
  closeChildren?: boolean;
}

type MountState = { kind: 'entry'; metadata: Metadata } | { kind: 'whiteout' } | { kind: 'absent' };

export class MountedStore extends BaseStore {
  readonly prefix: string;
  readonly mount: Store;
  readonly backing: Store;
  private readonly closeChildren: boolean;
  private readonly mountTxs: Transaction[] = [];
  protected override readonly freshMetadata = true;

  constructor(prefix: string, mount: Store, backing: Store, options: MountedStoreOptions = {}) {
    super(options);
    if (typeof prefix !== 'string' || prefix.includes('\0')) throw new InvalidArgument('mount prefix must be a string');
    this.prefix = prefix;
    this.mount = mount;
    this.backing = backing;
    this.closeChildren = options.closeChildren ?? true;
  }

  info(): StoreInfo {
    return { readonly: false, kind: 'mounted', prefix: this.prefix, mount: this.mount.info(), over: this.backing.info() };
  }

  override async connect(credentials?: unknown): Promise<void> {
    for (const s of [this.mount, this.backing]) if (!s.isConnected()) await s.connect(credentials);
    await super.connect(credentials);
  }

  override async disconnect(): Promise<void> {
    await this.mount.disconnect();
    await this.backing.disconnect();
    await super.disconnect();
  }

  /** Moves a key from the mount store down into the backing store (see above). */
  async push(key: string): Promise<void> {
    const k = this.checkKey(key);
    if (this.tx.depth > 0) throw new InvalidArgument('push() is not transactional and cannot run inside a transaction');
    await this.write(async () => {
      const short = this.short(k);
      if (short === undefined) throw keyNotFound(k);
      const state = await this.lookup(short);
      if (state.kind === 'absent') throw keyNotFound(k);
      if (state.kind === 'whiteout') {
        // Backing first: a crash in between leaves the view unchanged.
        if (await this.backing.exists(k)) await this.backing.delete(k);
      } else {
        const value = await this.mount.get(short);
        await this.backing.set(k, value.data, value.metadata);
      }
      await this.mount.delete(short);
    });
  }

  /** The short key for a key in the mount, undefined otherwise. */
  private short(key: string): string | undefined {
    return key.length > this.prefix.length && key.startsWith(this.prefix) ? key.slice(this.prefix.length) : undefined;
  }

  private writable(key: string): string {
    const short = this.short(key);
    if (short === undefined) {
      throw new ReadOnlyStore(`key ${JSON.stringify(key)} is outside the mount ${JSON.stringify(this.prefix)}`, { details: { key } });
    }
    return short;
  }

  private async lookup(short: string): Promise<MountState> {
    const md = await missingAsUndefined(this.mount.getMetadata(short));
    if (md === undefined) return { kind: 'absent' };
    return isWhiteout(md) ? { kind: 'whiteout' } : { kind: 'entry', metadata: md };
  }

  // ---- reads --------------------------------------------------------------------------

  protected async _get(key: string): Promise<Entry | undefined> {
    const short = this.short(key);
    if (short !== undefined) {
      const v = await missingAsUndefined(this.mount.get(short));
      if (v) return isWhiteout(v.metadata) ? undefined : entryOf(v);
    }
    const v = await missingAsUndefined(this.backing.get(key));
    return v && entryOf(v);
  }

  protected async _getMeta(key: string): Promise<Metadata | undefined> {
    const short = this.short(key);
    if (short !== undefined) {
      const state = await this.lookup(short);
      if (state.kind === 'entry') return state.metadata;
      if (state.kind === 'whiteout') return undefined;
    }
    return missingAsUndefined(this.backing.getMetadata(key));
  }

  protected async _exists(key: string): Promise<boolean> {
    return (await this._getMeta(key)) !== undefined;
  }

  protected override async _getRange(key: string, start: number, end: number | undefined): Promise<Buffer | undefined> {
    const short = this.short(key);
    if (short !== undefined) {
      const state = await this.lookup(short);
      if (state.kind === 'entry') return missingAsUndefined(this.mount.getDataRange(short, start, end));
      if (state.kind === 'whiteout') return undefined;
    }
    return missingAsUndefined(this.backing.getDataRange(key, start, end));
  }

  protected async _keys(prefix: string): Promise<string[]> {
    return this._glob({ pattern: '**', prefix, match: (k) => k.startsWith(prefix) });
  }

  protected override async _glob(glob: Glob): Promise<string[]> {
    const [mountKeys, whiteouts, backingKeys] = await Promise.all([
      this.mount.queryKeys({}),
      this.mount.queryKeys({ [WHITEOUT]: true }),
      this.backing.glob(glob.pattern),
    ]);
    const hidden = new Set(whiteouts);
    const masked = new Set(mountKeys);
    const out: string[] = [];
    for (const s of mountKeys) {
      const k = this.prefix + s;
      if (!hidden.has(s) && glob.match(k)) out.push(k);
    }
    for (const k of backingKeys) if (!this.masked(k, masked)) out.push(k);
    return out;
  }

  protected async _query(match: Metadata): Promise<Array<[string, Metadata]>> {
    checkNoWhiteout(match, InvalidArgument);
    const [mountRows, mountKeys, backingRows] = await Promise.all([
      this.mount.query(match),
      this.mount.queryKeys({}),
      this.backing.query(match),
    ]);
    const masked = new Set(mountKeys);
    const out: Array<[string, Metadata]> = [];
    for (const [s, md] of mountRows) if (!isWhiteout(md)) out.push([this.prefix + s, md]);
    for (const row of backingRows) if (!this.masked(row[0], masked)) out.push(row);
    return out;
  }

  protected override async _queryKeys(match: Metadata): Promise<string[]> {
    checkNoWhiteout(match, InvalidArgument);
    if (Object.keys(match).length === 0) return this._keys('');
    const [mountHits, mountKeys, backingHits] = await Promise.all([
      this.mount.queryKeys(match),
      this.mount.queryKeys({}),
      this.backing.queryKeys(match),
    ]);
    const masked = new Set(mountKeys);
    return [...mountHits.map((s) => this.prefix + s), ...backingHits.filter((k) => !this.masked(k, masked))];
  }

  /** True when a full key is answered by the mount store (entry or whiteout). */
  private masked(key: string, mountKeys: ReadonlySet<string>): boolean {
    const short = this.short(key);
    return short !== undefined && mountKeys.has(short);
  }

  // ---- writes -------------------------------------------------------------------------

  protected async _put(key: string, change: PutChange, _step: StepFn): Promise<PutResult> {
    const short = this.writable(key);
    if (change.metadata) checkNoWhiteout(change.metadata, InvalidValue);
    const state = await this.lookup(short);
    if (state.kind === 'entry') {
      if (change.data && change.metadata) await this.mount.set(short, change.data, change.metadata);
      else if (change.data) await this.mount.setData(short, change.data);
      else if (change.metadata) await this.mount.setMetadata(short, change.metadata);
      return { existed: true, metadata: change.metadata ?? state.metadata };
    }
    if (state.kind === 'whiteout') {
      // A new key in this view: drop the whiteout so the entry gets a fresh `created`.
      const metadata = change.metadata ?? {};
      await this.atomically('replace whiteout', async () => {
        await this.mount.delete(short);
        await this.mount.set(short, change.data ?? EMPTY, metadata);
      });
      return { existed: false, metadata };
    }
    // Absent from the mount: copy up from the backing store when it has the key.
    if (change.data && change.metadata) {
      const existed = await this.backing.exists(key);
      await this.mount.set(short, change.data, change.metadata);
      return { existed, metadata: change.metadata };
    }
    if (change.data) {
      // setData: the metadata comes from below.
      const below = await missingAsUndefined(this.backing.getMetadata(key));
      const metadata = below ?? {};
      await this.mount.set(short, change.data, metadata);
      return { existed: below !== undefined, metadata };
    }
    // setMetadata: the data comes from below.
    const metadata = change.metadata ?? {};
    const below = await missingAsUndefined(this.backing.getData(key));
    await this.mount.set(short, below ?? EMPTY, metadata);
    return { existed: below !== undefined, metadata };
  }

  protected override async _merge(key: string, patch: Metadata): Promise<Metadata | undefined> {
    const short = this.writable(key);
    checkNoWhiteout(patch, InvalidValue);
    const state = await this.lookup(short);
    if (state.kind === 'whiteout') return undefined;
    if (state.kind === 'entry') {
      await this.mount.updateMetadata(short, patch);
      return { ...state.metadata, ...patch };
    }
    const below = await missingAsUndefined(this.backing.get(key));
    if (!below) return undefined;
    const metadata = { ...below.metadata, ...patch };
    await this.mount.set(short, below.data, metadata);
    return metadata;
  }

  protected async _delete(key: string): Promise<Metadata | undefined> {
    const short = this.writable(key);
    const state = await this.lookup(short);
    if (state.kind === 'whiteout') return undefined;
    const below = await missingAsUndefined(this.backing.getMetadata(key));
    if (state.kind === 'absent' && below === undefined) return undefined;
    if (below !== undefined) await this.mount.set(short, EMPTY, { [WHITEOUT]: true });
    else await this.mount.delete(short);
    return state.kind === 'entry' ? state.metadata : below;
  }

  /** Runs several mount-store writes atomically (joining our open frame, if any). */
  private async atomically(notes: string, fn: () => Promise<void>): Promise<void> {
    if (this.tx.depth > 0) await fn();
    else await this.mount.transaction(notes, fn);
  }

  // ---- transactions -------------------------------------------------------------------

  protected async _beginFrame(_depth: number, notes: string): Promise<void> {
    this.mountTxs.push(await this.mount.begin(notes));
  }

  protected async _commitFrame(): Promise<void> {
    await this.mountTxs.pop()?.commit();
  }

  protected async _rollbackFrame(): Promise<void> {
    await this.mountTxs.pop()?.rollback();
  }

  protected async _close(): Promise<void> {
    if (!this.closeChildren) return;
    await this.mount.close();
    await this.backing.close();
  }

  protected override checkKey(key: unknown): string {
    return checkKey(key);
  }
}

function isWhiteout(md: Metadata): boolean {
  return md[WHITEOUT] === true;
}

function checkNoWhiteout(md: Metadata, Err: typeof InvalidValue | typeof InvalidArgument): void {
  if (Object.prototype.hasOwnProperty.call(md, WHITEOUT)) {
    throw new Err(`metadata name ${WHITEOUT} is reserved by the mounted store`);
  }
}

function entryOf(v: StoreValue): Entry {
  return { data: v.data, metadata: v.metadata, created: v.created, modified: v.modified };
}

/** Resolves to undefined instead of rejecting with KeyNotFound. */
async function missingAsUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof KeyNotFound) return undefined;
    throw err;
  }
}
