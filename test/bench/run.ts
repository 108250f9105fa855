/**
 * `npm run bench`: the sidecar against the raw vscode-jsonrpc echo ceiling over the
 * same kind of pipes, in one run. Prints a table of ratios and writes
 * bench-results/bench.json. Timing lives here, never in test assertions.
 */
import { execFileSync, spawn } from 'node:child_process';
import { constants as fsConstants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { QuantumButlerClient } from '../../src/client/index.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const SEQ = 500;
const PIPELINED = 2000;
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

/** Chunks of the ceiling and the sidecar alternate, so that a shared machine's load falls on both alike. */
const PAIRS = 8;

/** The ratio to the ceiling of each round, and its range. */
function ratios(values: number[], ceilings: number[]): { median: number; min: number; max: number; rounds: number[] } {
  const rs = values.map((v, i) => v / ceilings[i]!);
  return { median: median(rs), min: Math.min(...rs), max: Math.max(...rs), rounds: rs };
}

async function main(): Promise<void> {
  if (!wanted('sidecar')) return rest({ machine: { cpus: cpus().length, node: process.version }, date: new Date().toISOString() }, []);
  const value = { payload: 'x'.repeat(1000) }; // ~1 KiB of JSON
  const results: Record<string, unknown> = { machine: { cpus: cpus().length, node: process.version }, date: new Date().toISOString() };
  const rows: Row[] = [];

  const echo = echoConnection();
  const client = await QuantumButlerClient.spawn({ cliPath: join(root, 'dist', 'src', 'cli.js'), stderr: 'inherit' });
  let events = 0;
  client.onProvenance(() => events++);
  const N_OUT = 500 + PAIRS * (SEQ + PIPELINED);
  const outputs = Array.from({ length: N_OUT }, (_, i) => ref('out', i, 'StructuredDataDict'));
  const blobsB64 = Array.from({ length: BIG_REPS }, (_, i) => ref('blob', i, 'Bytes'));
  const blobsFile = Array.from({ length: BIG_REPS }, (_, i) => ref('blob', BIG_REPS + i, 'Bytes'));
  const input = ref('in', 0, 'StructuredDataDict');
  const seed = await client.openSession({ predicted: { inputs: [], outputs: [input] }, datastore: { kind: 'memory', name: 'bench' }, notifications: [] });
  await seed.put(input, value);
  await seed.close();
  // The default event streams (provenance and progress), as a host gets them without asking.
  const s = await client.openSession({
    predicted: { inputs: [input], outputs: [...outputs, ...blobsB64, ...blobsFile] },
    datastore: { kind: 'memory', name: 'bench' },
  });
  // The same calls with no event stream: what the events cost.
  const quiet = await client.openSession({ predicted: { inputs: [input], outputs: [] }, datastore: { kind: 'memory', name: 'bench' }, notifications: [] });
  const inRef = { id: input.id };
  let k = 0;
  const echoCall = (i: number) => echo.conn.sendRequest('test/echo', { value, i });
  const calls: Record<string, (i: number) => Promise<unknown>> = {
    stored: () => s.stored(inRef),
    'stored, no event stream': () => quiet.stored(inRef),
    get: () => s.get(inRef),
    put: () => s.put({ id: outputs[k++]!.id }, value),
  };
  // Per kind of call, PAIRS chunks of the ceiling and the call alternate: each pair's ratio
  // is measured under the same load, and the median pair is reported with the range.
  const seq: Record<string, { calls: number[]; echo: number[] }> = {};
  const par: Record<string, { calls: number[]; echo: number[] }> = {};
  const eventsBefore = events;
  let timedCalls = 0;
  for (const [name, call] of Object.entries(calls)) {
    await sequential(500, echoCall); // warm-up
    await sequential(500, call);
    const sq = (seq[name] = { calls: [] as number[], echo: [] as number[] });
    const pr = (par[name] = { calls: [] as number[], echo: [] as number[] });
    for (let r = 0; r < PAIRS; r++) {
      sq.echo.push(await sequential(SEQ, echoCall));
      sq.calls.push(await sequential(SEQ, call));
      pr.echo.push(await pipelined(PIPELINED, echoCall));
      pr.calls.push(await pipelined(PIPELINED, call));
    }
    if (name !== 'stored, no event stream') timedCalls += 500 + PAIRS * (SEQ + PIPELINED);
  }
  const eventsPerCall = (events - eventsBefore) / timedCalls;

  const big = Buffer.alloc(16 * 1024 * 1024, 9).toString('base64');
  const echoBigRuns: number[] = [];
  for (let r = 0; r < BIG_REPS; r++) echoBigRuns.push(await timeIt(async () => void (await echo.conn.sendRequest('test/echo', { data: big }))));
  const echoBigS = median(echoBigRuns);
  echo.stop();

  const bytes = Buffer.alloc(16 * 1024 * 1024, 7);
  const b64 = bytes.toString('base64');
  const dir = mkdtempSync(join(tmpdir(), 'qb-bench-'));
  const src = join(dir, 'in.bin');
  writeFileSync(src, bytes);
  const bigRuns: Record<string, number[]> = { putBase64: [], getBase64: [], putFile: [], getFile: [], copyFile: [] };
  for (let r = 0; r < BIG_REPS; r++) {
    bigRuns.putBase64!.push(await timeIt(async () => void (await s.put({ id: blobsB64[r]!.id }, null, { payload: { encoding: 'base64', data: b64 } }))));
    bigRuns.getBase64!.push(await timeIt(async () => void (await s.getResult({ id: blobsB64[0]!.id }, { as: 'base64' }))));
    bigRuns.putFile!.push(await timeIt(async () => void (await s.put({ id: blobsFile[r]!.id }, null, { payload: { encoding: 'file', path: src } }))));
    bigRuns.getFile!.push(await timeIt(async () => void (await s.getResult({ id: blobsFile[0]!.id }, { as: 'file', destination: join(dir, 'out.bin') }))));
    // The file-path ceiling: the fastest copy this file system offers, in this process.
    bigRuns.copyFile!.push(await timeIt(() => copyFile(src, join(dir, `copy-${r}.bin`), fsConstants.COPYFILE_FICLONE)));
  }
  rmSync(dir, { recursive: true, force: true });
  results.transfers16MiBSeconds = { ...bigRuns, echoRoundTrip: echoBigRuns };
  const [putB64, getB64, putFile, getFile, copy] = [bigRuns.putBase64!, bigRuns.getBase64!, bigRuns.putFile!, bigRuns.getFile!, bigRuns.copyFile!].map(median) as [number, number, number, number, number];
  await quiet.close();
  await s.close();
  await client.close();

  for (const name of Object.keys(calls)) {
    for (const [mode, m] of [['sequential', seq[name]!], ['64 in flight', par[name]!]] as const) {
      rows.push({ name: `node butler/${name} ${mode}`, value: median(m.calls), ceiling: median(m.echo), unit: 'calls/s', ratio: ratios(m.calls, m.echo) });
    }
  }
  const mib = 16;
  // 16 MiB rows: the median of BIG_REPS transfers.
  rows.push(row('put 16 MiB base64', mib / putB64, mib / (echoBigS / 2), 'MiB/s'));
  rows.push(row('get 16 MiB base64', mib / getB64, mib / (echoBigS / 2), 'MiB/s'));
  rows.push(row('put 16 MiB file path', mib / putFile, mib / copy, 'MiB/s'));
  rows.push(row('get 16 MiB file path', mib / getFile, mib / copy, 'MiB/s'));
  const py = pythonClient(value);
  for (const [name, m] of Object.entries(py.calls)) {
    for (const [mode, calls, echoes] of [['sequential', m.seq, m.seqEcho], ['64 in flight', m.par, m.parEcho]] as const) {
      rows.push({ name: `python butler/${name} ${mode}`, value: median(calls), ceiling: median(echoes), unit: 'calls/s', ratio: ratios(calls, echoes) });
    }
  }
  const pyCost = (mode: 'seq' | 'par') => {
    const e = py.calls['stored']!, q = py.calls['stored, no event stream']!;
    const echoes = mode === 'seq' ? ['seqEcho', 'seqEcho'] as const : ['parEcho', 'parEcho'] as const;
    return 1 - ratios(e[mode], e[echoes[0]]).median / ratios(q[mode], q[echoes[1]]).median;
  };
  results.sidecar = {
    ...Object.fromEntries(rows.map((r) => [r.name, { value: r.value, ceiling: r.ceiling, unit: r.unit, ratioToCeiling: r.ratio.median, ratioRange: [r.ratio.min, r.ratio.max] }])),
    provenanceEventsPerCall: eventsPerCall,
    // What the event stream costs a call: 1 - (calls/s with it) / (calls/s without it).
    eventCostSequential: 1 - ratios(seq.stored!.calls, seq.stored!.echo).median / ratios(seq['stored, no event stream']!.calls, seq['stored, no event stream']!.echo).median,
    eventCost64InFlight: 1 - ratios(par.stored!.calls, par.stored!.echo).median / ratios(par['stored, no event stream']!.calls, par['stored, no event stream']!.echo).median,
    pythonProvenanceEventsPerCall: py.eventsPerCall,
    pythonEventCostSequential: pyCost('seq'),
    pythonEventCost64InFlight: pyCost('par'),
  };

  await rest(results, rows);
}

interface PythonCalls {
  seq: number[];
  seqEcho: number[];
  par: number[];
  parEcho: number[];
}

/** The Python client (clients/python) against the echo driven by the same client class: see python_bench.py. */
function pythonClient(value: unknown): { calls: Record<string, PythonCalls>; eventsPerCall: number } {
  const seq = 300, par = 1000;
  const outputs = Array.from({ length: 300 + PAIRS * (seq + par) }, (_, i) => ref('pyout', i, 'StructuredDataDict'));
  const dir = mkdtempSync(join(tmpdir(), 'qb-bench-py-'));
  try {
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({ cli: join(root, 'dist', 'src', 'cli.js'), echo: join(here, 'echo-server.js'), pairs: PAIRS, seq, par, value, input: ref('pyin', 0, 'StructuredDataDict'), outputs }));
    const out = execFileSync('python3', [join(root, 'test', 'bench', 'python_bench.py'), spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
    const { provenanceEvents, ...calls } = JSON.parse(out) as Record<string, PythonCalls> & { provenanceEvents: number };
    return { calls, eventsPerCall: (provenanceEvents as unknown as number) / (3 * (300 + PAIRS * (seq + par))) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Row {
  name: string;
  value: number;
  ceiling: number;
  unit: string;
  ratio: { median: number; min: number; max: number };
}

function row(name: string, value: number, ceiling: number, unit: string): Row {
  const r = value / ceiling;
  return { name, value, ceiling, unit, ratio: { median: r, min: r, max: r } };
}

async function rest(results: Record<string, unknown>, rows: Row[]): Promise<void> {
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

  const lines = ['', `${'benchmark'.padEnd(40)} ${'value'.padStart(8)}         ${'ceiling'.padStart(8)}         ratio to the ceiling (median and range of rounds; 1 = the ceiling, above 1 is faster)`];
  for (const r of rows) {
    const range = r.ratio.min === r.ratio.max ? '' : ` (${r.ratio.min.toFixed(2)}-${r.ratio.max.toFixed(2)})`;
    lines.push(`${r.name.padEnd(40)} ${r.value.toFixed(0).padStart(8)} ${r.unit.padEnd(7)} ${r.ceiling.toFixed(0).padStart(8)} ${r.unit.padEnd(7)} ${r.ratio.median.toFixed(2)}x${range}`);
  }
  if (results.trustModeReads) lines.push('', 'trust-mode reads:', JSON.stringify(results.trustModeReads, null, 2));
  if (results.stores) lines.push('', 'stores:', JSON.stringify(results.stores, null, 2));
  if (results.repository) lines.push('', 'repository:', JSON.stringify(results.repository, null, 2));
  if (results.registry) lines.push('', 'registry (PostgreSQL):', JSON.stringify(results.registry, null, 2));
  lines.push('', `written to ${join(outDir, 'bench.json')}`, '');
  process.stdout.write(lines.join('\n'));
}

await main();
