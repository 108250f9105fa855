/**
 * The PostgreSQL registry's connections: a small pool (node-postgres) whose sessions use
 * the registry's schema, transactions, and the mapping of the server's errors to the
 * sidecar's stable kinds:
 * - the server down, refusing, restarting, or out of connections → RegistryUnavailable
 *   (retryable);
 * - the schema or database missing → RegistrySchemaMissing;
 * - a serialization failure or deadlock → StoreBusy (retryable), unless the caller
 *   (collect-and-transfer) retries the whole transaction itself (`isTransient`);
 * - a lock not had within the session's lock_timeout (LOCK_TIMEOUT, as SQLite's busy
 *   timeout), or a statement the server cancelled (statement_timeout, pg_cancel_backend)
 *   → StoreBusy (retryable);
 * - a privilege the role lacks (42501) → RepositoryError;
 * - a refused login, or no password for a server that asks one → RepositoryError naming
 *   where a password comes from;
 * - a server certificate that does not verify → RepositoryError naming where a CA comes from.
 *
 * The password is never stored: it comes from the URL given at run time, PGPASSWORD or
 * ~/.pgpass (node-postgres reads both), as libpq would.
 */
import type pg from 'pg';
import { loadDriver, type Driver } from './driver.js';
import { withExtraCaCertificates } from './tls.js';
import { RegistrySchemaMissing, RegistryUnavailable, RepositoryError, StoreBusy } from '../../model/errors.js';
import { mapQueryParams, redactPassword } from '../repository-config.js';

/** Connections per registry: a bulk load holds one, its planning reads and other calls use the others. */
const POOL_SIZE = 4;
const CONNECT_TIMEOUT_MS = 10_000;
/** How long a statement waits for a lock another session holds before it fails (StoreBusy): SQLite's busy timeout. Only where the server, role, database or URL set no lock_timeout. */
export const LOCK_TIMEOUT_MS = 10_000;
/** The connection's name in pg_stat_activity. */
const APPLICATION_NAME = 'quantum-butler';

/** Integers of bigint columns (file sizes, counts) as numbers: every value stored fits in 2^53. */
function typeParsers(driver: typeof pg): pg.CustomTypesConfig {
  const base = driver.types.getTypeParser as (oid: number, format?: string) => unknown;
  return { getTypeParser: ((oid: number, format?: string) => (oid === 20 ? (v: string) => Number(v) : base(oid, format))) as pg.CustomTypesConfig['getTypeParser'] };
}

const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENOENT']);
/** SQLSTATEs of a server that cannot serve now: connection exceptions, too many connections, shutting down or starting. */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[123]|53300|53400)/;
/** Node's codes of a server certificate that does not verify (OpenSSL's verify results, and a host name it does not name). */
const CERTIFICATE_ERROR = /^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT$|CERT_|INVALID_CA$|ERR_TLS_CERT_ALTNAME_INVALID$)/;
/** SQLSTATEs a fresh attempt of the same transaction may not meet: serialization failure, deadlock. */
export const TRANSIENT_SQLSTATE = new Set(['40001', '40P01']);
/** SQLSTATEs of a statement that ran out of time on the server: lock_not_available (lock_timeout, NOWAIT), query_canceled (statement_timeout, a cancel). */
const TIMED_OUT_SQLSTATE = new Set(['55P03', '57014']);

export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The server's error as the sidecar's kind (see the module notes); anything else as it is.
 * `where` names the registry for messages (URL without password, schema).
 */
export function mapPgError(err: unknown, where: string): unknown {
  if (err instanceof Error && 'kind' in err) return err;
  const code = sqlState(err);
  const message = (err as Error)?.message ?? String(err);
  if (code !== undefined && CERTIFICATE_ERROR.test(code)) {
    return new RepositoryError(
      `The registry server of ${where} presented a TLS certificate that does not verify (${message}, ${code}); name its CA with sslrootcert= in the URL, or in NODE_EXTRA_CA_CERTS.`,
      { details: { code } },
    );
  }
  if (code !== undefined && (UNAVAILABLE_ERRNO.has(code) || UNAVAILABLE_SQLSTATE.test(code))) {
    return new RegistryUnavailable(`The registry server of ${where} is unavailable (${message}); retry later.`, { details: { code, retryAfterMs: 1000 } });
  }
  if (code === undefined && /timeout|Connection terminated|connect/i.test(message)) {
    return new RegistryUnavailable(`The registry server of ${where} is unavailable (${message}); retry later.`, { details: { code: null, retryAfterMs: 1000 } });
  }
  if (code === '3F000' || code === '3D000' || code === '42P01') {
    return new RegistrySchemaMissing(`The registry ${where} does not exist (${message}).`, { details: { code } });
  }
  if (code !== undefined && TRANSIENT_SQLSTATE.has(code)) {
    return new StoreBusy(`The registry ${where} aborted the transaction (${message}); nothing was written, retry.`, { details: { code, retryAfterMs: 100 } });
  }
  if (code !== undefined && TIMED_OUT_SQLSTATE.has(code)) {
    return new StoreBusy(`The registry ${where} timed out waiting (${message}); nothing was written, retry.`, { details: { code, retryAfterMs: 1000 } });
  }
  if (code === '42501') {
    return new RepositoryError(`The role connected to the registry ${where} lacks a privilege it needs (${message}); a DBA must grant it.`, { details: { code } });
  }
  // No password at hand (none in the URL, PGPASSWORD or ~/.pgpass) for a server that asks one: node-postgres's own error, without a SQLSTATE.
  const noPassword = code === undefined && /password must be a string/i.test(message);
  if (code === '28P01' || code === '28000' || noPassword) {
    const what = noPassword ? 'asked for a password and none was given' : 'refused the login';
    return new RepositoryError(`The registry server of ${where} ${what} (${message}); give the password in PGPASSWORD, ~/.pgpass or --registry-url.`, {
      details: { code: code ?? null },
    });
  }
  return err;
}

