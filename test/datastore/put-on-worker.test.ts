/**
 * A file datastore whose records carry no checksum (the default) puts a large file by path with
 * its SHA-256 alone: copied and hashed on the hash worker (copyOnWorker), the main thread free.
 * When the worker is busy it is not waited for, and when it stops the copy is made here; a file
 * whose size changes meanwhile fails (ECHANGED), the file the caller opened is used and closed once.
 * (Its own file: the worker is per module, and here it must be made afresh by each test.)
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FileDatastore } from '../../src/datastore/file-datastore.js';
import { PARALLEL_HASH_MIN } from '../../src/datastore/file-transfer.js';
import { DEFAULT_TEMPLATE } from '../../src/datastore/location-template.js';
import { OpenedFile } from '../../src/datastore/opened-file.js';
import { RecordsTable } from '../../src/datastore/records-table.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { FileStore } from '../../src/store/file-store.js';
import { sha256Hex } from '../../src/util/checksum.js';
import { RemoteHash, hashWorkerFactory, sharedChunk } from '../../src/util/parallel-hash.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';

const storageClasses = StorageClassRegistry.withBuiltins();
const blobType = makeDatasetType({ name: 'blob', storageClass: 'Bytes', dimensions: ['instrument', 'detector'] });
const blobRef = (detector: number): DatasetRef => {
  const dataId = Object.freeze({ instrument: 'Cam', detector });
  return { id: makeDatasetId('DATAID_TYPE_RUN', blobType.name, dataId, blobType.dimensions, 'run1'), datasetType: blobType, dataId, run: 'run1' };
};
const realCreate = hashWorkerFactory.create;
/** The ops of every message sent to the hash workers made since the test began. */
let ops: string[];
/** Those workers, ended after each test (the next makes its own). */
const made: Worker[] = [];
let dir: string;
let store: FileStore;
let ds: FileDatastore;

/** Workers made by `create`, every message's op recorded. */
function recording(create: (source: string, options: WorkerOptions) => Worker): void {
  hashWorkerFactory.create = (source, options) => {
    const w = create(source, options);
    made.push(w);
    const post = w.postMessage.bind(w);
    w.postMessage = (m: { op: string }) => {
      ops.push(m.op);
      post(m);
    };
    return w;
  };
}

beforeEach(() => {
  ops = [];
  dir = mkdtempSync(join(tmpdir(), 'qb-put-on-worker-'));
  store = new FileStore(dir);
  ds = new FileDatastore({ name: 'FileDatastore@test', root: dir, store, template: DEFAULT_TEMPLATE, records: new RecordsTable(':memory:'), storageClasses, checksum: null });
});
afterEach(async () => {
  hashWorkerFactory.create = realCreate;
  await Promise.all(made.splice(0).map((w) => w.terminate()));
  ds.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const temps = () => readdirSync(dir, { recursive: true }).map(String).filter((p) => p.endsWith('.tmp') || p.includes('.qbtmp-'));

async function expectStored(bytes: Buffer, detector: number, src: string): Promise<void> {
  const put = await ds.put({ kind: 'file', path: src }, blobRef(detector));
  const sha = sha256Hex(bytes);
  expect(put).toMatchObject({ unchanged: false, sha256: sha, info: { file_size: bytes.length, checksum: null } });
  expect((await store.getData(put.info.path)).equals(bytes)).toBe(true);
  expect(await store.getMetadata(put.info.path)).toEqual({ datasetId: blobRef(detector).id, sha256: sha });
  expect(temps()).toEqual([]);
}

// First: no worker of the module has started yet.
it('a large put is copied and hashed on the worker; a small one is not', async () => {
  recording(realCreate);
  const bytes = randomBytes(PARALLEL_HASH_MIN + 3 * 1024 * 1024 + 5);
  const src = join(dir, 'in.bin');
  writeFileSync(src, bytes);
  await expectStored(bytes, 1, src);
  expect(ops).toEqual(['copy']);
  const small = randomBytes(PARALLEL_HASH_MIN - 1);
  writeFileSync(src, small);
  await expectStored(small, 2, src);
  expect(ops).toEqual(['copy']);
});

it('a file the caller opened is copied from there and closed once; a size changed since it was opened is ECHANGED', async () => {
  recording(realCreate);
  const bytes = randomBytes(PARALLEL_HASH_MIN + 1024 * 1024);
  const src = join(dir, 'in.bin');
  writeFileSync(src, bytes);
  const opened = await OpenedFile.open(src);
  rmSync(src); // read from the open file, not the path
  const put = await ds.put({ kind: 'file', path: src, opened: opened.lend() }, blobRef(1));
  expect(put).toMatchObject({ sha256: sha256Hex(bytes), info: { file_size: bytes.length } });
  await expect(opened.handle.stat()).rejects.toThrow(); // closed
  expect(ops).toEqual(['copy']);

  for (const [detector, change] of [
    [2, () => appendFileSync(src, 'more')],
    [3, () => truncateSync(src, 1000)],
  ] as const) {
    writeFileSync(src, bytes);
    const file = await OpenedFile.open(src);
    change();
    await expect(ds.put({ kind: 'file', path: src, opened: file.lend() }, blobRef(detector))).rejects.toMatchObject({ kind: 'IOFailure', context: { details: { code: 'ECHANGED' } } });
    await expect(file.handle.stat()).rejects.toThrow();
    expect(await ds.exists(blobRef(detector))).toBe(false);
    expect(temps()).toEqual([]);
  }
  expect(ops).toEqual(['copy', 'copy', 'copy']);
});

it('a busy worker is not waited for: the put is hashed here', async () => {
  // A worker that holds each hash update until its digest is asked for, and refuses copies.
  recording(
    () =>
      new Worker(
        `const { parentPort } = require('node:worker_threads'); const held = [];
         parentPort.on('message', (m) => {
           if (m.op === 'update') held.push(m.id);
           else if (m.op === 'digest') { for (const id of held) parentPort.postMessage({ id }); parentPort.postMessage({ id: m.id, digest: 'd' }); }
           else parentPort.postMessage({ id: m.id, error: 'not expected: ' + m.op });
         });`,
        { eval: true },
      ),
  );
  const busy = new RemoteHash('sha256');
  const update = busy.update(sharedChunk(16));
  const bytes = randomBytes(PARALLEL_HASH_MIN + 5);
  const src = join(dir, 'in.bin');
  writeFileSync(src, bytes);
  await expectStored(bytes, 1, src);
  expect(ops).toEqual(['update']);
  expect(await busy.digest()).toBe('d');
  await update;
});

it('a worker that stops during the copy: copied again here, same bytes', async () => {
  recording(() => new Worker('require("node:worker_threads").parentPort.once("message", () => process.exit(3))', { eval: true }));
  const bytes = randomBytes(PARALLEL_HASH_MIN + 3 * 1024 * 1024 + 5);
  const src = join(dir, 'in.bin');
  writeFileSync(src, bytes);
  await expectStored(bytes, 1, src);
  expect(ops).toEqual(['copy']);
});
