/**
 * Issue 11, findings 5 and 8 for the file store: a value is never torn (new metadata over
 * old data) whatever moment a writer dies at; temp files a dead writer left are removed at
 * the next open; no path through a symbolic link is followed; a key too long for the file
 * system is InvalidKey for reads and writes alike; the reserved names are refused by every
 * backend.
 */
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidKey, KeyNotFound } from '../../src/model/errors.js';
import { FileStore } from '../../src/store/file-store.js';
import { STALE_FOREIGN_MS, isStaleTemp, tempName } from '../../src/store/file-temp.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { assertBuilt } from '../store/multiprocess.js';
import { temps } from './temps.js';

// Renames of one chosen target can be held forever: the writer is then stuck exactly
// where a kill would stop it.
const hold = vi.hoisted(() => ({ target: undefined as string | undefined, reached: undefined as (() => void) | undefined }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    rename: (from: string, to: string) => {
      if (to === hold.target) {
        hold.reached?.();
        return new Promise<void>(() => undefined);
      }
      return actual.rename(from, to);
    },
  };
});

let dir: string;
let root: string;
const opened: Store[] = [];
const open = (path = root): FileStore => {
  const s = new FileStore(path, { tempSweepIntervalMs: 0 });
  opened.push(s);
  return s;
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qb-rel-file-'));
  root = join(dir, 'root');
  hold.target = undefined;
});
afterEach(async () => {
  hold.target = undefined;
  for (const s of opened.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a value is the old one or the new one, never a mix', () => {
  it('a writer stopped between its two renames leaves the old value, for every reader', async () => {
    // Never closed: its write never ends (as if the process had died there).
    const writer = new FileStore(root);
    await writer.set('run/k', Buffer.from('old data'), { v: 'old' });
    // Hold the data file's rename: the sidecar rename before it has happened.
    hold.target = join(root, 'run/k');
    const reached = new Promise<void>((resolve) => (hold.reached = resolve));
    void writer.set('run/k', Buffer.from('new data'), { v: 'new' });
    await reached;
    // The write is under way: its data is in a temp file beside the target.
    expect(temps(join(root, 'run'))).toHaveLength(1);
    for (const reader of [writer, open()]) {
      const v = await reader.get('run/k');
      expect({ data: v.data.toString(), metadata: v.metadata }).toEqual({ data: 'old data', metadata: { v: 'old' } });
      expect(await reader.getMetadata('run/k')).toEqual({ v: 'old' });
      expect(await reader.queryKeys({ v: 'new' })).toEqual([]);
      expect(await reader.queryKeys({ v: 'old' })).toEqual(['run/k']);
    }
    // A later write starts from the old value.
    hold.target = undefined;
    const next = open();
    await next.updateMetadata('run/k', { w: 1 });
    expect(await next.getMetadata('run/k')).toEqual({ v: 'old', w: 1 });
    expect((await next.getData('run/k')).toString()).toBe('old data');
  });

  it('a new key whose data never arrived does not exist', async () => {
    const writer = new FileStore(root);
    hold.target = join(root, 'fresh');
    const reached = new Promise<void>((resolve) => (hold.reached = resolve));
    void writer.set('fresh', Buffer.from('data'), { v: 1 });
    await reached;
    const reader = open();
    expect(await reader.exists('fresh')).toBe(false);
    await expect(reader.get('fresh')).rejects.toBeInstanceOf(KeyNotFound);
    expect(await reader.queryKeys({ v: 1 })).toEqual([]);
  });

  it('SIGKILL while a value is written leaves the old or the new value; the dead writer\'s temp files go at the next open', { timeout: 120_000 }, async () => {
    assertBuilt();
    const size = 2 * 1024 * 1024;
    const script = new URL('./torn-writer.mjs', import.meta.url);
    const seen = new Set<number>();
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, [script.pathname, root, String(size)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      // The next write is under way once its temp files exist; vary how far it got.
      while (temps(join(root, 'value')).length + temps(join(root, '.qbstore/meta')).length === 0) {
        await new Promise((r) => setTimeout(r, 1));
      }
      await new Promise((r) => setTimeout(r, round % 4));
      child.kill('SIGKILL');
      await exited;
      const store = open();
      await store.tempSweep;
      const v = await store.get('value/k');
      const i = (v.metadata as { i: number }).i;
      seen.add(i);
      expect(v.data.length).toBe(size);
      for (const at of [0, size >> 1, size - 1]) expect(v.data[at], `round ${round}: byte ${at} of value ${i}`).toBe(i % 251);
      expect(temps(root)).toEqual([]);
    }
    expect(seen.size).toBeGreaterThan(0);
  });
});

describe('temp files of dead writers', () => {
  it('only files older than the open whose writer is gone (or, for other hosts, an hour old) are stale', async () => {
    const openedAt = Date.now();
    const dead = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '']);
      c.once('exit', () => resolve(c.pid!));
    });
    const mine = tempName();
    const ofDead = mine.replace(`.${process.pid}.`, `.${dead}.`);
    const foreign = '.qbtmp-00000000.1.x';
    expect(isStaleTemp(ofDead, openedAt - 10, openedAt)).toBe(true);
    expect(isStaleTemp(ofDead, openedAt + 10, openedAt)).toBe(false); // written after the open: not ours to judge
    expect(isStaleTemp(mine, openedAt - 10, openedAt)).toBe(false); // this process is alive
    expect(isStaleTemp(foreign, openedAt - 10, openedAt)).toBe(false);
    expect(isStaleTemp(foreign, openedAt - STALE_FOREIGN_MS - 10, openedAt)).toBe(true);
    expect(isStaleTemp('.qbtmp-leftover', openedAt - STALE_FOREIGN_MS - 10, openedAt)).toBe(true);
  });

  it('an open removes them, in the data tree and the metadata tree, and nothing else', async () => {
    mkdirSync(join(root, 'a'), { recursive: true });
    mkdirSync(join(root, '.qbstore/meta/a'), { recursive: true });
    const old = (Date.now() - STALE_FOREIGN_MS - 60_000) / 1000;
    const stale = [join(root, 'a/.qbtmp-00000000.1.x'), join(root, '.qbstore/meta/a/.qbtmp-00000000.1.y')];
    const kept = [join(root, 'a/.qbtmp-00000000.1.fresh'), join(root, 'a/data')];
    for (const p of [...stale, ...kept]) writeFileSync(p, 'x');
    for (const p of stale) utimesSync(p, old, old);
    const store = open();
    expect(await store.tempSweep).toBe(2);
    for (const p of stale) expect(existsSync(p)).toBe(false);
    for (const p of kept) expect(existsSync(p)).toBe(true);
  });
});

