/**
 * A PostgreSQL registry's schema: its DDL, and creating or checking it. The DDL: the tables, columns and keys of the SQLite schema
 * (see ../registry-schema.ts), in PostgreSQL's types: dataset ids are `uuid`, flags
 * `boolean`, sizes `bigint`, and every text key compares byte-wise (COLLATE "C") as
 * SQLite's do, so both backends sort and conflict alike. Provenance documents are kept
 * as the text given, compressed with lz4 where the server has it.
 *
 * No foreign keys: the registry code keeps every reference (each path that writes a child
 * row writes or checks its parent in the same transaction, and nothing is deleted), as
 * SQLite's bulk path does with enforcement off. Checking them row by row cost about half
 * of a large collect-and-transfer (7.5 of 15.5 s of server time for 100,000 quanta).
 */
import { RegistrySchemaMissing, RepositoryError } from '../../model/errors.js';
import { REGISTRY_SCHEMA_VERSION, versionMismatch } from '../registry-schema.js';
import { mapPgError, sqlState, type PgConnection } from './connection.js';

export function registryDdl(schema: string): string[] {
  const s = schema;
  return [
    `CREATE TABLE ${s}.registry_meta (
      key   text COLLATE "C" NOT NULL PRIMARY KEY,
      value text NOT NULL
    )`,
    `CREATE TABLE ${s}.runs (
      name text COLLATE "C" NOT NULL PRIMARY KEY
    )`,
    `CREATE TABLE ${s}.dataset_types (
      name                 text COLLATE "C" NOT NULL PRIMARY KEY,
      storage_class        text NOT NULL,
      dimensions           text NOT NULL,
      parent_storage_class text,
      is_calibration       boolean NOT NULL DEFAULT false
    )`,
    `CREATE TABLE ${s}.datasets (
      id           uuid NOT NULL PRIMARY KEY,
      dataset_type text COLLATE "C" NOT NULL,
      run          text COLLATE "C" NOT NULL,
      data_id_key  text COLLATE "C" NOT NULL,
      data_id      text NOT NULL,
      UNIQUE (dataset_type, run, data_id_key)
    )`,
    `CREATE TABLE ${s}.datastore_records (
      dataset_id     uuid NOT NULL,
      datastore_name text COLLATE "C" NOT NULL,
      table_name     text COLLATE "C" NOT NULL DEFAULT 'file_datastore_records',
      path           text COLLATE "C" NOT NULL,
      formatter      text COLLATE "C" NOT NULL,
      storage_class  text COLLATE "C" NOT NULL,
      component      text COLLATE "C" NOT NULL DEFAULT '__NULL_STRING__',
      checksum       text COLLATE "C",
      file_size      bigint NOT NULL DEFAULT -1,
      extra          text COLLATE "C",
      PRIMARY KEY (dataset_id, datastore_name, component)
    )`,
    `CREATE TABLE ${s}.quanta (
      id         text COLLATE "C" NOT NULL PRIMARY KEY,
      task_name  text COLLATE "C",
      data_id    text COLLATE "C",
      host       text,
      started_at text,
      ended_at   text,
      format     text NOT NULL CHECK (format IN ('native', 'daf_butler')),
      provenance text COLLATE "C" NOT NULL
    )`,
    `CREATE TABLE ${s}.quantum_inputs (
      quantum_id   text COLLATE "C" NOT NULL,
      dataset_id   uuid NOT NULL,
      dataset_type text COLLATE "C",
      run          text COLLATE "C",
      data_id      text,
      init_input   boolean NOT NULL DEFAULT false,
      predicted    boolean NOT NULL,
      available    boolean NOT NULL,
      actual       boolean NOT NULL,
      PRIMARY KEY (quantum_id, dataset_id)
    )`,
    `CREATE INDEX quantum_inputs_by_dataset ON ${s}.quantum_inputs (dataset_id, actual)`,
    `CREATE TABLE ${s}.quantum_outputs (
      quantum_id text COLLATE "C" NOT NULL,
      dataset_id uuid NOT NULL,
      predicted  boolean NOT NULL,
      actual     boolean NOT NULL,
      PRIMARY KEY (quantum_id, dataset_id)
    )`,
    `CREATE INDEX quantum_outputs_by_dataset ON ${s}.quantum_outputs (dataset_id, actual)`,
    `INSERT INTO ${s}.registry_meta (key, value) VALUES ('schema_version', '${REGISTRY_SCHEMA_VERSION}')`,
  ];
}

/** Compress provenance documents with lz4 (several times faster than the default pglz); skipped where the server lacks it. */
export function lz4Ddl(schema: string): string {
  return `ALTER TABLE ${schema}.quanta ALTER COLUMN provenance SET COMPRESSION lz4`;
}

/** The key taken (pg_advisory_xact_lock) while a registry's schema is created or migrated. */
export function schemaLockKey(schema: string): string {
  return `quantum-butler:registry:${schema}`;
}

/** Create the registry's schema and tables; the schema must not hold a registry already. */
export async function createSchema(conn: PgConnection, schema: string): Promise<void> {
  await conn.transaction(
    async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [schemaLockKey(schema)]);
      const tables = (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [schema])).rows[0]!.n;
      if (tables > 0) {
        throw new RepositoryError(`The schema ${schema} of ${conn.where} already holds tables; choose another schema for a new registry.`, { details: { schema } });
      }
      // A schema made for the role beforehand (CREATE SCHEMA ... AUTHORIZATION role, by a DBA on a
      // server where the role may not create schemas) is used as it is: CREATE SCHEMA IF NOT EXISTS
      // would need CREATE on the database even then.
      const exists = (await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount! > 0;
      if (!exists) {
        try {
          await c.query(`CREATE SCHEMA ${schema}`);
        } catch (err) {
          if (sqlState(err) !== '42501') throw err;
          throw new RepositoryError(
            `The role of ${conn.where} may not create the schema ${schema} (${(err as Error).message}); have it made for the role (CREATE SCHEMA ${schema} AUTHORIZATION <role>), or grant the role CREATE on the database.`,
            { details: { schema, code: '42501' } },
          );
        }
      }
      for (const ddl of registryDdl(schema)) await c.query(ddl);
      await c.query('SAVEPOINT lz4');
      try {
        await c.query(lz4Ddl(schema));
        await c.query('RELEASE SAVEPOINT lz4');
      } catch {
        await c.query('ROLLBACK TO SAVEPOINT lz4');
      }
    },
    { raw: true },
  );
}

/** The schema must hold a registry of this version. */
export async function checkSchema(conn: PgConnection): Promise<void> {
  let found: string | null;
  try {
    found = (await conn.query<{ value: string }>("SELECT value FROM registry_meta WHERE key = 'schema_version'")).rows[0]?.value ?? null;
  } catch (err) {
    const mapped = mapPgError(err, conn.where);
    if (mapped instanceof RegistrySchemaMissing) {
      throw new RegistrySchemaMissing(
        `There is no registry in ${conn.where}: the schema or its tables do not exist (create the repository with repository/create, or check butler.json's registry.schema).`,
        { details: { schema: conn.opts.schema, code: sqlState(err) ?? null } },
      );
    }
    throw mapped;
  }
  if (found !== String(REGISTRY_SCHEMA_VERSION)) throw versionMismatch(found, conn.where);
}
