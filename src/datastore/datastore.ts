/**
 * The datastore contract: datasets (values with a storage class) on top of a store.
 * The in-memory datastore implements it now; the file datastore of a persistent
 * repository implements the same interface.
 */
import { DatasetNotFound } from '../model/errors.js';
import type { DatasetId } from '../model/dataset-id.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import type { DatastoreRecordData, StoredFileInfo } from '../model/datastore-records.js';
import type { ArtifactSource } from './retrieve-artifacts.js';
import type { OpenedFile } from './opened-file.js';

/** What a read asks for beyond the ref itself. */
export interface ReadRequest {
  component?: string;
  parameters?: Record<string, unknown>;
  /** Read storage-class override: converts or fails. */
  storageClass?: string;
}

/** A dataset's value, as given to put. Bytes are the formatter's serialisation. */
export type PutSource =
  | { kind: 'value'; value: unknown }
  | {
      kind: 'bytes';
      bytes: Buffer;
      /** Nobody else holds `bytes` (decoded from a payload or read from a file): a datastore may keep them without a copy. */
      owned?: boolean;
      /** SHA-256 (hex) of `bytes`, when the caller computed it while reading them. */
      sha256?: string;
    }
  | {
      /**
       * A regular file's content, read where it is needed: a file datastore copies it in
       * chunks, hashing each as it is written, never holding it whole; others read it whole
       * (loadPutSource). The caller checked the file could be opened.
       */
      kind: 'file';
      path: string;
      /** The file as the caller opened it, lent to the reader (see opened-file.ts); else the reader opens `path`. */
      opened?: OpenedFile;
    };

/** A put source with its bytes at hand (a file read whole). */
export type LoadedPutSource = Exclude<PutSource, { kind: 'file' }>;

/** What a successful put wrote. */
export interface StoredArtifact {
  /** The record, as daf_butler writes it (its `checksum` is daf_butler's, or null when off). */
  info: StoredFileInfo;
  uri: string;
  /** The put found identical bytes already stored and changed nothing. */
  unchanged: boolean;
  /** SHA-256 (hex) of the stored bytes, whatever the record's checksum policy. */
  sha256: string;
}

/** How retrieveArtifacts places files (lsst.resources transfer modes; `move` is refused, as in daf_butler). */
export type ArtifactTransfer = 'auto' | 'copy' | 'link' | 'hardlink' | 'symlink' | 'relsymlink';

export interface RetrieveOptions {
  /** Absolute path of the destination directory (created if needed). */
  destination: string;
  transfer: ArtifactTransfer;
  /** Keep the artifact's path inside the datastore; else only its file name (with `prefix`). */
  preservePath: boolean;
  overwrite: boolean;
  /** Prefix each file name with the first 8 characters of its dataset id and '-' (only without preservePath). */
  addPrefix?: boolean;
}

/** One retrieved artifact: where it was written, its record (daf_butler SerializedStoredFileInfo) and the datasets it holds. */
export interface RetrievedArtifact {
  path: string;
  info: StoredFileInfo;
  ids: DatasetId[];
}

export interface ReadResult {
  value: unknown;
  storageClass: string;
}

export interface DatasetURIs {
  primary: string | null;
  components: Record<string, string>;
}

/** Long operations report progress and can be cancelled by the caller. */
export interface OperationContext {
  progress?(fraction: number, message?: string): void;
  /** Throws if the caller gave up; checked between steps. */
  checkCancelled?(): void;
}

export interface Datastore {
  readonly name: string;
  /**
   * In memory, gone with the process. With no records to export, its export is `{}`, as
   * daf_butler's InMemoryDatastore's; a persistent datastore's still names it, with an empty
   * block, as FileDatastore's export_records and export_predicted_records do.
   */
  readonly isEphemeral: boolean;

  /** Write one dataset. Same id with identical bytes is a no-op; different bytes is DatasetAlreadyStored. */
  put(source: PutSource, ref: DatasetRef, ctx?: OperationContext): Promise<StoredArtifact>;
  /**
   * put, done in the caller's turn where the datastore can (in memory, nothing holding its
   * store's lock): the artifact itself, else a promise of it as put gives. The same outcome as put.
   */
  putNow?(source: PutSource, ref: DatasetRef, ctx?: OperationContext): StoredArtifact | Promise<StoredArtifact>;
  /** Read with components, parameters and storage-class override applied. Never aliases stored state. */
  /** `bytesRead`: the size of the stored artifact that was read (whatever part of it the request kept). */
  get(ref: DatasetRef, request?: ReadRequest, ctx?: OperationContext): Promise<ReadResult & { bytesRead: number }>;
  /** The stored bytes exactly as written (the formatter's serialisation) and the record; both possibly shared with the datastore: read-only. */
  getBytes(ref: DatasetRef, ctx?: OperationContext): Promise<{ bytes: Buffer; info: StoredFileInfo }>;

