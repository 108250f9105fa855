/**
 * collect-and-transfer's input checks run in slices between the dataset batches while the
 * writer is behind (instead of waiting for it), through `untilTurn`, and after the last
 * batch when it keeps up; what they find is unchanged. The reading side is driven here with a recording channel and planning reads
 * that answer with promises, as PostgreSQL's do.
 */
import type { NativeProvenance } from '../../protocol/provenance.js';
import { describe, expect, it } from 'vitest';
import { CollectReader, Planner } from '../../src/repository/collect-plan.js';
import { ConflictList } from '../../src/repository/collect-report.js';
import { deriveQuantumId } from '../../src/repository/collect-and-transfer.js';
import { runAsync, untilTurn, type Steps } from '../../src/repository/steps.js';
import { DATASET_STRIDE, INPUT_STRIDE, OUTPUT_STRIDE, QUANTUM_STRIDE, RECORD_STRIDE, type BatchChannel, type PlanningReads } from '../../src/repository/bulk-batches.js';
import type { DatasetKeyRow } from '../../src/repository/registry-rows.js';
import type { CollectItem } from '../../src/repository/collect-plan.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { buildWorkload } from '../bench/repository-bench.js';

describe('untilTurn', () => {
  it('advances a generator to its next turn, passing its promises (and their failures) through the driver', async () => {
    const seen: unknown[] = [];
    function* inner(): Steps<void> {
      seen.push(yield Promise.resolve('a'));
      yield 'turn';
      try {
        yield Promise.reject(new Error('no'));
      } catch (err) {
        seen.push((err as Error).message);
      }
      yield 'turn';
      seen.push('end');
    }
    function* outer(): Steps<boolean[]> {
      const gen = inner();
      const done: boolean[] = [];
      for (let i = 0; i < 3; i++) done.push(yield* untilTurn(gen));
      return done;
    }
    expect(await runAsync(outer())).toEqual([false, false, true]);
    expect(seen).toEqual(['a', 'no', 'end']);
  });
});

describe('collect-and-transfer reading side', () => {
  /** Run the reader over `items`; log the dataset batches and the planning reads of input ids. */
  async function read(items: CollectItem[], registered: (id: string) => DatasetKeyRow | undefined, writer: 'behind' | 'keepsUp' = 'behind') {
    let applied = 0;
    const log: string[] = [];
    const planning: PlanningReads = {
      hasRun: async () => true,
      datasetType: async () => undefined,
      datasetKeys: async (ids) => {
        log.push('lookup');
        const out = new Map<string, DatasetKeyRow>();
        for (const id of ids) {
          const row = registered(id);
          if (row) out.set(id, row);
        }
        return out;
      },
    };
    const channel: BatchChannel = {
      send: async (b) => {
        if (b.kind === 'datasets') log.push('datasets');
        // A writer that keeps up has applied every row it was sent; one that is behind, none.
        if (b.kind === 'quanta') applied += b.quanta.length / QUANTUM_STRIDE + b.inputs.length / INPUT_STRIDE + b.outputs.length / OUTPUT_STRIDE;
        if (b.kind === 'datasets') applied += b.datasets.length / DATASET_STRIDE + b.records.length / RECORD_STRIDE;
      },
      rowsApplied: () => (writer === 'keepsUp' ? applied : 0),
      tick: () => {},
    };
    const ctx = {
      items,
      early: new ConflictList(100),
      late: new ConflictList(100),
      progressAt: () => {},
      lap: () => {},
      checkCancelled: undefined,
      deriveQuantumId,
      ownDatastore: undefined,
      storageClasses: StorageClassRegistry.withBuiltins(),
    };
    const ok = await runAsync(new CollectReader(new Planner(planning), channel, ctx).run());
    return { ok, log, late: ctx.late };
  }

  it('checks the inputs between dataset batches while the writer is behind, not after the last one', async () => {
    // 10 chains: 4,000 outputs in several batches; the raw and calibration inputs are looked up.
    const { ok, log } = await read(buildWorkload(10, 100).items, () => undefined);
    expect(ok).toBe(true);
    const batches = log.filter((e) => e === 'datasets').length;
    expect(batches).toBeGreaterThan(2);
    const firstLookup = log.indexOf('lookup');
    expect(firstLookup).toBeGreaterThan(log.indexOf('datasets'));
    expect(firstLookup).toBeLessThan(log.lastIndexOf('datasets'));
  });

  it('hands a writer that keeps up its batches without checks in between, and checks after the last one', async () => {
    const { ok, log } = await read(buildWorkload(10, 100).items, () => undefined, 'keepsUp');
    expect(ok).toBe(true);
    expect(log.filter((e) => e === 'datasets').length).toBeGreaterThan(2);
    expect(log.indexOf('lookup')).toBeGreaterThan(log.lastIndexOf('datasets'));
  });

  it('still reports an input that the registry knows differently', async () => {
    const { items } = buildWorkload(3, 100);
    const raw = items[0]!.quantum.inputs[0]!;
    const { ok, late } = await read(items, (id) => (id === raw.id ? { dataset_type: raw.datasetType.name, run: 'elsewhere', data_id_key: 'detector=0,instrument=Bench,visit=-1' } : undefined));
    expect(ok).toBe(false);
    expect(late.count).toBe(1);
    expect(late.listed[0]).toMatchObject({ datasetId: raw.id, reason: 'inputRefMismatch', details: { registered: { run: 'elsewhere' }, quantum: { run: raw.run } } });
  });
  it('names, for each input the registry knows differently, the quantum that reads it', async () => {
    const { items } = buildWorkload(3, 100);
    // Each chain's first quantum reads its own raw input (no other quantum does).
    const readers = new Map(items.filter((_, i) => i % 100 === 0).map((it) => [it.quantum.inputs[0]!.id, (it.provenance as NativeProvenance).quantum.id]));
    const { late } = await read(items, (id) => (readers.has(id) ? { dataset_type: 'raw', run: 'elsewhere', data_id_key: 'x' } : undefined));
    expect(late.count).toBe(3);
    expect(new Map(late.listed.map((c) => [c.datasetId, c.quantumId]))).toEqual(readers);
  });
});
