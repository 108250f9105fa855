/**
 * Repository benchmark: collect-and-transfer of 100,000 quanta × 4 outputs (3 inputs each)
 * into a fresh on-disk registry, a re-run (everything already present), a dry run, and
 * lineage queries over the result. Returns plain numbers; printing is the runner's job.
 *
 * The workload: 1,000 chains of 100 quanta. Quantum k of a chain reads outputs a and b of
 * quantum k-1 (the first reads two raw inputs) plus a shared calibration, and writes four
 * datasets (types a, b, c, d). Provenance documents are native documents shaped like the
 * sidecar's (input and output detail, one file record per output). Building the input is
 * not timed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeDatasetType, type DatasetType } from '../../src/model/dataset-type.js';
import { makeDatasetId, datasetIdHex } from '../../src/model/dataset-id.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';
import type { Quantum } from '../../src/model/quantum.js';
import { NULL_STRING, STORED_FILE_INFO_CLASS, STORED_FILE_INFO_TABLE } from '../../src/model/datastore-records.js';
import type { NativeProvenance } from '../../protocol/provenance.js';
import { Registry } from '../../src/repository/registry.js';
import { collectAndTransfer, type CollectItem } from '../../src/repository/collect-and-transfer.js';
import { lineage } from '../../src/repository/lineage.js';

const CHAINS = 1000;
const CHAIN_LENGTH = 100;
const RUN = 'bench/run';
const DATASTORE = 'FileDatastore@<butlerRoot>/datastore';
const DIMS = ['detector', 'instrument', 'visit'];
const SC = 'StructuredDataDict';
const T0 = Date.parse('2025-01-01T00:00:00Z');

type WireRef = NativeProvenance['inputs'][number]['ref'];

function makeType(name: string, dims = DIMS): DatasetType {
  return makeDatasetType({ name, storageClass: SC, dimensions: dims });
}

function makeRef(dt: DatasetType, dataId: Record<string, string | number>): DatasetRef {
  const frozen = Object.freeze(dataId);
  return Object.freeze({ id: makeDatasetId('DATAID_TYPE_RUN', dt.name, frozen, dt.dimensions, RUN), datasetType: dt, dataId: frozen, run: RUN });
}

function wire(ref: DatasetRef): WireRef {
  return { id: ref.id, datasetType: ref.datasetType.name, storageClass: SC, dimensions: [...ref.datasetType.dimensions], dataId: { ...ref.dataId }, run: ref.run };
}

const iso = (ms: number): string => new Date(T0 + ms).toISOString();
const hex64 = (id: string): string => datasetIdHex(id).repeat(2);

/** Build the workload: `chains × length` items (untimed). */
export function buildWorkload(chains = CHAINS, length = CHAIN_LENGTH): { items: CollectItem[]; firstRaw: string; lastOutputs: string[] } {
  const types = { a: makeType('a'), b: makeType('b'), c: makeType('c'), d: makeType('d'), raw: makeType('raw'), bias: makeType('bias', ['detector', 'instrument']) };
  const typeMap = new Map(Object.values(types).map((t) => [t.name, t]));
  const items: CollectItem[] = [];
  const wires = new WeakMap<DatasetRef, WireRef>();
  const w = (r: DatasetRef): WireRef => {
    let x = wires.get(r);
    if (!x) wires.set(r, (x = wire(r)));
    return x;
  };
  let firstRaw = '';
  const lastOutputs: string[] = [];
  let n = 0;
  for (let c = 0; c < chains; c++) {
    const bias = makeRef(types.bias, { detector: c % 10, instrument: 'Bench' });
    let prev: DatasetRef[] = [makeRef(types.raw, { detector: c, instrument: 'Bench', visit: -1 }), makeRef(types.raw, { detector: c, instrument: 'Bench', visit: -2 })];
    if (c === 0) firstRaw = prev[0]!.id;
    for (let k = 0; k < length; k++, n++) {
      const dataId = { detector: c, instrument: 'Bench', visit: k };
      const outputs = [types.a, types.b, types.c, types.d].map((t) => makeRef(t, dataId));
      const inputs = [prev[0]!, prev[1]!, bias];
      const quantumId = makeDatasetId('DATAID_TYPE', 'bench.quantum', dataId, DIMS, RUN);
      const quantum: Quantum = { taskName: 'bench.Task', dataId: Object.freeze(dataId), initInputs: [], inputs, outputs, datasetTypes: typeMap, datastoreRecords: {} };
      const start = n * 10;
      const perId: Record<string, Record<string, Array<Record<string, string | number | null>>>> = {};
      for (const o of outputs) {
        perId[datasetIdHex(o.id)] = {
          [STORED_FILE_INFO_TABLE]: [
            { formatter: 'json', path: `${RUN}/${o.datasetType.name}/${c}/${k}.json`, storage_class: SC, component: NULL_STRING, checksum: hex64(o.id), file_size: 1000 + k },
          ],
        };
      }
      const ids = (rs: DatasetRef[]) => rs.map((r) => r.id).sort();
      const provenance: NativeProvenance = {
        schemaVersion: '1.0',
        quantum: { id: quantumId, taskName: 'bench.Task', dataId: { ...dataId } },
        execution: { sessionId: `s${n}`, host: `node${c % 50}`, pid: 1000 + (n % 97), sidecar: { name: 'quantum-butler', version: '0.1.0' }, node: 'v20', startedAt: iso(start), endedAt: iso(start + 9) },
        predictedInputs: ids(inputs),
        availableInputs: ids(inputs),
        actualInputs: ids(inputs.slice(0, 2)),
        predictedOutputs: ids(outputs),
        actualOutputs: ids(outputs),
        inputs: inputs.map((r, i) => ({ ref: w(r), initInput: false, state: i < 2 ? 'loaded' : 'unused', checked: 'available', loads: i < 2 ? 1 : 0, unusedReason: i < 2 ? null : 'not needed', firstUsedAt: i < 2 ? iso(start + 1) : null })),
        outputs: outputs.map((r) => ({ ref: w(r), written: true, size: 1000 + k, sha256: hex64(r.id), writtenAt: iso(start + 8), pruned: false, annotation: undefined })),
        datastoreRecords: { [DATASTORE]: { dataset_ids: ids(outputs), records: { [STORED_FILE_INFO_CLASS]: perId } } },
        metrics: { nGet: 2, nPut: 4, timeInGet: 0.001, timeInPut: 0.002 },
        diagnostics: [],
      };
      items.push({ quantum, provenance });
      prev = outputs;
    }
    if (c === 0) lastOutputs.push(...prev.map((r) => r.id));
  }
  return { items, firstRaw, lastOutputs };
}

