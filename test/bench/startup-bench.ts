/**
 * Start-up: from spawning the CLI to the `initialize` answer, alternated with bare
 * `node -e 0` (the ceiling) and with a start without the V8 code cache
 * (QUANTUM_BUTLER_CODE_CACHE=off, see src/cli/load-bundle.ts), so that a shared machine's load
 * falls on all of them; the cached starts use a cache the bench makes first, in a directory of
 * its own. The target figure spawns the sidecar as our clients do (sidecarEnv: NODE_EXTRA_CA_CERTS
 * moved to QUANTUM_BUTLER_EXTRA_CA_CERTS, see src/client/sidecar-env.ts), against bare node in
 * that environment; beside it the same start and bare node with the environment inherited as it
 * is (with NODE_EXTRA_CA_CERTS, Node 20 builds its root certificate store before running anything;
 * the two are the same where the variable is not set: `extraCaCertsSet`). Then one cached start
 * under --cpu-prof, its time attributed to the bundle's sources (through the bundle's source
 * map: bundled zod, protocol, src/server, ...), to the dependencies loaded from node_modules,
 * and to V8's compile of the bundle and of those dependencies: each part's share.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sidecarEnv } from '../../src/client/sidecar-env.js';
import { encodeFrame } from '../../src/util/framing.js';
import { median, root } from './sidecar-bench.js';

const CLI = join(root, 'dist', 'src', 'cli.js');
/** The bundle the CLI runs (scripts/bundle-cli.ts), as the profile's URLs name it. */
const BUNDLE = join(root, 'dist', 'src', 'cli.bundle.cjs');
const BUNDLE_URL = pathToFileURL(BUNDLE).href;
/** The start-up bundle, which answers a plain first initialize before the main one loads (src/cli/startup.ts). */
const START_URL = pathToFileURL(join(root, 'dist', 'src', 'cli.start.cjs')).href;
const INITIALIZE = encodeFrame(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '1.0', processId: null, capabilities: {} } }));

