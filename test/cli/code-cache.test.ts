/**
 * The built CLI's V8 code caches (src/cli/load-bundle.ts), one per bundle (the start-up one,
 * cli.start.cjs, and the main one): made by a first run, used by the
 * next, ignored (and made again) when corrupt or made from other bytes, no error when its
 * directory cannot be written, kept in the user's cache directory when the package's cannot
 * hold it, none at all when turned off; stdout carries only the protocol throughout. NODE_DEBUG=qb-code-cache makes the loader say on stderr what it did.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, assertBuilt } from '../e2e/harness.js';
import { sidecarEnv } from '../../src/client/sidecar-env.js';

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
  /** The loader's NODE_DEBUG lines about the main bundle's cache, without the "QB-CODE-CACHE <pid>: " prefix. */
  cacheLog: string[];
  /** The same about the start-up bundle's cache (cli.start.cjs). */
  startLog: string[];
}

/** A start-up bundle's cache file (each line of the loader names the file). */
const START = /\bcli\.start-v/;
/** Both bundles' caches were written (or could not be). */
const bothWritten = (kind: string) => (stderr: string): boolean => stderr.split(`: ${kind}: `).length - 1 >= 2;

/**
 * One session: initialize; once answered, and once stderr says `waitFor` (if given), shutdown
 * and exit. The code cache lives in `cacheSetting` (QUANTUM_BUTLER_CODE_CACHE).
 */
