/**
 * A large regular file put by path is read and hashed on the hash worker (readHashedRemote; with
 * a buffer made ahead, readFileHashedRemote, which opens and measures it there too),
 * with the same bytes, SHA-256 and failures as when read here: a size change is IOFailure, a
 * failed read keeps its errno code, and a worker that stops part-way leaves the read to this
 * thread. A get by path that copies half an artifact on the worker (copyHashedRemote) fails
 * alike, or, with no worker, copies it all here. (Its own file: the worker is per module, and
 * here it is made with faults to inject, for files of the sizes below only.)
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, promises, readdirSync, readFileSync, readlinkSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { changeAfterStat, watchReads } from '../support/file-handle-faults.js';
import { loadPutSource, PARALLEL_HASH_MIN, readHashed } from '../../src/datastore/file-transfer.js';
import { hashWorkerFactory, RemoteHash, sharedChunk } from '../../src/util/parallel-hash.js';
import { LARGE_UNCOUNTED_MAX, largeBuffer, spareBytes, uncountedBytes } from '../../src/util/large-buffer.js';
import { spareOf } from '../support/spare-buffer.js';
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
/** Files of these sizes grow, or shrink by 5 bytes, just after the worker measured them. */
const GROWING = 6 * MiB + 17, SHRINKING = 6 * MiB + 19;
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
       const realFstat = fs.fstatSync;
       fs.fstatSync = (fd, ...rest) => {
         const st = realFstat(fd, ...rest);
         const path = () => fs.readlinkSync('/proc/self/fd/' + fd);
         if (st.size === ${GROWING}) fs.appendFileSync(path(), 'more');
         if (st.size === ${SHRINKING}) fs.truncateSync(path(), ${SHRINKING - 5});
         return st;
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

describe('with a buffer made ahead (a read before): the worker opens, measures, reads and closes the file, in one message', () => {
  // As a process that has read many large files leaves it (this file's reads before, or other
  // files' in the same test worker): the bound on shared buffers full of ones not yet collected.
  beforeAll(() => {
    while (uncountedBytes() + 16 * MiB <= LARGE_UNCOUNTED_MAX) largeBuffer(16 * MiB);
  });
  /** How many of this process's open files are `path`. */
  const openOn = (path: string) => readdirSync('/proc/self/fd').filter((fd) => readlinkOr(`/proc/self/fd/${fd}`) === path).length;
  const readlinkOr = (link: string) => {
    try {
      return readlinkSync(link);
    } catch {
      return undefined; // closed meanwhile (the listing's own)
    }
  };

  it('of the file\'s size: the same bytes and SHA-256, no file opened here, none left open', async () => {
    const size = 16 * MiB + 5;
    const bytes = varied(size);
    const path = join(dir, 'spare.bin');
    writeFileSync(path, bytes);
    await spareOf(size);
    const open = vi.spyOn(promises, 'open');
    const read = await readHashed(path);
    expect(open).not.toHaveBeenCalled();
    expect(openOn(path)).toBe(0);
    expect(spareBytes()).toBe(0); // taken
    expect(read.bytes.equals(bytes)).toBe(true);
    expect(read.sha256).toBe(sha(bytes));
  });

  it('with the worker busy: the file is opened here (as without one), not queued behind that work', async () => {
    const size = PARALLEL_HASH_MIN + 21;
    const bytes = varied(size);
    const path = join(dir, 'busy.bin');
    writeFileSync(path, bytes);
    await spareOf(size);
    const busy = new RemoteHash('sha256');
    const updated = busy.update(sharedChunk(MiB));
    const open = vi.spyOn(promises, 'open');
    const read = readHashed(path);
    expect(open).toHaveBeenCalledTimes(1); // at once: no message to the worker first
    expect((await read).sha256).toBe(sha(bytes));
    await updated;
    busy.discard();
  });

  it('of another size: the file is read as without one, and that buffer is not used for it', async () => {
    const bytes = varied(PARALLEL_HASH_MIN + 9);
    const path = join(dir, 'other-size.bin');
    writeFileSync(path, bytes);
    await spareOf(PARALLEL_HASH_MIN + 8);
    const read = await readHashed(path);
    expect(read.bytes.length).toBe(bytes.length);
    expect(read.bytes.equals(bytes)).toBe(true);
    expect(read.sha256).toBe(sha(bytes));
  });

  it.each([
    ['grows', GROWING],
    ['shrinks', SHRINKING],
  ])('a file that %s once the worker measured it is IOFailure (ECHANGED)', async (_how, size) => {
    const path = join(dir, `changes-${size}.bin`);
    writeFileSync(path, varied(size));
    await spareOf(size);
    await expect(readHashed(path)).rejects.toMatchObject({ kind: 'IOFailure', context: { details: { code: 'ECHANGED', size } } });
  });

  it('a read that fails part-way keeps its errno code, and closes the file', async () => {
    const path = join(dir, 'failing-spare.bin');
    writeFileSync(path, varied(FAILING));
    await spareOf(FAILING);
    await expect(readHashed(path)).rejects.toMatchObject({ code: 'EIO', syscall: 'read' });
    expect(openOn(path)).toBe(0);
  });

  it('a missing file fails with ENOENT, the buffer kept for the next read', async () => {
    await spareOf(PARALLEL_HASH_MIN + 8);
    await expect(readHashed(join(dir, 'missing.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(spareBytes()).toBe(PARALLEL_HASH_MIN + 8);
  });

  it('a worker that stops part-way leaves the read to this thread, from the start: the same bytes and SHA-256', async () => {
    const bytes = varied(EXITING);
    const path = join(dir, 'exiting-spare.bin');
    writeFileSync(path, bytes);
    await spareOf(EXITING);
    const read = await readHashed(path);
    expect(read.bytes.equals(bytes)).toBe(true);
    expect(read.sha256).toBe(sha(bytes));
  });
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
