/** A bare framing client for tests that must see exact bytes and exit codes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, assertBuilt } from './harness.js';
import { encodeFrame, jsonMessageDecoder } from '../../src/util/framing.js';

export interface Message {
  jsonrpc: '2.0';
  id?: number | string | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { kind?: string; [k: string]: unknown } };
}

export class RawClient {
  readonly child: ChildProcess;
  readonly raw: Buffer[] = [];
  readonly messages: Message[] = [];
  stderr = '';
  private readonly decoder = jsonMessageDecoder<Message>((m) => {
    this.messages.push(m);
    for (const w of this.waiters.splice(0)) w();
  });
  private waiters: Array<() => void> = [];
  private nextId = 1;
  readonly exit: Promise<number | null>;

  constructor(args: string[] = ['--stdio']) {
    assertBuilt();
    this.child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exit = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.raw.push(chunk);
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