function serve(cacheSetting: string | undefined, waitFor?: (stderr: string) => boolean, opts: { cli?: string; env?: Record<string, string> } = {}): Promise<Run> {
  assertBuilt();
  const env: NodeJS.ProcessEnv = sidecarEnv({ ...process.env, ...opts.env, NODE_DEBUG: 'qb-code-cache' });
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
      if (ended || !answered || (waitFor !== undefined && !waitFor(stderr))) return;
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
      const log = stderr
        .split('\n')
        .filter((l) => l.startsWith('QB-CODE-CACHE '))
        .map((l) => l.replace(/^QB-CODE-CACHE \d+: /, ''));
      try {
        resolve({ code, messages: frames(Buffer.concat(out)), cacheLog: log.filter((l) => !START.test(l)), startLog: log.filter((l) => START.test(l)) });
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

  it('is made by a first run and used by the next, one for each bundle', async () => {
    const first = await serve(dir, bothWritten('written'));
    expectServed(first);
    expect(first.startLog.map((l) => l.split(':')[0])).toEqual(['none', 'written']);
    expect(first.cacheLog.map((l) => l.split(':')[0])).toEqual(['none', 'written']);
    expect(cacheFiles().sort()).toEqual([`cli-${process.version}-${process.arch}.v8cache`, `cli.start-${process.version}-${process.arch}.v8cache`]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const second = await serve(dir);
    expectServed(second);
    expect(second.startLog).toEqual([`accepted: ${join(dir, `cli.start-${process.version}-${process.arch}.v8cache`)}`]);
    expect(second.cacheLog).toEqual([`accepted: ${join(dir, `cli-${process.version}-${process.arch}.v8cache`)}`]);
  }, 120_000);

  it('ignores a corrupt cache of either bundle, or one made from other bytes, and makes it again', async () => {
    expectServed(await serve(dir, bothWritten('written')));
    for (const bundle of ['cli.start', 'cli']) {
      const file = join(dir, `${bundle}-${process.version}-${process.arch}.v8cache`);
      const good = readFileSync(file);
      const damaged: Array<[string, Buffer]> = [
        // V8 itself would abort on this one: only the cache's own payload checksum stops it.
        ['a flipped payload byte', Buffer.from(good).fill(0x5a, good.length >> 1, (good.length >> 1) + 64)],
        ['a truncated file', good.subarray(0, 10)],
        ['another bundle', Buffer.concat([good.subarray(0, 8), Buffer.from([1, 2, 3, 4]), good.subarray(12)])],
      ];
      for (const [what, bytes] of damaged) {
        writeFileSync(file, bytes);
        const run = await serve(dir, (stderr) => stderr.includes(`written: ${file}`));
        expectServed(run);
        const [damagedLog, otherLog] = bundle === 'cli' ? [run.cacheLog, run.startLog] : [run.startLog, run.cacheLog];
        expect(damagedLog.map((l) => l.split(' ')[0]), `${bundle}: ${what}`).toEqual(['ignored', 'written:']);
        expect(otherLog.map((l) => l.split(' ')[0]), `${bundle}: ${what}`).toEqual(['accepted:']);
        expect(readFileSync(file).length, what).toBeGreaterThan(1000);
      }
    }
    const last = await serve(dir);
    expect([last.startLog, last.cacheLog].map((log) => log.map((l) => l.split(' ')[0]))).toEqual([['accepted:'], ['accepted:']]);
  }, 240_000);

  it('where the package cannot hold it, is kept in the user cache directory, named for its bundle', async () => {
    // A copy of the CLI (its stub, loader and bundles) whose dist/.cache cannot be a directory.
    const pkg = join(dir, 'pkg');
    const src = join(pkg, 'dist', 'src');
    mkdirSync(join(src, 'cli'), { recursive: true });
    for (const f of ['cli.js', 'cli.start.cjs', 'cli.bundle.cjs', join('cli', 'load-bundle.js')]) copyFileSync(join(dirname(CLI), f), join(src, f));
    const root = join(dirname(CLI), '..', '..');
    copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
    writeFileSync(join(pkg, 'dist', '.cache'), 'not a directory');
    const xdg = join(dir, 'xdg');
    const opts = { cli: join(src, 'cli.js'), env: { XDG_CACHE_HOME: xdg } };

    const first = await serve(undefined, bothWritten('written'), opts);
    expectServed(first);
    const userFiles = readdirSync(join(xdg, 'quantum-butler')).sort();
    expect(userFiles).toHaveLength(2);
    const version = process.version.replace(/\./g, '\\.');
    expect(userFiles[0]).toMatch(new RegExp(`^cli-${version}-${process.arch}-[0-9a-f]{8}\\.v8cache$`));
    expect(userFiles[1]).toMatch(new RegExp(`^cli\\.start-${version}-${process.arch}-[0-9a-f]{8}\\.v8cache$`));
    for (const [log, name] of [[first.cacheLog, userFiles[0]!], [first.startLog, userFiles[1]!]] as const) {
      expect(log.map((l) => l.split(':')[0])).toEqual(['none', 'none', 'not written', 'written']);
      expect(log[3]).toBe(`written: ${join(xdg, 'quantum-butler', name)}`);
    }

    const second = await serve(undefined, undefined, opts);
    expectServed(second);
    // The package's place is looked at first (nothing there), then the user's.
    for (const [log, name] of [[second.cacheLog, userFiles[0]!], [second.startLog, userFiles[1]!]] as const) {
      expect(log).toHaveLength(2);
      expect(log[0]).toMatch(/^none: /);
      expect(log[1]).toBe(`accepted: ${join(xdg, 'quantum-butler', name)}`);
    }
  }, 120_000);

  it('serves as usual when its directory cannot be written', async () => {
    const notADirectory = join(dir, 'file');
    writeFileSync(notADirectory, 'x');
    const run = await serve(join(notADirectory, 'cache'), bothWritten('not written'));
    expectServed(run);
    expect(run.startLog.map((l) => l.split(':')[0])).toEqual(['none', 'not written']);
    expect(run.cacheLog.map((l) => l.split(':')[0])).toEqual(['none', 'not written']);
  }, 120_000);

  it('is neither read nor made when turned off', async () => {
    const run = await serve('off');
    expectServed(run);
    expect(run.cacheLog).toEqual([]);
    expect(run.startLog).toEqual([]);
  }, 120_000);
});

describe("the loader's own CRC-32 (the start-up bundle's caches are checked without loading node:zlib)", () => {
  it('is zlib.crc32', async () => {
    const { crc32Small } = await import('../../src/cli/load-bundle.js');
    const { crc32 } = (await import('node:zlib')) as unknown as { crc32: (b: Uint8Array) => number };
    const inputs = [Buffer.alloc(0), Buffer.from('a'), Buffer.from('123456789'), randomBytes(1000), randomBytes(70_001)];
    for (const b of inputs) expect(crc32Small(b)).toBe(crc32(b));
  });
});
