/**
 * The PostgreSQL server the registry tests run against, if any: `$QB_TEST_PG_URL`, or the
 * cluster that `npm run pg:start` left running (its URL in .tmp/pg/url). Without either,
 * the PostgreSQL half of every registry test is skipped (test/support/global-setup.ts says so).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The project root, from test/support or (compiled, for the bench) dist/test/support. */
const ROOT = HERE.split(sep).includes('dist') ? join(HERE, '..', '..', '..') : join(HERE, '..', '..');
export const PG_URL_FILE = join(ROOT, '.tmp', 'pg', 'url');

export function pgTestUrl(): string | undefined {
  const env = process.env['QB_TEST_PG_URL'];
  if (env !== undefined && env !== '') return env;
  if (existsSync(PG_URL_FILE)) return readFileSync(PG_URL_FILE, 'utf8').trim() || undefined;
  return undefined;
}

/** The Unix socket of the test server, when it is ours (the many-hosts test forwards to it from its namespaces). */
export function pgTestSocket(): string | undefined {
  const url = pgTestUrl();
  if (!url) return undefined;
  const port = new URL(url).port || '5432';
  const dir = process.env['QB_TEST_PG_SOCKET_DIR'] || dirname(PG_URL_FILE);
  const path = join(dir, `.s.PGSQL.${port}`);
  return existsSync(path) ? path : undefined;
}

/** The throwaway CA that signed the test server's TLS certificate (scripts/pg-cluster.sh, where openssl was found), when the server is that cluster. */
export function pgTestCa(): string | undefined {
  const url = pgTestUrl();
  const dir = process.env['QB_TEST_PG_SOCKET_DIR'] || dirname(PG_URL_FILE);
  const [urlFile, ca] = [join(dir, 'url'), join(dir, 'tls', 'ca.crt')];
  return url && existsSync(urlFile) && readFileSync(urlFile, 'utf8').trim() === url && existsSync(ca) ? ca : undefined;
}

/** The test server's URL for a TLS connection that checks the certificate and the host name (localhost). */
export function pgTlsUrl(url: string): string {
  const u = new URL(url);
  u.hostname = 'localhost';
  u.searchParams.set('sslmode', 'verify-full');
  return u.href;
}
