/**
 * FileDatastore reads: through a record, or (trust mode) straight from the path the
 * template predicts; a file store's getData reads the data file alone.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { changeAfterStat, failReadsFrom } from '../support/file-handle-faults.js';
import { FileDatastore, type ChecksumPolicy } from '../../src/datastore/file-datastore.js';
import { PARALLEL_HASH_MIN } from '../../src/datastore/file-transfer.js';
import { blake2bHex, sha256Hex } from '../../src/util/checksum.js';
import { DEFAULT_TEMPLATE } from '../../src/datastore/location-template.js';
import { RecordsTable } from '../../src/datastore/records-table.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { DatasetNotFound } from '../../src/model/errors.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { FileStore } from '../../src/store/file-store.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';

let dir: string;
let store: FileStore;
const storageClasses = StorageClassRegistry.withBuiltins();
const dt = makeDatasetType({ name: 'calexp', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'] });
const ref = (detector: number): DatasetRef => {
  const dataId = Object.freeze({ instrument: 'Cam', detector });
  return { id: makeDatasetId('DATAID_TYPE_RUN', dt.name, dataId, dt.dimensions, 'run1'), datasetType: dt, dataId, run: 'run1' };
};
const datastore = (records = new RecordsTable(':memory:'), checksum: ChecksumPolicy = 'blake2b'): FileDatastore =>
  new FileDatastore({ name: 'FileDatastore@test', root: dir, store, template: DEFAULT_TEMPLATE, records, storageClasses, checksum });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qb-fileds-'));
  store = new FileStore(dir);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('FileDatastore reads', () => {
  it('trust mode: a reader without the record finds the file at its predicted path', async () => {
    const writer = datastore();
    const put = await writer.put({ kind: 'value', value: { a: 1 } }, ref(1));
    const reader = datastore(); // another client: no records
    const { bytes, info } = await reader.getBytes(ref(1));
    expect(JSON.parse(bytes.toString())).toEqual({ a: 1 });
    expect(info).toMatchObject({ path: put.info.path, storage_class: 'StructuredDataDict', checksum: null, file_size: bytes.length });
    expect(await reader.get(ref(1))).toMatchObject({ value: { a: 1 } });
    expect(reader.trust).toEqual({ predictedReads: 2, predictedMisses: 0 });
    writer.close();
    reader.close();
  });

  it('trust mode: a missing file is DatasetNotFound, counted as a miss', async () => {
    const reader = datastore();
    await expect(reader.getBytes(ref(2))).rejects.toBeInstanceOf(DatasetNotFound);
    expect(reader.trust).toEqual({ predictedReads: 1, predictedMisses: 1 });
    reader.close();
  });

  it('with a record, reads where the record says and reports the record', async () => {
    const ds = datastore();
    const put = await ds.put({ kind: 'value', value: { b: 2 } }, ref(3));
    const { info } = await ds.getBytes(ref(3));
    expect(info).toMatchObject({ path: put.info.path, checksum: put.info.checksum, file_size: put.info.file_size });
    expect(ds.trust).toEqual({ predictedReads: 0, predictedMisses: 0 });
    ds.close();
  });

  it("a repository's own records stand instead of a quantum's for the datasets it holds; the quantum's serve the rest", async () => {
    const writer = datastore();
    const held = await writer.put({ kind: 'value', value: { a: 1 } }, ref(1));
    const other = await writer.put({ kind: 'value', value: { b: 2 } }, ref(2));
    const repositoryRecords = await writer.exportRecords([ref(1)]);
    // The quantum's records: daf_butler's, of FITS files in another repository's datastore.
    const foreign = (id: string) => new Map([['file_datastore_records', [{ formatter: 'lsst.obs.base.formatters.fitsExposure.FitsExposureFormatter', path: `elsewhere/${id}.fits`, storage_class: 'ExposureF', component: '__NULL_STRING__', checksum: null, file_size: 71204160 }]]]);
    const quantumRecords = new Map([[ref(1).id, foreign(ref(1).id)], [ref(2).id, foreign(ref(2).id)]]);
    const asked: string[][] = [];
    const reader = new FileDatastore({
      name: 'FileDatastore@test', root: dir, store, template: DEFAULT_TEMPLATE, records: new RecordsTable(':memory:'), storageClasses, checksum: 'blake2b',
      heldRecords: async (ids) => (asked.push([...ids]), repositoryRecords),
    });
    await reader.importRecords(quantumRecords as never);
    expect(asked).toEqual([[ref(1).id, ref(2).id]]);
    expect(await reader.get(ref(1))).toMatchObject({ value: { a: 1 } });
    expect((await reader.getBytes(ref(1))).info).toMatchObject({ path: held.info.path, checksum: held.info.checksum });
    // Not held by the repository: the quantum's record is what the datastore knows (as in daf_butler).
    await expect(reader.getBytes(ref(2))).rejects.toBeInstanceOf(DatasetNotFound);
    expect(other.info.path).not.toBe(`elsewhere/${ref(2).id}.fits`);
    writer.close();
    reader.close();
  });

  it("a file store's getData is the data alone, whatever its metadata", async () => {
    await store.set('k', Buffer.from('data'), { note: 'x' });
    expect((await store.getData('k')).toString()).toBe('data');
    await expect(store.getData('missing')).rejects.toThrow();
  });
});

describe('FileDatastore reads of records without a checksum (daf_butler\'s default)', () => {
  it('check the size, by value and by path: another size is ChecksumMismatch and leaves no destination; the same size is read', async () => {
    const ds = datastore(undefined, null);
    const put = await ds.put({ kind: 'value', value: { n: 1 } }, ref(1));
    expect(put.info.checksum).toBeNull();
    const file = join(dir, put.info.path);
    const dest = join(dir, 'out.json');
    expect((await ds.getToFile(ref(1), dest)).size).toBe(put.info.file_size);
    writeFileSync(file, '{"n":12}');
    await expect(ds.getBytes(ref(1))).rejects.toMatchObject({
      kind: 'ChecksumMismatch',
      context: { details: { recordedSize: put.info.file_size, actualSize: put.info.file_size + 1 } },
    });
    rmSync(dest);
    await expect(ds.getToFile(ref(1), dest)).rejects.toMatchObject({ kind: 'ChecksumMismatch' });
    expect(readdirSync(dir).filter((f) => f.startsWith('out'))).toEqual([]);
    // A change that keeps the size is not seen (daf_butler's check is the same).
    writeFileSync(file, '{"n":2}');
    expect(await ds.get(ref(1))).toMatchObject({ value: { n: 2 } });
    ds.close();
  });

  it('a record of unknown size (-1: predicted, trust mode) checks nothing', async () => {
    const ds = datastore(undefined, null);
    await ds.put({ kind: 'value', value: { n: 1 } }, ref(1));
    const reader = datastore(undefined, null);
    await reader.importRecords(ds.exportPredictedRecords([ref(1)]));
    expect((await reader.record(ref(1)))?.file_size).toBe(-1);
    expect(await reader.get(ref(1))).toMatchObject({ value: { n: 1 } });
    expect((await reader.getToFile(ref(1), join(dir, 'out.json'))).size).toBe(7);
    ds.close();
    reader.close();
  });
});

describe('FileDatastore puts from a file path (copied in chunks, each hashed as it is written)', () => {
  const blobType = makeDatasetType({ name: 'blob', storageClass: 'Bytes', dimensions: ['instrument', 'detector'] });
  const blobRef = (detector: number): DatasetRef => {
    const dataId = Object.freeze({ instrument: 'Cam', detector });
    return { id: makeDatasetId('DATAID_TYPE_RUN', blobType.name, dataId, blobType.dimensions, 'run1'), datasetType: blobType, dataId, run: 'run1' };
  };
  const withPolicy = (checksum: ChecksumPolicy): FileDatastore =>
    new FileDatastore({ name: 'FileDatastore@test', root: dir, store, template: DEFAULT_TEMPLATE, records: new RecordsTable(':memory:'), storageClasses, checksum });
  const tempsLeft = (): string[] => readdirSync(dir, { recursive: true }).map(String).filter((p) => p.includes('.qbtmp-'));
  /** After a refused put: no record, no file where it would have gone, no temp file left. */
  const expectNothingStored = async (ds: FileDatastore, ref: DatasetRef): Promise<void> => {
    expect(await ds.exists(ref)).toBe(false);
    expect(await store.exists(ds.predictedPath(ref))).toBe(false);
    expect(tempsLeft()).toEqual([]);
  };

  it.each([
    ['blake2b, several chunks', 'blake2b', 3 * 1024 * 1024 + 5],
    // From PARALLEL_HASH_MIN on, blake2b runs on the hash worker while SHA-256 runs here.
    ['blake2b on the hash worker, more chunks than shared buffers', 'blake2b', PARALLEL_HASH_MIN + 3 * 1024 * 1024 + 5],
    ['sha256, large (one hash: no worker)', 'sha256', PARALLEL_HASH_MIN + 1],
    ['blake2b, small', 'blake2b', 1000],
    ['sha256', 'sha256', 2 * 1024 * 1024],
    ['none', null, 1234],
    ['empty', 'blake2b', 0],
  ] as const)('%s: the stored bytes, record and store metadata are those of the file', async (_name, policy, size) => {
    const bytes = randomBytes(size);
    const src = join(dir, 'in.bin');
    writeFileSync(src, bytes);
    const ds = withPolicy(policy);
    const put = await ds.put({ kind: 'file', path: src }, blobRef(1));
    const sha = sha256Hex(bytes);
    expect(put).toMatchObject({ unchanged: false, sha256: sha });
    expect(put.info).toMatchObject({ file_size: size, storage_class: 'Bytes', checksum: policy === 'blake2b' ? blake2bHex(bytes) : policy === 'sha256' ? sha : null });
    expect((await store.getData(put.info.path)).equals(bytes)).toBe(true);
    expect(await store.getMetadata(put.info.path)).toEqual({ datasetId: blobRef(1).id, sha256: sha });
    // The same put again is a no-op; other bytes are refused.
    expect(await ds.put({ kind: 'file', path: src }, blobRef(1))).toMatchObject({ unchanged: true, sha256: sha });
    writeFileSync(src, Buffer.concat([bytes, Buffer.from('x')]));
    await expect(ds.put({ kind: 'file', path: src }, blobRef(1))).rejects.toMatchObject({ kind: 'DatasetAlreadyStored' });
    expect(tempsLeft()).toEqual([]);
    ds.close();
  });

  it('the same bytes put from a file and from memory give the same record', async () => {
    const bytes = randomBytes(1536 * 1024);
    const src = join(dir, 'in.bin');
    writeFileSync(src, bytes);
    const ds = withPolicy('blake2b');
    const fromFile = await ds.put({ kind: 'file', path: src }, blobRef(1));
    const fromBytes = await ds.put({ kind: 'bytes', bytes }, blobRef(2));
    expect({ ...fromFile.info, path: '' }).toEqual({ ...fromBytes.info, path: '' });
    ds.close();
  });

  it('a source gone before the copy is InvalidArgument, a directory too (not a regular file); neither leaves anything stored', async () => {
    const ds = withPolicy('blake2b');
    await expect(ds.put({ kind: 'file', path: join(dir, 'missing.bin') }, blobRef(1))).rejects.toMatchObject({ kind: 'InvalidArgument' });
    // A directory is refused when opened (util/regular-file.ts), likewise leaving nothing.
    mkdirSync(join(dir, 'a-directory'));
    await expect(ds.put({ kind: 'file', path: join(dir, 'a-directory') }, blobRef(1))).rejects.toMatchObject({ kind: 'InvalidArgument', context: { details: { code: 'ENOTREG' } } });
    await expectNothingStored(ds, blobRef(1));
    ds.close();
  });

  it.each([
    ['grows', 2 * 1024 * 1024 + 7, (p: string) => appendFileSync(p, 'more')],
    ['shrinks', 2 * 1024 * 1024 + 7, (p: string) => truncateSync(p, 1024 * 1024 + 3)],
    ['grows (hashed on the worker too)', PARALLEL_HASH_MIN + 7, (p: string) => appendFileSync(p, 'more')],
    ['shrinks (hashed on the worker too)', PARALLEL_HASH_MIN + 7, (p: string) => truncateSync(p, PARALLEL_HASH_MIN - 3)],
  ])('a file that %s while it is copied is IOFailure and leaves nothing stored', async (_how, size, change) => {
    const src = join(dir, 'in.bin');
    writeFileSync(src, randomBytes(size));
    await changeAfterStat(size, () => change(src));
    const ds = withPolicy('blake2b');
    await expect(ds.put({ kind: 'file', path: src }, blobRef(1))).rejects.toMatchObject({ kind: 'IOFailure', message: expect.stringContaining('size changed while it was read') });
    await expectNothingStored(ds, blobRef(1));
    ds.close();
  });

  it.each([
    ['', 3 * 1024 * 1024, 1024 * 1024],
    [' (hashed on the worker too)', PARALLEL_HASH_MIN + 3 * 1024 * 1024, PARALLEL_HASH_MIN + 1024 * 1024],
  ])('a read that fails part-way (while the chunk before is written) is IOFailure and leaves nothing stored%s', async (_how, size, from) => {
    const src = join(dir, 'in.bin');
    writeFileSync(src, randomBytes(size));
    await failReadsFrom(from);
    const ds = withPolicy('blake2b');
    await expect(ds.put({ kind: 'file', path: src }, blobRef(1))).rejects.toMatchObject({ kind: 'IOFailure', context: { details: { code: 'EIO' } } });
    await expectNothingStored(ds, blobRef(1));
    ds.close();
  });

  it('a storage class with a format to check reads the file whole and refuses bad content', async () => {
    const src = join(dir, 'in.json');
    writeFileSync(src, 'not json');
    const ds = withPolicy('blake2b');
    await expect(ds.put({ kind: 'file', path: src }, ref(1))).rejects.toMatchObject({ kind: 'InvalidValue' });
    writeFileSync(src, '{"a": 1}');
    expect(await ds.put({ kind: 'file', path: src }, ref(1))).toMatchObject({ sha256: sha256Hex(Buffer.from('{"a": 1}')) });
    expect(await ds.get(ref(1))).toMatchObject({ value: { a: 1 } });
    ds.close();
  });
});
