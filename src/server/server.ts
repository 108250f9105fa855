/**
 * The sidecar's JSON-RPC core: one connection, the lifecycle gate, parameter
 * validation, cancellation, per-session serialisation, stats and error mapping.
 * Handlers (one module per method family) register through `handle`.
 */
import type { CancellationToken } from 'vscode-jsonrpc/node';
import type { Readable, Writable } from 'node:stream';
import type { z } from 'zod';
import type { NotificationDef, RequestDef } from '../../protocol/define.js';
import { LogTrace, ProgressNotification, type NotificationStream } from '../../protocol/index.js';
import { MemoryDatastoreRegistry } from '../datastore/memory-datastore-registry.js';
import { RepositoryTable } from './repositories.js';
import { Logger, type LogLevel } from './logger.js';
import { Stats } from './stats.js';
import { SessionTable, releaseSession, writeProvenanceFile, type Session } from './session-table.js';
import { NO_PROGRESS, RequestContext, type Progress } from './context.js';
import { rpcError, toResponseError } from './errors.js';
import { ProtocolReader } from './protocol-reader.js';
import { ProtocolWriter } from './protocol-writer.js';
import { ServerConnection } from './connection.js';

export interface ServerOptions {
  input: Readable;
  output: Writable;
  maxInlineBytes: number;
  maxSessions: number;
  logLevel: LogLevel;
  clientProcessId?: number;
  /** `--registry-url`: the server URL for the PostgreSQL registries this process opens. */
  registryUrl?: string;
  /** Called to end the process (tests may intercept). */
  exit(code: number): void;
}

type LifecycleState = 'uninitialized' | 'initialized' | 'shutdown';

export interface HandlerOptions {
  /** Runs before initialize (only initialize itself). */
  allowUninitialized?: boolean;
  /** Runs after shutdown (none do; exit is a notification). */
  allowAfterShutdown?: boolean;
}

export type Handler<P extends z.ZodType, R extends z.ZodType> = (
  params: z.output<P>,
  ctx: RequestContext,
) => Promise<z.input<R>> | z.input<R>;

export type SessionHandler<P extends z.ZodType, R extends z.ZodType> = (
  params: z.output<P>,
  ctx: RequestContext,
  session: Session,
) => Promise<z.input<R>> | z.input<R>;

export class Server {
  readonly conn: ServerConnection;
  readonly logger: Logger;
  readonly stats = new Stats();
  readonly sessions: SessionTable;
  readonly datastores = new MemoryDatastoreRegistry();
  readonly repositories: RepositoryTable;
  state: LifecycleState = 'uninitialized';
  trace: 'off' | 'messages' | 'compact' | 'verbose' = 'off';
  private exiting = false;
  private readonly writer: ProtocolWriter;
  private readonly requestHandlers = new Map<string, (raw: unknown, token: CancellationToken) => Promise<unknown>>();
  private readonly notificationHandlers = new Map<string, (raw: unknown) => void>();

  constructor(readonly options: ServerOptions) {
    this.logger = new Logger(options.logLevel);
    this.sessions = new SessionTable(options.maxSessions);
    this.repositories = new RepositoryTable(options.registryUrl);
    options.input.on('data', (chunk: Buffer) => (this.stats.bytesIn += chunk.length));
    this.writer = new ProtocolWriter(options.output);
    // One entry point for every request, so that gating, validation, stats and error
    // mapping apply uniformly.
    this.conn = new ServerConnection(
      new ProtocolReader(options.input),
      this.writer,
      (method, params, token) => this.dispatch(method, params, token),
      (method, params) => this.dispatchNotification(method, params),
    );
    this.conn.onError(([err, msg]) => this.onConnectionError(err, msg));
    // Requests already read are still answered: wait for them, then exit.
    this.conn.onClose(() => void this.drain().then(() => this.exit(this.state === 'shutdown' ? 0 : 1, 'stdin closed')));
  }