/**
 * The session's settings (the `options` startup parameter) and the URL to connect with.
 * node-postgres lets a URL's `options=` replace the config's whole, so a URL's own options
 * are taken out of it and kept: ours come first (jit, which the URL's may override) and the
 * registry's search_path last (which they may not). lock_timeout is set after connecting,
 * and only where nothing else set it (a startup option would override the role's setting).
 */
function sessionSettings(url: string, schema: string, parseUrl: Driver['parseUrl']): { url: string; options: string } {
  // JIT compiling pays off for long analytic queries, not for these short statements (it cost 100-200 ms each).
  const defaults = '-c jit=off';
  // Every session works in the registry's schema (validated as a plain lower-case identifier).
  const searchPath = `-c search_path=${schema}`;
  let own: string | undefined;
  try {
    own = parseUrl(url).options ?? undefined;
  } catch {
    own = undefined; // node-postgres says what is wrong with the URL when the pool connects
  }
  if (!own) return { url, options: `${defaults} ${searchPath}` };
  return { url: mapQueryParams(url, (key, param) => (key === 'options' ? undefined : param)), options: `${defaults} ${own} ${searchPath}` };
}

export interface PgConnectionOptions {
  url: string;
  schema: string;
  poolSize?: number;
}

export class PgConnection {
  private readonly pool: pg.Pool;
  private closed = false;
  /** For messages: the URL without password, and the schema. */
  readonly where: string;

  private constructor(
    readonly opts: PgConnectionOptions,
    readonly driver: Driver,
  ) {
    this.where = `${redactPassword(opts.url)} (schema ${opts.schema})`;
    const session = sessionSettings(opts.url, opts.schema, driver.parseUrl);
    this.pool = new driver.pg.Pool(
      withExtraCaCertificates(
        {
          connectionString: session.url,
          max: opts.poolSize ?? POOL_SIZE,
          connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
          idleTimeoutMillis: 30_000,
          application_name: APPLICATION_NAME,
          options: session.options,
          types: typeParsers(driver.pg),
        },
        driver,
      ),
    );
    // A connection the server drops (restart, pg_terminate_backend, idle-in-transaction timeout)
    // must not take the process down. node-postgres emits 'error' on the client as well as
    // failing its queries: the pool listens on idle clients only, so every client gets a
    // listener of its own for while it is checked out. Its queries fail (mapped to
    // RegistryUnavailable), and the pool drops it on release, as it is no longer queryable.
    this.pool.on('error', () => {});
    this.pool.on('connect', (client) => {
      client.on('error', () => {});
      // Bound the wait for another session's lock (StoreBusy past it), unless the server, the role,
      // the database or the URL's options= bound it already. Queued before the caller's first query.
      client.query(`SELECT set_config('lock_timeout', '${LOCK_TIMEOUT_MS}', false) WHERE current_setting('lock_timeout') = '0'`).catch(() => {});
    });
  }

  static async create(opts: PgConnectionOptions): Promise<PgConnection> {
    return new PgConnection(opts, await loadDriver());
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  assertOpen(): void {
    if (this.closed) throw new RepositoryError(`Registry ${this.where} is closed.`, { details: { schema: this.opts.schema } });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end().catch(() => {});
  }

  /** One query on any pooled connection (autocommit). */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult<R>> {
    this.assertOpen();
    try {
      return await this.pool.query<R>(text as string, values);
    } catch (err) {
      throw mapPgError(err, this.where);
    }
  }

  /** A pooled connection of one's own (released by `release`; `broken` when it must not be reused). */
  async client(): Promise<pg.PoolClient> {
    this.assertOpen();
    try {
      return await this.pool.connect();
    } catch (err) {
      throw mapPgError(err, this.where);
    }
  }

  /**
   * Run `fn` in one transaction on a connection of its own (READ COMMITTED unless
   * `isolation` says otherwise): COMMIT when it returns, ROLLBACK when it throws or
   * `keep(result)` says no. Errors come out mapped (mapPgError) unless `raw`.
   */
  async transaction<T>(
    fn: (c: pg.PoolClient) => Promise<T>,
    opts: { isolation?: 'REPEATABLE READ' | 'SERIALIZABLE'; readOnly?: boolean; keep?: (result: T) => boolean; raw?: boolean } = {},
  ): Promise<T> {
    const c = await this.client();
    let broken = false;
    try {
      await c.query(`BEGIN${opts.isolation ? ` ISOLATION LEVEL ${opts.isolation}` : ''}${opts.readOnly ? ' READ ONLY' : ''}`);
      let result: T;
      try {
        result = await fn(c);
      } catch (err) {
        await c.query('ROLLBACK').catch(() => (broken = true));
        throw err;
      }
      await c.query(opts.keep && !opts.keep(result) ? 'ROLLBACK' : 'COMMIT');
      return result;
    } catch (err) {
      throw opts.raw ? err : mapPgError(err, this.where);
    } finally {
      c.release(broken);
    }
  }
}
