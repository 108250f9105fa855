/**
 * A large artifact put by path is got by path checked in two halves at once: its SHA-256
 * midpoint (taken as it was put) lets the first half be hashed on the worker while the rest is
 * hashed here. Only bytes that are the artifact's pass: a change in either half, before or
 * during the copy, is ChecksumMismatch with no destination; a midpoint of other bytes only
 * costs a second, whole check.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchReads } from '../support/file-handle-faults.js';
import { FileDatastore, type ChecksumPolicy } from '../../src/datastore/file-datastore.js';
import { copyFileHashed, copyFileVerified } from '../../src/datastore/file-transfer.js';
import { DEFAULT_TEMPLATE } from '../../src/datastore/location-template.js';
import { RecordsTable } from '../../src/datastore/records-table.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { ChecksumMismatch } from '../../src/model/errors.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { FileStore } from '../../src/store/file-store.js';
import { blake2bHex, sha256Hex } from '../../src/util/checksum.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';

const MiB = 1024 * 1024;
const storageClasses = StorageClassRegistry.withBuiltins();
const dt = makeDatasetType({ name: 'blob', storageClass: 'Bytes', dimensions: ['instrument', 'detector'] });
const ref = (detector: number): DatasetRef => {
  const dataId = Object.freeze({ instrument: 'Cam', detector });
  return { id: makeDatasetId('DATAID_TYPE_RUN', dt.name, dataId, dt.dimensions, 'run1'), datasetType: dt, dataId, run: 'run1' };
};
/** 6 MiB + 5 bytes: the midpoint at 3 MiB, and a last chunk that is not whole. */
const bytes = randomBytes(6 * MiB + 5);
let dir: string;
let out: string;
let store: FileStore;

const datastore = (checksum: ChecksumPolicy = 'blake2b'): FileDatastore =>
  new FileDatastore({ name: 'FileDatastore@test', root: dir, store, template: DEFAULT_TEMPLATE, records: new RecordsTable(':memory:'), storageClasses, checksum });

/** A datastore holding `bytes` put by path as dataset 1, and the artifact's path. */
async function putByPath(checksum: ChecksumPolicy = 'blake2b'): Promise<{ ds: FileDatastore; artifact: string }> {
  const src = join(out, 'in.bin');
  writeFileSync(src, bytes);
  const ds = datastore(checksum);
  const put = await ds.put({ kind: 'file', path: src }, ref(1));
  rmSync(src);
  return { ds, artifact: join(dir, put.info.path) };
}

/** Overwrite `length` bytes of `path` at `at` with their complement (same size, other bytes). */
function damage(path: string, at: number, length = 1): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from(bytes.subarray(at, at + length).map((b) => b ^ 0xff)), 0, length, at);
  closeSync(fd);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qb-halves-'));
  out = mkdtempSync(join(tmpdir(), 'qb-halves-out-'));
  store = new FileStore(dir);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

describe('the SHA-256 midpoint', () => {
  it('a large copy by path gives its SHA-256 midpoint half-way, on a chunk boundary', async () => {
    const src = join(out, 'in.bin');
    writeFileSync(src, bytes);
    writeFileSync(join(out, 'copy.bin'), '');
    for (const algorithms of [['sha256'], ['sha256', 'blake2b512']]) {
      const copied = await copyFileHashed(src, join(out, 'copy.bin'), algorithms);
      expect(copied.digests[0]).toBe(sha256Hex(bytes));
      const mid = copied.midpoint!;
      expect(mid.at).toBe(3 * MiB);
      expect(mid.head).toBe(sha256Hex(bytes.subarray(0, mid.at)));
      // Hashing on from its state gives the whole digest (and the state itself is left as it was).
      expect(mid.state.copy().update(bytes.subarray(mid.at)).digest('hex')).toBe(sha256Hex(bytes));
      expect(mid.state.copy().update(bytes.subarray(mid.at)).digest('hex')).toBe(sha256Hex(bytes));
    }
    // A small file, or one whose first hash is not SHA-256: none.
    expect((await copyFileHashed(src, join(out, 'copy.bin'), ['blake2b512', 'sha256'])).midpoint).toBeUndefined();
    writeFileSync(src, bytes.subarray(0, MiB));
    expect((await copyFileHashed(src, join(out, 'copy.bin'), ['sha256'])).midpoint).toBeUndefined();
  });
});

