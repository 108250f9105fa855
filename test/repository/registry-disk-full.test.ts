/**
 * A SQLite-registry repository whose disk fills: the registry's SQLITE_FULL, and a put's
 * temp file that cannot be written (ENOSPC), are IOFailure (retryable) with details.code, as
 * the SQLite store's are, never an internal error; and a failed put leaves no temp file.
 * The registry is filled with SQLite's max_page_count (no file system needed); the datastore
 * with a 1 MiB tmpfs, mounted only when the tests run as root (Linux).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { Repository } from '../../src/repository/repository.js';
import type { SqliteRegistry } from '../../src/repository/sqlite/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'qb-disk-full-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The files under `root` whose names start with the temp prefix. */
function temps(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).filter((p) => p.split('/').pop()!.startsWith('.qbtmp-'));
}

async function newRepo(root: string): Promise<Repository> {
  const repo = await Repository.create(root);
  await repo.registerDatasetType(makeDatasetType({ name: 'thing', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'], universe: repo.universe }));
  return repo;
}

describe('SQLite registry on a full disk', () => {
  it('a put whose registry write meets SQLITE_FULL is IOFailure, nothing stored, no temp file left', async () => {
    const repo = await newRepo(join(dir, 'full-registry'));
    try {
      const db = (repo.registry as SqliteRegistry)['conn'].db;
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      const values = Array.from({ length: 50 }, (_, i) => ({ detector: i, value: { text: 'x'.repeat(4000) } }));
      let err: unknown;
      for (const v of values) {
        err = await repo.put('thing', { instrument: 'Cam1', detector: v.detector }, 'r', { kind: 'value', value: v.value }).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (err) break;
      }
      expect(err).toMatchObject({ kind: 'IOFailure', context: { details: { code: 'SQLITE_FULL' } } });
      expect(temps(repo.datastoreRoot)).toEqual([]);
    } finally {
      await repo.close();
    }
  });

  const root = process.getuid?.() === 0 && process.platform === 'linux';
  it.runIf(root)('a put whose temp file cannot be written (ENOSPC) is IOFailure, and leaves no temp file', async () => {
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    try {
      const repo = await newRepo(join(mnt, 'repo'));
      try {
        // The run's directory exists (a first put), then the disk is filled to the last block.
        await repo.put('thing', { instrument: 'Cam1', detector: 0 }, 'r', { kind: 'value', value: { n: 0 } });
        try {
          writeFileSync(join(mnt, 'fill'), Buffer.alloc(4 << 20));
        } catch {
          // ENOSPC: filled
        }
        const err = await repo.put('thing', { instrument: 'Cam1', detector: 1 }, 'r', { kind: 'value', value: { text: 'x'.repeat(64 << 10) } }).catch((e: unknown) => e);
        expect(err).toMatchObject({ kind: 'IOFailure', context: { details: { code: 'ENOSPC' } } });
        expect(temps(repo.datastoreRoot)).toEqual([]);
      } finally {
        await repo.close();
      }
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
