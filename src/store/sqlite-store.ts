/**
 * A store in one SQLite file (or ':memory:') through better-sqlite3.
 *
 * Layout: `qb_entries(key, data, metadata JSON text, created, modified)` and a side table
 * `qb_metadata(name, value, key)` with one row per top-level metadata name, `value` being
 * the canonical JSON of the value (sorted object members, so JSON-deep-equal values have
 * equal text). Its primary key (name, value, key) makes an exact-match query an index
 * search plus joins on the key, never a scan of the entries (see `explainQuery`).
 *
 * Concurrency: WAL journal. Every write outside a transaction is its own `BEGIN IMMEDIATE`
 * transaction (read-modify-write of created / metadata included), and the outermost frame
 * of `begin()`/`transaction()` is `BEGIN IMMEDIATE` too, so several processes can share
 * the file without losing writes. Nested frames are SAVEPOINTs. better-sqlite3 is
 * synchronous, and SQLite's own busy timeout would wait for another connection's lock
 * inside the call, stopping this process's event loop (every session, pings included).
 * So the connection never waits (`busy_timeout = 0`): a call that finds the file locked is
 * tried again after a growing pause (timers, the event loop runs meanwhile) for up to
 * `busyTimeoutMs` (default 5000 ms), then fails with StoreBusy carrying `retryAfterMs`.
 * Only creating the tables of a new file may wait inside the call (once, at open).
 *
 * Checkpoints: SQLite's automatic checkpoint runs inside the COMMIT that crosses 1000 WAL
 * pages, which for bulk writes costs about as much as the inserts. We turn it off and run a
 * PASSIVE checkpoint once writes have been idle for `checkpointDelayMs` (a timer that does
 * not keep the process alive), at once when ~64 MiB were written since the last one, and on
 * close. The data is durable in the WAL either way; this only moves (and coalesces) the
 * copy into the main file.
 *
 * Over 500 lines as one cohesive thing: the backend's primitives and the SQL they run.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { IOFailure, InvalidArgument, StoreBusy } from '../model/errors.js';
import { canonicalJson } from '../model/json-value.js';
import { BaseStore, clampRange, fsError, type Entry, type PutChange, type PutResult, type StoreOptions } from './base-store.js';
import type { StepFn } from './progress.js';
import { matchesQuery } from './query.js';
import type { Metadata, StoreInfo } from './store.js';
import { nowSeconds } from './values.js';
import { fsPathProblem } from '../util/fs-path.js';

export interface SqliteStoreOptions extends StoreOptions {
  /** How long a call waits (off the event loop) for another connection's write lock (ms, default 5000). */
  busyTimeoutMs?: number;
  /** Idle time after a commit before the WAL is checkpointed (ms, default 250). */
  checkpointDelayMs?: number;
}

const EMPTY = Buffer.alloc(0);
/** Names matched through the index (joins); further names are checked in JS. */
const MAX_INDEXED_NAMES = 8;
/** Side-table rows per multi-row INSERT in bulk writes. */
const INDEX_ROWS_PER_INSERT = 100;
/** WAL bytes (approx.) after which a commit checkpoints at once instead of later. */
const CHECKPOINT_NOW_BYTES = 64 * 1024 * 1024;
/** Pauses between tries of a locked call grow from 1 ms to this. */
const MAX_BUSY_PAUSE_MS = 50;
/** What StoreBusy suggests to the caller once the wait is over. */
export const RETRY_AFTER_MS = 250;

