/**
 * The in-memory datastore against the scenarios of daf_butler's own datastore tests
 * (where they apply), with its quirks fixed: no aliasing, forget frees,
 * an empty list never empties the trash, rollback restores what was there.
 */
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { changeAfterStat, failReadsFrom } from '../support/file-handle-faults.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { asideRemovals } from '../../src/datastore/file-transfer.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { STORED_FILE_INFO_TABLE } from '../../src/model/datastore-records.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDataId } from '../../src/model/data-coordinate.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';
import { DatasetAlreadyStored, DatasetNotFound, UnknownParameter } from '../../src/model/errors.js';

function ref(name: string, visit: number, storageClass = 'StructuredDataDict'): DatasetRef {
  const dataId = { instrument: 'dummy', visit };
  return {
    id: makeDatasetId('DATAID_TYPE_RUN', name, dataId, ['instrument', 'visit'], 'run'),
    datasetType: makeDatasetType({ name, storageClass, dimensions: ['instrument', 'visit'] }),
    dataId,
    run: 'run',
  };
}

let ds: MemoryDatastore;
beforeEach(() => {
  ds = new MemoryDatastore('InMemoryDatastore@test', new MemoryStore(), StorageClassRegistry.withBuiltins());
});

const value = { a: 1, nested: { list: [1, 2, 3] } };