  /**
   * The stored bytes exactly as written, into the file `dest` (absolute): a temp file beside it
   * renamed into place once complete and checked against the record's checksum (where there is
   * one), so a failure leaves `dest` as it was. The size written and the record.
   */
  getToFile(ref: DatasetRef, dest: string, ctx?: OperationContext): Promise<{ size: number; info: StoredFileInfo }>;

  exists(ref: DatasetRef): Promise<boolean>;
  /** Bulk existence, keyed by dataset id. */
  mexists(refs: readonly DatasetRef[]): Promise<Map<DatasetId, boolean>>;
  /** The record of a stored dataset, or undefined. */
  record(ref: DatasetRef): Promise<StoredFileInfo | undefined>;
  getURIs(ref: DatasetRef, predict?: boolean): Promise<DatasetURIs>;
  /**
   * URIs of many datasets, keyed by id (daf_butler getManyURIs). A missing dataset is predicted
   * with `predict`, skipped with `allowMissing`, and DatasetNotFound otherwise.
   */
  getManyURIs(refs: readonly DatasetRef[], predict: boolean, allowMissing: boolean): Promise<Map<DatasetId, DatasetURIs>>;
  /** daf_butler `roots`: datastore name → root URI (null when it has no root). */
  readonly roots: Readonly<Record<string, string | null>>;
  /**
   * The artifacts of these stored datasets, in ref order (what retrieveArtifacts copies; see
   * retrieve-artifacts.ts): a file on disk, or the stored bytes. DatasetNotFound for one not stored.
   */
  artifacts(refs: readonly DatasetRef[]): Promise<ArtifactSource[]>;

  /** Move to the trash (a single unknown ref is DatasetNotFound unless ignoreErrors). */
  trash(refs: DatasetRef | readonly DatasetRef[], ignoreErrors?: boolean): Promise<void>;
  /** Delete trashed datasets; with refs, only those. An empty list deletes nothing. */
  emptyTrash(refs?: readonly DatasetRef[]): Promise<DatasetId[]>;
  /** trash + emptyTrash of one ref. */
  remove(ref: DatasetRef): Promise<void>;
  /** Drop what the datastore knows of these refs, and free their artifacts. Idempotent. */
  forget(refs: readonly DatasetRef[]): Promise<void>;

  /** Run fn atomically: a failure restores every dataset and trash entry it touched. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;

  /** Records for the given refs (those it has), keyed by dataset id. */
  exportRecords(refs: readonly DatasetRef[]): Promise<DatastoreRecordData>;
  /** Records carried in from elsewhere (a quantum). */
  importRecords(data: DatastoreRecordData): Promise<void>;

  /** Expected records of datasets that may not exist yet (daf_butler export_predicted_records); {} when ephemeral. */
  exportPredictedRecords(refs: readonly DatasetRef[]): DatastoreRecordData;

  /** Release what this client holds (records files); the data stays. */
  close(): void;
}

/**
 * getManyURIs over a datastore's own getURIs (a dataset it has a record of has its URI, its file
 * not looked at), failing as daf_butler's do once every ref was looked at: `count`, as the base
 * Datastore's (InMemoryDatastore's) with how many were missing; else with the first missing
 * ref's own error, as FileDatastore's.
 */
export async function manyURIs(ds: Datastore, refs: readonly DatasetRef[], predict: boolean, allowMissing: boolean, count: boolean): Promise<Map<DatasetId, DatasetURIs>> {
  const out = new Map<DatasetId, DatasetURIs>();
  const missing: DatasetId[] = [];
  let first: InstanceType<typeof DatasetNotFound> | undefined;
  for (const ref of refs) {
    try {
      out.set(ref.id, await ds.getURIs(ref, predict));
    } catch (err) {
      if (!(err instanceof DatasetNotFound)) throw err;
      first ??= err;
      missing.push(ref.id);
    }
  }
  if (first && !allowMissing) {
    if (!count) throw first;
    throw new DatasetNotFound(`Missing ${missing.length} refs from datastore out of ${missing.length + out.size} and predict=False.`, { details: { missing } });
  }
  return out;
}
