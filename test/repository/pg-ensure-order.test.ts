/**
 * Two PostgreSQL collect-and-transfer transactions registering the same dataset types,
 * listed in different orders (a document lists its outputs by dataset id, which differs
 * per run), must not deadlock: the bulk writer inserts shared rows in key order. Stepped
 * deterministically: a third transaction holds one type while the two writers queue up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { makeDatasetType, serializeDatasetType } from '../../src/model/dataset-type.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import { PgConnection } from '../../src/repository/postgres/connection.js';
import { PgBulkWriter } from '../../src/repository/postgres/bulk-writer.js';
import { PgRegistry } from '../../src/repository/postgres/registry.js';
import { pgTestUrl } from '../support/pg-url.js';
import { uniqueSchema } from '../support/registries.js';

const url = pgTestUrl();
const universe = defaultUniverse();
const type = (name: string) => serializeDatasetType(makeDatasetType({ name, storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'], universe }));

describe.skipIf(!url)('PostgreSQL bulk writer: shared rows', () => {
  const schema = uniqueSchema('ens');
  let conn: PgConnection;
  const clients: pg.PoolClient[] = [];

  beforeAll(async () => {
    await (await PgRegistry.open({ url: url!, schema, create: true })).close();
    conn = await PgConnection.create({ url: url!, schema, poolSize: 4 });
    for (let i = 0; i < 3; i++) clients.push(await conn.client());
  });
  afterAll(async () => {
    for (const c of clients) c.release(true);
    await conn.query(`DROP SCHEMA ${schema} CASCADE`);
    await conn.close();
  });

  /** Until `c`'s backend waits for a lock held by another transaction. */
  async function waiting(c: pg.PoolClient): Promise<void> {
    const pid = (c as unknown as { processID: number }).processID;
    for (;;) {
      const r = await conn.query<{ w: string | null }>('SELECT wait_event_type AS w FROM pg_stat_activity WHERE pid = $1', [pid]);
      if (r.rows[0]?.w === 'Lock') return;
      await new Promise((res) => setTimeout(res, 10));
    }
  }

  it('registers dataset types listed in different orders by two writers without a deadlock', async () => {
    const [x, a, b] = clients as [pg.PoolClient, pg.PoolClient, pg.PoolClient];
    for (const c of clients) await c.query('BEGIN');
    // x holds type t3; A (t2, t3, t1) waits for it; B (t1, t2) then waits for A.
    await x.query(`INSERT INTO dataset_types (name, storage_class, dimensions) SELECT name, storage_class, dimensions FROM (VALUES ('t3', 'StructuredDataDict', '["detector","instrument"]')) v(name, storage_class, dimensions)`);
    const writer = (c: pg.PoolClient) => new PgBulkWriter(c, conn.driver, { maxConflicts: 10, items: 1, universe });
    const wa = writer(a);
    const wb = writer(b);
    await wa.begin();
    await wb.begin();
    // Each its own runs (listed in different orders too), as collectors of different runs.
    const ensure = async (w: PgBulkWriter, runs: string[], names: string[]) => {
      await w.send({ kind: 'ensure', runs, datasetTypes: names.map(type) });
      return w.finish();
    };
    const doneA = ensure(wa, ['run/a2', 'run/a1'], ['t2', 't3', 't1']).then(() => 'ok', (e: Error) => e.message);
    await waiting(a);
    const doneB = ensure(wb, ['run/b'], ['t1', 't2']).then(() => 'ok', (e: Error) => e.message);
    await waiting(b);
    // Inserted one by one in the order listed, A would now take t1 after B had: a cycle.
    await x.query('ROLLBACK');
    expect(await doneA).toBe('ok');
    await a.query('COMMIT');
    expect(await doneB).toBe('ok');
    await b.query('COMMIT');
    const names = (await conn.query<{ name: string }>('SELECT name FROM dataset_types ORDER BY name')).rows.map((r) => r.name);
    expect(names).toEqual(['t1', 't2', 't3']);
    const runs = (await conn.query<{ name: string }>('SELECT name FROM runs ORDER BY name')).rows.map((r) => r.name);
    expect(runs).toEqual(['run/a1', 'run/a2', 'run/b']);
  });
});
