/**
 * The counts of collect-and-transfer's report where the main collect tests leave them
 * unchecked: `conflictsOmitted` counts the input checks' conflicts (found last) beyond
 * `maxConflicts`. Over the daf_butler QBB fixture (quantum 1: inputs → output; quantum 2:
 * output → output2), on every registry backend.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/repository/registry.js';
import { collectAndTransfer } from '../../src/repository/collect-and-transfer.js';
import { parseQuantum } from '../../src/model/quantum.js';
import * as fx from '../e2e/fixture.js';
import { executeFixture, type ExecutedFixture } from '../support/executed-fixture.js';
import { testBackends } from '../support/registries.js';

const DS_NAME = 'InMemoryDatastore@report-counts';
const Q1_ID = '00000000-0000-4000-8000-0000000000f1';
const Q2_ID = '00000000-0000-4000-8000-0000000000f2';

let ex: ExecutedFixture;
beforeAll(async () => {
  ex = await executeFixture(DS_NAME, Q1_ID, Q2_ID);
});

describe.each(testBackends())('collect-and-transfer report counts ($kind)', (backend) => {
  let reg: Registry;
  beforeEach(async () => {
    reg = await backend.fresh();
  });
  afterEach(async () => {
    await backend.dispose(reg);
  });

  it('conflictsOmitted counts the inputRefMismatch conflicts beyond maxConflicts', async () => {
    // Quantum 2 reads quantum 1's outputs as if they were in another run: four input conflicts.
    const elsewhere = JSON.parse(JSON.stringify(fx.q2())) as ReturnType<typeof fx.q2>;
    for (const pair of elsewhere.inputs['output']!) (pair[0] as { run: string }).run = 'elsewhere';
    const batch = [
      { quantum: ex.quantum1, provenance: ex.native1 },
      { quantum: parseQuantum(elsewhere), provenance: ex.native2 },
    ];
    const all = await collectAndTransfer(reg, batch);
    expect(all.conflicts.map((c) => c.reason)).toEqual(['inputRefMismatch', 'inputRefMismatch', 'inputRefMismatch', 'inputRefMismatch']);
    expect(all.conflictsOmitted).toBe(0);
    const some = await collectAndTransfer(reg, batch, { maxConflicts: 3 });
    expect(some).toMatchObject({ committed: false, conflictsOmitted: 1 });
    expect(some.conflicts).toEqual(all.conflicts.slice(0, 3));
    expect(await reg.tableCounts()).toMatchObject({ datasets: 0, quanta: 0 });
  });
});
