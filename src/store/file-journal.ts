/**
 * The file store's transaction journal: before a frame first changes a key, the key's
 * current files are kept (hard links, else copies) under `.qbstore/journal/<owner>.<uuid>/`
 * (`<owner>`: this host and process, as in temp file names, file-temp.ts), and then an
 * entry naming the key is written beside them. Only then is the key changed, so every key a
 * transaction changed has its entry. A rollback puts the kept files back; commit removes them.
 *
 * Other processes see a transaction's changes as they happen. A process that dies with a
 * transaction open leaves its journal behind: the next store opened on the root (in any
 * process of the same host) rolls it back (recoverJournals): it claims the journal by renaming
 * it to its own name (so one process does it), restores every key with an entry (its oldest
 * one: the key as it was before the outermost transaction), removes the keys that did not
 * exist, then removes the journal. A restore links the kept file into place and leaves it, so a
 * recovery that itself dies is done again whole by the next open. A journal whose owner runs,
 * another host's, and one written before journals had owners are left alone.
 */
import { copyFile, link, lstat, mkdir, readdir, readlink, rename, rm, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { v4 as uuidv4 } from 'uuid';
import { isMissing } from './file-tree.js';
import { OWNER, ownerIsGone } from './file-temp.js';

/** A key's files before a frame changed it; `data` undefined: the key did not exist. */
export interface Saved {
  key: string;
  /** The entry file naming the key (written after the copies, before the change). */
  entry: string;
  data?: string;
  meta?: string;
  /** The identity (inode) of the data file when it was saved. */
  ino?: string;
}

/** Puts a key's saved files back; must be idempotent (a recovery may run it again). */
export type RestoreFn = (saved: Saved) => Promise<void>;

/** Runs file-system work, mapping its errors to domain errors. */
export type IoFn = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/** Keys restored at once by a rollback. */
const PARALLEL_RESTORES = 8;
/** The suffix of a finished journal being removed. */
const DONE = '.done';

/** Journal directories (names) of this process's open transactions and recoveries. */
const live = new Set<string>();

export class FileJournal {
  private readonly frames: Array<Map<string, Saved>> = [];
  private dir: Promise<string> | undefined;
  private count = 0;

  constructor(
    private readonly root: string,
    private readonly io: IoFn,
  ) {}

  begin(): void {
    this.frames.push(new Map());
  }

  /**
   * Keeps the key's current files before the innermost frame's first change to it (no frame:
   * nothing); resolves once its entry is written. True when it saved the key now.
   */
  async save(key: string, dataPath: string, metaPath: string): Promise<boolean> {
    const frame = this.frames[this.frames.length - 1];
    if (!frame || frame.has(key)) return false;
    // Created once per outermost transaction; concurrent first writers share the promise.
    if (this.dir === undefined) {
      const name = `${OWNER}.${uuidv4()}`;
      const dir = join(this.root, name);
      live.add(name);
      this.dir = this.io('create journal', () => mkdir(dir, { recursive: true })).then(() => dir);
    }
    const dir = await this.dir;
    const n = this.count++;
    const saved: Saved = { key, entry: join(dir, `${n}.key`) };
    // Reserved before the first await: a concurrent save of the same key returns at once.
    frame.set(key, saved);
    try {
      const ino = await this.io(`journal ${key}`, () => inodeOf(dataPath));
      const data = ino === undefined ? undefined : await this.io(`journal ${key}`, () => preserve(dataPath, join(dir, `${n}.data`)));
      if (ino !== undefined && data !== undefined) {
        saved.data = data;
        saved.ino = ino;
        saved.meta = await this.io(`journal ${key}`, () => preserve(metaPath, join(dir, `${n}.meta`)));
      }
      // Last: an entry names only a key whose copies are complete. A symbolic link, made in one step, is never half written.
      await this.io(`journal ${key}`, () => symlink(`${saved.ino ?? '-'}:${key}`, saved.entry));
    } catch (err) {
      frame.delete(key);
      await discard(saved);
      throw err;
    }
    return true;
  }

  /** Forgets a key the innermost frame saved but did not change after all (see `save`'s answer). */
  async forget(key: string): Promise<void> {
    const frame = this.frames[this.frames.length - 1];
    const saved = frame?.get(key);
    if (!frame || !saved) return;
    frame.delete(key);
    await discard(saved);
  }

  async commit(depth: number): Promise<void> {
    const frame = this.frames.pop();
    if (!frame) return;
    if (depth > 0) {
      // The parent keeps the older copy of a key both frames changed.
      const parent = this.frames[this.frames.length - 1]!;
      for (const [k, saved] of frame) {
        if (!parent.has(k)) parent.set(k, saved);
        else await discard(saved);
      }
      return;
    }
    await this.end();
  }

  /** Puts every saved key back through `restore`; the first failure is thrown once all were tried. */
  async rollback(depth: number, restore: RestoreFn): Promise<void> {
    const frame = this.frames.pop();
    if (!frame) return;
    const failure = await restoreAll([...frame.values()], restore);
    if (depth === 0) await this.end();
    else if (failure === undefined) for (const saved of frame.values()) await discard(saved);
    if (failure !== undefined) throw failure.err;
  }

  private async end(): Promise<void> {
    const pending = this.dir;
    this.dir = undefined;
    this.count = 0;
    const dir = pending && (await pending.catch(() => undefined));
    if (dir) await finish(dir);
  }
}

/**
 * Rolls back the journals under `root` left by processes of this host that are gone (see
 * the top of this file); resolves to how many. Rejects with the first restore that failed
 * (that journal stays, for a later open).
 */
export async function recoverJournals(root: string, restore: RestoreFn): Promise<number> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (err) {
    if (isMissing(err)) return 0;
    throw err;
  }
  let done = 0;
  for (const name of names) {
    if (!isDead(name)) continue;
    if (name.endsWith(DONE)) {
      // Finished (committed or rolled back) by a process that died while removing it.
      await rm(join(root, name), { recursive: true, force: true });
      continue;
    }
    // Claimed by a rename: of processes recovering at once, one gets it.
    const mine = `${OWNER}.${uuidv4()}`;
    try {
      await rename(join(root, name), join(root, mine));
    } catch (err) {
      if (isMissing(err)) continue;
      throw err;
    }
    live.add(mine);
    try {
      const dir = join(root, mine);
      const failure = await restoreAll(await entries(dir), restore);
      if (failure !== undefined) throw failure.err;
      await finish(dir);
      done++;
    } finally {
      // Dead now: a failed recovery is tried again by the next open (of any process).
      live.delete(mine);
    }
  }
  return done;
}