describe('symbolic links are never followed', () => {
  let outside: string;
  beforeEach(() => {
    outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'secret');
    mkdirSync(root, { recursive: true });
    symlinkSync(outside, join(root, 'link'));
    symlinkSync(join(outside, 'secret'), join(root, 'file-link'));
  });

  it('reads see nothing through a link', async () => {
    const store = open();
    for (const key of ['link/secret', 'file-link']) {
      expect(await store.exists(key)).toBe(false);
      await expect(store.get(key)).rejects.toBeInstanceOf(KeyNotFound);
      await expect(store.getData(key)).rejects.toBeInstanceOf(KeyNotFound);
      await expect(store.getDataRange(key, 0, 3)).rejects.toBeInstanceOf(KeyNotFound);
      await expect(store.getMetadata(key)).rejects.toBeInstanceOf(KeyNotFound);
      await expect(store.toFile(key, join(dir, 'copy'))).rejects.toBeInstanceOf(KeyNotFound);
      await expect(store.delete(key)).rejects.toBeInstanceOf(KeyNotFound);
    }
    expect(await store.glob('**')).toEqual([]);
    expect(await store.glob('link/*')).toEqual([]);
    expect(await store.queryKeys({})).toEqual([]);
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('secret');
  });

  it('writes through a link are InvalidKey and write nothing outside; a link in the way is replaced, not followed', async () => {
    const store = open();
    await expect(store.set('link/new', Buffer.from('x'), {})).rejects.toBeInstanceOf(InvalidKey);
    await expect(store.fromBytes('link/secret', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKey);
    expect(readdirSync(outside)).toEqual(['secret']);
    await store.set('file-link', Buffer.from('mine'), { m: 1 });
    expect(lstatSync(join(root, 'file-link')).isFile()).toBe(true);
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('secret');
    expect((await store.get('file-link')).metadata).toEqual({ m: 1 });
  });

  it('a link in the metadata tree is not followed either', async () => {
    const store = open();
    symlinkSync(outside, join(root, '.qbstore/meta/m'));
    await expect(store.set('m/x', Buffer.from('x'), { a: 1 })).rejects.toBeInstanceOf(InvalidKey);
    expect(readdirSync(outside)).toEqual(['secret']);
  });
});

describe('keys too long for the file system', () => {
  it('are InvalidKey for reads and writes alike', async () => {
    const store = open();
    for (const key of [`a/${'x'.repeat(300)}`, `${'é'.repeat(200)}`, Array.from({ length: 30 }, () => 'y'.repeat(200)).join('/')]) {
      for (const call of [
        () => store.get(key),
        () => store.exists(key),
        () => store.getMetadata(key),
        () => store.getDataRange(key, 0, 1),
        () => store.set(key, Buffer.from('x'), {}),
        () => store.delete(key),
      ]) {
        await expect(call()).rejects.toBeInstanceOf(InvalidKey);
      }
    }
  });
});

describe('reserved names', () => {
  it('are refused by every backend, so data can move between them', async () => {
    const stores: Store[] = [new MemoryStore(), new SqliteStore(':memory:'), open()];
    opened.push(...stores);
    for (const s of stores) {
      for (const key of ['.qbstore', '.qbstore/x', 'a/.qbtmp-1', '.qbtmp-x/y']) {
        await expect(s.set(key, Buffer.from(''), {}), `${s.info().kind}: ${key}`).rejects.toBeInstanceOf(InvalidKey);
      }
      await s.set('a/.qbstore', Buffer.from(''), {});
      await s.set('.qbstore2/x', Buffer.from(''), {});
    }
  });
});
