/**
 * `npm run bench`: every target beside its ceiling, in one run. Prints a table of ratios
 * and writes bench-results/bench.json. Timing lives here, never in test assertions.
 * It starts with the machine's profile (machine-profile.ts), printed and written under `machine`.
 * Sections: sidecar (sidecar-bench.ts), startup (startup-bench.ts), memory
 * (memory-bench.ts), trust, stores, repository, registry.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { QuantumButlerClient } from '../../src/client/index.js';
import { LANES, root, row, runSidecarBench, type Row } from './sidecar-bench.js';
import type { PairCost, Spread } from './interleaved.js';
import { CLEAN_PAGE_CACHE_KIB, type PageCacheWait } from './page-cache.js';

/**
 * Trust-mode reads: a quantum whose graph carried no datastore records reads 10,000
 * inputs from a repository by predicting their paths from the template.
 */
async function trustModeReads(): Promise<Record<string, number>> {
  const N = 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'qb-bench-repo-'));
  const client = await QuantumButlerClient.spawn({ cliPath: join(root, 'dist', 'src', 'cli.js'), stderr: 'inherit' });
  try {
    const repo = join(dir, 'repo');
    const { RepositoryCreate, RepositoryRegisterDatasetType, RepositoryPut, RepositoryMakeQuantum } = await import('../../protocol/index.js');
    await client.request(RepositoryCreate, { root: repo });
    await client.request(RepositoryRegisterDatasetType, { root: repo, datasetType: { name: 'in', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'] } });
    await client.request(RepositoryRegisterDatasetType, { root: repo, datasetType: { name: 'out', storageClass: 'StructuredDataDict', dimensions: ['instrument'] } });
    const ids: string[] = [];
    const seedStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < N) {
          const i = next++;
          const r = await client.request(RepositoryPut, { root: repo, datasetType: 'in', dataId: { instrument: 'B', detector: i }, run: 'r', payload: { encoding: 'json', value: { i } } });
          ids[i] = r.ref.id;
        }
      }),
    );
    const seedSeconds = (performance.now() - seedStart) / 1000;
    const made = await client.request(RepositoryMakeQuantum, {
      root: repo,
      taskName: 'bench.Trust',
      inputs: ids.map((id) => ({ id })),
      outputs: [{ datasetType: 'out', dataId: { instrument: 'B' }, run: 'r' }],
      includeRecords: false,
    });
    const s = await client.openSession({ quantum: made.quantum, repository: { root: repo }, notifications: [] });
    const t = performance.now();
    next = 0;
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        while (next < N) await s.get(ids[next++]!);
      }),
    );
    const readSeconds = (performance.now() - t) / 1000;
    await s.close();
    return { inputs: N, seedPutsPerSec: N / seedSeconds, readSeconds, readsPerSec: N / readSeconds };
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `npm run bench -- --only=sidecar,startup,memory,trust,stores,repository,registry` runs some sections (default: all). */
const only = new Set(
  process.argv
    .filter((a) => a.startsWith('--only='))
    .flatMap((a) => a.slice('--only='.length).split(','))
    .filter(Boolean),
);
const wanted = (section: string): boolean => only.size === 0 || only.has(section);

