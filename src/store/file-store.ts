/**
 * A store in a directory tree.
 *
 * Layout under the root (file-tree.ts):
 *   <key>                        the value's bytes, at the key's own path
 *   .qbstore/meta/<key>          sidecar JSON: metadata, times, and which data file it describes (file-sidecar.ts)
 *   .qbstore/journal/<id>/...    previous versions kept by an open transaction (file-journal.ts)
 *   .qbtmp-*                     files being written (file-temp.ts)
 * The metadata tree has exactly the shape of the data tree, so a sidecar can never collide
 * with a key. The common key rules (keys.ts) keep every path inside the root and reserve
 * the `.qbstore` and `.qbtmp-` names; here a key segment must also fit the file system
 * (at most 255 UTF-8 bytes, the whole path under PATH_MAX), else InvalidKey, for reads and
 * writes alike. A filesystem cannot hold both `a` and `a/b`; writing one while the other
 * exists raises InvalidKey.
 *
 * A key exists iff its data file does (a regular file: symbolic links are not keys, and
 * no path through a symbolic link is followed: reads see nothing there, writes raise
 * InvalidKey). A data file without a sidecar (e.g. copied in by hand) has metadata {} and
 * the file's times.
 *
 * Atomic values. Every file is written to a temp file beside its target and renamed over
 * it. A value is two files, so a put renames the sidecar first, then the data; the sidecar
 * names the data file it was written for (its inode, which a rename keeps) and carries the
 * sidecar it replaces. A reader takes the sidecar that names the data file it read: the
 * new one, or, between the two renames or after a crash there, the previous one. So a
 * reader, in this process or another, sees the old value or the new one, never new
 * metadata over old data. Temp files a crashed writer left are removed at a later open.
 *
 * Concurrency between processes: writes of different keys never interfere (per-file
 * renames; directory creation/pruning races are retried). Two processes writing the same
 * key at once: the last data rename wins; if the sidecar then names the other writer's
 * data, readers see that data with metadata {} (never the other writer's metadata). A
 * fresh write (setFilled `fresh`) instead links its data in (link(2) never replaces a
 * file), then renames its sidecar: the first writer keeps the key, the later one is told it
 * is taken (publishFresh). `updateMetadata` reads, merges and writes: two processes
 * updating one key at once may lose one's fields (within a process the store serialises
 * writes). Transactions are per process; a dead process's open transaction is rolled back
 * when a store is next opened on the root (file-journal.ts, `recovered`).
 *
 * Over 500 lines as one cohesive thing: the backend's primitives; the journal, the tree, the
 * sidecars and the temp files are in the files named above.
 */
import { copyFile, link, lstat, mkdir, open, readdir, rename, rmdir, type FileHandle } from 'node:fs/promises';
import { openRegularForReading, openRegularForWriting } from '../util/regular-file.js';
import { dirname, join, resolve } from 'node:path';
import { ButlerError, IOFailure, InvalidArgument, InvalidKey } from '../model/errors.js';
import { NAME_MAX, PATH_MAX, fsPathProblem } from '../util/fs-path.js';
import { BaseStore, clampRange, fsError, type Entry, type PutChange, type PutResult, type StoreOptions } from './base-store.js';
import { FileJournal, inodeOf, recoverJournals, type Saved } from './file-journal.js';
import { parseSidecar, resolveSidecar, sidecarOf, sidecarText, type DataFile, type Sidecar } from './file-sidecar.js';
import { TMP_PREFIX, sweepStaleTemps, tempName } from './file-temp.js';
import { FileTree, code, isMissing, readNoFollow, rmdirQuiet, unlinkQuiet, type DirState } from './file-tree.js';
import { RESERVED_DIR, checkKey } from './keys.js';
import { noStep, writeChunked, type StepFn } from './progress.js';
import { matchesQuery } from './query.js';
import type { Metadata, StoreInfo } from './store.js';
import { checkMetadata, nowSeconds } from './values.js';
import { ahead, settle } from '../util/promises.js';

