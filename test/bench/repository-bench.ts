/**
 * Repository benchmark: collect-and-transfer of 100,000 quanta × 4 outputs (3 inputs each)
 * into a fresh on-disk registry, then a re-run and a dry run of 10,000 of them (everything
 * already present), lineage queries over the result, and the same import with daf_butler
 * QuantumProvenanceData documents instead of native ones. Returns plain numbers; printing
 * is the runner's job.
 *
 * The workload: 1,000 chains of 100 quanta. Quantum k of a chain reads outputs a and b of
 * quantum k-1 (the first reads two raw inputs) plus a shared calibration it leaves unused,
 * and writes four datasets (types a, b, c, d) with one file record each. Provenance
 * documents are native documents shaped like the sidecar's (about 5 KB of JSON each, so
 * ~0.5 GB of documents are stored), given as their JSON text, as the CLI and the server
 * (documents by path) give them. Building the workload (and the texts) is not timed.
 *
 * `collect.seconds` is the call itself (the commit included); `phases` splits it (at this
 * size the rows are written by collect-and-transfer's writer thread, so the `writer.*`
 * phases overlap the caller's). The WAL checkpoint that collect-and-transfer leaves to a
 * timer after a bulk import is timed on its own (`checkpointSeconds`). `calibrationMs` times a fixed JSON workload, to compare runs on
 * machines (or moments) of different speed.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeDatasetType, type DatasetType } from '../../src/model/dataset-type.js';
import { datasetIdHex } from '../../src/model/dataset-id.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';
import type { Quantum } from '../../src/model/quantum.js';
import { NULL_STRING, STORED_FILE_INFO_CLASS, STORED_FILE_INFO_TABLE } from '../../src/model/datastore-records.js';
import type { NativeProvenance } from '../../protocol/provenance.js';
import { SqliteRegistry } from '../../src/repository/sqlite/registry.js';
import { collectAndTransfer, type CollectItem, type CollectReport } from '../../src/repository/collect-and-transfer.js';
import { toDafButler } from '../../src/repository/export-formats.js';
import { ceilingRows, sqliteCeiling } from './collect-ceiling.js';

const CHAINS = 1000;
const CHAIN_LENGTH = 100;
const RUN = 'bench/run';
const DATASTORE = 'FileDatastore@<butlerRoot>/datastore';
const DIMS = ['detector', 'instrument', 'visit'];
const SC = 'StructuredDataDict';
const T0 = Date.parse('2025-01-01T00:00:00Z');
const TARGET_SECONDS = 15;

type WireRef = NativeProvenance['inputs'][number]['ref'];

function makeType(name: string, dims = DIMS): DatasetType {
  return makeDatasetType({ name, storageClass: SC, dimensions: dims });
}

/** Random (v4) ids: the same spread over the key space as real ids, much cheaper to make than uuid5. */
function makeRef(dt: DatasetType, dataId: Record<string, string | number>, run = RUN): DatasetRef {
  return Object.freeze({ id: randomUUID(), datasetType: dt, dataId: Object.freeze(dataId), run });
}

function wire(ref: DatasetRef): WireRef {
  return { id: ref.id, datasetType: ref.datasetType.name, storageClass: SC, dimensions: [...ref.datasetType.dimensions], dataId: { ...ref.dataId }, run: ref.run };
}

const iso = (ms: number): string => new Date(T0 + ms).toISOString();
const hex64 = (id: string): string => datasetIdHex(id).repeat(2);

export interface Workload {
  items: CollectItem[];
  /** A raw input at the start of chain 0, and the outputs at its end. */
  firstRaw: string;
  lastOutputs: string[];
}

/**
 * A document's JSON text as a caller reads it from its file (or receives it in a request): one flat
 * string. JSON.stringify's own result is a rope of the parts it was built in, which the collect would
 * have to flatten (copy) before sending it to a parser thread: 540 MB on the caller's thread for the
 * bench's 100,000 documents, a cost a text read from a file does not have.
 */
export function fileText(doc: unknown): string {
  return Buffer.from(JSON.stringify(doc)).toString();
}