function timeSync<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const v = fn();
  return [v, (performance.now() - t0) / 1000];
}

export async function runRepositoryBench(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'qb-repo-bench-'));
  try {
    const [workload, buildSeconds] = timeSync(() => buildWorkload());
    const { items, firstRaw, lastOutputs } = workload;
    const registry = Registry.open(join(dir, 'registry.sqlite3'));
    try {
      let progressCalls = 0;
      const [report, seconds] = timeSync(() => collectAndTransfer(registry, items, { progress: () => progressCalls++ }));
      if (!report.committed || report.conflicts.length > 0) throw new Error(`bench collect failed: ${JSON.stringify(report.conflicts.slice(0, 3))}`);
      const datasets = report.datasets.inserted;
      const [rerun, rerunSeconds] = timeSync(() => collectAndTransfer(registry, items.slice(0, 10_000)));
      const [dry, drySeconds] = timeSync(() => collectAndTransfer(registry, items.slice(0, 10_000), { dryRun: true }));
      const counts = registry.tableCounts();

      const target = lastOutputs[0]!;
      lineage(registry, target, 'up'); // warm-up
      const [up, upSeconds] = timeSync(() => lineage(registry, target, 'up'));
      const [down, downSeconds] = timeSync(() => lineage(registry, firstRaw, 'down'));
      const [shallow, shallowSeconds] = timeSync(() => lineage(registry, target, 'up', 3));
      const reps = 1000;
      const [, manySeconds] = timeSync(() => {
        for (let i = 0; i < reps; i++) lineage(registry, items[i * 97]!.quantum.outputs[0]!.id, 'up', 2);
      });
      return {
        workload: { quanta: items.length, outputsPerQuantum: 4, inputsPerQuantum: 3, chains: CHAINS, chainLength: CHAIN_LENGTH, buildSeconds: round(buildSeconds) },
        collect: {
          seconds: round(seconds),
          targetSeconds: 15,
          withinTarget: seconds < 15,
          datasetsInserted: datasets,
          datasetsPerSecond: Math.round(datasets / seconds),
          quantaPerSecond: Math.round(items.length / seconds),
          recordsInserted: report.records.inserted,
          progressCalls,
        },
        rerun10k: { seconds: round(rerunSeconds), alreadyPresent: rerun.datasets.alreadyPresent, inserted: rerun.datasets.inserted },
        dryRun10k: { seconds: round(drySeconds), alreadyPresent: dry.datasets.alreadyPresent },
        tableCounts: counts,
        lineage: {
          upFullChainMs: round(upSeconds * 1000),
          upFullChain: { quanta: up.quanta.length, datasets: up.datasets.length, edges: up.edges.length },
          downFullChainMs: round(downSeconds * 1000),
          downFullChain: { quanta: down.quanta.length, datasets: down.datasets.length },
          upDepth3Ms: round(shallowSeconds * 1000),
          upDepth3Quanta: shallow.quanta.length,
          upDepth2MeanMs: round((manySeconds * 1000) / reps),
        },
      };
    } finally {
      registry.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
