/**
 * The steps of a file datastore's put by path, seen at the file system calls the store makes
 * (node:fs/promises, wrapped): the key's path is looked at once (no separate exists check before
 * the write's own), a directory seen missing is made before its temp file is opened (no open that
 * fails first), and the caller's file is closed once read, before the artifact is published.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { FileDatastore } from '../../src/datastore/file-datastore.js';
import { DEFAULT_TEMPLATE } from '../../src/datastore/location-template.js';
import { OpenedFile } from '../../src/datastore/opened-file.js';
import { RecordsTable } from '../../src/datastore/records-table.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { FileStore } from '../../src/store/file-store.js';
import { sha256Hex } from '../../src/util/checksum.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';

const calls = vi.hoisted(() => ({ log: [] as Array<{ op: string; path: string; failed?: string }>, onRename: undefined as ((from: string, to: string) => void) | undefined }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const fsp = await importOriginal<typeof FsPromises>();
  const watched =
    <A extends unknown[], R>(op: string, fn: (path: string, ...rest: A) => Promise<R>) =>
    async (path: string, ...rest: A): Promise<R> => {
      try {
        const r = await fn(path, ...rest);
        calls.log.push({ op, path: String(path) });
        return r;
      } catch (err) {
        calls.log.push({ op, path: String(path), failed: (err as NodeJS.ErrnoException).code });
        throw err;
      }
    };
  const rename = async (from: string, to: string) => {
    calls.onRename?.(String(from), String(to));
    return fsp.rename(from, to);
  };
  // A put by path publishes its data by a link (fresh: never over another writer's file).
  const link = async (from: string, to: string) => {
    calls.onRename?.(String(from), String(to));
    return fsp.link(from, to);
  };
  const mod = { ...fsp, open: watched('open', fsp.open as never), realpath: watched('realpath', fsp.realpath as never), rename, link };
  return { ...mod, default: mod };
});

const storageClasses = StorageClassRegistry.withBuiltins();
const dt = makeDatasetType({ name: 'blob', storageClass: 'Bytes', dimensions: ['instrument', 'detector'] });
const ref = (detector: number): DatasetRef => {
  const dataId = Object.freeze({ instrument: 'Cam', detector });
  return { id: makeDatasetId('DATAID_TYPE_RUN', dt.name, dataId, dt.dimensions, 'run1'), datasetType: dt, dataId, run: 'run1' };
};
const bytes = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 11 }, (_, i) => (i * 31) % 253));

let dir: string;
let root: string;
let src: string;
let ds: FileDatastore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qb-put-steps-'));
  root = join(dir, 'root');
  src = join(dir, 'in.bin');
  writeFileSync(src, bytes);
  ds = new FileDatastore({ name: 'FileDatastore@test', root, store: new FileStore(root), template: DEFAULT_TEMPLATE, records: new RecordsTable(':memory:'), storageClasses, checksum: null });
  calls.log.length = 0;
  calls.onRename = undefined;
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('a put by path into a new directory: its directories made before the temp files are opened (no open fails), the data tree looked up once', async () => {
  const put = await ds.put({ kind: 'file', path: src }, ref(1));
  expect(put.sha256).toBe(sha256Hex(bytes));
  expect(put.info.path.startsWith('run1/blob/')).toBe(true);
  const temps = calls.log.filter((c) => c.op === 'open' && c.path.includes('.qbtmp-'));
  expect(temps.length).toBeGreaterThanOrEqual(2); // the data's and the sidecar's
  expect(temps.filter((c) => c.failed)).toEqual([]);
  // One look at the data tree's directories for both the write's check and its head: no exists check before.
  expect(calls.log.filter((c) => c.op === 'realpath' && c.path.startsWith(join(root, 'run1')) && !c.path.includes('.qbstore'))).toHaveLength(1);
  expect((await ds.getBytes(ref(1))).bytes.equals(bytes)).toBe(true);
});

it('a put of a file the caller opened: closed once copied, before the artifact is published (and still closed by the time the put answers)', async () => {
  const opened = await OpenedFile.open(src);
  let openAtPublish: boolean | undefined;
  calls.onRename = (_from, to) => {
    if (!to.includes('.qbstore')) openAtPublish = opened.handle.fd !== -1;
  };
  const put = await ds.put({ kind: 'file', path: src, opened: opened.lend() }, ref(2));
  expect(put.sha256).toBe(sha256Hex(bytes));
  expect(openAtPublish).toBe(false);
  expect(opened.handle.fd).toBe(-1);
});