async function main(): Promise<void> {
  // What machine this is (machine-profile.ts: CPU, SHA-256 speed, a system call, pipes, the clock,
  // page faults, the vm dirty settings), first and printed at once, so that figures from
  // different machines can be told apart.
  const { formatMachineProfile, machineProfile } = await import('./machine-profile.js');
  const machine = await machineProfile();
  process.stdout.write(formatMachineProfile(machine).join('\n') + '\n');
  const results: Record<string, unknown> = { machine: { ...machine, cpus: cpus().length, node: process.version }, date: new Date().toISOString() };
  const rows: Row[] = [];
  if (wanted('sidecar')) {
    const { section, transfers, rows: sidecarRows } = await runSidecarBench();
    results.sidecar = section;
    results.transfers16MiBSeconds = transfers;
    rows.push(...sidecarRows);
  }
  if (wanted('startup')) {
    const { runStartupBench } = await import('./startup-bench.js');
    const startup = await runStartupBench();
    results.startup = startup;
    // Each against bare node in its own environment: as our clients spawn (NODE_EXTRA_CA_CERTS moved), and inherited as it is.
    for (const [name, ms, ceiling] of [
      ['spawn to initialize answer, as our clients spawn (ceiling: node -e 0)', startup.initializeMs, startup.nodeBareMs],
      ['the same without the V8 code cache', startup.initializeNoCodeCacheMs, startup.nodeBareMs],
      [`the same, environment inherited as it is (NODE_EXTRA_CA_CERTS ${startup.extraCaCertsSet ? 'kept' : 'not set'})`, startup.initializeInheritedEnvMs, startup.nodeBareInheritedEnvMs],
    ] as const) {
      rows.push({ ...row(name, ms, ceiling, 'ms'), ratio: { median: ceiling / ms, min: ceiling / ms, max: ceiling / ms } });
    }
  }
  if (wanted('memory')) {
    const { runMemoryBench } = await import('./memory-bench.js');
    const memory = await runMemoryBench();
    results.memory = memory;
    // Ratio bound / peak, like the other rows: 1 or more meets the target.
    for (const [name, m] of Object.entries(memory.transfers)) rows.push({ ...row(`peak RSS over idle, ${name} (ceiling: 2N+64 MiB)`, m.peakOverBaseMiB, m.boundMiB, 'MiB'), ratio: { median: 1 / m.ratioToBound, min: 1 / m.ratioToBound, max: 1 / m.ratioToBound } });
  }
  await rest(results, rows);
}

async function rest(results: Record<string, unknown>, rows: Row[]): Promise<void> {
  if (wanted('trust')) results.trustModeReads = await trustModeReads();

  // Store backends and the repository, when those benches are present.
  if (wanted('stores')) try {
    const storeBench = './store-bench.js'; // a variable, so this runner builds without it
    const mod = (await import(storeBench)) as { runStoreBench?: () => Promise<Record<string, unknown>> };
    if (mod.runStoreBench) results.stores = await mod.runStoreBench();
  } catch (err) {
    results.stores = { skipped: (err as Error).message };
  }

  if (wanted('repository')) try {
    const repoBench = './repository-bench.js';
    const mod = (await import(repoBench)) as { runRepositoryBench?: () => Promise<Record<string, unknown>> };
    if (mod.runRepositoryBench) results.repository = await mod.runRepositoryBench();
  } catch (err) {
    results.repository = { skipped: (err as Error).message };
  }

  if (wanted('registry')) try {
    const registryBench = './registry-bench.js';
    const mod = (await import(registryBench)) as { runRegistryBench?: () => Promise<Record<string, unknown>> };
    if (mod.runRegistryBench) results.registry = await mod.runRegistryBench();
  } catch (err) {
    results.registry = { skipped: (err as Error).message };
  }

  // Every figure the sections promise is there (a section that was skipped says why instead).
  const { MACHINE_FIGURES, REGISTRY_FIGURES, REPOSITORY_FIGURES, SIDECAR_FIGURES, STARTUP_FIGURES, memoryFigures, missingFigures } = await import('./figures.js');
  const sections: Array<readonly [string, readonly string[]]> = [
    ['machine', MACHINE_FIGURES],
    ['sidecar', SIDECAR_FIGURES],
    ['startup', STARTUP_FIGURES],
    ['memory', memoryFigures([64, 128])],
    ['repository', REPOSITORY_FIGURES],
    ['registry', REGISTRY_FIGURES],
  ];
  for (const [name, figures] of sections) {
    const section = results[name] as Record<string, unknown> | undefined;
    if (!section || 'skipped' in section) continue;
    const missing = missingFigures(section, figures);
    if (missing.length > 0) throw new Error(`bench section ${name} lacks ${missing.join(', ')}`);
  }

  // Issue 15's targets, each beside its bound, from this run's figures.
  const { formatTargets, targetsOf } = await import('./targets.js');
  const targets = targetsOf(results);
  results.targets = targets;

  const outDir = join(root, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'bench.json'), JSON.stringify(results, null, 2) + '\n');

  const lines = ['', `${'benchmark'.padEnd(40)} ${'value'.padStart(8)}         ${'ceiling'.padStart(8)}         ratio to the ceiling (median and range of rounds; 1 = the ceiling, above 1 is faster)`];
  for (const r of rows) {
    const range = r.ratio.min === r.ratio.max ? '' : ` (${r.ratio.min.toFixed(2)}-${r.ratio.max.toFixed(2)})`;
    lines.push(`${r.name.padEnd(40)} ${r.value.toFixed(0).padStart(8)} ${r.unit.padEnd(7)} ${r.ceiling.toFixed(0).padStart(8)} ${r.unit.padEnd(7)} ${r.ratio.median.toFixed(2)}x${range}`);
  }
  const wait = (results.sidecar as { pageCacheWait?: PageCacheWait } | undefined)?.pageCacheWait;
  if (wait) lines.push(`the page cache before the 16 MiB rows: ${(wait.dirtyKiB / 1024).toFixed(0)} MiB dirty, ${(wait.writebackKiB / 1024).toFixed(0)} MiB under writeback; ${wait.synced ? `sync took ${(wait.waitedMs / 1000).toFixed(1)} s${wait.timedOut ? ' (timed out)' : ''}, ${(wait.afterKiB / 1024).toFixed(0)} MiB left` : `below ${CLEAN_PAGE_CACHE_KIB / 1024} MiB, no wait`} (sidecar.pageCacheWait)`);
  if (results.sidecar) lines.push(...formatEventCost(results.sidecar as Record<string, unknown>));
  if (results.startup) lines.push('', 'start-up, ms of one profiled start by part (self time):', JSON.stringify((results.startup as { profileMs: unknown }).profileMs, null, 2));
  // Collect-and-transfer beside its raw-statement ceiling (collect-ceiling.ts), per backend.
  for (const [name, section] of [['SQLite', results.repository], ['PostgreSQL', results.registry]] as const) {
    const c = (section as { collect?: { seconds: number; ceilingSeconds?: number; ratioToCeiling?: number } } | undefined)?.collect;
    if (c?.ceilingSeconds !== undefined) lines.push(`${`collect 100k x 4 into ${name}`.padEnd(34)}  ${c.seconds.toFixed(1).padStart(8)} s       ${c.ceilingSeconds.toFixed(1).padStart(8)} s       ${c.ratioToCeiling!.toFixed(2)}x`);
  }
  if (results.trustModeReads) lines.push('', 'trust-mode reads:', JSON.stringify(results.trustModeReads, null, 2));
  if (results.stores) lines.push('', 'stores:', JSON.stringify(results.stores, null, 2));
  if (results.repository) lines.push('', 'repository:', JSON.stringify(results.repository, null, 2));
  if (results.registry) lines.push('', 'registry (PostgreSQL):', JSON.stringify(results.registry, null, 2));
  lines.push(...formatTargets(targets));
  lines.push('', `written to ${join(outDir, 'bench.json')}`, '');
  process.stdout.write(lines.join('\n'));
}

