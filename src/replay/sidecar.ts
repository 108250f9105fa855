/**
 * The sidecar under replay: the built CLI spawned with real pipes, spoken to through the
 * project's own framing codec (not vscode-jsonrpc's connection), so that the replay sees
 * exactly the messages on the wire, in arrival order, ids and all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { encodeFrame, jsonMessageDecoder } from '../util/framing.js';
import { sidecarEnv } from '../client/sidecar-env.js';

export interface WireMessage {
  jsonrpc?: string;
  id?: number | string | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

export class Sidecar {
  readonly child: ChildProcess;
  /** Every message received, in arrival order. */
  readonly received: WireMessage[] = [];
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined = undefined;
  private readonly decoder = jsonMessageDecoder<WireMessage>((msg) => {
    this.received.push(msg);
    this.wake();
  });
  private stderr = '';
  private waiters = new Set<() => void>();

  constructor(cliPath: string, args: string[], cwd: string) {
    this.child = spawn(process.execPath, [cliPath, '--stdio', ...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd, env: sidecarEnv() });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.exitCode = code; // null when killed by a signal
        this.wake();
        resolve(this.exitCode);
      }),
    );
    this.child.stdout!.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk);
      } catch (err) {
        // Garbage on stdout: nothing after it can be trusted. Say why, and end the sidecar;
        // the step waiting on it then fails with this in the stderr tail.
        this.stderr += `\n[replay] ${(err as Error).message}\n`;
        this.child.kill('SIGKILL');
      }
    });
    // Keep only the tail: it is shown when something goes wrong.
    this.child.stderr!.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-4000)));
    this.child.stdin!.on('error', () => {}); // writing to a sidecar that already exited
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  stderrTail(lines = 12): string {
    return this.stderr.trimEnd().split('\n').slice(-lines).join('\n');
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Frame and write a body (a message, or raw text for malformed-input tests). */
  writeBody(body: string): void {
    if (!this.running) return;
    this.child.stdin!.write(encodeFrame(body));
  }

  send(msg: WireMessage): void {
    this.writeBody(JSON.stringify({ jsonrpc: '2.0', ...msg }));
  }

  /** Resolve true once `done()` holds, false on timeout or when the sidecar exits first. */
  waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (done()) finish(true);
        else if (!this.running) finish(false);
      };
      const timer = setTimeout(() => finish(done()), timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Wait for a quiet moment: `ms` without a new message (recording of notification-only steps). */
  async settle(ms: number): Promise<void> {
    for (;;) {
      const n = this.received.length;
      await new Promise((r) => setTimeout(r, ms));
      if (this.received.length === n) return;
    }
  }

  /** The exit code, or undefined if it does not exit within `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<number | null | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs)));
    const code = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    return code;
  }

  /** Close stdin and wait; SIGKILL after the grace period. Never throws. */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.running) return;
    this.child.stdin!.end();
    if ((await this.waitExit(graceMs)) === undefined && this.running) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
