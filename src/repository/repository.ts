/**
 * A persistent repository on disk: `butler.json` (config), a registry (the SQLite file
 * `registry.sqlite3` beside it, or a schema on a PostgreSQL server that butler.json
 * names) and `datastore/` (a file store holding the artifacts). Sessions read and write
 * its datastore through their own FileDatastore clients; the registry learns of their
 * outputs through collect-and-transfer.
 *
 * A direct put is safe against other processes putting the same dataset: the artifact is
 * written under a unique temp name, the dataset and its record are claimed in one
 * registry transaction, and the artifact is published (hard-linked to its final path,
 * never over another file) inside that transaction; whoever loses the claim removes its
 * temp file and answers DatasetAlreadyStored. A record therefore always describes the
 * file at its path.
 */
import { fsPathProblem } from '../util/fs-path.js';
import { Mutex } from '../util/mutex.js';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { FileStore } from '../store/file-store.js';
import { tempName } from '../store/file-temp.js';
import { ioCall } from '../store/base-store.js';
import { StorageClassRegistry, type StorageClassConfig } from '../model/storage-class.js';
import { FileDatastore } from '../datastore/file-datastore.js';
import { RecordsTable } from '../datastore/records-table.js';
import { encodeForPut } from '../datastore/codec.js';
import { loadPutSource } from '../datastore/file-transfer.js';
import type { PutSource, RetrievedArtifact, RetrieveOptions } from '../datastore/datastore.js';
import { retrieveInto } from '../datastore/retrieve-artifacts.js';
import { runNameProblem, type DatasetRef } from '../model/dataset-ref.js';
import { makeDatasetType, type DatasetType } from '../model/dataset-type.js';
import { makeDatasetId, type IdGenerationMode } from '../model/dataset-id.js';
import { dataIdKey, standardizeDataId, type DataId } from '../model/data-coordinate.js';
import type { DimensionUniverse } from '../model/dimensions/dimension-universe.js';
import { DatasetAlreadyStored, DatasetNotFound, DimensionNameError, InvalidArgument, RepositoryError, UnknownDatasetType } from '../model/errors.js';
import { fromRecordRow, toRecordRow, type DatastoreRecordData, type StoredFileInfo } from '../model/datastore-records.js';
import { sha256Hex } from '../util/checksum.js';
import type { Registry } from './registry.js';
import { openRegistry, type RegistryOpenOptions } from './open-registry.js';
import {
  CONFIG_FILE,
  DATASTORE_DIR,
  configUniverse,
  parseRepositoryConfig,
  PostgresRegistryConfigSchema,
  readRepositoryConfig,
  urlWithoutPassword,
  writeRepositoryConfig,
  type RepositoryConfig,
} from './repository-config.js';