export interface FileStoreOptions extends StoreOptions {
  /** fsync each file before renaming it into place (default false: crash-safe for the process, not for power loss). */
  durable?: boolean;
  /** Stale temp files are swept at most once per this interval per root and process (ms; default 10 min). */
  tempSweepIntervalMs?: number;
}

const EMPTY = Buffer.alloc(0);
const RETRIES = 20;
/** Concurrent sidecar reads while scanning for a query. */
const SCAN_CONCURRENCY = 64;
/** Concurrent key writes in one multi-key write. */
const PARALLEL_WRITES = 8;
/** Reads again when a concurrent writer swapped the value between reading its data and its sidecar. */
const READ_ATTEMPTS = 3;
interface Head {
  sidecar: Sidecar;
  file: DataFile;
}

/**
 * `fill`: the caller writes the temp file itself and returns the metadata of what it wrote;
 * `fresh`: only into a key with no value (else KeyTaken, before anything is made or filled).
 */
type Source = { buffer: Buffer } | { path: string } | { fill: FillFn; fresh?: boolean };

/**
 * Writes a value's data into the temp file at `tempPath` (created empty, same inode kept) and
 * returns its metadata. `handle`: that file, open for writing (the store's: left open, written
 * through or not; the store syncs and closes it once the fill is done).
 */
export type FillFn = (tempPath: string, handle: FileHandle) => Promise<Metadata>;

export interface FillOptions {
  /** Only when the key has no value: else nothing is written (nor `fill` called) and setFilled answers false. */
  fresh?: boolean;
}

interface Temp {
  path: string;
  fh: FileHandle;
}

/** A fresh-only write found the key taken (see FillOptions). */
class KeyTaken extends Error {}

export class FileStore extends BaseStore {
  readonly root: string;
  /** Resolves (to the number of files removed) once stale temp files of crashed writers are gone. */
  readonly tempSweep: Promise<number>;
  /**
   * Resolves (to the number rolled back) once the transactions that dead processes left
   * open on this root are rolled back (file-journal.ts); every operation waits for it, and
   * fails with its IOFailure if one could not be.
   */
  readonly recovered: Promise<number>;
  private readonly tree: FileTree;
  private readonly durable: boolean;
  private readonly journal: FileJournal;
  protected override readonly freshMetadata = true;

  constructor(root: string, options: FileStoreOptions = {}) {
    super(options);
    const bad = fsPathProblem(root);
    if (bad) throw new InvalidArgument(`A file store root ${bad}.`, { details: { problem: bad } });
    this.root = resolve(root);
    this.tree = new FileTree(this.root);
    this.durable = options.durable ?? false;
    const journalRoot = join(this.root, RESERVED_DIR, 'journal');
    this.journal = new FileJournal(journalRoot, (what, fn) => this.io(what, fn));
    this.tempSweep = sweepStaleTemps(this.root, options.tempSweepIntervalMs);
    this.recovered = this.io('roll back an interrupted transaction', () => recoverJournals(journalRoot, (saved) => this.restore(saved)));
    // Reported by the operations that wait for it, not as an unhandled rejection.
    this.recovered.catch(() => undefined);
  }

  info(): StoreInfo {
    return { readonly: false, kind: 'file', path: this.root };
  }

  protected override checkKey(key: unknown): string {
    const k = checkKey(key);
    for (const segment of k.split('/')) {
      if (Buffer.byteLength(segment) > NAME_MAX) {
        throw new InvalidKey(`key ${JSON.stringify(k)} has a segment longer than ${NAME_MAX} bytes, too long for the file system`, { details: { key: k } });
      }
    }
    if (Buffer.byteLength(this.tree.metaPath(k)) > PATH_MAX) {
      throw new InvalidKey(`key ${JSON.stringify(k)} is too long for the file system`, { details: { key: k } });
    }
    return k;
  }

