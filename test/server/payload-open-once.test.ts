/**
 * A put by file path opens the file once: the payload step opens and measures it, and the put's
 * reader (loadPutSource, in the same turn) reads that open file instead of opening the path
 * again. Seen here as which file is read when another is renamed onto the path in between (a
 * second open would read that one), and as the process's open files (/proc/self/fd) before and
 * after, on every path: read, refused before reading, changed while read, missing.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { decodePutPayload } from '../../src/server/payload.js';
import { loadPutSource } from '../../src/datastore/file-transfer.js';
import { spareOf } from '../support/spare-buffer.js';
import { FileDatastore } from '../../src/datastore/file-datastore.js';
import { DEFAULT_TEMPLATE } from '../../src/datastore/location-template.js';
import { RecordsTable } from '../../src/datastore/records-table.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { FileStore } from '../../src/store/file-store.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'qb-open-once-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Files of this directory open in this process (/proc/self/fd), by whatever name they had when opened. */
const openFiles = (): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false; // closed meanwhile (the one readdir used)
    }
  }).length;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const decodeFile = async (path: string) => decodePutPayload({ encoding: 'file', path, mode: 'copy' }, 1024);

it.each([
  ['small', 1000, false],
  ['large, read on the worker', 16 * MiB, false],
  ['large, into a buffer made ahead (one message to the worker)', 16 * MiB, true],
])('%s: the put reads the file it opened, not one renamed onto the path since, and leaves none open', async (_what, size, ahead) => {
  const path = join(dir, `named-${size}.bin`);
  const first = Buffer.alloc(size, 1);
  const other = Buffer.alloc(size, 2);
  writeFileSync(path, first);
  writeFileSync(`${path}.other`, other);
  if (ahead) await spareOf(size);
  const before = openFiles();
  const decoded = await decodeFile(path);
  renameSync(`${path}.other`, path);
  const loaded = await loadPutSource(decoded.source);
  expect(loaded.kind === 'bytes' && loaded.sha256).toBe(sha(first));
  expect(loaded.kind === 'bytes' && loaded.bytes.equals(first)).toBe(true);
  await vi.waitFor(() => expect(openFiles()).toBe(before)); // closed once read, not waited for
});

it('a put refused before reading (the file never taken) closes it once its turn ends; a reader later opens the path', async () => {
  const path = join(dir, 'refused.bin');
  writeFileSync(path, 'refused');
  const before = openFiles();
  const decoded = await decodeFile(path);
  expect(openFiles()).toBe(before + 1);
  await turn();
  await vi.waitFor(() => expect(openFiles()).toBe(before)); // its close, on the thread pool
  const loaded = await loadPutSource(decoded.source);
  expect(loaded.kind === 'bytes' && loaded.bytes.toString()).toBe('refused');
  expect(openFiles()).toBe(before); // opened by path, and closed, in the read
});

it.each([1000, 6 * MiB + 7])('a file of %i bytes that grows once opened is IOFailure (ECHANGED), and is closed', async (size) => {
  const path = join(dir, `grows-${size}.bin`);
  writeFileSync(path, Buffer.alloc(size, 3));
  const before = openFiles();
  const decoded = await decodeFile(path);
  appendFileSync(path, 'more');
  await expect(loadPutSource(decoded.source)).rejects.toMatchObject({ kind: 'IOFailure', context: { details: { code: 'ECHANGED', size } } });
  await turn();
  expect(openFiles()).toBe(before);
});

it('a path that cannot be read fails in the payload step, leaving nothing open', async () => {
  const before = openFiles();
  await expect(decodeFile(join(dir, 'missing.bin'))).rejects.toMatchObject({ kind: 'InvalidArgument', context: { details: { code: 'ENOENT' } } });
  await expect(decodeFile(dir)).rejects.toMatchObject({ kind: 'InvalidArgument', context: { details: { code: 'ENOTREG' } } });
  expect(openFiles()).toBe(before);
});

describe.each(['blake2b', 'sha256'] as const)('a file datastore (%s records)', (checksum) => {
  const dt = makeDatasetType({ name: 'blob', storageClass: 'Bytes', dimensions: ['instrument', 'detector'] });
  const ref = (detector: number) => {
    const dataId = Object.freeze({ instrument: 'Cam', detector });
    return { id: makeDatasetId('DATAID_TYPE_RUN', dt.name, dataId, dt.dimensions, 'run1'), datasetType: dt, dataId, run: 'run1' };
  };
  const datastore = () => {
    const root = mkdtempSync(join(dir, 'repo-'));
    return new FileDatastore({ name: 'x', root, store: new FileStore(root), template: DEFAULT_TEMPLATE, records: new RecordsTable(':memory:'), storageClasses: StorageClassRegistry.withBuiltins(), checksum });
  };

  it.each([1000, 6 * MiB + 7])('copies the %i-byte file it was lent, not one renamed onto the path since, and leaves none open', async (size) => {
    const ds = datastore();
    const path = join(dir, `copied-${checksum}-${size}.bin`);
    const first = Buffer.alloc(size, 4);
    writeFileSync(path, first);
    writeFileSync(`${path}.other`, Buffer.alloc(size, 5));
    const before = openFiles();
    const decoded = await decodeFile(path);
    renameSync(`${path}.other`, path);
    const stored = await ds.put(decoded.source, ref(1));
    expect(stored.sha256).toBe(sha(first));
    expect((await ds.getBytes(ref(1))).bytes.equals(first)).toBe(true);
    expect(openFiles()).toBe(before);
  });

  it('a put refused once the file was taken (already stored, other bytes) closes it', async () => {
    const ds = datastore();
    const path = join(dir, `again-${checksum}.bin`);
    writeFileSync(path, 'one');
    await ds.put((await decodeFile(path)).source, ref(2));
    writeFileSync(path, 'two');
    const before = openFiles();
    await expect(ds.put((await decodeFile(path)).source, ref(2))).rejects.toMatchObject({ kind: 'DatasetAlreadyStored' });
    expect(openFiles()).toBe(before);
  });
});
