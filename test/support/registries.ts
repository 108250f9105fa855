/**
 * The registry backends every registry test runs against: SQLite always, PostgreSQL when
 * a test server is configured (support/pg-url.ts). Each `fresh()` registry is empty and
 * private to its test: its own file, or its own schema on the server (dropped by `dispose`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DimensionUniverse } from '../../src/model/dimensions/dimension-universe.js';
import type { Registry, RegistryKind } from '../../src/repository/registry.js';
import { SqliteRegistry } from '../../src/repository/sqlite/registry.js';
// Type only: the PostgreSQL backend is loaded when a test server is configured.
import type { PgRegistry } from '../../src/repository/postgres/registry.js';
import { pgTestUrl } from './pg-url.js';

export interface TestBackend {
  kind: RegistryKind;
  /** A new, empty registry of this backend (in daf_butler's default dimension universe unless given another). */
  fresh(opts?: { universe?: DimensionUniverse }): Promise<Registry>;
  /** Close it and remove what it stored. */
  dispose(reg: Registry): Promise<void>;
}

let counter = 0;
/** A schema name no other test (or test process) uses. */
export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
}

const sqlite: TestBackend = {
  kind: 'sqlite',
  async fresh(opts = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'qb-registry-'));
    return SqliteRegistry.open(join(dir, 'registry.sqlite3'), opts);
  },
  async dispose(reg) {
    await reg.close();
    const path = (reg as SqliteRegistry).path;
    if (path !== ':memory:') rmSync(join(path, '..'), { recursive: true, force: true });
  },
};

function postgres(url: string): TestBackend {
  return {
    kind: 'postgresql',
    async fresh(opts = {}) {
      const { PgRegistry } = await import('../../src/repository/postgres/registry.js');
      return PgRegistry.open({ url, schema: uniqueSchema(), create: true, ...opts });
    },
    async dispose(reg) {
      await (reg as PgRegistry).dropSchema();
      await reg.close();
    },
  };
}

/** The backends to run against (PostgreSQL only when a server is configured). */
export function testBackends(): TestBackend[] {
  const url = pgTestUrl();
  return url ? [sqlite, postgres(url)] : [sqlite];
}

export const sqliteBackend = sqlite;

/** Drop test schemas on the server at `url` (what a test made there). */
export async function dropSchemas(url: string, schemas: Iterable<string>): Promise<void> {
  const list = [...schemas];
  if (list.length === 0) return;
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (const s of list) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  } finally {
    await c.end();
  }
}
