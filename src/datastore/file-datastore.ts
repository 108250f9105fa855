/**
 * A file datastore: each dataset is a file in a `file` store at its location
 * template's path, written atomically (temp file + rename), with daf_butler-style
 * StoredFileInfo records kept in a RecordsTable. Reads use the record when there is
 * one, or predict the path from the template (daf_butler's trust mode): that is how
 * a quantum reads an upstream quantum's outputs when its graph carried no records.
 */
import { join } from 'node:path';
import { rm, stat } from 'node:fs/promises';
import type { DatasetId } from '../model/dataset-id.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import { dataIdKey, dataIdQuery } from '../model/data-coordinate.js';
import { fromRecordRow, toRecordRow, type DatastoreRecordData, type StoredFileInfo } from '../model/datastore-records.js';
import type { StorageClassRegistry } from '../model/storage-class.js';
import { ButlerError, ChecksumMismatch, DatasetAlreadyStored, DatasetNotFound, KeyNotFound } from '../model/errors.js';
import type { Store } from '../store/store.js';
import { checksumAlgorithm, checksumMatches, knownSha256, knownSha256Midpoint, recordChecksum, rememberDigestPair, rememberSha256Midpoint, sha256Hex, type ChecksumAlgorithm } from '../util/checksum.js';
import { decodeForRead, encodeForPut, putTarget } from './codec.js';
import type { DatasetURIs, Datastore, OperationContext, PutSource, ReadRequest, ReadResult, StoredArtifact } from './datastore.js';
import { manyURIs } from './datastore.js';
import { copyFileHashed, copyFileVerified, loadPutSource, type CopyCheck } from './file-transfer.js';
import type { OpenedFile } from './opened-file.js';
import type { FillFn, FillOptions } from '../store/file-store.js';
import { formatterFor } from './formatters.js';
import { expandTemplate } from './location-template.js';
import { STORED_FILE_INFO_TABLE } from '../model/datastore-records.js';
import type { RecordsTable } from './records-table.js';
import type { ArtifactSource } from './retrieve-artifacts.js';

/** The record checksum: daf_butler's (blake2b hex), SHA-256 (repositories configured so before), or none. */
export type ChecksumPolicy = ChecksumAlgorithm | null;

export interface FileDatastoreOptions {
  /** e.g. FileDatastore@<butlerRoot>/datastore: the same in every client of one repository. */
  name: string;
  /** Absolute path of the datastore root (for file:// URIs). */
  root: string;
  store: Store;
  template: string;
  records: RecordsTable;
  storageClasses: StorageClassRegistry;
  checksum: ChecksumPolicy;
  /**
   * The records the repository itself holds for these datasets in this datastore (its
   * registry's). They are the ground truth of the repository's own artifacts, so importRecords
   * takes them instead of a quantum's for those datasets.
   */
  heldRecords?: (ids: readonly DatasetId[]) => Promise<DatastoreRecordData>;
}

/** Trust-mode counters, to debug template or storage-class mismatches. */
export interface TrustStats {
  predictedReads: number;
  predictedMisses: number;
}

export class FileDatastore implements Datastore {
  readonly isEphemeral = false;
  readonly name: string;
  readonly storageClasses: StorageClassRegistry;
  readonly trust: TrustStats = { predictedReads: 0, predictedMisses: 0 };

  constructor(private readonly opts: FileDatastoreOptions) {
    this.name = opts.name;
    this.storageClasses = opts.storageClasses;
  }

  /** The predicted location of a dataset, from the template and its storage class's formatter. */
  predictedPath(ref: DatasetRef): string {
    const sc = this.storageClasses.get(ref.datasetType.parentStorageClass ?? ref.datasetType.storageClass);
    return expandTemplate(this.opts.template, ref, formatterFor(sc).extension);
  }

