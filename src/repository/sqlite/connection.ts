/**
 * The SQLite registry's connection: opening the file (pragmas, schema, version check),
 * transactions, WAL checkpoints, and waiting for another process's write lock without
 * stopping the event loop.
 *
 * Concurrency: WAL journal, foreign keys on. Every write is a `BEGIN IMMEDIATE`
 * transaction, so several processes can share the file; a reader never blocks a writer.
 * When another connection holds the write lock, a connection of the sidecar's own thread
 * does not wait inside SQLite (that would freeze every session of the process): its
 * busy timeout is 0, and `retryBusy` retries the whole (synchronous) transaction on timers
 * until the lock frees or the wait limit passes (then the retryable StoreBusy, with
 * `retryAfterMs`). A writer thread's connection may wait inside SQLite: it blocks only
 * its own thread.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { InvalidArgument, IOFailure, RegistrySchemaMissing, RepositoryError, StoreBusy } from '../../model/errors.js';
import { REGISTRY_SCHEMA_VERSION, versionMismatch } from '../registry-schema.js';
import { REGISTRY_DDL } from './ddl.js';

export interface SqliteOptions {
  /** How long a write waits for another connection's lock before StoreBusy, in ms (default 10000). */
  busyTimeoutMs?: number;
  /** Wait for locks inside SQLite (blocking this thread): for a writer thread's own connection. */
  blockingWaits?: boolean;
  /** Open read-only (the file must exist and have the current schema). */
  readonly?: boolean;
  /** The file must exist with a schema (RegistrySchemaMissing otherwise); default: created when missing. */
  mustExist?: boolean;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;
/** Page cache of a connection (KiB). A larger cache does not speed bulk imports up: it only moves the page writes into the commit. */
const DEFAULT_CACHE_KIB = 65_536;
/** Page size of new registry files: rows are a few hundred bytes, documents a few KB. */
const PAGE_SIZE = 8192;
/** SQLite's default automatic checkpoint threshold (pages), restored after bulk transactions. */
const WAL_AUTOCHECKPOINT_PAGES = 1000;
/** Delay of the checkpoint that follows a bulk transaction (ms). */
const CHECKPOINT_DELAY_MS = 250;
/** First and longest pause between attempts to take a busy lock (ms). */
const BUSY_FIRST_PAUSE_MS = 2;
const BUSY_MAX_PAUSE_MS = 100;

/** SQLite's "busy"/"locked": another connection (often another process) holds the lock. */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** SQLite's result codes of a file it could not write or read: the disk full, an I/O error, a file it cannot open or write, a damaged one. */
const IO_FAILURE = /^SQLITE_(FULL|IOERR|CANTOPEN|READONLY|CORRUPT|NOTADB|NOLFS|PROTOCOL)/;

/**
 * SQLite's error as the sidecar's kind: busy as the retryable StoreBusy; a file it could not
 * write or read (SQLITE_FULL, SQLITE_IOERR_*...) as IOFailure (retryable), as the SQLite store
 * does; any other error as it is.
 */
export function asRegistryError(err: unknown, path: string, retryAfterMs = BUSY_MAX_PAUSE_MS): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return err;
  if (isBusy(err)) {
    return new StoreBusy(`The registry ${path} stayed locked by another writer past the lock timeout; retry.`, { details: { path, code, retryAfterMs } });
  }
  if (IO_FAILURE.test(code)) return new IOFailure(`The registry ${path} could not be written or read: ${(err as Error).message}.`, { details: { path, code } });
  return err;
}

export class SqliteConnection {
  readonly db: Database.Database;
  private closed = false;
  private checkpointTimer: NodeJS.Timeout | undefined;
  /** Called after a transaction of this connection rolled back (caches may name rolled-back rows). */
  onRollback: () => void = () => {};

  private constructor(
    readonly path: string,
    db: Database.Database,
    readonly busyTimeoutMs: number,
  ) {
    this.db = db;
  }

