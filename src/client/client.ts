/**
 * A typed Node client: spawns the sidecar, runs the LSP lifecycle, exposes every
 * method with its protocol types, delivers notifications, and shuts down cleanly
 * (shutdown → exit → stdin close → SIGKILL after a grace period).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  CancellationTokenSource,
  ResponseError,
  type CancellationToken,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import {
  Exit,
  Initialize,
  Initialized,
  LogMessage,
  ProgressNotification,
  ProvenanceBatchNotification,
  ProvenanceNotification,
  ProvenanceRunsNotification,
  PROTOCOL_VERSION,
  Shutdown,
  type ErrorData,
  type ParamsOf,
  type ProvenanceEvent,
  type RequestDef,
  type ResultOf,
} from '../../protocol/index.js';
import type * as z from 'zod';
import { ButlerSession } from './session.js';
import { EventTapReader } from './event-tap-reader.js';
import { FrameWriter } from './frame-writer.js';
import { inOrderConnection } from './in-order-connection.js';
import { defaultNodeBinary } from './node-binary.js';
import { sidecarEnv } from './sidecar-env.js';

/** A JSON-RPC error from the sidecar, with its stable code and data.kind. */
export class QuantumButlerError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: ErrorData | undefined,
  ) {
    super(message);
    this.name = 'QuantumButlerError';
  }
  get kind(): string | undefined {
    return this.data?.kind;
  }
}

function butlerError(err: unknown): never {
  if (err instanceof ResponseError) throw new QuantumButlerError(err.code, err.message, err.data as ErrorData | undefined);
  throw err;
}

export interface SpawnOptions {
  /** Path of the built CLI; defaults to this package's dist/src/cli.js. */
  cliPath?: string;
  /**
   * The Node binary that runs the sidecar (a path, or a name looked up on PATH). Default:
   * `process.execPath`, except under Electron (an editor's extension host), where it is
   * `node` from PATH: see defaultNodeBinary.
   */
  node?: string;
  args?: string[];
  /** Options for node itself (e.g. --cpu-prof, --inspect). */
  nodeArgs?: string[];
  /** The sidecar's whole environment, used as given. Default: `sidecarEnv(process.env)`. */
  env?: NodeJS.ProcessEnv;
  /** What to do with the sidecar's stderr (default: 'inherit'). 'pipe' keeps its end in `stderrText`. */
  stderr?: 'inherit' | 'pipe' | 'ignore';
  /** With `stderr: 'pipe'`: how many characters of the end of the sidecar's stderr `stderrText` keeps (default 65,536). */
  stderrLimit?: number;
  clientName?: string;
  capabilities?: ParamsOf<typeof Initialize>['capabilities'];
  initializationOptions?: ParamsOf<typeof Initialize>['initializationOptions'];
  /** Send our pid so the sidecar exits if we die (default true). */
  watchParent?: boolean;
}

/**
 * The last `limit` characters of what `stream` gives, as it comes: a long-lived host's sidecar
 * logs for as long as it runs, and all of it kept grew without end. Decoded as one text (a
 * character split between two chunks is not broken).
 */
function keepTail(stream: Readable, limit: number, set: (text: string) => void): void {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    text += chunk;
    if (text.length > limit) text = text.slice(text.length - limit);
    set(text);
  });
}

export function defaultCliPath(): string {
  // This module is dist/src/client/client.js, part of the bundled CLI dist/src/cli.bundle.cjs
  // (demo, replay), or src/client/client.ts when run from sources.
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'cli.js'), join(here, '..', 'cli.js'), join(here, '..', '..', 'dist', 'src', 'cli.js')];
  return candidates.find((p) => existsSync(p)) ?? candidates[candidates.length - 1]!;
}

export class QuantumButlerClient {
  /** With `stderr: 'pipe'`: the end of what the sidecar wrote on stderr (its logs), at most `stderrLimit` characters. */
  stderrText = '';
  initializeResult!: ResultOf<typeof Initialize>;
  private readonly progressListeners = new Map<string | number, (value: unknown) => void>();
  private exitPromise: Promise<number | null>;
  private nextToken = 1;

  private constructor(
    readonly child: ChildProcess,
    readonly conn: MessageConnection,
    /** Called as each butler/provenance message is read (see EventTapReader). */
    private readonly provenanceListeners: Set<(e: ProvenanceEvent) => void>,
  ) {
    this.exitPromise = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    // Pending requests are not rejected on close by vscode-jsonrpc; dispose does that.
    conn.onClose(() => conn.dispose());
    conn.onNotification(ProgressNotification.method, (p: { token: string | number; value: unknown }) =>
      this.progressListeners.get(p.token)?.(p.value),
    );
  }

