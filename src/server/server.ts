/**
 * The sidecar's JSON-RPC core: one connection, the lifecycle gate, parameter
 * validation, cancellation, per-session serialisation, stats and error mapping.
 * Handlers (one module per method family) register through `handle`.
 */
import type { CancellationToken } from 'vscode-jsonrpc/node';
import type { Readable, Writable } from 'node:stream';
import type * as z from 'zod';
import type { NotificationDef, ParamsOf, RequestDef } from '../../protocol/define.js';
import { LogTrace, type NotificationStream } from '../../protocol/lifecycle.js';
// Types only: the notifications' schemas are built by the method families that send them.
import type { ProgressNotification } from '../../protocol/notifications.js';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../model/json-value.js';
import { RepositoryTable } from './repositories.js';
import { Logger, type LogLevel } from './logger.js';
import { Stats, UNKNOWN_METHOD } from './stats.js';
import { SessionTable, releaseSession, writeProvenanceFile, type Session } from './session-table.js';
import { NO_PROGRESS, RequestContext, type Progress } from './context.js';
import { rpcError, toResponseError } from './errors.js';
import { ProtocolReader } from './protocol-reader.js';
import { ProtocolWriter, type BatchForm } from './protocol-writer.js';
import type { ProvenanceForm } from './handlers/initialize.js';
import { ProvenanceRunsForm } from './provenance-runs-form.js';
import { ServerConnection } from './connection.js';
import { LazyFamilies } from './lazy-families.js';
import { monotonicMs } from '../util/time.js';
import { asideRemovals } from '../datastore/file-transfer.js';

export interface ServerOptions {
  input: Readable;
  output: Writable;
  /**
   * Writes out at once what `output` holds back to coalesce (stdout-guard's flush). Called
   * when the connection falls idle, so a sequential caller's answer is not held for a turn.
   */
  flushOutput?: () => void;
  maxInlineBytes: number;
  maxSessions: number;
  /** Largest message body read; a larger one is skipped and answered MessageTooLarge. */
  maxMessageBytes: number;
  /** Most requests handled at once; more wait unread (backpressure on the host). */
  maxInFlight: number;
  /** A frame stalled half-sent this long is a framing error (0: never). */
  messageTimeoutMs: number;
  logLevel: LogLevel;
  clientProcessId?: number;
  /** `--registry-url`: the server URL for the PostgreSQL registries this process opens. */
  registryUrl?: string;
  /** `--exit-wait-ms`: how long closing every session waits for a call under way (default EXIT_WAIT_MS). */
  exitWaitMs?: number;
  /** Called to end the process (tests may intercept). */
  exit(code: number): void;
}

type LifecycleState = 'uninitialized' | 'initialized' | 'shutdown';

/**
 * Params may nest this many containers: a JSON value at its own limit plus the envelope
 * around it. Deeper params are refused before any (recursive) validation or domain code
 * sees them, which could otherwise exhaust the stack.
 */
export const MAX_PARAMS_DEPTH = MAX_JSON_DEPTH + 32;
/**
 * ProgressNotification's method: the core sends it by name, so that a start does not build
 * the notifications' schemas (src/server/lazy-families.ts); the params are typed by its def.
 */
const PROGRESS_METHOD = '$/progress';
/** How long shutdown and exit wait for a session's call under way to finish (`--exit-wait-ms`)... */
const EXIT_WAIT_MS = 5_000;
/** ...and then, the call abandoned, for it to stop at its next check. */
const ABANDON_WAIT_MS = 2_000;
/** How long exit waits for sessions and stores to close (provenance files first), beyond the wait for calls. */
const CLEANUP_MS = 5_000;
/** Then how long for stdout to take what is queued (a host that reads nothing gets nothing). */
const FLUSH_MS = 2_000;

export interface HandlerOptions {
  /** Runs before initialize (only initialize itself). */
  allowUninitialized?: boolean;
  /** Runs after shutdown (none do; exit is a notification). */
  allowAfterShutdown?: boolean;
  /**
   * Validate without zod's compiled fast path: for a method called once per process
   * (initialize), compiling it costs more than it saves.
   */
  jitless?: boolean;
}

