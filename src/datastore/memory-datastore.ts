/**
 * An in-memory datastore in the manner of daf_butler's InMemoryDatastore, built on a
 * key-value store: each dataset is one key (its id) whose data is the formatter's
 * bytes and whose metadata is its record. Storing bytes rather than objects gives
 * copy-on-put and copy-on-get for free, a checksum and size for every output, and
 * lets the same class run on any store backend.
 *
 * Deliberate differences from daf_butler's InMemoryDatastore: no aliasing; forget
 * frees the artifact; an empty ref list never empties the whole trash; a rolled-back
 * transaction restores what was there before (the store's rollback does that);
 * putting the same id twice is a no-op only for identical bytes.
 */
import type { DatasetId } from '../model/dataset-id.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import { dataIdKey, dataIdQuery, dataIdQueryText } from '../model/data-coordinate.js';
import { isWellFormedString } from '../model/json-value.js';
import type { DatastoreRecordData, StoredFileInfo } from '../model/datastore-records.js';
import { STORED_FILE_INFO_TABLE, toRecordRow } from '../model/datastore-records.js';
import type { StorageClassRegistry } from '../model/storage-class.js';
import { DatasetAlreadyStored, DatasetNotFound, KeyNotFound } from '../model/errors.js';
import type { Metadata, SetOptions, Store } from '../store/store.js';
import type {
  Datastore,
  DatasetURIs,
  OperationContext,
  PutSource,
  ReadRequest,
  ReadResult,
  StoredArtifact,
} from './datastore.js';
import { manyURIs } from './datastore.js';
import { decodeForRead, encodeForPut, type Encoded } from './codec.js';
import { blake2bHex } from '../util/checksum.js';
import { loadPutSource, writeFileAtomically } from './file-transfer.js';

// The record's blake2b (which daf_butler's InMemoryDatastore does not keep) costs twice the
// put's SHA-256: it is computed when a record is read (provenance, exported records,
// artifacts), not on put.
import type { ArtifactSource } from './retrieve-artifacts.js';

/** A constructor that returns the object it is given: a subclass's private fields land on that object. */
class Given {
  constructor(object: object) {
    return object;
  }
}

/**
 * The bytes a record's deferred checksum is computed from, kept on the record in a private
 * field: no key, symbol, copy or JSON shows them, and the record keeps its plain prototype.
 * Stamped by `new WithBytes(info, bytes)`, about as fast as a property store, where the
 * non-enumerable symbol property it replaces took an Object.defineProperty (~300 ns a put).
 */
class WithBytes extends Given {
  readonly #bytes: Uint8Array;
  constructor(info: StoredFileInfo, bytes: Uint8Array) {
    super(info);
    this.#bytes = bytes;
  }

  static bytesOf(info: object): Uint8Array {
    return (info as WithBytes).#bytes;
  }
}

/**
 * The deferred checksum: one getter shared by every record, so that records keep one shape
 * (a getter made per record turned each into a dictionary: about 0.6 kB more per dataset).
 */
const lazyChecksum: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: StoredFileInfo): string {
    Object.defineProperty(this, 'checksum', { value: blake2bHex(WithBytes.bytesOf(this)) });
    return this.checksum as string;
  },
};

/**
 * A record's info with its checksum deferred: the same members in the same order as the plain
 * one, `checksum` a getter, so that every reader (spread, JSON, toRecordRow) sees it, computed
 * once. Made by a constructor whose prototype is Object's: a plain object, with room in itself for
 * every member and the bytes (a literal has room for the four it names: file_size and the bytes
 * took an array of their own, one object more kept per put).
 */
const LazyInfo = function (this: StoredFileInfo, rec: DatasetRecord): void {
  this.formatter = rec.formatter;
  this.path = rec.path;
  this.storage_class = rec.storageClass;
  this.component = null;
  Object.defineProperty(this, 'checksum', lazyChecksum);
  this.file_size = rec.size;
} as unknown as new (rec: DatasetRecord) => StoredFileInfo;
LazyInfo.prototype = Object.prototype;

/**
 * The info getBytes gave for a stored record (the store's own object, replaced by a put) and
 * the bytes it was made with: read-only like the bytes, so reads of the same record share it,
 * and its deferred checksum is computed once per record. Making one per read (its checksum
 * getter defined on it) cost ~2,200 instructions a get (callgrind).
 */
const readInfos = new WeakMap<object, StoredFileInfo>();

