/**
 * A repository's record checksum policy: a new repository's records carry none (daf_butler's
 * FileDatastore default) unless its config asks for blake2b or sha256, and butler.json states
 * the policy from create on. An existing butler.json without one, as hand-written configs
 * are, keeps the blake2b that an absent policy meant before, so its records cannot change kind.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '../../src/repository/repository.js';
import { parseRepositoryConfig, readRepositoryConfig } from '../../src/repository/repository-config.js';
import { openRegistry } from '../../src/repository/open-registry.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { blake2bHex, sha256Hex } from '../../src/util/checksum.js';

const dir = mkdtempSync(join(tmpdir(), 'qb-checksum-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A put of one small JSON value into `repo`; its record's checksum and size, and the stored bytes. */
async function putOne(repo: Repository): Promise<{ checksum: string | null; fileSize: number; bytes: Buffer }> {
  await repo.registerDatasetType(makeDatasetType({ name: 'thing', storageClass: 'StructuredDataDict', dimensions: ['instrument'], universe: repo.universe }));
  const { info } = await repo.put('thing', { instrument: 'Cam1' }, 'r', { kind: 'value', value: { n: 1 } });
  const bytes = readFileSync(join(repo.datastoreRoot, info.path));
  return { checksum: info.checksum, fileSize: info.file_size, bytes };
}

describe('record checksum policy', () => {
  it('a new repository: no record checksum, and butler.json says so', async () => {
    const root = join(dir, 'new');
    const repo = await Repository.create(root);
    try {
      expect(repo.config.datastore.checksum).toBe('none');
      const { checksum, fileSize, bytes } = await putOne(repo);
      expect(checksum).toBeNull();
      expect(fileSize).toBe(bytes.length);
    } finally {
      await repo.close();
    }
    expect(JSON.parse(readFileSync(join(root, 'butler.json'), 'utf8')).datastore.checksum).toBe('none');
    const reopened = await Repository.open(root);
    expect(reopened.config.datastore.checksum).toBe('none');
    await reopened.close();
  });

  it.each([
    ['blake2b', blake2bHex],
    ['sha256', sha256Hex],
  ] as const)('a new repository asking for %s: its records carry it, and butler.json says so', async (policy, digest) => {
    const root = join(dir, `new-${policy}`);
    const repo = await Repository.create(root, { datastore: { checksum: policy } });
    try {
      const { checksum, bytes } = await putOne(repo);
      expect(checksum).toBe(digest(bytes));
    } finally {
      await repo.close();
    }
    expect(JSON.parse(readFileSync(join(root, 'butler.json'), 'utf8')).datastore.checksum).toBe(policy);
  });

  it('an existing butler.json without a policy (as an older version read it) keeps blake2b records', async () => {
    // A repository as an older version left it: its registry, and a config naming no checksum.
    const root = join(dir, 'old-style');
    mkdirSync(join(root, 'datastore'), { recursive: true });
    const reg = await openRegistry(root, undefined, { create: true, universe: defaultUniverse() });
    await reg.close();
    writeFileSync(join(root, 'butler.json'), JSON.stringify({ version: 2, datastore: { template: '{run}/{datasetType}/{dataId}_{id}' }, storageClasses: {} }, null, 2) + '\n');
    expect(readRepositoryConfig(root).datastore.checksum).toBe('blake2b');
    const repo = await Repository.open(root);
    try {
      const { checksum, bytes } = await putOne(repo);
      expect(checksum).toBe(blake2bHex(bytes));
    } finally {
      await repo.close();
    }
    // No datastore section at all: the same.
    writeFileSync(join(root, 'butler.json'), JSON.stringify({ version: 2 }));
    expect(readRepositoryConfig(root).datastore).toEqual({ template: '{run}/{datasetType}/{dataId}_{id}', checksum: 'blake2b' });
  });

  it('a given policy is kept as given, read or created; an unknown one is refused', () => {
    for (const checksum of ['none', 'blake2b', 'sha256'] as const) expect(parseRepositoryConfig({ datastore: { checksum } }).datastore.checksum).toBe(checksum);
    expect(parseRepositoryConfig({}).datastore.checksum).toBe('none');
    expect(parseRepositoryConfig(undefined).datastore.checksum).toBe('none');
    expect(() => parseRepositoryConfig({ datastore: { checksum: 'md5' } })).toThrow(/Invalid repository config/);
  });
});
