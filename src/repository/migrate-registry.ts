/**
 * Moving a repository's registry: `repository/migrateRegistry`.
 *
 * - `to: {kind: "postgresql", url, schema?}`: copy a SQLite registry into a new schema on a
 *   PostgreSQL server (one transaction, COPY per table), verify the copy (row counts and a
 *   SHA-256 over every table's keys in key order, computed on both sides), and only then
 *   switch butler.json to it (an atomic replace). A copy that does not verify is dropped and
 *   butler.json is left as it was. The SQLite file stays where it is, unused.
 * - without `to`: bring the registry's schema to the sidecar's version, applying the
 *   migrations of registry-schema.ts in order (each in a transaction of its own).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { InvalidArgument, RepositoryError } from '../model/errors.js';
import { PostgresRegistryConfigSchema, readRepositoryConfig, replaceRepositoryConfig, REGISTRY_FILE, urlWithoutPassword, type PostgresRegistryConfig } from './repository-config.js';
import { MIGRATIONS, REGISTRY_SCHEMA_VERSION, TABLE_KEYS, migrationPath, type Migration, type RegistryTable } from './registry-schema.js';
import { SqliteRegistry } from './sqlite/registry.js';

export interface MigrateTarget {
  kind: 'postgresql';
  url: string;
  schema?: string;
}

export interface MigrationResult {
  from: { kind: 'sqlite' | 'postgresql'; location: string; version: number };
  to: { kind: 'sqlite' | 'postgresql'; location: string; version: number };
  /** Rows copied per table (a copy), or {} (an upgrade in place). */
  rows: Partial<Record<RegistryTable, number>>;
  /** SHA-256 over every copied table's keys, the same on both sides. */
  keysSha256: string | null;
  /** Migrations applied (an upgrade in place). */
  applied: number[];
}

/** Columns copied per table (registry_meta is the target's own), and which hold SQLite's 0/1 flags. */
const COPIED: Array<{ table: RegistryTable; columns: string[]; flags: string[] }> = [
  { table: 'runs', columns: ['name'], flags: [] },
  { table: 'dataset_types', columns: ['name', 'storage_class', 'dimensions', 'parent_storage_class', 'is_calibration'], flags: ['is_calibration'] },
  { table: 'datasets', columns: ['id', 'dataset_type', 'run', 'data_id_key', 'data_id'], flags: [] },
  {
    table: 'datastore_records',
    columns: ['dataset_id', 'datastore_name', 'table_name', 'path', 'formatter', 'storage_class', 'component', 'checksum', 'file_size', 'extra'],
    flags: [],
  },
  { table: 'quanta', columns: ['id', 'task_name', 'data_id', 'host', 'started_at', 'ended_at', 'format', 'provenance'], flags: [] },
  {
    table: 'quantum_inputs',
    columns: ['quantum_id', 'dataset_id', 'dataset_type', 'run', 'data_id', 'init_input', 'predicted', 'available', 'actual'],
    flags: ['init_input', 'predicted', 'available', 'actual'],
  },
  { table: 'quantum_outputs', columns: ['quantum_id', 'dataset_id', 'predicted', 'actual'], flags: ['predicted', 'actual'] },
];

/** Keys of every copied table, in key order, into one digest. */
class KeyDigest {
  private readonly h = createHash('sha256');
  add(table: string, keys: readonly unknown[]): void {
    this.h.update(`${table}\x1f${keys.map(String).join('\x1f')}\n`);
  }
  hex(): string {
    return this.h.digest('hex');
  }
}