  /** Open (creating the file and schema unless `mustExist`) a registry file; ':memory:' gives a private one. */
  static open(path: string, opts: SqliteOptions = {}): SqliteConnection {
    if (typeof path !== 'string' || path.length === 0) throw new InvalidArgument('A registry path must be a non-empty string.');
    const busyTimeoutMs = Math.max(0, Math.floor(opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS));
    if (path !== ':memory:' && (opts.readonly || opts.mustExist) && !existsSync(path)) {
      throw new RegistrySchemaMissing(`The registry file ${path} does not exist.`, { details: { path } });
    }
    let db: Database.Database;
    try {
      if (path !== ':memory:' && !opts.readonly) mkdirSync(dirname(path), { recursive: true });
      db = new Database(path, opts.readonly ? { readonly: true, fileMustExist: true } : {});
    } catch (err) {
      throw new RepositoryError(`Cannot open registry ${path}: ${(err as Error).message}`, { details: { path } });
    }
    try {
      db.pragma(`busy_timeout = ${opts.blockingWaits ? busyTimeoutMs : 0}`);
      // Only an empty file can still choose its page size (before WAL mode is set).
      if (!opts.readonly && db.pragma('page_count', { simple: true }) === 0) db.pragma(`page_size = ${PAGE_SIZE}`);
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
      }
      db.pragma('foreign_keys = ON');
      db.pragma(`cache_size = -${DEFAULT_CACHE_KIB}`);
      db.pragma('temp_store = MEMORY');
      const hasSchema = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'registry_meta'").get() !== undefined;
      if (!hasSchema && (opts.readonly || opts.mustExist)) {
        throw new RegistrySchemaMissing(`The registry file ${path} has no registry schema.`, { details: { path } });
      }
      if (hasSchema) {
        checkVersion(db, path);
      } else {
        db.transaction(() => {
          db.exec(REGISTRY_DDL);
          const row = db.prepare<[], { value: string }>("SELECT value FROM registry_meta WHERE key = 'schema_version'").get();
          if (!row) db.prepare("INSERT INTO registry_meta (key, value) VALUES ('schema_version', ?)").run(String(REGISTRY_SCHEMA_VERSION));
          else checkVersion(db, path);
        }).immediate();
      }
      return new SqliteConnection(path, db, busyTimeoutMs);
    } catch (err) {
      db.close();
      if (err instanceof Error && 'kind' in err) throw err;
      const mapped = asRegistryError(err, path);
      if (mapped !== err) throw mapped;
      throw new RepositoryError(`Cannot open registry ${path}: ${(err as Error).message}`, { details: { path } });
    }
  }

  /** `open` that waits for a locked file on timers instead of failing at once. */
  static async openWaiting(path: string, opts: SqliteOptions = {}): Promise<SqliteConnection> {
    return retryBusy(() => SqliteConnection.open(path, opts), opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS, path);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  assertOpen(): void {
    if (this.closed) throw new RepositoryError(`Registry ${this.path} is closed.`, { details: { path: this.path } });
  }

  /**
   * Checkpoint the WAL and close. Idempotent. `checkpoint: false` leaves the WAL to the
   * other connections (a writer thread closing while the caller's connection stays open).
   */
  close(opts: { checkpoint?: boolean } = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelCheckpoint();
    try {
      if (opts.checkpoint !== false && !this.db.readonly && this.db.open && !this.db.inTransaction) this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Another connection may hold the database; the checkpoint is only housekeeping.
    }
    this.db.close();
  }

  /**
   * Run `fn` in a write transaction (BEGIN IMMEDIATE; a SAVEPOINT when nested). If `fn`
   * throws, everything it wrote is rolled back and the error propagates. Fails at once
   * with the lock taken (see `write` for waiting).
   */
  transaction<T>(fn: () => T): T {
    this.assertOpen();
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      this.onRollback();
      throw err;
    }
  }

  /** Run `fn` on one consistent snapshot (BEGIN DEFERRED; no write lock unless `fn` writes). */
  readTransaction<T>(fn: () => T): T {
    this.assertOpen();
    try {
      return this.db.transaction(fn).deferred();
    } catch (err) {
      this.onRollback();
      throw err;
    }
  }

  /**
   * A write transaction that waits (on timers) for another writer's lock; StoreBusy past
   * the wait limit. Only a transaction that could not begin is tried again: `fn` runs once.
   */
  write<T>(fn: () => T): Promise<T> {
    return this.retrying(fn, (f) => this.transaction(f));
  }

  /** A read (snapshot) that waits on timers in the rare cases where a reader meets a lock (WAL recovery). */
  read<T>(fn: () => T): Promise<T> {
    return this.retrying(fn, (f) => this.readTransaction(f));
  }

  private retrying<T>(fn: () => T, txn: (f: () => T) => T): Promise<T> {
    let started = false;
    const body = (): T => {
      started = true;
      return fn();
    };
    return retryBusy(() => txn(body), this.busyTimeoutMs, this.path, () => !started);
  }

  /**
   * A write transaction for bulk loads whose caller guarantees referential integrity by
   * construction (collect-and-transfer). When it is the outermost transaction:
   * - foreign-key enforcement is off for its duration (SQLite can only change that outside
   *   a transaction; the per-row parent lookups cost about a fifth of a bulk import);
   * - the commit does not checkpoint the WAL (which would copy the whole import a second
   *   time inside the call); a PASSIVE checkpoint follows shortly after (see
   *   scheduleCheckpoint), and close() checkpoints too.
   * Both settings are restored afterwards. Nested in another transaction it is a plain
   * savepoint with foreign keys enforced.
   */
  bulkTransaction<T>(fn: () => T): T {
    this.assertOpen();
    if (this.db.inTransaction) return this.transaction(fn);
    this.db.pragma('foreign_keys = OFF');
    this.db.pragma('wal_autocheckpoint = 0');
    try {
      return this.transaction(fn);
    } finally {
      this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      this.db.pragma('foreign_keys = ON');
      this.scheduleCheckpoint();
    }
  }

  /**
   * Copy the WAL into the database file now (PASSIVE: never waits for other connections;
   * TRUNCATE: also empties the WAL). Returns SQLite's [busy, log frames, checkpointed frames].
   */
  checkpoint(mode: 'PASSIVE' | 'TRUNCATE' = 'PASSIVE'): { busy: number; log: number; checkpointed: number } {
    this.assertOpen();
    this.cancelCheckpoint();
    const row = this.db.pragma(`wal_checkpoint(${mode})`) as Array<{ busy: number; log: number; checkpointed: number }>;
    return row[0] ?? { busy: 0, log: 0, checkpointed: 0 };
  }

  /**
   * After a bulk commit the WAL can hold the whole import; rather than copying it into the
   * database inside the commit (which would double the time of the import), a PASSIVE
   * checkpoint runs shortly after on the event loop (an unref'd timer), or on close.
   */
  scheduleCheckpoint(): void {
    if (this.checkpointTimer || this.path === ':memory:' || this.db.readonly || this.closed) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = undefined;
      if (this.closed || this.db.inTransaction) return;
      try {
        this.db.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        // Housekeeping only: the next commit or close() checkpoints again.
      }
    }, CHECKPOINT_DELAY_MS);
    this.checkpointTimer.unref();
  }

  private cancelCheckpoint(): void {
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = undefined;
  }
}

function checkVersion(db: Database.Database, path: string): void {
  const row = db.prepare<[], { value: string }>("SELECT value FROM registry_meta WHERE key = 'schema_version'").get();
  if (!row || row.value !== String(REGISTRY_SCHEMA_VERSION)) throw versionMismatch(row?.value ?? null, path);
}

/**
 * Call `fn` until it does not fail with SQLite's busy error, pausing on timers in between
 * (so the event loop runs while another process holds the lock); StoreBusy with
 * `retryAfterMs` once `limitMs` has passed.
 */
export async function retryBusy<T>(fn: () => T, limitMs: number, path: string, mayRetry: () => boolean = () => true): Promise<T> {
  const deadline = Date.now() + limitMs;
  let pause = BUSY_FIRST_PAUSE_MS;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err)) throw asRegistryError(err, path);
      if (!mayRetry()) throw asRegistryError(err, path);
      if (Date.now() + pause > deadline) throw asRegistryError(err, path, Math.min(BUSY_MAX_PAUSE_MS * 5, Math.max(pause, 50)));
    }
    await sleep(pause);
    pause = Math.min(BUSY_MAX_PAUSE_MS, pause * 2);
  }
}