  /** The record if known, else (trust mode) a predicted one when the file exists. */
  private async locate(ref: DatasetRef): Promise<{ info: StoredFileInfo; predicted: boolean } | undefined> {
    const rec = this.opts.records.get(ref.id);
    if (rec) return { info: rec, predicted: false };
    const path = this.predictedPath(ref);
    this.trust.predictedReads++;
    if (!(await this.opts.store.exists(path))) {
      this.trust.predictedMisses++;
      return undefined;
    }
    return { info: this.predictedInfo(ref, path, -1), predicted: true };
  }

  /** What a trust-mode read knows of a dataset found at its predicted path. */
  private predictedInfo(ref: DatasetRef, path: string, size: number): StoredFileInfo {
    const sc = ref.datasetType.parentStorageClass ?? ref.datasetType.storageClass;
    return { formatter: formatterFor(this.storageClasses.get(sc)).name, path, storage_class: sc, component: null, checksum: null, file_size: size };
  }

  private notFound(ref: DatasetRef): Error {
    return new DatasetNotFound(`Dataset ${ref.datasetType.name}@${dataIdKey(ref.dataId)} (${ref.id}) not found in ${this.name}`, {
      datasetId: ref.id,
    });
  }

  private uri(path: string): string {
    return `file://${encodeURI(`${this.opts.root}/${path}`)}`;
  }

  async put(source: PutSource, ref: DatasetRef, ctx?: OperationContext): Promise<StoredArtifact> {
    // The caller's file, if lent open: read from there, not opened again, and closed once this put ends (see opened-file.ts).
    const file = source.kind === 'file' ? source.opened?.take() : undefined;
    try {
      return await this.putTaken(source, file, ref, ctx);
    } finally {
      await file?.close();
    }
  }

  private async putTaken(source: PutSource, file: OpenedFile | undefined, ref: DatasetRef, ctx?: OperationContext): Promise<StoredArtifact> {
    ctx?.checkCancelled?.();
    if (source.kind === 'file') {
      const copied = await this.putFile(source.path, file, ref, ctx);
      if (copied) return copied;
    }
    const { bytes, storageClass, formatter, sha256 } = encodeForPut(await loadPutSource(source, file), ref, this.storageClasses);
    const path = this.predictedPath(ref);
    const info: StoredFileInfo = {
      formatter: formatter.name,
      path,
      storage_class: storageClass.name,
      component: null,
      checksum: this.recordChecksum(bytes, sha256),
      file_size: bytes.length,
    };
    const existing = this.opts.records.get(ref.id);
    if (existing && !existing.trashed) {
      if (await this.describes(existing, path, bytes, sha256)) return { info: existing, uri: this.uri(path), unchanged: true, sha256 };
      throw new DatasetAlreadyStored(`Dataset ${ref.datasetType.name}@${dataIdKey(ref.dataId)} (${ref.id}) is already stored with different content.`, {
        datasetId: ref.id,
        details: { storedChecksum: existing.checksum, givenChecksum: info.checksum ?? sha256 },
      });
    }
    if (!existing && (await this.opts.store.exists(path))) return this.adoptExisting(path, ref, info, sha256);
    ctx?.progress?.(0.5, 'writing');
    ctx?.checkCancelled?.();
    await this.opts.store.set(path, bytes, { datasetId: ref.id, sha256 });
    this.opts.records.put(ref.id, info);
    ctx?.progress?.(1, 'stored');
    return { info, uri: this.uri(path), unchanged: false, sha256 };
  }

