/**
 * Once per `vitest run`: say whether the PostgreSQL half of the registry tests runs. With a
 * server configured (support/pg-url.ts) it must answer, or the run fails here rather than
 * skipping silently; without one, the skip is said plainly with the way to enable it.
 */
import { pgTestCa, pgTestUrl } from './pg-url.js';

export default async function setup(): Promise<void> {
  const url = pgTestUrl();
  if (!url) {
    process.stdout.write(
      '\n[registry tests] PostgreSQL: SKIPPED (no server). The SQLite half runs. To run both: ' +
        '`npm run pg:start` (a throwaway local cluster), then `npm test`; `npm run pg:stop` afterwards. ' +
        'Or set QB_TEST_PG_URL=postgresql://user@host:port/db.\n\n',
    );
    return;
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const v = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    process.stdout.write(`\n[registry tests] PostgreSQL ${v} at ${url.replace(/:[^:@/]*@/, ':***@')}: every registry test runs on SQLite and PostgreSQL.\n`);
    const ca = pgTestCa();
    process.stdout.write(
      ca
        ? `[registry tests] TLS to the registry: runs (the server's CA: ${ca}).\n\n`
        : '[registry tests] TLS to the registry: SKIPPED (no tls/ca.crt beside the server: a cluster started by scripts/pg-cluster.sh where openssl is found has one).\n\n',
    );
  } catch (err) {
    throw new Error(`The PostgreSQL test server ${url} does not answer (${(err as Error).message}); start it (npm run pg:start) or unset QB_TEST_PG_URL.`);
  } finally {
    await client.end().catch(() => {});
  }
}
