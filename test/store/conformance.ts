/**
 * The Store conformance suite: every backend must pass it unchanged. It pins down the
 * behaviour encore's tests cover (fixtures test1 / key0..9 / existing_key0..9) and what
 * they leave out: events, KeyNotFound paths, transactions and rollback, glob edge cases,
 * query semantics, byte-range edges, zip semantics, bad input and copying.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InvalidArgument,
  InvalidKey,
  InvalidValue,
  KeyNotFound,
  TransactionNotFound,
} from '../../src/model/errors.js';
import type { Metadata, Store, StoreEvent } from '../../src/store/store.js';

export interface StoreFixture {
  store: Store;
  cleanup(): Promise<void>;
}

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const TEST1_METADATA: Metadata = {
  a_str: 'test3',
  an_int: 1,
  a_float: 2.5,
  a_bool: true,
  a_list: ['one', 'two', 'three'],
  a_dict: { one: 1, two: 2, three: 3 },
};

export function keyMetadata(i: number): Metadata {
  return i % 2 === 0 ? { query_test1: 'value', query_test2: i, optional: true } : { query_test1: 'value', query_test2: i };
}

const KEYS = Array.from({ length: 10 }, (_, i) => `key${i}`);
const EXISTING = Array.from({ length: 10 }, (_, i) => `existing_key${i}`);
const ALL_FIXTURE_KEYS = ['test1', ...KEYS, ...EXISTING].sort();

async function fill(store: Store): Promise<void> {
  await store.set('test1', Buffer.from('test2\n'), TEST1_METADATA);
  await store.multiset(
    KEYS,
    KEYS.map((_, i) => Buffer.from(`value${i}`)),
    KEYS.map((_, i) => keyMetadata(i)),
  );
  await store.multiset(
    EXISTING,
    EXISTING.map((_, i) => Buffer.from(`existing_value${i}`)),
    EXISTING.map((_, i) => existingMetadata(i)),
  );
}

function existingMetadata(i: number): Metadata {
  return { meta: true, meta1: i === 0 ? 0 : -i };
}

function record(store: Store): StoreEvent[] {
  const events: StoreEvent[] = [];
  store.on((e) => events.push(e));
  return events;
}

/** Events without progress, reduced to "type:key" / "type(state)". */
function brief(events: StoreEvent[]): string[] {
  return events
    .filter((e) => !e.type.startsWith('progress'))
    .map((e) => {
      if (e.type === 'transactionEnd') return `transactionEnd(${e.state})`;
      if (e.type === 'transactionStart') return 'transactionStart';
      return `${e.type}:${e.key}`;
    });
}

