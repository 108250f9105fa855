/**
 * Server mode's front door (src/cli/front-door.ts, in the start-up bundle): a plain first
 * initialize is answered before the main bundle loads, with the bytes the server writes,
 * whether read from a pipe at once (header and body written apart included) or from the stdin
 * stream (a file, or with --clientProcessId); the server then takes over in order (messages
 * sent in the same write included) and counts it as its own; anything else reaches the server
 * as sent; a main bundle that cannot be loaded fails what needs it, after initialize was answered.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/util/framing.js';
import { CLI } from '../e2e/harness.js';
import { RawClient, type Message } from '../e2e/raw-client.js';
import { sidecarEnv } from '../../src/client/sidecar-env.js';

const frame = (msg: object): Buffer => encodeFrame(JSON.stringify({ jsonrpc: '2.0', ...msg }));
const INIT = { protocolVersion: '1.0', processId: null, capabilities: {} };

/** stdout's bytes once `count` messages came, and the client (ended). */
async function exchange(args: string[], input: Buffer[], count: number, opts: { cli?: string } = {}): Promise<{ out: Buffer; client: RawClient }> {
  const client = new RawClient(args, { cli: opts.cli });
  for (const bytes of input) client.sendRaw(bytes);
  const deadline = Date.now() + 20_000;
  while (client.received < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  client.child.stdin!.end();
  await client.exit;
  return { out: Buffer.concat(client.raw), client };
}

describe('the front door', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('answers initialize with the bytes the server writes for it', async () => {
    const cases = [
      INIT,
      { protocolVersion: '1.0', processId: process.pid, clientInfo: { name: 'test', version: '1' }, capabilities: { logMessages: true, provenanceBatches: true } },
      { protocolVersion: '1.3' },
    ];
    for (const [i, params] of cases.entries()) {
      const input = frame({ id: i === 1 ? 'init-1' : 7, method: 'initialize', params });
      // --log-level=info: the front door leaves initialize to the server (it would log it).
      const [fast, slow] = await Promise.all([exchange(['--stdio'], [input], 1), exchange(['--stdio', '--log-level=info'], [input], 1)]);
      expect(fast.out.toString(), JSON.stringify(params)).toBe(slow.out.toString());
      expect((fast.client.messages[0] as Message).result).toBeDefined();
      expect(slow.client.stderr).toContain('"msg":"initialized"');
    }
  }, 120_000);

  it('hands the server what came with initialize, in order, and the server counts initialize as its own', async () => {
    const input = Buffer.concat([
      frame({ id: 1, method: 'initialize', params: INIT }),
      frame({ method: 'initialized', params: {} }),
      frame({ id: 2, method: 'server/ping' }),
      frame({ id: 3, method: 'initialize', params: INIT }),
      frame({ id: 4, method: 'server/stats' }),
    ]);
    const { client } = await exchange(['--stdio'], [input], 4);
    expect(client.messages.map((m) => m.id)).toEqual([1, 2, 3, 4]);
    expect(client.messages[2]!.error?.data?.kind).toBe('AlreadyInitialized');
    const stats = client.messages[3]!.result as { requests: number; errors: number; bytesIn: number; methods: Record<string, { count: number }> };
    expect(stats.bytesIn).toBe(input.length);
    expect(stats.requests).toBe(3); // the stats call is counted once it is answered
    expect(stats.errors).toBe(1);
    expect(stats.methods['initialize']!.count).toBe(2);
  }, 60_000);

  it('answers an initialize split over writes, and leaves a bad one or one with another header to the server, which answers as before', async () => {
    const whole = frame({ id: 1, method: 'initialize', params: INIT });
    for (const at of [10, 30]) {
      const client = new RawClient(['--stdio']);
      client.sendRaw(whole.subarray(0, at));
      await new Promise((r) => setTimeout(r, 300));
      client.sendRaw(whole.subarray(at));
      expect((await client.response(1)).result).toBeDefined();
      client.kill();
    }
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: INIT });
    const otherHeader = Buffer.from(`Content-Length: ${body.length}\r\nX-Note: 1\r\n\r\n${body}`);
    const noted = await exchange(['--stdio'], [otherHeader], 1);
    expect(noted.out.toString().split('\r\n\r\n')[1]).toBe((await exchange(['--stdio'], [whole], 1)).out.toString().split('\r\n\r\n')[1]);

    const bad = await exchange(['--stdio'], [frame({ id: 1, method: 'initialize', params: { ...INIT, protocolVersion: '2.0' } }), frame({ id: 2, method: 'server/ping' })], 2);
    expect(bad.client.messages[0]!.error?.data?.kind).toBe('UnsupportedProtocolVersion');
    expect(bad.client.messages[1]!.error?.data?.kind).toBe('ServerNotInitialized');
    const first = await exchange(['--stdio'], [frame({ id: 1, method: 'server/ping' })], 1);
    expect(first.client.messages[0]!.error?.code).toBe(-32002);
  }, 60_000);

  it('reads a first initialize from the stdin stream where stdin is no pipe, or --clientProcessId is watched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qb-front-door-'));
    dirs.push(dir);
    const input = Buffer.concat([frame({ id: 1, method: 'initialize', params: INIT }), frame({ id: 2, method: 'server/stats' }), frame({ id: 3, method: 'shutdown' }), frame({ method: 'exit' })]);
    const file = join(dir, 'input');
    writeFileSync(file, input);
    const fd = openSync(file, 'r');
    try {
      const child = spawn(process.execPath, [CLI, '--stdio'], { stdio: [fd, 'pipe', 'pipe'], env: sidecarEnv() });
      const out: Buffer[] = [];
      child.stdout!.on('data', (d: Buffer) => out.push(d)); // stdio[1] is a pipe
      const code = await new Promise((resolve) => child.on('exit', resolve));
      expect(code).toBe(0);
      const ids = [...Buffer.concat(out).toString().matchAll(/"id":(\d+)/g)].map((m) => Number(m[1]));
      expect(ids).toEqual([1, 2, 3]);
    } finally {
      closeSync(fd);
    }
    const watched = await exchange(['--stdio', `--clientProcessId=${process.pid}`], [input], 3);
    expect(watched.client.messages.map((m) => m.id)).toEqual([1, 2, 3]);
    expect((watched.client.messages[1]!.result as { bytesIn: number }).bytesIn).toBe(input.length);
    expect(await watched.client.exit).toBe(0);
  }, 60_000);

  it('a first initialize begun and then stalled meets --message-timeout-ms, from a pipe or a socket', async () => {
    const half = frame({ id: 1, method: 'initialize', params: INIT }).subarray(0, 40);
    // A socket (Node's child_process) and a pipe (a FIFO here; Python's subprocess gives one).
    const socketHost = new RawClient(['--stdio', '--message-timeout-ms=1000']);
    socketHost.sendRaw(half);
    const dir = mkdtempSync(join(tmpdir(), 'qb-front-door-'));
    dirs.push(dir);
    const fifo = join(dir, 'stdin');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const fd = openSync(fifo, constants.O_RDWR); // read-write: the open does not wait, and no EOF comes
    try {
      const pipeHost = spawn(process.execPath, [CLI, '--stdio', '--message-timeout-ms=1000'], { stdio: [fd, 'pipe', 'pipe'], env: sidecarEnv() });
      let stderr = '';
      pipeHost.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      writeSync(fd, half);
      // Before, the front door's blocking read of the rest never returned: no answer, no exit.
      const code = await new Promise((resolve) => pipeHost.on('exit', resolve));
      expect([code, /stalled/.test(stderr)]).toEqual([1, true]);
    } finally {
      closeSync(fd);
    }
    expect(await socketHost.exit).toBe(1);
    expect(socketHost.stderr).toMatch(/stalled/);
  }, 60_000);

  it('exits as before when the input ends, with or without an initialize', async () => {
    const empty = new RawClient(['--stdio']);
    empty.child.stdin!.end();
    expect(await empty.exit).toBe(1);
    const once = await exchange(['--stdio'], [frame({ id: 1, method: 'initialize', params: INIT }), frame({ id: 2, method: 'shutdown' }), frame({ method: 'exit' })], 2);
    expect(once.client.messages.map((m) => m.id)).toEqual([1, 2]);
    expect(await once.client.exit).toBe(0);
  }, 60_000);

  it('without a main bundle that loads, answers initialize, then exits 70 saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qb-front-door-'));
    dirs.push(dir);
    const src = join(dir, 'dist', 'src');
    mkdirSync(join(src, 'cli'), { recursive: true });
    for (const f of ['cli.js', 'cli.start.cjs', join('cli', 'load-bundle.js')]) copyFileSync(join(dirname(CLI), f), join(src, f));
    copyFileSync(join(dirname(CLI), '..', '..', 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(dirname(CLI), '..', '..', 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(src, 'cli.bundle.cjs'), 'throw new Error("broken bundle");\n');
    const cli = join(src, 'cli.js');
    const { client } = await exchange(['--stdio'], [frame({ id: 1, method: 'initialize', params: INIT })], 1, { cli });
    expect(client.messages.map((m) => m.id)).toEqual([1]);
    expect(await client.exit).toBe(70);
    expect(client.stderr).toBe('quantum-butler: cannot load the server: broken bundle\n');
    // Commands need the main bundle too: the same, at once.
    const help = new RawClient(['--help'], { cli });
    expect(await help.exit).not.toBe(0);
  }, 60_000);
});
