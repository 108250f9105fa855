/**
 * A persistent repository on disk: `butler.json` (config), `registry.sqlite3` (the
 * SQLite registry) and `datastore/` (a file store holding the artifacts). Sessions
 * read and write its datastore through their own FileDatastore clients; the
 * registry learns of their outputs through collect-and-transfer.
 */
import { Mutex } from '../util/mutex.js';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FileStore } from '../store/file-store.js';
import { StorageClassRegistry, type StorageClassConfig } from '../model/storage-class.js';
import { FileDatastore } from '../datastore/file-datastore.js';
import { RecordsTable } from '../datastore/records-table.js';
import type { PutSource } from '../datastore/datastore.js';
import type { DatasetRef } from '../model/dataset-ref.js';
import type { DatasetType } from '../model/dataset-type.js';
import { makeDatasetId, type IdGenerationMode } from '../model/dataset-id.js';
import type { DataId } from '../model/data-coordinate.js';
import { DatasetNotFound, InvalidArgument, RepositoryError, UnknownDatasetType } from '../model/errors.js';
import { STORED_FILE_INFO_TABLE, toRecordRow, type DatastoreRecordData, type StoredFileInfo } from '../model/datastore-records.js';
import { Registry } from './registry.js';
import {
  CONFIG_FILE,
  DATASTORE_DIR,
  REGISTRY_FILE,
  parseRepositoryConfig,
  readRepositoryConfig,
  writeRepositoryConfig,
  type RepositoryConfig,
} from './repository-config.js';

export class Repository {
  /** The datastore's name keeps the unexpanded root placeholder, as daf_butler's does, so it matches across clients. */
  static readonly DATASTORE_NAME = 'FileDatastore@<butlerRoot>/datastore';

  readonly storageClasses: StorageClassRegistry;
  readonly datastoreRoot: string;
  private readonly store: FileStore;
  private closed = false;
  private directDatastore: FileDatastore | undefined;
  /**
   * Registry writes of this process, one at a time. A collect-and-transfer on its writer
   * thread holds the registry's write lock across event-loop turns; a second writer waiting
   * synchronously on that lock would stop the very loop that lets the first one finish.
   */
  readonly writes = new Mutex();

  private constructor(
    readonly root: string,
    readonly config: RepositoryConfig,
    readonly registry: Registry,
  ) {
    this.storageClasses = StorageClassRegistry.withBuiltins();
    this.storageClasses.loadConfig(config.storageClasses as Record<string, StorageClassConfig>);
    this.datastoreRoot = join(root, DATASTORE_DIR);
    this.store = new FileStore(this.datastoreRoot);
  }

  /** The file store holding the artifacts (store/* methods of repository sessions act on it). */
  get artifactStore(): FileStore {
    return this.store;
  }

  get datastoreName(): string {
    return Repository.DATASTORE_NAME;
  }

  static create(rootPath: string, configInput?: unknown): Repository {
    const root = resolve(rootPath);
    const config = parseRepositoryConfig(configInput);
    // Validate storage classes before anything is written.
    StorageClassRegistry.withBuiltins().loadConfig(config.storageClasses as Record<string, StorageClassConfig>);
    if (existsSync(join(root, CONFIG_FILE))) throw new RepositoryError(`A repository already exists at ${root}.`, { details: { root } });
    if (existsSync(root) && readdirSync(root).length > 0) {
      throw new RepositoryError(`${root} exists and is not empty; choose an empty or new directory.`, { details: { root } });
    }
    mkdirSync(join(root, DATASTORE_DIR), { recursive: true });
    const registry = Registry.open(join(root, REGISTRY_FILE));
    writeRepositoryConfig(root, config);
    return new Repository(root, config, registry);
  }

  static open(rootPath: string): Repository {
    const root = resolve(rootPath);
    const config = readRepositoryConfig(root);
    return new Repository(root, config, Registry.open(join(root, REGISTRY_FILE)));
  }