/** Where a new repository's registry goes: the SQLite file (default) or a PostgreSQL server. */
export type RegistrySpec = { kind: 'sqlite' } | { kind: 'postgresql'; url: string; schema?: string };

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
   * thread holds the registry's write lock across event-loop turns; another write of this
   * process would only wait for it (on timers) meanwhile.
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

  /**
   * Make a repository in a new or empty directory. A PostgreSQL registry is created in its
   * schema (which must not hold a registry yet); butler.json records its URL without the
   * password (give it at run time: PGPASSWORD, ~/.pgpass, or `--registry-url`).
   */
  static async create(rootPath: string, configInput?: unknown, registry?: RegistrySpec, opts: RegistryOpenOptions = {}): Promise<Repository> {
    const root = rootOf(rootPath);
    const config = parseRepositoryConfig(configInput);
    const universe = configUniverse(config);
    // Validate storage classes before anything is written.
    StorageClassRegistry.withBuiltins().loadConfig(config.storageClasses as Record<string, StorageClassConfig>);
    let connectUrl: string | undefined;
    if (registry && registry.kind === 'postgresql') {
      const parsed = PostgresRegistryConfigSchema.safeParse({ kind: 'postgresql', url: urlWithoutPassword(registry.url), schema: registry.schema });
      if (!parsed.success) throw new InvalidArgument(`Invalid registry: ${parsed.error.issues.map((i) => i.message).join('; ')}`, { details: { issues: parsed.error.issues } });
      config.registry = parsed.data;
      connectUrl = opts.registryUrl ?? registry.url;
    }
    if (existsSync(join(root, CONFIG_FILE))) throw new RepositoryError(`A repository already exists at ${root}.`, { details: { root } });
    if (existsSync(root) && readdirSync(root).length > 0) {
      throw new RepositoryError(`${root} exists and is not empty; choose an empty or new directory.`, { details: { root } });
    }
    const rootExisted = existsSync(root);
    // The first directory made (the root, or one of its parents, when it did not exist).
    const made = mkdirSync(join(root, DATASTORE_DIR), { recursive: true });
    // A create that fails (the server unavailable, a login refused...) leaves the directory as it
    // found it, so that a retry is not refused as a non-empty directory: what it made is
    // removed, and the root was empty, so all in it is create's (datastore/, a SQLite registry).
    const undo = (): void => {
      if (!rootExisted) {
        if (made !== undefined) rmSync(made, { recursive: true, force: true });
        return;
      }
      for (const name of readdirSync(root)) rmSync(join(root, name), { recursive: true, force: true });
    };
    let reg: Registry;
    try {
      reg = await openRegistry(root, config.registry, { create: true, universe, ...(connectUrl !== undefined ? { registryUrl: connectUrl } : {}) });
    } catch (err) {
      undo();
      throw err;
    }
    try {
      writeRepositoryConfig(root, config);
    } catch (err) {
      await reg.close();
      if (existsSync(join(root, CONFIG_FILE))) throw err; // another create's butler.json: not ours to remove
      undo();
      throw err;
    }
    return new Repository(root, config, reg, universe);
  }

  static async open(rootPath: string, opts: RegistryOpenOptions = {}): Promise<Repository> {
    const root = rootOf(rootPath);
    const config = readRepositoryConfig(root);
    let universe: DimensionUniverse;
    try {
      universe = configUniverse(config);
    } catch (err) {
      throw new RepositoryError(`${join(root, CONFIG_FILE)} names a dimension universe this sidecar cannot use: ${(err as Error).message}`, { details: { root } });
    }
    return new Repository(root, config, await openRegistry(root, config.registry, { ...opts, universe }), universe);
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
      heldRecords: (ids) => this.exportRecords(ids),
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

  /** Register a dataset type; true if it was new. */
  async registerDatasetType(dt: DatasetType): Promise<boolean> {
    return this.registry.registerDatasetType(this.checked(dt));
  }

  /** Store a dataset directly into the repository (seeding inputs). See the module notes on concurrent puts. */
  async put(
    datasetTypeName: string,
    dataId: DataId,
    run: string,
    source: PutSource,
    mode: IdGenerationMode = 'DATAID_TYPE_RUN',
  ): Promise<{ ref: DatasetRef; info: StoredFileInfo; unchanged: boolean; sha256: string }> {
    const badRun = runNameProblem(run);
    if (badRun) throw new InvalidArgument(`Invalid run: ${badRun}.`, { details: { problem: badRun } });
    const dt = await this.registry.getDatasetType(datasetTypeName);
    if (!dt) throw new UnknownDatasetType(`Dataset type ${datasetTypeName} is not registered in ${this.root}.`);
    // Coerced and checked against the type's dimensions (DimensionNameError names missing ones);
    // implied values are kept when all are given, and only the required ones make the id.
    const standard = standardizeDataId(dataId, dt.group);
    const ref: DatasetRef = { id: makeDatasetId(mode, dt.name, standard, dt.dimensions, run), datasetType: dt, dataId: standard, run };
    const { bytes, storageClass, formatter, sha256 } = encodeForPut(await loadPutSource(source), ref, this.storageClasses);
    const ds = this.direct();
    const path = ds.predictedPath(ref);
    const info: StoredFileInfo = {
      formatter: formatter.name,
      path,
      storage_class: storageClass.name,
      component: null,
      checksum: ds.recordChecksum(bytes, sha256),
      file_size: bytes.length,
    };
    const target = join(this.datastoreRoot, path);
    // Data ID values and run names become path segments: refuse what no file system takes.
    const badPath = fsPathProblem(target);
    if (badPath) {
      throw new InvalidArgument(`The artifact path of ${ref.datasetType.name}@${dataIdKey(ref.dataId)} ${badPath}; use shorter data ID values or run names.`, {
        datasetId: ref.id,
        details: { problem: badPath },
      });
    }
    // Named as the file store names its temp files (host and pid: the sweep removes one whose writer is gone).
    const tmp = join(dirname(target), tempName());
    await ioCall(`mkdir ${dirname(target)}`, () => mkdir(dirname(target), { recursive: true }));
    let linked = false;
    try {
      // Inside the try: a write that fails part-way (the disk full: IOFailure) leaves no temp file.
      await ioCall(`write ${tmp}`, () => writeFile(tmp, bytes, { flag: 'wx' }));
      const outcome = await this.registry.storeDataset({
        ref,
        datastoreName: this.datastoreName,
        record: toRecordRow(info),
        publish: () => {
          linked = publishArtifact(tmp, target, sha256, ref);
        },
      });
      if (outcome.stored) return { ref, info, unchanged: !linked, sha256 };
      const existing = fromRecordRow(outcome.existing);
      // The stored record's checksum may be of the other algorithm (a repository's older records).
      if (await ds.describes(existing, path, bytes, sha256)) return { ref, info: existing, unchanged: true, sha256 };
      throw new DatasetAlreadyStored(`Dataset ${ref.datasetType.name}@${dataIdKey(ref.dataId)} (${ref.id}) is already stored with different content.`, {
        datasetId: ref.id,
        details: { storedChecksum: existing.checksum, givenChecksum: info.checksum ?? sha256 },
      });
    } catch (err) {
      // Published but not committed: the file is ours alone (the claim failed), take it back.
      if (linked) await rm(target, { force: true });
      throw err;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async get(ref: DatasetRef, request: Parameters<FileDatastore['get']>[1] = {}) {
    const ds = this.direct();
    try {
      await ds.importRecords(await this.registry.getRecords(this.datastoreName, [ref.id]));
      return await ds.get(ref, request);
    } finally {
      await ds.forget([ref]);
    }
  }

  /**
   * The datastore client of direct gets: one for the repository's life (opening an SQLite
   * records table per call cost more than the call). The registry holds the records; each
   * call borrows its dataset's record and forgets it again, so nothing accumulates.
   */
  private direct(): FileDatastore {
    return (this.directDatastore ??= this.datastore());
  }

  /** daf_butler retrieve_artifacts over the registry's records: the artifacts of `refs` copied or linked into a directory, with its index. */
  async retrieveArtifacts(refs: readonly DatasetRef[], opts: RetrieveOptions): Promise<RetrievedArtifact[]> {
    const ds = this.direct();
    try {
      await ds.importRecords(await this.registry.getRecords(this.datastoreName, refs.map((r) => r.id)));
      return await retrieveInto(refs, await ds.artifacts(refs), opts, this.universe);
    } finally {
      await ds.forget(refs);
    }
  }

  async resolveRef(id: string): Promise<DatasetRef> {
    const ref = await this.registry.getDataset(id);
    if (!ref) throw new DatasetNotFound(`Dataset ${id} is not in the registry of ${this.root}.`, { datasetId: id });
    return ref;
  }

  exportRecords(ids: readonly string[]): Promise<DatastoreRecordData> {
    return this.registry.getRecords(this.datastoreName, ids);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.directDatastore?.close();
    await this.registry.close();
    await this.store.close();
  }
}

/**
 * Make the artifact written at `tmp` visible at `target` without ever replacing another
 * file there: a hard link fails if `target` exists. An existing file with the same bytes
 * (an earlier put that died before its record, or a session's output) is adopted; other
 * bytes are DatasetAlreadyStored. True if this call created `target`. Synchronous: it runs
 * inside the registry transaction (see Registry.storeDataset).
 */
function publishArtifact(tmp: string, target: string, sha256: string, ref: DatasetRef): boolean {
  try {
    linkSync(tmp, target);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (sha256Hex(readFileSync(target)) === sha256) return false;
      throw new DatasetAlreadyStored(`A different artifact already exists at ${target} for dataset ${ref.id}.`, { datasetId: ref.id });
    }
    // File systems without hard links: rename, which replaces only what the claim owns.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV') {
      if (existsSync(target)) {
        if (sha256Hex(readFileSync(target)) === sha256) return false;
        throw new DatasetAlreadyStored(`A different artifact already exists at ${target} for dataset ${ref.id}.`, { datasetId: ref.id });
      }
      renameSync(tmp, target);
      return true;
    }
    throw err;
  }
}

/** The absolute root of a repository; InvalidArgument for a path no file system can hold. */
function rootOf(path: string): string {
  const bad = fsPathProblem(path) ?? fsPathProblem(resolve(path));
  if (bad) throw new InvalidArgument(`A repository root ${bad}.`, { details: { problem: bad } });
  return resolve(path);
}
