/**
 * `quantum-butler demo`: what a pipeline host does, end to end. In a directory it
 * names at the end, it creates a repository and seeds raw inputs, spawns the
 * sidecar as a child process, runs two quanta (the second reads the first one's
 * outputs from the shared datastore by trust mode), shows progress bars and
 * provenance events as they stream, collects and transfers the provenance into the
 * registry, prints a final output's lineage as a tree, and writes the provenance
 * documents plus a self-contained HTML report. Its narration goes to stdout, progress bars to stderr on a
 * terminal. It runs in a new directory only: a second run into the same --out stops with a
 * one-line error instead of mixing two demos' repositories.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { QuantumButlerClient } from './client/client.js';
import * as P from '../protocol/index.js';
import { renderProvenanceReport } from './report/html-report.js';
import { lineageTree } from './cli/lineage-tree.js';
import type { CommandIo } from './cli/command.js';
import type { Lineage } from './repository/lineage.js';

const DIMS = ['instrument', 'detector'];
const DETECTORS = [1, 2, 3, 4];
const RUN = 'demo/run1';
const ROWS = 200_000;

/** The demo cannot run here (one line, exit code 1). */
export class DemoFailure extends Error {}

export async function runDemo(out: string | undefined, io: CommandIo): Promise<number> {
  const colour = process.stdout.isTTY === true;
  const c = (code: number, s: string) => (colour ? `\x1b[${code}m${s}\x1b[0m` : s);
  const say = (s = '') => void io.out(`${s}\n`);
  /** A one-line progress bar driven by $/progress on a work-done token: redrawn on stderr at a terminal, one line on stdout at its end otherwise. */
  const progressBar = (client: QuantumButlerClient, label: string): string =>
    client.progressToken((v) => {
      const p = v as { kind: string; percentage?: number };
      const pct = p.kind === 'end' ? 100 : (p.percentage ?? 0);
      const filled = Math.round(pct / 5);
      const line = `  ${label.padEnd(34)} [${'#'.repeat(filled)}${' '.repeat(20 - filled)}] ${String(pct).padStart(3)}%`;
      if (io.tty) io.err(`\r${line}${p.kind === 'end' ? '\n' : ''}`);
      else if (p.kind === 'end') say(line);
    });
  const outDir = resolve(out ?? mkdtempSync(join(tmpdir(), 'quantum-butler-demo-')));
  const root = join(outDir, 'repo');
  if (existsSync(root) && readdirSync(root).length > 0) {
    throw new DemoFailure(`${outDir} already holds a demo (${root} exists); give a new --out directory or remove it`);
  }
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (err) {
    throw new DemoFailure(`cannot create the --out directory ${outDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }

  say(c(1, 'quantum-butler demo'));
  const client = await QuantumButlerClient.spawn({ clientName: 'quantum-butler-demo' });
  say(`spawned sidecar pid ${client.child.pid} (${client.initializeResult.serverInfo.name} ${client.initializeResult.serverInfo.version})`);
  const rq = <D extends P.RequestDef<any, any>>(def: D, params: P.ParamsOf<D>) => client.request(def, params);
  const names = new Map<string, string>();
  client.onProvenance((e) => {
    const extra = e.sha256 ? ` ${e.size} B sha256:${e.sha256.slice(0, 12)}` : e.reason ? ` (${e.reason})` : '';
    say(`  ${c(2, `#${String(e.seq).padStart(2)}`)} ${c(36, e.event.padEnd(22))} ${names.get(e.datasetId) ?? e.datasetId.slice(0, 8)}${extra}`);
  });
  try {
    say(`\n${c(1, 'repository')}: ${root}`);
    await rq(P.RepositoryCreate, { root });
    for (const [name, storageClass] of [['raw', 'StructuredDataDict'], ['calexp', 'Table'], ['summary', 'StructuredDataDict']] as const) {
      await rq(P.RepositoryRegisterDatasetType, { root, datasetType: { name, storageClass, dimensions: DIMS } });
    }
    const raws: P.DatasetRef[] = [];
    for (const d of DETECTORS) {
      const counts = Array.from({ length: ROWS }, (_, i) => (i * d) % 997);
      const { ref } = await rq(P.RepositoryPut, { root, datasetType: 'raw', dataId: { instrument: 'DemoCam', detector: d }, run: 'demo/raw', payload: { encoding: 'json', value: { detector: d, counts } } });
      raws.push(ref);
    }
    say(`seeded ${raws.length} raw inputs`);
    const q1 = await rq(P.RepositoryMakeQuantum, {
      root,
      taskName: 'demo.Calibrate',
      inputs: raws.map((r) => ({ id: r.id })),
      outputs: DETECTORS.map((d) => ({ datasetType: 'calexp', dataId: { instrument: 'DemoCam', detector: d }, run: RUN })),
    });
    const q2 = await rq(P.RepositoryMakeQuantum, {
      root,
      taskName: 'demo.Summarize',
      inputs: q1.outputs,
      outputs: DETECTORS.map((d) => ({ datasetType: 'summary', dataId: { instrument: 'DemoCam', detector: d }, run: RUN })),
    });
    for (const r of [...raws, ...q1.outputs, ...q2.outputs]) names.set(r.id, `${r.datasetType}@detector=${r.dataId.detector}`);

    say(`\n${c(1, 'quantum 1')}: demo.Calibrate reads raw, writes calexp tables`);
    const s1 = await client.openSession({ quantum: q1.quantum, repository: { root, recordsFile: join(outDir, 'quantum1.records.sqlite3') } });
    await s1.storedMany(raws.map((r) => r.id));
    for (const [i, raw] of raws.entries()) {
      const value = (await s1.get(raw.id)) as { counts: number[] };
      const table = { columns: { pixel: value.counts.map((_, k) => k), flux: value.counts.map((x) => x * 1.5) } };
      await s1.put(q1.outputs[i]!.id, table, { workDoneToken: progressBar(client, `put ${names.get(q1.outputs[i]!.id)}`) });
    }
    const p1 = (await s1.close()).provenance!;

    say(`\n${c(1, 'quantum 2')}: demo.Summarize reads calexp (detector 4 rejected), writes summaries`);
    const s2 = await client.openSession({ quantum: q2.quantum, repository: { root } });
    await s2.storedMany(q1.outputs.map((r) => r.id));
    for (const [i, calexp] of q1.outputs.entries()) {
      if (DETECTORS[i] === 4) {
        await s2.markInputUnused(calexp.id, 'detector 4 rejected by quality cut');
        continue;
      }
      const t = (await s2.get(calexp.id, { parameters: { columns: 'flux' } })) as { columns: { flux: number[] } };
      const mean = t.columns.flux.reduce((a, b) => a + b, 0) / t.columns.flux.length;
      await s2.put(q2.outputs[i]!.id, { detector: DETECTORS[i], meanFlux: mean });
    }
    const p2 = (await s2.close()).provenance!;

    say(`\n${c(1, 'collect and transfer')}`);
    const report = await rq(P.RepositoryCollectAndTransfer, {
      root,
      quanta: [q1.quantum, q2.quantum],
      provenance: [p1, p2] as never,
      workDoneToken: progressBar(client, 'collect-and-transfer'),
    });
    say(`  ${report.quanta.stored} quanta, ${report.datasets.inserted} datasets, ${report.records.inserted} records imported; ${report.conflicts.length} conflicts`);

    const final = q2.outputs[0]!;
    say(`\n${c(1, 'lineage')} of ${names.get(final.id)}`);
    const lineage = (await rq(P.RepositoryLineage, { root, datasetId: final.id, direction: 'up' })) as Lineage;
    say(lineageTree(lineage, { dataset: (s) => c(32, s), quantum: (s) => c(33, s), dim: (s) => c(2, s) }).trimEnd().replace(/^/gm, '  '));

    for (const [n, doc] of [[1, p1], [2, p2]] as const) {
      writeFileSync(join(outDir, `quantum${n}.provenance.json`), JSON.stringify(doc, null, 2));
      writeFileSync(join(outDir, `quantum${n}.quantum.json`), JSON.stringify(n === 1 ? q1.quantum : q2.quantum, null, 2));
      for (const format of ['daf_butler', 'prov', 'openlineage'] as const) {
        const exported = await rq(P.RepositoryProvenance, { root, quantumId: doc.quantum.id, format });
        writeFileSync(join(outDir, `quantum${n}.${format}.json`), JSON.stringify(exported, null, 2));
      }
    }
    const docs = [p1, p2].map((provenance, k) => ({ provenance, href: `quantum${k + 1}.provenance.json` }));
    writeFileSync(join(outDir, 'report.html'), renderProvenanceReport('quantum-butler demo: provenance', docs, { subtitle: `Repository ${root}` }));
    say(`\n${c(1, 'done')}: provenance documents and report.html written to ${outDir}`);
    return 0;
  } finally {
    await client.close();
  }
}
