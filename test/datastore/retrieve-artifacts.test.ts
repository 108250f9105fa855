/**
 * retrieve_artifacts and retrieve_artifacts_zip (daf_butler): files placed by every transfer
 * mode, with or without their datastore path, refusal to overwrite, and daf_butler's ZipIndex
 * beside the files and inside the Zip.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { unzipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDatastore } from '../../src/datastore/file-datastore.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { RecordsTable } from '../../src/datastore/records-table.js';
import { DEFAULT_TEMPLATE } from '../../src/datastore/location-template.js';
import { retrieveInto } from '../../src/datastore/retrieve-artifacts.js';
import { writeArtifactZip, ZIP_INDEX_NAME } from '../../src/datastore/zip-index.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { FileStore } from '../../src/store/file-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';

const reg = StorageClassRegistry.withBuiltins();
const dt = makeDatasetType({ name: 'calexp', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'] });
const ref = (detector: number): DatasetRef => {
  const dataId = Object.freeze({ instrument: 'LSSTCam', detector });
  return { id: makeDatasetId('DATAID_TYPE_RUN', dt.name, dataId, dt.dimensions, 'run1'), datasetType: dt, dataId, run: 'run1' };
};

let dir: string;
let store: FileStore;
let ds: FileDatastore;
let out: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qb-retrieve-'));
  store = new FileStore(join(dir, 'repo'));
  ds = new FileDatastore({ name: 'FileDatastore@<butlerRoot>/datastore', root: join(dir, 'repo'), store, template: DEFAULT_TEMPLATE, records: new RecordsTable(':memory:'), storageClasses: reg, checksum: 'blake2b' });
  for (const d of [1, 2]) await ds.put({ kind: 'value', value: { detector: d } }, ref(d));
  out = join(dir, 'out');
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const refs = () => [ref(1), ref(2)];
// Not daf_butler's default, so an index naming 'daf_butler' would show the universe was not passed through.
const UNIVERSE = { namespace: 'test_universe', version: 3 };
const retrieve = async (opts: Partial<Parameters<typeof retrieveInto>[2]> = {}) =>
  retrieveInto(refs(), await ds.artifacts(refs()), { destination: out, transfer: 'auto', preservePath: true, overwrite: false, ...opts }, UNIVERSE);

describe('retrieveArtifacts', () => {
  it('copies each artifact under its datastore path and writes the ZipIndex beside them', async () => {
    const got = await retrieve();
    const rec1 = (await ds.record(ref(1)))!;
    expect(got.map((a) => a.path).sort()).toEqual([join(out, rec1.path), join(out, (await ds.record(ref(2)))!.path)].sort());
    expect(JSON.parse(readFileSync(join(out, rec1.path), 'utf8'))).toEqual({ detector: 1 });
    expect(lstatSync(join(out, rec1.path)).isSymbolicLink()).toBe(false);
    const index = JSON.parse(readFileSync(join(out, ZIP_INDEX_NAME), 'utf8'));
    expect(index.index_version).toBe('V1');
    expect(index.refs).toMatchObject({ container_version: 'V1', universe_namespace: 'test_universe', universe_version: 3, dimension_records: null });
    expect(index.refs.dataset_types.calexp).toEqual({ name: 'calexp', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'], parentStorageClass: null, isCalibration: false });
    expect(index.refs.compact_refs[ref(1).id]).toEqual({ dataset_type_name: 'calexp', run: 'run1', data_id: { instrument: 'LSSTCam', detector: 1 } });
    expect(index.artifact_map[rec1.path]).toEqual({
      info: { formatter: 'lsst.daf.butler.formatters.json.JsonFormatter', path: rec1.path, storage_class: 'StructuredDataDict', component: null, checksum: rec1.checksum, file_size: rec1.file_size },
      ids: [ref(1).id],
    });
  });

  it('without preserve_path keeps only the file names', async () => {
    const got = await retrieve({ preservePath: false });
    for (const a of got) expect(a.path.startsWith(out + '/')).toBe(true);
    expect(got.every((a) => !a.path.slice(out.length + 1).includes('/'))).toBe(true);
  });

  it('links: hard links share the inode, symbolic links point at the datastore file (absolute or relative)', async () => {
    const rec1 = (await ds.record(ref(1)))!;
    const src = join(dir, 'repo', rec1.path);
    await retrieve({ transfer: 'hardlink', destination: join(dir, 'h') });
    expect(statSync(join(dir, 'h', rec1.path)).ino).toBe(statSync(src).ino);
    await retrieve({ transfer: 'link', destination: join(dir, 'l') });
    expect(statSync(join(dir, 'l', rec1.path)).ino).toBe(statSync(src).ino);
    await retrieve({ transfer: 'symlink', destination: join(dir, 's') });
    expect(readlinkSync(join(dir, 's', rec1.path))).toBe(src);
    await retrieve({ transfer: 'relsymlink', destination: join(dir, 'r') });
    const rel = readlinkSync(join(dir, 'r', rec1.path));
    expect(rel.startsWith('..')).toBe(true);
    expect(readFileSync(join(dir, 'r', rec1.path), 'utf8')).toBe(readFileSync(src, 'utf8'));
  });

  it('refuses move, and refuses to overwrite unless asked, writing nothing then', async () => {
    await expect(retrieve({ transfer: 'move' as never })).rejects.toMatchObject({ kind: 'InvalidArgument', message: 'Can not move artifacts out of datastore. Use copy instead.' });
    const rec2 = (await ds.record(ref(2)))!;
    mkdirSync(join(out, rec2.path, '..'), { recursive: true });
    writeFileSync(join(out, rec2.path), 'mine');
    await expect(retrieve()).rejects.toMatchObject({ kind: 'FileExists' });
    expect(existsSync(join(out, (await ds.record(ref(1)))!.path))).toBe(false);
    expect(readFileSync(join(out, rec2.path), 'utf8')).toBe('mine');
    await retrieve({ overwrite: true });
    expect(JSON.parse(readFileSync(join(out, rec2.path), 'utf8'))).toEqual({ detector: 2 });
  });

  it('an in-memory datastore writes its stored bytes (there is no file to link)', async () => {
    const mem = new MemoryDatastore('InMemoryDatastore@m', new MemoryStore(), reg);
    await mem.put({ kind: 'value', value: { a: 1 } }, ref(1));
    const got = await retrieveInto([ref(1)], await mem.artifacts([ref(1)]), { destination: out, transfer: 'symlink', preservePath: false, overwrite: false }, UNIVERSE);
    expect(lstatSync(got[0]!.path).isSymbolicLink()).toBe(false);
    expect(readFileSync(got[0]!.path, 'utf8')).toBe('{"a":1}');
    await expect(mem.artifacts([ref(2)])).rejects.toMatchObject({ kind: 'DatasetNotFound' });
  });
});

describe('retrieveArtifactsZip', () => {
  it('writes <uuid5>.zip holding the index first and every artifact under <id8>-<name>', async () => {
    const zipPath = await writeArtifactZip(out, refs(), await ds.artifacts(refs()), true, UNIVERSE);
    const files = unzipSync(new Uint8Array(readFileSync(zipPath)));
    const names = Object.keys(files);
    expect(names[0]).toBe(ZIP_INDEX_NAME);
    const members = names.slice(1).sort();
    const expected = await Promise.all(refs().map(async (r) => `${r.id.slice(0, 8)}-${(await ds.record(r))!.path.split('/').pop()}`));
    expect(members).toEqual(expected.sort());
    // daf_butler's name: uuid5(DatasetIdFactory.NS_UUID, ",".join(sorted(member paths))).
    expect(zipPath).toBe(join(out, `${uuidv5(members.join(','), '840b31d9-05cd-5161-b2c8-00d32b280d0f')}.zip`));
    const index = JSON.parse(Buffer.from(files[ZIP_INDEX_NAME]!).toString('utf8'));
    expect(index.refs).toMatchObject({ universe_namespace: 'test_universe', universe_version: 3 });
    expect(Object.keys(index.artifact_map).sort()).toEqual(members);
    for (const m of members) {
      const [id8] = m.split('-');
      const r = refs().find((x) => x.id.startsWith(id8!))!;
      expect(index.artifact_map[m].ids).toEqual([r.id]);
      const bytes = Buffer.from(files[m]!);
      expect(createHash('blake2b512').update(bytes).digest('hex')).toBe(index.artifact_map[m].info.checksum);
    }
    await expect(writeArtifactZip(out, refs(), await ds.artifacts(refs()), false, UNIVERSE)).rejects.toMatchObject({ kind: 'FileExists' });
    await expect(writeArtifactZip(out, [], [], true, UNIVERSE)).rejects.toMatchObject({ kind: 'InvalidArgument' });
  });
});
