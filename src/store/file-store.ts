/**
 * A store in a directory tree.
 *
 * Layout under the root:
 *   <key>                        the value's bytes, at the key's own path
 *   .qbstore/meta/<key>          sidecar JSON {metadata, created, modified}
 *   .qbstore/journal/<id>/...    previous versions kept by an open transaction
 * The metadata tree has exactly the shape of the data tree, so a sidecar can never
 * collide with a key. Reserved: a first segment `.qbstore`, and segments starting with
 * `.qbtmp-` (temporary files). On top of the common key rules (keys.ts: no `..`, `.`,
 * empty segments, leading '/', NUL or backslash) this keeps every path inside the root.
 * A filesystem cannot hold both `a` and `a/b`; writing one while the other exists raises
 * InvalidKey.
 *
 * A key exists iff its data file does; a data file without a sidecar (e.g. copied in by
 * hand) has metadata {} and the file's times. Every file is written to a temp file in
 * the same directory and renamed over the target, so readers never see a partial file.
 * The sidecar is written before the data, so a new key appears with its metadata.
 *
 * Concurrency between processes: writes of different keys never interfere (per-file
 * renames; directory creation/pruning races are retried). Two processes writing the same
 * key: last rename wins per file, so data and metadata may come from different writers;
 * `updateMetadata` is not atomic across processes. Transactions are best-effort and per
 * process: a frame journals (hard links, else copies) each key's previous files before
 * its first change, and rollback renames them back. Other processes see a transaction's
 * changes as they happen and are not kept out; a crash mid-transaction leaves the changes
 * applied and the journal under .qbstore/journal (not replayed; safe to delete).
 */
