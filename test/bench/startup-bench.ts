/**
 * Start-up: from spawning the CLI to the `initialize` answer, alternated with bare
 * `node -e 0` (the ceiling) so that a shared machine's load falls on both; then one start
 * under --cpu-prof, its time attributed to the bundle's files (cli.js and its chunks, each
 * named by the sources its map lists: bundled zod, protocol, src/server, ...) and to V8's
 * compile of the ES modules: each part's share.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeFrame } from '../../src/util/framing.js';
import { median, root } from './sidecar-bench.js';

const CLI = join(root, 'dist', 'src', 'cli.js');
/** The bundle's files (cli.js and chunks/) as the profile's URLs start. */
const BUNDLE = pathToFileURL(join(root, 'dist', 'src')).href + '/';
const INITIALIZE = encodeFrame(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '1.0', processId: null, capabilities: {} } }));

/** Milliseconds from spawn to the first byte of the answer (sidecar) or to the exit (bare node). */
function start(args: string[], answer: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['pipe', answer ? 'pipe' : 'ignore', 'ignore'] });
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

/** Self time of one profiled start, by part of the bundle (package, or src folder) and by V8/Node internals. */
async function shares(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'qb-start-prof-'));
  try {
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100', CLI, '--stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
      child.stdout!.once('data', () => child.stdin!.end()); // end of input: the sidecar exits, writing the profile
      child.on('exit', () => resolve());
      child.stdin!.write(INITIALIZE);
    });
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) return {};
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
      nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
      samples: number[];
      timeDeltas: number[];
    };
    // The bundle is cli.js plus chunks (scripts/bundle-cli.ts): each file is named by what its
    // source map says it holds: bundled zod, or our folders (protocol, src/server, ...).
    const fileNames = new Map<string, string>();
    const part = (url: string): string => {
      let name = fileNames.get(url);
      if (name === undefined) {
        const file = fileURLToPath(url);
        let sources: string[] = [];
        try {
          sources = (JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] }).sources;
        } catch {
          // no map (a build without one): the file's own name below
        }
        const parts = new Set(sources.map((src) => {
          const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(src);
          if (m) return `${m[1]} (bundled)`;
          const segs = src.replace(/^(\.\.\/)+/, '').split('/');
          return segs[0] === 'src' && segs.length > 2 ? segs.slice(0, 2).join('/') : segs[0]!;
        }));
        const list = [...parts];
        name = list.length === 0 ? relative(join(root, 'dist'), file) : list.length > 3 ? `${list.slice(0, 3).join(', ')}, ...` : list.join(', ');
        fileNames.set(url, name);
      }
      return name;
    };
    const time = new Map<number, number>();
    profile.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    const out: Record<string, number> = {};
    for (const n of profile.nodes) {
      const us = time.get(n.id) ?? 0;
      if (us === 0) continue;
      const f = n.callFrame;
      const key = f.url.startsWith(BUNDLE) ? part(f.url) : f.functionName === 'compileSourceTextModule' ? 'V8 compile of the ES modules' : `node/V8: ${f.functionName || '(program)'}`;
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

export async function runStartupBench(opts: { rounds?: number } = {}): Promise<{
  initializeMs: number;
  nodeBareMs: number;
  overheadMs: number;
  rounds: Array<{ initializeMs: number; nodeBareMs: number }>;
  profileMs: Record<string, number>;
}> {
  const rounds: Array<{ initializeMs: number; nodeBareMs: number }> = [];
  await start(['-e', '0'], false); // warm the file cache
  await start([CLI, '--stdio'], true);
  for (let r = 0; r < (opts.rounds ?? 10); r++) {
    rounds.push({ nodeBareMs: await start(['-e', '0'], false), initializeMs: await start([CLI, '--stdio'], true) });
  }
  const initializeMs = median(rounds.map((r) => r.initializeMs));
  const nodeBareMs = median(rounds.map((r) => r.nodeBareMs));
  return { initializeMs, nodeBareMs, overheadMs: median(rounds.map((r) => r.initializeMs - r.nodeBareMs)), rounds, profileMs: await shares() };
}
