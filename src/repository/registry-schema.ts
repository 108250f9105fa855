/**
 * What both registry backends agree on about their schema: its version, its tables, and
 * the migration path between versions. The DDL itself is each backend's own
 * (sqlite/ddl.ts, postgres/ddl.ts): the same tables, columns and keys, each in its
 * database's types.
 *
 * The version lives in the registry itself (table `registry_meta`, key `schema_version`),
 * and a registry is opened only at exactly REGISTRY_SCHEMA_VERSION: an older one answers
 * RegistrySchemaMismatch until `repository/migrateRegistry {root}` applies the
 * migrations below (each a transaction of its own, in order), a newer one always does
 * (upgrade the sidecar).
 *
 * Notes on the layout:
 * - Dataset ids are dashed lowercase UUIDs everywhere (SQLite: text; PostgreSQL: uuid).
 * - `datasets.data_id_key` is the canonical `dim=value,...` key over the dataset type's
 *   required dimensions; UNIQUE(dataset_type, run, data_id_key) is daf_butler's
 *   "one dataset per (type, run, data ID)" rule. `data_id` keeps the full mapping as JSON.
 * - `datastore_records.component` uses daf_butler's `__NULL_STRING__` sentinel for "no
 *   component" because it is part of the primary key. Record fields other than the
 *   StoredFileInfo ones are kept in `extra` (canonical JSON) so nothing is dropped.
 * - Edge tables have no foreign key to `datasets`: a quantum's inputs may live in another
 *   repository, and predicted outputs that were never written are not datasets. Input
 *   edges keep the ref as the quantum predicted it (type, run, data ID) so lineage can
 *   describe inputs the registry does not hold.
 * - Both edge tables are indexed by dataset id for lineage in either direction (their
 *   primary keys already serve the quantum → datasets direction).
 * - Text keys compare byte-wise in both backends (PostgreSQL: COLLATE "C"), so both sort
 *   and conflict alike.
 */
import { RegistrySchemaMismatch } from '../model/errors.js';

export const REGISTRY_SCHEMA_VERSION = 1;

/** Every table, in dependency order (parents first). */
export const REGISTRY_TABLES = [
  'registry_meta',
  'runs',
  'dataset_types',
  'datasets',
  'datastore_records',
  'quanta',
  'quantum_inputs',
  'quantum_outputs',
] as const;

export type RegistryTable = (typeof REGISTRY_TABLES)[number];

/** Each table's primary key (dumps and copies list rows in this order). */
export const TABLE_KEYS: Readonly<Record<RegistryTable, readonly string[]>> = {
  registry_meta: ['key'],
  runs: ['name'],
  dataset_types: ['name'],
  datasets: ['id'],
  datastore_records: ['dataset_id', 'datastore_name', 'component'],
  quanta: ['id'],
  quantum_inputs: ['quantum_id', 'dataset_id'],
  quantum_outputs: ['quantum_id', 'dataset_id'],
};

/** One step of the migration path: SQL for each backend that takes a registry from `from` to `from + 1`. */
export interface Migration {
  from: number;
  sqlite: string;
  postgresql: string;
}

/** Version 1 is the first schema: nothing to migrate yet. */
export const MIGRATIONS: readonly Migration[] = [];

/**
 * The migrations that take a registry at `found` to `target`, in order. Throws
 * RegistrySchemaMismatch when there is no such path (a newer registry, or a gap).
 */
export function migrationPath(found: number, where: string, target = REGISTRY_SCHEMA_VERSION, migrations: readonly Migration[] = MIGRATIONS): Migration[] {
  const path: Migration[] = [];
  for (let v = found; v < target; v++) {
    const step = migrations.find((m) => m.from === v);
    if (!step) break;
    path.push(step);
  }
  if (found > target || found + path.length !== target) {
    throw new RegistrySchemaMismatch(
      `Registry ${where} has schema version ${found}; this sidecar uses version ${target} and ${found > target ? 'cannot use a newer registry (upgrade the sidecar)' : `has no migration from version ${found + path.length}`}.`,
      { details: { found, expected: target } },
    );
  }
  return path;
}

/** The error for a registry whose version differs from the current one (a migration may exist). */
export function versionMismatch(found: string | null, where: string): Error {
  const n = found === null ? NaN : Number(found);
  const migratable = Number.isInteger(n) && n < REGISTRY_SCHEMA_VERSION && (() => {
    try {
      migrationPath(n, where);
      return true;
    } catch {
      return false;
    }
  })();
  return new RegistrySchemaMismatch(
    `Registry ${where} has schema version ${found ?? 'none'}; this sidecar needs version ${REGISTRY_SCHEMA_VERSION}.` +
      (migratable ? ' Upgrade it with repository/migrateRegistry {root}.' : ''),
    { details: { found, expected: REGISTRY_SCHEMA_VERSION, migratable } },
  );
}