  // ---- reads --------------------------------------------------------------------------

  protected async _get(key: string): Promise<Entry | undefined> {
    await this.recovered;
    for (let attempt = 1; ; attempt++) {
      const read = await this.io(`read ${key}`, () => this.tree.readData(key));
      if (read === undefined) return undefined;
      const { sidecar, matched } = await this.sidecar(key, read.file);
      if (matched || attempt === READ_ATTEMPTS) return { data: read.data, ...sidecar };
    }
  }

  protected override async _getData(key: string): Promise<Buffer | undefined> {
    await this.recovered;
    return (await this.io(`read ${key}`, () => this.tree.readData(key)))?.data;
  }

  protected async _getMeta(key: string): Promise<Metadata | undefined> {
    return (await this.head(key))?.sidecar.metadata;
  }

  protected async _exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  protected override async _size(key: string): Promise<number | undefined> {
    return (await this.stat(key))?.size;
  }

  protected override async _getRange(key: string, start: number, end: number | undefined): Promise<Buffer | undefined> {
    await this.recovered;
    return this.io(`read ${key}`, () =>
      this.tree.withData(key, async (fh, size) => {
        const [s, e] = clampRange(size, start, end);
        const out = Buffer.alloc(e - s);
        let off = 0;
        while (off < out.length) {
          const { bytesRead } = await fh.read(out, off, out.length - off, s + off);
          if (bytesRead === 0) break;
          off += bytesRead;
        }
        return off === out.length ? out : out.subarray(0, off);
      }),
    );
  }

  protected override readonly streamsToFile = true;

  protected override async _toFile(key: string, path: string, step: StepFn): Promise<boolean> {
    await this.recovered;
    const done = await this.io(`read ${key}`, () =>
      this.tree.withData(key, async (src) => {
        await ioUser(`write ${path}`, async () => {
          const dst = await openRegularForWriting(path);
          try {
            await copyChunks(src, dst, this.chunkSize, step);
          } finally {
            await dst.close();
          }
        });
        return true;
      }),
    );
    return done ?? false;
  }