/** Whether the journal `name` belongs to no running transaction: a dead process of this host's, or this process's from before (pid reused). */
function isDead(name: string): boolean {
  if (name.startsWith(`${OWNER}.`)) return !live.has(name);
  return ownerIsGone(name);
}

/** The saved keys of a journal directory: for each key its oldest entry (a nested frame saved a later copy). */
async function entries(dir: string): Promise<Saved[]> {
  const byKey = new Map<string, { n: number; saved: Saved }>();
  for (const file of await readdir(dir)) {
    const m = /^(\d+)\.key$/.exec(file);
    if (!m) continue;
    const n = Number(m[1]);
    // `<inode>:<key>`, or `-:<key>` for a key that did not exist.
    const text = await readlink(join(dir, file));
    const colon = text.indexOf(':');
    if (colon < 0) continue;
    const saved: Saved = { key: text.slice(colon + 1), entry: join(dir, file) };
    if (text.slice(0, colon) !== '-') {
      saved.ino = text.slice(0, colon);
      saved.data = join(dir, `${n}.data`);
      if ((await inodeOf(join(dir, `${n}.meta`))) !== undefined) saved.meta = join(dir, `${n}.meta`);
    }
    const seen = byKey.get(saved.key);
    if (!seen || n < seen.n) byKey.set(saved.key, { n, saved });
  }
  return [...byKey.values()].map((v) => v.saved);
}

/**
 * Restores every key, several at once (distinct keys: distinct files); those that did not
 * exist first (removing them frees paths the others may need). The first failure, once all were tried.
 */
async function restoreAll(saved: Saved[], restore: RestoreFn): Promise<{ err: unknown } | undefined> {
  let failure: { err: unknown } | undefined;
  for (const phase of [saved.filter((s) => s.data === undefined), saved.filter((s) => s.data !== undefined)]) {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < phase.length) {
        const s = phase[next++]!;
        try {
          await restore(s);
        } catch (err) {
          failure ??= { err };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_RESTORES, phase.length) }, worker));
  }
  return failure;
}

/**
 * Ends a journal: renamed first (one step: a crash while its files are removed must not
 * leave some entries of a finished transaction, which a recovery would undo), then removed.
 */
async function finish(dir: string): Promise<void> {
  const done = `${dir}${DONE}`;
  const renamed = await rename(dir, done).then(
    () => true,
    () => false,
  );
  await rm(renamed ? done : dir, { recursive: true, force: true }).catch(() => undefined);
  live.delete(dir.slice(dir.lastIndexOf('/') + 1));
}

/** The inode (as text) of the regular file at `path`; undefined when there is none. */
export async function inodeOf(path: string): Promise<string | undefined> {
  try {
    const st = await lstat(path, { bigint: true });
    return st.isFile() ? String(st.ino) : undefined;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
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
  // No hard links here: copy regular files, ignore anything else.
  if ((await inodeOf(path)) === undefined) return undefined;
  try {
    await copyFile(path, saved);
    return saved;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Removes a key's entry (first: a half-removed save is no entry) and its copies. */
async function discard(saved: Saved): Promise<void> {
  await unlink(saved.entry).catch(() => undefined);
  if (saved.data) await unlink(saved.data).catch(() => undefined);
  if (saved.meta) await unlink(saved.meta).catch(() => undefined);
}
