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
import { makeDatasetType, type DatasetType } from '../model/dataset-type.js';
import { makeDatasetId, type IdGenerationMode } from '../model/dataset-id.js';
import { standardizeDataId, type DataId } from '../model/data-coordinate.js';
import type { DimensionUniverse } from '../model/dimensions/dimension-universe.js';
import { DatasetNotFound, DimensionNameError, RepositoryError, UnknownDatasetType } from '../model/errors.js';
import { STORED_FILE_INFO_TABLE, toRecordRow, type DatastoreRecordData, type StoredFileInfo } from '../model/datastore-records.js';
import { Registry } from './registry.js';
import {
  CONFIG_FILE,
  DATASTORE_DIR,
  REGISTRY_FILE,
  configUniverse,
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
    /** The repository's dimension universe (its config's). */
    readonly universe: DimensionUniverse,
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
    const universe = configUniverse(config);
    // Validate storage classes before anything is written.
    StorageClassRegistry.withBuiltins().loadConfig(config.storageClasses as Record<string, StorageClassConfig>);
    if (existsSync(join(root, CONFIG_FILE))) throw new RepositoryError(`A repository already exists at ${root}.`, { details: { root } });
    if (existsSync(root) && readdirSync(root).length > 0) {
      throw new RepositoryError(`${root} exists and is not empty; choose an empty or new directory.`, { details: { root } });
    }
    mkdirSync(join(root, DATASTORE_DIR), { recursive: true });
    const registry = Registry.open(join(root, REGISTRY_FILE), { universe });
    writeRepositoryConfig(root, config);
    return new Repository(root, config, registry, universe);
  }

  static open(rootPath: string): Repository {
    const root = resolve(rootPath);
    const config = readRepositoryConfig(root);
    let universe: DimensionUniverse;
    try {
      universe = configUniverse(config);
    } catch (err) {
      throw new RepositoryError(`${join(root, CONFIG_FILE)} names a dimension universe this sidecar cannot use: ${(err as Error).message}`, { details: { root } });
    }
    return new Repository(root, config, Registry.open(join(root, REGISTRY_FILE), { universe }), universe);
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
      checksums: this.config.datastore.checksum === 'sha256',
    });
  }

  /** The type in the repository's universe (its dimensions must all be known there) with a known storage class. */
  private checked(dt: DatasetType): DatasetType {
    const unknown = dt.group.names.filter((d) => !this.universe.has(d));
    if (unknown.length) {
      throw new DimensionNameError(`Dataset type ${dt.name} uses dimensions unknown to the repository's universe (${this.universe.label}): ${unknown.join(', ')}.`, {
        details: { datasetType: dt.name, unknown, universe: this.universe.label },
      });
    }
    this.storageClasses.get(dt.storageClass);
    return dt.group.universe === this.universe ? dt : makeDatasetType({ ...dt, universe: this.universe, dimensions: dt.group.names });
  }

  registerDatasetType(dt: DatasetType): void {
    this.registry.registerDatasetType(this.checked(dt));
  }

  /** Store a dataset directly into the repository (seeding inputs). */
  async put(
    datasetTypeName: string,
    dataId: DataId,
    run: string,
    source: PutSource,
    mode: IdGenerationMode = 'DATAID_TYPE_RUN',
  ): Promise<{ ref: DatasetRef; info: StoredFileInfo }> {
    const dt = this.registry.getDatasetType(datasetTypeName);
    if (!dt) throw new UnknownDatasetType(`Dataset type ${datasetTypeName} is not registered in ${this.root}.`);
    // Coerced and checked against the type's dimensions (DimensionNameError names missing ones);
    // implied values are kept when all are given, and only the required ones make the id.
    const standard = standardizeDataId(dataId, dt.group);
    const ref: DatasetRef = { id: makeDatasetId(mode, dt.name, standard, dt.dimensions, run), datasetType: dt, dataId: standard, run };
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
      return { ref, info: artifact.info };
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
