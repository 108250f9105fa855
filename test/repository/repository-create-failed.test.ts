/**
 * A repository/create that fails leaves the directory as it found it (gone if it was not
 * there, empty if it was), so that the retry, once the cause is gone, is not refused as a
 * non-empty directory. The failure here is a registry server that cannot be reached (a
 * closed port); the retry is against the test server when there is one.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repository } from '../../src/repository/repository.js';
import { pgTestUrl } from '../support/pg-url.js';
import { dropSchemas, uniqueSchema } from '../support/registries.js';

const dir = mkdtempSync(join(tmpdir(), 'qb-create-failed-'));
const url = pgTestUrl();
const schemas: string[] = [];
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (url) await dropSchemas(url, schemas);
});

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  await new Promise((res) => server.close(res));
  return port;
}

describe('repository/create that fails', () => {
  it.each([
    ['a new directory', false],
    ['an empty directory', true],
  ])('in %s leaves it as it was, and the retry creates the repository', async (_, existed) => {
    const root = join(dir, existed ? 'empty' : 'new', 'repo');
    if (existed) mkdirSync(root, { recursive: true });
    const schema = uniqueSchema('cfail');
    schemas.push(schema);
    const err = await Repository.create(root, undefined, { kind: 'postgresql', url: `postgresql://qb@127.0.0.1:${await closedPort()}/postgres`, schema }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'RegistryUnavailable' });
    if (existed) expect(readdirSync(root)).toEqual([]);
    else expect(existsSync(join(dir, 'new'))).toBe(false);
    if (!url) return;
    const repo = await Repository.create(root, undefined, { kind: 'postgresql', url, schema });
    await repo.close();
    expect(readdirSync(root).sort()).toEqual(['butler.json', 'datastore']);
  });
});