describe('MemoryDatastore', () => {
  it('14. is ephemeral and named', () => {
    expect(ds.isEphemeral).toBe(true);
    expect(ds.name).toBe('InMemoryDatastore@test');
  });

  it('15. unknown parameters are refused', async () => {
    const r = ref('metric', 52, 'StructuredDataList');
    await ds.put({ kind: 'value', value: [1, 2, 3] }, r);
    expect((await ds.get(r)).value).toEqual([1, 2, 3]);
    await expect(ds.get(r, { parameters: { missing: 5 } })).rejects.toBeInstanceOf(UnknownParameter);
  });

  it('16. basic put/get, existence and URIs before and after', async () => {
    const r = ref('metric', 52);
    const r2 = ref('metric', 53);
    await expect(ds.getURIs(r)).rejects.toBeInstanceOf(DatasetNotFound);
    const predicted = await ds.getURIs(r, true);
    expect(predicted.primary).toContain('52');
    expect(predicted.primary).toMatch(/#predicted$/);
    expect((await ds.getURIs(r2, true)).primary).toContain('53');
    await ds.put({ kind: 'value', value }, r);
    expect(await ds.exists(r)).toBe(true);
    expect(Object.fromEntries(await ds.mexists([r, r2]))).toEqual({ [r.id]: true, [r2.id]: false });
    expect((await ds.get(r)).value).toEqual(value);
    const uris = await ds.getURIs(r);
    expect(uris.primary).toMatch(/^mem:\/\//);
    expect(uris.primary).not.toMatch(/#predicted/);
    expect(uris.components).toEqual({});
    const rec = await ds.record(r);
    // daf_butler's record checksum: hashlib.blake2b(bytes).hexdigest().
    const { bytes } = await ds.getBytes(r);
    expect(rec?.checksum).toBe(createHash('blake2b512').update(bytes).digest('hex'));
    expect(rec?.file_size).toBeGreaterThan(0);
  });

  it('the record checksum, computed when a record leaves the datastore, is the blake2b of the bytes stored', async () => {
    const blake2b = (b: Uint8Array) => createHash('blake2b512').update(b).digest('hex');
    const stores: Array<[string, Store]> = [['memory', new MemoryStore()], ['sqlite', new SqliteStore(':memory:')]];
    for (const [kind, store] of stores) {
      const d = new MemoryDatastore(`InMemoryDatastore@${kind}`, store, StorageClassRegistry.withBuiltins());
      const r = ref('blob', 1, 'Bytes');
      const first = Buffer.from('first content');
      const put = await d.put({ kind: 'bytes', bytes: first, owned: true }, r);
      // A record lists daf_butler's members in its order (JSON and copies keep it), and nothing
      // else: the bytes its deferred checksum is computed from are not carried along.
      const members = ['formatter', 'path', 'storage_class', 'component', 'checksum', 'file_size'];
      expect(Object.keys(put.info)).toEqual(members);
      expect(Reflect.ownKeys({ ...put.info })).toEqual(members);
      // Nor does the record itself hold any other key or symbol; it stays a plain object.
      expect(Reflect.ownKeys(put.info)).toEqual(members);
      expect(Object.getPrototypeOf(put.info)).toBe(Object.prototype);
      // Deferred: the put stored no record checksum, only the SHA-256 it answers with.
      expect((await store.getMetadata(r.id)).checksum, kind).toBeUndefined();
      expect(put.sha256).toBe(createHash('sha256').update(first).digest('hex'));
      // Every way a record leaves: the put's record (read, spread, serialised), record(),
      // exportRecords (provenance and transfers), artifacts (retrieveArtifacts, zip index).
      expect(put.info.checksum, kind).toBe(blake2b(first));
      expect(JSON.parse(JSON.stringify(put.info)).checksum).toBe(blake2b(first));
      expect({ ...put.info }.checksum).toBe(blake2b(first));
      expect((await d.record(r))?.checksum, kind).toBe(blake2b(first));
      expect((await d.exportRecords([r])).get(r.id)?.get(STORED_FILE_INFO_TABLE)?.[0]?.checksum, kind).toBe(blake2b(first));
      expect((await d.artifacts([r]))[0]!.info.checksum, kind).toBe(blake2b(first));
      expect((await d.getBytes(r)).info.checksum, kind).toBe(blake2b(first));
      // The same id stored again with other bytes (after removal): the checksum is the new bytes'.
      await d.remove(r);
      const second = Buffer.from('second content');
      const again = await d.put({ kind: 'bytes', bytes: second }, r);
      expect((await d.record(r))?.checksum, kind).toBe(blake2b(second));
      expect(again.info.checksum, kind).toBe(blake2b(second));
      // A value put (bytes made by the formatter) and an unchanged re-put.
      const v = ref('metric', 2);
      const made = await d.put({ kind: 'value', value }, v);
      const stored = (await d.getBytes(v)).bytes;
      expect((await d.exportRecords([v])).get(v.id)?.get(STORED_FILE_INFO_TABLE)?.[0]?.checksum, kind).toBe(blake2b(stored));
      const unchanged = await d.put({ kind: 'value', value }, v);
      expect(unchanged.unchanged).toBe(true);
      expect([made.info.checksum, unchanged.info.checksum]).toEqual([blake2b(stored), blake2b(stored)]);
      await store.close();
    }
  });

  it('reads of one stored record share its info (read-only), made again once the bytes under the record change', async () => {
    const blake2b = (b: Uint8Array) => createHash('blake2b512').update(b).digest('hex');
    const store = new MemoryStore();
    const d = new MemoryDatastore('InMemoryDatastore@shared', store, StorageClassRegistry.withBuiltins());
    const r = ref('metric', 60);
    await d.put({ kind: 'value', value }, r);
    const first = await d.getBytes(r);
    const second = await d.getBytes(r);
    expect(second.info).toBe(first.info);
    expect(second.info.checksum).toBe(blake2b(first.bytes));
    // The store keeps the record's object when only its data is replaced: the info follows the bytes.
    const other = Buffer.from('{"a":2}');
    await store.setData(r.id, other);
    const third = await d.getBytes(r);
    expect(third.bytes.equals(other)).toBe(true);
    expect(third.info).not.toBe(first.info);
    expect(third.info.checksum).toBe(blake2b(other));
    expect({ ...third.info, checksum: null }).toEqual({ ...first.info, checksum: null });
    // A new put of the dataset (after forget) is a new record.
    await d.forget([r]);
    await d.put({ kind: 'value', value: { b: 3 } }, r);
    const fourth = await d.getBytes(r);
    expect(fourth.info).not.toBe(third.info);
    expect(fourth.info.checksum).toBe(blake2b(fourth.bytes));
  });

  it('reads records stored with their checksum (before it was deferred) as they are', async () => {
    const store = new MemoryStore();
    const d = new MemoryDatastore('InMemoryDatastore@old', store, StorageClassRegistry.withBuiltins());
    const r = ref('blob', 3, 'Bytes');
    await d.put({ kind: 'bytes', bytes: Buffer.from('old') }, r);
    // As an earlier version wrote it: the blake2b in the record (here a recognisable stand-in).
    const recorded = 'ab'.repeat(64);
    await store.updateMetadata(r.id, { checksum: recorded });
    expect((await d.record(r))?.checksum).toBe(recorded);
    expect((await d.exportRecords([r])).get(r.id)?.get(STORED_FILE_INFO_TABLE)?.[0]?.checksum).toBe(recorded);
  });

  it('copies on put and on get: no aliasing', async () => {
    const r = ref('metric', 1);
    const mine = { a: [1, 2] };
    await ds.put({ kind: 'value', value: mine }, r);
    mine.a.push(3);
    const first = (await ds.get(r)).value as { a: number[] };
    expect(first).toEqual({ a: [1, 2] });
    first.a.push(99);
    expect((await ds.get(r)).value).toEqual({ a: [1, 2] });
  });

  it('17. components that are null come back as null', async () => {
    const reg = ds.storageClasses;
    reg.loadConfig({ Metric: { inheritsFrom: 'StructuredDataDict', components: { summary: 'StructuredDataDict', output: 'StructuredDataDict' } } });
    const r = ref('metric', 1, 'Metric');
    await ds.put({ kind: 'value', value: { summary: { x: 1 }, output: null } }, r);
    expect((await ds.get(r, { component: 'summary' })).value).toEqual({ x: 1 });
    expect((await ds.get(r, { component: 'output' })).value).toBeNull();
  });

  it('18. missing datasets', async () => {
    const r = ref('metric', 7);
    await expect(ds.get(r)).rejects.toBeInstanceOf(DatasetNotFound);
    await expect(ds.get(r)).rejects.toThrow(`No such file dataset in memory: ${r.id}`);
    expect((await ds.getURIs(r, true)).primary).toMatch(/^mem:\/\/metric\?.*#predicted$/);
  });

  it('19. remove, then a second remove fails', async () => {
    const r = ref('metric', 8);
    await ds.put({ kind: 'value', value }, r);
    await ds.remove(r);
    expect(await ds.exists(r)).toBe(false);
    expect((await ds.getURIs(r, true)).primary).toMatch(/#predicted$/);
    await expect(ds.get(r)).rejects.toBeInstanceOf(DatasetNotFound);
    await expect(ds.remove(r)).rejects.toBeInstanceOf(DatasetNotFound);
  });

  it('20. forget frees the dataset and is idempotent', async () => {
    const r = ref('metric', 9);
    await ds.put({ kind: 'value', value }, r);
    await ds.forget([r]);
    expect(await ds.exists(r)).toBe(false);
    await expect(ds.get(r)).rejects.toBeInstanceOf(DatasetNotFound);
    await ds.forget([r]);
    expect((await ds.getURIs(r, true)).primary).toMatch(/#predicted$/);
  });

  it('21. transfer between two datastores (get from one, put into the other)', async () => {
    const other = new MemoryDatastore('InMemoryDatastore@other', new MemoryStore(), StorageClassRegistry.withBuiltins());
    const r = ref('metric', 10);
    await ds.put({ kind: 'value', value }, r);
    const { bytes } = await ds.getBytes(r);
    await other.put({ kind: 'bytes', bytes }, r);
    expect((await other.get(r)).value).toEqual(value);
    expect((await other.record(r))?.checksum).toBe((await ds.record(r))?.checksum);
  });

  it('22. transactions: commit persists, failure rolls back, nesting, earlier data survives', async () => {
    const before = ref('metric', 20);
    await ds.put({ kind: 'value', value: { v: 0 } }, before);
    const committed = ref('metric', 21);
    await ds.transaction(async () => {
      await ds.put({ kind: 'value', value: { v: 1 } }, committed);
    });
    expect(await ds.exists(committed)).toBe(true);

    const failed = ref('metric', 22);
    await expect(
      ds.transaction(async () => {
        await ds.put({ kind: 'value', value: { v: 2 } }, failed);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await ds.exists(failed)).toBe(false);
    await expect(ds.getURIs(failed)).rejects.toBeInstanceOf(DatasetNotFound);

    const inner = ref('metric', 23);
    const outer = ref('metric', 24);
    await expect(
      ds.transaction(async () => {
        await ds.put({ kind: 'value', value: { v: 4 } }, outer);
        await ds.transaction(async () => {
          await ds.put({ kind: 'value', value: { v: 3 } }, inner);
        });
        throw new Error('outer fails');
      }),
    ).rejects.toThrow('outer fails');
    expect(await ds.exists(inner)).toBe(false);
    expect(await ds.exists(outer)).toBe(false);
    expect((await ds.get(before)).value).toEqual({ v: 0 });
    expect(await ds.exists(committed)).toBe(true);
  });

  it('a rolled-back trash is restored, and emptying the trash after it deletes nothing', async () => {
    const r = ref('metric', 30);
    await ds.put({ kind: 'value', value }, r);
    await expect(
      ds.transaction(async () => {
        await ds.trash(r);
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(await ds.emptyTrash()).toEqual([]);
    expect(await ds.exists(r)).toBe(true);
  });

  it('an empty ref list never empties the whole trash; unknown refs never land in it', async () => {
    const a = ref('metric', 40);
    const b = ref('metric', 41);
    await ds.put({ kind: 'value', value }, a);
    await ds.put({ kind: 'value', value }, b);
    await ds.trash([a, b]);
    expect(await ds.emptyTrash([])).toEqual([]);
    expect(await ds.exists(a)).toBe(true);
    expect(await ds.emptyTrash([a])).toEqual([a.id]);
    expect(await ds.exists(a)).toBe(false);
    expect(await ds.exists(b)).toBe(true);
    await expect(ds.trash(ref('metric', 42))).rejects.toBeInstanceOf(DatasetNotFound);
    await ds.trash(ref('metric', 43), true);
    expect(await ds.emptyTrash()).toEqual([b.id]);
  });

  it('the same id twice: identical bytes are a no-op, different bytes are refused', async () => {
    const r = ref('metric', 50);
    expect((await ds.put({ kind: 'value', value }, r)).unchanged).toBe(false);
    expect((await ds.put({ kind: 'value', value: { nested: { list: [1, 2, 3] }, a: 1 } }, r)).unchanged).toBe(true);
    await expect(ds.put({ kind: 'value', value: { a: 2 } }, r)).rejects.toBeInstanceOf(DatasetAlreadyStored);
  });

  it('two puts of one dataset at once: the first stores, the second (other bytes) is refused, not written over it', async () => {
    const r = ref('metric', 51);
    const [first, second] = await Promise.allSettled([ds.put({ kind: 'value', value }, r), ds.put({ kind: 'value', value: { a: 2 } }, r)]);
    expect(first.status).toBe('fulfilled');
    expect(second.status === 'rejected' && second.reason).toBeInstanceOf(DatasetAlreadyStored);
    expect((await ds.get(r)).value).toEqual(value);
  });

  it('a put looks its id up in the store once (createNow: the check and the write in one call), whatever the store held', async () => {
    const store = new MemoryStore();
    const mds = new MemoryDatastore('InMemoryDatastore@once', store, StorageClassRegistry.withBuiltins());
    const entries = (store as unknown as { entries: Map<string, unknown> }).entries;
    const lookups = vi.spyOn(entries, 'get');
    const r = ref('metric', 80);
    const put = await mds.put({ kind: 'value', value }, r);
    expect(lookups.mock.calls.map((c) => c[0])).toEqual([r.id]); // was two: a peek, then the write's own
    expect(put.unchanged).toBe(false);
    expect((await mds.get(r)).value).toEqual(value);
    // A stored record found by that lookup: the same bytes change nothing, other bytes are refused.
    const md = await store.peekMetadata(r.id);
    lookups.mockClear();
    expect((await mds.put({ kind: 'value', value }, r)).unchanged).toBe(true);
    expect(lookups).toHaveBeenCalledTimes(1);
    await expect(mds.put({ kind: 'value', value: { a: 2 } }, r)).rejects.toBeInstanceOf(DatasetAlreadyStored);
    expect(await store.peekMetadata(r.id)).toBe(md);
    // A trashed record is written over, as before.
    await mds.trash(r);
    const again = await mds.put({ kind: 'value', value: { a: 3 } }, r);
    expect([again.unchanged, (await mds.get(r)).value, (await store.peekMetadata(r.id))?.trashed]).toEqual([false, { a: 3 }, false]);
  });

  it("a put's URI query is not kept on the data ID (a dataset's URI is asked for about once)", async () => {
    const r = { ...ref('metric', 81), dataId: makeDataId({ instrument: 'dummy', visit: 81 }) };
    const put = await ds.put({ kind: 'value', value }, r);
    expect(put.uri).toBe(`mem://InMemoryDatastore%40test/run/metric/${r.id}.json?instrument=dummy&visit=81`);
    const derived = Object.getOwnPropertySymbols(r.dataId).map((sym) => (r.dataId as unknown as Record<symbol, Record<string, string>>)[sym]!);
    expect(derived).toEqual([{ key: 'instrument=dummy,visit=81' }]); // the key, which the record keeps too; no query
  });

  it('hands its own record to the store as checked (kept unscanned); a record with an ill-formed string is still checked and refused', async () => {
    const store = new MemoryStore();
    const mds = new MemoryDatastore('InMemoryDatastore@checked', store, StorageClassRegistry.withBuiltins());
    // Written in the put's own turn (createNow): the store's lock is free.
    const set = vi.spyOn(store, 'createNow');
    const r = ref('metric', 70);
    await mds.put({ kind: 'value', value }, r);
    expect(set.mock.calls[0]![3]).toEqual({ adopt: true, checked: true });
    // The store keeps the record it was given, as it is.
    const md = await store.peekMetadata(r.id);
    expect(md).toBe(set.mock.calls[0]![2]);
    expect(md).toMatchObject({ datasetId: r.id, dataId: 'instrument=dummy,visit=70', path: `run/metric/${r.id}.json`, trashed: false, size: 33 });
    // A lone surrogate in the data id (from outside) leaves the record unchecked: the store refuses it as before.
    const bad = { ...ref('metric', 71), dataId: { instrument: 'dummy\ud800', visit: 71 } };
    await expect(mds.put({ kind: 'value', value }, bad)).rejects.toThrow(/not well-formed Unicode/);
    expect(set.mock.calls[1]![3]).toEqual({ adopt: true, checked: false });
    expect(await store.peekMetadata(bad.id)).toBeUndefined();
  });

  it('a store given checked metadata keeps it without reading its members; without checked it still scans and refuses', async () => {
    const store = new MemoryStore();
    let reads = 0;
    const md = Object.defineProperty({ a: 1 }, 'b', { enumerable: true, get: () => (reads++, 'x') });
    await store.set('k', Buffer.from('v'), md, { adopt: true, checked: true });
    expect(reads).toBe(0);
    expect(await store.peekMetadata('k')).toBe(md);
    await store.set('k2', Buffer.from('v'), { a: 1 }, { adopt: true });
    await expect(store.set('k3', Buffer.from('v'), { a: '\ud800' }, { adopt: true })).rejects.toThrow(/not well-formed Unicode/);
    await expect(store.set('k4', Buffer.from('v'), { a: NaN }, { adopt: true, checked: false })).rejects.toThrow(/non-finite/);
  });

  it('exports records in StoredFileInfo form for stored datasets only', async () => {
    const r = ref('metric', 60);
    const missing = ref('metric', 61);
    await ds.put({ kind: 'value', value }, r);
    const data = await ds.exportRecords([r, missing]);
    expect([...data.keys()]).toEqual([r.id]);
    const row = data.get(r.id)!.get('file_datastore_records')![0]!;
    expect(row).toMatchObject({ storage_class: 'StructuredDataDict', component: '__NULL_STRING__', file_size: expect.any(Number) });
  });
});

describe('MemoryDatastore puts and gets by file path', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'qb-memory-file-'));
    return () => {
      vi.restoreAllMocks();
      rmSync(dir, { recursive: true, force: true });
    };
  });
  const blob = (i: number): DatasetRef => ref('blob', i, 'Bytes');
  const MiB = 1024 * 1024;

  it.each([0, 1, MiB + 1, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 9 * MiB + 5])('%i bytes: the same bytes and checksums as a put from memory', async (size) => {
    const bytes = randomBytes(size);
    const src = join(dir, 'in.bin');
    writeFileSync(src, bytes);
    const fromFile = await ds.put({ kind: 'file', path: src }, blob(1));
    const fromBytes = await ds.put({ kind: 'bytes', bytes: Buffer.from(bytes) }, blob(2));
    expect(fromFile.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(fromFile.sha256).toBe(fromBytes.sha256);
    expect(fromFile.info).toEqual({ ...fromBytes.info, path: fromFile.info.path });
    expect(fromFile.info.checksum).toBe(createHash('blake2b512').update(bytes).digest('hex'));
    expect((await ds.getBytes(blob(1))).bytes.equals(bytes)).toBe(true);
    // Back out by path: the same bytes.
    const dest = join(dir, 'out.bin');
    expect(await ds.getToFile(blob(1), dest)).toMatchObject({ size });
    expect(readFileSync(dest).equals(bytes)).toBe(true);
  });

  it.each([
    ['grows', (p: string) => appendFileSync(p, 'more')],
    ['shrinks', (p: string) => truncateSync(p, MiB + 3)],
  ])('a file that %s while it is read is IOFailure and nothing is stored', async (_how, change) => {
    const src = join(dir, 'in.bin');
    writeFileSync(src, randomBytes(2 * MiB + 7));
    await changeAfterStat(2 * MiB + 7, () => change(src));
    await expect(ds.put({ kind: 'file', path: src }, blob(1))).rejects.toMatchObject({ kind: 'IOFailure', message: expect.stringContaining('size changed while it was read') });
    expect(await ds.exists(blob(1))).toBe(false);
  });

  it('a read that fails part-way is IOFailure and nothing is stored', async () => {
    // Below PARALLEL_HASH_MIN, read here (larger files are read on the hash worker: remote-read.test.ts).
    const src = join(dir, 'in.bin');
    writeFileSync(src, randomBytes(3 * MiB + 5));
    await failReadsFrom(2 * MiB);
    await expect(ds.put({ kind: 'file', path: src }, blob(1))).rejects.toMatchObject({ kind: 'IOFailure', context: { details: { code: 'EIO' } } });
    expect(await ds.exists(blob(1))).toBe(false);
  });

  it('a missing source is InvalidArgument, a directory too (not a regular file); neither stores anything', async () => {
    await expect(ds.put({ kind: 'file', path: join(dir, 'missing.bin') }, blob(1))).rejects.toMatchObject({ kind: 'InvalidArgument' });
    mkdirSync(join(dir, 'a-directory'));
    await expect(ds.put({ kind: 'file', path: join(dir, 'a-directory') }, blob(1))).rejects.toMatchObject({ kind: 'InvalidArgument', context: { details: { code: 'ENOTREG' } } });
    expect(await ds.exists(blob(1))).toBe(false);
  });

  it('a get to a path replaces an existing file and leaves nothing beside it; a failed one leaves the destination as it was', async () => {
    const bytes = randomBytes(MiB + 9);
    await ds.put({ kind: 'bytes', bytes }, blob(1));
    const dest = join(dir, 'out.bin');
    writeFileSync(dest, 'old contents');
    await ds.getToFile(blob(1), dest);
    expect(readFileSync(dest).equals(bytes)).toBe(true);
    await expect(ds.getToFile(blob(2), dest)).rejects.toBeInstanceOf(DatasetNotFound);
    expect(readFileSync(dest).equals(bytes)).toBe(true);
    // A directory in the way is refused and kept.
    mkdirSync(join(dir, 'd'));
    await expect(ds.getToFile(blob(1), join(dir, 'd'))).rejects.toMatchObject({ kind: 'InvalidArgument', context: { details: { code: 'ENOTREG' } } });
    await asideRemovals(); // the replaced file is removed after the get returns
    expect(readdirSync(dir).sort()).toEqual(['d', 'out.bin']);
  });
});