/** The event cost of each client and mode beside its A/A check (interleaved.ts), in calls/s and in CPU time. */
function formatEventCost(sidecar: Record<string, unknown>): string[] {
  const rounds = sidecar['eventCostRounds'] as Record<string, Record<string, PairCost>>;
  const f = (s: Spread | undefined, digits = 3) => (s ? `${s.median.toFixed(digits)} (${s.range[0].toFixed(Math.max(digits - 1, 1))} to ${s.range[1].toFixed(Math.max(digits - 1, 1))})`.padEnd(24) : '-'.padEnd(24));
  const lines = [
    '',
    'what the event stream costs a stored call: 1 - calls/s with events / without, the median of rounds of interleaved blocks (range of rounds);',
    `A/A: a second quiet session against the first, measured the same way (the resolution); CPU: sidecar + client CPU per call; schedule from round ${String(sidecar['eventCostScheduleStart'])} of its cycle`,
    `${''.padEnd(24)}${'cost'.padEnd(24)}${'A/A'.padEnd(24)}${'CPU cost'.padEnd(24)}${'CPU A/A'.padEnd(24)}${'CPU us an event adds'.padEnd(24)}rounds`,
  ];
  for (const [client, modes] of Object.entries(rounds)) {
    for (const [mode, p] of Object.entries(modes)) lines.push(`${`${client} ${mode}`.padEnd(24)}${f(p.cost)}${f(p.aa)}${f(p.cpu)}${f(p.cpuAA)}${f(p.cpuMicros, 1)}${p.cost.rounds.length}`);
  }
  return lines;
}

await main();
