/**
 * Temporary files of the file store: how they are named and how the ones a crashed writer
 * left behind are removed.
 *
 * Every file the store writes is first written to `.qbtmp-<host>.<pid>.<uuid>` in the
 * target's directory, then renamed into place. A writer killed before its rename leaves
 * that file behind. When a store is opened, files older than the open are removed if
 * their writer is gone: the host tag is this host's and that pid no longer runs (a zombie
 * counts as gone), or, for another host's files on a shared file system (or names without
 * a pid), once they are older than STALE_FOREIGN_MS. A live writer's temp file is never
 * taken from under it.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { v4 as uuidv4 } from 'uuid';
import { processIsRunning } from '../util/process.js';
import { RESERVED_TEMP_PREFIX } from './keys.js';

export const TMP_PREFIX = RESERVED_TEMP_PREFIX;
/** Another host's temp files are left alone this long (its writer may still be busy). */
export const STALE_FOREIGN_MS = 60 * 60 * 1000;
/** One sweep of a root per process in this window: a tree walk is not free. */
export const DEFAULT_SWEEP_INTERVAL_MS = 10 * 60 * 1000;

const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** A fresh temp file name (no directory). */
export function tempName(): string {
  return `${TMP_PREFIX}${OWNER}.${uuidv4()}`;
}

/** This process as the owner of a file or directory it names `<host>.<pid>.<...>` (temp files, journals). */
export const OWNER = `${HOST}.${process.pid}`;

/**
 * Whether the owner `name` starts with (`<host>.<pid>.`) is a process of this host that no
 * longer runs; false for another host's names and names without an owner.
 */
export function ownerIsGone(name: string): boolean {
  const m = /^([0-9a-f]{8})\.(\d+)\./.exec(name);
  return m !== null && m[1] === HOST && !processIsRunning(Number(m[2]));
}

/** Whether a temp file last written at `mtimeMs` is stale for a store opened at `openedAtMs`. */
export function isStaleTemp(name: string, mtimeMs: number, openedAtMs: number): boolean {
  if (mtimeMs >= openedAtMs) return false;
  if (mtimeMs < openedAtMs - STALE_FOREIGN_MS) return true;
  return name.startsWith(TMP_PREFIX) && ownerIsGone(name.slice(TMP_PREFIX.length));
}

const sweeps = new Map<string, { at: number; done: Promise<number> }>();

/**
 * Removes the stale temp files under `root`, at most once per `intervalMs` per root in this process; resolves to how many it removed.
 * Never rejects: a file that cannot be removed now is tried again at a later open.
 */
export function sweepStaleTemps(root: string, intervalMs = DEFAULT_SWEEP_INTERVAL_MS): Promise<number> {
  const now = Date.now();
  const last = sweeps.get(root);
  if (last && now - last.at < intervalMs) return last.done;
  const done = sweep(root, now).catch(() => 0);
  sweeps.set(root, { at: now, done });
  return done;
}

async function sweep(root: string, openedAtMs: number): Promise<number> {
  let removed = 0;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        stack.push(path);
      } else if (e.isFile() && e.name.startsWith(TMP_PREFIX)) {
        try {
          const st = await lstat(path);
          if (isStaleTemp(e.name, st.mtimeMs, openedAtMs)) {
            await unlink(path);
            removed++;
          }
        } catch {
          // Renamed into place or removed meanwhile: not ours to worry about.
        }
      }
    }
  }
  return removed;
}
