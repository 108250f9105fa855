/**
 * Dataset bytes to a caller's file: a temp file renamed into place (an existing file renamed
 * aside first), and the file datastore's verified copy of an artifact to a destination.
 */
import { mkdirSync, mkdtempSync, promises as fsp, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileDatastore, type ChecksumPolicy } from '../../src/datastore/file-datastore.js';
import { asideRemovals, copyFileHashed, copyFileVerified, placeFile, WRITE_MAX, writeFileAtomically } from '../../src/datastore/file-transfer.js';
import { DEFAULT_TEMPLATE } from '../../src/datastore/location-template.js';
import { RecordsTable } from '../../src/datastore/records-table.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { ChecksumMismatch, DatasetAlreadyStored, DatasetNotFound, InvalidArgument } from '../../src/model/errors.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { FileStore } from '../../src/store/file-store.js';
import { blake2bHex, sha256Hex } from '../../src/util/checksum.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';

let dir: string;
let out: string;
let store: FileStore;
const storageClasses = StorageClassRegistry.withBuiltins();
const dt = makeDatasetType({ name: 'blob', storageClass: 'Bytes', dimensions: ['instrument', 'detector'] });
const ref = (detector: number): DatasetRef => {
  const dataId = Object.freeze({ instrument: 'Cam', detector });
  return { id: makeDatasetId('DATAID_TYPE_RUN', dt.name, dataId, dt.dimensions, 'run1'), datasetType: dt, dataId, run: 'run1' };
};
const datastore = (checksum: ChecksumPolicy = 'blake2b', records = new RecordsTable(':memory:')): FileDatastore =>
  new FileDatastore({ name: 'FileDatastore@test', root: dir, store, template: DEFAULT_TEMPLATE, records, storageClasses, checksum });
/** 2.5 MiB of varied bytes: more than two chunks of a streamed copy. */
const big = Buffer.from(Array.from({ length: (5 * 1024 * 1024) / 2 }, (_, i) => (i * 7919) % 251));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qb-transfer-'));
  out = mkdtempSync(join(tmpdir(), 'qb-transfer-out-'));
  store = new FileStore(dir);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

