/**
 * The file store's two trees on disk (data at `<root>/<key>`, sidecars at
 * `<root>/.qbstore/meta/<key>`), read without ever following a symbolic link: a key
 * whose path leads through one has no file here.
 */
import { lstat, open, realpath, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { constants, mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgument } from '../model/errors.js';
import { fsError } from './base-store.js';
import { dataFileOf, type DataFile } from './file-sidecar.js';
import { RESERVED_DIR } from './keys.js';

/** The directories on the way to a path in a tree (FileTree.dirState). */
export type DirState = 'real' | 'missing' | 'link';

const READ_NOFOLLOW = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);

export class FileTree {
  readonly metaRoot: string;
  /** The roots as the file system spells them (the root itself may be reached through links). */
  private readonly realRoot: string;
  private readonly realMetaRoot: string;

  /** Creates the trees when missing; refuses a metadata tree reached through a link. */
  constructor(readonly root: string) {
    this.metaRoot = join(root, RESERVED_DIR, 'meta');
    try {
      mkdirSync(this.metaRoot, { recursive: true });
      this.realRoot = realpathSync(root);
      this.realMetaRoot = realpathSync(this.metaRoot);
    } catch (err) {
      throw fsError(err, `create store root ${root}`);
    }
    if (this.realMetaRoot !== join(this.realRoot, RESERVED_DIR, 'meta')) {
      throw new InvalidArgument(`the store's ${RESERVED_DIR} directory under ${root} leads through a symbolic link`, { details: { root } });
    }
  }

  dataPath(key: string): string {
    return join(this.root, key);
  }

  metaPath(key: string): string {
    return join(this.metaRoot, key);
  }

  /**
   * True when no directory on the way from the tree's root to `rel`'s parent (or to `rel`
   * itself, with `self`) is a symbolic link: a path through one would lead out of the tree.
   */
  async realDirs(tree: 'data' | 'meta', rel: string, self = false): Promise<boolean> {
    return (await this.dirState(tree, rel, self)) !== 'link';
  }

  /**
   * The directories on the way to `rel`'s parent (or `rel`, with `self`): 'link' when one is a
   * symbolic link (see realDirs), 'missing' when they are real but not all there (a writer then
   * makes them before opening a file there, not after a failed open), else 'real'.
   */
  async dirState(tree: 'data' | 'meta', rel: string, self = false): Promise<DirState> {
    const sub = self ? rel : rel.slice(0, Math.max(0, rel.lastIndexOf('/')));
    if (sub === '') return 'real';
    const [base, real] = tree === 'data' ? [this.root, this.realRoot] : [this.metaRoot, this.realMetaRoot];
    try {
      // One call in the common case; a differing answer (a link, or a name spelt otherwise
      // on a case-insensitive file system) is settled by looking at each directory.
      if ((await realpath(join(base, sub))) === join(real, sub)) return 'real';
    } catch (err) {
      if (isMissing(err)) return 'missing'; // nothing further exists to follow
      throw err;
    }
    let path = base;
    for (const segment of sub.split('/')) {
      path = join(path, segment);
      try {
        if ((await lstat(path)).isSymbolicLink()) return 'link';
      } catch (err) {
        if (isMissing(err)) return 'missing';
        throw err;
      }
    }
    return 'real';
  }

  /** The key's data file, when the directories on the way to it (`dirs`: their dirState) are real. */
  async statDataIn(key: string, dirs: DirState): Promise<DataFile | undefined> {
    if (dirs === 'link') return undefined;
    try {
      const st = await lstat(this.dataPath(key), { bigint: true });
      return st.isFile() ? dataFileOf(st) : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** Runs `fn` on the key's open data file; undefined when there is none. */
  async withData<T>(key: string, fn: (fh: FileHandle, size: number) => Promise<T>): Promise<T | undefined> {
    const fh = await this.openFile('data', key);
    if (!fh) return undefined;
    try {
      const st = await fh.stat();
      return st.isFile() ? await fn(fh, st.size) : undefined;
    } finally {
      await fh.close();
    }
  }

  /** The key's data and which file it came from; undefined when there is none. */
  async readData(key: string): Promise<{ data: Buffer; file: DataFile } | undefined> {
    const fh = await this.openFile('data', key);
    if (!fh) return undefined;
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) return undefined;
      return { data: await fh.readFile(), file: dataFileOf(st) };
    } finally {
      await fh.close();
    }
  }

  /** Which file holds the key's data; undefined when there is none. */
  async statData(key: string): Promise<DataFile | undefined> {
    return this.statDataIn(key, await this.dirState('data', key));
  }

  /** The bytes of the key's sidecar; undefined when there is none. */
  async readSidecar(key: string): Promise<Buffer | undefined> {
    const fh = await this.openFile('meta', key);
    if (!fh) return undefined;
    try {
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  private async openFile(tree: 'data' | 'meta', key: string): Promise<FileHandle | undefined> {
    if (!(await this.realDirs(tree, key))) return undefined;
    try {
      return await open(tree === 'data' ? this.dataPath(key) : this.metaPath(key), READ_NOFOLLOW);
    } catch (err) {
      if (isMissing(err) || code(err) === 'ELOOP' || code(err) === 'EISDIR') return undefined;
      throw err;
    }
  }
}

export async function readNoFollow(path: string): Promise<Buffer> {
  const fh = await open(path, READ_NOFOLLOW);
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

export function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** ENOENT/ENOTDIR: no such file (a path component may be a file). */
export function isMissing(err: unknown): boolean {
  const c = code(err);
  return c === 'ENOENT' || c === 'ENOTDIR';
}

export async function unlinkQuiet(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
}

export async function rmdirQuiet(path: string): Promise<boolean> {
  try {
    await rmdir(path);
    return true;
  } catch {
    return false; // not empty, gone, or not a directory: all fine
  }
}