  /** Register a request handler with validation, gating, cancellation and stats. */
  handle<P extends z.ZodType, R extends z.ZodType>(def: RequestDef<P, R>, fn: Handler<P, R>, opts: HandlerOptions = {}): void {
    this.requestHandlers.set(def.method, async (raw: unknown, token: CancellationToken) => {
      const started = performance.now();
      let failed = false;
      try {
        this.gate(def.method, opts);
        const params = def.params.parse(raw ?? undefined);
        const work = this.progressFor((params as { workDoneToken?: string | number })?.workDoneToken, undefined);
        const ctx = new RequestContext(def.method, token, work);
        ctx.checkCancelled();
        return await fn(params, ctx);
      } catch (err) {
        failed = true;
        throw this.failure(def.method, err);
      } finally {
        this.finish(def.method, started, failed, raw);
      }
    });
  }

  /** Register a handler that runs on one session, serialised with its other calls. */
  handleSession<P extends z.ZodType, R extends z.ZodType>(def: RequestDef<P, R>, fn: SessionHandler<P, R>): void {
    this.requestHandlers.set(def.method, async (raw: unknown, token: CancellationToken) => {
      const started = performance.now();
      let failed = false;
      let sessionId: string | undefined;
      try {
        this.gate(def.method, {});
        const params = def.params.parse(raw ?? undefined) as z.output<P> & { sessionId: string; workDoneToken?: string | number };
        sessionId = params.sessionId;
        const session = this.sessions.get(params.sessionId);
        const ctx = new RequestContext(def.method, token, this.progressFor(params.workDoneToken, session));
        ctx.checkCancelled();
        return await session.mutex.run(async () => {
          ctx.checkCancelled(); // it may have been cancelled while queued
          if (this.sessions.find(session.id) !== session) this.sessions.get(session.id); // closed while queued
          return fn(params, ctx, session);
        });
      } catch (err) {
        failed = true;
        throw this.failure(def.method, err, sessionId);
      } finally {
        this.finish(def.method, started, failed, raw);
      }
    });
  }

  onNotification<P extends z.ZodType>(def: NotificationDef<P>, fn: (params: z.output<P>) => void): void {
    this.notificationHandlers.set(def.method, (raw: unknown) => {
      if (this.state === 'uninitialized' && def.method !== 'exit') return; // LSP: dropped before initialize
      const parsed = def.params.safeParse(raw ?? undefined);
      if (!parsed.success) {
        this.logger.warn(`invalid ${def.method} notification ignored: ${parsed.error.issues[0]?.message}`);
        return;
      }
      fn(parsed.data);
    });
  }

  /** A reader error: a body that is not JSON gets -32700 (id null); broken framing cannot be recovered. */
  private onConnectionError(err: Error, msg: unknown): void {
    if (msg !== undefined) {
      this.logger.error(`connection error: ${err.message}`);
      return;
    }
    if (err instanceof SyntaxError) {
      this.logger.warn(`unparsable message: ${err.message}`);
      void this.writer
        .write({ jsonrpc: '2.0', id: null, error: { code: -32700, message: `Parse error: ${err.message}`, data: { kind: 'ParseError', retryable: false } } } as never)
        .catch(() => {});
      return;
    }
    // A bad header leaves the stream out of step for good: say so and stop, rather than hang.
    this.logger.error(`framing error, cannot continue: ${err.message}`);
    void this.writer
      .write({ jsonrpc: '2.0', id: null, error: { code: -32700, message: `Framing error: ${err.message}`, data: { kind: 'ParseError', retryable: false } } } as never)
      .catch(() => {})
      .finally(() => this.exit(1, 'framing error'));
  }