/** Milliseconds from spawn to the first byte of the answer (sidecar) or to the exit (bare node). */
function start(args: string[], answer: boolean, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['pipe', answer ? 'pipe' : 'ignore', 'ignore'] });
    child.on('error', reject);
    if (!answer) {
      child.on('exit', () => resolve(performance.now() - t));
      return;
    }
    child.stdout!.once('data', () => {
      resolve(performance.now() - t);
      child.kill('SIGKILL');
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before answering`))); // no-op once resolved
    child.stdin!.on('error', () => {});
    child.stdin!.write(INITIALIZE);
  });
}

/** What a source of the bundle's map belongs to: a bundled package, a src/ folder, or protocol. */
function partOf(source: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (m) return `${m[1]} (bundled)`;
  const segs = source.replace(/^(\.\.\/)+/, '').split('/');
  return segs[0] === 'src' && segs.length > 2 ? segs.slice(0, 2).join('/') : segs[0]!;
}

/** Self time of one profiled start (with the code cache in `env`), by part of the bundle and by V8/Node internals. */
async function shares(env: NodeJS.ProcessEnv): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'qb-start-prof-'));
  try {
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100', CLI, '--stdio'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
      child.stdout!.once('data', () => child.stdin!.end()); // end of input: the sidecar exits, writing the profile
      child.on('exit', () => resolve());
      child.stdin!.write(INITIALIZE);
    });
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) return {};
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }>;
      samples: number[];
      timeDeltas: number[];
    };
    // The bundle is one file (scripts/bundle-cli.ts): each sample's position is named by the
    // source its map gives: bundled zod, or our folders (protocol, src/server, ...).
    let map: SourceMap | undefined;
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${BUNDLE}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
    } catch {
      // no map (a build without one): the bundle is one part
    }
    const inBundle = (line: number, column: number): string => {
      if (!map) return 'cli.bundle.cjs (no source map)';
      const entry = map.findEntry(line, column) as { originalSource?: string };
      return entry.originalSource ? partOf(entry.originalSource) : "esbuild's module helpers (in the bundle)";
    };
    const time = new Map<number, number>();
    profile.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    const out: Record<string, number> = {};
    for (const n of profile.nodes) {
      const us = time.get(n.id) ?? 0;
      if (us === 0) continue;
      const f = n.callFrame;
      const dep = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f.url);
      const key =
        f.url === BUNDLE_URL ? inBundle(f.lineNumber, f.columnNumber)
        : f.url === START_URL ? 'the start-up bundle (cli.start.cjs)'
        : dep ? `${dep[1]} (node_modules)`
        : f.functionName === 'Script' && f.url === 'node:vm' ? 'V8 compile of the bundle (from its code cache)'
        : f.functionName === 'wrapSafe' ? 'V8 compile of the CommonJS dependencies'
        : f.functionName === 'compileSourceTextModule' ? 'V8 compile of the ES modules (the stubs)'
        : `node/V8: ${f.functionName || '(program)'}`;
      out[key] = (out[key] ?? 0) + us / 1000;
    }
    const top = Object.entries(out).sort((a, b) => b[1] - a[1]);
    const kept = Object.fromEntries(top.slice(0, 12).map(([k, v]) => [k, Math.round(v * 10) / 10]));
    kept['everything else'] = Math.round(top.slice(12).reduce((a, [, v]) => a + v, 0) * 10) / 10;
    return kept;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Start the CLI once and keep it running until it has written its code cache into `dir` (or 20 s passed). */
function makeCodeCache(env: NodeJS.ProcessEnv, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--stdio'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    child.on('error', reject);
    child.stdin!.on('error', () => {});
    child.stdout!.resume();
    child.stdin!.write(INITIALIZE);
    const until = Date.now() + 20_000;
    const poll = setInterval(() => {
      // One cache per bundle: the start-up bundle's and the main one's.
      if (readdirSync(dir).filter((f) => f.endsWith('.v8cache')).length < 2 && Date.now() < until) return;
      clearInterval(poll);
      child.kill('SIGKILL');
      resolve();
    }, 50);
  });
}

/** One round's figures, ms (see runStartupBench). */
interface Round {
  initializeMs: number;
  initializeNoCodeCacheMs: number;
  nodeBareMs: number;
  initializeInheritedEnvMs: number;
  nodeBareInheritedEnvMs: number;
}

export async function runStartupBench(opts: { rounds?: number } = {}): Promise<
  Round & { overheadMs: number; extraCaCertsSet: boolean; rounds: Round[]; profileMs: Record<string, number> }
> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'qb-start-cache-'));
  try {
    const inherited = { ...process.env, QUANTUM_BUTLER_CODE_CACHE: cacheDir };
    const cached = sidecarEnv(inherited);
    const uncached = sidecarEnv({ ...process.env, QUANTUM_BUTLER_CODE_CACHE: 'off' });
    await start(['-e', '0'], false); // warm the file cache
    await makeCodeCache(cached, cacheDir);
    if (!existsSync(cacheDir) || readdirSync(cacheDir).length === 0) throw new Error('the CLI wrote no code cache');
    const rounds: Round[] = [];
    for (let r = 0; r < (opts.rounds ?? 10); r++) {
      rounds.push({
        nodeBareMs: await start(['-e', '0'], false, cached),
        initializeMs: await start([CLI, '--stdio'], true, cached),
        initializeNoCodeCacheMs: await start([CLI, '--stdio'], true, uncached),
        nodeBareInheritedEnvMs: await start(['-e', '0'], false, inherited),
        initializeInheritedEnvMs: await start([CLI, '--stdio'], true, inherited),
      });
    }
    const pick = (k: keyof Round): number => median(rounds.map((r) => r[k]));
    return {
      initializeMs: pick('initializeMs'),
      initializeNoCodeCacheMs: pick('initializeNoCodeCacheMs'),
      nodeBareMs: pick('nodeBareMs'),
      initializeInheritedEnvMs: pick('initializeInheritedEnvMs'),
      nodeBareInheritedEnvMs: pick('nodeBareInheritedEnvMs'),
      overheadMs: median(rounds.map((r) => r.initializeMs - r.nodeBareMs)),
      extraCaCertsSet: !!process.env['NODE_EXTRA_CA_CERTS'],
      rounds,
      profileMs: await shares(cached),
    };
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
