/**
 * The page cache's dirty data (Linux's /proc/meminfo), and a wait for it to be written back,
 * which the sidecar section runs before its 16 MiB rows (see waitForCleanPageCache).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Dirty and Writeback of /proc/meminfo, in KiB; undefined without it. */
export function dirtyKiB(): { dirty: number; writeback: number } | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/meminfo', 'utf8');
  } catch {
    return undefined;
  }
  const get = (key: string) => Number(text.match(new RegExp(`^${key}:\\s*(\\d+)`, 'm'))?.[1]);
  const [dirty, writeback] = [get('Dirty'), get('Writeback')];
  return Number.isFinite(dirty) && Number.isFinite(writeback) ? { dirty, writeback } : undefined;
}

export interface PageCacheWait {
  /** Dirty and under writeback before the wait (KiB, /proc/meminfo). */
  dirtyKiB: number;
  writebackKiB: number;
  /** Whether it was at or above the threshold, so that `sync` ran. */
  synced: boolean;
  /** How long the wait took (0 when the cache was already below the threshold), and what was left. */
  waitedMs: number;
  afterKiB: number;
  /** Whether the wait ended by its timeout rather than by the cache coming clean. */
  timedOut: boolean;
}

/** Dirty + Writeback (KiB) below which the page cache counts as clean. */
export const CLEAN_PAGE_CACHE_KIB = 32 * 1024;

/**
 * Waits until the page cache holds less than `thresholdKiB` of dirty data (Dirty + Writeback),
 * by running `sync(1)`, for at most `timeoutMs`: so that writeback the kernel owes for files
 * written before (a previous run's collects write gigabytes into SQLite and PostgreSQL files,
 * which it writes out from 30 s later, on a slow disk for minutes) does not land on the rows
 * timed next. Linux only (undefined elsewhere).
 */
export async function waitForCleanPageCache(opts: { thresholdKiB?: number; timeoutMs?: number } = {}): Promise<PageCacheWait | undefined> {
  const threshold = opts.thresholdKiB ?? CLEAN_PAGE_CACHE_KIB;
  const before = dirtyKiB();
  if (!before) return undefined;
  const start = performance.now();
  let timedOut = false;
  const synced = before.dirty + before.writeback >= threshold;
  if (synced) {
    const sync = spawn('sync', [], { stdio: 'ignore' });
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      new Promise<boolean>((resolve) => {
        sync.on('exit', () => resolve(true));
        sync.on('error', () => resolve(true));
      }),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), opts.timeoutMs ?? 120_000))),
    ]);
    clearTimeout(timer);
    // A sync past the timeout is left to finish on its own (it cannot be interrupted while it writes).
    if (!ended) {
      timedOut = true;
      sync.unref();
    }
  }
  const waitedMs = synced ? performance.now() - start : 0;
  const after = dirtyKiB()!;
  return { dirtyKiB: before.dirty, writebackKiB: before.writeback, synced, waitedMs, afterKiB: after.dirty + after.writeback, timedOut };
}
