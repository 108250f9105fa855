/**
 * The file store's transaction journal: before a frame first changes a key, the key's
 * current files are kept (hard links, else copies) under `.qbstore/journal/<uuid>/`, so
 * that a rollback can put them back. Per process and best-effort: other processes see a
 * transaction's changes as they happen, and a crash mid-transaction leaves the changes
 * applied and the journal directory behind (never replayed; safe to delete).
 */
import { copyFile, link, lstat, mkdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { v4 as uuidv4 } from 'uuid';
import { isMissing } from './file-tree.js';

/** A key's files before a frame changed it; null: the key did not exist. */
export type Saved = {
  data: string;
  meta: string | undefined;
  /** The identity (inode) of the data file when it was saved. */
  ino: string;
} | null;

/** Runs file-system work, mapping its errors to domain errors. */
export type IoFn = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

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

  /** Keeps the key's current files before the innermost frame's first change to it (no frame: nothing). */
  async save(key: string, dataPath: string, metaPath: string): Promise<void> {
    const frame = this.frames[this.frames.length - 1];
    if (!frame || frame.has(key)) return;
    // Created once per outermost transaction; concurrent first writers share the promise.
    if (this.dir === undefined) {
      const dir = join(this.root, uuidv4());
      this.dir = this.io('create journal', () => mkdir(dir, { recursive: true })).then(() => dir);
    }
    const dir = await this.dir;
    const n = this.count++;
    const ino = await this.io(`journal ${key}`, () => inodeOf(dataPath));
    const data = ino === undefined ? undefined : await this.io(`journal ${key}`, () => preserve(dataPath, join(dir, `${n}.data`)));
    if (ino === undefined || data === undefined) {
      frame.set(key, null);
      return;
    }
    const meta = await this.io(`journal ${key}`, () => preserve(metaPath, join(dir, `${n}.meta`)));
    frame.set(key, { data, meta, ino });
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
  async rollback(depth: number, restore: (key: string, saved: Saved) => Promise<void>): Promise<void> {
    const frame = this.frames.pop();
    if (!frame) return;
    let failure: unknown;
    for (const [key, saved] of frame) {
      try {
        await restore(key, saved);
      } catch (err) {
        failure ??= err;
      }
    }
    if (depth === 0) await this.end();
    if (failure !== undefined) throw failure;
  }

  private async end(): Promise<void> {
    const pending = this.dir;
    this.dir = undefined;
    this.count = 0;
    const dir = pending && (await pending.catch(() => undefined));
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
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

async function discard(saved: Saved): Promise<void> {
  if (!saved) return;
  await unlink(saved.data).catch(() => undefined);
  if (saved.meta) await unlink(saved.meta).catch(() => undefined);
}
