/**
 * `npm run bench`: the sidecar against the raw vscode-jsonrpc echo ceiling over the
 * same kind of pipes, in one run. Prints a table of ratios and writes
 * bench-results/bench.json. Timing lives here, never in test assertions.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { QuantumButlerClient } from '../../src/client/index.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const SEQ = 5000;
const PIPELINED = 50000;
const LANES = 64;
/** 16 MiB transfers are timed this many times each; the median is reported (one transfer is at the mercy of the page cache). */
const BIG_REPS = 5;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function sequential(n: number, call: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await call(i); // warm-up
  return n / (await timeIt(async () => {
    for (let i = 0; i < n; i++) await call(i);
  }));
}

async function pipelined(n: number, call: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  return n / (await timeIt(async () => {
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        while (next < n) await call(next++);
      }),
    );
  }));
}

function echoConnection(): { conn: MessageConnection; stop(): void } {
  const child = spawn(process.execPath, [join(here, 'echo-server.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  conn.listen();
  return { conn, stop: () => child.kill() };
}

function ref(name: string, i: number, storageClass: string) {
  const dataId = { instrument: 'Bench', detector: i };
  return {
    id: makeDatasetId('DATAID_TYPE_RUN', name, dataId, ['instrument', 'detector'], 'bench'),
    datasetType: { name, storageClass, dimensions: ['instrument', 'detector'] },
    dataId,
    run: 'bench',
  };
}

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

/** `npm run bench -- --only=sidecar,trust,stores,repository,registry` runs some sections (default: all). */
const only = new Set(
  process.argv
    .filter((a) => a.startsWith('--only='))
    .flatMap((a) => a.slice('--only='.length).split(','))
    .filter(Boolean),
);
const wanted = (section: string): boolean => only.size === 0 || only.has(section);

async function main(): Promise<void> {
  if (!wanted('sidecar')) return rest({ machine: { cpus: cpus().length, node: process.version }, date: new Date().toISOString() }, []);
  const value = { payload: 'x'.repeat(1000) }; // ~1 KiB of JSON
  const results: Record<string, unknown> = { machine: { cpus: cpus().length, node: process.version }, date: new Date().toISOString() };
  const rows: Array<[string, number, number, string]> = [];

  // Ceiling.
  const echo = echoConnection();
  const echoSeq = await sequential(SEQ, (i) => echo.conn.sendRequest('test/echo', { value, i }));
  const echoPar = await pipelined(PIPELINED, (i) => echo.conn.sendRequest('test/echo', { value, i }));
  const big = Buffer.alloc(16 * 1024 * 1024, 9).toString('base64');
  const echoBigRuns: number[] = [];
  for (let r = 0; r < BIG_REPS; r++) echoBigRuns.push(await timeIt(async () => void (await echo.conn.sendRequest('test/echo', { data: big }))));
  const echoBigS = median(echoBigRuns);
  echo.stop();
  results.echo = { sequentialPerSec: echoSeq, pipelinedPerSec: echoPar, base64RoundTrip16MiBSeconds: echoBigS };

  // The sidecar.
  const client = await QuantumButlerClient.spawn({ cliPath: join(root, 'dist', 'src', 'cli.js'), stderr: 'inherit' });
  const N_OUT = PIPELINED + 300;
  const outputs = Array.from({ length: N_OUT }, (_, i) => ref('out', i, 'StructuredDataDict'));
  const blobsB64 = Array.from({ length: BIG_REPS }, (_, i) => ref('blob', i, 'Bytes'));
  const blobsFile = Array.from({ length: BIG_REPS }, (_, i) => ref('blob', BIG_REPS + i, 'Bytes'));
  const input = ref('in', 0, 'StructuredDataDict');
  const seed = await client.openSession({ predicted: { inputs: [], outputs: [input] }, datastore: { kind: 'memory', name: 'bench' }, notifications: [] });
  await seed.put(input, value);
  await seed.close();
  const s = await client.openSession({
    predicted: { inputs: [input], outputs: [...outputs, ...blobsB64, ...blobsFile] },
    datastore: { kind: 'memory', name: 'bench' },
    notifications: [],
  });
  const inRef = { id: input.id };
  const storedSeq = await sequential(SEQ, () => s.stored(inRef));
  const storedPar = await pipelined(PIPELINED, () => s.stored(inRef));
  const getSeq = await sequential(SEQ, () => s.get(inRef));
  const getPar = await pipelined(PIPELINED, () => s.get(inRef));
  let k = 0;
  const putSeq = await sequential(SEQ - 200, () => s.put({ id: outputs[k++]!.id }, value));
  const putPar = await pipelined(PIPELINED - SEQ, () => s.put({ id: outputs[k++]!.id }, value));

  const bytes = Buffer.alloc(16 * 1024 * 1024, 7);
  const b64 = bytes.toString('base64');
  const dir = mkdtempSync(join(tmpdir(), 'qb-bench-'));
  const src = join(dir, 'in.bin');
  writeFileSync(src, bytes);
  const bigRuns: Record<string, number[]> = { putBase64: [], getBase64: [], putFile: [], getFile: [] };
  for (let r = 0; r < BIG_REPS; r++) {
    bigRuns.putBase64!.push(await timeIt(async () => void (await s.put({ id: blobsB64[r]!.id }, null, { payload: { encoding: 'base64', data: b64 } }))));
    bigRuns.getBase64!.push(await timeIt(async () => void (await s.getResult({ id: blobsB64[0]!.id }, { as: 'base64' }))));
    bigRuns.putFile!.push(await timeIt(async () => void (await s.put({ id: blobsFile[r]!.id }, null, { payload: { encoding: 'file', path: src } }))));
    bigRuns.getFile!.push(await timeIt(async () => void (await s.getResult({ id: blobsFile[0]!.id }, { as: 'file', destination: join(dir, 'out.bin') }))));
  }
  rmSync(dir, { recursive: true, force: true });
  results.transfers16MiBSeconds = { ...bigRuns, echoRoundTrip: echoBigRuns };
  const [putB64, getB64, putFile, getFile] = [bigRuns.putBase64!, bigRuns.getBase64!, bigRuns.putFile!, bigRuns.getFile!].map(median) as [number, number, number, number];
  await s.close();
  await client.close();

  const mib = 16;
  rows.push(['butler/stored sequential', storedSeq, echoSeq, 'calls/s']);
  rows.push(['butler/stored 64 in flight', storedPar, echoPar, 'calls/s']);
  rows.push(['butler/get 1 KiB sequential', getSeq, echoSeq, 'calls/s']);
  rows.push(['butler/get 1 KiB 64 in flight', getPar, echoPar, 'calls/s']);
  rows.push(['butler/put 1 KiB sequential', putSeq, echoSeq, 'calls/s']);
  rows.push(['butler/put 1 KiB 64 in flight', putPar, echoPar, 'calls/s']);
  // 16 MiB rows: the median of BIG_REPS transfers.
  rows.push(['put 16 MiB base64', mib / putB64, mib / (echoBigS / 2), 'MiB/s']);
  rows.push(['get 16 MiB base64', mib / getB64, mib / (echoBigS / 2), 'MiB/s']);
  rows.push(['put 16 MiB file path', mib / putFile, mib / (echoBigS / 2), 'MiB/s']);
  rows.push(['get 16 MiB file path', mib / getFile, mib / (echoBigS / 2), 'MiB/s']);
  results.sidecar = Object.fromEntries(rows.map(([name, v, ceiling, unit]) => [name, { value: v, ceiling, unit, ratioToCeiling: v / ceiling, timeRatio: ceiling / v }]));

  await rest(results, rows);
}

async function rest(results: Record<string, unknown>, rows: Array<[string, number, number, string]>): Promise<void> {
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
  const { REGISTRY_FIGURES, REPOSITORY_FIGURES, missingFigures } = await import('./figures.js');
  for (const [name, figures] of [['repository', REPOSITORY_FIGURES], ['registry', REGISTRY_FIGURES]] as const) {
    const section = results[name] as Record<string, unknown> | undefined;
    if (!section || 'skipped' in section) continue;
    const missing = missingFigures(section, figures);
    if (missing.length > 0) throw new Error(`bench section ${name} lacks ${missing.join(', ')}`);
  }

  const outDir = join(root, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'bench.json'), JSON.stringify(results, null, 2) + '\n');

  const lines = ['', 'benchmark                           value          ceiling        time per call or MiB, ceiling = 1 (the raw vscode-jsonrpc echo; below 1 is faster)'];
  for (const [name, v, ceiling, unit] of rows) {
    const ratio = ceiling / v;
    lines.push(
      `${name.padEnd(34)}  ${v.toFixed(0).padStart(8)} ${unit.padEnd(7)} ${ceiling.toFixed(0).padStart(8)} ${unit.padEnd(7)} ${ratio.toFixed(2)}x`,
    );
  }
  // Collect-and-transfer beside its raw-statement ceiling (collect-ceiling.ts), per backend.
  for (const [name, section] of [['SQLite', results.repository], ['PostgreSQL', results.registry]] as const) {
    const c = (section as { collect?: { seconds: number; ceilingSeconds?: number; ratioToCeiling?: number } } | undefined)?.collect;
    if (c?.ceilingSeconds !== undefined) lines.push(`${`collect 100k x 4 into ${name}`.padEnd(34)}  ${c.seconds.toFixed(1).padStart(8)} s       ${c.ceilingSeconds.toFixed(1).padStart(8)} s       ${c.ratioToCeiling!.toFixed(2)}x`);
  }
  if (results.trustModeReads) lines.push('', 'trust-mode reads:', JSON.stringify(results.trustModeReads, null, 2));
  if (results.stores) lines.push('', 'stores:', JSON.stringify(results.stores, null, 2));
  if (results.repository) lines.push('', 'repository:', JSON.stringify(results.repository, null, 2));
  if (results.registry) lines.push('', 'registry (PostgreSQL):', JSON.stringify(results.registry, null, 2));
  lines.push('', `written to ${join(outDir, 'bench.json')}`, '');
  process.stdout.write(lines.join('\n'));
}

await main();