type IndexRow = [name: string, value: string, key: string];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS qb_entries (
  key TEXT NOT NULL PRIMARY KEY,
  data BLOB NOT NULL,
  metadata TEXT NOT NULL,
  created REAL NOT NULL,
  modified REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS qb_metadata (
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  key TEXT NOT NULL,
  PRIMARY KEY (name, value, key)
) WITHOUT ROWID;
`;

type Statement = Database.Statement<unknown[], unknown>;

export class SqliteStore extends BaseStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly s: Record<
    | 'get'
    | 'meta'
    | 'exists'
    | 'size'
    | 'range'
    | 'insert'
    | 'update'
    | 'updateData'
    | 'updateMeta'
    | 'delete'
    | 'indexInsert'
    | 'indexDelete'
    | 'allKeys'
    | 'keyRange'
    | 'keysFrom',
    Statement
  >;
  private readonly queries = new Map<string, Statement>();
  private readonly indexBatch: Statement;
  private readonly checkpointDelayMs: number;
  private readonly busyTimeoutMs: number;
  private checkpointTimer: NodeJS.Timeout | undefined;
  /** Approximate bytes written since the last checkpoint. */
  private unCheckpointed = 0;
  /** Collects side-table inserts during a bulk write (sorted and batched at its end). */
  private pendingIndex: IndexRow[] | undefined;
  private readonly putTx: Database.Transaction<(key: string, change: PutChange) => PutResult>;
  private readonly mergeTx: Database.Transaction<(key: string, patch: Metadata) => Metadata | undefined>;
  private readonly deleteTx: Database.Transaction<(key: string) => Metadata | undefined>;
  protected override readonly freshMetadata = true;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    super(options);
    const bad = path.startsWith('file:') ? undefined : fsPathProblem(path);
    if (bad) throw new InvalidArgument(`A SQLite store path ${bad}.`, { details: { problem: bad } });
    this.path = path;
    if (path !== ':memory:' && path !== '' && !path.startsWith('file:')) {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (err) {
        throw fsError(err, `create directory for ${path}`);
      }
    }
    this.busyTimeoutMs = Math.max(0, options.busyTimeoutMs ?? 5000);
    this.db = sqlite(() => new Database(path, { timeout: this.busyTimeoutMs }));
    try {
      sqlite(() => {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
        this.db.pragma('wal_autocheckpoint = 0');
        this.db.pragma('journal_size_limit = 67108864');
        // Large transactions should stay in the page cache instead of spilling mid-way.
        this.db.pragma('cache_size = -65536');
        // An existing store is opened without the write lock; only a new file waits for it.
        const tables = this.db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('qb_entries', 'qb_metadata')").pluck().get();
        if (tables !== 2) this.db.transaction(() => this.db.exec(SCHEMA)).immediate();
        this.db.pragma('busy_timeout = 0');
      });
    } catch (err) {
      this.db.close();
      throw err;
    }
    const p = (sql: string): Statement => this.db.prepare(sql);
    this.s = {
      get: p('SELECT data, metadata, created, modified FROM qb_entries WHERE key = ?'),
      meta: p('SELECT metadata FROM qb_entries WHERE key = ?').pluck(),
      exists: p('SELECT 1 FROM qb_entries WHERE key = ?').pluck(),
      size: p('SELECT length(data) FROM qb_entries WHERE key = ?').pluck(),
      range: p('SELECT substr(data, ?, ?) FROM qb_entries WHERE key = ?').pluck(),
      insert: p('INSERT INTO qb_entries (key, data, metadata, created, modified) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING'),
      update: p('UPDATE qb_entries SET data = ?, metadata = ?, modified = ? WHERE key = ?'),
      updateData: p('UPDATE qb_entries SET data = ?, modified = ? WHERE key = ?'),
      updateMeta: p('UPDATE qb_entries SET metadata = ?, modified = ? WHERE key = ?'),
      delete: p('DELETE FROM qb_entries WHERE key = ?'),
      indexInsert: p('INSERT INTO qb_metadata (name, value, key) VALUES (?, ?, ?)'),
      indexDelete: p('DELETE FROM qb_metadata WHERE name = ? AND value = ? AND key = ?'),
      allKeys: p('SELECT key FROM qb_entries').pluck(),
      keyRange: p('SELECT key FROM qb_entries WHERE key >= ? AND key < ?').pluck(),
      keysFrom: p('SELECT key FROM qb_entries WHERE key >= ? ORDER BY key').pluck(),
    };
    this.indexBatch = p(`INSERT INTO qb_metadata (name, value, key) VALUES ${Array(INDEX_ROWS_PER_INSERT).fill('(?, ?, ?)').join(', ')}`);
    this.checkpointDelayMs = options.checkpointDelayMs ?? 250;
    this.putTx = this.db.transaction((key: string, change: PutChange) => this.putSync(key, change));
    this.mergeTx = this.db.transaction((key: string, patch: Metadata) => this.mergeSync(key, patch));
    this.deleteTx = this.db.transaction((key: string) => this.deleteSync(key));
  }

  info(): StoreInfo {
    return { readonly: false, kind: 'sqlite', path: this.path };
  }

  /** Copies the WAL into the database file now (PASSIVE: never waits for other connections). */
  checkpoint(): void {
    this.assertOpen();
    this.clearCheckpointTimer();
    this.unCheckpointed = 0;
    sqlite(() => this.db.pragma('wal_checkpoint(PASSIVE)'));
  }

  /** The EXPLAIN QUERY PLAN lines of the statement `queryKeys(match)` (or `query`) runs. */
  explainQuery(match: Metadata, withMetadata = false): string[] {
    const { sql, params } = this.querySql(match, withMetadata);
    const rows = this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>;
    return rows.map((r) => r.detail);
  }

  protected async _get(key: string): Promise<Entry | undefined> {
    const row = (await this.call(() => this.s.get.get(key))) as
      | { data: Buffer; metadata: string; created: number; modified: number }
      | undefined;
    if (!row) return undefined;
    return { data: row.data ?? EMPTY, metadata: JSON.parse(row.metadata) as Metadata, created: row.created, modified: row.modified };
  }

  protected async _getMeta(key: string): Promise<Metadata | undefined> {
    const text = (await this.call(() => this.s.meta.get(key))) as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as Metadata);
  }

  protected async _exists(key: string): Promise<boolean> {
    return (await this.call(() => this.s.exists.get(key))) !== undefined;
  }

  protected override async _getRange(key: string, start: number, end: number | undefined): Promise<Buffer | undefined> {
    // Both statements run synchronously back to back: nothing can change the value in between.
    return this.call(() => {
      const size = this.s.size.get(key) as number | undefined;
      if (size === undefined) return undefined;
      const [s, e] = clampRange(size, start, end);
      if (e === s) return Buffer.alloc(0);
      return (this.s.range.get(s + 1, e - s, key) as Buffer | null) ?? Buffer.alloc(0);
    });
  }

  protected async _put(key: string, change: PutChange, step: StepFn): Promise<PutResult> {
    // Inside an open frame, the frame already isolates and can undo this write: skip the
    // per-call savepoint (it costs more than the write for small values).
    const inFrame = this.db.inTransaction;
    const result = await this.call(() => (inFrame ? this.putSync(key, change) : this.putTx.immediate(key, change)));
    step(change.data?.length ?? 0);
    if (!inFrame) this.committed();
    return result;
  }

  protected override async _putMany(items: ReadonlyArray<{ key: string; change: PutChange }>): Promise<PutResult[]> {
    // One synchronous loop; side-table rows are inserted at the end, sorted (b-tree
    // locality) and several per statement.
    const inFrame = this.db.inTransaction;
    const result = await this.call(() => {
      const run = (): PutResult[] => {
        const pending: IndexRow[] = [];
        const seen = new Set<string>();
        this.pendingIndex = pending;
        try {
          const out = items.map(({ key, change }) => {
            // A key seen earlier in this batch: its rows must be in the table before reindexing.
            if (seen.has(key)) {
              this.flushIndex(pending);
              seen.clear();
            }
            seen.add(key);
            return this.putSync(key, change);
          });
          this.flushIndex(pending);
          return out;
        } finally {
          this.pendingIndex = undefined;
        }
      };
      return inFrame ? run() : this.db.transaction(run).immediate();
    });
    if (!inFrame) this.committed();
    return result;
  }

  protected override async _merge(key: string, patch: Metadata): Promise<Metadata | undefined> {
    const inFrame = this.db.inTransaction;
    const result = await this.call(() => (inFrame ? this.mergeSync(key, patch) : this.mergeTx.immediate(key, patch)));
    if (!inFrame) this.committed();
    return result;
  }

  protected async _delete(key: string): Promise<Metadata | undefined> {
    const inFrame = this.db.inTransaction;
    const result = await this.call(() => (inFrame ? this.deleteSync(key) : this.deleteTx.immediate(key)));
    if (!inFrame) this.committed();
    return result;
  }

  protected async _keys(prefix: string): Promise<string[]> {
    return this.call(() => {
      if (prefix === '') return this.s.allKeys.all() as string[];
      const upper = upperBound(prefix);
      if (upper !== undefined) return this.s.keyRange.all(prefix, upper) as string[];
      const out: string[] = [];
      for (const k of this.s.keysFrom.iterate(prefix) as IterableIterator<string>) {
        if (!k.startsWith(prefix)) break;
        out.push(k);
      }
      return out;
    });
  }

  protected async _query(match: Metadata): Promise<Array<[string, Metadata]>> {
    return this.call(() => {
      const { sql, params, rest } = this.querySql(match, true);
      const rows = this.statement(sql).all(...params) as Array<{ key: string; metadata: string }>;
      const out: Array<[string, Metadata]> = [];
      for (const row of rows) {
        const md = JSON.parse(row.metadata) as Metadata;
        if (rest.length === 0 || matchesQuery(md, match, rest)) out.push([row.key, md]);
      }
      return out;
    });
  }

  protected override async _queryKeys(match: Metadata): Promise<string[]> {
    const { rest } = this.querySql(match, false);
    if (rest.length > 0) return (await this._query(match)).map(([k]) => k);
    return this.call(() => {
      const { sql, params } = this.querySql(match, false);
      return this.statement(sql).pluck().all(...params) as string[];
    });
  }

  protected async _beginFrame(depth: number): Promise<void> {
    await this.call(() => this.db.exec(depth === 0 ? 'BEGIN IMMEDIATE' : `SAVEPOINT qb_frame_${depth}`));
  }

  protected async _commitFrame(depth: number): Promise<void> {
    await this.call(() => this.db.exec(depth === 0 ? 'COMMIT' : `RELEASE qb_frame_${depth}`));
    if (depth === 0) this.committed();
  }

  protected async _rollbackFrame(depth: number): Promise<void> {
    sqlite(() => {
      // A failed COMMIT may already have ended the transaction.
      if (!this.db.inTransaction) return;
      this.db.exec(depth === 0 ? 'ROLLBACK' : `ROLLBACK TO qb_frame_${depth}; RELEASE qb_frame_${depth}`);
    });
  }

  protected async _close(): Promise<void> {
    this.clearCheckpointTimer();
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Best effort: the last connection to close checkpoints anyway.
    }
    this.db.close();
  }

  /**
   * Runs `fn` (synchronous SQLite work that either completes or changes nothing); while
   * another connection holds the lock it needs, tries again after growing pauses, the event
   * loop running meanwhile, until `busyTimeoutMs` is spent: then StoreBusy with `retryAfterMs`.
   */
  private async call<T>(fn: () => T): Promise<T> {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, MAX_BUSY_PAUSE_MS)) {
      try {
        return sqlite(fn);
      } catch (err) {
        if (!(err instanceof StoreBusy)) throw err;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new StoreBusy(`the SQLite store ${this.path} stayed locked by another connection for ${this.busyTimeoutMs} ms; retry later`, {
            details: { ...(err.context.details as object), retryAfterMs: RETRY_AFTER_MS },
          });
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
        this.assertOpen();
      }
    }
  }

  /** After a top-level commit: checkpoint now if a lot was written, else once writes go idle. */
  private committed(): void {
    this.clearCheckpointTimer();
    if (this.unCheckpointed >= CHECKPOINT_NOW_BYTES) {
      this.checkpointQuietly();
      return;
    }
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = undefined;
      if (!this.isClosed && !this.db.inTransaction) this.checkpointQuietly();
    }, this.checkpointDelayMs);
    this.checkpointTimer.unref();
  }

  /** The write has committed: a failed checkpoint must not turn it into an error. */
  private checkpointQuietly(): void {
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
      this.unCheckpointed = 0;
    } catch {
      // Retried after the next commit.
    }
  }

  private clearCheckpointTimer(): void {
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = undefined;
  }

  // ---- synchronous bodies (run inside one SQLite transaction or savepoint) ---------------

  private putSync(key: string, change: PutChange): PutResult {
    const now = nowSeconds();
    this.unCheckpointed += key.length + (change.data?.length ?? 0) + 64;
    // Try the insert first: for a new key (the common case in bulk loads) that is the only statement.
    const fresh = change.metadata ?? {};
    if (this.s.insert.run(key, change.data ?? EMPTY, JSON.stringify(fresh), now, now).changes === 1) {
      this.index(key, fresh);
      return { existed: false, metadata: fresh };
    }
    const text = this.s.meta.get(key) as string;
    const old = JSON.parse(text) as Metadata;
    if (!change.metadata) {
      if (change.data) this.s.updateData.run(change.data, now, key);
      else this.s.updateMeta.run(text, now, key);
      return { existed: true, metadata: old };
    }
    if (change.data) this.s.update.run(change.data, JSON.stringify(change.metadata), now, key);
    else this.s.updateMeta.run(JSON.stringify(change.metadata), now, key);
    this.reindex(key, old, change.metadata);
    return { existed: true, metadata: change.metadata };
  }

  private mergeSync(key: string, patch: Metadata): Metadata | undefined {
    const text = this.s.meta.get(key) as string | undefined;
    if (text === undefined) return undefined;
    const old = JSON.parse(text) as Metadata;
    const metadata = { ...old, ...patch };
    this.s.updateMeta.run(JSON.stringify(metadata), nowSeconds(), key);
    this.reindex(key, old, metadata);
    return metadata;
  }

  private deleteSync(key: string): Metadata | undefined {
    const text = this.s.meta.get(key) as string | undefined;
    if (text === undefined) return undefined;
    const old = JSON.parse(text) as Metadata;
    this.s.delete.run(key);
    this.unindex(key, old);
    return old;
  }

  private index(key: string, metadata: Metadata): void {
    const pending = this.pendingIndex;
    for (const name of Object.keys(metadata)) {
      const value = canonicalJson(metadata[name]);
      if (pending) pending.push([name, value, key]);
      else this.s.indexInsert.run(name, value, key);
    }
  }

  /** Inserts and empties `rows`. */
  private flushIndex(rows: IndexRow[]): void {
    rows.sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]) || cmp(a[2], b[2]));
    let i = 0;
    for (; i + INDEX_ROWS_PER_INSERT <= rows.length; i += INDEX_ROWS_PER_INSERT) {
      this.indexBatch.run(rows.slice(i, i + INDEX_ROWS_PER_INSERT).flat());
    }
    for (; i < rows.length; i++) this.s.indexInsert.run(rows[i]);
    rows.length = 0;
  }

  // Side-table rows are removed by their primary key, computed from the old metadata: no
  // second index on `key` to maintain on every insert.
  private unindex(key: string, metadata: Metadata): void {
    for (const name of Object.keys(metadata)) this.s.indexDelete.run(name, canonicalJson(metadata[name]), key);
  }

  private reindex(key: string, old: Metadata, metadata: Metadata): void {
    for (const name of Object.keys(old)) {
      const before = canonicalJson(old[name]);
      if (Object.prototype.hasOwnProperty.call(metadata, name) && canonicalJson(metadata[name]) === before) continue;
      this.s.indexDelete.run(name, before, key);
    }
    for (const name of Object.keys(metadata)) {
      const now = canonicalJson(metadata[name]);
      if (Object.prototype.hasOwnProperty.call(old, name) && canonicalJson(old[name]) === now) continue;
      if (this.pendingIndex) this.pendingIndex.push([name, now, key]);
      else this.s.indexInsert.run(name, now, key);
    }
  }

  private querySql(match: Metadata, withMetadata: boolean): { sql: string; params: string[]; rest: string[] } {
    const names = Object.keys(match);
    if (names.length === 0) {
      return { sql: withMetadata ? 'SELECT key, metadata FROM qb_entries' : 'SELECT key FROM qb_entries', params: [], rest: [] };
    }
    const indexed = names.slice(0, MAX_INDEXED_NAMES);
    const params: string[] = [];
    let sql = withMetadata ? 'SELECT m0.key AS key, e.metadata AS metadata FROM qb_metadata m0' : 'SELECT m0.key AS key FROM qb_metadata m0';
    for (let i = 1; i < indexed.length; i++) {
      sql += ` JOIN qb_metadata m${i} ON m${i}.name = ? AND m${i}.value = ? AND m${i}.key = m0.key`;
      params.push(indexed[i], canonicalJson(match[indexed[i]]));
    }
    if (withMetadata) sql += ' JOIN qb_entries e ON e.key = m0.key';
    sql += ' WHERE m0.name = ? AND m0.value = ?';
    params.push(indexed[0], canonicalJson(match[indexed[0]]));
    return { sql, params, rest: names.slice(MAX_INDEXED_NAMES) };
  }

  private statement(sql: string): Statement {
    let st = this.queries.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.queries.set(sql, st);
    }
    return st;
  }
}

/** Code-unit order: close to SQLite's byte order, which is all the insert locality needs. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The smallest string greater than every string that starts with `prefix`, when easy. */
function upperBound(prefix: string): string | undefined {
  const last = prefix.charCodeAt(prefix.length - 1);
  if (last >= 0xd7ff) return undefined; // the successor would be a surrogate: scan instead
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}

/** Runs better-sqlite3 code, mapping its errors to domain errors. */
function sqlite<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_')) {
      if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
        throw new StoreBusy(`database is busy: ${(err as Error).message}`, { details: { code } });
      }
      throw new IOFailure(`sqlite: ${(err as Error).message}`, { details: { code } });
    }
    throw err;
  }
}
