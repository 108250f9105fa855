/** LSP lifecycle, framing, errors and process behaviour of the real CLI. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from './harness.js';
import { RawClient } from './raw-client.js';
import { encodeFrame, jsonMessageDecoder } from '../../src/util/framing.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { sidecarEnv } from '../../src/client/sidecar-env.js';

/** A message framed as a host sends it. */
const frame = (o: object): Buffer => encodeFrame(JSON.stringify({ jsonrpc: '2.0', ...o }));

const live: RawClient[] = [];
function client(args?: string[]): RawClient {
  const c = new RawClient(args);
  live.push(c);
  return c;
}
afterEach(() => {
  for (const c of live.splice(0)) if (c.child.exitCode === null) c.kill();
});

describe('lifecycle', () => {
  it('the first bytes on stdout are a Content-Length header', async () => {
    const c = client();
    await c.initialize();
    expect(Buffer.concat(c.raw).subarray(0, 15).toString('ascii')).toBe('Content-Length:');
  });

  it('answers requests before initialize with -32002 and drops notifications', async () => {
    const c = client();
    c.notify('$/setTrace', { value: 'verbose' });
    const res = await c.call('server/ping');
    expect(res.error?.code).toBe(-32002);
    expect(res.error?.data?.kind).toBe('ServerNotInitialized');
    const unknown = await c.call('no/such');
    expect(unknown.error?.code).toBe(-32002);
    // A method of a family not loaded yet (src/server/lazy-families.ts) is refused the same way.
    const family = await c.call('store/info', { sessionId: 's' });
    expect(family.error?.data?.kind).toBe('ServerNotInitialized');
    await c.initialize();
    expect((await c.call('server/ping')).result).toMatchObject({ uptimeMs: expect.any(Number) });
  });

  it('initialize returns serverInfo and capabilities; a second initialize is refused', async () => {
    const c = client();
    const res = await c.initialize();
    expect(res.result).toMatchObject({
      protocolVersion: '1.0',
      serverInfo: { name: 'quantum-butler', version: expect.any(String) },
      capabilities: {
        payloadEncodings: ['json', 'text', 'base64', 'file'],
        maxInlineBytes: expect.any(Number),
        notificationStreams: expect.arrayContaining(['provenance', 'progress']),
      },
    });
    // Listed without building a registry at start: the names a registry of the built-ins lists, in its order.
    expect((res.result as { capabilities: { storageClasses: string[] } }).capabilities.storageClasses).toEqual(
      StorageClassRegistry.withBuiltins()
        .list()
        .map((sc) => sc.name),
    );
    const again = await c.call('initialize', { protocolVersion: '1.0' });
    expect(again.error?.code).toBe(-32600);
    expect(again.error?.data?.kind).toBe('AlreadyInitialized');
  });

  it('rejects an unsupported major version with -32602 and data.supported', async () => {
    const c = client();
    const res = await c.call('initialize', { protocolVersion: '2.0', capabilities: {} });
    expect(res.error?.code).toBe(-32602);
    expect(res.error?.data).toMatchObject({ kind: 'UnsupportedProtocolVersion', supported: ['1.0'] });
    // A newer minor of a supported major is fine.
    expect((await c.call('initialize', { protocolVersion: '1.7' })).result).toBeDefined();
  });

  it('unknown methods get -32601 and invalid params -32602 with the zod issues', async () => {
    const c = client();
    await c.initialize();
    const unknown = await c.call('butler/teleport', {});
    expect(unknown.error?.code).toBe(-32601);
    const bad = await c.call('butler/get', { sessionId: 7 });
    expect(bad.error?.code).toBe(-32602);
    expect(bad.error?.data?.kind).toBe('InvalidParams');
    expect(Array.isArray(bad.error?.data?.issues)).toBe(true);
    const positional = await c.call('server/stats', [1, 2]);
    expect(positional.error?.code).toBe(-32602);
    // The process is still fine.
    expect((await c.call('server/ping')).result).toBeDefined();
  });

  it('a request whose id is still in flight is refused; the first is answered, also when input ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qb-dup-id-'));
    try {
      const file = join(dir, 'value.json');
      writeFileSync(file, JSON.stringify({ a: 1 }));
      const c = client();
      await c.initialize();
      const ref = { id: '9b3c1a52-4bd5-4f60-9a43-1f2b3c4d5e6f', datasetType: { name: 'v', storageClass: 'StructuredDataDict', dimensions: [] }, dataId: {}, run: 'r' };
      const opened = await c.call('session/open', { predicted: { inputs: [], outputs: [ref] }, notifications: [] });
      const sessionId = (opened.result as { sessionId: string }).sessionId;
      // One write: the put reads its file (I/O) when the ping with its id is handled.
      c.sendRaw(Buffer.concat([frame({ id: 7, method: 'butler/put', params: { sessionId, ref: { id: ref.id }, payload: { encoding: 'file', path: file } } }), frame({ id: 7, method: 'server/ping' })]));
      c.child.stdin!.end();
      expect(await c.exit).toBe(1); // end of input without shutdown
      const answers = c.messages.filter((m) => m.id === 7);
      expect(answers).toHaveLength(2);
      // Before, both ran; the ping's answer removed the put from the requests in flight, and the
      // process ended at the end of input without answering the put.
      expect(answers.find((m) => m.error)?.error).toMatchObject({ code: -32600, data: { kind: 'InvalidRequest' } });
      expect(answers.find((m) => m.result)?.result).toMatchObject({ ref: { id: ref.id } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a body that is not UTF-8 gets a parse error with its id, small or large; nothing is read into U+FFFD', async () => {
    const c = client();
    await c.initialize();
    const body = (id: number, text: string) => {
      const [head, tail] = [`{"jsonrpc":"2.0","id":${id},"method":"server/ping","params":{"x":"${text}`, '"}}'];
      // \xe9 alone (Latin-1's é), an overlong slash, a surrogate: none is UTF-8.
      return Buffer.concat([Buffer.from(head), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xc0, 0xaf, 0x20, 0xed, 0xa0, 0x80]), Buffer.from(tail)]);
    };
    for (const [id, text] of [[41, ''], [42, 'a'.repeat(1_200_000)]] as const) {
      const b = body(id, text);
      c.sendRaw(Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`), b]));
      const answer = await c.waitFor((m) => m.id === id);
      // Before, the bytes were read as U+FFFD and the call went on as if the host had sent that.
      expect(answer.error).toMatchObject({ code: -32700, data: { kind: 'ParseError' } });
    }
    expect((await c.call('server/ping', { x: 'café ✓' })).result).toBeDefined();
  });

  it('a body that is not JSON gets a parse error with its id when the id can be read, else null; the connection survives', async () => {
    const c = client();
    await c.initialize();
    const raw = (body: string) => c.sendRaw(encodeFrame(body));
    raw('{"jsonrpc":"2.0","id":99,"method":');
    const withId = await c.waitFor((m) => m.id === 99);
    expect(withId.error).toMatchObject({ code: -32700, data: { kind: 'ParseError' } });
    raw('{"jsonrpc":"2.0","method":"server/ping","params":{');
    const withoutId = await c.waitFor((m) => m.id === null && m.error !== undefined);
    expect(withoutId.error).toMatchObject({ code: -32700, data: { kind: 'ParseError' } });
    const res = await c.call('server/ping');
    expect(res.result).toBeDefined();
  });

  it('JSON that is not a JSON-RPC message gets -32600 InvalidRequest; answers from the client are ignored', async () => {
    const c = client();
    await c.initialize();
    const raw = (body: string) => c.sendRaw(encodeFrame(body));
    raw('[{"jsonrpc":"2.0","id":40,"method":"server/ping"}]'); // a batch
    raw('{"jsonrpc":"2.0","id":{"n":1},"method":"server/ping"}'); // an id that is not a number or string
    raw('{"jsonrpc":"2.0","id":41}'); // neither method nor result
    raw('{"jsonrpc":"2.0","id":42,"result":1}'); // a response to nothing: ignored
    const ping = await c.call('server/ping');
    expect(ping.result).toBeDefined();
    const invalid = c.messages.filter((m) => m.error?.code === -32600);
    expect(invalid.map((m) => [m.id, m.error?.data?.kind])).toEqual([
      [null, 'InvalidRequest'],
      [null, 'InvalidRequest'],
      [41, 'InvalidRequest'],
    ]);
    expect(invalid[0]!.error?.message).toMatch(/Batch/);
    expect(c.messages.some((m) => m.id === 40 || m.id === 42)).toBe(false);
  });

  it('a request cancelled in the same read as itself is answered -32800 without running; unknown ids are ignored', async () => {
    const c = client();
    await c.initialize();
    c.sendRaw(
      Buffer.concat([
        frame({ id: 500, method: 'session/open', params: { predicted: { inputs: [], outputs: [] } } }),
        frame({ method: '$/cancelRequest', params: { id: 500 } }),
        frame({ method: '$/cancelRequest', params: { id: 12345 } }),
      ]),
    );
    const res = await c.waitFor((m) => m.id === 500);
    expect(res.error?.code).toBe(-32800);
    expect(res.error?.data?.kind).toBe('RequestCancelled');
    expect(((await c.call('session/list')).result as { sessions: unknown[] }).sessions).toEqual([]);
  });

  it('hundreds of requests in one write are each answered once', async () => {
    const c = client();
    await c.initialize();
    const frames = Array.from({ length: 300 }, (_, i) => frame({ id: 1000 + i, method: i % 2 ? 'server/ping' : 'session/list' }));
    c.sendRaw(Buffer.concat(frames));
    await c.waitFor(() => c.messages.filter((m) => typeof m.id === 'number' && m.id >= 1000).length >= 300);
    const ids = c.messages.filter((m) => typeof m.id === 'number' && m.id >= 1000).map((m) => m.id as number);
    expect(new Set(ids).size).toBe(300);
    expect(c.messages.every((m) => m.error === undefined)).toBe(true);
  });

  it('a broken header is reported with -32700 and ends the process, rather than hanging', async () => {
    const c = client();
    await c.initialize();
    c.sendRaw('Garbage: 1\r\n\r\n{}');
    const err = await c.waitFor((m) => m.id === null && m.error !== undefined);
    expect(err.error?.message).toMatch(/Framing error/);
    expect(await c.exit).toBe(1);
  });

  it('answers every request written before stdin closes (piped input)', () => {
    const input = Buffer.concat([
      frame({ id: 1, method: 'initialize', params: { protocolVersion: '1.0' } }),
      frame({ id: 2, method: 'server/ping' }),
      frame({ id: 3, method: 'shutdown', params: {} }),
      frame({ method: 'exit', params: {} }),
    ]);
    const r = spawnSync(process.execPath, [CLI, '--stdio'], { input, env: sidecarEnv() });
    expect(r.status).toBe(0);
    const ids = [...r.stdout.toString().matchAll(/"id":(\d+)/g)].map((m) => Number(m[1]));
    expect(ids).toEqual([1, 2, 3]);
  });

  it('calls pipelined behind session/open in one write (each method family still loading) run on the open session; all are answered before exit', () => {
    const ref = { id: '00000000-0000-4000-8000-000000000001', datasetType: { name: 'out', storageClass: 'StructuredDataDict', dimensions: [] }, dataId: {}, run: 'r' };
    const input = Buffer.concat([
      frame({ id: 1, method: 'initialize', params: { protocolVersion: '1.0' } }),
      frame({ method: 'initialized', params: {} }),
      frame({ id: 2, method: 'session/open', params: { sessionId: 's1', predicted: { inputs: [], outputs: [ref] } } }),
      frame({ id: 3, method: 'butler/put', params: { sessionId: 's1', ref: { id: ref.id }, payload: { encoding: 'json', value: { a: 1 } } } }),
      frame({ id: 4, method: 'butler/get', params: { sessionId: 's1', ref: { id: ref.id } } }),
      frame({ id: 5, method: 'store/exists', params: { sessionId: 's1', key: 'nothing' } }),
      frame({ id: 6, method: 'shutdown' }),
      frame({ method: 'exit' }),
    ]);
    const r = spawnSync(process.execPath, [CLI, '--stdio'], { input, env: sidecarEnv() });
    expect(r.status).toBe(0);
    const bodies: Array<{ id?: number; result?: { payload?: unknown }; error?: unknown }> = [];
    jsonMessageDecoder<(typeof bodies)[number]>((m) => bodies.push(m)).push(r.stdout);
    const answers = bodies.filter((m) => m.id !== undefined);
    expect(answers.map((m) => m.id).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(answers.every((m) => m.error === undefined)).toBe(true);
    expect(answers.find((m) => m.id === 4)?.result?.payload).toEqual({ encoding: 'json', value: { a: 1 } });
    expect(answers.find((m) => m.id === 5)?.result).toEqual({ exists: false });
  });

  it('shutdown then exit gives exit code 0; requests after shutdown get -32600', async () => {
    const c = client();
    await c.initialize();
    expect((await c.call('shutdown')).result).toBeNull();
    const after = await c.call('server/ping');
    expect(after.error?.code).toBe(-32600);
    c.notify('exit');
    expect(await c.exit).toBe(0);
  });

  it('exit without shutdown gives exit code 1', async () => {
    const c = client();
    await c.initialize();
    c.notify('exit');
    expect(await c.exit).toBe(1);
  });

  it('stdin EOF ends the process (1 without shutdown, 0 after it)', async () => {
    const a = client();
    await a.initialize();
    a.child.stdin!.end();
    expect(await a.exit).toBe(1);
    const b = client();
    await b.initialize();
    await b.call('shutdown');
    b.child.stdin!.end();
    expect(await b.exit).toBe(0);
  });

  it('exits when the processId it watches dies', async () => {
    const parent = spawn('sleep', ['60']);
    const c = client();
    await c.initialize({ processId: parent.pid });
    parent.kill('SIGKILL');
    expect(await c.exit).toBe(1);
    expect(c.stderr).toMatch(/client process \d+ is gone/);
  });

  it('a processId that names no process (0 or less) is refused as invalid params, and initialize can be sent again', async () => {
    const c = client();
    for (const processId of [0, -1]) {
      const res = await c.call('initialize', { protocolVersion: '1.0', processId, capabilities: {} });
      expect(res.error).toMatchObject({ code: -32602, data: { kind: 'InvalidParams' } });
    }
    expect((await c.initialize()).result).toBeDefined();
    // Before, it was accepted, and the watchdog found "process -1" gone a second later.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await c.call('server/ping')).result).toBeDefined();
  });

  it('--clientProcessId works the same way', async () => {
    const parent = spawn('sleep', ['60']);
    const c = client(['--stdio', `--clientProcessId=${parent.pid}`]);
    await c.initialize();
    parent.kill('SIGKILL');
    expect(await c.exit).toBe(1);
  });

  it('server/stats counts requests, errors, bytes and per-method latency', async () => {
    const c = client();
    await c.initialize();
    await c.call('server/ping');
    await c.call('server/ping');
    await c.call('butler/get', {});
    // Unknown methods are counted together: a host naming a new one each time must not grow the table.
    for (const i of [1, 2, 3]) expect((await c.call(`no/such-${i}-${'x'.repeat(100)}`)).error?.data?.kind).toBe('MethodNotFound');
    const res = await c.call('server/stats');
    const stats = res.result as Record<string, any>;
    expect(stats.requests).toBeGreaterThanOrEqual(4);
    expect(stats.errors).toBeGreaterThanOrEqual(1);
    expect(stats.bytesIn).toBeGreaterThan(100);
    expect(stats.bytesOut).toBeGreaterThan(100);
    expect(stats.rssBytes).toBeGreaterThan(1_000_000);
    expect(stats.methods['server/ping'].count).toBe(2);
    expect(stats.methods['butler/get'].errors).toBe(1);
    expect(stats.methods['(unknown)']).toMatchObject({ count: 3, errors: 3 });
    expect(Object.keys(stats.methods).filter((m) => m.startsWith('no/'))).toEqual([]);
  });

  it('$/setTrace turns on $/logTrace; logMessages forwards warnings as window/logMessage', async () => {
    const c = client();
    await c.initialize({ capabilities: { logMessages: true } });
    c.notify('$/setTrace', { value: 'verbose' });
    await c.call('server/ping');
    const trace = await c.waitFor((m) => m.method === '$/logTrace');
    expect((trace.params as { message: string }).message).toMatch(/server\/ping ok/);
    expect((trace.params as { verbose?: string }).verbose).toBeDefined();
    // Closing a session whose inputs were never checked logs a warning.
    const open = await c.call('session/open', {
      predicted: { inputs: [{ id: '3f2b1c4e-0000-4000-8000-000000000001', datasetType: 'raw', storageClass: 'Text', dataId: { instrument: 'Cam1', detector: 1 }, run: 'r' }], outputs: [] },
    });
    await c.call('session/close', { sessionId: (open.result as { sessionId: string }).sessionId });
    const log = await c.waitFor((m) => m.method === 'window/logMessage');
    expect(log.params).toMatchObject({ type: 2, message: expect.stringMatching(/InputsNotChecked/) });
  });
});

describe('command line', () => {
  it('--version and --help print and exit 0; unknown flags exit 2', () => {
    const v = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8', env: sidecarEnv() });
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const h = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8', env: sidecarEnv() });
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/--stdio/);
    const bad = spawnSync(process.execPath, [CLI, '--frobnicate'], { encoding: 'utf8', env: sidecarEnv() });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown argument/);
    expect(bad.stdout).toBe('');
  });

  it('console.log and process.stdout.write cannot reach stdout once the guard is loaded', () => {
    const guard = CLI.replace(/cli\.js$/, 'stdout-guard.js');
    const script = `await import(${JSON.stringify(guard)}); console.log('stray'); process.stdout.write('stray2'); console.info('stray3');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('stray');
    expect(r.stderr).toContain('stray2');
  });
});
