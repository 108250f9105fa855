/**
 * The built CLI's V8 code cache (src/cli/load-bundle.ts): made by a first run, used by the
 * next, ignored (and made again) when corrupt or made from other bytes, no error when its
 * directory cannot be written, kept in the user's cache directory when the package's cannot
 * hold it, none at all when turned off; stdout carries only the protocol throughout. NODE_DEBUG=qb-code-cache makes the loader say on stderr what it did.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, assertBuilt } from '../e2e/harness.js';

const frame = (msg: object): string => {
  const body = JSON.stringify({ jsonrpc: '2.0', ...msg });
  return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};

/** Every message of an LSP-framed stream; throws on anything else (stdout must carry only frames). */
function frames(out: Buffer): Array<Record<string, unknown>> {
  const msgs: Array<Record<string, unknown>> = [];
  let at = 0;
  while (at < out.length) {
    const end = out.indexOf('\r\n\r\n', at);
    const m = /^Content-Length: (\d+)$/.exec(out.subarray(at, end).toString('latin1'));
    if (end < 0 || !m) throw new Error(`not a frame at byte ${at}: ${JSON.stringify(out.subarray(at, at + 80).toString())}`);
    const start = end + 4;
    msgs.push(JSON.parse(out.subarray(start, start + Number(m[1])).toString('utf8')) as Record<string, unknown>);
    at = start + Number(m[1]);
  }
  return msgs;
}

interface Run {
  code: number | null;
  messages: Array<Record<string, unknown>>;
  /** The loader's NODE_DEBUG lines, without the "QB-CODE-CACHE <pid>: " prefix. */
  cacheLog: string[];
}

/**
 * One session: initialize; once answered, and once stderr says `waitFor` (if given), shutdown
 * and exit. The code cache lives in `cacheSetting` (QUANTUM_BUTLER_CODE_CACHE).
 */
function serve(cacheSetting: string | undefined, waitFor?: string, opts: { cli?: string; env?: Record<string, string> } = {}): Promise<Run> {
  assertBuilt();
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, NODE_DEBUG: 'qb-code-cache' };
  if (cacheSetting === undefined) delete env['QUANTUM_BUTLER_CODE_CACHE'];
  else env['QUANTUM_BUTLER_CODE_CACHE'] = cacheSetting;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.cli ?? CLI, '--stdio'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    let answered = false;
    let ended = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const maybeEnd = (): void => {
      if (ended || !answered || (waitFor !== undefined && !stderr.includes(waitFor))) return;
      ended = true;
      child.stdin.end(frame({ id: 2, method: 'shutdown' }) + frame({ method: 'exit' }));
    };
    child.stdout.on('data', (d: Buffer) => {
      out.push(d);
      answered ||= Buffer.concat(out).includes('"id":1');
      maybeEnd();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      maybeEnd();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const cacheLog = stderr
        .split('\n')
        .filter((l) => l.startsWith('QB-CODE-CACHE '))
        .map((l) => l.replace(/^QB-CODE-CACHE \d+: /, ''));
      try {
        resolve({ code, messages: frames(Buffer.concat(out)), cacheLog });
      } catch (err) {
        reject(err);
      }
    });
    child.stdin.on('error', () => {});
    child.stdin.write(frame({ id: 1, method: 'initialize', params: { protocolVersion: '1.0', processId: null, capabilities: {} } }));
  });
}

/** The run answered initialize and shutdown, exited 0, and wrote nothing else on stdout. */
function expectServed(run: Run): void {
  expect(run.messages.map((m) => m['id'])).toEqual([1, 2]);
  expect(run.messages[0]!['result']).toMatchObject({ protocolVersion: '1.0', serverInfo: { name: 'quantum-butler' } });
  expect(run.code).toBe(0);
}

