/** Upgrading a PostgreSQL registry's schema in place (repository/migrateRegistry without `to`). */
import { MIGRATIONS, REGISTRY_SCHEMA_VERSION, migrationPath, type Migration } from '../registry-schema.js';
import type { MigrationResult } from '../migrate-registry.js';
import { PgConnection, mapPgError } from './connection.js';
import { schemaLockKey } from './schema.js';

/** Apply the migrations from the registry's version to the sidecar's, under the schema's advisory lock. */
export async function upgradePgRegistry(opts: { url: string; schema: string }, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationResult> {
  const conn = await PgConnection.create(opts);
  try {
    const applied: number[] = [];
    let from = 0;
    await conn.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [schemaLockKey(opts.schema)]);
      const row = (await c.query<{ value: string }>("SELECT value FROM registry_meta WHERE key = 'schema_version'")).rows[0];
      from = Number(row?.value);
      for (const m of migrationPath(from, conn.where, REGISTRY_SCHEMA_VERSION, migrations)) {
        await c.query(m.postgresql);
        await c.query("UPDATE registry_meta SET value = $1 WHERE key = 'schema_version'", [String(m.from + 1)]);
        applied.push(m.from + 1);
      }
    });
    return { from: { kind: 'postgresql', location: conn.where, version: from }, to: { kind: 'postgresql', location: conn.where, version: REGISTRY_SCHEMA_VERSION }, rows: {}, keysSha256: null, applied };
  } catch (err) {
    throw mapPgError(err, conn.where);
  } finally {
    await conn.close();
  }
}
