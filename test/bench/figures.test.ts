/**
 * The bench's JSON has every figure its repository and registry sections promise: both
 * run here on a small workload (the registry section only with a PostgreSQL test server)
 * and are checked with the same list the runner checks (figures.ts). Nothing is timed.
 */
import { describe, expect, it } from 'vitest';
import { REGISTRY_FIGURES, REPOSITORY_FIGURES, missingFigures } from './figures.js';
import { runRepositoryBench } from './repository-bench.js';
import { pgTestUrl } from '../support/pg-url.js';

describe('bench figures', () => {
  it('the repository section reports every figure', async () => {
    const section = await runRepositoryBench({ chains: 20, chainLength: 10 });
    expect(missingFigures(section, REPOSITORY_FIGURES)).toEqual([]);
    expect(missingFigures({}, REPOSITORY_FIGURES)).toEqual([...REPOSITORY_FIGURES]);
  }, 120_000);

  it.runIf(pgTestUrl() !== undefined)('the registry (PostgreSQL) section reports every figure', async () => {
    const { runRegistryBench } = await import('./registry-bench.js');
    const section = await runRegistryBench({ chains: 20, chainLength: 10, collectors: 2, collectorChains: 5 });
    expect(missingFigures(section, REGISTRY_FIGURES)).toEqual([]);
    expect((section['concurrent'] as { datasetsInserted: number }).datasetsInserted).toBe(2 * 5 * 10 * 4);
  }, 120_000);
});