/** What the store's metadata holds for one dataset. */
type DatasetRecord = Readonly<{
  datasetId: DatasetId;
  datasetType: string;
  run: string;
  dataId: string;
  storageClass: string;
  formatter: string;
  path: string;
  // blake2b in records written before it was deferred (SHA-256 in older ones); else computed when read.
  checksum?: string;
  /** SHA-256 of the bytes (absent in records written before the blake2b checksum). */
  sha256?: string;
  size: number;
  timestamp: number;
  trashed: boolean;
}>;

function isRecord(md: Readonly<Metadata>): md is Readonly<Metadata> & DatasetRecord {
  return typeof md.datasetId === 'string' && (typeof md.checksum === 'string' || typeof md.sha256 === 'string');
}

export class MemoryDatastore implements Datastore {
  readonly isEphemeral = true;

  /** `mem://<name>/`, the start of every URI. */
  private readonly uriPrefix: string;

  constructor(
    readonly name: string,
    private readonly store: Store,
    readonly storageClasses: StorageClassRegistry,
  ) {
    this.uriPrefix = `mem://${encodeURIComponent(name)}/`;
  }

  private key(ref: DatasetRef): string {
    return ref.id;
  }

  /** The stored record, read-only (the store's own object where it keeps one: no copy). */
  private async readRecord(ref: DatasetRef): Promise<DatasetRecord | undefined> {
    const md = await this.store.peekMetadata(this.key(ref));
    return md !== undefined && isRecord(md) ? md : undefined;
  }

  private notFound(ref: DatasetRef): Error {
    return new DatasetNotFound(`No such file dataset in memory: ${ref.id}`, { datasetId: ref.id });
  }

  private toInfo(rec: DatasetRecord, bytes?: Uint8Array): StoredFileInfo {
    if (rec.checksum !== undefined || !bytes) {
      return {
        formatter: rec.formatter,
        path: rec.path,
        storage_class: rec.storageClass,
        component: null,
        checksum: rec.checksum ?? null,
        file_size: rec.size,
      };
    }
    const info = new LazyInfo(rec);
    new WithBytes(info, bytes);
    return info;
  }

  private async infoOf(rec: DatasetRecord, ref: DatasetRef): Promise<StoredFileInfo> {
    return rec.checksum !== undefined ? this.toInfo(rec) : this.toInfo(rec, await this.store.readData(this.key(ref)));
  }

  /** (The query is not kept on the data ID: a dataset's URI is asked for about once, by its put.) */
  private uriOf(rec: DatasetRecord, ref: DatasetRef): string {
    const query = dataIdQueryText(ref.dataId);
    // Joined, not concatenated: one flat string, which the answer's jsonString tests in
    // compiled code (a concatenation is first made flat in the runtime: ~2,000 instructions).
    return [this.uriPrefix, rec.path, query ? '?' : '', query].join('');
  }

