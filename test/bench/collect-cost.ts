/**
 * The bench's collect-and-transfer into SQLite alone (the repository section's first figure,
 * without its re-runs, lineage, ceiling and daf_butler import), for one or more builds side by
 * side: each round runs every build in a fresh process of its own (in the reverse order on odd
 * rounds, so that a shared machine's load falls on all alike).
 *
 *     node dist/test/bench/collect-cost.js [--rounds=4] [--chains=1000] [DIST ...]
 *
 * DIST: a copy of dist/ (`cp -a dist /tmp/base-dist` before a change; it finds its packages
 * through a node_modules beside it: `ln -s $PWD/node_modules /tmp/base-dist/`); default this
 * build. The workload is always this build's (test/bench/repository-bench.ts, `--chains` chains
 * of 100 quanta, built in each process before the timing), collected as JSON texts as read from files (flat strings, see fileText). Prints,
 * per run: the wall time and phases, the CPU time of the main thread and of the whole process
 * (worker threads that have ended included), and the main thread's garbage collections
 * (count and pause time, by kind) during the call; then per build the median over rounds,
 * and for the second build on its ratio to the first, paired by round. On a shared machine
 * the main thread's CPU is the steadier measure: the wall time swings with the load.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { numberOption, option, positionals } from './argv.js';
import { median } from './median.js';
import { threadCpu } from './settle.js';

const here = fileURLToPath(import.meta.url);

interface Run {
  wall: number;
  mainCpu: number;
  processCpu: number;
  gc: Record<string, { count: number; ms: number }>;
  timings: Record<string, number>;
  load: number;
}

/** The main thread's CPU seconds so far. */
const mainCpu = (): number => (threadCpu().get(String(process.pid)) ?? 0) / 1e6;

async function child(dist: string, chains: number): Promise<void> {
  const { buildWorkload, fileText } = await import('./repository-bench.js');
  const { SqliteRegistry } = (await import(pathToFileURL(join(dist, 'src/repository/sqlite/registry.js')).href)) as typeof import('../../src/repository/sqlite/registry.js');
  const { collectAndTransfer } = (await import(pathToFileURL(join(dist, 'src/repository/collect-and-transfer.js')).href)) as typeof import('../../src/repository/collect-and-transfer.js');
  const { items } = buildWorkload(chains, 100);
  const texts = items.map((it) => ({ quantum: it.quantum, provenanceText: fileText(it.provenance) }));
  const dir = mkdtempSync(join(tmpdir(), 'qb-collect-cost-'));
  try {
    const registry = await SqliteRegistry.open(join(dir, 'registry.sqlite3'));
    const gc: Run['gc'] = {};
    const kinds: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = kinds[(e.detail as { kind: number } | undefined)?.kind ?? 0] ?? 'other';
        const g = (gc[kind] ??= { count: 0, ms: 0 });
        g.count++;
        g.ms += e.duration;
      }
    });
    (globalThis as { gc?: () => void }).gc?.();
    observer.observe({ entryTypes: ['gc'] });
    const cpu0 = process.cpuUsage(), main0 = mainCpu(), t0 = performance.now();
    const report = await collectAndTransfer(registry, texts, { progress: () => {} });
    const wall = (performance.now() - t0) / 1000, main = mainCpu() - main0, cpu = process.cpuUsage(cpu0);
    await new Promise((r) => setImmediate(r)); // the last gc entries
    observer.disconnect();
    if (!report.committed || report.conflicts.length > 0) throw new Error(`collect failed: ${JSON.stringify(report.conflicts.slice(0, 3))}`);
    await registry.close();
    for (const g of Object.values(gc)) g.ms = Math.round(g.ms);
    const run: Run = { wall, mainCpu: main, processCpu: (cpu.user + cpu.system) / 1e6, gc, timings: report.timings, load: loadavg()[0]! };
    console.log(JSON.stringify(run));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parent(): void {
  const rounds = numberOption('rounds', 4), chains = numberOption('chains', 1000);
  const dists = positionals().map((d) => resolve(d));
  if (dists.length === 0) dists.push(resolve(here, '..', '..', '..'));
  const runs = new Map<string, Run[]>(dists.map((d) => [d, []]));
  const f = (x: number): string => x.toFixed(3);
  for (let r = 0; r < rounds; r++) {
    for (const dist of r % 2 === 0 ? dists : [...dists].reverse()) {
      const p = spawnSync(process.execPath, ['--expose-gc', here, `--child=${dist}`, `--chains=${chains}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
      if (p.status !== 0) throw new Error(`round ${r} of ${dist} failed (exit ${p.status})`);
      const run = JSON.parse(p.stdout.trim().split('\n').pop()!) as Run;
      runs.get(dist)!.push(run);
      const gc = Object.entries(run.gc).map(([k, g]) => `${k} ${g.count}x ${g.ms} ms`).join(', ');
      console.log(`round ${r} ${dist}: wall ${f(run.wall)} s, main CPU ${f(run.mainCpu)} s, process CPU ${f(run.processCpu)} s, main GC ${gc}; load ${run.load.toFixed(2)}; ${JSON.stringify(run.timings)}`);
    }
  }
  const first = runs.get(dists[0]!)!;
  for (const [dist, rs] of runs) {
    const pick = (k: 'wall' | 'mainCpu' | 'processCpu') => rs.map((x) => x[k]);
    const ratio = (k: 'wall' | 'mainCpu' | 'processCpu') => rs.map((x, i) => x[k] / first[i]![k]);
    const gcMs = rs.map((x) => Object.values(x.gc).reduce((a, g) => a + g.ms, 0));
    console.log(
      `${dist}: median wall ${f(median(pick('wall')))} s, main CPU ${f(median(pick('mainCpu')))} s, process CPU ${f(median(pick('processCpu')))} s, main GC ${median(gcMs)} ms` +
        (dist === dists[0] ? '' : `; paired ratio to the first: wall ${f(median(ratio('wall')))}, main CPU ${f(median(ratio('mainCpu')))}, process CPU ${f(median(ratio('processCpu')))}`),
    );
  }
}

const childDist = option('child');
if (childDist !== undefined) await child(childDist, numberOption('chains', 1000));
else parent();