  /**
   * A put of a file without holding it whole: copied into the store's temp file in chunks, each
   * hashed for the answer's SHA-256 and the record's checksum while the next is read and the
   * chunk written, so the digests are those of the bytes stored, in one pass. Undefined when
   * this put needs the bytes: a format to check, a record or a file already there to compare
   * with, or a store that cannot take a filled file.
   */
  private async putFile(src: string, file: OpenedFile | undefined, ref: DatasetRef, ctx?: OperationContext): Promise<StoredArtifact | undefined> {
    const { storageClass, formatter } = putTarget(ref, this.storageClasses);
    const store = this.opts.store as Store & { setFilled?: (key: string, fill: FillFn, options?: FillOptions) => Promise<boolean> };
    if (!formatter.acceptsAnyBytes || !store.setFilled) return undefined;
    const path = this.predictedPath(ref);
    if (this.opts.records.get(ref.id)) return undefined;
    ctx?.progress?.(0.5, 'writing');
    ctx?.checkCancelled?.();
    let digests: FileDigests | undefined;
    // Only into a free path: the store checks that once (a file there is compared, below the caller).
    const written = await store.setFilled(path, async (_tmp, handle) => {
      const policy = this.opts.checksum;
      const { digests: d, size, midpoint } = await copyFileHashed(src, handle, policy === 'blake2b' ? ['sha256', 'blake2b512'] : ['sha256'], file);
      // Read through: the caller's file is closed while the store publishes (put awaits that close).
      void file?.close().catch(() => undefined);
      // Last chance to stop before the file is published (a throw here removes the temp file).
      ctx?.checkCancelled?.();
      digests = { sha256: d[0]!, checksum: policy === 'blake2b' ? d[1]! : policy === 'sha256' ? d[0]! : null, size };
      if (policy === 'blake2b') rememberDigestPair(d[1]!, d[0]!, size);
      // A get by path checks these bytes against their SHA-256 in two halves at once.
      if (midpoint && policy !== null) rememberSha256Midpoint(d[0]!, size, midpoint);
      return { datasetId: ref.id, sha256: digests.sha256 };
    }, { fresh: true });
    // Taken before the fill: put compares what is there.
    if (!written && !digests) return undefined;
    const { sha256, checksum, size } = digests!;
    const info: StoredFileInfo = { formatter: formatter.name, path, storage_class: storageClass.name, component: null, checksum, file_size: size };
    // Filled, but another writer published this path first (its file stays; the caller's is closed by now).
    if (!written) return this.adoptExisting(path, ref, info, sha256);
    this.opts.records.put(ref.id, info);
    ctx?.progress?.(1, 'stored');
    return { info, uri: this.uri(path), unchanged: false, sha256 };
  }

  /**
   * A file at `path` with no record: another writer's, or an earlier run's that died before
   * recording it. Identical content (`sha256`) is adopted; anything else is refused.
   */
  private async adoptExisting(path: string, ref: DatasetRef, info: StoredFileInfo, sha256: string): Promise<StoredArtifact> {
    const onDisk = await this.opts.store.getData(path);
    if (sha256Hex(onDisk) !== sha256) {
      throw new DatasetAlreadyStored(`A different artifact already exists at ${path} for dataset ${ref.id}.`, { datasetId: ref.id });
    }
    this.opts.records.put(ref.id, info);
    return { info, uri: this.uri(path), unchanged: true, sha256 };
  }

  /**
   * Does a record describe these bytes at `path`: by its checksum, of whichever algorithm wrote
   * it, else (a record without one) by the file at `path` itself. `sha256`: the bytes' SHA-256.
   */
  async describes(rec: StoredFileInfo, path: string, bytes: Uint8Array, sha256: string): Promise<boolean> {
    if (rec.path !== path) return false;
    if (rec.checksum !== null) return checksumMatches(rec.checksum, bytes, sha256);
    return this.opts.store.getData(path).then(
      (onDisk) => sha256Hex(onDisk) === sha256,
      () => false,
    );
  }

  /** The checksum this datastore's records carry for these bytes (its policy), or null. */
  recordChecksum(bytes: Uint8Array, sha256: string): string | null {
    return recordChecksum(this.opts.checksum, bytes, sha256);
  }