/** Copy the SQLite registry of the repository at `root` into PostgreSQL, verify, switch butler.json. */
export async function migrateToPostgres(root: string, target: MigrateTarget, opts: { registryUrl?: string } = {}): Promise<MigrationResult> {
  const config = readRepositoryConfig(root);
  if (config.registry) {
    throw new InvalidArgument(`The registry of ${root} is already on PostgreSQL (${config.registry.url}, schema ${config.registry.schema}).`, { details: { root } });
  }
  if (target.kind !== 'postgresql') throw new InvalidArgument(`Registries can be moved to PostgreSQL only, not ${JSON.stringify(target.kind)}.`);
  const parsed = PostgresRegistryConfigSchema.safeParse({ kind: 'postgresql', url: urlWithoutPassword(target.url), schema: target.schema });
  if (!parsed.success) throw new InvalidArgument(`Invalid registry: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const stored: PostgresRegistryConfig = parsed.data;

  const sqlitePath = join(root, REGISTRY_FILE);
  const source = await SqliteRegistry.open(sqlitePath, { mustExist: true });
  const { PgRegistry } = await import('./postgres/registry.js');
  const dest = await PgRegistry.open({ url: opts.registryUrl ?? target.url, schema: stored.schema, create: true });
  try {
    const rows: Partial<Record<RegistryTable, number>> = {};
    const sourceKeys = new KeyDigest();
    const { CopyText, copyInto } = await import('./postgres/copy.js');
    await dest.withTransaction(async (c) => {
      for (const { table, columns, flags } of COPIED) {
        const text = new CopyText();
        const flagAt = columns.map((col) => flags.includes(col));
        let n = 0;
        const send = async (): Promise<void> => copyInto(dest.driver, c, table, columns, text.take());
        for (const row of source.iterateRows(table)) {
          text.row(...columns.map((col, i) => (flagAt[i] ? row[col] === 1 : (row[col] as string | number | null))));
          sourceKeys.add(table, TABLE_KEYS[table].map((k) => row[k]));
          n++;
          if (text.rows >= 20_000) await send();
        }
        await send();
        rows[table] = n;
      }
    });
    // Verify from the target's committed rows: the same counts, the same keys in the same order.
    const destKeys = new KeyDigest();
    const counts = await dest.tableCounts();
    await dest.withTransaction(async (c) => {
      for (const { table } of COPIED) {
        const keys = TABLE_KEYS[table];
        const res = await c.query({ text: `SELECT ${keys.map((k) => `${k}::text`).join(', ')} FROM ${table} ORDER BY ${keys.join(', ')}`, rowMode: 'array' });
        for (const r of res.rows as unknown[][]) destKeys.add(table, r);
      }
    });
    const expected = sourceKeys.hex();
    const found = destKeys.hex();
    const badCounts = COPIED.filter(({ table }) => counts[table] !== rows[table]).map(({ table }) => table);
    if (badCounts.length > 0 || expected !== found) {
      await dest.dropSchema();
      throw new RepositoryError(`The copy of ${sqlitePath} into ${dest.location} did not verify (${badCounts.length > 0 ? `row counts of ${badCounts.join(', ')} differ` : 'the keys differ'}); it was dropped and butler.json is unchanged.`, {
        details: { tables: badCounts, expectedKeysSha256: expected, foundKeysSha256: found },
      });
    }
    replaceRepositoryConfig(root, { ...config, registry: stored });
    return {
      from: { kind: 'sqlite', location: sqlitePath, version: REGISTRY_SCHEMA_VERSION },
      to: { kind: 'postgresql', location: dest.location, version: REGISTRY_SCHEMA_VERSION },
      rows,
      keysSha256: found,
      applied: [],
    };
  } catch (err) {
    if (!(err instanceof RepositoryError)) await dest.dropSchema().catch(() => {});
    throw err;
  } finally {
    await source.close();
    await dest.close();
  }
}

/**
 * Bring a SQLite registry file's schema to the sidecar's version (each migration in its own
 * transaction, the version written with it). `migrations` is for tests.
 */
export function upgradeSqliteRegistry(path: string, migrations: readonly Migration[] = MIGRATIONS, target = REGISTRY_SCHEMA_VERSION): number[] {
  const db = new Database(path, { fileMustExist: true });
  try {
    const row = db.prepare<[], { value: string }>("SELECT value FROM registry_meta WHERE key = 'schema_version'").get();
    const found = Number(row?.value);
    if (!Number.isInteger(found)) throw new RepositoryError(`Registry ${path} has no readable schema version.`, { details: { path } });
    const applied: number[] = [];
    for (const m of migrationPath(found, path, target, migrations)) {
      db.transaction(() => {
        db.exec(m.sqlite);
        db.prepare("UPDATE registry_meta SET value = ? WHERE key = 'schema_version'").run(String(m.from + 1));
      }).immediate();
      applied.push(m.from + 1);
    }
    return applied;
  } finally {
    db.close();
  }
}

/** `repository/migrateRegistry` without `to`: upgrade the repository's registry in place. */
export async function upgradeRegistry(root: string, opts: { registryUrl?: string } = {}): Promise<MigrationResult> {
  const config = readRepositoryConfig(root);
  if (!config.registry) {
    const path = join(root, REGISTRY_FILE);
    const applied = upgradeSqliteRegistry(path);
    return { from: { kind: 'sqlite', location: path, version: REGISTRY_SCHEMA_VERSION - applied.length }, to: { kind: 'sqlite', location: path, version: REGISTRY_SCHEMA_VERSION }, rows: {}, keysSha256: null, applied };
  }
  const { upgradePgRegistry } = await import('./postgres/upgrade.js');
  return upgradePgRegistry({ url: opts.registryUrl ?? config.registry.url, schema: config.registry.schema });
}
