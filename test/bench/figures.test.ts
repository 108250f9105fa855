/**
 * The bench's JSON has every figure its repository and registry sections promise: both
 * run here on a small workload (the registry section only with a PostgreSQL test server)
 * and are checked with the same list the runner checks (figures.ts). Nothing is timed.
 */
import { describe, expect, it } from 'vitest';
import { REGISTRY_FIGURES, REPOSITORY_FIGURES, SIDECAR_FIGURES, STARTUP_FIGURES, memoryFigures, missingFigures } from './figures.js';
import { runRepositoryBench } from './repository-bench.js';
import { targetsOf } from './targets.js';
import { pgTestUrl } from '../support/pg-url.js';

describe('bench figures', () => {
  it('the event cost in CPU time is 1 - CPU without over CPU with (sidecar and client together), per round', async () => {
    const { eventCostCpu } = await import('./sidecar-bench.js');
    // Round 1: 60 + 40 = 100 us with events, 50 + 30 = 80 without: 0.2. Round 2: 0.5. Round 3: 0.
    const withEvents = { calls: [], echo: [], cpu: [60, 70, 50], clientCpu: [40, 30, 30] };
    const without = { calls: [], echo: [], cpu: [50, 30, 50], clientCpu: [30, 20, 30] };
    const cost = eventCostCpu(withEvents, without);
    expect(cost.median).toBeCloseTo(0.2);
    expect(cost.range[0]).toBeCloseTo(0);
    expect(cost.range[1]).toBeCloseTo(0.5);
  });

  it('the sidecar section (Node and Python clients, events, 16 MiB transfers) reports every figure', async () => {
    const { runSidecarBench } = await import('./sidecar-bench.js');
    const { section } = await runSidecarBench({ pairs: 1, seq: 20, par: 100, pySeq: 20, pyPar: 100, warmup: 20, bigReps: 1 });
    expect(missingFigures(section, SIDECAR_FIGURES)).toEqual([]);
    // The default streams were on: every stored, get and put of the Node and Python runs sent its event.
    expect(section['provenanceEventsPerCall']).toBe(1);
    expect(section['pythonProvenanceEventsPerCall']).toBe(1);
    // The event cost is paired within rounds; on Linux the sidecar's CPU per call is read beside it.
    for (const key of ['eventCostRange', 'pythonEventCostRange']) expect(Object.keys(section[key] as object)).toEqual(['sequential', '64 in flight']);
    if (process.platform === 'linux') {
      const cpu = section['sidecarCpuMicrosPerCall'] as Record<string, { sequential: number }>;
      expect(Object.keys(cpu)).toEqual(['stored', 'stored, no event stream', 'get', 'put']);
      for (const c of Object.values(cpu)) expect(c.sequential).toBeGreaterThan(0);
      // The event cost in CPU time (sidecar and client), paired per round like eventCost.
      const cpuCost = section['eventCostCpu'] as Record<string, { median: number; range: [number, number] }>;
      expect(Object.keys(cpuCost)).toEqual(['sequential', '64 in flight']);
      for (const c of Object.values(cpuCost)) expect(c.range[0]).toBeLessThanOrEqual(c.median);
    }
    // Every target of the section is read from the figures, beside its bound.
    const targets = targetsOf({ sidecar: section });
    expect(targets.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'node butler/put 64 in flight: calls/s over the echo\'s',
        'put 16 MiB by file path',
        'get 16 MiB by file path',
        'put 16 MiB by file path, file datastore',
        'get 16 MiB by file path, file datastore',
      ]),
    );
    expect(targets).toHaveLength(12 + 4 + 4);
    for (const t of targets) expect(t.met).toBe(t.atLeast ? t.value >= t.target : t.value <= t.target);
  }, 240_000);

  it('the startup section reports every figure', async () => {
    const { runStartupBench } = await import('./startup-bench.js');
    const section = await runStartupBench({ rounds: 1 });
    expect(missingFigures(section, STARTUP_FIGURES)).toEqual([]);
    expect(targetsOf({ startup: section }).map((t) => t.name)).toEqual(['spawn to the initialize answer, as our clients spawn']);
    expect(section.extraCaCertsSet).toBe(!!process.env['NODE_EXTRA_CA_CERTS']);
    expect(Object.keys(section.profileMs).length).toBeGreaterThan(0);
  }, 120_000);

  it.runIf(process.platform === 'linux')('the memory section reports every figure', async () => {
    const { runMemoryBench } = await import('./memory-bench.js');
    const section = await runMemoryBench({ mib: [4] });
    expect(missingFigures(section, memoryFigures([4]))).toEqual([]);
    expect(targetsOf({ memory: section })).toHaveLength(4); // put and get, base64 and JSON
  }, 120_000);

  it('the repository section reports every figure', async () => {
    const section = await runRepositoryBench({ chains: 20, chainLength: 10 });
    expect(missingFigures(section, REPOSITORY_FIGURES)).toEqual([]);
    expect(targetsOf({ repository: section }).map((t) => t.name)).toEqual(['collect 100,000 quanta x 4 outputs into SQLite']);
    expect(missingFigures({}, REPOSITORY_FIGURES)).toEqual([...REPOSITORY_FIGURES]);
  }, 120_000);

  it.runIf(pgTestUrl() !== undefined)('the registry (PostgreSQL) section reports every figure', async () => {
    const { runRegistryBench } = await import('./registry-bench.js');
    const section = await runRegistryBench({ chains: 20, chainLength: 10, collectors: 2, collectorChains: 5 });
    expect(missingFigures(section, REGISTRY_FIGURES)).toEqual([]);
    expect((section['concurrent'] as { datasetsInserted: number }).datasetsInserted).toBe(2 * 5 * 10 * 4);
  }, 120_000);
});