  async getBytes(ref: DatasetRef, ctx?: OperationContext): Promise<{ bytes: Buffer; info: StoredFileInfo }> {
    ctx?.checkCancelled?.();
    // Without a record, read the predicted path straight away (trust mode): a missing file
    // says as much as a separate existence check would, one file-system call sooner.
    const rec = this.opts.records.get(ref.id);
    const path = rec ? rec.path : this.predictedPath(ref);
    if (!rec) this.trust.predictedReads++;
    try {
      const bytes = await this.opts.store.getData(path);
      // Never serve bytes that are not the ones recorded (a file changed or damaged since),
      // whichever algorithm wrote the record's checksum; a record without one is checked by size.
      if (rec?.checksum && !checksumMatches(rec.checksum, bytes)) {
        throw new ChecksumMismatch(`The artifact of dataset ${ref.id} at ${path} does not match its recorded checksum; it was changed or damaged.`, {
          datasetId: ref.id,
          details: { path, recorded: rec.checksum, actual: recordChecksum(checksumAlgorithm(rec.checksum) ?? 'blake2b', bytes) },
        });
      }
      if (rec && !rec.checksum) checkRecordedSize(ref, rec, bytes.length);
      return { bytes, info: rec ?? this.predictedInfo(ref, path, bytes.length) };
    } catch (err) {
      if (err instanceof KeyNotFound) {
        if (!rec) this.trust.predictedMisses++;
        throw this.notFound(ref);
      }
      throw err;
    }
  }