  /** A datastore client whose records live in `recordsFile` (a session's) or in memory. */
  datastore(recordsFile = ':memory:', storageClasses: StorageClassRegistry = this.storageClasses): FileDatastore {
    return new FileDatastore({
      name: this.datastoreName,
      root: this.datastoreRoot,
      store: this.store,
      template: this.config.datastore.template,
      records: new RecordsTable(recordsFile),
      storageClasses,
      checksum: this.config.datastore.checksum === 'none' ? null : this.config.datastore.checksum,
    });
  }

  /** Dimensions must be known to the repository's configuration. */
  private checkDimensions(dt: DatasetType): void {
    const unknown = dt.dimensions.filter((d) => !(d in this.config.dimensions));
    if (unknown.length) {
      throw new InvalidArgument(`Dataset type ${dt.name} uses unknown dimensions: ${unknown.join(', ')}.`, {
        details: { known: Object.keys(this.config.dimensions) },
      });
    }
    this.storageClasses.get(dt.storageClass);
  }

  registerDatasetType(dt: DatasetType): void {
    this.checkDimensions(dt);
    this.registry.registerDatasetType(dt);
  }

  /** Store a dataset directly into the repository (seeding inputs). */
  async put(
    datasetTypeName: string,
    dataId: DataId,
    run: string,
    source: PutSource,
    mode: IdGenerationMode = 'DATAID_TYPE_RUN',
  ): Promise<{ ref: DatasetRef; info: StoredFileInfo; sha256: string }> {
    const dt = this.registry.getDatasetType(datasetTypeName);
    if (!dt) throw new UnknownDatasetType(`Dataset type ${datasetTypeName} is not registered in ${this.root}.`);
    const missing = dt.dimensions.filter((d) => dataId[d] === undefined);
    if (missing.length) throw new InvalidArgument(`Data ID for ${datasetTypeName} lacks required dimensions: ${missing.join(', ')}.`);
    const ref: DatasetRef = {
      id: makeDatasetId(mode, dt.name, dataId, dt.dimensions, run),
      datasetType: dt,
      // Only the required dimensions identify the dataset.
      dataId: Object.fromEntries(dt.dimensions.map((d) => [d, dataId[d]!]).sort(([a], [b]) => String(a).localeCompare(String(b)))),
      run,
    };
    const ds = this.direct();
    try {
      const existing = this.registry.getRecords(this.datastoreName, [ref.id]);
      await ds.importRecords(existing);
      const artifact = await ds.put(source, ref);
      this.registry.transaction(() => {
        this.registry.registerRun(run);
        this.registry.insertDatasets([ref]);
        this.registry.insertRecords(this.datastoreName, new Map([[ref.id, new Map([[STORED_FILE_INFO_TABLE, [toRecordRow(artifact.info)]]])]]));
      });
      return { ref, info: artifact.info, sha256: artifact.sha256 };
    } finally {
      await ds.forget([ref]);
    }
  }

  async get(ref: DatasetRef, request: Parameters<FileDatastore['get']>[1] = {}) {
    const ds = this.direct();
    try {
      await ds.importRecords(this.registry.getRecords(this.datastoreName, [ref.id]));
      return await ds.get(ref, request);
    } finally {
      await ds.forget([ref]);
    }
  }

  /**
   * The datastore client of direct puts and gets: one for the repository's life (opening an
   * SQLite records table per call cost more than the call). The registry holds the records;
   * each call borrows its dataset's record and forgets it again, so nothing accumulates.
   */
  private direct(): FileDatastore {
    return (this.directDatastore ??= this.datastore());
  }

  resolveRef(id: string): DatasetRef {
    const ref = this.registry.getDataset(id);
    if (!ref) throw new DatasetNotFound(`Dataset ${id} is not in the registry of ${this.root}.`, { datasetId: id });
    return ref;
  }

  exportRecords(ids: readonly string[]): DatastoreRecordData {
    return this.registry.getRecords(this.datastoreName, ids);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.directDatastore?.close();
    this.registry.close();
    void this.store.close();
  }
}