  /** Resolve once every request read so far has been answered (or after a minute). */
  private async drain(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (this.conn.busy && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  private async dispatch(method: string, params: unknown, token: CancellationToken): Promise<unknown> {
    const handler = this.requestHandlers.get(method);
    if (handler) return handler(params, token);
    this.stats.record(method, 0, true);
    if (this.state === 'uninitialized') throw rpcError('ServerNotInitialized', `Server not initialized: send initialize before ${method}.`);
    throw rpcError('MethodNotFound', `Unknown method ${method}.`);
  }

  private dispatchNotification(method: string, params: unknown): void {
    const handler = this.notificationHandlers.get(method);
    if (handler) handler(params);
    else if (!method.startsWith('$/')) this.logger.debug(`ignored notification ${method}`);
  }

  notify<P extends z.ZodType>(def: NotificationDef<P>, params: z.input<P>): void {
    if (this.exiting) return;
    this.stats.notificationsSent++;
    void this.conn.sendNotification(def.method, params).catch((err: Error) => this.logger.debug(`notify failed: ${err.message}`));
  }

  /** Progress on a client-supplied token, if the session (when there is one) wants that stream. */
  progressFor(token: string | number | undefined, session: Session | undefined): Progress {
    if (token === undefined) return NO_PROGRESS;
    if (session && !session.streams.has('progress' as NotificationStream)) return NO_PROGRESS;
    let begun = false;
    let last = -1;
    return {
      begin: (title, message) => {
        begun = true;
        this.notify(ProgressNotification, { token, value: { kind: 'begin', title, message, percentage: 0, cancellable: true } });
      },
      report: (percentage, message) => {
        if (!begun || percentage <= last) return; // percentages only rise
        last = percentage;
        this.notify(ProgressNotification, { token, value: { kind: 'report', percentage, message } });
      },
      end: (message) => {
        if (!begun) return;
        begun = false;
        this.notify(ProgressNotification, { token, value: { kind: 'end', message } });
      },
    };
  }

  private gate(method: string, opts: HandlerOptions): void {
    if (this.state === 'uninitialized' && !opts.allowUninitialized) {
      throw rpcError('ServerNotInitialized', `Server not initialized: send initialize before ${method}.`);
    }
    if (this.state === 'shutdown' && !opts.allowAfterShutdown) {
      throw rpcError('ShutdownInProgress', `The server is shut down; only exit is accepted (got ${method}).`);
    }
  }

  private failure(method: string, err: unknown, sessionId?: string) {
    const rpc = toResponseError(err, sessionId);
    if (sessionId !== undefined && rpc.data && rpc.data.sessionId === undefined) rpc.data.sessionId = sessionId;
    if (rpc.data?.kind === 'InternalError') {
      this.logger.error(`${method} failed unexpectedly`, { stack: (err as Error)?.stack });
    } else {
      this.logger.debug(`${method} failed: ${rpc.message}`, { kind: rpc.data?.kind });
    }
    return rpc;
  }

  private finish(method: string, started: number, failed: boolean, raw: unknown): void {
    const ms = performance.now() - started;
    this.stats.record(method, ms, failed);
    if (this.trace !== 'off' && !this.exiting) {
      const message = `${method} ${failed ? 'failed' : 'ok'} in ${ms.toFixed(2)} ms`;
      const verbose = this.trace === 'verbose' ? JSON.stringify(raw ?? null).slice(0, 4096) : undefined;
      this.notify(LogTrace, verbose === undefined ? { message } : { message, verbose });
    }
  }

  listen(): void {
    this.conn.listen();
  }

  /** Close every session, flush what is queued on stdout, then end the process. */
  exit(code: number, reason: string): void {
    if (this.exiting) return;
    this.exiting = true;
    this.logger.log(code === 0 ? 'info' : 'warning', `exiting with code ${code}: ${reason}`);
    const done = () => {
      const out = this.options.output;
      // end() runs after everything written before it has been flushed.
      if (out.writable) out.end(() => this.options.exit(code));
      else this.options.exit(code);
    };
    // Best effort, but bounded: a stuck store must not keep the process alive.
    const timer = setTimeout(done, 2000);
    void this.closeAllSessions()
      .then(() => this.datastores.closeAll())
      .then(() => this.repositories.closeAll())
      .catch((err: Error) => this.logger.error(`cleanup failed: ${err.message}`))
      .finally(() => {
        clearTimeout(timer);
        done();
      });
  }

  /** Close every session (shutdown and exit), writing the provenance of those that gave a provenanceFile. */
  async closeAllSessions(): Promise<void> {
    for (const s of this.sessions.list()) {
      this.sessions.remove(s.id);
      try {
        const provenance = s.butler.close();
        await releaseSession(s);
        await writeProvenanceFile(s, provenance);
        if (s.provenanceFile !== undefined) this.logger.info('session closed by the server; provenance written', { sessionId: s.id, provenanceFile: s.provenanceFile });
      } catch (err) {
        this.logger.warn(`closing session ${s.id} failed: ${(err as Error).message}`);
      }
    }
  }
}
