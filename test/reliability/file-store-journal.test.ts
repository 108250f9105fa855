/**
 * A file store transaction is all or nothing across a crash: a sidecar SIGKILLed in the
 * middle of one (a `store/multiset`, or a transaction it began) leaves its journal, and the
 * next store opened on the root rolls it back (the saved values restored, the keys it created
 * removed) and removes the journal; a recovery killed midway is finished by the next open.
 * The journal of a live process is never touched.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/store/file-store.js';
import { RawClient } from '../e2e/raw-client.js';
import { BUILT_STORE } from '../store/multiprocess.js';
import { CLI_UNDER_TEST, whenGone } from './process-watch.js';

let dir: string;
let root: string;
const cleanup: Array<() => void | Promise<void>> = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qb-journal-'));
  root = join(dir, 'store');
});
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
  await rm(dir, { recursive: true, force: true });
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const journals = (): string[] => {
  const j = join(root, '.qbstore', 'journal');
  return existsSync(j) ? readdirSync(j) : [];
};
/** The first 3 bytes of each key's file on disk ('' when missing). */
const onDisk = (keys: string[]): string[] =>
  keys.map((k) => {
    try {
      return readFileSync(join(root, k)).subarray(0, 3).toString();
    } catch {
      return '';
    }
  });
const count = (values: string[], v: string): number => values.filter((x) => x === v).length;

async function sidecarOn(): Promise<RawClient> {
  const c = new RawClient(['--stdio'], { cli: CLI_UNDER_TEST, keep: (m) => m.method === undefined });
  cleanup.push(async () => {
    if (c.child.exitCode === null && c.child.signalCode === null) {
      c.kill();
      await c.exit;
    }
  });
  await c.initialize();
  const opened = await c.call('session/open', { sessionId: 'kv', predicted: { inputs: [], outputs: [] }, store: { kind: 'file', path: root } });
  expect(opened.error).toBeUndefined();
  return c;
}

async function killed(c: RawClient): Promise<void> {
  const pid = c.child.pid!;
  c.kill();
  await c.exit;
  expect(await whenGone(pid)).toBe(true);
}

describe('a transaction of a sidecar killed midway is rolled back at the next open', () => {
  it('store/multiset of 1500 keys, SIGKILLed with some keys rewritten: all old again, and a recovery killed midway is finished', { timeout: 120_000 }, async () => {
    const N = 1500;
    const keys = Array.from({ length: N }, (_, i) => `k/${String(i).padStart(4, '0')}`);
    const extra = Array.from({ length: N }, (_, i) => `new/${i}`);
    const c = await sidecarOn();
    const old = await c.call('store/multiset', { sessionId: 'kv', keys, datas: keys.map(() => b64('old'.repeat(100))), metadatas: keys.map(() => ({ v: 'old' })) });
    expect(old.error).toBeUndefined();
    // Creates as many keys, then rewrites every one.
    const all = [...extra, ...keys];
    const pending = c.request('store/multiset', { sessionId: 'kv', keys: all, datas: all.map(() => b64('new'.repeat(100))), metadatas: all.map(() => ({ v: 'new' })) });
    while (readFileSync(join(root, keys[N / 3]!)).subarray(0, 3).toString() !== 'new') await new Promise((r) => setTimeout(r, 1));
    await killed(c);
    // Midway: some keys rewritten, not all; its journal left behind.
    const before = onDisk(keys);
    expect(count(before, 'new')).toBeGreaterThan(0);
    expect(count(before, 'new')).toBeLessThan(N);
    expect(count(onDisk(extra), 'new')).toBe(N);
    expect(c.messages.filter((m) => m.id === pending)).toEqual([]);
    expect(journals()).toHaveLength(1);

    // A recovery in a process of its own, killed once it has claimed the journal and removed
    // some of the keys the transaction created (those go first).
    const child = spawn(process.execPath, ['--input-type=module', '-e', `import { FileStore } from ${JSON.stringify(BUILT_STORE)}; const s = new FileStore(${JSON.stringify(root)}); await s.recovered; process.stdout.write('done');`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const claimed = `.${child.pid}.`;
    while (child.exitCode === null && !(journals().some((j) => j.includes(claimed)) && count(onDisk(extra), '') > 0)) await new Promise((r) => setTimeout(r, 1));
    child.kill('SIGKILL');
    await exited;
    if (out !== 'done') {
      // Killed mid-recovery: the claimed journal is there, for the next open.
      expect(journals().filter((j) => j.includes(claimed))).toHaveLength(1);
      console.log(`recovery killed with ${count(onDisk(extra), '')} of ${N} created keys removed, ${count(onDisk(keys), 'old')} of ${N} old`);
    }

    const store = new FileStore(root);
    cleanup.push(() => store.close());
    // Any operation waits for the recovery.
    expect(await store.glob('new/**')).toEqual([]);
    expect(count(onDisk(keys), 'old')).toBe(N);
    expect(journals()).toEqual([]);
    expect(await store.recovered).toBe(out === 'done' ? 0 : 1);
    expect(count(onDisk(extra), '')).toBe(N);
    expect(await store.getMetadata(keys[0]!)).toEqual({ v: 'old' });
    expect(await store.getMetadata(keys[N / 3]!)).toEqual({ v: 'old' });
    expect((await store.queryKeys({ v: 'old' })).length).toBe(N);
  });

  it('a transaction begun by store/beginTransaction: a live sidecar\'s journal is left alone; once it is killed, the next open rolls it back', { timeout: 60_000 }, async () => {
    const c = await sidecarOn();
    expect((await c.call('store/set', { sessionId: 'kv', key: 'a', data: b64('old a'), metadata: { v: 1 } })).error).toBeUndefined();
    expect((await c.call('store/set', { sessionId: 'kv', key: 'gone', data: b64('old gone'), metadata: { v: 2 } })).error).toBeUndefined();
    expect((await c.call('store/beginTransaction', { sessionId: 'kv', notes: 't' })).error).toBeUndefined();
    expect((await c.call('store/set', { sessionId: 'kv', key: 'a', data: b64('new a'), metadata: { v: 10 } })).error).toBeUndefined();
    expect((await c.call('store/delete', { sessionId: 'kv', key: 'gone' })).error).toBeUndefined();
    expect((await c.call('store/set', { sessionId: 'kv', key: 'made/here', data: b64('made'), metadata: {} })).error).toBeUndefined();
    expect((await c.call('store/updateMetadata', { sessionId: 'kv', key: 'a', metadata: { w: 1 } })).error).toBeUndefined();

    // The sidecar runs: another store on the root leaves its transaction as it is.
    const other = new FileStore(root);
    cleanup.push(() => other.close());
    expect((await other.getData('a')).toString()).toBe('new a');
    expect(await other.exists('made/here')).toBe(true);
    expect(journals()).toHaveLength(1);

    await killed(c);
    const store = new FileStore(root);
    cleanup.push(() => store.close());
    expect((await store.get('a')).metadata).toEqual({ v: 1 });
    expect((await store.getData('a')).toString()).toBe('old a');
    expect((await store.get('gone')).metadata).toEqual({ v: 2 });
    expect((await store.getData('gone')).toString()).toBe('old gone');
    expect(await store.exists('made/here')).toBe(false);
    expect(existsSync(join(root, 'made'))).toBe(false);
    expect(await store.glob('**')).toEqual(['a', 'gone']);
    expect(journals()).toEqual([]);
    expect(await store.recovered).toBe(1);
  });
});