describe('writing to a caller path', () => {
  it('replaces an existing file with the new bytes and leaves nothing beside it', async () => {
    const dest = join(out, 'x.bin');
    writeFileSync(dest, 'old contents, longer than the new');
    await writeFileAtomically(dest, Buffer.from('new'));
    expect(readFileSync(dest, 'utf8')).toBe('new');
    await writeFileAtomically(join(out, 'fresh.bin'), big);
    expect(readFileSync(join(out, 'fresh.bin')).equals(big)).toBe(true);
    await asideRemovals(); // the replaced file is removed after the write returns
    expect(readdirSync(out).sort()).toEqual(['fresh.bin', 'x.bin']);
  });

  it('writes in calls of at most WRITE_MAX bytes (larger ones get page-cache folios a VM may have handed back: file-transfer.ts)', async () => {
    const probe = await fsp.open(join(out, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const write = vi.spyOn(proto, 'write');
    try {
      const bytes = Buffer.concat([big, big]); // 5 MiB, not a multiple of WRITE_MAX
      await writeFileAtomically(join(out, 'large.bin'), bytes);
      expect(readFileSync(join(out, 'large.bin')).equals(bytes)).toBe(true);
      const asked = write.mock.calls.map((c) => c[2] as number);
      expect(asked.length).toBeGreaterThan(1);
      expect(Math.max(...asked)).toBeLessThanOrEqual(WRITE_MAX);
      expect(asked.reduce((a, b) => a + b, 0)).toBe(bytes.length);
    } finally {
      write.mockRestore();
    }
  });

  it('a directory at the destination is refused and left as it was, with no temp file', async () => {
    const dest = join(out, 'd');
    mkdirSync(dest);
    writeFileSync(join(dest, 'inside'), 'keep');
    await expect(writeFileAtomically(dest, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidArgument);
    expect(readdirSync(out)).toEqual(['d']);
    expect(readFileSync(join(dest, 'inside'), 'utf8')).toBe('keep');
  });

  it('a missing directory is the caller\'s argument; a NUL byte too', async () => {
    await expect(writeFileAtomically(join(out, 'no', 'such.bin'), Buffer.from('x'))).rejects.toBeInstanceOf(InvalidArgument);
    await expect(writeFileAtomically(join(out, 'a\0b'), Buffer.from('x'))).rejects.toBeInstanceOf(InvalidArgument);
    expect(readdirSync(out)).toEqual([]);
  });

  it('placeFile onto an existing file places the new one at once and removes the old one after', async () => {
    writeFileSync(join(out, 'v'), 'old');
    writeFileSync(join(out, 't'), 'new');
    await placeFile(join(out, 't'), join(out, 'v'));
    expect(readFileSync(join(out, 'v'), 'utf8')).toBe('new');
    // Between placing and removal, the old file is only under a hidden name beside it.
    expect(readdirSync(out).filter((f) => f !== 'v' && f !== 't.old')).toEqual([]);
    await asideRemovals();
    expect(readdirSync(out)).toEqual(['v']);
    await asideRemovals(); // nothing under way: resolves at once
  });

  it('placeFile onto a free name is a plain rename', async () => {
    writeFileSync(join(out, 't'), 'v');
    await placeFile(join(out, 't'), join(out, 'v'));
    expect(readdirSync(out)).toEqual(['v']);
  });

  it('a failed check leaves no destination, and an existing one as it was', async () => {
    const src = join(out, 'src.bin');
    writeFileSync(src, big);
    const failing = { algorithm: 'sha256', check: () => { throw new ChecksumMismatch('no'); } };
    await expect(copyFileVerified(src, join(out, 'new.bin'), failing)).rejects.toBeInstanceOf(ChecksumMismatch);
    writeFileSync(join(out, 'old.bin'), 'old');
    await expect(copyFileVerified(src, join(out, 'old.bin'), failing)).rejects.toBeInstanceOf(ChecksumMismatch);
    expect(readFileSync(join(out, 'old.bin'), 'utf8')).toBe('old');
    expect(readdirSync(out).sort()).toEqual(['old.bin', 'src.bin']);
  });

  it('the digest checked is that of every byte copied', async () => {
    const src = join(out, 'src.bin');
    writeFileSync(src, big);
    let seen = '';
    const size = await copyFileVerified(src, join(out, 'copy.bin'), { algorithm: 'blake2b512', check: (d) => void (seen = d) });
    expect(size).toBe(big.length);
    expect(seen).toBe(blake2bHex(big));
    expect(readFileSync(join(out, 'copy.bin')).equals(big)).toBe(true);
  });
});

describe('copyFileHashed', () => {
  it('into a file handle: written through it from its start and left open; the digests are of the bytes written', async () => {
    const src = join(out, 'in.bin');
    writeFileSync(src, big);
    const to = await fsp.open(join(out, 'copy.bin'), 'w');
    try {
      const copied = await copyFileHashed(src, to, ['sha256']);
      expect(copied).toMatchObject({ digests: [sha256Hex(big)], size: big.length });
      expect(to.fd).not.toBe(-1);
      await to.write(Buffer.from('!'), 0, 1, big.length);
    } finally {
      await to.close();
    }
    expect(readFileSync(join(out, 'copy.bin')).equals(Buffer.concat([big, Buffer.from('!')]))).toBe(true);
  });
});

describe('FileDatastore.getToFile', () => {
  for (const policy of ['blake2b', 'sha256', null] as const) {
    it(`copies the artifact as stored (record checksum ${policy ?? 'none'}), replacing an existing file`, async () => {
      const ds = datastore(policy);
      const put = await ds.put({ kind: 'bytes', bytes: big }, ref(1));
      expect(put.info.checksum).toBe(policy === 'blake2b' ? blake2bHex(big) : policy === 'sha256' ? sha256Hex(big) : null);
      const dest = join(out, 'got.bin');
      writeFileSync(dest, 'previous');
      const got = await ds.getToFile(ref(1), dest);
      expect(got).toEqual({ size: big.length, info: expect.objectContaining({ path: put.info.path, file_size: big.length }) });
      expect(readFileSync(dest).equals(big)).toBe(true);
      await asideRemovals();
      expect(readdirSync(out)).toEqual(['got.bin']);
      ds.close();
    });
  }

  it('a changed artifact is ChecksumMismatch and leaves no destination (nor temp file)', async () => {
    const ds = datastore();
    const put = await ds.put({ kind: 'bytes', bytes: big }, ref(1));
    const damaged = Buffer.from(big);
    damaged[big.length - 1] ^= 1;
    writeFileSync(join(dir, put.info.path), damaged);
    const err = await ds.getToFile(ref(1), join(out, 'got.bin')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumMismatch);
    expect((err as InstanceType<typeof ChecksumMismatch>).context.details).toMatchObject({ recorded: blake2bHex(big), actual: blake2bHex(damaged) });
    expect(readdirSync(out)).toEqual([]);
    ds.close();
  });

  it('a missing artifact is DatasetNotFound; trust mode reads the predicted path', async () => {
    const ds = datastore();
    await expect(ds.getToFile(ref(2), join(out, 'x'))).rejects.toBeInstanceOf(DatasetNotFound);
    await ds.put({ kind: 'bytes', bytes: big }, ref(3));
    const reader = datastore(); // no records: nothing to check against
    expect((await reader.getToFile(ref(3), join(out, 'x'))).size).toBe(big.length);
    expect(readFileSync(join(out, 'x')).equals(big)).toBe(true);
    expect(reader.trust).toEqual({ predictedReads: 1, predictedMisses: 0 });
    ds.close();
    reader.close();
  });
});

describe('FileDatastore.put of large bytes', () => {
  it('the record, the adopted file and the refusal all carry the checksum of the bytes', async () => {
    const ds = datastore();
    const put = await ds.put({ kind: 'bytes', bytes: big }, ref(1));
    expect(put).toMatchObject({ unchanged: false, sha256: sha256Hex(big), info: { checksum: blake2bHex(big), file_size: big.length } });
    expect(await ds.record(ref(1))).toEqual(put.info);
    expect(readFileSync(join(dir, put.info.path)).equals(big)).toBe(true);
    // Another client finds the file with no record: identical bytes are adopted with their checksum.
    const other = datastore();
    expect(await other.put({ kind: 'bytes', bytes: big }, ref(1))).toMatchObject({ unchanged: true, info: put.info });
    const changed = Buffer.from(big);
    changed[0] ^= 1;
    const err = await ds.put({ kind: 'bytes', bytes: changed }, ref(1)).catch((e: unknown) => e);
    expect((err as Error).name).toBe('DatasetAlreadyStored');
    expect((err as InstanceType<typeof DatasetAlreadyStored>).context.details).toEqual({ storedChecksum: blake2bHex(big), givenChecksum: blake2bHex(changed) });
    ds.close();
    other.close();
  });

  it('a failed write leaves no record and no file', async () => {
    const ds = datastore();
    writeFileSync(join(dir, 'run1'), 'a file where the run directory goes');
    await expect(ds.put({ kind: 'bytes', bytes: big }, ref(1))).rejects.toThrow();
    expect(await ds.record(ref(1))).toBeUndefined();
    expect(await store.exists(ds.predictedPath(ref(1)))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['.qbstore', 'run1']);
    const files = readdirSync(join(dir, '.qbstore'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.map((e) => e.name)).toEqual([]);
    ds.close();
  });
});