describe('the CLI code cache', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'qb-code-cache-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const cacheFiles = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.v8cache'));

  it('is made by a first run and used by the next', async () => {
    const first = await serve(dir, 'written:');
    expectServed(first);
    expect(first.cacheLog.map((l) => l.split(':')[0])).toEqual(['none', 'written']);
    expect(cacheFiles()).toHaveLength(1);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const second = await serve(dir);
    expectServed(second);
    expect(second.cacheLog).toEqual([`accepted: ${join(dir, cacheFiles()[0]!)}`]);
  }, 120_000);

  it('ignores a corrupt cache, or one made from other bytes, and makes it again', async () => {
    expectServed(await serve(dir, 'written:'));
    const file = join(dir, cacheFiles()[0]!);
    const good = readFileSync(file);
    const damaged: Array<[string, Buffer]> = [
      // V8 itself would abort on this one: only the cache's own payload checksum stops it.
      ['a flipped payload byte', Buffer.from(good).fill(0x5a, good.length >> 1, (good.length >> 1) + 64)],
      ['a truncated file', good.subarray(0, 10)],
      ['another bundle', Buffer.concat([good.subarray(0, 8), Buffer.from([1, 2, 3, 4]), good.subarray(12)])],
    ];
    for (const [what, bytes] of damaged) {
      writeFileSync(file, bytes);
      const run = await serve(dir, 'written:');
      expectServed(run);
      expect(run.cacheLog.map((l) => l.split(' ')[0]), what).toEqual(['ignored', 'written:']);
      expect(readFileSync(file).length, what).toBeGreaterThan(1000);
    }
    expect((await serve(dir)).cacheLog[0]).toMatch(/^accepted: /);
  }, 240_000);

  it('where the package cannot hold it, is kept in the user cache directory, named for its bundle', async () => {
    // A copy of the CLI (its stub, loader and bundle) whose dist/.cache cannot be a directory.
    const pkg = join(dir, 'pkg');
    const src = join(pkg, 'dist', 'src');
    mkdirSync(join(src, 'cli'), { recursive: true });
    for (const f of ['cli.js', 'cli.bundle.cjs', join('cli', 'load-bundle.js')]) copyFileSync(join(dirname(CLI), f), join(src, f));
    const root = join(dirname(CLI), '..', '..');
    copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
    writeFileSync(join(pkg, 'dist', '.cache'), 'not a directory');
    const xdg = join(dir, 'xdg');
    const opts = { cli: join(src, 'cli.js'), env: { XDG_CACHE_HOME: xdg } };

    const first = await serve(undefined, 'written:', opts);
    expectServed(first);
    const userFiles = readdirSync(join(xdg, 'quantum-butler'));
    expect(userFiles).toHaveLength(1);
    expect(userFiles[0]).toMatch(new RegExp(`^cli-${process.version.replace(/\./g, '\\.')}-${process.arch}-[0-9a-f]{8}\\.v8cache$`));
    const userFile = join(xdg, 'quantum-butler', userFiles[0]!);
    expect(first.cacheLog.map((l) => l.split(':')[0])).toEqual(['none', 'none', 'not written', 'written']);
    expect(first.cacheLog[3]).toBe(`written: ${userFile}`);

    const second = await serve(undefined, undefined, opts);
    expectServed(second);
    // The package's place is looked at first (nothing there), then the user's.
    expect(second.cacheLog).toHaveLength(2);
    expect(second.cacheLog[0]).toMatch(/^none: /);
    expect(second.cacheLog[1]).toBe(`accepted: ${userFile}`);
  }, 120_000);

  it('serves as usual when its directory cannot be written', async () => {
    const notADirectory = join(dir, 'file');
    writeFileSync(notADirectory, 'x');
    const run = await serve(join(notADirectory, 'cache'), 'not written:');
    expectServed(run);
    expect(run.cacheLog.map((l) => l.split(':')[0])).toEqual(['none', 'not written']);
  }, 120_000);

  it('is neither read nor made when turned off', async () => {
    const run = await serve('off');
    expectServed(run);
    expect(run.cacheLog).toEqual([]);
  }, 120_000);
});
