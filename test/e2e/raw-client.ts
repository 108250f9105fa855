/** A bare framing client for tests that must see exact bytes and exit codes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, assertBuilt } from './harness.js';
import { encodeFrame, jsonMessageDecoder } from '../../src/util/framing.js';
import { sidecarEnv } from '../../src/client/sidecar-env.js';

export interface Message {
  jsonrpc: '2.0';
  id?: number | string | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { kind?: string; [k: string]: unknown } };
}

export interface RawClientOptions {
  /** The CLI to run (default: the built one). */
  cli?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Options for node itself (e.g. --import of a test hook). */
  nodeArgs?: string[];
  /** Which messages to keep whole in `messages` (default: all); of the others only id, method and error are kept. */
  keep?: (m: Message) => boolean;
  /** Keep the raw stdout chunks in `raw` (default true). */
  keepRaw?: boolean;
}

export class RawClient {
  readonly child: ChildProcess;
  readonly raw: Buffer[] = [];
  readonly messages: Message[] = [];
  stderr = '';
  /** Messages received, kept or not. */
  received = 0;
  private readonly decoder = jsonMessageDecoder<Message>((m) => {
    this.received++;
    this.messages.push(this.options.keep?.(m) === false ? { jsonrpc: '2.0', id: m.id, method: m.method, error: m.error } : m);
    for (const w of this.waiters.splice(0)) w();
  });
  private waiters: Array<() => void> = [];
  private nextId = 1;
  readonly exit: Promise<number | null>;

  constructor(
    args: string[] = ['--stdio'],
    private readonly options: RawClientOptions = {},
  ) {
    assertBuilt();
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.cli ?? CLI, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: options.cwd,
      env: options.env ?? sidecarEnv(),
    });
    this.exit = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.stdout!.on('data', (chunk: Buffer) => {
      if (options.keepRaw ?? true) this.raw.push(chunk);
      this.decoder.push(chunk);
    });
    this.child.stderr!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    this.child.stdin!.on('error', () => {}); // the sidecar may be gone already
  }

  sendRaw(bytes: string | Buffer): void {
    this.child.stdin!.write(bytes);
  }

  send(msg: Omit<Message, 'jsonrpc'>): void {
    this.sendRaw(encodeFrame(JSON.stringify({ jsonrpc: '2.0', ...msg })));
  }

  request(method: string, params?: unknown): number {
    const id = this.nextId++;
    this.send(params === undefined ? { id, method } : { id, method, params });
    return id;
  }

  notify(method: string, params?: unknown): void {
    this.send(params === undefined ? { method } : { method, params });
  }

  async waitFor(pred: (m: Message) => boolean, timeoutMs = 10000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(this.messages)}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  response(id: number, timeoutMs?: number): Promise<Message> {
    return this.waitFor((m) => m.id === id && m.method === undefined, timeoutMs);
  }

  async call(method: string, params?: unknown): Promise<Message> {
    return this.response(this.request(method, params));
  }

  async initialize(extra: Record<string, unknown> = {}): Promise<Message> {
    const res = await this.call('initialize', { protocolVersion: '1.0', processId: null, capabilities: {}, ...extra });
    this.notify('initialized', {});
    return res;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}
