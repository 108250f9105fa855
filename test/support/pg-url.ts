/**
 * The PostgreSQL server the registry tests run against, if any: `$QB_TEST_PG_URL`, or the
 * cluster that `npm run pg:start` left running (its URL in .tmp/pg/url). Without either,
 * the PostgreSQL half of every registry test is skipped (test/support/global-setup.ts says so).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PG_URL_FILE = join(ROOT, '.tmp', 'pg', 'url');

export function pgTestUrl(): string | undefined {
  const env = process.env['QB_TEST_PG_URL'];
  if (env !== undefined && env !== '') return env;
  if (existsSync(PG_URL_FILE)) return readFileSync(PG_URL_FILE, 'utf8').trim() || undefined;
  return undefined;
}
