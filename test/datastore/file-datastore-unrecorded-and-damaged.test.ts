/**
 * FileDatastore against files it did not record and files changed after it did: a put that
 * finds a file at its path with no record adopts identical bytes (and records them) and refuses
 * other bytes; a get of an artifact whose bytes no longer match the record's checksum (same
 * size) is ChecksumMismatch (docs/protocol/errors.md, 1032).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDatastore } from '../../src/datastore/file-datastore.js';
import { DEFAULT_TEMPLATE } from '../../src/datastore/location-template.js';
import { RecordsTable } from '../../src/datastore/records-table.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { ChecksumMismatch, DatasetAlreadyStored } from '../../src/model/errors.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { FileStore } from '../../src/store/file-store.js';

let dir: string;
let store: FileStore;
const storageClasses = StorageClassRegistry.withBuiltins();
const dt = makeDatasetType({ name: 'calexp', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'] });
const ref = (detector: number): DatasetRef => {
  const dataId = Object.freeze({ instrument: 'Cam', detector });
  return { id: makeDatasetId('DATAID_TYPE_RUN', dt.name, dataId, dt.dimensions, 'run1'), datasetType: dt, dataId, run: 'run1' };
};
const datastore = (records = new RecordsTable(':memory:')): FileDatastore =>
  new FileDatastore({ name: 'FileDatastore@test', root: dir, store, template: DEFAULT_TEMPLATE, records, storageClasses, checksum: 'blake2b' });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qb-fileds-unrec-'));
  store = new FileStore(dir);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a file at the path with no record', () => {
  it('identical bytes are adopted and recorded; different bytes are refused', async () => {
    const first = datastore();
    const put = await first.put({ kind: 'value', value: { a: 1 } }, ref(1));
    first.close();
    const second = datastore(); // another records table: the file is there, no record of it
    expect(await second.record(ref(1))).toBeUndefined();
    const again = await second.put({ kind: 'value', value: { a: 1 } }, ref(1));
    expect(again).toMatchObject({ unchanged: true, sha256: put.sha256 });
    expect(await second.record(ref(1))).toMatchObject({ path: put.info.path, file_size: put.info.file_size });
    second.close();
    const third = datastore();
    await expect(third.put({ kind: 'value', value: { a: 2 } }, ref(1))).rejects.toBeInstanceOf(DatasetAlreadyStored);
    expect(await third.record(ref(1))).toBeUndefined();
    third.close();
  });
});

describe('an artifact changed after it was recorded', () => {
  it('a get is ChecksumMismatch when the bytes changed but the size did not', async () => {
    const ds = datastore();
    const put = await ds.put({ kind: 'value', value: { a: 1 } }, ref(2));
    writeFileSync(join(dir, put.info.path), Buffer.from(JSON.stringify({ a: 7 })));
    await expect(ds.get(ref(2))).rejects.toBeInstanceOf(ChecksumMismatch);
    await expect(ds.getBytes(ref(2))).rejects.toBeInstanceOf(ChecksumMismatch);
    ds.close();
  });
});