/** Build the workload: `chains × length` items (not timed), their outputs in `run`. */
export function buildWorkload(chains = CHAINS, length = CHAIN_LENGTH, run = RUN): Workload {
  const types = { a: makeType('a'), b: makeType('b'), c: makeType('c'), d: makeType('d'), raw: makeType('raw'), bias: makeType('bias', ['detector', 'instrument']) };
  const typeMap = new Map(Object.values(types).map((t) => [t.name, t]));
  const items: CollectItem[] = [];
  const wires = new Map<DatasetRef, WireRef>();
  const w = (r: DatasetRef): WireRef => {
    let x = wires.get(r);
    if (!x) wires.set(r, (x = wire(r)));
    return x;
  };
  const biases = Array.from({ length: 10 }, (_, det) => makeRef(types.bias, { detector: det, instrument: 'Bench' }));
  let firstRaw = '';
  const lastOutputs: string[] = [];
  let n = 0;
  for (let c = 0; c < chains; c++) {
    const bias = biases[c % 10]!;
    let prev: DatasetRef[] = [makeRef(types.raw, { detector: c, instrument: 'Bench', visit: -1 }), makeRef(types.raw, { detector: c, instrument: 'Bench', visit: -2 })];
    if (c === 0) firstRaw = prev[0]!.id;
    for (let k = 0; k < length; k++, n++) {
      const dataId = { detector: c, instrument: 'Bench', visit: k };
      const outputs = [types.a, types.b, types.c, types.d].map((t) => makeRef(t, { ...dataId }, run));
      const inputs = [prev[0]!, prev[1]!, bias];
      const quantum: Quantum = { taskName: 'bench.Task', dataId: Object.freeze({ ...dataId }), initInputs: [], inputs, outputs, datasetTypes: typeMap, datastoreRecords: {} };
      const start = n * 10;
      const perId: Record<string, Record<string, Array<Record<string, string | number | null>>>> = {};
      for (const o of outputs) {
        perId[datasetIdHex(o.id)] = {
          [STORED_FILE_INFO_TABLE]: [
            {
              formatter: 'lsst.daf.butler.formatters.json.JsonFormatter',
              path: `${run}/${o.datasetType.name}/${c}/${o.datasetType.name}_Bench_${c}_${k}.json`,
              storage_class: SC,
              component: NULL_STRING,
              checksum: hex64(o.id),
              file_size: 1000 + k,
            },
          ],
        };
      }
      const ids = (rs: DatasetRef[]) => rs.map((r) => r.id).sort();
      const provenance: NativeProvenance = {
        schemaVersion: '1.0',
        quantum: { id: randomUUID(), taskName: 'bench.Task', dataId: { ...dataId } },
        execution: {
          sessionId: `s${n}`,
          host: `node${c % 50}`,
          pid: 1000 + (n % 97),
          sidecar: { name: 'quantum-butler', version: '0.1.0' },
          node: 'v20.20.2',
          startedAt: iso(start),
          endedAt: iso(start + 9),
        },
        predictedInputs: ids(inputs),
        availableInputs: ids(inputs),
        actualInputs: ids(inputs.slice(0, 2)),
        predictedOutputs: ids(outputs),
        actualOutputs: ids(outputs),
        inputs: inputs.map((r, i) => ({
          ref: w(r),
          initInput: false,
          state: i < 2 ? 'loaded' : 'unused',
          checked: 'available',
          loads: i < 2 ? 1 : 0,
          unusedReason: i < 2 ? null : 'not needed',
          firstUsedAt: i < 2 ? iso(start + 1) : null,
        })),
        outputs: outputs.map((r) => ({ ref: w(r), written: true, size: 1000 + k, sha256: hex64(r.id), writtenAt: iso(start + 8), pruned: false, annotation: undefined })),
        datastoreRecords: { [DATASTORE]: { dataset_ids: ids(outputs), records: { [STORED_FILE_INFO_CLASS]: perId } } },
        metrics: { nGet: 2, nPut: 4, nGetFailed: 0, timeInGet: 0.001, timeInPut: 0.002, bytesRead: 2000, bytesWritten: 4000 + 4 * k },
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

async function timeAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, (performance.now() - t0) / 1000];
}

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** A fixed CPU + allocation workload (ms), to compare runs on machines of different speed. */
function calibrate(): number {
  const doc = { list: Array.from({ length: 2000 }, (_, i) => ({ id: `id-${i}`, v: i, s: 'abcdefghij'.repeat(3) })) };
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const [, s] = timeSync(() => {
      let n = 0;
      for (let i = 0; i < 100; i++) n += JSON.stringify(doc).length;
      return n;
    });
    best = Math.min(best, s * 1000);
  }
  return round(best, 1);
}

function collectResult(report: CollectReport, seconds: number, quanta: number): Record<string, unknown> {
  return {
    seconds: round(seconds),
    writer: report.writer,
    targetSeconds: TARGET_SECONDS,
    withinTarget: seconds < TARGET_SECONDS,
    datasetsInserted: report.datasets.inserted,
    datasetsPerSecond: Math.round(report.datasets.inserted / seconds),
    quantaPerSecond: Math.round(quanta / seconds),
    recordsInserted: report.records.inserted,
    phases: report.timings,
  };
}

export async function runRepositoryBench(sizes: { chains: number; chainLength: number } = { chains: CHAINS, chainLength: CHAIN_LENGTH }): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'qb-repo-bench-'));
  try {
    const calibrationMs = calibrate();
    const [workload, buildSeconds] = timeSync(() => buildWorkload(sizes.chains, sizes.chainLength));
    const { items, firstRaw, lastOutputs } = workload;
    // Collected as the CLI and the server (documents by path) give them: each document's JSON text, as read from its file.
    const asText = (batch: readonly CollectItem[]): CollectItem[] => batch.map((it) => ({ quantum: it.quantum, provenanceText: fileText(it.provenance) }));
    const [texts, textSeconds] = timeSync(() => asText(items));
    const out: Record<string, unknown> = {
      calibrationMs,
      workload: {
        quanta: items.length,
        outputsPerQuantum: 4,
        inputsPerQuantum: 3,
        chains: sizes.chains,
        chainLength: sizes.chainLength,
        documents: 'JSON text',
        buildSeconds: round(buildSeconds + textSeconds),
      },
    };

    const path = join(dir, 'registry.sqlite3');
    const registry = await SqliteRegistry.open(path);
    try {
      let progressCalls = 0;
      const [report, seconds] = await timeAsync(() => collectAndTransfer(registry, texts, { progress: () => progressCalls++ }));
      if (!report.committed || report.conflicts.length > 0) throw new Error(`bench collect failed: ${JSON.stringify(report.conflicts.slice(0, 3))}`);
      const walBytes = statSync(`${path}-wal`).size;
      const [, checkpointSeconds] = timeSync(() => registry.checkpoint('TRUNCATE'));
      out['collect'] = {
        ...collectResult(report, seconds, items.length),
        progressCalls,
        checkpointSeconds: round(checkpointSeconds),
        databaseMB: round(statSync(path).size / 1e6, 0),
        walMB: round(walBytes / 1e6, 0),
      };

      const sample = texts.slice(0, 10_000);
      const [rerun, rerunSeconds] = await timeAsync(() => collectAndTransfer(registry, sample));
      const [dry, drySeconds] = await timeAsync(() => collectAndTransfer(registry, sample, { dryRun: true }));
      out['rerun10k'] = { seconds: round(rerunSeconds), alreadyPresent: rerun.datasets.alreadyPresent, inserted: rerun.datasets.inserted, committed: rerun.committed };
      out['dryRun10k'] = { seconds: round(drySeconds), alreadyPresent: dry.datasets.alreadyPresent };
      out['tableCounts'] = await registry.tableCounts();

      const target = lastOutputs[0]!;
      await registry.lineage(target, 'up'); // warm-up
      const [up, upSeconds] = await timeAsync(() => registry.lineage(target, 'up'));
      const [down, downSeconds] = await timeAsync(() => registry.lineage(firstRaw, 'down'));
      const [shallow, shallowSeconds] = await timeAsync(() => registry.lineage(target, 'up', 3));
      const reps = 1000;
      const [, manySeconds] = await timeAsync(async () => {
        for (let i = 0; i < reps; i++) await registry.lineage(items[(i * 97) % items.length]!.quantum.outputs[0]!.id, 'up', 2);
      });
      out['lineage'] = {
        upFullChainMs: round(upSeconds * 1000),
        upFullChain: { quanta: up.quanta.length, datasets: up.datasets.length, edges: up.edges.length },
        downFullChainMs: round(downSeconds * 1000),
        downFullChain: { quanta: down.quanta.length, datasets: down.datasets.length },
        upDepth3Ms: round(shallowSeconds * 1000),
        upDepth3Quanta: shallow.quanta.length,
        upDepth2MeanMs: round((manySeconds * 1000) / reps),
      };
    } finally {
      await registry.close();
    }

    // The ceiling: the same rows through raw prepared statements (rows built beforehand, not timed).
    const ceilingSeconds = sqliteCeiling(ceilingRows(items), dir);
    const collect = out['collect'] as { seconds: number };
    out['collect'] = { ...collect, ceilingSeconds: round(ceilingSeconds), ratioToCeiling: round(collect.seconds / ceilingSeconds, 2) };

    // The same import with daf_butler QuantumProvenanceData documents (ids and records only,
    // about a quarter of the size; quantum ids derived from the predicted outputs).
    const daf: CollectItem[] = asText(items.map((it) => ({ quantum: it.quantum, provenance: toDafButler(it.provenance as NativeProvenance) })));
    const path2 = join(dir, 'registry-daf.sqlite3');
    const registry2 = await SqliteRegistry.open(path2);
    try {
      const [report2, seconds2] = await timeAsync(() => collectAndTransfer(registry2, daf));
      if (!report2.committed || report2.conflicts.length > 0) throw new Error('bench collect (daf_butler documents) failed');
      const [, checkpointSeconds2] = timeSync(() => registry2.checkpoint('TRUNCATE'));
      out['collectDafButler'] = { ...collectResult(report2, seconds2, daf.length), checkpointSeconds: round(checkpointSeconds2), databaseMB: round(statSync(path2).size / 1e6, 0) };
    } finally {
      await registry2.close();
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
