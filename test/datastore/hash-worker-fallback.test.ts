/**
 * A file datastore's put by path of a large file hashes blake2b on the hash worker (and its get
 * by path half the SHA-256): when that worker cannot start, fails as it starts, or stops part-way,
 * the put and get still succeed, every hash computed on the main thread instead, with the same
 * bytes, record and store metadata.
 * (Its own file: the worker is per module, and here it must be made afresh by each test.)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FileDatastore } from '../../src/datastore/file-datastore.js';
import { PARALLEL_HASH_MIN } from '../../src/datastore/file-transfer.js';
import { DEFAULT_TEMPLATE } from '../../src/datastore/location-template.js';
import { RecordsTable } from '../../src/datastore/records-table.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { FileStore } from '../../src/store/file-store.js';
import { blake2bHex, sha256Hex } from '../../src/util/checksum.js';
import { HashWorkerUnavailable, RemoteHash, hashWorkerFactory, sharedChunk } from '../../src/util/parallel-hash.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';

const storageClasses = StorageClassRegistry.withBuiltins();
const blobType = makeDatasetType({ name: 'blob', storageClass: 'Bytes', dimensions: ['instrument', 'detector'] });
const blobRef = (detector: number): DatasetRef => {
  const dataId = Object.freeze({ instrument: 'Cam', detector });
  return { id: makeDatasetId('DATAID_TYPE_RUN', blobType.name, dataId, blobType.dimensions, 'run1'), datasetType: blobType, dataId, run: 'run1' };
};
const realCreate = hashWorkerFactory.create;
let dir: string;
let store: FileStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qb-hash-fallback-'));
  store = new FileStore(dir);
});
afterEach(async () => {
  hashWorkerFactory.create = realCreate;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

// First: no worker of the module has started yet (the tests below leave a working one).
it('a hash whose worker stopped fails each later update at once, not never', async () => {
  hashWorkerFactory.create = () => new Worker('require("node:worker_threads").parentPort.once("message", () => process.exit(3))', { eval: true });
  const h = new RemoteHash('blake2b512');
  const chunk = sharedChunk(16);
  await expect(h.update(chunk)).rejects.toBeInstanceOf(HashWorkerUnavailable);
  // Sent to a worker that is gone, an update would wait for an answer forever.
  const late = Promise.race([h.update(chunk).then(() => 'answered', (err: unknown) => err), new Promise((r) => setTimeout(() => r('no answer'), 5000))]);
  expect(await late).toBeInstanceOf(HashWorkerUnavailable);
  await expect(h.digest()).rejects.toBeInstanceOf(HashWorkerUnavailable);
});

it.each([
  ['cannot start (the constructor throws)', () => {
    throw new Error('no threads left');
  }],
  ['fails as it starts', () => new Worker('throw new Error("cannot start")', { eval: true })],
  // It takes the first chunk, then exits: the chunks after it are sent to a worker that is gone.
  ['stops after the first chunk', () => new Worker('require("node:worker_threads").parentPort.once("message", () => process.exit(3))', { eval: true })],
])('a put by path when the hash worker %s: hashed here instead, same bytes and record', async (_how, create) => {
  hashWorkerFactory.create = create;
  // More chunks than the shared buffers, so the copy goes on after the worker is gone.
  const bytes = randomBytes(PARALLEL_HASH_MIN + 3 * 1024 * 1024 + 5);
  const src = join(dir, 'in.bin');
  writeFileSync(src, bytes);
  const ds = new FileDatastore({ name: 'FileDatastore@test', root: dir, store, template: DEFAULT_TEMPLATE, records: new RecordsTable(':memory:'), storageClasses, checksum: 'blake2b' });
  const put = await ds.put({ kind: 'file', path: src }, blobRef(1));
  const sha = sha256Hex(bytes);
  expect(put).toMatchObject({ unchanged: false, sha256: sha });
  expect(put.info).toMatchObject({ file_size: bytes.length, checksum: blake2bHex(bytes) });
  expect((await store.getData(put.info.path)).equals(bytes)).toBe(true);
  expect(await store.getMetadata(put.info.path)).toEqual({ datasetId: blobRef(1).id, sha256: sha });
  expect(readdirSync(dir, { recursive: true }).map(String).filter((p) => p.includes('.qbtmp-'))).toEqual([]);

  // A get by path checks the artifact's halves at once, the first on the worker: without it,
  // the whole here, with the same bytes.
  const got = join(dir, 'got.bin');
  expect((await ds.getToFile(blobRef(1), got)).size).toBe(bytes.length);
  expect(readFileSync(got).equals(bytes)).toBe(true);
  expect(readdirSync(dir).filter((p) => p.endsWith('.tmp'))).toEqual([]);

  // The worker is tried again for the next put: with one that works, the same results.
  hashWorkerFactory.create = realCreate;
  const again = await ds.put({ kind: 'file', path: src }, blobRef(2));
  expect(again).toMatchObject({ unchanged: false, sha256: sha, info: { checksum: blake2bHex(bytes) } });
  ds.close();
});