  static async spawn(opts: SpawnOptions = {}): Promise<QuantumButlerClient> {
    const node = opts.node ?? defaultNodeBinary();
    const stderrLimit = opts.stderrLimit ?? 64 * 1024;
    if (!Number.isSafeInteger(stderrLimit) || stderrLimit < 1) throw new TypeError(`stderrLimit must be a whole number of characters >= 1, not ${String(stderrLimit)}`);
    const child = spawn(node, [...(opts.nodeArgs ?? []), opts.cliPath ?? defaultCliPath(), '--stdio', ...(opts.args ?? [])], {
      stdio: ['pipe', 'pipe', opts.stderr ?? 'inherit'],
      env: opts.env ?? sidecarEnv(process.env),
    });
    // A binary that cannot start (not on PATH, not executable) fails spawn with its reason.
    const started = new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new Error(`Cannot start the sidecar with Node binary '${node}': ${err.message}`, { cause: err })));
    });
    await started;
    const listeners = new Set<(e: ProvenanceEvent) => void>();
    const methods = { event: ProvenanceNotification.method, batch: ProvenanceBatchNotification.method, runs: ProvenanceRunsNotification.method };
    const reader = new EventTapReader(child.stdout!, methods, (e) => {
      for (const l of listeners) l(e as ProvenanceEvent);
    });
    const conn = inOrderConnection(reader, new FrameWriter(child.stdin!));
    const client = new QuantumButlerClient(child, conn, listeners);
    if (opts.stderr === 'pipe') keepTail(child.stderr!, stderrLimit, (text) => (client.stderrText = text));
    conn.listen();
    client.initializeResult = await client.request(Initialize, {
      protocolVersion: PROTOCOL_VERSION,
      processId: opts.watchParent === false ? null : process.pid,
      clientInfo: { name: opts.clientName ?? 'quantum-butler-node-client' },
      capabilities: opts.capabilities ?? { workDoneProgress: true, provenanceBatches: true, provenanceRuns: true },
      initializationOptions: opts.initializationOptions,
    });
    await conn.sendNotification(Initialized.method, {});
    return client;
  }

  /** Send a typed request; a JSON-RPC error becomes a QuantumButlerError. */
  request<D extends RequestDef<z.ZodType, z.ZodType>>(def: D, params: ParamsOf<D>, token?: CancellationToken): Promise<ResultOf<D>> {
    // Not an async function: one promise per call fewer (a closed connection still rejects, not throws).
    let result: Promise<unknown>;
    try {
      const type = def.type as { numberOfParams: number; method: string };
      result =
        type.numberOfParams === 0
          ? token
            ? this.conn.sendRequest(def.method, token)
            : this.conn.sendRequest(def.method)
          : this.conn.sendRequest(def.type as never, params as never, token);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return result.then(undefined, butlerError) as Promise<ResultOf<D>>;
  }

  /** A request that can be cancelled: returns the promise and a cancel function. */
  cancellable<D extends RequestDef<z.ZodType, z.ZodType>>(def: D, params: ParamsOf<D>): { result: Promise<ResultOf<D>>; cancel(): void } {
    const cts = new CancellationTokenSource();
    return { result: this.request(def, params, cts.token), cancel: () => cts.cancel() };
  }

  onProvenance(listener: (e: ProvenanceEvent) => void): () => void {
    this.provenanceListeners.add(listener);
    return () => this.provenanceListeners.delete(listener);
  }

  onLogMessage(listener: (m: { type: number; message: string }) => void): void {
    this.conn.onNotification(LogMessage.method, listener);
  }

  /** A fresh progress token whose $/progress values go to the listener. */
  progressToken(listener: (value: unknown) => void): string {
    const token = `p${this.nextToken++}`;
    this.progressListeners.set(token, listener);
    return token;
  }

  async openSession(params: ParamsOf<typeof import('../../protocol/session.js').SessionOpen>): Promise<ButlerSession> {
    const { SessionOpen } = await import('../../protocol/session.js');
    const result = await this.request(SessionOpen, params);
    return new ButlerSession(this, result);
  }

  /** Resolves with the sidecar's exit code once it has exited. */
  exited(): Promise<number | null> {
    return this.exitPromise;
  }

  /** shutdown → exit → close stdin → SIGKILL after graceMs. Returns the exit code. */
  async close(graceMs = 2000): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        // The grace timer is cleared once the answer comes: left running, it kept the host's
        // process alive for graceMs after close.
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([this.request(Shutdown, null), new Promise((r) => (grace = setTimeout(r, graceMs)))]).finally(() => clearTimeout(grace));
        await this.conn.sendNotification(Exit.method);
      } catch {
        // The sidecar may already be gone; fall through to the ladder.
      }
      this.child.stdin?.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      const code = await this.exitPromise;
      clearTimeout(timer);
      this.conn.dispose();
      return code;
    }
    this.conn.dispose();
    return this.exitPromise;
  }
}
