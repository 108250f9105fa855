/**
 * Open or create a repository's registry from its configuration: the SQLite file beside
 * butler.json, or a schema on a PostgreSQL server. The PostgreSQL backend (and its client
 * library) is loaded only when a repository uses it.
 */
import { join } from 'node:path';
import type { Registry } from './registry.js';
import { REGISTRY_FILE, type PostgresRegistryConfig } from './repository-config.js';
import { SqliteRegistry } from './sqlite/registry.js';

export interface RegistryOpenOptions {
  /**
   * The server URL to connect with instead of the one in butler.json (it may carry a
   * password, or name the server as this host reaches it): `--registry-url`.
   */
  registryUrl?: string;
  /** Create the registry (a new repository) instead of opening an existing one. */
  create?: boolean;
}

export async function openRegistry(root: string, config: PostgresRegistryConfig | undefined, opts: RegistryOpenOptions = {}): Promise<Registry> {
  // A registry URL concerns PostgreSQL registries only: a SQLite repository ignores it.
  if (!config) return SqliteRegistry.open(join(root, REGISTRY_FILE), { mustExist: !opts.create });
  const { PgRegistry } = await import('./postgres/registry.js');
  return PgRegistry.open({ url: opts.registryUrl ?? config.url, schema: config.schema, create: opts.create ?? false });
}
