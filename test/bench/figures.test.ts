/**
 * The bench's JSON has every figure its repository and registry sections promise: both
 * run here on a small workload (the registry section only with a PostgreSQL test server)
 * and are checked with the same list the runner checks (figures.ts), as is the machine's
 * profile every run starts with. Nothing is timed.
 */
import { describe, expect, it } from 'vitest';
import { MACHINE_FIGURES, REGISTRY_FIGURES, REPOSITORY_FIGURES, SIDECAR_FIGURES, STARTUP_FIGURES, memoryFigures, missingFigures } from './figures.js';
import { runRepositoryBench } from './repository-bench.js';
import { targetsOf } from './targets.js';
import { pgTestUrl } from '../support/pg-url.js';

describe('bench figures', () => {
  it('the machine profile (bench.json `machine`) gives the CPU, its speed at SHA-256, a system call, pipes, the clock, page faults and the vm dirty settings', async () => {
    const { formatMachineProfile, machineProfile } = await import('./machine-profile.js');
    const machine = await machineProfile();
    expect(missingFigures(machine, MACHINE_FIGURES)).toEqual([]);
    expect(machine.cpuModel).toMatch(/\S/);
    // What bench.json held before: the core count and Node's version, which say nothing of the machine's speed.
    expect(missingFigures({ cpus: 2, node: 'v20' }, MACHINE_FIGURES)).toEqual(MACHINE_FIGURES.filter((f) => f !== 'cpus'));
    for (const [figure, [min, max]] of Object.entries(machine.ranges)) {
      expect(min, figure).toBeLessThanOrEqual(max);
      expect(min, figure).toBeGreaterThan(figure === 'pageFaultNsPer4KiB' ? -Infinity : 0);
    }
    // The printed block names the CPU and every timed figure.
    const text = formatMachineProfile(machine).join('\n');
    for (const word of [machine.cpuModel, 'SHA-256', 'getppid', 'pipe', 'performance.now()', 'first touch', 'vm dirty']) expect(text).toContain(word);
  }, 60_000);

  it.runIf(process.platform === 'linux')('the wait for a clean page cache runs sync when Dirty + Writeback reach its threshold, and says how much there was', async () => {
    const { dirtyKiB, waitForCleanPageCache } = await import('./page-cache.js');
    expect(dirtyKiB()).toEqual({ dirty: expect.any(Number), writeback: expect.any(Number) });
    const waited = (await waitForCleanPageCache({ thresholdKiB: 0 }))!;
    expect(waited).toEqual({ dirtyKiB: expect.any(Number), writebackKiB: expect.any(Number), synced: true, waitedMs: expect.any(Number), afterKiB: expect.any(Number), timedOut: false });
    expect(waited.waitedMs).toBeGreaterThan(0);
    // Below the threshold it does not wait.
    expect(await waitForCleanPageCache({ thresholdKiB: Number.MAX_SAFE_INTEGER })).toMatchObject({ synced: false, waitedMs: 0, timedOut: false });
  });

  it('the event cost is timed in rounds of mirrored blocks, in a cycle where each kind takes each position and follows each other kind equally often', async () => {
    const { CYCLE, KINDS, schedule } = await import('./interleaved.js');
    for (const start of [0, 1, 5]) {
      const rounds = schedule(2 * CYCLE.length, start);
      expect(schedule(1, start)[0]).toEqual(rounds[0]);
      expect(rounds[1]).toEqual(schedule(1, (start + 1) % CYCLE.length)[0]);
      for (const round of rounds) {
        expect(round).toEqual([...round].reverse());
        for (const kind of KINDS) expect(round.filter((k) => k === kind)).toHaveLength(2);
      }
      // Over a cycle each kind takes each of the six positions twice.
      const cycle = rounds.slice(0, CYCLE.length);
      for (let pos = 0; pos < 6; pos++) for (const kind of KINDS) expect(cycle.filter((r) => r[pos] === kind)).toHaveLength(2);
      // Each kind follows each other kind equally often, from one round into the next included
      // (the cycle of three rotations had quiet after events three times, quiet2 twice).
      const blocks = [...cycle.flat(), cycle[0]![0]!]; // cyclically: the next cycle's first block
      const follows = new Map<string, number>();
      for (let i = 1; i < blocks.length; i++) if (blocks[i] !== blocks[i - 1]) follows.set(`${blocks[i - 1]}>${blocks[i]}`, (follows.get(`${blocks[i - 1]}>${blocks[i]}`) ?? 0) + 1);
      expect(follows.size).toBe(6);
      expect(new Set(follows.values())).toEqual(new Set([5]));
    }
  });

  it('the event cost and its A/A check: 1 - calls/s over calls/s per round, the median round, and the same in CPU time', async () => {
    const { pairCost } = await import('./interleaved.js');
    type Kind = 'events' | 'quiet' | 'quiet2';
    // A round of blocks of 100 calls, each kind's time and CPU microseconds (sidecar and client) split over its two blocks.
    const round = (e: number, q: number, q2: number, cpu: [number, number, number] = [1250, 1000, 1000]) => {
      const block = (kind: Kind, seconds: number, us: number) => ({ kind, calls: 100, seconds: seconds / 2, sidecarCpu: (us / 2) * 0.75, clientCpu: (us / 2) * 0.25 });
      const [be, bq, bq2] = [block('events', e, cpu[0]), block('quiet', q, cpu[1]), block('quiet2', q2, cpu[2])];
      return [be, bq, bq2, bq2, bq, be];
    };
    const c = pairCost([
      round(1.25, 1, 1), // events take 1.25 s to quiet's 1: cost 1 - 1/1.25 = 0.2; CPU the same
      round(1.25, 4, 1), // a round that stalled on its quiet blocks: cost 1 - 4/1.25, A/A 1 - 4
      round(1.5, 1, 1.1, [2000, 1000, 1000]), // cost 1/3, A/A 1 - 1/1.1; CPU with events 2,000 us: 0.5
    ]);
    expect(c.cost.rounds).toHaveLength(3);
    expect(c.cost.rounds[0]).toBeCloseTo(0.2);
    expect(c.cost.rounds[1]).toBeCloseTo(1 - 4 / 1.25);
    expect(c.cost.median).toBeCloseTo(0.2); // the stalled round moves the range, not the median
    expect(c.cost.range).toEqual([expect.closeTo(1 - 4 / 1.25), expect.closeTo(1 / 3)]);
    expect(c.aa.rounds).toEqual([expect.closeTo(0), expect.closeTo(-3), expect.closeTo(1 - 1 / 1.1)]);
    expect(c.aa.median).toBeCloseTo(0);
    // CPU: 1 - (sidecar + client CPU per call without) / (with): 1 - 1000/1250 = 0.2, and 0.5 in round 3.
    expect(c.cpu!.rounds).toEqual([expect.closeTo(0.2), expect.closeTo(0.2), expect.closeTo(0.5)]);
    expect(c.cpuAA!.median).toBeCloseTo(0);
    // And the CPU an event adds to a call: 1,250 - 1,000 us over each kind's 200 calls, then 2,000 - 1,000.
    expect(c.cpuMicros!.rounds).toEqual([expect.closeTo(1.25), expect.closeTo(1.25), expect.closeTo(5)]);
    // Where CPU is unknown, there is no CPU figure.
    expect(pairCost([round(1.25, 1, 1).map((b) => ({ ...b, sidecarCpu: NaN }))]).cpu).toBeUndefined();
  });

  it('the sidecar section (Node and Python clients, events, 16 MiB transfers) reports every figure', async () => {
    const { runSidecarBench } = await import('./sidecar-bench.js');
    const { section } = await runSidecarBench({ pairs: 1, seq: 20, par: 100, pySeq: 20, pyPar: 100, warmup: 20, bigReps: 1, costSeqRounds: 2, costParRounds: 1, costSeq: 10, costPar: 70, pyCostSeq: 10, pyCostPar: 70, pyCostParRounds: 2 });
    expect(missingFigures(section, SIDECAR_FIGURES)).toEqual([]);
    // The default streams were on: every stored, get and put of the Node and Python runs sent its event.
    expect(section['provenanceEventsPerCall']).toBe(1);
    expect(section['pythonProvenanceEventsPerCall']).toBe(1);
    // The event cost and its A/A check are given with the range of their rounds; on Linux the sidecar's CPU per call is read beside it.
    for (const key of ['eventCostRange', 'eventCostAARange', 'pythonEventCostRange', 'pythonEventCostAARange']) expect(Object.keys(section[key] as object)).toEqual(['sequential', '64 in flight']);
    // The Python client's 64-in-flight event cost has rounds of its own (its blocks are short: sidecar-bench.ts), and the section says how each was timed.
    expect(section['eventCostBlocks']).toEqual({
      node: { sequential: { rounds: 2, calls: 10 }, '64 in flight': { rounds: 1, calls: 70 } },
      python: { sequential: { rounds: 2, calls: 10 }, '64 in flight': { rounds: 2, calls: 70 } },
    });
    const rounds = section['eventCostRounds'] as Record<'node' | 'python', Record<'sequential' | '64 in flight', { cost: { rounds: number[] }; aa: { rounds: number[] } }>>;
    expect(rounds.python['64 in flight'].cost.rounds).toHaveLength(2);
    expect(rounds.python['64 in flight'].aa.rounds).toHaveLength(2);
    expect(rounds.node['64 in flight'].cost.rounds).toHaveLength(1);
    if (process.platform === 'linux') {
      const cpu = section['sidecarCpuMicrosPerCall'] as Record<string, { sequential: number }>;
      expect(Object.keys(cpu)).toEqual(['stored', 'stored, no event stream', 'get', 'put']);
      for (const c of Object.values(cpu)) expect(c.sequential).toBeGreaterThan(0);
      // The event cost in CPU time (sidecar and client) and its A/A, over the same blocks.
      for (const key of ['eventCostCpu', 'eventCostCpuAA', 'pythonEventCostCpu', 'pythonEventCostCpuAA']) {
        const cpuCost = section[key] as Record<string, { median: number; range: [number, number] }>;
        expect(Object.keys(cpuCost)).toEqual(['sequential', '64 in flight']);
        for (const c of Object.values(cpuCost)) expect(c.range[0]).toBeLessThanOrEqual(c.median);
      }
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
    // The rows of a repository with blake2b records are informational: reported, not targets.
    expect(targets.filter((t) => t.name.includes('blake2b'))).toEqual([]);
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
