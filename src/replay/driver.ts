/**
 * Driving a sidecar through a transcript's steps, shared by the replayer (which
 * matches what comes back) and the recorder (which writes it down). A block's sends
 * are written at once; its *window* is every message received from the end of the
 * previous window until its last response (or, for a block of notifications only,
 * until the expected notifications came, or the sidecar went quiet when recording).
 * The sidecar sends a request's notifications before its response, so a window holds
 * exactly what the block caused.
 */
import type { Bindings } from './bindings.js';
import { Sidecar, type WireMessage } from './sidecar.js';
import { substitute, UnboundPlaceholder } from './substitute.js';
import type { Send, Step } from './transcript.js';

type Block = Extract<Step, { kind: 'block' }>;

export interface Exchange {
  send: Send;
  /** The JSON-RPC id sent; null for a raw body (the sidecar answers unparsable ones with id null). */
  id: string | number | null;
  response?: WireMessage;
}

export interface BlockOutcome {
  exchanges: Exchange[];
  /** Notifications of the window, in arrival order. */
  notifications: WireMessage[];
  /** Responses nobody asked for, and requests from the sidecar. */
  unexpected: WireMessage[];
  /** The whole window, in arrival order. */
  window: WireMessage[];
  /** Set when the driver cannot go on (timeout, exited sidecar, unbound placeholder). */
  problem?: { line: number; message: string };
}

export type BlockWait = { notifications: number } | { settleMs: number };

export interface DriverOptions {
  cliPath: string;
  cwd: string;
  args: string[];
  timeoutMs: number;
}

export const isResponse = (m: WireMessage) => m.method === undefined;
export const isNotification = (m: WireMessage) => m.method !== undefined && m.id === undefined;
const idKey = (id: unknown) => JSON.stringify(id ?? null);

export class Driver {
  sidecar: Sidecar | null = null;
  private cursor = 0;
  private nextId = 1;

  constructor(private readonly opts: DriverOptions) {}

  start(args?: string[]): Sidecar {
    this.sidecar = new Sidecar(this.opts.cliPath, args ?? this.opts.args, this.opts.cwd);
    this.cursor = 0;
    return this.sidecar;
  }

  async stop(): Promise<void> {
    await this.sidecar?.stop();
  }

  async restart(args?: string[]): Promise<void> {
    await this.stop();
    this.start(args);
  }

  /** Exit code of the current sidecar, or undefined if it is still running after the timeout. */
  waitExit(): Promise<number | null | undefined> {
    return this.sidecar ? this.sidecar.waitExit(this.opts.timeoutMs) : Promise.resolve(undefined);
  }

  async runBlock(block: Block, bindings: Bindings, wait: BlockWait): Promise<BlockOutcome> {
    const sc = this.sidecar ?? this.start();
    const start = this.cursor;
    const out: BlockOutcome = { exchanges: [], notifications: [], unexpected: [], window: [] };
    for (const send of block.sends) {
      if (!sc.running) {
        out.problem = { line: send.line, message: `the sidecar has exited (code ${sc.exitCode}); cannot send\n${sc.stderrTail()}` };
        return out;
      }
      if (send.raw !== undefined) {
        sc.writeBody(send.raw);
        out.exchanges.push({ send, id: null });
        continue;
      }
      let params: unknown;
      try {
        params = send.message!.params === undefined ? undefined : substitute(send.message!.params, bindings);
      } catch (err) {
        if (!(err instanceof UnboundPlaceholder)) throw err;
        out.problem = { line: send.line, message: err.message };
        return out;
      }
      const msg = { method: send.message!.method, ...(params === undefined ? {} : { params }) };
      if (send.notification) sc.send(msg);
      else {
        const id = send.label ?? this.nextId++;
        sc.send({ id, ...msg });
        out.exchanges.push({ send, id });
      }
    }

    const end = () => this.windowEnd(sc.received, start, out.exchanges, wait);
    // Recording a block of notifications only: nothing marks its end but silence.
    const settling = 'settleMs' in wait && out.exchanges.length === 0;
    let ok = true;
    if (settling) await sc.settle((wait as { settleMs: number }).settleMs);
    else ok = await sc.waitUntil(() => end() >= 0, this.opts.timeoutMs);
    this.cursor = ok && !settling ? end() : sc.received.length;
    out.window = sc.received.slice(start, this.cursor);

    // Pair responses with requests by id (raw bodies take id-null responses in order).
    const open = new Map<string, Exchange[]>();
    for (const x of out.exchanges) open.set(idKey(x.id), [...(open.get(idKey(x.id)) ?? []), x]);
    for (const m of out.window) {
      if (isNotification(m)) out.notifications.push(m);
      else if (isResponse(m) && open.get(idKey(m.id))?.length) open.get(idKey(m.id))!.shift()!.response = m;
      else out.unexpected.push(m);
    }
    if (!ok) {
      const missing = out.exchanges.find((x) => !x.response);
      const what = out.exchanges.length ? 'no answer' : `not all ${(wait as { notifications: number }).notifications} notifications`;
      const why = sc.running ? `${what} within ${this.opts.timeoutMs} ms` : `the sidecar exited (code ${sc.exitCode})`;
      out.problem = { line: missing?.send.line ?? block.line, message: `${why}\n${sc.stderrTail()}`.trimEnd() };
    }
    return out;
  }

  /** Index after the message that completes the block, or -1 while incomplete. */
  private windowEnd(received: WireMessage[], start: number, exchanges: Exchange[], wait: BlockWait): number {
    if (exchanges.length > 0) {
      const need = new Map<string, number>();
      for (const x of exchanges) need.set(idKey(x.id), (need.get(idKey(x.id)) ?? 0) + 1);
      let left = exchanges.length;
      for (let i = start; i < received.length; i++) {
        const m = received[i]!;
        const k = idKey(m.id);
        if (isResponse(m) && (need.get(k) ?? 0) > 0) {
          need.set(k, need.get(k)! - 1);
          if (--left === 0) return i + 1;
        }
      }
      return -1;
    }
    const want = 'notifications' in wait ? wait.notifications : 0;
    if (want === 0) return start;
    let seen = 0;
    for (let i = start; i < received.length; i++) if (isNotification(received[i]!) && ++seen === want) return i + 1;
    return -1;
  }
}
