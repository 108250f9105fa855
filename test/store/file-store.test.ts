import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidKey } from '../../src/model/errors.js';
import { FileStore } from '../../src/store/file-store.js';
import { openStore } from '../../src/store/store-factory.js';
import { assertBuilt, runWriter } from './multiprocess.js';

describe('FileStore', () => {
  let dir: string;
  let root: string;
  let store: FileStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qb-file-'));
    root = join(dir, 'root');
    store = new FileStore(root);
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps data at the key path and metadata in a parallel sidecar tree', async () => {
    await store.set('run/a/file.fits', Buffer.from('bytes'), { x: 1 });
    expect(await readFile(join(root, 'run/a/file.fits'), 'utf8')).toBe('bytes');
    const sidecar = JSON.parse(await readFile(join(root, '.qbstore/meta/run/a/file.fits'), 'utf8'));
    expect(sidecar.metadata).toEqual({ x: 1 });
    expect(typeof sidecar.created).toBe('number');
    expect(await readdir(join(root, 'run/a'))).toEqual(['file.fits']);
  });

  it('setFilled: the caller writes the temp file and returns its metadata; the sidecar describes it', async () => {
    await store.setFilled('run/f.bin', async (tmp) => {
      expect(tmp.startsWith(join(root, 'run', '.qbtmp-'))).toBe(true);
      await writeFile(tmp, 'filled');
      return { size: (await stat(tmp)).size };
    });
    expect(await readFile(join(root, 'run/f.bin'), 'utf8')).toBe('filled');
    expect(await store.getMetadata('run/f.bin')).toEqual({ size: 6 });
    expect(await readdir(join(root, 'run'))).toEqual(['f.bin']);
  });

  it('setFilled: the sidecar\'s temp file (and its directory) is made while the data is filled, not after', async () => {
    const metaDir = join(root, '.qbstore/meta/run/new');
    let seen: string[] = [];
    await store.setFilled('run/new/f.bin', async (tmp) => {
      // The sidecar's temp file is opened alongside this fill: wait (boundedly) for it to appear.
      for (let i = 0; i < 200 && !seen.some((n) => n.startsWith('.qbtmp-')); i++) {
        await new Promise((r) => setTimeout(r, 1));
        seen = await readdir(metaDir).catch(() => []);
      }
      await writeFile(tmp, 'filled');
      return { n: 1 };
    });
    expect(seen.filter((n) => n.startsWith('.qbtmp-'))).toHaveLength(1);
    expect(await readdir(metaDir)).toEqual(['f.bin']);
    expect(await store.getMetadata('run/new/f.bin')).toEqual({ n: 1 });
  });

  it('setFilled: the fill is given the temp file open for writing; what it writes through it is the value', async () => {
    await store.setFilled('run/h.bin', async (_tmp, handle) => {
      await handle.write(Buffer.from('through the handle'), 0, 18, 0);
      return { n: 2 };
    });
    expect(await readFile(join(root, 'run/h.bin'), 'utf8')).toBe('through the handle');
    expect(await store.getMetadata('run/h.bin')).toEqual({ n: 2 });
  });

  it('setFilled fresh: a key with a value stays as it is, the fill is never called, and the answer is false; a free key is written', async () => {
    await store.set('run/k', Buffer.from('old'), { a: 1 });
    let calls = 0;
    const fill = async (tmp: string) => {
      calls++;
      await writeFile(tmp, 'new');
      return { b: 2 };
    };
    expect(await store.setFilled('run/k', fill, { fresh: true })).toBe(false);
    expect(calls).toBe(0);
    expect((await store.get('run/k')).data.toString()).toBe('old');
    expect(await store.getMetadata('run/k')).toEqual({ a: 1 });
    // Nothing made beside it: no temp file in either tree.
    expect(await readdir(join(root, 'run'))).toEqual(['k']);
    expect(await readdir(join(root, '.qbstore/meta/run'))).toEqual(['k']);
    expect(await store.setFilled('run/free', fill, { fresh: true })).toBe(true);
    expect(calls).toBe(1);
    expect((await store.get('run/free')).data.toString()).toBe('new');
  });

  it('setFilled: the sidecar is written while the data\'s temp file is being closed, not after', async () => {
    const probe = await open(join(dir, 'probe'), 'w');
    await probe.close();
    const proto = Object.getPrototypeOf(probe) as { write(this: unknown, ...args: unknown[]): Promise<unknown> };
    const { write } = proto;
    const events: string[] = [];
    vi.spyOn(proto, 'write').mockImplementation(function (this: unknown, ...args: unknown[]) {
      if (Buffer.isBuffer(args[0]) && args[0].includes('"metadata"')) events.push('sidecar written');
      return write.apply(this, args);
    });
    try {
      await store.setFilled('run/c.bin', async (tmp, handle) => {
        await writeFile(tmp, 'filled');
        // The store closes the handle it lent: note when that close is done.
        const close = handle.close.bind(handle);
        handle.close = async () => {
          await close();
          events.push('data closed');
        };
        return { n: 3 };
      });
    } finally {
      vi.restoreAllMocks();
    }
    expect(events).toEqual(['sidecar written', 'data closed']);
    expect(await store.getMetadata('run/c.bin')).toEqual({ n: 3 });
  });

  it('setFilled: a failed fill publishes nothing and rethrows its error; an old value stays', async () => {
    await store.set('run/k', Buffer.from('old'), { a: 1 });
    const fail = (err: Error) => async (tmp: string) => {
      await writeFile(tmp, 'partial');
      throw err;
    };
    const mine = new InvalidKey('the caller says no');
    await expect(store.setFilled('run/k', fail(mine))).rejects.toBe(mine);
    await expect(store.setFilled('run/new', fail(new InvalidKey('no')))).rejects.toThrow('no');
    expect((await store.get('run/k')).data.toString()).toBe('old');
    expect(await store.getMetadata('run/k')).toEqual({ a: 1 });
    expect(await store.exists('run/new')).toBe(false);
    expect(await readdir(join(root, 'run'))).toEqual(['k']);
    // The sidecar's temp file, opened while the data was filled, is removed too.
    expect(await readdir(join(root, '.qbstore/meta/run'))).toEqual(['k']);
  });

  it('setFilled: when the data temp file\'s inode cannot be read, nothing is published and neither temp file is left', async () => {
    await store.set('run/k', Buffer.from('old'), { a: 1 });
    // The store reads the temp file's inode (stat with bigint) while the data fills; that read fails once.
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { stat: (opts?: { bigint?: boolean }) => Promise<unknown> };
    await probe.close();
    const real = proto.stat;
    let failed = 0;
    const spy = vi.spyOn(proto, 'stat').mockImplementation(function (this: unknown, opts?: { bigint?: boolean }) {
      if (opts?.bigint && failed === 0) {
        failed++;
        return Promise.reject(Object.assign(new Error('EIO: i/o error, fstat'), { code: 'EIO' }));
      }
      return real.call(this, opts);
    });
    try {
      await expect(store.setFilled('run/new', async (tmp) => {
        await writeFile(tmp, 'data');
        return { a: 2 };
      })).rejects.toThrow();
    } finally {
      spy.mockRestore();
    }
    expect(failed).toBe(1);
    expect(await store.exists('run/new')).toBe(false);
    expect((await store.get('run/k')).data.toString()).toBe('old');
    expect(await readdir(join(root, 'run'))).toEqual(['k']);
    expect(await readdir(join(root, '.qbstore/meta/run'))).toEqual(['k']);
  });

  it('a write whose data cannot be read publishes nothing: data, metadata and tree as before', async () => {
    await store.set('run/k', Buffer.from('old'), { a: 1 });
    const notAFile = join(dir, 'a-directory');
    await mkdir(notAFile);
    await expect(store.fromFile('run/k', notAFile)).rejects.toThrow();
    await expect(store.fromFile('run/new', notAFile)).rejects.toThrow();
    expect((await store.get('run/k')).data.toString()).toBe('old');
    expect(await store.getMetadata('run/k')).toEqual({ a: 1 });
    expect(await store.exists('run/new')).toBe(false);
    // No temp file is left beside the data or the sidecars.
    expect(await readdir(join(root, 'run'))).toEqual(['k']);
    expect(await readdir(join(root, '.qbstore/meta/run'))).toEqual(['k']);
  });

  it('reserved names are InvalidKey', async () => {
    for (const key of ['.qbstore', '.qbstore/meta/x', 'a/.qbtmp-123', '.qbtmp-x']) {
      await expect(store.set(key, Buffer.from(''), {})).rejects.toBeInstanceOf(InvalidKey);
      await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKey);
    }
    // Similar names are fine.
    await store.set('.qbstore2/x', Buffer.from(''), {});
    await store.set('a/.qbstore', Buffer.from(''), {});
    expect(await store.glob('**')).toEqual(['.qbstore2/x', 'a/.qbstore']);
    // Internal files never show up as keys, whatever the pattern.
    for (const pattern of ['.qbstore/**', '.qbstore/meta/**', '.qbstore/meta/.qbstore2/x', '.qb*/**', '**/.qbtmp-*']) {
      expect(await store.glob(pattern), pattern).toEqual(pattern === '.qb*/**' ? ['.qbstore2/x'] : []);
    }
  });

  it('a key cannot be both a leaf and a directory', async () => {
    await store.set('a', Buffer.from('leaf'), {});
    await expect(store.set('a/b', Buffer.from(''), {})).rejects.toBeInstanceOf(InvalidKey);
    await store.set('c/d', Buffer.from(''), {});
    await expect(store.set('c', Buffer.from(''), {})).rejects.toBeInstanceOf(InvalidKey);
    expect(await store.glob('**')).toEqual(['a', 'c/d']);
    expect(await store.exists('a/b')).toBe(false);
    expect(await store.exists('c')).toBe(false);
    await expect(store.get('c')).rejects.toThrow();
  });

  it('deleting prunes empty directories so the name can become a leaf', async () => {
    await store.set('x/y/z', Buffer.from(''), {});
    await store.delete('x/y/z');
    expect(await readdir(root)).toEqual(['.qbstore']);
    await store.set('x', Buffer.from('leaf'), {});
    expect((await store.getData('x')).toString()).toBe('leaf');
  });

  it('files placed by hand are keys with metadata {}; temp and internal files are not', async () => {
    await mkdir(join(root, 'manual'), { recursive: true });
    await writeFile(join(root, 'manual/file.txt'), 'hand made');
    await writeFile(join(root, 'manual/.qbtmp-leftover'), 'partial');
    const v = await store.get('manual/file.txt');
    expect(v.data.toString()).toBe('hand made');
    expect(v.metadata).toEqual({});
    expect(v.modified).toBeGreaterThan(0);
    expect(await store.glob('**')).toEqual(['manual/file.txt']);
    expect(await store.queryKeys({})).toEqual(['manual/file.txt']);
    await store.updateMetadata('manual/file.txt', { added: true });
    expect(await store.getMetadata('manual/file.txt')).toEqual({ added: true });
  });

  it('transactions journal previous versions and clean up after themselves', async () => {
    await store.set('keep', Buffer.from('old'), { v: 1 });
    await expect(
      store.transaction('t', async () => {
        await store.set('keep', Buffer.from('new'), { v: 2 });
        await store.set('gone/deep/new', Buffer.from('n'), {});
        const journals = await readdir(join(root, '.qbstore/journal'));
        expect(journals).toHaveLength(1);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect((await store.getData('keep')).toString()).toBe('old');
    expect(await store.getMetadata('keep')).toEqual({ v: 1 });
    expect(await readdir(join(root, '.qbstore/journal'))).toEqual([]);
    await expect(stat(join(root, 'gone'))).rejects.toThrow();
    await store.transaction('t2', async () => store.set('keep', Buffer.from('committed'), {}));
    expect(await readdir(join(root, '.qbstore/journal'))).toEqual([]);
    expect((await store.getData('keep')).toString()).toBe('committed');
  });

  it('openStore opens file trees', async () => {
    const s = await openStore({ kind: 'file', path: join(dir, 'other') });
    expect(s).toBeInstanceOf(FileStore);
    expect(s.info()).toMatchObject({ kind: 'file', path: join(dir, 'other') });
    await s.close();
  });

  it('two processes writing different keys concurrently lose nothing', async () => {
    assertBuilt();
    const count = 150;
    await Promise.all([runWriter('file', root, 'a', count), runWriter('file', root, 'b', count)]);
    const keys = await store.glob('common/**');
    expect(keys).toHaveLength(2 * count);
    for (const tag of ['a', 'b']) {
      for (let i = 0; i < count; i++) {
        const v = await store.get(`common/sub${i % 5}/${tag}-${i}`);
        expect(v.data.toString()).toBe(`${tag}:${i}`);
        expect(v.metadata).toEqual({ tag, i });
      }
    }
    // The short-lived keys are all gone, and so are their directories.
    expect((await readdir(join(root, 'common'))).sort()).toEqual(['sub0', 'sub1', 'sub2', 'sub3', 'sub4']);
  });
});
