/**
 * Two PostgreSQL collect-and-transfer transactions registering the same dataset types,
 * listed in different orders (a document lists its outputs by dataset id, which differs
 * per run), or met in different batches, must not deadlock: the bulk writer inserts shared
 * rows last, in key order. And one registering a type another has inserted but not
 * committed writes its own rows meanwhile. Stepped deterministically: each step waits for
 * rows applied or for a backend waiting on a lock (pg_stat_activity), never for time.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { makeDatasetType, serializeDatasetType } from '../../src/model/dataset-type.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import { PgConnection } from '../../src/repository/postgres/connection.js';
import { PgBulkWriter, quantaPerStage } from '../../src/repository/postgres/bulk-writer.js';
import type { WriterBatch } from '../../src/repository/bulk-batches.js';
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
  // Each test starts from an empty registry (a failed one leaves its rows).
  beforeEach(async () => {
    await conn.query('TRUNCATE dataset_types, runs, quanta, datasets');
  });
  afterAll(async () => {
    for (const c of clients) c.release(true);
    await conn.query(`DROP SCHEMA ${schema} CASCADE`);
    await conn.close();
  });

  /** Whether `c`'s backend waits for a lock held by another transaction. */
  async function isWaiting(c: pg.PoolClient): Promise<boolean> {
    const pid = (c as unknown as { processID: number }).processID;
    const r = await conn.query<{ w: string | null }>('SELECT wait_event_type AS w FROM pg_stat_activity WHERE pid = $1', [pid]);
    return r.rows[0]?.w === 'Lock';
  }

  /** Until `c`'s backend waits for a lock held by another transaction (or `stop()`). */
  async function waiting(c: pg.PoolClient, stop = () => false): Promise<void> {
    while (!stop() && !(await isWaiting(c))) await new Promise((res) => setTimeout(res, 10));
  }

  const writer = (c: pg.PoolClient) => new PgBulkWriter(c, conn.driver, { maxConflicts: 10, items: 1, universe });
  /** Enough quanta (no edges) to fill a stage of a one-item writer: sent, the stage is applied. */
  const quanta = (prefix: string): WriterBatch => ({
    kind: 'quanta',
    quanta: Array.from({ length: quantaPerStage(1) }, (_, i) => [`${prefix}-${i}`, 'task', null, null, null, null, 'native', '{}', 0, 0]).flat(),
    inputs: [],
    outputs: [],
  });
  /** Until `w` has applied `rows` rows (or `stop()`). */
  async function applied(w: PgBulkWriter, rows: number, stop = () => false): Promise<void> {
    while (!stop() && w.rows < rows) await new Promise((res) => setTimeout(res, 10));
  }
  /** Two writers, each in a transaction of its own on clients 1 and 2. */
  async function twoWriters() {
    const [, a, b] = clients as [pg.PoolClient, pg.PoolClient, pg.PoolClient];
    const ws = [writer(a), writer(b)] as const;
    for (const [i, c] of [a, b].entries()) {
      await c.query('BEGIN');
      await ws[i]!.begin();
    }
    return { a, b, wa: ws[0], wb: ws[1] };
  }
  /** Run `run/x` and a type, then a stage of quanta `qx-*`, applied. */
  async function firstBatch(w: PgBulkWriter, x: string, typeName: string): Promise<void> {
    await w.send({ kind: 'ensure', runs: [`run/${x}`], datasetTypes: [type(typeName)] });
    await w.send(quanta(`q${x}`));
    await applied(w, quantaPerStage(1));
  }
  /** The writer's outcome, then COMMIT or ROLLBACK. */
  async function finish(w: PgBulkWriter, c: pg.PoolClient): Promise<string> {
    const r = await w.finish().then(() => 'ok', (e: Error) => e.message);
    await c.query(r === 'ok' ? 'COMMIT' : 'ROLLBACK');
    return r;
  }

  it('registers dataset types listed in different orders by two writers without a deadlock', async () => {
    const [x, a, b] = clients as [pg.PoolClient, pg.PoolClient, pg.PoolClient];
    for (const c of clients) await c.query('BEGIN');
    // x holds type t3; A (t2, t3, t1) waits for it; B (t1, t2) then waits for A.
    await x.query(`INSERT INTO dataset_types (name, storage_class, dimensions) SELECT name, storage_class, dimensions FROM (VALUES ('t3', 'StructuredDataDict', '["detector","instrument"]')) v(name, storage_class, dimensions)`);
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

  it('registers types two writers meet in different batches, in opposite orders, without a deadlock', async () => {
    const { a, b, wa, wb } = await twoWriters();
    // A meets t1 with its first quanta, B t2; each stage is applied before the next step.
    await firstBatch(wa, 'a', 't1');
    await firstBatch(wb, 'b', 't2');
    // Then each meets the other's. Inserted as they came, A would hold t1 and wait for t2,
    // B hold t2 and wait for t1: a cycle PostgreSQL ends with "deadlock detected".
    await wa.send({ kind: 'ensure', runs: [], datasetTypes: [type('t2')] });
    await wb.send({ kind: 'ensure', runs: [], datasetTypes: [type('t1')] });
    // Both finish at once: one takes t1 and t2 while the other waits for its commit.
    expect(await Promise.all([finish(wa, a), finish(wb, b)])).toEqual(['ok', 'ok']);
    expect((await conn.query<{ name: string }>('SELECT name FROM dataset_types ORDER BY name')).rows.map((r) => r.name)).toEqual(['t1', 't2']);
    expect((await conn.query<{ n: number }>('SELECT count(*)::int AS n FROM quanta')).rows[0]!.n).toBe(2 * quantaPerStage(1));
  });

  it("applies a writer's own rows while another has inserted the same new type and not committed", async () => {
    const { a, b, wa, wb } = await twoWriters();
    // As two collectors on a fresh registry: the same new type, each its own run, quanta and datasets.
    await firstBatch(wa, 'a', 't1');
    await wb.send({ kind: 'ensure', runs: ['run/b'], datasetTypes: [type('t1')] });
    await wb.send(quanta('qb'));
    const n = 4 * quantaPerStage(1); // a full stage of datasets
    const datasets = Array.from({ length: n }, (_, i) => [`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, 'qb-0', 't1', 'run/b', `detector=${i}`, `{"detector":${i}}`, 0]).flat();
    // (Not awaited: a writer held up would make `send` wait for its queue to drain.)
    const sent = Promise.resolve(wb.send({ kind: 'datasets', datasets, records: [] })).then(() => 'sent', (e: Error) => e.message);
    // B's rows are applied, not held up behind A's uncommitted t1 (it used to wait for A's commit here).
    let settled = false;
    const first = await Promise.race([
      waiting(b, () => settled).then(() => 'B waits for A'),
      applied(wb, quantaPerStage(1) + n, () => settled).then(() => "B's rows applied"),
    ]);
    settled = true;
    expect(first).toBe("B's rows applied");
    expect(await sent).toBe('sent');
    // A finishes (takes t1) but has not committed: B's finish waits for it, from then to A's commit only.
    expect(await wa.finish().then(() => 'ok')).toBe('ok');
    const doneB = wb.finish().then(() => 'ok', (e: Error) => e.message);
    await waiting(b);
    await a.query('COMMIT');
    expect(await doneB).toBe('ok');
    await b.query('COMMIT');
    expect((await conn.query<{ n: number }>("SELECT count(*)::int AS n FROM datasets WHERE dataset_type = 't1'")).rows[0]!.n).toBe(n);
    expect((await conn.query<{ name: string }>('SELECT name FROM runs ORDER BY name')).rows.map((r) => r.name)).toEqual(['run/a', 'run/b']);
  });

  it('holds back an ensure batch of more runs than a call can take as arguments', async () => {
    const [, a] = clients as [pg.PoolClient, pg.PoolClient];
    const w = writer(a);
    await a.query('BEGIN');
    await w.begin();
    // 150,000 new runs in one batch (a run per quantum): spread into one push, a RangeError.
    const runs = Array.from({ length: 150_000 }, (_, i) => `run/${String(i).padStart(6, '0')}`);
    expect(await Promise.resolve(w.send({ kind: 'ensure', runs, datasetTypes: [type('t1')] })).then(() => 'sent', (e: Error) => e.message)).toBe('sent');
    expect(await finish(w, a)).toBe('ok');
    expect((await conn.query<{ n: number }>('SELECT count(*)::int AS n FROM runs')).rows[0]!.n).toBe(runs.length);
  });
});
