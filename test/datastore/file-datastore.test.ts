/**
 * FileDatastore reads: through a record, or (trust mode) straight from the path the
 * template predicts; a file store's getData reads the data file alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDatastore } from '../../src/datastore/file-datastore.js';
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
const datastore = (records = new RecordsTable(':memory:')): FileDatastore =>
  new FileDatastore({ name: 'FileDatastore@test', root: dir, store, template: DEFAULT_TEMPLATE, records, storageClasses, checksum: 'blake2b' });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qb-fileds-'));
  store = new FileStore(dir);
});
afterEach(async () => {
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

  it("a file store's getData is the data alone, whatever its metadata", async () => {
    await store.set('k', Buffer.from('data'), { note: 'x' });
    expect((await store.getData('k')).toString()).toBe('data');
    await expect(store.getData('missing')).rejects.toThrow();
  });
});