import { copyFile, link, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { v4 as uuidv4 } from 'uuid';
import { ButlerError, IOFailure, InvalidKey } from '../model/errors.js';
import { BaseStore, clampRange, fsError, type Entry, type PutChange, type PutResult, type StoreOptions } from './base-store.js';
import { checkKey } from './keys.js';
import { noStep, writeChunked, type StepFn } from './progress.js';
import { matchesQuery } from './query.js';
import type { Metadata, StoreInfo } from './store.js';
import { nowSeconds } from './values.js';

export interface FileStoreOptions extends StoreOptions {
  /** fsync each file before renaming it into place (default false: crash-safe for the process, not for power loss). */
  durable?: boolean;
}

const INTERNAL = '.qbstore';
const TMP_PREFIX = '.qbtmp-';
const EMPTY = Buffer.alloc(0);
const RETRIES = 20;
/** Concurrent sidecar reads while scanning for a query. */
const SCAN_CONCURRENCY = 64;
/** Concurrent key writes in one multi-key write. */
const PARALLEL_WRITES = 8;

interface Sidecar {
  metadata: Metadata;
  created: number;
  modified: number;
}

interface Head {
  sidecar: Sidecar;
}

/** Saved files of a key before a frame changed it; null: the key did not exist. */
type JournalRecord = { data: string; meta: string | undefined } | null;

type Source = { buffer: Buffer } | { path: string };

export class FileStore extends BaseStore {
  readonly root: string;
  private readonly metaRoot: string;
  private readonly journalRoot: string;
  private readonly durable: boolean;
  private readonly frames: Array<Map<string, JournalRecord>> = [];
  private journalDir: Promise<string> | undefined;
  private journalCount = 0;
  protected override readonly freshMetadata = true;

  constructor(root: string, options: FileStoreOptions = {}) {
    super(options);
    this.root = resolve(root);
    this.metaRoot = join(this.root, INTERNAL, 'meta');
    this.journalRoot = join(this.root, INTERNAL, 'journal');
    this.durable = options.durable ?? false;
    try {
      mkdirSync(this.metaRoot, { recursive: true });
    } catch (err) {
      throw fsError(err, `create store root ${this.root}`);
    }
  }

  info(): StoreInfo {
    return { readonly: false, kind: 'file', path: this.root };
  }

  protected override checkKey(key: unknown): string {
    const k = checkKey(key);
    const segments = k.split('/');
    if (segments[0] === INTERNAL || segments.some((s) => s.startsWith(TMP_PREFIX))) {
      throw new InvalidKey(`key ${JSON.stringify(k)} uses a name reserved by the file store`, { details: { key: k } });
    }
    return k;
  }

  private dataPath(key: string): string {
    return join(this.root, key);
  }

  private metaPath(key: string): string {
    return join(this.metaRoot, key);
  }

  // ---- reads --------------------------------------------------------------------------

  protected async _get(key: string): Promise<Entry | undefined> {
    const data = await this.io(`read ${key}`, () => readIfFile(this.dataPath(key)));
    if (data === undefined) return undefined;
    const sidecar = await this.sidecar(key);
    return { data, ...sidecar };
  }

  protected override async _getData(key: string): Promise<Buffer | undefined> {
    return this.io(`read ${key}`, () => readIfFile(this.dataPath(key)));
  }

  protected async _getMeta(key: string): Promise<Metadata | undefined> {
    return (await this.head(key))?.sidecar.metadata;
  }

  protected async _exists(key: string): Promise<boolean> {
    return (await this.io(`stat ${key}`, () => statFile(this.dataPath(key)))) !== undefined;
  }

  protected override async _size(key: string): Promise<number | undefined> {
    return (await this.io(`stat ${key}`, () => statFile(this.dataPath(key))))?.size;
  }

  protected override async _getRange(key: string, start: number, end: number | undefined): Promise<Buffer | undefined> {
    return this.io(`read ${key}`, async () => {
      let fh;
      try {
        fh = await open(this.dataPath(key), 'r');
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
      try {
        const st = await fh.stat();
        if (!st.isFile()) return undefined;
        const [s, e] = clampRange(st.size, start, end);
        const out = Buffer.alloc(e - s);
        let off = 0;
        while (off < out.length) {
          const { bytesRead } = await fh.read(out, off, out.length - off, s + off);
          if (bytesRead === 0) break;
          off += bytesRead;
        }
        return off === out.length ? out : out.subarray(0, off);
      } finally {
        await fh.close();
      }
    });
  }

  protected override readonly streamsToFile = true;

  protected override async _toFile(key: string, path: string, step: StepFn): Promise<boolean> {
    return this.io(`copy ${key} to ${path}`, async () => {
      let src;
      try {
        src = await open(this.dataPath(key), 'r');
      } catch (err) {
        if (isMissing(err)) return false;
        throw err;
      }
      try {
        const dst = await open(path, 'w');
        try {
          const buf = Buffer.allocUnsafe(this.chunkSize);
          let done = 0;
          for (;;) {
            const { bytesRead } = await src.read(buf, 0, buf.length, done);
            if (bytesRead === 0) break;
            await writeChunked(dst, buf.subarray(0, bytesRead), bytesRead, noStep);
            done += bytesRead;
            step(done);
          }
        } finally {
          await dst.close();
        }
      } finally {
        await src.close();
      }
      return true;
    }, true);
  }

  protected async _keys(prefix: string): Promise<string[]> {
    const slash = prefix.lastIndexOf('/');
    const dirPart = prefix.slice(0, slash + 1);
    // Nothing under the internal directory is a key.
    if (dirPart.startsWith(`${INTERNAL}/`)) return [];
    const namePrefix = prefix.slice(slash + 1);
    const out: string[] = [];
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
        if (rel === '' && name === INTERNAL) continue;
        if (e.isDirectory()) stack.push({ dir: join(dir, name), rel: `${rel}${name}/`, filter: '' });
        else if (e.isFile()) out.push(rel + name);
        // Symlinks and other special files are not keys.
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
      const heads = await Promise.all(batch.map((k) => this.sidecar(k)));
      heads.forEach((h, j) => {
        if (matchesQuery(h.metadata, match, names)) out.push([batch[j], h.metadata]);
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
          out[i] = await this._put(items[i].key, items[i].change, noStep);
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
    await this.journal(key);
    await this.io(`delete ${key}`, async () => {
      // Data first: the key disappears at once; the sidecar is only an orphan until removed.
      await unlinkQuiet(this.dataPath(key));
      await unlinkQuiet(this.metaPath(key));
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
    const head = known ?? (await this.head(key));
    await this.journal(key);
    const now = nowSeconds();
    const sidecar: Sidecar = {
      metadata: metadata ?? head?.sidecar.metadata ?? {},
      created: head?.sidecar.created ?? now,
      modified: now,
    };
    const metaFile = this.metaPath(key);
    const dataFile = this.dataPath(key);
    // Both temp files are written at once (each is several round trips to the file system);
    // then they are published by renames, sidecar first. A failed write publishes nothing.
    const [meta, data] = await Promise.allSettled([
      this.prepare(key, metaFile, { buffer: Buffer.from(JSON.stringify(sidecar)) }, noStep),
      source || !head ? this.prepare(key, dataFile, source ?? { buffer: EMPTY }, step) : Promise.resolve(undefined),
    ]);
    if (meta.status === 'rejected' || data.status === 'rejected') {
      for (const r of [meta, data]) if (r.status === 'fulfilled' && r.value !== undefined) await unlinkQuiet(r.value).catch(() => undefined);
      throw meta.status === 'rejected' ? meta.reason : (data as PromiseRejectedResult).reason;
    }
    try {
      await this.publish(meta.value, metaFile, key);
    } catch (err) {
      if (data.value !== undefined) await unlinkQuiet(data.value).catch(() => undefined);
      throw err;
    }
    if (data.value !== undefined) {
      try {
        await this.publish(data.value, dataFile, key);
      } catch (err) {
        // Undo the sidecar so that metadata and data stay consistent.
        if (head) await this.writeFile(key, metaFile, { buffer: Buffer.from(JSON.stringify(head.sidecar)) }, noStep).catch(() => undefined);
        else await unlinkQuiet(metaFile).catch(() => undefined);
        throw err;
      }
    }
    return { existed: head !== undefined, metadata: sidecar.metadata };
  }

  /** Writes `target` atomically: temp file in the same directory, then rename. */
  private async writeFile(key: string, target: string, source: Source, step: StepFn): Promise<void> {
    await this.publish(await this.prepare(key, target, source, step), target, key);
  }

  /** A temp file beside `target` holding the new content (its path); the directory is made if missing. */
  private async prepare(key: string, target: string, source: Source, step: StepFn): Promise<string> {
    const dir = dirname(target);
    for (let attempt = 0; ; attempt++) {
      const tmp = join(dir, `${TMP_PREFIX}${uuidv4()}`);
      let fh;
      try {
        // The directory usually exists: only create it when the open says it is missing
        // (again when another process prunes it between our mkdir and open).
        if (attempt > 0) await mkdir(dir, { recursive: true });
        fh = await open(tmp, 'wx');
      } catch (err) {
        if (code(err) === 'ENOENT' && attempt < RETRIES) continue;
        throw this.writeError(err, key, target);
      }
      try {
        try {
          if ('buffer' in source) await writeChunked(fh, source.buffer, this.chunkSize, step);
          else await copyInto(source.path, fh, this.chunkSize, step);
          if (this.durable) await fh.sync();
        } finally {
          await fh.close();
        }
        return tmp;
      } catch (err) {
        await unlinkQuiet(tmp).catch(() => undefined);
        throw this.writeError(err, key, target);
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
    if (c === 'ENAMETOOLONG') return new InvalidKey(`key ${JSON.stringify(key)} is too long for the filesystem`, { details: { key } });
    return new IOFailure(`write ${target}: ${(err as Error).message}`, { details: { code: c } });
  }

  /** Removes directories left empty by a delete, up to (not including) the roots. */
  private async prune(key: string): Promise<void> {
    const segments = key.split('/');
    for (let n = segments.length - 1; n > 0; n--) {
      const rel = segments.slice(0, n).join('/');
      const a = await rmdirQuiet(join(this.root, rel));
      const b = await rmdirQuiet(join(this.metaRoot, rel));
      if (!a && !b) break;
    }
  }

  // ---- heads --------------------------------------------------------------------------

  private async head(key: string): Promise<Head | undefined> {
    const st = await this.io(`stat ${key}`, () => statFile(this.dataPath(key)));
    if (!st) return undefined;
    return { sidecar: await this.sidecar(key, st) };
  }

  private async sidecar(key: string, st?: { mtimeMs: number; birthtimeMs: number }): Promise<Sidecar> {
    const text = await this.io(`read metadata of ${key}`, () => readIfFile(this.metaPath(key)));
    if (text !== undefined) {
      try {
        const parsed = JSON.parse(text.toString('utf8')) as Sidecar;
        if (parsed && typeof parsed === 'object' && parsed.metadata && typeof parsed.metadata === 'object') return parsed;
      } catch {
        // fall through: a corrupt sidecar is reported below
      }
      throw new IOFailure(`corrupt metadata file for key ${JSON.stringify(key)}`, { details: { key } });
    }
    const s = st ?? (await this.io(`stat ${key}`, () => statFile(this.dataPath(key))));
    const modified = (s?.mtimeMs ?? Date.now()) / 1000;
    const created = s && s.birthtimeMs > 0 ? Math.min(s.birthtimeMs / 1000, modified) : modified;
    return { metadata: {}, created, modified };
  }

  // ---- transactions -------------------------------------------------------------------

  protected async _beginFrame(): Promise<void> {
    this.frames.push(new Map());
  }

  protected async _commitFrame(depth: number): Promise<void> {
    const frame = this.frames.pop();
    if (!frame) return;
    if (depth > 0) {
      const parent = this.frames[this.frames.length - 1];
      for (const [k, rec] of frame) {
        if (!parent.has(k)) parent.set(k, rec);
        else await this.discard(rec);
      }
      return;
    }
    await this.endJournal();
  }

  protected async _rollbackFrame(depth: number): Promise<void> {
    const frame = this.frames.pop();
    if (!frame) return;
    let failure: unknown;
    for (const [key, rec] of frame) {
      try {
        await this.restore(key, rec);
      } catch (err) {
        failure ??= err;
      }
    }
    if (depth === 0) await this.endJournal();
    if (failure !== undefined) throw failure;
  }

  protected async _close(): Promise<void> {
    // Nothing held open between calls.
  }

  /** Saves the key's current files before the innermost frame's first change to it. */
  private async journal(key: string): Promise<void> {
    const frame = this.frames[this.frames.length - 1];
    if (!frame || frame.has(key)) return;
    // Created once per outermost transaction; concurrent first writers share the promise.
    if (this.journalDir === undefined) {
      const dir = join(this.journalRoot, uuidv4());
      this.journalDir = this.io('create journal', () => mkdir(dir, { recursive: true })).then(() => dir);
    }
    const dir = await this.journalDir;
    const n = this.journalCount++;
    const data = await this.io(`journal ${key}`, () => preserve(this.dataPath(key), join(dir, `${n}.data`)));
    if (!data) {
      frame.set(key, null);
      return;
    }
    const meta = await this.io(`journal ${key}`, () => preserve(this.metaPath(key), join(dir, `${n}.meta`)));
    frame.set(key, { data, meta });
  }

  private async restore(key: string, rec: JournalRecord): Promise<void> {
    await this.io(`restore ${key}`, async () => {
      if (rec === null) {
        await unlinkQuiet(this.dataPath(key));
        await unlinkQuiet(this.metaPath(key));
        await this.prune(key);
        return;
      }
      if (rec.meta) await this.moveInto(rec.meta, this.metaPath(key));
      else await unlinkQuiet(this.metaPath(key));
      await this.moveInto(rec.data, this.dataPath(key));
    });
  }

  private async moveInto(from: string, to: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(dirname(to), { recursive: true });
        await rename(from, to);
        return;
      } catch (err) {
        if (code(err) === 'ENOENT' && attempt < RETRIES) continue;
        throw err;
      }
    }
  }

  private async discard(rec: JournalRecord): Promise<void> {
    if (!rec) return;
    await unlinkQuiet(rec.data).catch(() => undefined);
    if (rec.meta) await unlinkQuiet(rec.meta).catch(() => undefined);
  }

  private async endJournal(): Promise<void> {
    const pending = this.journalDir;
    this.journalDir = undefined;
    this.journalCount = 0;
    const dir = pending && (await pending.catch(() => undefined));
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }

  private async io<T>(what: string, fn: () => Promise<T>, userPath = false): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ButlerError) throw err;
      if (userPath) throw fsError(err, what);
      throw new IOFailure(`${what}: ${(err as Error).message}`, { details: { code: code(err) } });
    }
  }
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** ENOENT/ENOTDIR: no such file (a path component may be a file). */
function isMissing(err: unknown): boolean {
  const c = code(err);
  return c === 'ENOENT' || c === 'ENOTDIR';
}

async function statFile(path: string): Promise<{ size: number; mtimeMs: number; birthtimeMs: number } | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st : undefined;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function readIfFile(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if (isMissing(err) || code(err) === 'EISDIR') return undefined;
    throw err;
  }
}

async function unlinkQuiet(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

async function rmdirQuiet(path: string): Promise<boolean> {
  try {
    await rmdir(path);
    return true;
  } catch {
    return false; // not empty, gone, or not a directory: all fine
  }
}

/** Keeps the current content of `path` at `saved` (hard link, else copy); undefined when missing. */
async function preserve(path: string, saved: string): Promise<string | undefined> {
  try {
    await link(path, saved);
    return saved;
  } catch (err) {
    if (isMissing(err)) return undefined;
  }
  // No hard links here (or `path` is not a file): copy regular files, ignore anything else.
  if (!(await statFile(path))) return undefined;
  try {
    await copyFile(path, saved);
    return saved;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

async function copyInto(
  path: string,
  dst: { write(buffer: Buffer, offset: number, length: number): Promise<{ bytesWritten: number }> },
  chunk: number,
  step: StepFn,
): Promise<void> {
  let src;
  try {
    src = await open(path, 'r');
  } catch (err) {
    throw fsError(err, `read ${path}`);
  }
  try {
    const buf = Buffer.allocUnsafe(chunk);
    let done = 0;
    for (;;) {
      const { bytesRead } = await src.read(buf, 0, buf.length, done);
      if (bytesRead === 0) break;
      await writeChunked(dst, buf.subarray(0, bytesRead), bytesRead, noStep);
      done += bytesRead;
      step(done);
    }
  } finally {
    await src.close();
  }
}
