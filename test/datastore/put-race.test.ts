/**
 * Two processes putting the same output by path (a retried quantum while the first attempt
 * still runs): the one that publishes second never replaces the first one's artifact. Here
 * the other process publishes while this put is filling its temp file (after the path was
 * seen free): this put then answers DatasetAlreadyStored (other bytes) or adopts the file
 * (the same bytes), and the artifact is the other process's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FileDatastore } from '../../src/datastore/file-datastore.js';
import { DEFAULT_TEMPLATE } from '../../src/datastore/location-template.js';
import { RecordsTable } from '../../src/datastore/records-table.js';
import { DatasetAlreadyStored } from '../../src/model/errors.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { FileStore } from '../../src/store/file-store.js';
import { sha256Hex } from '../../src/util/checksum.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';
import { BUILT_STORE, assertBuilt } from '../store/multiprocess.js';

const storageClasses = StorageClassRegistry.withBuiltins();
const dt = makeDatasetType({ name: 'blob', storageClass: 'Bytes', dimensions: ['instrument', 'detector'] });
const dataId = Object.freeze({ instrument: 'Cam', detector: 1 });
const ref: DatasetRef = { id: makeDatasetId('DATAID_TYPE_RUN', dt.name, dataId, dt.dimensions, 'run1'), datasetType: dt, dataId, run: 'run1' };

let dir: string;
let root: string;
let ds: FileDatastore;
let records: RecordsTable;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qb-put-race-'));
  root = join(dir, 'root');
  records = new RecordsTable(':memory:');
  ds = new FileDatastore({ name: 'FileDatastore@test', root, store: new FileStore(root), template: DEFAULT_TEMPLATE, records, storageClasses, checksum: 'sha256' });
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Puts `mine` by path; once its temp file is being filled, another process (the built store) publishes `theirs` at the same path. */
async function putRacing(mine: Buffer, theirs: Buffer) {
  assertBuilt();
  const src = join(dir, 'mine.bin');
  writeFileSync(src, mine);
  const path = ds.predictedPath(ref);
  const target = join(root, path);
  let raced = false;
  const ctx = {
    checkCancelled: () => {
      const filling = existsSync(dirname(target)) && readdirSync(dirname(target)).some((n) => n.startsWith('.qbtmp-'));
      if (raced || !filling) return;
      raced = true;
      const script = `import { FileStore } from ${JSON.stringify(BUILT_STORE)};
const s = new FileStore(${JSON.stringify(root)});
const ok = await s.setFilled(${JSON.stringify(path)}, async (_t, fh) => { await fh.write(Buffer.from(${JSON.stringify(theirs.toString('base64'))}, 'base64')); return {}; }, { fresh: true });
if (!ok) process.exit(3);`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`the other writer failed (${r.status}): ${r.stderr}`);
    },
  };
  const result = await ds.put({ kind: 'file', path: src }, ref, ctx).then(
    (v) => ({ ok: v }),
    (err: unknown) => ({ err }),
  );
  expect(raced).toBe(true);
  return { result, onDisk: readFileSync(target) };
}

it('other bytes published meanwhile: DatasetAlreadyStored, no record, the other process\'s artifact stays', async () => {
  const { result, onDisk } = await putRacing(Buffer.from('mine '.repeat(1000)), Buffer.from('theirs '.repeat(1000)));
  expect('err' in result && result.err).toBeInstanceOf(DatasetAlreadyStored);
  expect(onDisk.toString()).toBe('theirs '.repeat(1000));
  expect(records.get(ref.id)).toBeUndefined();
});

it('the same bytes published meanwhile: adopted (unchanged), recorded, one file', async () => {
  const bytes = Buffer.from('same '.repeat(1000));
  const { result, onDisk } = await putRacing(bytes, bytes);
  expect('ok' in result && { unchanged: result.ok.unchanged, sha256: result.ok.sha256 }).toEqual({ unchanged: true, sha256: sha256Hex(bytes) });
  expect(onDisk.equals(bytes)).toBe(true);
  expect(records.get(ref.id)?.file_size).toBe(bytes.length);
  expect(readdirSync(dirname(join(root, ds.predictedPath(ref)))).filter((n) => n.startsWith('.qbtmp-'))).toEqual([]);
});
