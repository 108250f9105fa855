/**
 * What the repository reliability tests share: a repository of each registry backend made
 * through the CLI, a way to hold its registry's write lock from outside (another
 * process's writer, as far as the sidecars can tell), and a poll for files.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as P from '../../protocol/index.js';
import type { QuantumButlerClient } from '../../src/client/index.js';
import { pgTestUrl } from '../support/pg-url.js';
import { dropSchemas, uniqueSchema } from '../support/registries.js';

export interface Backend {
  kind: 'sqlite' | 'postgresql';
  /** A repository at `root` (with `config`), created through `client`, with a `blob` (StructuredDataDict) dataset type. */
  create(client: QuantumButlerClient, root: string, config?: P.ParamsOf<typeof P.RepositoryCreate>['config']): Promise<void>;
  /** Hold the registry's write lock (writes of dataset rows wait) until the returned release is called. */
  lock(root: string): Promise<() => Promise<void>>;
  /** Remove what the backend stored outside `root`. */
  cleanup(): Promise<void>;
}

const DIMS = ['instrument', 'detector'];

async function registerBlob(client: QuantumButlerClient, root: string): Promise<void> {
  await client.request(P.RepositoryRegisterDatasetType, { root, datasetType: { name: 'blob', storageClass: 'StructuredDataDict', dimensions: DIMS } });
}

const sqlite: Backend = {
  kind: 'sqlite',
  async create(client, root, config) {
    await client.request(P.RepositoryCreate, { root, ...(config ? { config } : {}) });
    await registerBlob(client, root);
  },
  async lock(root) {
    const db = new Database(join(root, 'registry.sqlite3'));
    db.exec('BEGIN IMMEDIATE');
    return async () => {
      db.exec('ROLLBACK');
      db.close();
    };
  },
  async cleanup() {},
};

function postgres(url: string): Backend {
  const schemas: string[] = [];
  const client = async () => {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return c;
  };
  return {
    kind: 'postgresql',
    async create(c, root, config) {
      const schema = uniqueSchema('rel');
      schemas.push(schema);
      await c.request(P.RepositoryCreate, { root, registry: { kind: 'postgresql', url, schema }, ...(config ? { config } : {}) });
      await registerBlob(c, root);
    },
    async lock(root) {
      const schema = schemas.find((s) => root.includes(s)) ?? schemas.at(-1)!;
      const c = await client();
      await c.query('BEGIN');
      await c.query(`LOCK TABLE ${schema}.datasets IN EXCLUSIVE MODE`);
      return async () => {
        await c.query('ROLLBACK');
        await c.end();
      };
    },
    async cleanup() {
      await dropSchemas(url, schemas.splice(0));
    },
  };
}

export function backends(): Backend[] {
  const url = pgTestUrl();
  return url ? [sqlite, postgres(url)] : [sqlite];
}

/** Files under `dir` (recursively) whose name starts with `prefix`. */
export function filesStartingWith(dir: string, prefix: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.startsWith(prefix)) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

export { until } from '../support/until.js';
