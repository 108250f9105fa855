/**
 * PostgreSQL registry benchmark, beside the SQLite figures of repository-bench.ts, on the
 * same workload (1,000 chains of 100 quanta × 4 outputs, native documents):
 * - `collect`: collect-and-transfer of all of it into a fresh schema (the server's work
 *   included: the time is the call's, commit included; target 25 s on 2 cores);
 * - `concurrent`: 8 collectors of 10,000 quanta each, in 8 processes started together,
 *   into one schema (datasets/s over all of them, from the start signal to the last commit);
 * - `lineage`: the walk up a 100-quantum chain (target 20 ms), median of 15 after a warm-up.
 *
 * The server is the one the tests use (QB_TEST_PG_URL or `npm run pg:start`'s); without one
 * a throwaway cluster is started for the run (scripts/pg-cluster.sh) and stopped after.
 * `sizes` shrinks the workload (the test that checks this section's figures).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { collectAndTransfer } from '../../src/repository/collect-and-transfer.js';
import { PgRegistry } from '../../src/repository/postgres/registry.js';
import { buildWorkload } from './repository-bench.js';
import { pgTestUrl } from '../support/pg-url.js';
import { ceilingRows, postgresCeiling } from './collect-ceiling.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The project root and the compiled bench directory, whether this runs compiled (dist/test/bench) or from source (test/bench). */
const compiled = here.split(sep).includes('dist');
const root = compiled ? join(here, '..', '..', '..') : join(here, '..', '..');
const benchDir = compiled ? here : join(root, 'dist', 'test', 'bench');
export const COLLECT_TARGET_SECONDS = 25;
export const LINEAGE_TARGET_MS = 20;

export interface RegistryBenchSizes {
  chains: number;
  chainLength: number;
  collectors: number;
  collectorChains: number;
}

const FULL: RegistryBenchSizes = { chains: 1000, chainLength: 100, collectors: 8, collectorChains: 100 };

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The test server's URL, or a cluster started for this run (with the way to stop it). */
async function server(): Promise<{ url: string; stop: () => void; started: boolean }> {
  const url = pgTestUrl();
  if (url) return { url, stop: () => {}, started: false };
  const dir = mkdtempSync(join(tmpdir(), 'qb-bench-pg-'));
  const script = join(root, 'scripts', 'pg-cluster.sh');
  const r = spawnSync(script, ['start', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`no PostgreSQL server (QB_TEST_PG_URL unset, and starting one failed: ${r.stderr.trim()})`);
  return { url: r.stdout.trim(), stop: () => void spawnSync(script, ['stop', dir]), started: true };
}

let counter = 0;
const schemaName = (): string => `bench_${process.pid}_${++counter}`;

/** The collectors of the concurrent figure: processes running registry-collector.js, started together. */
async function concurrent(url: string, schema: string, sizes: RegistryBenchSizes): Promise<Record<string, number>> {
  const script = join(benchDir, 'registry-collector.js');
  const procs = Array.from({ length: sizes.collectors }, (_, i) =>
    spawn(process.execPath, [script, url, schema, String(sizes.collectorChains), String(sizes.chainLength), String(i)], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const lines = procs.map((p) => {
    const out: string[] = [];
    let buf = '';
    p.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        out.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    return out;
  });
  const waitFor = (i: number, pred: (l: string) => boolean): Promise<string> =>
    new Promise((resolve, reject) => {
      const t = setInterval(() => {
        const l = lines[i]!.find(pred);
        if (l) {
          clearInterval(t);
          resolve(l);
        }
      }, 5);
      procs[i]!.once('exit', (code) => {
        const l = lines[i]!.find(pred);
        clearInterval(t);
        if (l) resolve(l);
        else reject(new Error(`collector ${i} exited (${code}) before reporting`));
      });
    });
  // Each builds its workload first; then all start at once.
  await Promise.all(procs.map((_, i) => waitFor(i, (l) => l === 'ready')));
  const t0 = performance.now();
  for (const p of procs) p.stdin!.write('go\n');
  const done = await Promise.all(procs.map((_, i) => waitFor(i, (l) => l.startsWith('{'))));
  const seconds = (performance.now() - t0) / 1000;
  const reports = done.map((l) => JSON.parse(l) as { inserted: number; retries: number; seconds: number; committed: boolean });
  if (reports.some((r) => !r.committed)) throw new Error('a concurrent collector did not commit');
  const inserted = reports.reduce((n, r) => n + r.inserted, 0);
  return {
    collectors: sizes.collectors,
    quantaEach: sizes.collectorChains * sizes.chainLength,
    seconds: round(seconds),
    datasetsInserted: inserted,
    datasetsPerSecond: Math.round(inserted / seconds),
    slowestCollectorSeconds: round(Math.max(...reports.map((r) => r.seconds))),
    retries: reports.reduce((n, r) => n + r.retries, 0),
  };
}

export async function runRegistryBench(sizes: RegistryBenchSizes = FULL): Promise<Record<string, unknown>> {
  const srv = await server();
  const schemas: string[] = [];
  try {
    const { items, lastOutputs } = buildWorkload(sizes.chains, sizes.chainLength);
    const schema = schemaName();
    schemas.push(schema);
    const reg = await PgRegistry.open({ url: srv.url, schema, create: true });
    const out: Record<string, unknown> = { server: srv.started ? 'started for this run' : 'the test server', workload: { quanta: items.length, outputsPerQuantum: 4 } };
    try {
      const t0 = performance.now();
      const report = await collectAndTransfer(reg, items);
      const seconds = (performance.now() - t0) / 1000;
      if (!report.committed || report.conflicts.length > 0) throw new Error('bench collect into PostgreSQL failed');
      out['collect'] = {
        seconds: round(seconds),
        targetSeconds: COLLECT_TARGET_SECONDS,
        withinTarget: seconds <= COLLECT_TARGET_SECONDS,
        datasetsInserted: report.datasets.inserted,
        datasetsPerSecond: Math.round(report.datasets.inserted / seconds),
        quantaPerSecond: Math.round(items.length / seconds),
        phases: report.timings,
      };
      const chain = lastOutputs[0]!;
      await reg.lineage(chain, 'up');
      const runs: number[] = [];
      let quanta = 0;
      for (let i = 0; i < 15; i++) {
        const t = performance.now();
        quanta = (await reg.lineage(chain, 'up')).quanta.length;
        runs.push(performance.now() - t);
      }
      const ms = median(runs);
      out['lineage'] = { chainQuanta: quanta, upFullChainMs: round(ms), targetMs: LINEAGE_TARGET_MS, withinTarget: ms <= LINEAGE_TARGET_MS };
    } finally {
      await reg.close();
    }
    // The ceiling: the same rows COPY'd straight into a fresh schema (text built beforehand, not timed).
    const raw = schemaName();
    schemas.push(raw);
    await (await PgRegistry.open({ url: srv.url, schema: raw, create: true })).close();
    const ceilingSeconds = await postgresCeiling(ceilingRows(items), srv.url, raw);
    const collect = out['collect'] as { seconds: number };
    out['collect'] = { ...collect, ceilingSeconds: round(ceilingSeconds), ratioToCeiling: round(collect.seconds / ceilingSeconds, 2) };

    const shared = schemaName();
    schemas.push(shared);
    await (await PgRegistry.open({ url: srv.url, schema: shared, create: true })).close();
    out['concurrent'] = await concurrent(srv.url, shared, sizes);
    return out;
  } finally {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: srv.url });
    await c.connect().then(async () => {
      for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await c.end();
    }, () => {});
    srv.stop();
  }
}
