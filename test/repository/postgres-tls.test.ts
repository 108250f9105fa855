/**
 * The registry pool's TLS settings with QUANTUM_BUTLER_EXTRA_CA_CERTS (src/repository/postgres/tls.ts):
 * how the URL, the config and PGSSLMODE settle `ssl` as node-postgres does, and a real
 * connection to the test cluster (its certificate signed by a throwaway CA) with verify-full.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { extraCaCertificates } from '../../src/util/extra-ca-certs.js';
import { loadDriver } from '../../src/repository/postgres/driver.js';
import { withExtraCaCertificates } from '../../src/repository/postgres/tls.js';
import { PgConnection } from '../../src/repository/postgres/connection.js';
import { pgTestCa, pgTestUrl, pgTlsUrl } from '../support/pg-url.js';

const dir = mkdtempSync(join(tmpdir(), 'qb-pg-tls-'));
const certFile = join(dir, 'extra.crt');
writeFileSync(certFile, rootCertificates[0]!);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const moved = { QUANTUM_BUTLER_EXTRA_CA_CERTS: certFile };
const base = (url: string): pg.PoolConfig & { connectionString: string } => ({ connectionString: url, max: 4, options: '-c jit=off' });
const sslOf = (c: pg.PoolConfig): ConnectionOptions => c.ssl as ConnectionOptions;

describe('extraCaCertificates', () => {
  it("is Node's bundled roots and the moved file, only when the variable is set", () => {
    expect(extraCaCertificates({})).toBeUndefined();
    const list = extraCaCertificates(moved)!;
    expect(list).toEqual([...rootCertificates, rootCertificates[0]]);
    expect(extraCaCertificates(moved)).toBe(list); // read once
  });

  it('adds the file NODE_EXTRA_CA_CERTS still names (a `ca` list replaces the store Node put it in)', () => {
    const other = join(dir, 'other.crt');
    writeFileSync(other, rootCertificates[1]!);
    expect(extraCaCertificates({ ...moved, NODE_EXTRA_CA_CERTS: other })).toEqual([...rootCertificates, rootCertificates[0], rootCertificates[1]]);
  });
});

describe('withExtraCaCertificates', async () => {
  const driver = await loadDriver();

  it('changes nothing without the variable, or without TLS, or with a CA named in the URL', () => {
    for (const [url, env] of [
      ['postgresql://u@db.example/x?sslmode=verify-full', {}],
      ['postgresql://u@db.example/x', moved],
      [`postgresql://u@db.example/x?sslmode=verify-full&sslrootcert=${certFile}`, moved],
      ['postgresql://u@db.example/x?sslmode=disable', moved],
    ] as const) {
      const config = base(url);
      expect(withExtraCaCertificates(config, driver, env), url).toBe(config);
    }
  });

  it("gives a TLS URL one secure context with the list, the URL's fields merged over the config's as node-postgres merges them", () => {
    const out = withExtraCaCertificates(base('postgresql://u@db.example:5433/x?sslmode=verify-full&options=-c%20a%3Db'), driver, moved);
    expect(out).not.toHaveProperty('connectionString');
    expect(out).toMatchObject({ host: 'db.example', port: '5433', user: 'u', database: 'x', max: 4, options: '-c a=b' });
    expect(sslOf(out).secureContext).toBeDefined();
    expect(sslOf(out).ca).toBeUndefined();
  });

  it('keeps a client key and certificate from the URL, and a TLS mode from PGSSLMODE', () => {
    const key = join(dir, 'client.key');
    const pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    writeFileSync(key, pem);
    const out = sslOf(withExtraCaCertificates(base(`postgresql://u@db.example/x?sslmode=no-verify&sslkey=${key}`), driver, moved));
    expect([out.key, out.rejectUnauthorized, out.secureContext !== undefined]).toEqual([pem, false, true]);
    // A key Node refuses: the config as it was, for node-postgres to report when it connects.
    writeFileSync(key, 'not a key');
    const bad = base(`postgresql://u@db.example/x?sslmode=no-verify&sslkey=${key}`);
    expect(withExtraCaCertificates(bad, driver, moved)).toBe(bad);
    const saved = process.env['PGSSLMODE'];
    process.env['PGSSLMODE'] = 'require';
    try {
      expect(sslOf(withExtraCaCertificates(base('postgresql://u@db.example/x'), driver, moved)).secureContext).toBeDefined();
    } finally {
      if (saved === undefined) delete process.env['PGSSLMODE'];
      else process.env['PGSSLMODE'] = saved;
    }
  });
});

const pgUrl = pgTestUrl();
const ca = pgTestCa();

describe.runIf(pgUrl !== undefined && ca !== undefined)('a registry connection with verify-full to the test cluster', () => {
  async function sslOfSession(): Promise<unknown> {
    const conn = await PgConnection.create({ url: pgTlsUrl(pgUrl!), schema: 'public', poolSize: 1 });
    try {
      return (await conn.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0];
    } finally {
      await conn.close();
    }
  }

  it('is TLS and verifies with the CA in QUANTUM_BUTLER_EXTRA_CA_CERTS', async () => {
    process.env['QUANTUM_BUTLER_EXTRA_CA_CERTS'] = ca;
    try {
      expect(await sslOfSession()).toEqual({ ssl: true });
    } finally {
      delete process.env['QUANTUM_BUTLER_EXTRA_CA_CERTS'];
    }
  });

  it('fails without it, saying so', async () => {
    await expect(sslOfSession()).rejects.toMatchObject({ kind: 'RepositoryError', message: expect.stringMatching(/TLS certificate that does not verify/) });
  });
});
