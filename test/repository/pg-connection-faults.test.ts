/**
 * The PostgreSQL registry's connection when the server fails it: a session terminated
 * mid-transaction (a restart, pg_terminate_backend, an idle-in-transaction timeout), a lock
 * held past the lock timeout, a statement the server cancels, a server asking a password
 * nobody gave. Each is an error of a stable kind to the caller, never an uncaught exception
 * (which would end the sidecar), and the connection serves the next call. Run against the
 * test server; the password case against a few lines that speak the start of the protocol.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { LOCK_TIMEOUT_MS, PgConnection } from '../../src/repository/postgres/connection.js';
import { PgRegistry } from '../../src/repository/postgres/registry.js';
import { pgTestUrl } from '../support/pg-url.js';
import { uniqueSchema } from '../support/registries.js';

const url = pgTestUrl();

/** `url` with `options=` (the session settings) in its query string. */
function withOptions(base: string, options: string): string {
  const u = new URL(base);
  u.searchParams.set('options', options);
  return u.href;
}

describe.skipIf(!url)('PostgreSQL connection faults', () => {
  const schema = uniqueSchema('cf');
  let conn: PgConnection;

  beforeAll(async () => {
    await (await PgRegistry.open({ url: url!, schema, create: true })).close();
    conn = await PgConnection.create({ url: url!, schema });
  });
  afterAll(async () => {
    await conn.query(`DROP SCHEMA ${schema} CASCADE`);
    await conn.close();
  });

  const pidOf = (c: pg.PoolClient) => (c as unknown as { processID: number }).processID;

  /** Until the backend `pid` is in state `state` (and, if given, waits on a lock). */
  async function until(pid: number, pred: (row: { state: string | null; w: string | null }) => boolean): Promise<void> {
    for (;;) {
      const r = await conn.query<{ state: string | null; w: string | null }>('SELECT state, wait_event_type AS w FROM pg_stat_activity WHERE pid = $1', [pid]);
      if (r.rows[0] && pred(r.rows[0])) return;
      await new Promise((res) => setTimeout(res, 10));
    }
  }

  it('a session terminated while a statement runs is RegistryUnavailable, and the next call is served', async () => {
    const err = await conn
      .transaction(async (c) => {
        await c.query('SELECT 1');
        const running = c.query('SELECT pg_sleep(600)');
        // It may fail (terminated) before it is returned below: handled from now, not an unhandled rejection of the run.
        running.catch(() => undefined);
        await until(pidOf(c), (r) => r.state === 'active');
        await conn.query('SELECT pg_terminate_backend($1)', [pidOf(c)]);
        return running;
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'RegistryUnavailable' });
    expect((err as { context: { details: { retryAfterMs: number } } }).context.details.retryAfterMs).toBeGreaterThan(0);
    expect((await conn.query<{ n: number }>('SELECT count(*)::int AS n FROM datasets')).rows[0]!.n).toBe(0);
  });

  it('a session terminated while idle in its transaction is RegistryUnavailable at its next statement, and the next call is served', async () => {
    const err = await conn
      .transaction(async (c) => {
        await c.query('SELECT 1');
        await until(pidOf(c), (r) => r.state === 'idle in transaction');
        const gone = new Promise((res) => c.once('end', res));
        await conn.query('SELECT pg_terminate_backend($1)', [pidOf(c)]);
        await gone;
        return c.query('SELECT 1');
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'RegistryUnavailable' });
    expect((await conn.query<{ n: number }>('SELECT count(*)::int AS n FROM datasets')).rows[0]!.n).toBe(0);
  });

  it(`a session waits ${LOCK_TIMEOUT_MS} ms at most for a lock (lock_timeout), in the registry's schema`, async () => {
    const r = await conn.query<{ lt: string; sp: string; jit: string }>("SELECT current_setting('lock_timeout') AS lt, current_setting('search_path') AS sp, current_setting('jit') AS jit");
    expect(r.rows[0]).toEqual({ lt: `${LOCK_TIMEOUT_MS / 1000}s`, sp: schema, jit: 'off' });
  });

  it("a URL's own options= are kept, after the defaults and before the registry's search_path", async () => {
    const own = await PgConnection.create({ url: withOptions(url!, '-c lock_timeout=250 -c search_path=public -c application_name=mine'), schema });
    try {
      const r = await own.query<{ lt: string; sp: string; app: string }>(
        "SELECT current_setting('lock_timeout') AS lt, current_setting('search_path') AS sp, current_setting('application_name') AS app",
      );
      expect(r.rows[0]).toEqual({ lt: '250ms', sp: schema, app: 'quantum-butler' });
    } finally {
      await own.close();
    }
  });

  it('a lock held by another session past the lock timeout is StoreBusy with retryAfterMs, nothing written', async () => {
    // The lock timeout is the URL's (250 ms) so that the test does not wait the default's 10 s.
    const waiter = await PgConnection.create({ url: withOptions(url!, '-c lock_timeout=250'), schema });
    const holder = await conn.client();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE runs IN ACCESS EXCLUSIVE MODE');
      const err = await waiter.transaction(async (c) => c.query("INSERT INTO runs (name) VALUES ('r1')")).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'StoreBusy', context: { details: { code: '55P03' } } });
      expect((err as { context: { details: { retryAfterMs: number } } }).context.details.retryAfterMs).toBeGreaterThan(0);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
      await waiter.close();
    }
    expect((await conn.query<{ n: number }>('SELECT count(*)::int AS n FROM runs')).rows[0]!.n).toBe(0);
  });

  it('a statement the server cancels (statement_timeout) is StoreBusy with retryAfterMs', async () => {
    const err = await conn
      .transaction(async (c) => {
        await c.query('SET LOCAL statement_timeout = 50');
        return c.query('SELECT pg_sleep(600)');
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'StoreBusy', context: { details: { code: '57014' } } });
    expect((await conn.query('SELECT 1')).rowCount).toBe(1);
  });
});

/**
 * A server that asks for SCRAM-SHA-256: AuthenticationSASL, then to the client's first
 * message AuthenticationSASLContinue (the client checks its password there).
 */
function scramServer(): Promise<Server> {
  const auth = (code: number, body: Buffer): Buffer => {
    const head = Buffer.alloc(9);
    head.write('R', 0);
    head.writeInt32BE(8 + body.length, 1);
    head.writeInt32BE(code, 5);
    return Buffer.concat([head, body]);
  };
  const server = createServer((sock) => {
    let messages = 0;
    sock.on('data', () => {
      messages++;
      if (messages === 1) sock.write(auth(10, Buffer.from('SCRAM-SHA-256\0\0')));
      else sock.write(auth(11, Buffer.from(`r=${'x'.repeat(24)},s=${Buffer.from('salt').toString('base64')},i=4096`)));
    });
    sock.on('error', () => {});
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res(server)));
}

describe('PostgreSQL connection: a server asking a password nobody gave', () => {
  it('is the refused login (RepositoryError naming PGPASSWORD), not an internal error', async () => {
    const server = await scramServer();
    const saved = { PGPASSWORD: process.env['PGPASSWORD'], PGPASSFILE: process.env['PGPASSFILE'] };
    delete process.env['PGPASSWORD'];
    process.env['PGPASSFILE'] = '/nonexistent/pgpass';
    const port = (server.address() as { port: number }).port;
    const conn = await PgConnection.create({ url: `postgresql://butler@127.0.0.1:${port}/postgres`, schema: 'np' });
    try {
      const err = await conn.query('SELECT 1').catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'RepositoryError' });
      expect((err as Error).message).toMatch(/PGPASSWORD/);
    } finally {
      await conn.close();
      server.close();
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
});
