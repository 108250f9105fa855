/**
 * Start-up: from spawning the CLI to the `initialize` answer, alternated with bare
 * `node -e 0` (the ceiling) so that a shared machine's load falls on both; then one start
 * under --cpu-prof, its time attributed to the bundle's parts (the `// path` markers esbuild
 * writes before each module) and to V8's compile of the bundle: each module's share.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFrame } from '../../src/util/framing.js';
import { median, root } from './sidecar-bench.js';

const CLI = join(root, 'dist', 'src', 'cli.js');
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
    const lines = readFileSync(CLI, 'utf8').split('\n');
    const marks: Array<[number, string]> = [];
    lines.forEach((l, i) => {
      const m = /^\/\/ ((?:dist\/src|dist\/protocol|node_modules)\/\S+)/.exec(l);
      if (m) marks.push([i, m[1]!]);
    });
    const part = (line: number): string => {
      let found = 'bundle top level (every module\'s top-level statements)';
      for (const [at, path] of marks) if (at <= line) found = path; else break;
      const segs = found.split('/');
      if (segs[0] === 'node_modules') return segs.slice(0, segs[1]!.startsWith('@') ? 3 : 2).join('/');
      return segs[0] === 'dist' ? segs.slice(1, 3).join('/') : found;
    };
    const time = new Map<number, number>();
    profile.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    const out: Record<string, number> = {};
    for (const n of profile.nodes) {
      const us = time.get(n.id) ?? 0;
      if (us === 0) continue;
      const f = n.callFrame;
      const key = f.url.endsWith('/cli.js') ? part(f.lineNumber) : f.functionName === 'compileSourceTextModule' ? 'V8 compile of the bundle' : `node/V8: ${f.functionName || '(program)'}`;
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
