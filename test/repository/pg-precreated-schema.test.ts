/**
 * A PostgreSQL registry created by a role that may not create schemas (no CREATE on the
 * database, as on a shared server): in an empty schema a DBA made for it, the registry is
 * created; without one, the error is a RepositoryError that says what to ask for, not an
 * internal error. Needs a role of its own, so it runs only against the suite's own cluster
 * (scripts/pg-cluster.sh: trust logins on its socket and 127.0.0.1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgRegistry } from '../../src/repository/postgres/registry.js';
import { pgTestSocket, pgTestUrl } from '../support/pg-url.js';
import { uniqueSchema } from '../support/registries.js';

const url = pgTestUrl();

describe.skipIf(!url || !pgTestSocket())('PostgreSQL registry of a role without CREATE on the database', () => {
  const role = uniqueSchema('role');
  const [made, notMade] = [uniqueSchema('pre'), uniqueSchema('nopre')];
  let admin: import('pg').Client;
  let roleUrl: string;

  beforeAll(async () => {
    const { default: pg } = await import('pg');
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const db = (await admin.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`REVOKE CREATE ON DATABASE ${db} FROM PUBLIC`);
    await admin.query(`CREATE SCHEMA ${made} AUTHORIZATION ${role}`);
    const u = new URL(url!);
    u.username = role;
    u.password = '';
    roleUrl = u.href;
  });
  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${made} CASCADE`);
    await admin.query(`DROP SCHEMA IF EXISTS ${notMade} CASCADE`);
    await admin.query(`DROP ROLE ${role}`);
    await admin.end();
  });

  it('creates the registry in an empty schema made for the role', async () => {
    const reg = await PgRegistry.open({ url: roleUrl, schema: made, create: true });
    await reg.close();
    const reopened = await PgRegistry.open({ url: roleUrl, schema: made });
    await reopened.close();
  });

  it('without such a schema, is a RepositoryError naming what to ask for', async () => {
    const err = await PgRegistry.open({ url: roleUrl, schema: notMade, create: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'RepositoryError', context: { details: { code: '42501' } } });
    expect((err as Error).message).toMatch(/AUTHORIZATION/);
  });
});
