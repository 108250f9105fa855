/**
 * A fresh write (setFilled with `fresh`, the datastore's put of a file) never replaces a file
 * another writer published after the key was seen free: two processes putting the same
 * output (a retried quantum while the first attempt still runs) end with one writer's value
 * and the other told the key is taken, its temp files gone.
 */
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidKey } from '../../src/model/errors.js';
import { FileStore } from '../../src/store/file-store.js';
import { BUILT_STORE, assertBuilt } from '../store/multiprocess.js';
import { temps } from './temps.js';

let dir: string;
let root: string;
const opened: FileStore[] = [];
const open = (): FileStore => {
  const s = new FileStore(root);
  opened.push(s);
  return s;
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qb-fresh-'));
  root = join(dir, 'root');
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

/** Another process (the built store) writes `key` fresh with `text`; what its setFilled answered. */
function freshInOtherProcess(key: string, text: string): Promise<string> {
  assertBuilt();
  const script = `import { FileStore } from ${JSON.stringify(BUILT_STORE)};
const s = new FileStore(${JSON.stringify(root)});
const ok = await s.setFilled(${JSON.stringify(key)}, async (_tmp, fh) => { await fh.write(Buffer.from(${JSON.stringify(text)})); return { by: ${JSON.stringify(text)} }; }, { fresh: true });
await s.close();
process.stdout.write(String(ok));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exited ${code}: ${err}`))));
  });
}

describe('a fresh write never replaces another writer\'s value', () => {
  it('another process publishes the key while this one fills it: this one answers false, the other\'s bytes and metadata stay', { timeout: 60_000 }, async () => {
    const store = open();
    let other: string | undefined;
    const wrote = await store.setFilled('run/out.bin', async (_tmp, fh) => {
      await fh.write(Buffer.from('bytes of A'));
      // The key was free when this write looked; now the other process writes it.
      other = await freshInOtherProcess('run/out.bin', 'bytes of B');
      return { by: 'bytes of A' };
    }, { fresh: true });
    expect(other).toBe('true');
    expect(wrote).toBe(false);
    expect(readFileSync(join(root, 'run/out.bin'), 'utf8')).toBe('bytes of B');
    const v = await open().get('run/out.bin');
    expect({ data: v.data.toString(), metadata: v.metadata }).toEqual({ data: 'bytes of B', metadata: { by: 'bytes of B' } });
    expect(temps(root)).toEqual([]);
  });

  it('the loser inside a transaction that rolls back leaves the winner\'s value (its journal does not claim the key)', { timeout: 60_000 }, async () => {
    const store = open();
    let wrote: boolean | undefined;
    await expect(
      store.transaction('t', async () => {
        wrote = await store.setFilled('out', async (_tmp, fh) => {
          await fh.write(Buffer.from('A'));
          await freshInOtherProcess('out', 'B');
          return {};
        }, { fresh: true });
        throw new Error('abandon');
      }),
    ).rejects.toThrow('abandon');
    expect(wrote).toBe(false);
    expect(readFileSync(join(root, 'out'), 'utf8')).toBe('B');
    expect(await open().getMetadata('out')).toEqual({ by: 'B' });
  });

  it('an empty directory where the file goes is replaced, a symbolic link too (not followed); a directory with keys below is InvalidKey', async () => {
    const store = open();
    const fill = (text: string) => async (_tmp: string, fh: import('node:fs/promises').FileHandle) => {
      await fh.write(Buffer.from(text));
      return { text };
    };
    mkdirSync(join(root, 'a/empty'), { recursive: true });
    expect(await store.setFilled('a/empty', fill('x'), { fresh: true })).toBe(true);
    expect(readFileSync(join(root, 'a/empty'), 'utf8')).toBe('x');
    writeFileSync(join(dir, 'outside'), 'outside');
    symlinkSync(join(dir, 'outside'), join(root, 'a/link'));
    expect(await store.setFilled('a/link', fill('y'), { fresh: true })).toBe(true);
    expect(lstatSync(join(root, 'a/link')).isFile()).toBe(true);
    expect(readFileSync(join(dir, 'outside'), 'utf8')).toBe('outside');
    await store.set('b/c', Buffer.from('c'), {});
    await expect(store.setFilled('b', fill('z'), { fresh: true })).rejects.toBeInstanceOf(InvalidKey);
    expect(temps(root)).toEqual([]);
  });
});
