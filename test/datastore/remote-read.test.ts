/**
 * A large regular file put by path is read and hashed on the hash worker (readHashedRemote),
 * with the same bytes, SHA-256 and failures as when read here: a size change is IOFailure, a
 * failed read keeps its errno code, and a worker that stops part-way leaves the read to this
 * thread. A get by path that copies half an artifact on the worker (copyHashedRemote) fails
 * alike, or, with no worker, copies it all here. (Its own file: the worker is per module, and
 * here it is made with faults to inject, for files of the sizes below only.)
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { changeAfterStat, watchReads } from '../support/file-handle-faults.js';
import { loadPutSource, PARALLEL_HASH_MIN, readHashed } from '../../src/datastore/file-transfer.js';
import { hashWorkerFactory } from '../../src/util/parallel-hash.js';
import { FileDatastore } from '../../src/datastore/file-datastore.js';
import { DEFAULT_TEMPLATE } from '../../src/datastore/location-template.js';
import { RecordsTable } from '../../src/datastore/records-table.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { FileStore } from '../../src/store/file-store.js';

const MiB = 1024 * 1024;
/** Files of these sizes fail to read from 2 MiB on (EIO) on the worker; of those, the worker exits part-way. */
const FAILING = 5 * MiB + 11, EXITING = 5 * MiB + 13, COPY_FAILING = 7 * MiB + 11, COPY_EXITING = 7 * MiB + 13;
const realCreate = hashWorkerFactory.create;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qb-remote-read-'));
  // The worker's own code, its reads wrapped: the fault is in the file, as the worker sees it.
  hashWorkerFactory.create = (source, options) =>
    realCreate(
      `const fs = require('node:fs'); const real = fs.readSync;
       fs.readSync = (fd, buf, off, len, pos) => {
         const size = fs.fstatSync(fd).size;
         if ((size === ${EXITING} || size === ${COPY_EXITING}) && pos >= ${2 * MiB}) process.exit(7);
         if ((size === ${FAILING} || size === ${COPY_FAILING}) && pos >= ${2 * MiB}) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', syscall: 'read' });
         return real(fd, buf, off, len, pos);
       };
       ${source}`,
      options,
    );
});
afterEach(() => void vi.restoreAllMocks());
afterAll(() => {
  hashWorkerFactory.create = realCreate;
  rmSync(dir, { recursive: true, force: true });
});

const varied = (size: number): Buffer => {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 12)) & 0xff;
  return bytes;
};
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

it.each([PARALLEL_HASH_MIN, 16 * MiB + 3])('a regular file of %i bytes is read and hashed on the worker: the same bytes and SHA-256, no read on this thread', async (size) => {
  const bytes = varied(size);
  const path = join(dir, `f${size}.bin`);
  writeFileSync(path, bytes);
  const positions: unknown[] = [];
  await watchReads((position) => positions.push(position));
  const read = await readHashed(path);
  expect(positions).toEqual([]);
  expect(read.bytes.equals(bytes)).toBe(true);
  expect(read.sha256).toBe(sha(bytes));
});

it.each([
  ['grows', (p: string) => appendFileSync(p, 'more')],
  ['shrinks', (p: string) => truncateSync(p, 4 * MiB + 3)],
])('a large file that %s once measured is IOFailure (ECHANGED)', async (_how, change) => {
  const size = 6 * MiB + 7;
  const path = join(dir, 'changes.bin');
  writeFileSync(path, varied(size));
  await changeAfterStat(size, () => change(path));
  await expect(readHashed(path)).rejects.toMatchObject({ kind: 'IOFailure', context: { details: { code: 'ECHANGED', size } } });
});

it('a read that fails part-way on the worker keeps its errno code: IOFailure (EIO) for the put', async () => {
  const path = join(dir, 'failing.bin');
  writeFileSync(path, varied(FAILING));
  await expect(readHashed(path)).rejects.toMatchObject({ code: 'EIO', syscall: 'read' });
  await expect(loadPutSource({ kind: 'file', path })).rejects.toMatchObject({ kind: 'IOFailure', context: { details: { code: 'EIO' } } });
  // The worker still serves the next read.
  const ok = join(dir, 'ok.bin');
  writeFileSync(ok, varied(FAILING - 1));
  expect((await readHashed(ok)).sha256).toBe(sha(varied(FAILING - 1)));
});

it('a worker that stops part-way leaves the read to this thread, from the start: the same bytes and SHA-256', async () => {
  const bytes = varied(EXITING);
  const path = join(dir, 'exiting.bin');
  writeFileSync(path, bytes);
  const positions: unknown[] = [];
  await watchReads((position) => positions.push(position));
  const read = await readHashed(path);
  expect(positions[0]).toBe(0);
  expect(positions.at(-1)).toBe(EXITING);
  expect(read.bytes.equals(bytes)).toBe(true);
  expect(read.sha256).toBe(sha(bytes));
});

describe('a get by path of an artifact put here (its first half copied on the worker)', () => {
  const dt = makeDatasetType({ name: 'blob', storageClass: 'Bytes', dimensions: ['instrument', 'detector'] });
  const ref = (detector: number) => {
    const dataId = Object.freeze({ instrument: 'Cam', detector });
    return { id: makeDatasetId('DATAID_TYPE_RUN', dt.name, dataId, dt.dimensions, 'run1'), datasetType: dt, dataId, run: 'run1' };
  };
  const putThenGet = async (size: number) => {
    const root = mkdtempSync(join(dir, 'repo-'));
    const store = new FileStore(root);
    const ds = new FileDatastore({ name: 'x', root, store, template: DEFAULT_TEMPLATE, records: new RecordsTable(':memory:'), storageClasses: StorageClassRegistry.withBuiltins(), checksum: 'blake2b' });
    const src = join(root, 'in.bin');
    writeFileSync(src, varied(size));
    await ds.put({ kind: 'file', path: src }, ref(1));
    const dest = join(root, 'out.bin');
    const got = await ds.getToFile(ref(1), dest).catch((e: unknown) => e);
    const left = readdirSync(root).filter((f) => f.startsWith('.out.bin') || f === 'out.bin');
    const bytes = left.includes('out.bin') ? readFileSync(dest) : undefined;
    ds.close();
    await store.close();
    return { got, left, bytes };
  };

  it('a read that fails on the worker is IOFailure (EIO) and leaves no destination', async () => {
    const { got, left } = await putThenGet(COPY_FAILING);
    expect(got).toMatchObject({ kind: 'IOFailure', context: { details: { code: 'EIO' } } });
    expect(left).toEqual([]);
  });

  it('a worker that stops part-way leaves the whole copy to this thread: the same bytes', async () => {
    const { got, left, bytes } = await putThenGet(COPY_EXITING);
    expect(got).toMatchObject({ size: COPY_EXITING });
    expect(left).toEqual(['out.bin']);
    expect(bytes!.equals(varied(COPY_EXITING))).toBe(true);
  });
});