  put(source: PutSource, ref: DatasetRef, ctx?: OperationContext): Promise<StoredArtifact> {
    try {
      const done = this.putNow(source, ref, ctx);
      return done instanceof Promise ? done : Promise.resolve(done);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * put, done in the caller's turn when it can be: a value or bytes (a file is read first), on
   * a store that looks up and writes in memory (createNow). Then the check for a stored record
   * and the write of a new one are one step, one lookup; with the store's lock held, the write
   * queues behind it, and a put of the same id meanwhile is not seen here.
   */
  putNow(source: PutSource, ref: DatasetRef, ctx?: OperationContext): StoredArtifact | Promise<StoredArtifact> {
    ctx?.checkCancelled?.();
    if (source.kind === 'file') return loadPutSource(source).then((loaded) => this.putNow(loaded, ref, ctx));
    const encoded = encodeForPut(source, ref, this.storageClasses);
    ctx?.progress?.(0.5, 'checksum');
    const key = this.key(ref);
    const store = this.store;
    if (store.createNow === undefined) return store.peekMetadata(key).then((md) => this.putEncoded(md, encoded, ref, ctx));
    // No turn has passed since the check above: cancellation is checked again only after an await.
    const rec = this.newRecord(encoded, ref);
    const done = store.createNow(key, encoded.bytes, rec, this.setOptions(rec, encoded.owned));
    if (done === true) return this.stored(rec, encoded.bytes, ref, encoded.sha256, ctx);
    if (done === false) return this.write(rec, encoded, ref, ctx);
    return this.putEncoded(done, encoded, ref, ctx); // a stored entry: the same bytes, other bytes, or a trashed record
  }

  /** The rest of a put once the stored metadata of its key (`md`) is known. */
  private putEncoded(md: Readonly<Metadata> | undefined, encoded: Encoded, ref: DatasetRef, ctx?: OperationContext): StoredArtifact | Promise<StoredArtifact> {
    const { bytes, sha256 } = encoded;
    const existing = md !== undefined && isRecord(md) ? md : undefined;
    if (existing && !existing.trashed) {
      const storedSha256 = existing.sha256 ?? existing.checksum;
      if (storedSha256 === sha256) {
        return { info: this.toInfo(existing, bytes), uri: this.uriOf(existing, ref), unchanged: true, sha256 };
      }
      throw new DatasetAlreadyStored(
        `Dataset ${ref.datasetType.name}@${dataIdKey(ref.dataId)} (${ref.id}) is already stored with different content.`,
        { datasetId: ref.id, details: { storedChecksum: storedSha256, givenChecksum: sha256 } },
      );
    }
    ctx?.checkCancelled?.();
    const rec = this.newRecord(encoded, ref);
    if (this.store.setNow !== undefined && this.store.setNow(this.key(ref), bytes, rec, this.setOptions(rec, encoded.owned))) return this.stored(rec, bytes, ref, sha256, ctx);
    return this.write(rec, encoded, ref, ctx);
  }

  /** The record a put of `ref` writes. */
  private newRecord(encoded: Encoded, ref: DatasetRef): DatasetRecord {
    const { bytes, storageClass: sc, formatter, sha256 } = encoded;
    return {
      datasetId: ref.id,
      datasetType: ref.datasetType.name,
      run: ref.run,
      dataId: dataIdKey(ref.dataId),
      storageClass: sc.name,
      formatter: formatter.name,
      // One flat string (a template makes a tree of pieces, kept with the record).
      path: [ref.run, '/', ref.datasetType.name, '/', ref.id, formatter.extension].join(''),
      sha256,
      size: bytes.length,
      timestamp: Date.now() / 1000,
      trashed: false,
    };
  }

  /**
   * Handed over with the bytes we own: nothing changes `rec` after this. Its members are
   * finite numbers, a boolean, hex and names: when the strings that can come from outside
   * (the path holds the run, type name and id) are well-formed, the store need not scan it.
   */
  private setOptions(rec: DatasetRecord, owned: boolean): SetOptions {
    const checked = owned && isWellFormedString(rec.path) && isWellFormedString(rec.dataId) && isWellFormedString(rec.storageClass) && isWellFormedString(rec.formatter);
    return { adopt: owned, checked };
  }

  /** The write of `rec` queued behind the store's lock. */
  private write(rec: DatasetRecord, encoded: Encoded, ref: DatasetRef, ctx?: OperationContext): Promise<StoredArtifact> {
    return this.store.set(this.key(ref), encoded.bytes, rec, this.setOptions(rec, encoded.owned)).then(() => this.stored(rec, encoded.bytes, ref, encoded.sha256, ctx));
  }

  /** What a put that wrote `rec` returns. */
  private stored(rec: DatasetRecord, bytes: Buffer, ref: DatasetRef, sha256: string, ctx?: OperationContext): StoredArtifact {
    ctx?.progress?.(1, 'stored');
    return { info: this.toInfo(rec, bytes), uri: this.uriOf(rec, ref), unchanged: false, sha256 };
  }

  async getBytes(ref: DatasetRef, ctx?: OperationContext): Promise<{ bytes: Buffer; info: StoredFileInfo }> {
    ctx?.checkCancelled?.();
    // Record and bytes in one read, neither copied (Datastore.getBytes is read-only).
    const stored = await this.store.peek(this.key(ref));
    if (!stored || !isRecord(stored.metadata)) throw this.notFound(ref);
    const { data, metadata } = stored;
    let info = readInfos.get(metadata);
    if (info === undefined || (metadata.checksum === undefined && WithBytes.bytesOf(info) !== data)) {
      info = this.toInfo(metadata, data);
      readInfos.set(metadata, info);
    }
    return { bytes: data, info };
  }

  /** The stored bytes written to `dest` (temp file + rename; held in memory, they need no check). */
  async getToFile(ref: DatasetRef, dest: string, ctx?: OperationContext): Promise<{ size: number; info: StoredFileInfo }> {
    const { bytes, info } = await this.getBytes(ref, ctx);
    await writeFileAtomically(dest, bytes);
    return { size: bytes.length, info };
  }

  async get(ref: DatasetRef, request: ReadRequest = {}, ctx?: OperationContext): Promise<ReadResult & { bytesRead: number }> {
    const { bytes, info } = await this.getBytes(ref, ctx);
    ctx?.checkCancelled?.();
    return { ...decodeForRead(bytes, info.storage_class, ref, request, this.storageClasses, info.formatter), bytesRead: bytes.length };
  }

  async exists(ref: DatasetRef): Promise<boolean> {
    return (await this.readRecord(ref)) !== undefined;
  }

  async mexists(refs: readonly DatasetRef[]): Promise<Map<DatasetId, boolean>> {
    const out = new Map<DatasetId, boolean>();
    for (const ref of refs) out.set(ref.id, await this.exists(ref));
    return out;
  }

  async record(ref: DatasetRef): Promise<StoredFileInfo | undefined> {
    const rec = await this.readRecord(ref);
    return rec ? this.infoOf(rec, ref) : undefined;
  }

  async getURIs(ref: DatasetRef, predict = false): Promise<DatasetURIs> {
    const rec = await this.readRecord(ref);
    if (rec) return { primary: this.uriOf(rec, ref), components: {} };
    if (!predict) {
      throw new DatasetNotFound(`Dataset ${ref.datasetType.name}@${dataIdKey(ref.dataId)} (${ref.id}) not in this datastore`, {
        datasetId: ref.id,
      });
    }
    const query = dataIdQuery(ref.dataId);
    return { primary: `mem://${ref.datasetType.name}${query ? `?${query}` : ''}#predicted`, components: {} };
  }

  getManyURIs(refs: readonly DatasetRef[], predict: boolean, allowMissing: boolean): Promise<Map<DatasetId, DatasetURIs>> {
    return manyURIs(this, refs, predict, allowMissing, true);
  }

  /** No root: daf_butler's in-memory datastore has none either. */
  get roots(): Record<string, string | null> {
    return { [this.name]: null };
  }

  /** The stored bytes of each dataset (there is no file to link to). */
  async artifacts(refs: readonly DatasetRef[]): Promise<ArtifactSource[]> {
    const out: ArtifactSource[] = [];
    for (const ref of refs) {
      const rec = await this.readRecord(ref);
      if (!rec || rec.trashed) throw this.notFound(ref);
      out.push({ id: ref.id, info: await this.infoOf(rec, ref), bytes: async () => (await this.getBytes(ref)).bytes });
    }
    return out;
  }

  async trash(refs: DatasetRef | readonly DatasetRef[], ignoreErrors = false): Promise<void> {
    const list = Array.isArray(refs) ? (refs as readonly DatasetRef[]) : [refs as DatasetRef];
    await this.store.transaction('trash', async () => {
      for (const ref of list) {
        const rec = await this.readRecord(ref);
        if (!rec) {
          // Unlike daf_butler, an unknown ref never lands in the trash.
          if (!Array.isArray(refs) && !ignoreErrors) throw this.notFound(ref);
          continue;
        }
        if (!rec.trashed) await this.store.updateMetadata(this.key(ref), { trashed: true });
      }
    });
  }

  async emptyTrash(refs?: readonly DatasetRef[]): Promise<DatasetId[]> {
    const candidates = refs === undefined ? await this.store.queryKeys({ trashed: true }) : refs.map((r) => this.key(r));
    const removed: DatasetId[] = [];
    for (const key of candidates) {
      let md: Metadata;
      try {
        md = await this.store.getMetadata(key, ['trashed']);
      } catch (err) {
        if (err instanceof KeyNotFound) continue;
        throw err;
      }
      if (md.trashed !== true) continue;
      await this.store.delete(key);
      removed.push(key);
    }
    return removed;
  }

  async remove(ref: DatasetRef): Promise<void> {
    await this.trash(ref, false);
    await this.emptyTrash([ref]);
  }

  async forget(refs: readonly DatasetRef[]): Promise<void> {
    for (const ref of refs) {
      try {
        await this.store.delete(this.key(ref));
      } catch (err) {
        if (!(err instanceof KeyNotFound)) throw err;
      }
    }
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.store.transaction(`datastore ${this.name}`, fn);
  }

  async exportRecords(refs: readonly DatasetRef[]): Promise<DatastoreRecordData> {
    const data: DatastoreRecordData = new Map();
    for (const ref of refs) {
      const rec = await this.readRecord(ref);
      if (!rec || rec.trashed) continue;
      data.set(ref.id, new Map([[STORED_FILE_INFO_TABLE, [toRecordRow(await this.infoOf(rec, ref))]]]));
    }
    return data;
  }

  exportPredictedRecords(_refs: readonly DatasetRef[]): DatastoreRecordData {
    return new Map(); // ephemeral: nothing for a registry to record ahead of time
  }

  close(): void {
    // The store outlives a client; its owner closes it.
  }

  async importRecords(_data: DatastoreRecordData): Promise<void> {
    // Records describe artifacts elsewhere; an in-memory datastore has nothing to attach them to.
  }
}
