/**
 * `quantum-butler demo`: spawns the sidecar as a host would, runs two quanta where
 * the second reads the first one's outputs, streams provenance events to the
 * terminal as they arrive, and writes each quantum's provenance documents.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { QuantumButlerClient } from './client/client.js';
import type { ProvenanceEvent } from '../protocol/provenance.js';
import { makeDatasetId } from './model/dataset-id.js';

const RUN = 'demo/run1';
const DIMS = ['instrument', 'detector'];
const DETECTORS = [1, 2, 3, 4];

function ref(datasetType: string, storageClass: string, detector: number) {
  const dataId = { instrument: 'DemoCam', detector };
  return {
    id: makeDatasetId('DATAID_TYPE_RUN', datasetType, dataId, DIMS, RUN),
    datasetType: { name: datasetType, storageClass, dimensions: DIMS, isCalibration: false },
    dataId: { dataId, records: null },
    run: RUN,
    component: null,
  };
}

/** daf_butler's SerializedQuantum shape, as `quantum.to_simple()` would give it. */
function quantum(taskName: string, inputs: ReturnType<typeof ref>[], outputs: ReturnType<typeof ref>[]) {
  const group = (refs: ReturnType<typeof ref>[]) => {
    const out: Record<string, unknown[]> = {};
    for (const r of refs) (out[r.datasetType.name] ??= []).push([{ ...r, datasetType: null }, []]);
    return out;
  };
  return {
    taskName,
    dataId: null,
    datasetTypeMapping: Object.fromEntries([...inputs, ...outputs].map((r) => [r.datasetType.name, r.datasetType])),
    initInputs: {},
    inputs: group(inputs),
    outputs: group(outputs),
    dimensionRecords: null,
    datastoreRecords: null,
  };
}

const color = process.stderr.isTTY ? (code: number, s: string) => `\x1b[${code}m${s}\x1b[0m` : (_: number, s: string) => s;

function showEvent(e: ProvenanceEvent, names: Map<string, string>): void {
  const what = names.get(e.datasetId) ?? e.datasetId.slice(0, 8);
  const extra = e.sha256 ? ` ${e.size} B sha256:${e.sha256.slice(0, 12)}` : e.reason ? ` (${e.reason})` : '';
  process.stderr.write(`  ${color(2, `#${String(e.seq).padStart(2)}`)} ${color(36, e.event.padEnd(22))} ${what}${extra}\n`);
}

export async function runDemo(args: string[]): Promise<number> {
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out') out = args[++i];
    else if (args[i]?.startsWith('--out=')) out = args[i]!.slice(6);
    else {
      process.stderr.write(`demo: unknown argument ${args[i]}\n`);
      return 2;
    }
  }
  const outDir = resolve(out ?? mkdtempSync(join(tmpdir(), 'quantum-butler-demo-')));
  mkdirSync(outDir, { recursive: true });

  const raw = DETECTORS.map((d) => ref('raw', 'StructuredDataDict', d));
  const calexp = DETECTORS.map((d) => ref('calexp', 'Table', d));
  const summary = DETECTORS.map((d) => ref('summary', 'StructuredDataDict', d));
  const names = new Map<string, string>();
  for (const r of [...raw, ...calexp, ...summary]) names.set(r.id, `${r.datasetType.name}@detector=${r.dataId.dataId.detector}`);

  process.stderr.write(`quantum-butler demo: spawning the sidecar\n`);
  const client = await QuantumButlerClient.spawn({ clientName: 'quantum-butler-demo' });
  client.onProvenance((e) => showEvent(e, names));
  const datastore = { kind: 'memory' as const, name: 'demo' };
  try {
    process.stderr.write(`\n${color(1, 'ingest')}: storing ${raw.length} raw inputs\n`);
    const ingest = await client.openSession({ predicted: { inputs: [], outputs: raw, taskName: 'demo.Ingest' }, datastore });
    for (const r of raw) await ingest.put(r, { detector: r.dataId.dataId.detector, counts: [1, 2, 3].map((x) => x * r.dataId.dataId.detector) });
    await ingest.close();

    process.stderr.write(`\n${color(1, 'quantum 1')}: demo.Calibrate reads raw, writes calexp tables\n`);
    const q1 = await client.openSession({ quantum: quantum('demo.Calibrate', raw, calexp), datastore });
    await q1.storedMany(raw);
    for (let i = 0; i < raw.length; i++) {
      const value = (await q1.get(raw[i]!)) as { counts: number[] };
      const token = client.progressToken((v) => {
        const p = v as { kind: string; percentage?: number };
        if (p.kind === 'end') process.stderr.write(`  ${color(2, 'progress')} put ${names.get(calexp[i]!.id)} done\n`);
      });
      await q1.put(calexp[i]!, { columns: { pixel: [0, 1, 2], flux: value.counts.map((c) => c * 1.5) } }, { workDoneToken: token });
    }
    const p1 = await q1.close();

    process.stderr.write(`\n${color(1, 'quantum 2')}: demo.Summarize reads calexp (one marked unused), writes summaries\n`);
    const q2 = await client.openSession({ quantum: quantum('demo.Summarize', calexp, summary), datastore });
    await q2.storedMany(calexp);
    for (let i = 0; i < calexp.length; i++) {
      if (i === 3) {
        await q2.markInputUnused(calexp[i]!, 'detector 4 rejected by quality cut');
        continue;
      }
      const rows = (await q2.get(calexp[i]!, { parameters: { columns: 'flux' } })) as { columns: { flux: number[] } };
      await q2.put(summary[i]!, { detector: i + 1, meanFlux: rows.columns.flux.reduce((a, b) => a + b, 0) / rows.columns.flux.length });
    }
    const daf2 = await q2.extractProvenance('daf_butler');
    const p2 = await q2.close();

    writeFileSync(join(outDir, 'quantum1.provenance.json'), JSON.stringify(p1.provenance, null, 2));
    writeFileSync(join(outDir, 'quantum2.provenance.json'), JSON.stringify(p2.provenance, null, 2));
    writeFileSync(join(outDir, 'quantum2.daf_butler.json'), JSON.stringify(daf2, null, 2));
    const prov = p2.provenance!;
    process.stderr.write(
      `\nquantum 2: ${prov.predictedInputs.length} predicted inputs, ${prov.availableInputs.length} available, ` +
        `${prov.actualInputs.length} used; ${prov.actualOutputs.length}/${prov.predictedOutputs.length} outputs written\n`,
    );
    process.stderr.write(`provenance written to ${outDir}\n`);
    return 0;
  } finally {
    await client.close();
  }
}