describe('FileDatastore.getToFile of an artifact put here by path', () => {
  for (const policy of ['blake2b', 'sha256'] as const) {
    it(`reads both halves at once and copies the artifact exactly (record checksum ${policy})`, async () => {
      const { ds } = await putByPath(policy);
      const positions: number[] = [];
      await watchReads((p) => void positions.push(p as number));
      const got = await ds.getToFile(ref(1), join(out, 'got.bin'));
      expect(got.size).toBe(bytes.length);
      expect(readFileSync(join(out, 'got.bin')).equals(bytes)).toBe(true);
      // The rest is read from its start before the first half is all read: the halves run at once.
      const mid = positions.indexOf(3 * MiB);
      expect(mid).toBeGreaterThan(-1);
      expect(positions.slice(0, mid).some((p) => p >= 2 * MiB)).toBe(false);
      ds.close();
    });
  }

  for (const [where, at] of [['the first half', 5], ["the first half's last byte", 3 * MiB - 1], ["the second half's first byte", 3 * MiB], ['the last byte', 6 * MiB + 4]] as const) {
    it(`a change of ${where} is ChecksumMismatch (reporting the blake2b of what is there) and leaves no destination`, async () => {
      const { ds, artifact } = await putByPath();
      damage(artifact, at);
      const changed = readFileSync(artifact);
      const err = await ds.getToFile(ref(1), join(out, 'got.bin')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChecksumMismatch);
      expect((err as InstanceType<typeof ChecksumMismatch>).context.details).toMatchObject({ recorded: blake2bHex(bytes), actual: blake2bHex(changed) });
      expect(readdirSync(out)).toEqual([]);
      ds.close();
    });
  }

  it('a writer changing the artifact while it is copied never makes a wrong file pass', async () => {
    // At the n-th read of the artifact, 64 KiB of it somewhere are changed: a passing get has
    // copied the artifact exactly (the change fell where it was already read), any other fails.
    const { ds, artifact } = await putByPath();
    let failed = 0;
    let passed = 0;
    for (let trial = 0; trial < 12; trial++) {
      writeFileSync(artifact, bytes);
      const at = Math.floor(((trial * 7919) % 97) / 97 * (bytes.length - 64 * 1024));
      const nth = trial % 5;
      let reads = 0;
      vi.restoreAllMocks();
      await watchReads(() => {
        if (reads++ === nth) damage(artifact, at, 64 * 1024);
      });
      const got = await ds.getToFile(ref(1), join(out, 'got.bin')).then(
        () => 'passed',
        (e: unknown) => e,
      );
      if (got === 'passed') {
        expect(readFileSync(join(out, 'got.bin')).equals(bytes)).toBe(true);
        rmSync(join(out, 'got.bin'));
        passed++;
      } else {
        expect(got).toBeInstanceOf(ChecksumMismatch);
        expect(readdirSync(out)).toEqual([]);
        failed++;
      }
    }
    expect(failed).toBeGreaterThan(0);
    expect(passed + failed).toBe(12);
    ds.close();
  });
});

describe('copyFileVerified with a midpoint', () => {
  /** A check of SHA-256 `expected` with the midpoint of `of` at `at`. */
  const check = (expected: string, of: Buffer, seen: string[], at = 3 * MiB) => {
    const h = createHash('sha256').update(of.subarray(0, at));
    return {
      algorithm: 'sha256',
      check: (d: string) => {
        seen.push(d);
        if (d !== expected) throw new ChecksumMismatch('differs');
      },
      midpoint: { at, head: h.copy().digest('hex'), state: h },
    };
  };

  it('a midpoint of other bytes only costs a whole check: the right bytes pass, and the digest checked is theirs', async () => {
    const src = join(out, 'src.bin');
    writeFileSync(src, bytes);
    const other = Buffer.from(bytes);
    other[1] ^= 1;
    const seen: string[] = [];
    expect(await copyFileVerified(src, join(out, 'a.bin'), check(sha256Hex(bytes), other, seen))).toBe(bytes.length);
    expect(readFileSync(join(out, 'a.bin')).equals(bytes)).toBe(true);
    expect(seen).toEqual([sha256Hex(bytes)]);
    // Expecting the other bytes, with their midpoint: the file is not them.
    await expect(copyFileVerified(src, join(out, 'b.bin'), check(sha256Hex(other), other, seen))).rejects.toBeInstanceOf(ChecksumMismatch);
    expect(seen.at(-1)).toBe(sha256Hex(bytes));
    expect(readdirSync(out).sort()).toEqual(['a.bin', 'src.bin']);
  });

  it('a file shorter than the midpoint, or longer than the bytes, fails', async () => {
    const src = join(out, 'src.bin');
    for (const content of [bytes.subarray(0, 5 * MiB - 1), Buffer.concat([bytes, Buffer.from('more')])]) {
      writeFileSync(src, content);
      const seen: string[] = [];
      await expect(copyFileVerified(src, join(out, 'c.bin'), check(sha256Hex(bytes), bytes, seen, 5 * MiB))).rejects.toBeInstanceOf(ChecksumMismatch);
      expect(seen.at(-1)).toBe(sha256Hex(content));
    }
    expect(readdirSync(out)).toEqual(['src.bin']);
  });
});