const JITLESS = { jitless: true } as const;

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
  readonly repositories: RepositoryTable;
  /** Method families registered on first use (src/server/start.ts), in the order messages arrive. */
  readonly families = new LazyFamilies();
  state: LifecycleState = 'uninitialized';
  trace: 'off' | 'messages' | 'compact' | 'verbose' = 'off';
  private exiting = false;
  /** Every session being closed (shutdown or exit): one run, which a later exit joins. */
  private closingAll: Promise<void> | undefined;
  /** Ends the wait for calls under way at once: exit arrived while a shutdown waited. */
  private hurry!: () => void;
  private readonly hurried = new Promise<void>((resolve) => (this.hurry = resolve));
  private readonly writer: ProtocolWriter;
  private readonly requestHandlers = new Map<string, (raw: unknown, token: CancellationToken, escapeFree: boolean) => Promise<unknown>>();
  private readonly notificationHandlers = new Map<string, (raw: unknown) => void>();
  private provenanceForm_: ProvenanceForm = 'events';
  /** The compact form's writer of a turn's events (its runs span the turn, across sessions). */
  readonly provenanceRuns = new ProvenanceRunsForm();
  /** What families opened for the process's life (the named datastores), closed at exit after the sessions. */
  private readonly closers: (() => Promise<void>)[] = [];

  constructor(readonly options: ServerOptions) {
    this.logger = new Logger(options.logLevel);
    this.sessions = new SessionTable(options.maxSessions);
    this.repositories = new RepositoryTable(options.registryUrl);
    options.input.on('data', (chunk: Buffer) => (this.stats.bytesIn += chunk.length));
    this.writer = new ProtocolWriter(options.output, options.flushOutput);
    // One entry point for every request, so that gating, validation, stats and error
    // mapping apply uniformly.
    this.conn = new ServerConnection(
      new ProtocolReader(options.input, { maxMessageBytes: options.maxMessageBytes, messageTimeoutMs: options.messageTimeoutMs }),
      this.writer,
      (method, params, token, escapeFree) => this.dispatch(method, params, token, escapeFree),
      (method, params) => this.dispatchNotification(method, params),
      { maxInFlight: options.maxInFlight, maxMessageBytes: options.maxMessageBytes },
    );
    // A fatal problem (stdout or stdin failed, framing lost) ends the process the one way
    // every exit takes: sessions closed and provenance written first.
    this.conn.onProblem((p) => (p.fatal ? this.exit(1, p.message) : this.logger.warn(p.message)));
    // Requests already read are still answered: wait for them, then exit.
    this.conn.onClose(() => void this.drain().then(() => this.exit(this.state === 'shutdown' ? 0 : 1, 'stdin closed')));
  }

  /** Register a request handler with validation, gating, cancellation and stats. */
  handle<P extends z.ZodType, R extends z.ZodType>(def: RequestDef<P, R>, fn: Handler<P, R>, opts: HandlerOptions = {}): void {
    this.requestHandlers.set(def.method, async (raw: unknown, token: CancellationToken) => {
      const started = monotonicMs();
      let failed = false;
      try {
        this.gate(def.method, opts);
        const params = def.params.parse(raw ?? undefined, opts.jitless ? JITLESS : undefined);
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

  /**
   * Register a handler that runs on one session, serialised with its other calls. `usual`, if
   * given, reads params of a common shape as the schema would (else undefined: the schema parses);
   * it is told whether the request's body held no escape (see Incoming in protocol-reader.ts).
   */
  handleSession<P extends z.ZodType, R extends z.ZodType>(def: RequestDef<P, R>, fn: SessionHandler<P, R>, usual?: (raw: unknown, escapeFree: boolean) => z.output<P> | undefined): void {
    const method = def.method;
    // Not an async function, and no mutex.run: the handler's promise gets one reaction that
    // releases the session, records the stats and maps a failure (two awaits and two async
    // frames fewer a call: the answer is written a microtask sooner).
    // No closure made per call is named (a const arrow is named by the bundle's keepNames with
    // an Object.defineProperty, ~4,000 instructions each).
    this.requestHandlers.set(method, (raw: unknown, token: CancellationToken, escapeFree: boolean) => {
      const started = monotonicMs();
      let sessionId: string | undefined;
      let release: (() => void) | undefined;
      try {
        this.gate(method, {});
        const params = (usual?.(raw, escapeFree) ?? def.params.parse(raw ?? undefined)) as z.output<P> & { sessionId: string; workDoneToken?: string | number };
        sessionId = params.sessionId;
        const session = this.sessions.get(params.sessionId);
        const ctx = new RequestContext(method, token, this.progressFor(params.workDoneToken, session), session);
        ctx.checkCancelled();
        release = session.mutex.tryAcquire();
        if (release === undefined) {
          // Held by another call: queued behind it (Mutex.run releases it however the call ends).
          return session.mutex.run(() => this.runOnSession(fn, params, ctx, session)).then(
            (value) => this.finished(method, started, raw, value),
            (err: unknown) => {
              throw this.failed(method, started, raw, err, sessionId);
            },
          );
        }
        const result = this.runOnSession(fn, params, ctx, session);
        const held = release;
        release = undefined;
        if (!(result instanceof Promise)) {
          held();
          return Promise.resolve(this.finished(method, started, raw, result));
        }
        return result.then(
          (value) => {
            held();
            return this.finished(method, started, raw, value);
          },
          (err: unknown) => {
            held();
            throw this.failed(method, started, raw, err, sessionId);
          },
        );
      } catch (err) {
        release?.();
        return Promise.reject(this.failed(method, started, raw, err, sessionId));
      }
    });
  }

  /** A session call's handler, once the session is held: unless it was cancelled or the session closed meanwhile. */
  private runOnSession<P extends z.ZodType, R extends z.ZodType>(fn: SessionHandler<P, R>, params: z.output<P>, ctx: RequestContext, session: Session) {
    ctx.checkCancelled(); // it may have been cancelled while queued
    if (this.sessions.find(session.id) !== session) this.sessions.get(session.id); // closed while queued
    return fn(params, ctx, session);
  }

  /** A call that succeeded: its stats recorded; its result. */
  private finished<T>(method: string, started: number, raw: unknown, result: T): T {
    this.finish(method, started, false, raw);
    return result;
  }

  /** A call that failed: logged, its stats recorded; the error to answer with. */
  private failed(method: string, started: number, raw: unknown, err: unknown, sessionId: string | undefined) {
    const rpc = this.failure(method, err, sessionId);
    this.finish(method, started, true, raw);
    return rpc;
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

  /** Resolve once every request read so far has been answered (or after a minute). */
  private async drain(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (this.conn.busy && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  /** Something a family keeps open for the process's life, closed at exit after the sessions (before the repositories). */
  closeAtExit(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  // dispatch and dispatchNow are not async functions: an async function that returns the
  // handler's promise settles two turns of the microtask queue after it (each request paid
  // four); a throw becomes a rejection as it would in one.
  private dispatch(method: string, params: unknown, token: CancellationToken, escapeFree: boolean): Promise<unknown> {
    try {
      return Promise.resolve(this.families.run(method, () => this.dispatchNow(method, params, token, escapeFree)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private dispatchNow(method: string, params: unknown, token: CancellationToken, escapeFree: boolean): Promise<unknown> {
    const handler = this.requestHandlers.get(method);
    if (handler && nestedDeeperThan(params, MAX_PARAMS_DEPTH)) {
      this.stats.record(method, 0, true);
      throw rpcError('InvalidParams', `Invalid params: nested deeper than ${MAX_PARAMS_DEPTH} levels.`, { details: { maxDepth: MAX_PARAMS_DEPTH } });
    }
    if (handler) return handler(params, token, escapeFree);
    this.stats.record(UNKNOWN_METHOD, 0, true);
    if (this.state === 'uninitialized') throw rpcError('ServerNotInitialized', `Server not initialized: send initialize before ${method}.`);
    throw rpcError('MethodNotFound', `Unknown method ${method}.`);
  }

  private dispatchNotification(method: string, params: unknown): void {
    const handled = this.families.run(method, () => this.dispatchNotificationNow(method, params));
    // Handled later (after a family loaded): a failure is logged as the connection would.
    if (handled instanceof Promise) handled.catch((err: Error) => this.logger.warn(`notification ${method} failed: ${err.message}`));
  }

  private dispatchNotificationNow(method: string, params: unknown): void {
    const handler = this.notificationHandlers.get(method);
    if (handler) handler(params);
    else if (!method.startsWith('$/')) this.logger.debug(`ignored notification ${method}`);
  }

  /** From now on provenance events leave in `form` (the client declared it reads it). */
  setProvenanceForm(form: ProvenanceForm): void {
    this.provenanceForm_ = form;
  }

  /** How provenance events leave: butler/provenance each, butler/provenanceBatch or butler/provenanceRuns a turn (what the client declared it reads). */
  get provenanceForm(): ProvenanceForm {
    return this.provenanceForm_;
  }

  private get exitWaitMs(): number {
    return this.options.exitWaitMs ?? EXIT_WAIT_MS;
  }

  notify<P extends z.ZodType>(def: NotificationDef<P>, params: z.input<P>): void {
    this.send(def.method, params, false);
  }

  /**
   * One event of `def`'s batch: the events written in one turn leave together, in order
   * (ProtocolWriter.writeBatched). `asciiJson`, if given, gives the event's text as JSON.stringify
   * writes it when that text is all ASCII, else undefined (the writer then serialises the event).
   */
  notifyBatched<P extends z.ZodType, E extends z.input<P> extends { events: readonly (infer I)[] } ? I : never>(def: NotificationDef<P>, event: E, asciiJson?: (event: E) => string | undefined): void {
    this.send(def.method, event, true, asciiJson as ((params: unknown) => string | undefined) | undefined);
  }

  /** One event of `form`'s batch: the events written in one turn leave together, in order (ProtocolWriter.writeInForm). */
  notifyInForm<T>(form: BatchForm<T>, item: T): void {
    if (this.exiting) return;
    this.stats.notificationsSent++;
    try {
      this.conn.sendInForm(form, item);
    } catch (err) {
      this.logger.debug(`notify failed: ${(err as Error).message}`);
    }
  }

  private send(method: string, params: unknown, batched: boolean, asciiJson?: (params: unknown) => string | undefined): void {
    if (this.exiting) return;
    this.stats.notificationsSent++;
    try {
      if (batched) this.conn.sendBatched(method, params, asciiJson?.(params));
      else this.conn.sendNotification(method, params);
    } catch (err) {
      this.logger.debug(`notify failed: ${(err as Error).message}`);
    }
  }

  private progress(params: ParamsOf<typeof ProgressNotification>): void {
    this.send(PROGRESS_METHOD, params, false);
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
        this.progress({ token, value: { kind: 'begin', title, message, percentage: 0, cancellable: true } });
      },
      report: (percentage, message) => {
        if (!begun || percentage <= last) return; // percentages only rise
        last = percentage;
        this.progress({ token, value: { kind: 'report', percentage, message } });
      },
      end: (message) => {
        if (!begun) return;
        begun = false;
        this.progress({ token, value: { kind: 'end', message } });
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
    const ms = monotonicMs() - started;
    this.stats.record(method, ms, failed);
    if (this.trace !== 'off' && !this.exiting) {
      const message = `${method} ${failed ? 'failed' : 'ok'} in ${ms.toFixed(2)} ms`;
      let verbose: string | undefined;
      if (this.trace === 'verbose') {
        try {
          verbose = JSON.stringify(raw ?? null).slice(0, 4096);
        } catch {
          verbose = '(params too deeply nested to show)';
        }
      }
      this.notify(LogTrace, verbose === undefined ? { message } : { message, verbose });
    }
  }

  listen(): void {
    this.conn.listen();
  }

  /**
   * The one way out, whatever the cause (exit notification, end of input, a failed stdout or
   * stdin, a framing error, the host's death, a signal, an uncaught error): close every
   * session, writing its provenance file first, then flush stdout and end the process.
   * Each step is bounded, so a stuck store or a host that reads nothing cannot keep the
   * process alive.
   */
  exit(code: number, reason: string): void {
    if (this.exiting) return;
    this.exiting = true;
    this.logger.log(code === 0 ? 'info' : 'warning', `exiting with code ${code}: ${reason}`);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      this.options.exit(code);
    };
    let flushing = false;
    const flush = () => {
      if (flushing) return;
      flushing = true;
      this.writer.end(end);
      setTimeout(end, FLUSH_MS);
    };
    const timer = setTimeout(flush, this.exitWaitMs + CLEANUP_MS);
    // A host that sent exit while its shutdown still waited for a call wants out now (the clients
    // give shutdown 2 s): the calls are abandoned and the provenance written before it kills us.
    if (this.closingAll) this.hurry();
    void this.closeAllSessions()
      .then(() => Promise.all(this.closers.map((close) => close())))
      .then(() => this.repositories.closeAll())
      .then(asideRemovals) // files replaced by gets to a path, removed after their answers
      .catch((err: Error) => this.logger.error(`cleanup failed: ${err.message}`))
      .finally(() => {
        clearTimeout(timer);
        flush();
      });
  }

  /**
   * Close every session (shutdown and exit). The provenance files are written first, all at
   * once: they are what a host that died is owed, and releasing a store can be slow. Each
   * waits for the session's call under way (calls queued behind it fail: the session is
   * gone), so that it names what that call wrote.
   */
  closeAllSessions(): Promise<void> {
    return (this.closingAll ??= this.closeEverySession());
  }

  private async closeEverySession(): Promise<void> {
    const sessions = this.sessions.list();
    for (const s of sessions) this.sessions.remove(s.id);
    await Promise.all(
      sessions.map(async (s) => {
        try {
          await this.quiesce(s);
          await writeProvenanceFile(s, s.butler.close());
          if (s.provenanceFile !== undefined) this.logger.info('session closed by the server; provenance written', { sessionId: s.id, provenanceFile: s.provenanceFile });
        } catch (err) {
          this.logger.warn(`writing the provenance of session ${s.id} failed: ${(err as Error).message}`);
        }
      }),
    );
    for (const s of sessions) {
      try {
        await releaseSession(s);
      } catch (err) {
        this.logger.warn(`closing session ${s.id} failed: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Hold a closed session's lock: once its call under way ends, or, after exitWaitMs, once
   * the call, abandoned, stops at its next check (a put's last is before its file is
   * published). Past both waits, or at once when exit cuts a shutdown's wait short, the
   * provenance is written as things stand: the abandoned call publishes nothing after it.
   */
  private async quiesce(s: Session): Promise<void> {
    const held = s.mutex.acquire(); // kept: nothing runs on the session again
    if (await settlesWithin(held, this.exitWaitMs, this.hurried)) return;
    s.abandoned = true;
    this.logger.warn(`session ${s.id}: a call still running is abandoned`, { sessionId: s.id });
    // Written without it, the call no longer publishes anything: its last check fails.
    if (!(await settlesWithin(held, ABANDON_WAIT_MS, this.hurried))) this.logger.warn(`session ${s.id}: the abandoned call did not stop; its provenance is written without it`, { sessionId: s.id });
  }
}

/** Whether `p` settles within `ms`, or before `cut` does (the timer does not hold the process). */
function settlesWithin(p: Promise<unknown>, ms: number, cut: Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  return Promise.race([p.then(() => true, () => true), late, cut.then(() => false)]).finally(() => clearTimeout(timer));
}