function nowSeconds(): number {
  return Date.now() / 1000;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function runConformance(name: string, makeStore: () => Promise<StoreFixture>): void {
  describe(`Store conformance: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;
    let scratch: string;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
      await fill(store);
      scratch = await mkdtemp(join(tmpdir(), 'qb-conf-'));
    });

    afterEach(async () => {
      await fixture.cleanup();
      await rm(scratch, { recursive: true, force: true });
    });

    describe('info and connection', () => {
      it('reports a writable store of a known kind', () => {
        const info = store.info();
        expect(info.readonly).toBe(false);
        expect(['memory', 'sqlite', 'file', 'mounted']).toContain(info.kind);
      });

      it('works without connect(); connect/disconnect flip isConnected', async () => {
        expect(store.isConnected()).toBe(false);
        await store.connect();
        expect(store.isConnected()).toBe(true);
        expect(await store.exists('test1')).toBe(true);
        await store.disconnect();
        expect(store.isConnected()).toBe(false);
      });
    });

    describe('reads', () => {
      it('get returns data, metadata, size, key and timestamps', async () => {
        const v = await store.get('test1');
        expect(v.key).toBe('test1');
        expect(v.data).toEqual(Buffer.from('test2\n'));
        expect(v.metadata).toEqual(TEST1_METADATA);
        expect(v.size).toBe(6);
        expect(typeof v.created).toBe('number');
        expect(v.modified).toBeGreaterThanOrEqual(v.created);
      });

      it('get returns copies', async () => {
        const a = await store.get('test1');
        (a.metadata.a_list as string[]).push('four');
        a.metadata.extra = 1;
        a.data[0] = 0x58;
        const b = await store.get('test1');
        expect(b.metadata).toEqual(TEST1_METADATA);
        expect(b.data.toString()).toBe('test2\n');
      });

      it('getData and toBytes return the bytes, as copies', async () => {
        const d = await store.getData('test1');
        expect(d.toString()).toBe('test2\n');
        d.fill(0);
        expect((await store.toBytes('test1')).toString()).toBe('test2\n');
      });

      it('readData returns the bytes; a later set does not change what it returned', async () => {
        await store.set('readdata/k', Buffer.from('one'), { n: 1 });
        const before = await store.readData('readdata/k');
        expect(before.toString()).toBe('one');
        await store.set('readdata/k', Buffer.from('two'), { n: 2 });
        expect(before.toString()).toBe('one');
        expect((await store.readData('readdata/k')).toString()).toBe('two');
        await expect(store.readData('readdata/missing')).rejects.toMatchObject({ name: 'KeyNotFound' });
        await store.delete('readdata/k');
      });

      it('peekMetadata and peek read what is stored, undefined when missing, and keep what they returned', async () => {
        await store.set('peek/k', Buffer.from('one'), { n: 1, tags: ['a'] });
        const md = await store.peekMetadata('peek/k');
        expect(md).toEqual({ n: 1, tags: ['a'] });
        const view = await store.peek('peek/k');
        expect(view?.data.toString()).toBe('one');
        expect(view?.metadata).toEqual({ n: 1, tags: ['a'] });
        await store.set('peek/k', Buffer.from('two'), { n: 2 });
        await store.updateMetadata('peek/k', { m: 3 });
        // What was returned is a snapshot: later writes replace, never change it.
        expect(md).toEqual({ n: 1, tags: ['a'] });
        expect(view?.data.toString()).toBe('one');
        expect(view?.metadata).toEqual({ n: 1, tags: ['a'] });
        expect(await store.peekMetadata('peek/k')).toEqual({ n: 2, m: 3 });
        expect((await store.peek('peek/k'))?.data.toString()).toBe('two');
        await store.delete('peek/k');
        expect(await store.peekMetadata('peek/k')).toBeUndefined();
        expect(await store.peek('peek/k')).toBeUndefined();
        // A bad key is a rejection, never a synchronous throw.
        const bad = store.peekMetadata('../x');
        await expect(bad).rejects.toBeInstanceOf(InvalidKey);
        await expect(store.peek('')).rejects.toBeInstanceOf(InvalidKey);
      });

      it('getDataRange is a slice with an exclusive end', async () => {
        expect((await store.getDataRange('test1', 1, 3)).toString()).toBe('es');
        expect((await store.getDataRange('test1')).toString()).toBe('test2\n');
        expect((await store.getDataRange('test1', 0)).toString()).toBe('test2\n');
        expect((await store.getDataRange('test1', undefined, 3)).toString()).toBe('tes');
        expect((await store.getDataRange('test1', 2)).toString()).toBe('st2\n');
      });

      it('getDataRange edges: 0, size, beyond size clamp', async () => {
        expect((await store.getDataRange('test1', 0, 0)).length).toBe(0);
        expect((await store.getDataRange('test1', 0, 6)).toString()).toBe('test2\n');
        expect((await store.getDataRange('test1', 6)).length).toBe(0);
        expect((await store.getDataRange('test1', 6, 6)).length).toBe(0);
        expect((await store.getDataRange('test1', 2, 100)).toString()).toBe('st2\n');
        expect((await store.getDataRange('test1', 100)).length).toBe(0);
        expect((await store.getDataRange('test1', 100, 200)).length).toBe(0);
        expect((await store.getDataRange('test1', 5, 5)).length).toBe(0);
      });

      it('getDataRange rejects start > end, negative and non-integer offsets', async () => {
        await expect(store.getDataRange('test1', 3, 1)).rejects.toBeInstanceOf(InvalidArgument);
        await expect(store.getDataRange('test1', 200, 100)).rejects.toBeInstanceOf(InvalidArgument);
        await expect(store.getDataRange('test1', -1)).rejects.toBeInstanceOf(InvalidArgument);
        await expect(store.getDataRange('test1', 0, -1)).rejects.toBeInstanceOf(InvalidArgument);
        await expect(store.getDataRange('test1', 1.5)).rejects.toBeInstanceOf(InvalidArgument);
        await expect(store.getDataRange('test1', Number.NaN)).rejects.toBeInstanceOf(InvalidArgument);
      });

      it('getDataRange returns a copy', async () => {
        const r = await store.getDataRange('test1', 0, 4);
        r.fill(0);
        expect((await store.getData('test1')).toString()).toBe('test2\n');
      });

      it('getMetadata returns the whole metadata, or the selected names that exist', async () => {
        expect(await store.getMetadata('test1')).toEqual(TEST1_METADATA);
        expect(await store.getMetadata('test1', ['a_str', 'an_int'])).toEqual({ a_str: 'test3', an_int: 1 });
        expect(await store.getMetadata('test1', ['a_str', 'missing'])).toEqual({ a_str: 'test3' });
        expect(await store.getMetadata('test1', [])).toEqual({});
      });

      it('getMetadata returns copies', async () => {
        const md = await store.getMetadata('test1');
        (md.a_dict as Record<string, number>).one = 100;
        const sel = await store.getMetadata('test1', ['a_list']);
        (sel.a_list as string[]).length = 0;
        expect(await store.getMetadata('test1')).toEqual(TEST1_METADATA);
      });

      it('exists', async () => {
        expect(await store.exists('test1')).toBe(true);
        expect(await store.exists('test2')).toBe(false);
        expect(await store.exists('key0')).toBe(true);
      });

      it('multiget returns values in the order of the keys', async () => {
        const keys = ['key3', 'key1', 'test1'];
        const values = await store.multiget(keys);
        expect(values.map((v) => v.key)).toEqual(keys);
        expect(values.map((v) => v.data.toString())).toEqual(['value3', 'value1', 'test2\n']);
        expect(values.map((v) => v.size)).toEqual([6, 6, 6]);
        expect(values[0].metadata).toEqual(keyMetadata(3));
        expect(await store.multiget([])).toEqual([]);
      });

      it('multigetData and multigetMetadata (with select)', async () => {
        expect((await store.multigetData(KEYS)).map((b) => b.toString())).toEqual(KEYS.map((_, i) => `value${i}`));
        expect(await store.multigetMetadata(KEYS)).toEqual(KEYS.map((_, i) => keyMetadata(i)));
        expect(await store.multigetMetadata(['key0', 'key1'], ['query_test2', 'optional'])).toEqual([
          { query_test2: 0, optional: true },
          { query_test2: 1 },
        ]);
      });

      it('missing keys raise KeyNotFound on every read path', async () => {
        await expect(store.get('nope')).rejects.toBeInstanceOf(KeyNotFound);
        await expect(store.getData('nope')).rejects.toBeInstanceOf(KeyNotFound);
        await expect(store.getDataRange('nope', 0, 1)).rejects.toBeInstanceOf(KeyNotFound);
        await expect(store.getMetadata('nope')).rejects.toBeInstanceOf(KeyNotFound);
        await expect(store.getMetadata('nope', ['a'])).rejects.toBeInstanceOf(KeyNotFound);
        await expect(store.toBytes('nope')).rejects.toBeInstanceOf(KeyNotFound);
        await expect(store.toFile('nope', join(scratch, 'out'))).rejects.toBeInstanceOf(KeyNotFound);
        await expect(store.multiget(['key0', 'nope'])).rejects.toBeInstanceOf(KeyNotFound);
        await expect(store.multigetData(['nope'])).rejects.toBeInstanceOf(KeyNotFound);
        await expect(store.multigetMetadata(['key1', 'nope'])).rejects.toBeInstanceOf(KeyNotFound);
      });
    });

    describe('query', () => {
      it('matches exactly and returns [key, metadata] pairs', async () => {
        expect(await store.query({ a_str: 'test3' })).toEqual([['test1', TEST1_METADATA]]);
        expect(await store.query({ query_test1: 'value' })).toEqual(KEYS.map((k, i) => [k, keyMetadata(i)]));
        for (let i = 0; i < 10; i++) expect(await store.query({ query_test2: i })).toEqual([[`key${i}`, keyMetadata(i)]]);
        expect(await store.query({ a_str: 'nothing' })).toEqual([]);
      });

      it('combines several names with AND', async () => {
        expect(await store.queryKeys({ query_test1: 'value', optional: true })).toEqual(['key0', 'key2', 'key4', 'key6', 'key8']);
        expect(await store.queryKeys({ query_test1: 'value', query_test2: 3 })).toEqual(['key3']);
        expect(await store.queryKeys({ query_test1: 'value', query_test2: 3, optional: true })).toEqual([]);
      });

      it('an empty query matches every key', async () => {
        expect(await store.queryKeys({})).toEqual(ALL_FIXTURE_KEYS);
        expect((await store.query({})).map(([k]) => k)).toEqual(ALL_FIXTURE_KEYS);
      });

      it('select projects the returned metadata and leaves out missing names', async () => {
        expect(await store.query({ a_str: 'test3' }, ['a_str', 'an_int'])).toEqual([['test1', { a_str: 'test3', an_int: 1 }]]);
        expect(await store.query({ query_test1: 'value' }, ['optional'])).toEqual(
          KEYS.map((k, i) => [k, i % 2 === 0 ? { optional: true } : {}]),
        );
      });

      it('returns copies', async () => {
        const [[, md]] = await store.query({ a_str: 'test3' });
        md.a_str = 'changed';
        (md.a_list as string[]).pop();
        expect(await store.query({ a_str: 'test3' })).toEqual([['test1', TEST1_METADATA]]);
      });

      it('uses JSON deep equality: member order ignored, array order and types respected', async () => {
        expect(await store.queryKeys({ a_dict: { three: 3, two: 2, one: 1 } })).toEqual(['test1']);
        expect(await store.queryKeys({ a_list: ['one', 'two', 'three'] })).toEqual(['test1']);
        expect(await store.queryKeys({ a_list: ['three', 'two', 'one'] })).toEqual([]);
        expect(await store.queryKeys({ a_dict: { one: 1 } })).toEqual([]);
        expect(await store.queryKeys({ an_int: true })).toEqual([]);
        expect(await store.queryKeys({ a_bool: 1 })).toEqual([]);
        expect(await store.queryKeys({ an_int: '1' })).toEqual([]);
        expect(await store.queryKeys({ a_float: 2.5 })).toEqual(['test1']);
        expect(await store.queryKeys({ meta1: -3 })).toEqual(['existing_key3']);
      });

      it('{x: null} matches only a stored null, not a missing name', async () => {
        await store.set('with_null', Buffer.from(''), { x: null });
        await store.set('with_zero', Buffer.from(''), { x: 0 });
        expect(await store.queryKeys({ x: null })).toEqual(['with_null']);
        expect(await store.query({ x: null })).toEqual([['with_null', { x: null }]]);
      });

      it('queryKeys returns sorted keys', async () => {
        expect(await store.queryKeys({ a_str: 'test3' })).toEqual(['test1']);
        expect(await store.queryKeys({ query_test1: 'value' })).toEqual(KEYS);
        expect(await store.queryKeys({ query_test2: 7 })).toEqual(['key7']);
        expect(await store.queryKeys({ query_test2: 70 })).toEqual([]);
      });

      it('sees writes, overwrites and deletes', async () => {
        await store.setMetadata('key1', { query_test1: 'other' });
        await store.updateMetadata('key2', { query_test1: 'other' });
        await store.delete('key3');
        expect(await store.queryKeys({ query_test1: 'value' })).toEqual(['key0', 'key4', 'key5', 'key6', 'key7', 'key8', 'key9']);
        expect(await store.queryKeys({ query_test1: 'other' })).toEqual(['key1', 'key2']);
      });

      it('rejects a non-object query', async () => {
        await expect(store.query('a' as unknown as Metadata)).rejects.toBeInstanceOf(InvalidArgument);
        await expect(store.queryKeys([1] as unknown as Metadata)).rejects.toBeInstanceOf(InvalidArgument);
        await expect(store.query({ a: undefined })).rejects.toBeInstanceOf(InvalidArgument);
      });
    });

    describe('glob', () => {
      beforeEach(async () => {
        for (const k of ['.hidden', 'dir/.dot', 'dir/plain', 'dir/sub/deep', 'dir/sub/.deepdot', 'br[1]', 'brx', 'q/a.txt', 'q/b.json']) {
          await store.set(k, Buffer.from(k), { glob: true });
        }
      });

      it('* stays within a segment and matches dotfiles', async () => {
        expect(await store.glob('key*')).toEqual(KEYS);
        expect(await store.glob('dir/*')).toEqual(['dir/.dot', 'dir/plain']);
        const top = await store.glob('*');
        expect(top).toContain('.hidden');
        expect(top).toContain('test1');
        expect(top.some((k) => k.includes('/'))).toBe(false);
      });

      it('** crosses segments and matches dotfiles at any depth', async () => {
        const all = await store.glob('**');
        expect(all).toEqual([...ALL_FIXTURE_KEYS, '.hidden', 'dir/.dot', 'dir/plain', 'dir/sub/deep', 'dir/sub/.deepdot', 'br[1]', 'brx', 'q/a.txt', 'q/b.json'].sort(
          (a, b) => (a < b ? -1 : a > b ? 1 : 0),
        ));
        expect(await store.glob('dir/**')).toEqual(['dir/.dot', 'dir/plain', 'dir/sub/.deepdot', 'dir/sub/deep']);
        expect(await store.glob('**/.*')).toEqual(['.hidden', 'dir/.dot', 'dir/sub/.deepdot']);
        expect(await store.glob('**/*.txt')).toEqual(['q/a.txt']);
      });

      it('? matches exactly one character, never /', async () => {
        expect(await store.glob('key?')).toEqual(KEYS);
        expect(await store.glob('test?')).toEqual(['test1']);
        expect(await store.glob('existing_key?')).toEqual(EXISTING);
        expect(await store.glob('dir?plain')).toEqual([]);
        expect(await store.glob('key??')).toEqual([]);
      });

      it('brackets: ranges, negation, and escaped literal brackets', async () => {
        expect(await store.glob('key[0-2]')).toEqual(['key0', 'key1', 'key2']);
        expect(await store.glob('key[!0-7]')).toEqual(['key8', 'key9']);
        expect(await store.glob('key[^0-7]')).toEqual(['key8', 'key9']);
        expect(await store.glob('key[13]')).toEqual(['key1', 'key3']);
        expect(await store.glob('br\\[1\\]')).toEqual(['br[1]']);
        expect(await store.glob('br[x]')).toEqual(['brx']);
      });

      it('braces, exact names, no match', async () => {
        expect(await store.glob('{test1,key0}')).toEqual(['key0', 'test1']);
        expect(await store.glob('q/*.{txt,json}')).toEqual(['q/a.txt', 'q/b.json']);
        expect(await store.glob('test1')).toEqual(['test1']);
        expect(await store.glob('nothing*')).toEqual([]);
        expect(await store.glob('Test1')).toEqual([]);
      });

      it('reflects deletes and rejects an empty pattern', async () => {
        await store.delete('key5');
        expect(await store.glob('key*')).toEqual(KEYS.filter((k) => k !== 'key5'));
        await expect(store.glob('')).rejects.toBeInstanceOf(InvalidArgument);
      });
    });

    describe('writes', () => {
      it('set stores data and metadata and stamps modified', async () => {
        const before = nowSeconds();
        await store.set('test3', Buffer.from('test4'), { a_str: 'test5' });
        const after = nowSeconds();
        const v = await store.get('test3');
        expect(v.data.toString()).toBe('test4');
        expect(v.metadata).toEqual({ a_str: 'test5' });
        expect(v.size).toBe(5);
        expect(v.modified).toBeGreaterThanOrEqual(before - 0.001);
        expect(v.modified).toBeLessThanOrEqual(after + 0.001);
        expect(v.created).toBe(v.modified);
      });

      it('set keeps created on overwrite and moves modified', async () => {
        const first = await store.get('test1');
        await sleep(15);
        await store.set('test1', Buffer.from('new'), { n: 1 });
        const second = await store.get('test1');
        expect(second.created).toBe(first.created);
        expect(second.modified).toBeGreaterThan(first.modified);
        expect(second.metadata).toEqual({ n: 1 });
      });

      it('set copies the caller data and metadata', async () => {
        const data = Buffer.from('abc');
        const md = { list: [1, 2], nested: { a: 1 } };
        await store.set('copied', data, md);
        data.fill(0x7a);
        md.list.push(3);
        md.nested.a = 2;
        expect((await store.getData('copied')).toString()).toBe('abc');
        expect(await store.getMetadata('copied')).toEqual({ list: [1, 2], nested: { a: 1 } });
      });

      it('set accepts any Uint8Array and empty values', async () => {
        await store.set('u8', new Uint8Array([1, 2, 3]) as Buffer, {});
        expect([...(await store.getData('u8'))]).toEqual([1, 2, 3]);
        await store.set('empty', Buffer.alloc(0), {});
        expect((await store.get('empty')).size).toBe(0);
        expect((await store.getDataRange('empty', 0, 10)).length).toBe(0);
      });

      it('set of a large value round-trips', async () => {
        const big = Buffer.alloc(5 * 1024 * 1024 + 3);
        for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
        await store.set('large', big, { big: true });
        const back = await store.getData('large');
        expect(back.length).toBe(big.length);
        expect(back.equals(big)).toBe(true);
        expect((await store.getDataRange('large', big.length - 10)).equals(big.subarray(big.length - 10))).toBe(true);
      });

      it('setData replaces the data and keeps the metadata', async () => {
        const before = nowSeconds();
        await store.setData('test1', Buffer.from('replaced'));
        const v = await store.get('test1');
        expect(v.data.toString()).toBe('replaced');
        expect(v.metadata).toEqual(TEST1_METADATA);
        expect(v.modified).toBeGreaterThanOrEqual(before - 0.001);
      });

      it('setData on a new key creates it with metadata {}', async () => {
        await store.setData('fresh', Buffer.from('x'));
        expect(await store.getMetadata('fresh')).toEqual({});
        expect((await store.getData('fresh')).toString()).toBe('x');
      });

      it('setMetadata replaces the metadata and keeps the data', async () => {
        await store.setMetadata('test1', { only: 'this' });
        expect(await store.getMetadata('test1')).toEqual({ only: 'this' });
        expect((await store.getData('test1')).toString()).toBe('test2\n');
      });

      it('setMetadata on a new key creates it with empty data', async () => {
        await store.setMetadata('fresh', { a: 1 });
        expect((await store.getData('fresh')).length).toBe(0);
        expect(await store.getMetadata('fresh')).toEqual({ a: 1 });
      });

      it('setMetadata copies the caller metadata', async () => {
        const md = { a: [1] };
        await store.setMetadata('test1', md);
        md.a.push(2);
        expect(await store.getMetadata('test1')).toEqual({ a: [1] });
      });

      it('updateMetadata merges shallowly, keeps data and created, moves modified', async () => {
        const first = await store.get('test1');
        await sleep(15);
        await store.updateMetadata('test1', { a_str: 'new', added: { x: 1 }, a_dict: { only: 1 } });
        const v = await store.get('test1');
        expect(v.metadata).toEqual({ ...TEST1_METADATA, a_str: 'new', added: { x: 1 }, a_dict: { only: 1 } });
        expect(v.data.toString()).toBe('test2\n');
        expect(v.created).toBe(first.created);
        expect(v.modified).toBeGreaterThan(first.modified);
      });

      it('delete removes the key', async () => {
        await store.delete('test1');
        expect(await store.exists('test1')).toBe(false);
        await expect(store.get('test1')).rejects.toBeInstanceOf(KeyNotFound);
        expect(await store.glob('test*')).toEqual([]);
        expect(await store.queryKeys({ a_str: 'test3' })).toEqual([]);
        await store.set('test1', Buffer.from('again'), {});
        expect((await store.getData('test1')).toString()).toBe('again');
      });

      it('missing keys raise KeyNotFound on delete and update paths', async () => {
        await expect(store.delete('nope')).rejects.toBeInstanceOf(KeyNotFound);
        await expect(store.updateMetadata('nope', { a: 1 })).rejects.toBeInstanceOf(KeyNotFound);
        await expect(store.multiupdateMetadata(['key0', 'nope'], [{ a: 1 }, { a: 2 }])).rejects.toBeInstanceOf(KeyNotFound);
        expect(await store.exists('nope')).toBe(false);
      });

      it('fromBytes sets the data and keeps existing metadata', async () => {
        await store.fromBytes('test1', Buffer.from('from bytes'));
        expect((await store.toBytes('test1')).toString()).toBe('from bytes');
        expect(await store.getMetadata('test1')).toEqual(TEST1_METADATA);
        await store.fromBytes('nb', Buffer.from('new'));
        expect(await store.getMetadata('nb')).toEqual({});
      });

      it('fromFile and toFile', async () => {
        const src = join(scratch, 'in.bin');
        await writeFile(src, 'test5');
        await store.fromFile('test1', src);
        expect((await store.toBytes('test1')).toString()).toBe('test5');
        expect(await store.getMetadata('test1')).toEqual(TEST1_METADATA);
        await store.fromFile('from_file_new', src);
        expect(await store.getMetadata('from_file_new')).toEqual({});
        const dst = join(scratch, 'out.bin');
        await store.toFile('key3', dst);
        expect(await readFile(dst, 'utf8')).toBe('value3');
      });

      it('fromFile of a missing path is InvalidArgument and changes nothing', async () => {
        await expect(store.fromFile('test1', join(scratch, 'missing'))).rejects.toBeInstanceOf(InvalidArgument);
        expect((await store.getData('test1')).toString()).toBe('test2\n');
      });

      it('rejects metadata that is not a JSON object with InvalidValue', async () => {
        const bad: unknown[] = [null, undefined, 'str', 3, [1, 2], new Date(), { f: () => 1 }, { n: Number.NaN }, { i: Infinity }, { d: new Date() }, { u: undefined }, { b: 1n }];
        for (const md of bad) {
          await expect(store.set('bad', Buffer.from(''), md as Metadata)).rejects.toBeInstanceOf(InvalidValue);
          await expect(store.setMetadata('test1', md as Metadata)).rejects.toBeInstanceOf(InvalidValue);
          await expect(store.updateMetadata('test1', md as Metadata)).rejects.toBeInstanceOf(InvalidValue);
        }
        expect(await store.exists('bad')).toBe(false);
        expect(await store.getMetadata('test1')).toEqual(TEST1_METADATA);
      });

      it('rejects data that is not bytes with InvalidValue', async () => {
        await expect(store.set('bad', 'text' as unknown as Buffer, {})).rejects.toBeInstanceOf(InvalidValue);
        await expect(store.setData('bad', null as unknown as Buffer)).rejects.toBeInstanceOf(InvalidValue);
        await expect(store.fromBytes('bad', [1, 2] as unknown as Buffer)).rejects.toBeInstanceOf(InvalidValue);
        expect(await store.exists('bad')).toBe(false);
      });

      it('rejects keys that could escape a root with InvalidKey, on reads and writes', async () => {
        const bad = ['', '/abs', '../up', 'a/../b', '..', '.', 'a/./b', 'a//b', 'a/', 'a\\b', 'a\0b', 42];
        for (const key of bad) {
          const k = key as string;
          await expect(store.set(k, Buffer.from('x'), {})).rejects.toBeInstanceOf(InvalidKey);
          await expect(store.setData(k, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKey);
          await expect(store.get(k)).rejects.toBeInstanceOf(InvalidKey);
          await expect(store.exists(k)).rejects.toBeInstanceOf(InvalidKey);
          await expect(store.delete(k)).rejects.toBeInstanceOf(InvalidKey);
        }
        await expect(store.multiset(['ok', '../x'], [Buffer.from('1'), Buffer.from('2')], [{}, {}])).rejects.toBeInstanceOf(InvalidKey);
        expect(await store.exists('ok')).toBe(false);
      });

      it('accepts nested keys and dotfile names', async () => {
        await store.set('a/b/c.txt', Buffer.from('deep'), { d: 1 });
        await store.set('.config/x', Buffer.from('dot'), {});
        await store.set('sp ace/ünï/日本', Buffer.from('u'), {});
        expect((await store.getData('a/b/c.txt')).toString()).toBe('deep');
        expect(await store.glob('a/**')).toEqual(['a/b/c.txt']);
        expect(await store.exists('sp ace/ünï/日本')).toBe(true);
        await store.delete('a/b/c.txt');
        expect(await store.exists('a/b/c.txt')).toBe(false);
        await store.set('a/b', Buffer.from('now a leaf'), {});
        expect((await store.getData('a/b')).toString()).toBe('now a leaf');
      });
    });

    describe('multi-key writes', () => {
      it('multiset creates keys', async () => {
        const keys = Array.from({ length: 10 }, (_, i) => `new_key${i}`);
        await store.multiset(keys, keys.map((_, i) => Buffer.from(`new_value${i}`)), keys.map((_, i) => ({ m: i })));
        expect((await store.multigetData(keys)).map(String)).toEqual(keys.map((_, i) => `new_value${i}`));
        expect(await store.multigetMetadata(keys)).toEqual(keys.map((_, i) => ({ m: i })));
      });

      it('multiset overwrites existing keys', async () => {
        await store.multiset(EXISTING, EXISTING.map((_, i) => Buffer.from(`over${i}`)), EXISTING.map((_, i) => ({ over: i })));
        expect((await store.multigetData(EXISTING)).map(String)).toEqual(EXISTING.map((_, i) => `over${i}`));
        expect(await store.multigetMetadata(EXISTING)).toEqual(EXISTING.map((_, i) => ({ over: i })));
      });

      it('multisetData keeps metadata; multisetMetadata keeps data', async () => {
        await store.multisetData(EXISTING, EXISTING.map((_, i) => Buffer.from(`d${i}`)));
        expect((await store.multigetData(EXISTING)).map(String)).toEqual(EXISTING.map((_, i) => `d${i}`));
        expect(await store.multigetMetadata(EXISTING)).toEqual(EXISTING.map((_, i) => existingMetadata(i)));
        await store.multisetMetadata(EXISTING, EXISTING.map((_, i) => ({ m: i })));
        expect(await store.multigetMetadata(EXISTING)).toEqual(EXISTING.map((_, i) => ({ m: i })));
        expect((await store.multigetData(EXISTING)).map(String)).toEqual(EXISTING.map((_, i) => `d${i}`));
      });

      it('multiupdateMetadata merges into each key', async () => {
        await store.multiupdateMetadata(EXISTING, EXISTING.map((_, i) => ({ meta1: i, extra: `e${i}` })));
        expect(await store.multigetMetadata(EXISTING)).toEqual(EXISTING.map((_, i) => ({ meta: true, meta1: i, extra: `e${i}` })));
      });

      it('zip semantics: extra items on any side are ignored', async () => {
        await store.multiset(['z1', 'z2', 'z3'], [Buffer.from('1'), Buffer.from('2')], [{}, {}, {}, {}]);
        expect(await store.glob('z*')).toEqual(['z1', 'z2']);
        await store.multisetData(['z1'], [Buffer.from('a'), Buffer.from('b')]);
        expect((await store.getData('z1')).toString()).toBe('a');
        await store.multisetMetadata(['z1', 'z2', 'z9'], [{ q: 1 }, { q: 2 }]);
        expect(await store.exists('z9')).toBe(false);
        await store.multiupdateMetadata(['z1', 'nope'], [{ r: 1 }]);
        expect(await store.getMetadata('z1')).toEqual({ q: 1, r: 1 });
        await store.multiset([], [], []);
      });

      it('a key repeated in one multi-key write: the last item wins', async () => {
        const events = record(store);
        await store.multiset(
          ['dup', 'other', 'dup', 'key0', 'key0'],
          [Buffer.from('1'), Buffer.from('o'), Buffer.from('2'), Buffer.from('a'), Buffer.from('b')],
          [{ v: 1, keep: 'x' }, { v: 1 }, { v: 2 }, { v: 1 }, { query_test1: 'value', v: 2 }],
        );
        expect((await store.getData('dup')).toString()).toBe('2');
        expect(await store.getMetadata('dup')).toEqual({ v: 2 });
        expect((await store.getData('key0')).toString()).toBe('b');
        expect(await store.queryKeys({ v: 1 })).toEqual(['other']);
        expect(await store.queryKeys({ v: 2 })).toEqual(['dup', 'key0']);
        expect(await store.queryKeys({ keep: 'x' })).toEqual([]);
        expect(await store.queryKeys({ query_test1: 'value' })).toEqual(KEYS);
        expect(brief(events)).toEqual(['transactionStart', 'set:dup', 'set:other', 'update:dup', 'update:key0', 'update:key0', 'transactionEnd(done)']);
        await store.multisetMetadata(['dup', 'dup'], [{ w: 1 }, { w: 2 }]);
        await store.multiupdateMetadata(['dup', 'dup'], [{ x: 1 }, { y: 1 }]);
        expect(await store.getMetadata('dup')).toEqual({ w: 2, x: 1, y: 1 });
        expect(await store.queryKeys({ w: 1 })).toEqual([]);
        expect(await store.queryKeys({ w: 2, x: 1, y: 1 })).toEqual(['dup']);
      });

      it('a failing multi-key write changes nothing', async () => {
        await expect(
          store.multiupdateMetadata(['existing_key0', 'existing_key1', 'nope'], [{ x: 1 }, { x: 2 }, { x: 3 }]),
        ).rejects.toBeInstanceOf(KeyNotFound);
        expect(await store.multigetMetadata(['existing_key0', 'existing_key1'])).toEqual([
          existingMetadata(0),
          existingMetadata(1),
        ]);
        await expect(
          store.multiset(['m1', 'm2'], [Buffer.from('1'), Buffer.from('2')], [{}, 'bad' as unknown as Metadata]),
        ).rejects.toBeInstanceOf(InvalidValue);
        expect(await store.exists('m1')).toBe(false);
      });

      it('multi-key writes reject non-array arguments', async () => {
        await expect(store.multiset('k' as unknown as string[], [], [])).rejects.toBeInstanceOf(InvalidArgument);
        await expect(store.multisetData(['k'], 'x' as unknown as Buffer[])).rejects.toBeInstanceOf(InvalidArgument);
        await expect(store.multisetMetadata(['k'], {} as unknown as Metadata[])).rejects.toBeInstanceOf(InvalidArgument);
      });
    });

    describe('events', () => {
      it('set on a new key emits set, on an existing key update, with the metadata', async () => {
        const events = record(store);
        await store.set('test3', Buffer.from('x'), { a: 1 });
        await store.set('test3', Buffer.from('y'), { a: 2 });
        await store.setData('test4', Buffer.from('z'));
        await store.setMetadata('test1', { b: 1 });
        expect(events).toEqual([
          { type: 'set', key: 'test3', metadata: { a: 1 } },
          { type: 'update', key: 'test3', metadata: { a: 2 } },
          { type: 'set', key: 'test4', metadata: {} },
          { type: 'update', key: 'test1', metadata: { b: 1 } },
        ]);
      });

      it('setData reports the kept metadata; updateMetadata the merged metadata', async () => {
        const events = record(store);
        await store.setData('key1', Buffer.from('v'));
        await store.updateMetadata('key1', { extra: true });
        expect(events).toEqual([
          { type: 'update', key: 'key1', metadata: keyMetadata(1) },
          { type: 'update', key: 'key1', metadata: { ...keyMetadata(1), extra: true } },
        ]);
      });

      it('delete emits delete with the old metadata', async () => {
        const events = record(store);
        await store.delete('key2');
        expect(events).toEqual([{ type: 'delete', key: 'key2', metadata: keyMetadata(2) }]);
      });

      it('failed writes emit nothing', async () => {
        const events = record(store);
        await expect(store.delete('nope')).rejects.toThrow();
        await expect(store.updateMetadata('nope', {})).rejects.toThrow();
        await expect(store.set('bad', Buffer.from(''), null as unknown as Metadata)).rejects.toThrow();
        expect(events).toEqual([]);
      });

      it('event metadata is a copy', async () => {
        store.on((e) => {
          if (e.type === 'set') e.metadata.mutated = true;
        });
        await store.set('ev', Buffer.from(''), { a: 1 });
        expect(await store.getMetadata('ev')).toEqual({ a: 1 });
      });

      it('unsubscribe stops delivery; a throwing listener does not break the store', async () => {
        const events: StoreEvent[] = [];
        store.on(() => {
          throw new Error('listener failure');
        });
        const off = store.on((e) => events.push(e));
        await store.set('e1', Buffer.from(''), {});
        off();
        off();
        await store.set('e2', Buffer.from(''), {});
        expect(brief(events)).toEqual(['set:e1']);
        expect(await store.exists('e2')).toBe(true);
      });

      it('multiset emits its events inside one transaction', async () => {
        const events = record(store);
        await store.multiset(['key0', 'm1'], [Buffer.from('a'), Buffer.from('b')], [{}, { m: 1 }]);
        expect(brief(events)).toEqual(['transactionStart', 'update:key0', 'set:m1', 'transactionEnd(done)']);
      });

      it('progress events for a large value in set, fromFile and toFile', async () => {
        const events = record(store);
        const size = 3 * 1024 * 1024 + 17;
        const big = Buffer.alloc(size, 7);
        await store.set('big', big, { p: 1 });
        const src = join(scratch, 'big.bin');
        await writeFile(src, big);
        await store.fromFile('big2', src);
        await store.toFile('big', join(scratch, 'big.out'));
        expect((await readFile(join(scratch, 'big.out'))).equals(big)).toBe(true);

        // Split into operations by operationId, in order of their start.
        const starts = events.filter((e) => e.type === 'progressStart');
        expect(starts.map((e) => e.key)).toEqual(['big', 'big2', 'big']);
        for (const start of starts) {
          if (start.type !== 'progressStart') throw new Error('unreachable');
          expect(start.operationId).toMatch(UUID_V4);
          expect(start.steps).toBe(size);
          const op = events.filter((e) => 'operationId' in e && e.operationId === start.operationId);
          expect(op[0]).toBe(start);
          const steps = op.filter((e) => e.type === 'progressStep').map((e) => (e.type === 'progressStep' ? e.step : -1));
          expect(steps.length).toBeGreaterThanOrEqual(1);
          expect(steps[steps.length - 1]).toBe(size);
          for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThan(steps[i - 1]);
          expect(op[op.length - 1]).toEqual({ type: 'progressEnd', operationId: start.operationId, key: start.key, exitState: 'normal' });
          expect(op.every((e) => 'key' in e && e.key === start.key)).toBe(true);
        }
        // The set event follows the progress of its value.
        const setIndex = events.findIndex((e) => e.type === 'set' && e.key === 'big');
        const endIndex = events.findIndex((e) => e.type === 'progressEnd');
        expect(setIndex).toBeGreaterThan(endIndex);
        expect(brief(events)).toEqual(['set:big', 'set:big2']);
      });

      it('small values emit no progress events', async () => {
        const events = record(store);
        await store.set('small', Buffer.alloc(1000), {});
        expect(events.map((e) => e.type)).toEqual(['set']);
      });
    });

    describe('transactions', () => {
      it('transaction() commits and returns the function result', async () => {
        const events = record(store);
        const result = await store.transaction('commit test', async () => {
          await store.set('t1', Buffer.from('1'), { t: 1 });
          await store.delete('key0');
          await store.updateMetadata('key1', { u: true });
          return 42;
        });
        expect(result).toBe(42);
        expect(await store.exists('t1')).toBe(true);
        expect(await store.exists('key0')).toBe(false);
        expect(await store.getMetadata('key1')).toEqual({ ...keyMetadata(1), u: true });
        expect(events[0]).toEqual({ type: 'transactionStart', notes: 'commit test' });
        expect(events[events.length - 1]).toEqual({ type: 'transactionEnd', notes: 'commit test', state: 'done' });
        expect(brief(events)).toEqual(['transactionStart', 'set:t1', 'delete:key0', 'update:key1', 'transactionEnd(done)']);
      });

      it('events are held back until the outermost commit', async () => {
        const events = record(store);
        await store.transaction('held', async () => {
          await store.set('t1', Buffer.from('1'), {});
          expect(brief(events)).toEqual(['transactionStart']);
        });
        expect(brief(events)).toEqual(['transactionStart', 'set:t1', 'transactionEnd(done)']);
      });

      it('a failed transaction rolls back every change and rethrows', async () => {
        const before = await store.get('key1');
        const events = record(store);
        const boom = new Error('boom');
        await expect(
          store.transaction('rollback test', async () => {
            await store.set('t_new', Buffer.from('new'), { n: 1 });
            await store.set('key1', Buffer.from('changed'), { changed: true });
            await store.setData('key2', Buffer.from('changed'));
            await store.setMetadata('key3', { changed: true });
            await store.updateMetadata('key4', { changed: true });
            await store.delete('key5');
            await store.delete('t_new');
            await store.set('t_new', Buffer.from('again'), {});
            await store.multiset(['key6', 'm'], [Buffer.from('x'), Buffer.from('y')], [{}, {}]);
            expect(await store.exists('key5')).toBe(false);
            throw boom;
          }),
        ).rejects.toBe(boom);
        expect(await store.exists('t_new')).toBe(false);
        expect(await store.exists('m')).toBe(false);
        expect(await store.get('key1')).toEqual(before);
        for (let i = 1; i <= 6; i++) {
          expect((await store.getData(`key${i}`)).toString()).toBe(`value${i}`);
          expect(await store.getMetadata(`key${i}`)).toEqual(keyMetadata(i));
        }
        expect(await store.queryKeys({ query_test1: 'value' })).toEqual(KEYS);
        expect(await store.queryKeys({ changed: true })).toEqual([]);
        expect(await store.glob('**')).toEqual(ALL_FIXTURE_KEYS);
        expect(events).toEqual([
          { type: 'transactionStart', notes: 'rollback test' },
          { type: 'transactionEnd', notes: 'rollback test', state: 'failed' },
        ]);
      });

      it('begin() returns a transaction with a uuid v4 id that commits once', async () => {
        const events = record(store);
        const tx = await store.begin('explicit');
        expect(tx.id).toMatch(UUID_V4);
        expect(tx.notes).toBe('explicit');
        await store.set('b1', Buffer.from('1'), {});
        expect(brief(events)).toEqual(['transactionStart']);
        await tx.commit();
        expect(await store.exists('b1')).toBe(true);
        expect(brief(events)).toEqual(['transactionStart', 'set:b1', 'transactionEnd(done)']);
        await expect(tx.commit()).rejects.toBeInstanceOf(TransactionNotFound);
        await expect(tx.rollback()).rejects.toBeInstanceOf(TransactionNotFound);
      });

      it('begin() then rollback() restores the previous values', async () => {
        const events = record(store);
        const tx = await store.begin();
        expect(tx.notes).toBe('');
        await store.set('b1', Buffer.from('1'), {});
        await store.delete('test1');
        await store.setData('key0', Buffer.from('zzz'));
        await tx.rollback();
        expect(await store.exists('b1')).toBe(false);
        expect(await store.getMetadata('test1')).toEqual(TEST1_METADATA);
        expect((await store.getData('key0')).toString()).toBe('value0');
        expect(brief(events)).toEqual(['transactionStart', 'transactionEnd(failed)']);
        await expect(tx.rollback()).rejects.toBeInstanceOf(TransactionNotFound);
      });

      it('nested: an outer rollback undoes inner committed work', async () => {
        const events = record(store);
        await expect(
          store.transaction('outer', async () => {
            await store.set('o1', Buffer.from('o'), {});
            await store.transaction('inner', async () => {
              await store.set('i1', Buffer.from('i'), {});
              await store.delete('key0');
            });
            expect(await store.exists('i1')).toBe(true);
            throw new Error('outer fails');
          }),
        ).rejects.toThrow('outer fails');
        expect(await store.exists('o1')).toBe(false);
        expect(await store.exists('i1')).toBe(false);
        expect(await store.exists('key0')).toBe(true);
        expect(events).toEqual([
          { type: 'transactionStart', notes: 'outer' },
          { type: 'transactionEnd', notes: 'outer', state: 'failed' },
        ]);
      });

      it('nested: an inner rollback keeps the outer work', async () => {
        const events = record(store);
        await store.transaction('outer', async () => {
          await store.set('o1', Buffer.from('o'), {});
          await expect(
            store.transaction('inner', async () => {
              await store.set('i1', Buffer.from('i'), {});
              await store.set('o1', Buffer.from('changed by inner'), {});
              await store.delete('key0');
              throw new Error('inner fails');
            }),
          ).rejects.toThrow('inner fails');
          expect((await store.getData('o1')).toString()).toBe('o');
          await store.set('o2', Buffer.from('o'), {});
        });
        expect(await store.exists('o1')).toBe(true);
        expect((await store.getData('o1')).toString()).toBe('o');
        expect(await store.exists('o2')).toBe(true);
        expect(await store.exists('i1')).toBe(false);
        expect(await store.exists('key0')).toBe(true);
        expect(brief(events)).toEqual(['transactionStart', 'set:o1', 'set:o2', 'transactionEnd(done)']);
      });

      it('nested begin() inside transaction() and inside begin()', async () => {
        await store.transaction('outer', async () => {
          const inner = await store.begin('inner');
          await store.set('n1', Buffer.from('1'), {});
          await inner.rollback();
          const inner2 = await store.begin('inner2');
          await store.set('n2', Buffer.from('2'), {});
          await inner2.commit();
        });
        expect(await store.exists('n1')).toBe(false);
        expect(await store.exists('n2')).toBe(true);

        const outer = await store.begin('outer');
        const inner = await store.begin('inner');
        await store.set('n3', Buffer.from('3'), {});
        await inner.commit();
        await outer.rollback();
        expect(await store.exists('n3')).toBe(false);
      });

      it('closing an outer begin() closes the inner ones opened after it', async () => {
        const outer = await store.begin('outer');
        const inner = await store.begin('inner');
        await store.set('n4', Buffer.from('4'), {});
        await outer.commit();
        expect(await store.exists('n4')).toBe(true);
        await expect(inner.commit()).rejects.toBeInstanceOf(TransactionNotFound);
      });

      it('writes of other callers wait for a running transaction and are not rolled back with it', async () => {
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        let entered!: () => void;
        const inside = new Promise<void>((r) => (entered = r));
        const tx = store.transaction('slow', async () => {
          await store.set('inside', Buffer.from('1'), {});
          entered();
          await gate;
          expect(await store.exists('outside')).toBe(false);
          throw new Error('rolled back');
        });
        await inside;
        const outside = store.set('outside', Buffer.from('2'), {});
        // Let the outside write run as far as it can: it must be waiting for the lock.
        await sleep(20);
        expect(await store.exists('outside')).toBe(false);
        release();
        await expect(tx).rejects.toThrow('rolled back');
        await outside;
        expect(await store.exists('outside')).toBe(true);
        expect(await store.exists('inside')).toBe(false);
      });

      it('top-level transactions of concurrent callers run one at a time', async () => {
        const events = record(store);
        await Promise.all(
          [1, 2, 3].map((n) =>
            store.transaction(`t${n}`, async () => {
              await store.set(`c${n}`, Buffer.from(''), {});
              await sleep(5);
              await store.set(`d${n}`, Buffer.from(''), {});
            }),
          ),
        );
        const seq = brief(events);
        expect(seq).toHaveLength(12);
        for (let i = 0; i < 12; i += 4) {
          expect(seq[i]).toBe('transactionStart');
          expect(seq[i + 1]).toMatch(/^set:c\d$/);
          expect(seq[i + 2]).toBe(seq[i + 1].replace('set:c', 'set:d'));
          expect(seq[i + 3]).toBe('transactionEnd(done)');
        }
      });

      it('concurrent multi-key writes inside one transaction', async () => {
        await store.transaction('parallel', async () => {
          await Promise.all(
            [0, 1, 2, 3].map((g) =>
              store.multiset([`p${g}a`, `p${g}b`], [Buffer.from('a'), Buffer.from('b')], [{ g }, { g }]),
            ),
          );
        });
        expect(await store.glob('p*')).toEqual(['p0a', 'p0b', 'p1a', 'p1b', 'p2a', 'p2b', 'p3a', 'p3b']);
      });

      it('while a begin() transaction is open, writes from any caller join it', async () => {
        const tx = await store.begin('shared');
        await Promise.all([store.set('j1', Buffer.from(''), {}), store.set('j2', Buffer.from(''), {})]);
        await tx.rollback();
        expect(await store.exists('j1')).toBe(false);
        expect(await store.exists('j2')).toBe(false);
      });

      it('rejects bad transaction arguments', async () => {
        await expect(store.transaction(3 as unknown as string, async () => 1)).rejects.toBeInstanceOf(InvalidArgument);
        await expect(store.transaction('x', 'nope' as unknown as () => Promise<void>)).rejects.toBeInstanceOf(InvalidArgument);
      });
    });

    describe('close', () => {
      it('close() rolls back an open begin() transaction and is idempotent', async () => {
        const events = record(store);
        await store.begin('left open');
        await store.set('lost', Buffer.from(''), {});
        await store.close();
        await store.close();
        expect(brief(events)).toEqual(['transactionStart', 'transactionEnd(failed)']);
        await expect(store.get('test1')).rejects.toThrow();
        await expect(store.set('x', Buffer.from(''), {})).rejects.toThrow();
      });
    });
  });
}