  /**
   * The artifact copied to `dest` as stored, checked against the record's checksum on the way
   * (each chunk hashed as it is copied): a changed or damaged file is ChecksumMismatch and
   * leaves no destination. Without a checksum to check, the kernel copies the file and its
   * size is checked against the record's (a mismatch removes the copy).
   */
  async getToFile(ref: DatasetRef, dest: string, ctx?: OperationContext): Promise<{ size: number; info: StoredFileInfo }> {
    ctx?.checkCancelled?.();
    const rec = this.opts.records.get(ref.id);
    const path = rec ? rec.path : this.predictedPath(ref);
    if (!rec) this.trust.predictedReads++;
    // The store's own checks (no symbolic links on the way) before the file is opened by its path.
    if (!(await this.opts.store.exists(path))) {
      if (!rec) this.trust.predictedMisses++;
      throw this.notFound(ref);
    }
    const recorded = rec?.checksum ?? null;
    const algorithm = recorded === null ? null : checksumAlgorithm(recorded);
    const mismatch = (actual: string): Error =>
      new ChecksumMismatch(`The artifact of dataset ${ref.id} at ${path} does not match its recorded checksum; it was changed or damaged.`, {
        datasetId: ref.id,
        details: { path, recorded, actual },
      });
    const verify: CopyCheck | null =
      recorded === null
        ? null
        : {
            // A checksum of neither algorithm matches nothing (as checksumMatches says).
            algorithm: algorithm === 'sha256' ? 'sha256' : 'blake2b512',
            check: (digest) => {
              if (algorithm === null || digest !== recorded) throw mismatch(digest);
            },
            // Bytes this process put: their SHA-256 checked in two halves at once.
            ...(algorithm === 'sha256' ? { midpoint: knownSha256Midpoint(recorded!) } : {}),
          };
    // A blake2b this process computed with the bytes' SHA-256 (a put here): SHA-256 checks
    // them, twice as fast (and in two halves at once). Other bytes copy again, checked by
    // blake2b, which the error reports.
    const sha256 = recorded === null ? undefined : knownSha256(recorded);
    const bySha256: CopyCheck | undefined = sha256 === undefined ? undefined : {
      algorithm: 'sha256',
      check: (digest) => {
        if (digest !== sha256) throw mismatch(digest);
      },
      midpoint: knownSha256Midpoint(sha256),
    };
    let size: number;
    try {
      const from = join(this.opts.root, path);
      size = bySha256
        ? await copyFileVerified(from, dest, bySha256).catch((err: unknown) => {
            if (err instanceof ChecksumMismatch) return copyFileVerified(from, dest, verify);
            throw err;
          })
        : await copyFileVerified(from, dest, verify);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(err instanceof ButlerError)) throw this.notFound(ref);
      throw err;
    }
    if (rec && recorded === null) {
      try {
        checkRecordedSize(ref, rec, size);
      } catch (err) {
        await rm(dest, { force: true });
        throw err;
      }
    }
    return { size, info: rec ?? this.predictedInfo(ref, path, size) };
  }

  async get(ref: DatasetRef, request: ReadRequest = {}, ctx?: OperationContext): Promise<ReadResult & { bytesRead: number }> {
    const { bytes, info } = await this.getBytes(ref, ctx);
    ctx?.checkCancelled?.();
    return { ...decodeForRead(bytes, info.storage_class, ref, request, this.storageClasses, info.formatter), bytesRead: bytes.length };
  }

  async exists(ref: DatasetRef): Promise<boolean> {
    const found = await this.locate(ref);
    return found !== undefined && (found.predicted || (await this.opts.store.exists(found.info.path)));
  }

  async mexists(refs: readonly DatasetRef[]): Promise<Map<DatasetId, boolean>> {
    const out = new Map<DatasetId, boolean>();
    for (const ref of refs) out.set(ref.id, await this.exists(ref));
    return out;
  }

  async record(ref: DatasetRef): Promise<StoredFileInfo | undefined> {
    const rec = this.opts.records.get(ref.id);
    if (!rec || rec.trashed) return undefined;
    const { trashed: _t, ...info } = rec;
    return info;
  }

  async getURIs(ref: DatasetRef, predict = false): Promise<DatasetURIs> {
    const found = await this.locate(ref);
    if (found) return { primary: this.uri(found.info.path), components: {} };
    if (!predict) throw this.notFound(ref);
    const query = dataIdQuery(ref.dataId);
    return { primary: `${this.uri(this.predictedPath(ref))}${query ? `?${query}` : ''}#predicted`, components: {} };
  }

  getManyURIs(refs: readonly DatasetRef[], predict: boolean, allowMissing: boolean): Promise<Map<DatasetId, DatasetURIs>> {
    return manyURIs(this, refs, predict, allowMissing, false);
  }

  get roots(): Record<string, string | null> {
    return { [this.name]: `file://${encodeURI(this.opts.root)}/` };
  }

  /** The files of these datasets: from their records, or (trust mode) at their predicted paths. */
  async artifacts(refs: readonly DatasetRef[]): Promise<ArtifactSource[]> {
    const out: ArtifactSource[] = [];
    for (const ref of refs) {
      const found = await this.locate(ref);
      if (!found) throw this.notFound(ref);
      const file = join(this.opts.root, found.info.path.split('#')[0]!);
      if (!found.predicted && !(await this.opts.store.exists(found.info.path))) throw this.notFound(ref);
      // Trust mode knows no size: take the file's, as an ingest of it would record.
      const info = found.predicted ? { ...found.info, file_size: (await stat(file)).size } : found.info;
      out.push({ id: ref.id, info, file });
    }
    return out;
  }

  async trash(refs: DatasetRef | readonly DatasetRef[], ignoreErrors = false): Promise<void> {
    const list = Array.isArray(refs) ? (refs as readonly DatasetRef[]) : [refs as DatasetRef];
    for (const ref of list) {
      const rec = this.opts.records.get(ref.id);
      if (rec) {
        this.opts.records.setTrashed(ref.id, true);
        continue;
      }
      // Trust mode: an artifact with no record is deleted at once (daf_butler does the
      // same); the butler only ever passes its own outputs here.
      const path = this.predictedPath(ref);
      if (await this.opts.store.exists(path)) await this.opts.store.delete(path);
      else if (!Array.isArray(refs) && !ignoreErrors) throw this.notFound(ref);
    }
  }

  async emptyTrash(refs?: readonly DatasetRef[]): Promise<DatasetId[]> {
    const ids = refs === undefined ? this.opts.records.trashedIds() : refs.map((r) => r.id);
    const removed: DatasetId[] = [];
    for (const id of ids) {
      const rec = this.opts.records.get(id);
      if (!rec?.trashed) continue;
      try {
        await this.opts.store.delete(rec.path);
      } catch (err) {
        if (!(err instanceof KeyNotFound)) throw err;
      }
      this.opts.records.remove(id);
      removed.push(id);
    }
    return removed;
  }

  async remove(ref: DatasetRef): Promise<void> {
    await this.trash(ref, false);
    await this.emptyTrash([ref]);
  }

  /** Forget records only: artifacts in a shared repository are not this client's to delete. */
  async forget(refs: readonly DatasetRef[]): Promise<void> {
    for (const ref of refs) this.opts.records.remove(ref.id);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const sp = this.opts.records.savepoint('datastore');
    try {
      const result = await this.opts.store.transaction(`datastore ${this.name}`, fn);
      sp.release();
      return result;
    } catch (err) {
      sp.rollback();
      throw err;
    }
  }

  async exportRecords(refs: readonly DatasetRef[]): Promise<DatastoreRecordData> {
    const data: DatastoreRecordData = new Map();
    for (const ref of refs) {
      const info = await this.record(ref);
      if (info) data.set(ref.id, new Map([[STORED_FILE_INFO_TABLE, [toRecordRow(info)]]]));
    }
    return data;
  }

  /** Expected records without touching the disk (daf_butler export_predicted_records). */
  exportPredictedRecords(refs: readonly DatasetRef[]): DatastoreRecordData {
    const data: DatastoreRecordData = new Map();
    for (const ref of refs) {
      const sc = this.storageClasses.get(ref.datasetType.storageClass);
      const info: StoredFileInfo = {
        formatter: formatterFor(sc).name,
        path: this.predictedPath(ref),
        storage_class: sc.name,
        component: null,
        checksum: null,
        file_size: -1,
      };
      data.set(ref.id, new Map([[STORED_FILE_INFO_TABLE, [toRecordRow(info)]]]));
    }
    return data;
  }

  /** Close the records table (the store is the repository's and stays open). */
  close(): void {
    this.opts.records.close();
  }

  async importRecords(data: DatastoreRecordData): Promise<void> {
    // A quantum built against another repository (every daf_butler file datastore has the
    // same default name) or before a re-ingest carries records of artifacts that are not
    // ours: for datasets this repository holds, its own records stand instead.
    const held = this.opts.heldRecords && data.size > 0 ? await this.opts.heldRecords([...data.keys()]) : new Map() as DatastoreRecordData;
    for (const [id, tables] of data) {
      for (const row of (held.get(id) ?? tables).get(STORED_FILE_INFO_TABLE) ?? []) this.opts.records.importRecord(id, fromRecordRow(row));
    }
  }
}

/**
 * A record without a checksum still knows the artifact's size (daf_butler's quick check on a
 * read, as its records carry no checksum by default): other bytes are ChecksumMismatch. A size
 * of -1 (predicted, trust mode) is unknown and checks nothing.
 */
function checkRecordedSize(ref: DatasetRef, rec: StoredFileInfo, size: number): void {
  if (rec.file_size < 0 || rec.file_size === size) return;
  throw new ChecksumMismatch(`The artifact of dataset ${ref.id} at ${rec.path} is ${size} bytes, not the ${rec.file_size} its record says; it was changed or damaged.`, {
    datasetId: ref.id,
    details: { path: rec.path, recordedSize: rec.file_size, actualSize: size },
  });
}

interface FileDigests {
  sha256: string;
  /** The record checksum under the policy, or null. */
  checksum: string | null;
  size: number;
}