  protected async _keys(prefix: string): Promise<string[]> {
    await this.recovered;
    const slash = prefix.lastIndexOf('/');
    const dirPart = prefix.slice(0, slash + 1);
    // Nothing under the internal directory is a key.
    if (dirPart.startsWith(`${RESERVED_DIR}/`)) return [];
    const namePrefix = prefix.slice(slash + 1);
    const out: string[] = [];
    // A prefix through a symbolic link lists nothing (the walk below never enters one).
    if (dirPart !== '' && !(await this.tree.realDirs('data', dirPart.slice(0, -1), true))) return out;
    // Iterative walk; entries at the first level are narrowed by the prefix's last segment.
    const stack: Array<{ dir: string; rel: string; filter: string }> = [{ dir: join(this.root, dirPart), rel: dirPart, filter: namePrefix }];
    while (stack.length > 0) {
      const { dir, rel, filter } = stack.pop()!;
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) continue;
        throw fsError(err, `list ${dir}`);
      }
      for (const e of entries) {
        const name = e.name;
        if (!name.startsWith(filter) || name.startsWith(TMP_PREFIX)) continue;
        if (rel === '' && name === RESERVED_DIR) continue;
        if (e.isDirectory()) stack.push({ dir: join(dir, name), rel: `${rel}${name}/`, filter: '' });
        else if (e.isFile()) out.push(rel + name);
        // Symbolic links and other special files are not keys.
      }
    }
    return out;
  }

  protected async _query(match: Metadata): Promise<Array<[string, Metadata]>> {
    const keys = await this._keys('');
    const names = Object.keys(match);
    const out: Array<[string, Metadata]> = [];
    for (let i = 0; i < keys.length; i += SCAN_CONCURRENCY) {
      const batch = keys.slice(i, i + SCAN_CONCURRENCY);
      const heads = await Promise.all(batch.map((k) => this.head(k)));
      heads.forEach((h, j) => {
        if (h && matchesQuery(h.sidecar.metadata, match, names)) out.push([batch[j]!, h.sidecar.metadata]);
      });
    }
    return out;
  }

  // ---- writes -------------------------------------------------------------------------

  protected async _put(key: string, change: PutChange, step: StepFn): Promise<PutResult> {
    return this.putFrom(key, change.metadata, change.data ? { buffer: change.data } : undefined, step);
  }

  protected override async _putMany(items: ReadonlyArray<{ key: string; change: PutChange }>): Promise<PutResult[]> {
    // Distinct keys touch distinct files: overlap their I/O. A repeated key keeps the order.
    if (new Set(items.map((it) => it.key)).size !== items.length) return super._putMany(items);
    const out = new Array<PutResult>(items.length);
    let next = 0;
    let failure: { err: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (!failure && next < items.length) {
        const i = next++;
        try {
          out[i] = await this._put(items[i]!.key, items[i]!.change, noStep);
        } catch (err) {
          failure ??= { err };
        }
      }
    };
    // Every worker has settled before we return or throw, so a rollback never races a write.
    await Promise.all(Array.from({ length: Math.min(PARALLEL_WRITES, items.length) }, worker));
    if (failure) throw failure.err;
    return out;
  }

  /**
   * Write a value whose data `fill` writes into the temp file itself (e.g. a copy hashed as
   * it is written) and whose metadata `fill` returns, computed from what it wrote; the
   * sidecar is written after the data. A failed `fill` leaves the key as it was (its error is rethrown as it is when it
   * is a ButlerError). True when written; false only with `fresh` and a value there (which stays as it was).
   * With `fresh`, the key's absence is checked here (as a write checks what it replaces; a
   * caller need not ask `exists` first), and again as the data is published, by a link that
   * fails on a file there: a value another writer published meanwhile stays, and the answer is false.
   */
  async setFilled(key: string, fill: FillFn, options: FillOptions = {}): Promise<boolean> {
    const k = this.checkKey(key);
    return this.write(async () => {
      let result: PutResult;
      try {
        result = await this.putFrom(k, undefined, { fill, fresh: options.fresh }, noStep);
      } catch (err) {
        if (err instanceof KeyTaken) return false;
        throw err;
      }
      this.recordChange(result.existed ? 'update' : 'set', k, result.metadata);
      return true;
    });
  }

  protected override async _putFile(key: string, path: string, step: StepFn): Promise<PutResult | undefined> {
    return this.putFrom(key, undefined, { path }, step);
  }

  protected override async _merge(key: string, patch: Metadata): Promise<Metadata | undefined> {
    const head = await this.head(key);
    if (!head) return undefined;
    return (await this.putFrom(key, { ...head.sidecar.metadata, ...patch }, undefined, noStep, head)).metadata;
  }

  protected async _delete(key: string): Promise<Metadata | undefined> {
    const head = await this.head(key);
    if (!head) return undefined;
    await this.journal.save(key, this.tree.dataPath(key), this.tree.metaPath(key));
    await this.io(`delete ${key}`, async () => {
      // Data first: the key disappears at once; the sidecar is only an orphan until removed.
      await unlinkQuiet(this.tree.dataPath(key));
      await unlinkQuiet(this.tree.metaPath(key));
    });
    await this.prune(key);
    return head.sidecar.metadata;
  }

  private async putFrom(
    key: string,
    metadata: Metadata | undefined,
    source: Source | undefined,
    step: StepFn,
    known?: Head,
  ): Promise<PutResult> {
    await this.recovered;
    // The directories' check and the key's head (reads only) at once: the data tree's
    // directories are looked at once for both; nothing is made before both are in.
    const dataDirs = this.io(`check ${key}`, () => this.tree.dirState('data', key));
    const [dirs, head] = await Promise.all([
      Promise.all([dataDirs, this.io(`check ${key}`, () => this.tree.dirState('meta', key))]),
      known ? Promise.resolve(known) : this.head(key, dataDirs),
    ]);
    if (dirs.includes('link')) throw new InvalidKey(`key ${JSON.stringify(key)} leads through a symbolic link`, { details: { key } });
    const fresh = source !== undefined && 'fill' in source && source.fresh === true;
    if (head && fresh) throw new KeyTaken();
    // A fresh write keeps the key in the journal just before it links its data in (publishFresh).
    if (!fresh) await this.journal.save(key, this.tree.dataPath(key), this.tree.metaPath(key));
    const metaFile = this.tree.metaPath(key);
    const dataFile = this.tree.dataPath(key);
    // The data temp file is opened first: the sidecar names it by its inode, learnt while
    // the file is filled (settled, so looked at only once the text needs it).
    const data = source || !head ? await this.openTemp(key, dataFile, dirs[0] === 'missing') : undefined;
    const dataIno = data && settle(data.fh.stat({ bigint: true }).then((st) => String(st.ino)));
    // The sidecar's temp file (and its directory) is made while the data is written: only
    // its text waits for the data. Settled before anything is thrown, so it is never leaked.
    const metaTemp = settle(this.openTemp(key, metaFile, dirs[1] === 'missing'));
    // The caller's data first: the metadata it returns describes what it wrote. Its temp
    // file is closed while the sidecar's is written (both before either is published).
    let prefilled: Promise<string> | undefined;
    if (source && 'fill' in source) {
      const fill = source.fill;
      let md: Metadata | undefined;
      let written!: () => void;
      const wrote = new Promise<void>((resolve) => (written = resolve));
      prefilled = ahead(this.fill(key, data!, { write: async () => void (md = checkMetadata(await fill(data!.path, data!.fh))) }, step, written));
      try {
        await Promise.race([wrote, prefilled]);
      } catch (err) {
        await dataIno;
        await discardTemp(metaTemp);
        throw err;
      }
      metadata = md;
    }
    let ino = head?.file.ino;
    if (dataIno) {
      const learnt = await dataIno;
      if ('err' in learnt) {
        // Its temp file is closed (filled) or closed now, and removed, with the sidecar's.
        await prefilled?.catch(() => undefined);
        await data!.fh.close().catch(() => undefined);
        await unlinkQuiet(data!.path).catch(() => undefined);
        await discardTemp(metaTemp);
        throw this.writeError(learnt.err, key, dataFile);
      }
      ino = learnt.value;
    }
    const now = nowSeconds();
    const sidecar: Sidecar = {
      metadata: metadata ?? head?.sidecar.metadata ?? {},
      created: head?.sidecar.created ?? now,
      modified: now,
    };
    const text = sidecarText(sidecar, ino!, data && head ? { sidecar: head.sidecar, ino: head.file.ino } : undefined);
    // Both temp files are written at once; then published by renames, sidecar first.
    const [meta, filled] = await Promise.allSettled([
      metaTemp.then((t) => ('err' in t ? Promise.reject(t.err) : this.fill(key, t.value, { buffer: text }, noStep))),
      prefilled ?? (data ? this.fill(key, data, source && !('fill' in source) ? source : { buffer: EMPTY }, step) : Promise.resolve(undefined)),
    ]);
    if (meta.status === 'rejected' || filled.status === 'rejected') {
      if (meta.status === 'fulfilled') await unlinkQuiet(meta.value).catch(() => undefined);
      if (data) await unlinkQuiet(data.path).catch(() => undefined);
      throw meta.status === 'rejected' ? meta.reason : (filled as PromiseRejectedResult).reason;
    }
    if (fresh) {
      await this.publishFresh(key, meta.value, data!.path);
      return { existed: false, metadata: sidecar.metadata };
    }
    try {
      await this.publish(meta.value, metaFile, key);
    } catch (err) {
      if (data) await unlinkQuiet(data.path).catch(() => undefined);
      throw err;
    }
    if (data) {
      try {
        await this.publish(data.path, dataFile, key);
      } catch (err) {
        // The sidecar now names a data file that never arrived: a fresh key has no value;
        // an existing one reads as before (its previous sidecar still names its data).
        if (!head) await unlinkQuiet(metaFile).catch(() => undefined);
        throw err;
      }
    }
    return { existed: head !== undefined, metadata: sidecar.metadata };
  }

  /**
   * Creates a temp file beside `target`, making the directory if missing: first when the
   * caller saw it missing (`missing`), else only when the open says so (again when another
   * process prunes it between our mkdir and open).
   */
  private async openTemp(key: string, target: string, missing = false): Promise<Temp> {
    const dir = dirname(target);
    for (let attempt = missing ? 1 : 0; ; attempt++) {
      const path = join(dir, tempName());
      try {
        if (attempt > 0) await mkdir(dir, { recursive: true });
        return { path, fh: await open(path, 'wx') };
      } catch (err) {
        if (code(err) === 'ENOENT' && attempt < RETRIES) continue;
        throw this.writeError(err, key, target);
      }
    }
  }

  /**
   * Writes the content into an open temp file and closes it (removing it on failure); its path.
   * `written`: called once the content is in (and synced, if durable), before the close.
   */
  private async fill(
    key: string,
    temp: Temp,
    source: Exclude<Source, { fill: FillFn }> | { write: () => Promise<void> },
    step: StepFn,
    written?: () => void,
  ): Promise<string> {
    try {
      try {
        if ('buffer' in source) await writeChunked(temp.fh, source.buffer, this.chunkSize, step);
        else if ('write' in source) await source.write();
        else await copyInto(source.path, temp.fh, this.chunkSize, step);
        if (this.durable) await temp.fh.sync();
        written?.();
      } finally {
        await temp.fh.close();
      }
      return temp.path;
    } catch (err) {
      await unlinkQuiet(temp.path).catch(() => undefined);
      throw this.writeError(err, key, temp.path);
    }
  }

  /**
   * Publishes a fresh write: its data by link(2), which never replaces a file (another
   * writer's, published since the key was seen free), then its sidecar. KeyTaken, both temp
   * files removed, when a value got there first: the key stays the other writer's. Until the
   * sidecar follows, readers see the new data with metadata {}.
   */
  private async publishFresh(key: string, metaTmp: string, dataTmp: string): Promise<void> {
    const metaFile = this.tree.metaPath(key);
    const dataFile = this.tree.dataPath(key);
    let saved = false;
    let linked = false;
    try {
      saved = await this.journal.save(key, dataFile, metaFile);
      linked = await this.linkInto(dataTmp, dataFile, key);
    } catch (err) {
      if (saved) await this.journal.forget(key);
      throw this.writeError(err, key, dataFile);
    } finally {
      await unlinkQuiet(dataTmp).catch(() => undefined);
      if (!linked) await unlinkQuiet(metaTmp).catch(() => undefined);
    }
    if (!linked) {
      if (saved) await this.journal.forget(key);
      throw new KeyTaken();
    }
    try {
      await this.publish(metaTmp, metaFile, key);
    } catch (err) {
      // Not the value asked for without its metadata: the key is left free again.
      await unlinkQuiet(dataFile).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Links `tmp` at `target`; false when a regular file (a value) is there. An empty directory
   * there (e.g. left by a crash) is removed, and a symbolic link replaced, as a rename would.
   */
  private async linkInto(tmp: string, target: string, key: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, target);
        return true;
      } catch (err) {
        if (code(err) !== 'EEXIST' || attempt >= RETRIES) throw err;
      }
      const st = await lstat(target).catch((err: unknown) => (isMissing(err) ? undefined : Promise.reject(err)));
      if (st?.isFile()) return false;
      if (st?.isDirectory()) {
        await rmdir(target).catch((err: unknown) => {
          if (!isMissing(err)) throw new InvalidKey(`key ${JSON.stringify(key)} conflicts with keys below it`, { details: { key } });
        });
      } else if (st) {
        await unlinkQuiet(target);
      }
    }
  }

  /** Renames a prepared temp file into place (removing it if that fails). */
  private async publish(tmp: string, target: string, key: string): Promise<void> {
    try {
      await this.renameInto(tmp, target, key);
    } catch (err) {
      await unlinkQuiet(tmp).catch(() => undefined);
      throw this.writeError(err, key, target);
    }
  }

  private async renameInto(tmp: string, target: string, key: string): Promise<void> {
    try {
      await rename(tmp, target);
    } catch (err) {
      // An empty directory left where the file goes (e.g. by a crash): remove it and retry.
      if (code(err) === 'EISDIR' || code(err) === 'ENOTEMPTY' || code(err) === 'EEXIST') {
        try {
          await rmdir(target);
        } catch {
          throw new InvalidKey(`key ${JSON.stringify(key)} conflicts with keys below it`, { details: { key } });
        }
        await rename(tmp, target);
        return;
      }
      throw err;
    }
  }

  private writeError(err: unknown, key: string, target: string): Error {
    if (err instanceof ButlerError) return err;
    const c = code(err);
    if (c === 'ENOTDIR' || c === 'EEXIST') {
      return new InvalidKey(`key ${JSON.stringify(key)} conflicts with an existing key above it`, { details: { key } });
    }
    if (c === 'ENAMETOOLONG') return new InvalidKey(`key ${JSON.stringify(key)} is too long for the file system`, { details: { key } });
    return new IOFailure(`write ${target}: ${(err as Error).message}`, { details: { code: c } });
  }

  /** Removes directories left empty by a delete, up to (not including) the roots. */
  private async prune(key: string): Promise<void> {
    const segments = key.split('/');
    for (let n = segments.length - 1; n > 0; n--) {
      const rel = segments.slice(0, n).join('/');
      const a = await rmdirQuiet(this.tree.dataPath(rel));
      const b = await rmdirQuiet(this.tree.metaPath(rel));
      if (!a && !b) break;
    }
  }

  // ---- heads ------------------------------------------------------------------------

  private async stat(key: string): Promise<DataFile | undefined> {
    await this.recovered;
    return this.io(`stat ${key}`, () => this.tree.statData(key));
  }

  /** `dataDirs`: the data tree's dirState for this key, if being learnt already (the first look uses it). */
  private async head(key: string, dataDirs?: Promise<DirState>): Promise<Head | undefined> {
    await this.recovered;
    for (let attempt = 1; ; attempt++) {
      const file = attempt === 1 && dataDirs ? await this.io(`stat ${key}`, async () => this.tree.statDataIn(key, await dataDirs)) : await this.stat(key);
      if (!file) return undefined;
      const { sidecar, matched } = await this.sidecar(key, file);
      if (matched || attempt === READ_ATTEMPTS) return { sidecar, file };
    }
  }

  /** The sidecar that describes `file` (see file-sidecar.ts); `matched` false when the one there names other data. */
  private async sidecar(key: string, file: DataFile): Promise<{ sidecar: Sidecar; matched: boolean }> {
    const text = await this.io(`read metadata of ${key}`, () => this.tree.readSidecar(key));
    return resolveSidecar(text === undefined ? undefined : parseSidecar(text, key), file);
  }

  // ---- transactions -------------------------------------------------------------------

  protected async _beginFrame(): Promise<void> {
    await this.recovered;
    this.journal.begin();
  }

  protected async _commitFrame(depth: number): Promise<void> {
    await this.journal.commit(depth);
  }

  protected async _rollbackFrame(depth: number): Promise<void> {
    await this.journal.rollback(depth, (saved) => this.restore(saved));
  }

  protected async _close(): Promise<void> {
    // Nothing held open between calls (a temp sweep still running finishes on its own).
  }

  /**
   * Puts a key's saved files back: the data, then a sidecar naming the restored data file.
   * The saved files stay (a link or copy of them is put in place), so a restore cut short is
   * done again whole by the journal's recovery.
   */
  private async restore(saved: Saved): Promise<void> {
    const key = saved.key;
    const dataPath = this.tree.dataPath(key);
    const metaPath = this.tree.metaPath(key);
    await this.io(`restore ${key}`, async () => {
      if (saved.data === undefined) {
        await unlinkQuiet(dataPath);
        await unlinkQuiet(metaPath);
        await this.prune(key);
        return;
      }
      // The saved sidecar as it read for the saved data.
      const sidecar = saved.meta ? sidecarOf(parseSidecar(await readNoFollow(saved.meta), key), saved.ino!) : undefined;
      await this.placeCopy(saved.data, dataPath, key);
      if (!sidecar) {
        await unlinkQuiet(metaPath);
        return;
      }
      // A copy (no hard links) is a new inode: the sidecar names whatever is there now.
      const ino = (await inodeOf(dataPath)) ?? saved.ino!;
      const temp = await this.openTemp(key, metaPath);
      await this.publish(await this.fill(key, temp, { buffer: sidecarText(sidecar, ino) }, noStep), metaPath, key);
    });
  }

  /** Puts a hard link (else a copy) of `from` at `to` by a rename, `from` kept. */
  private async placeCopy(from: string, to: string, key: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const tmp = join(dirname(to), tempName());
      try {
        await mkdir(dirname(to), { recursive: true });
        await link(from, tmp).catch((err: unknown) => (code(err) === 'ENOENT' ? Promise.reject(err) : copyFile(from, tmp)));
        // Renaming a file over another link of itself does nothing: the temp name is removed either way.
        await this.renameInto(tmp, to, key);
        await unlinkQuiet(tmp);
        return;
      } catch (err) {
        await unlinkQuiet(tmp).catch(() => undefined);
        if (code(err) === 'ENOENT' && attempt < RETRIES) continue;
        throw err;
      }
    }
  }

  private async io<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ButlerError) throw err;
      const c = code(err);
      // The same answer for reads as for writes: a retry cannot make a name fit.
      if (c === 'ENAMETOOLONG') throw new InvalidKey(`${what}: too long for the file system`, { details: { code: c } });
      throw new IOFailure(`${what}: ${(err as Error).message}`, { details: { code: c } });
    }
  }
}

/** Closes and removes a temp file opened for a write that failed before it was filled. */
async function discardTemp(t: Promise<{ value: Temp } | { err: unknown }>): Promise<void> {
  const r = await t;
  if ('err' in r) return;
  await r.value.fh.close().catch(() => undefined);
  await unlinkQuiet(r.value.path).catch(() => undefined);
}

/** A caller's own path (toFile's destination, fromFile's source): its errors are the caller's. */
async function ioUser<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fsError(err, what);
  }
}

async function copyChunks(src: FileHandle, dst: FileHandle, chunk: number, step: StepFn): Promise<void> {
  const buf = Buffer.allocUnsafe(chunk);
  let done = 0;
  for (;;) {
    const { bytesRead } = await src.read(buf, 0, buf.length, done);
    if (bytesRead === 0) break;
    await writeChunked(dst, buf.subarray(0, bytesRead), bytesRead, noStep);
    done += bytesRead;
    step(done);
  }
}

async function copyInto(path: string, dst: FileHandle, chunk: number, step: StepFn): Promise<void> {
  const src = await ioUser(`read ${path}`, async () => (await openRegularForReading(path)).handle);
  try {
    await copyChunks(src, dst, chunk, step);
  } finally {
    await src.close();
  }
}
