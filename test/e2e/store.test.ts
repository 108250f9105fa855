/** store/* through the real CLI: every method, events, transactions, mounts, two sidecars on one file. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuantumButlerClient } from '../../src/client/index.js';
import { outputRefs, q1 } from './fixture.js';
import { spawnClient, uniqueName, kindOf } from './harness.js';

let client: QuantumButlerClient;
let dir: string;
beforeAll(async () => {
  client = await spawnClient();
  dir = mkdtempSync(join(tmpdir(), 'qb-store-'));
});
afterAll(async () => {
  expect(await client.close()).toBe(0);
  rmSync(dir, { recursive: true, force: true });
});


const openOn = (store: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  client.openSession({ predicted: { inputs: [], outputs: outputRefs() }, store: store as never, notifications: ['store'], ...extra });

describe('store/* on every backend', () => {
  for (const kind of ['memory', 'sqlite', 'file'] as const) {
    it(`${kind}: the encore API end to end`, async () => {
      const spec = kind === 'memory' ? { kind } : { kind, path: join(dir, `${kind}-${uniqueName('s')}${kind === 'sqlite' ? '.db' : ''}`) };
      const s = await openOn(spec);
      const st = s.store;
      expect((await st.info()).kind).toBe(kind);
      await st.set('a/one', 'hello', { n: 1, tag: 'x' });
      expect((await st.get('a/one')).data.toString()).toBe('hello');
      expect(await st.getDataRange('a/one', 1, 3)).toEqual(Buffer.from('el'));
      expect(await st.getMetadata('a/one', ['n', 'nope'])).toEqual({ n: 1 });
      await st.updateMetadata('a/one', { m: true });
      expect(await st.getMetadata('a/one')).toEqual({ n: 1, tag: 'x', m: true });
      await st.setData('a/one', 'bye');
      expect(await st.getMetadata('a/one')).toEqual({ n: 1, tag: 'x', m: true });
      await st.multiset(['a/two', 'b/three', 'ignored'], ['2', '3'], [{ tag: 'x' }, { tag: 'y' }]);
      expect(await st.exists('ignored')).toBe(false);
      expect((await st.multigetData(['a/two', 'b/three'])).map(String)).toEqual(['2', '3']);
      expect(await st.glob('a/*')).toEqual(['a/one', 'a/two']);
      expect(await st.glob('**')).toEqual(expect.arrayContaining(['a/one', 'a/two', 'b/three']));
      expect((await st.queryKeys({ tag: 'x' })).sort()).toEqual(['a/one', 'a/two']);
      expect(await st.query({ tag: 'y' }, ['tag'])).toEqual([['b/three', { tag: 'y' }]]);
      const file = join(dir, `${kind}-out.bin`);
      await st.toFile('a/two', file);
      expect(readFileSync(file, 'utf8')).toBe('2');
      writeFileSync(file, 'from file');
      await st.fromFile('c/file', file);
      expect((await st.toBytes('c/file')).toString()).toBe('from file');
      await st.delete('c/file');
      expect(await kindOf(st.get('c/file'))).toBe('KeyNotFound');
      expect(await kindOf(st.delete('c/file'))).toBe('KeyNotFound');
      expect(await kindOf(st.getDataRange('a/one', 3, 1))).toBe('InvalidArgument');
      expect(await kindOf(st.push('a/one'))).toBe('InvalidArgument');
      // The butler's datastore lives on the same store: an output becomes a key.
      await s.put(outputRefs()[0]!, { data: 1 });
      expect(await st.exists(outputRefs()[0]!.id)).toBe(true);
      await s.close();
    });
  }

  it("values read back are the host's to keep: small ones in memory of their own, not slices of Node's shared pool", async () => {
    const st = (await openOn({ kind: 'memory' })).store;
    await st.set('small', Buffer.from('a small value'), {});
    for (const got of [await st.getData('small'), (await st.get('small')).data]) {
      expect(got.toString()).toBe('a small value');
      // A slice of the 8 KiB pool kept the whole pool alive for as long as the host kept the value.
      expect([got.byteOffset, got.buffer.byteLength]).toEqual([0, got.length]);
    }
  });

  it('transactions: rollback undoes writes and emits no set events; commit delivers them', async () => {
    const s = await openOn({ kind: 'sqlite', path: join(dir, 'tx.db') });
    const events: Array<{ type: string; key?: string }> = [];
    client.conn.onNotification('store/event', (p: { sessionId: string; event: { type: string; key?: string } }) => {
      if (p.sessionId === s.sessionId) events.push(p.event);
    });
    // A call's events are sent before its answer, so each await below sees exactly the events so far.
    const types = () => events.map((e) => `${e.type}${e.key ? `:${e.key}` : ''}`);
    await s.store.set('keep', 'v0', {});
    expect(types()).toEqual(['set:keep']);
    const tx = await s.store.begin('try');
    await s.store.set('keep', 'v1', {});
    await s.store.set('new', 'n', {});
    expect(types()).toEqual(['set:keep', 'transactionStart']); // held back until the commit
    await tx.rollback();
    expect(types()).toEqual(['set:keep', 'transactionStart', 'transactionEnd']);
    expect((await s.store.getData('keep')).toString()).toBe('v0');
    expect(await s.store.exists('new')).toBe(false);
    const tx2 = await s.store.begin('ok');
    await s.store.set('new', 'n', { t: 1 });
    await tx2.commit();
    expect(types()).toEqual(['set:keep', 'transactionStart', 'transactionEnd', 'transactionStart', 'set:new', 'transactionEnd']);
    expect(await s.store.exists('new')).toBe(true);
    expect(await kindOf(tx2.commit())).toBe('TransactionNotFound');
    expect(types()).toHaveLength(6);
    await s.close();
  });

  it('a mounted session store: reads fall through, writes copy up, deletes hide, push moves down', async () => {
    const backing = join(dir, 'backing');
    const seed = await openOn({ kind: 'file', path: backing });
    await seed.store.set('shared/calib', 'base', { v: 1 });
    await seed.store.set('shared/other', 'o', {});
    await seed.close();
    const s = await openOn({ kind: 'memory' }, { mount: { prefix: 'shared/', over: { kind: 'file', path: backing } } });
    expect((await s.store.info()).kind).toBe('mounted');
    expect((await s.store.getData('shared/calib')).toString()).toBe('base');
    await s.store.updateMetadata('shared/calib', { v: 2 });
    expect(await s.store.getMetadata('shared/calib')).toEqual({ v: 2 });
    await s.store.delete('shared/other');
    expect(await s.store.exists('shared/other')).toBe(false);
    expect(await s.store.glob('shared/*')).toEqual(['shared/calib']);
    await s.store.set('shared/new', 'x', {});
    await s.store.push('shared/new');
    await s.close();
    const check = await openOn({ kind: 'file', path: backing });
    expect(await check.store.getMetadata('shared/calib')).toEqual({ v: 1 }); // copy-on-write left the backing alone
    expect(await check.store.exists('shared/other')).toBe(true);
    expect((await check.store.getData('shared/new')).toString()).toBe('x');
    await check.close();
  });

  it('two sidecars writing one sqlite file and one file tree at once lose no writes', async () => {
    const other = await spawnClient();
    try {
      for (const spec of [{ kind: 'sqlite', path: join(dir, 'shared.db') }, { kind: 'file', path: join(dir, 'shared-tree') }]) {
        const a = await client.openSession({ quantum: q1(), store: spec as never });
        const b = await other.openSession({ quantum: q1(), store: spec as never });
        const N = 150;
        await Promise.all([
          Promise.all(Array.from({ length: N }, (_, i) => a.store.set(`k/a${i}`, `a${i}`, { who: 'a' }))),
          Promise.all(Array.from({ length: N }, (_, i) => b.store.set(`k/b${i}`, `b${i}`, { who: 'b' }))),
          a.store.multiset(Array.from({ length: N }, (_, i) => `m/a${i}`), Array.from({ length: N }, () => 'x'), Array.from({ length: N }, () => ({}))),
        ]);
        expect((await a.store.glob('k/*')).length).toBe(2 * N);
        expect((await b.store.queryKeys({ who: 'a' })).length).toBe(N);
        expect((await b.store.glob('m/*')).length).toBe(N);
        await a.close();
        await b.close();
      }
    } finally {
      await other.close();
    }
  });

  it('a named datastore cannot be reopened on a different store', async () => {
    const name = uniqueName('named');
    const s = await client.openSession({ quantum: q1(), datastore: { kind: 'memory', name } });
    expect(await kindOf(client.openSession({ quantum: q1(), datastore: { kind: 'memory', name }, store: { kind: 'sqlite', path: join(dir, 'x.db') } }))).toBe(
      'ConflictingDefinition',
    );
    await s.close();
  });
});
