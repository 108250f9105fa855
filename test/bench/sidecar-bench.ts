/**
 * The sidecar section of `npm run bench`: small calls with the default event streams, with
 * our Node client and our Python client, each against the raw vscode-jsonrpc echo driven by
 * the same client (Node: vscode-jsonrpc; Python: quantum_butler.rpc.Connection), in
 * alternating chunks; 16 MiB transfers inline (ceiling: the echo) and by file path
 * (ceilings: fs.copyFile with COPYFILE_FICLONE, and reading plus the SHA-256 a put
 * records), into the in-memory datastore and into a repository's file datastore (with its
 * default record checksum: none, as daf_butler's; and, informational rows beside them, into
 * one whose records carry daf_butler's blake2b). Returns numbers; printing is the runner's.
 */
import { execFileSync, spawn } from 'node:child_process';
import { constants as fsConstants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { QuantumButlerClient } from '../../src/client/index.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { sha256Hex } from '../../src/util/checksum.js';
import { RepositoryCreate } from '../../protocol/index.js';
import { interleave, pairCost, randomStart, schedule, type Block, type Kind, type PairCost } from './interleaved.js';
import { median } from './median.js';
import { BLAKE2B_RECORDS } from './figures.js';
import { settle } from './settle.js';
import { waitForCleanPageCache } from './page-cache.js';

export const here = dirname(fileURLToPath(import.meta.url));
/** The checkout (run from dist/test/bench or, under vitest, from test/bench). */
export const root = ((): string => {
  let d = here;
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
})();
export const LANES = 64;

export { median } from './median.js';

export async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

export async function sequential(n: number, call: (i: number) => Promise<unknown>): Promise<number> {
  return n / (await timeIt(async () => {
    for (let i = 0; i < n; i++) await call(i);
  }));
}

export async function pipelined(n: number, call: (i: number) => Promise<unknown>): Promise<number> {
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
  const child = spawn(process.execPath, [join(root, 'dist', 'test', 'bench', 'echo-server.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  conn.listen();
  return { conn, stop: () => child.kill() };
}

export function ref(name: string, i: number, storageClass: string) {
  const dataId = { instrument: 'Bench', detector: i };
  return {
    id: makeDatasetId('DATAID_TYPE_RUN', name, dataId, ['instrument', 'detector'], 'bench'),
    datasetType: { name, storageClass, dimensions: ['instrument', 'detector'] },
    dataId,
    run: 'bench',
  };
}

/* Chunks of the ceiling and the sidecar alternate, so that a shared machine's load falls on both alike. */

/** CPU microseconds so far of process `pid`, all its threads (Linux: /proc schedstat, ns); NaN where unknown. */
export function sidecarCpuMicros(pid: number | undefined): () => number {
  return () => {
    if (pid === undefined) return NaN;
    try {
      let ns = 0;
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        try {
          ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
        } catch {
          // a thread that ended meanwhile
        }
      }
      return ns / 1000;
    } catch {
      return NaN;
    }
  };
}

/** The ratio to the ceiling of each round, and its range. */
export function ratios(values: number[], ceilings: number[]): { median: number; min: number; max: number; rounds: number[] } {
  const rs = values.map((v, i) => v / ceilings[i]!);
  return { median: median(rs), min: Math.min(...rs), max: Math.max(...rs), rounds: rs };
}

export interface SidecarBenchOptions {
  /** Alternating chunk pairs per kind of call. */
  pairs?: number;
  /** Untimed calls of each kind first (default 2,000; `put` 2.5 times as many). */
  warmup?: number;
  /** Calls per sequential chunk and per 64-in-flight chunk (Node client). */
  seq?: number;
  par?: number;
  /** The same for the Python client. */
  pySeq?: number;
  pyPar?: number;
  /** The event cost's rounds of interleaved blocks (interleaved.ts), one at a time and 64 in flight, and calls per block (Node; Python). */
  costSeqRounds?: number;
  costParRounds?: number;
  costSeq?: number;
  costPar?: number;
  pyCostSeq?: number;
  pyCostPar?: number;
  /** Rounds of the Python client's event cost 64 in flight (its blocks are short: see runSidecarBench). */
  pyCostParRounds?: number;
  /** The round of the event cost's cycle its schedule starts at (default random: interleaved.ts). */
  costStart?: number;
  /** 16 MiB transfers timed each way (the median is reported: one is at the mercy of the page cache). */
  bigReps?: number;
}

/** Small calls (Node and Python clients) and 16 MiB transfers, each beside its ceiling. */
export async function runSidecarBench(opts: SidecarBenchOptions = {}): Promise<{ section: Record<string, unknown>; transfers: Record<string, number[]>; rows: Row[] }> {
  const PAIRS = opts.pairs ?? 8, SEQ = opts.seq ?? 500, PIPELINED = opts.par ?? 2000, BIG_REPS = opts.bigReps ?? 5;
  // Calls of each kind before its timed chunks: the sidecar's paths take about 2,000 calls to
  // reach V8's optimised code, and the bench measures the steady state a long quantum sees.
  // A put (each to a new output) takes longer: the sidecar's CPU per put, taken per 2,000
  // puts, fell 219, 104, 66, then 47-54 us (Node client) and 186, 119, 68, 52, 49, 44 us
  // (Python), with V8's compiler threads busy for the first ~3,000; so put warms up 5,000 each way.
  const WARMUP = opts.warmup ?? 2000;
  const PUT_WARMUP = Math.round(2.5 * WARMUP);
  const warmupOf = (name: string) => (name === 'put' ? PUT_WARMUP : WARMUP);
  const value = { payload: 'x'.repeat(1000) }; // ~1 KiB of JSON
  // The event cost's blocks (interleaved.ts). 64 in flight, a Node block is as long as a chunk
  // timed against the echo (2,000 calls): a shorter one spends more of its time filling and
  // draining the 64 lanes, which is not what the chunks measure. One at a time there is no such
  // edge, so the blocks are short (150 calls, ~5 ms) and the rounds many: over 36 rounds the A/A
  // check came to -0.02..0.01 in six runs, where one run of 12 rounds gave 0.08 and 0.11.
  // 64 in flight, 24 rounds: a 12-round median's A/A check moved by 0.035 (sd) from run to run with
  // no bias, a 24-round one by 0.027, for ~4 s more. Both numbers of rounds are whole cycles of six
  // (interleaved.ts).
  // The Python client 64 in flight: 120 rounds of 1,000-call blocks. A block lasts 12-16 ms
  // (~70,000 calls/s), a round ~80 ms, and its A/A check moves by ~0.1 (robust sd) whatever the
  // block's length: 0.03-0.22 with blocks of 1,000, 2,000, 5,000 or 10,000 calls alike, at load
  // 0.5 to 6. The wall time of a block follows the time its threads and the sidecar's waited for a
  // core (correlation 0.9), which lasts from one block into the next, so a longer block averages
  // nothing away; the median of 24 rounds then moved by 0.03 (sd) from run to run, as observed
  // (-0.044..0.055 over twelve runs of 24 rounds). In the same ~10 s at load 6 (scratch probe of
  // these blocks alone, four runs each, taking turns, Dec 2026) the A/A check came to
  // -0.014..0.006 with 120 rounds of 1,000 calls, -0.009..0.020 with 60 of 2,000 and -0.077..0.012
  // with 24 of 5,000. Not the cause: the Python client's gc (0.1% of the blocks' time, a full
  // collection in 7 of 3,456 blocks), a warm-up after a switch of session (the first 200 calls took
  // 18.5% of a block after a block of the same kind and after another alike), the blocks' edges
  // (filling and draining the lanes: 0.2 ms of a block), the events of one block spilling into the
  // next (a quiet block after an events block was no slower than after a quiet one). The ratio of
  // each kind's total time over the run instead of the median round resolved worse (its A/A
  // -0.05..0.09 over eight runs of 24 rounds, where the median's was -0.04..0.06). In the bench's
  // sidecar section, seven runs each, taking turns at load 4-14: 24 rounds -0.052..0.042, 120
  // rounds -0.009..0.010 in six runs and 0.075 in one, where quiet2 was the slower through most of
  // the run (its 24-round stretches 0.04, -0.01, 0.09, 0.26, 0.09; in CPU time 0.012): a bias of
  // one run that more rounds do not remove, cause not found. ~8 s more (the section 41-46 s, then 50-57).
  const COST = {
    seqRounds: opts.costSeqRounds ?? 36,
    parRounds: opts.costParRounds ?? 24,
    pyParRounds: opts.pyCostParRounds ?? 120,
    seq: opts.costSeq ?? 150,
    par: opts.costPar ?? PIPELINED,
    pySeq: opts.pyCostSeq ?? 150,
    pyPar: opts.pyCostPar ?? opts.pyPar ?? 1000,
    start: opts.costStart ?? randomStart(),
  };
  const rows: Row[] = [];

  const echo = echoConnection();
  const client = await QuantumButlerClient.spawn({ cliPath: join(root, 'dist', 'src', 'cli.js'), stderr: 'inherit' });
  let events = 0;
  client.onProvenance(() => events++);
  const N_OUT = 2 * PUT_WARMUP + PAIRS * (SEQ + PIPELINED);
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
  // A second quiet session, for the event cost's A/A check (interleaved.ts).
  const quiet2 = await client.openSession({ predicted: { inputs: [input], outputs: [] }, datastore: { kind: 'memory', name: 'bench' }, notifications: [] });
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
  // is measured under the same load, and the median pair is reported with the range. Every
  // kind is warmed up first (the echo and each call, one at a time and 64 in flight), then
  // the kinds take turns, one pair of each per round, so that all are measured over the same
  // minutes; on odd rounds the kinds, and the chunks within each pair, run in the reverse
  // order, so that whatever a chunk leaves behind (garbage, a burst of load) does not always
  // fall on the same side. (Run one kind after another, a drift of the machine's load fell
  // on one kind and not the next: "stored" and "stored, no event stream", whose ratio is the
  // event cost, were timed seconds apart.)
  const seq: Record<string, Chunks> = {};
  const par: Record<string, Chunks> = {};
  const eventsBefore = events;
  let timedCalls = 0;
  const cpu = sidecarCpuMicros(client.child.pid);
  await sequential(WARMUP, echoCall);
  await pipelined(WARMUP, echoCall);
  for (const [name, call] of Object.entries(calls)) {
    await sequential(warmupOf(name), call);
    await pipelined(warmupOf(name), call);
    seq[name] = { calls: [], echo: [], cpu: [], clientCpu: [] };
    par[name] = { calls: [], echo: [], cpu: [], clientCpu: [] };
    if (name !== 'stored, no event stream') timedCalls += 2 * warmupOf(name);
  }
  for (let r = 0; r < PAIRS; r++) {
    const kinds = Object.entries(calls);
    for (const [name, call] of r % 2 === 0 ? kinds : kinds.reverse()) {
      for (const [m, run, n] of [[seq[name]!, sequential, SEQ], [par[name]!, pipelined, PIPELINED]] as const) {
        const timeCall = async () => {
          const before = cpu(), clientBefore = process.cpuUsage();
          m.calls.push(await run(n, call));
          const client = process.cpuUsage(clientBefore);
          m.cpu.push((cpu() - before) / n);
          m.clientCpu.push((client.user + client.system) / n);
        };
        const timeEcho = async () => void m.echo.push(await run(n, echoCall));
        if (r % 2 === 0) await timeEcho().then(timeCall);
        else await timeCall().then(timeEcho);
        if (name !== 'stored, no event stream') timedCalls += n;
      }
    }
  }
  // The event cost: `stored` on the three sessions in interleaved blocks (interleaved.ts),
  // one at a time and 64 in flight. quiet2 is warmed up as the others were.
  const stored: Record<Kind, (i: number) => Promise<unknown>> = { events: calls.stored!, quiet: calls['stored, no event stream']!, quiet2: () => quiet2.stored(inRef) };
  await sequential(WARMUP, stored.quiet2);
  await pipelined(WARMUP, stored.quiet2);
  const costBlocks = (run: typeof sequential, rounds: number, n: number) =>
    interleave(rounds, COST.start, async (kind): Promise<Block> => {
      const before = cpu(), clientBefore = process.cpuUsage();
      const seconds = n / (await run(n, stored[kind]));
      const client = process.cpuUsage(clientBefore);
      return { kind, calls: n, seconds, sidecarCpu: cpu() - before, clientCpu: client.user + client.system };
    });
  const nodeBlocks = { sequential: await costBlocks(sequential, COST.seqRounds, COST.seq), '64 in flight': await costBlocks(pipelined, COST.parRounds, COST.par) };
  for (const b of Object.values(nodeBlocks).flat(2)) if (b.kind === 'events') timedCalls += b.calls;
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
  // The same transfers into a repository's file datastore (what a pipeline writes to for good),
  // as created by default (records without checksum), and into one whose records carry
  // blake2b (daf_butler's `checksum: true`; repositories created before that default): the
  // latter's rows are informational, to keep the cost of that checksum in sight.
  const repoSession = async (name: string, config: { datastore: { checksum: 'blake2b' } } | undefined, first: number) => {
    const root = join(dir, name);
    await client.request(RepositoryCreate, config ? { root, config } : { root });
    const blobs = Array.from({ length: BIG_REPS }, (_, i) => ref('blob', first + i, 'Bytes'));
    return { blobs, session: await client.openSession({ predicted: { inputs: [], outputs: blobs }, datasetTypes: [blobs[0]!.datasetType], repository: { root } }) };
  };
  const { blobs: blobsRepo, session: repo } = await repoSession('repo', undefined, 2 * BIG_REPS);
  const { blobs: blobsBlake, session: repoBlake } = await repoSession('repo-blake2b', { datastore: { checksum: 'blake2b' } }, 3 * BIG_REPS);
  const bigRuns: Record<string, number[]> = {
    putBase64: [], getBase64: [], putFile: [], getFile: [], putFileRepository: [], getFileRepository: [], putFileRepositoryBlake2b: [], getFileRepositoryBlake2b: [], copyFile: [], readAndSha256: [],
  };
  // Each transfer, and each ceiling in the same rounds, is timed with this process settled first
  // (settle.ts): its heap collected, then its background threads idle. A 16 MiB base64 get
  // leaves ~22 MiB of strings here, whose collection ran during the next timed transfer (the put
  // by file path: 11-12 ms of this client's CPU during it, on 2 cores, against 0.6 ms after a
  // pause; test/bench/put-file-cost.ts --base64 with and without --settle); and after gc()
  // returns, V8's sweeping and freeing of those pages go on in this process's background
  // threads: 0-9 ms of their CPU during the timed put (median 3), competing for the 2 cores with
  // the sidecar's main and hash-worker threads (put-file-cost.ts --collect against
  // --settle-threads), so that figure still timed this client's garbage. A transfer's own
  // collections, on either side, still count, and the sidecar is not waited for.
  const timeSettled = async (fn: () => Promise<void>): Promise<number> => {
    await settle();
    return timeIt(fn);
  };
  // The 16 MiB rows start with the page cache written back (page-cache.ts): a full run's
  // previous collects leave gigabytes of SQLite and PostgreSQL files dirty, which the kernel
  // writes out from 30 s on, for minutes on a slow disk, beside these rows' own writes.
  const pageCache = await waitForCleanPageCache();
  for (let r = 0; r < BIG_REPS; r++) {
    bigRuns.putBase64!.push(await timeSettled(async () => void (await s.put({ id: blobsB64[r]!.id }, null, { payload: { encoding: 'base64', data: b64 } }))));
    bigRuns.getBase64!.push(await timeSettled(async () => void (await s.getResult({ id: blobsB64[0]!.id }, { as: 'base64' }))));
    bigRuns.putFile!.push(await timeSettled(async () => void (await s.put({ id: blobsFile[r]!.id }, null, { payload: { encoding: 'file', path: src } }))));
    bigRuns.getFile!.push(await timeSettled(async () => void (await s.getResult({ id: blobsFile[0]!.id }, { as: 'file', destination: join(dir, 'out.bin') }))));
    bigRuns.putFileRepository!.push(await timeSettled(async () => void (await repo.put({ id: blobsRepo[r]!.id }, null, { payload: { encoding: 'file', path: src } }))));
    bigRuns.getFileRepository!.push(await timeSettled(async () => void (await repo.getResult({ id: blobsRepo[0]!.id }, { as: 'file', destination: join(dir, 'out-repository.bin') }))));
    bigRuns.putFileRepositoryBlake2b!.push(await timeSettled(async () => void (await repoBlake.put({ id: blobsBlake[r]!.id }, null, { payload: { encoding: 'file', path: src } }))));
    bigRuns.getFileRepositoryBlake2b!.push(await timeSettled(async () => void (await repoBlake.getResult({ id: blobsBlake[0]!.id }, { as: 'file', destination: join(dir, 'out-repository-blake2b.bin') }))));
    // The file-path ceiling: the fastest copy this file system offers, in this process.
    bigRuns.copyFile!.push(await timeSettled(() => copyFile(src, join(dir, `copy-${r}.bin`), fsConstants.COPYFILE_FICLONE)));
    // A put by file path reads the file and records its SHA-256 (for provenance and the
    // answer; an in-memory datastore computes daf_butler's blake2b only when a record is read):
    // the least any put can do, in this process.
    bigRuns.readAndSha256!.push(await timeSettled(async () => {
      sha256Hex(readFileSync(src));
    }));
  }
  await repo.close();
  await repoBlake.close();
  rmSync(dir, { recursive: true, force: true });
  const [putB64, getB64, putFile, getFile, putRepo, getRepo, putBlake, getBlake, copy, hashed] = [
    bigRuns.putBase64!, bigRuns.getBase64!, bigRuns.putFile!, bigRuns.getFile!, bigRuns.putFileRepository!, bigRuns.getFileRepository!,
    bigRuns.putFileRepositoryBlake2b!, bigRuns.getFileRepositoryBlake2b!, bigRuns.copyFile!, bigRuns.readAndSha256!,
  ].map(median) as [number, number, number, number, number, number, number, number, number, number];
  await quiet.close();
  await quiet2.close();
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
  rows.push(row('put 16 MiB file path (vs read+SHA-256)', mib / putFile, mib / hashed, 'MiB/s'));
  rows.push(row('get 16 MiB file path', mib / getFile, mib / copy, 'MiB/s'));
  rows.push(row('put 16 MiB file path, file datastore', mib / putRepo, mib / copy, 'MiB/s'));
  rows.push(row('get 16 MiB file path, file datastore', mib / getRepo, mib / copy, 'MiB/s'));
  // Informational (no target): a repository whose records carry blake2b.
  rows.push(row(`put 16 MiB file path, ${BLAKE2B_RECORDS}`, mib / putBlake, mib / copy, 'MiB/s'));
  rows.push(row(`get 16 MiB file path, ${BLAKE2B_RECORDS}`, mib / getBlake, mib / copy, 'MiB/s'));
  const py = pythonClient(value, PAIRS, opts.pySeq ?? 300, opts.pyPar ?? 1000, WARMUP, PUT_WARMUP, {
    seq: { calls: COST.pySeq, schedule: schedule(COST.seqRounds, COST.start) },
    par: { calls: COST.pyPar, schedule: schedule(COST.pyParRounds, COST.start) },
  });
  for (const [name, m] of Object.entries(py.calls)) {
    for (const [mode, calls, echoes] of [['sequential', m.seq, m.seqEcho], ['64 in flight', m.par, m.parEcho]] as const) {
      rows.push({ name: `python butler/${name} ${mode}`, value: median(calls), ceiling: median(echoes), unit: 'calls/s', ratio: ratios(calls, echoes) });
    }
  }
  const node = { sequential: pairCost(nodeBlocks.sequential), '64 in flight': pairCost(nodeBlocks['64 in flight']) };
  const python = { sequential: pairCost(py.interleaved.seq), '64 in flight': pairCost(py.interleaved.par) };
  const section = {
    ...Object.fromEntries(rows.map((r) => [r.name, { value: r.value, ceiling: r.ceiling, unit: r.unit, ratioToCeiling: r.ratio.median, ratioRange: [r.ratio.min, r.ratio.max] }])),
    provenanceEventsPerCall: eventsPerCall,
    // What the event stream costs a call: 1 - (calls/s with it) / (calls/s without it), the
    // median over rounds of interleaved blocks (interleaved.ts); beside each, the A/A figure
    // measured the same way (a second quiet session against the first): the cost figure's
    // resolution. The ranges are those of single rounds.
    ...eventCostFigures('', node),
    // Every round's figures, per client and mode.
    eventCostRounds: { node, python },
    // The round of the cycle the schedule started at, random per run (interleaved.ts).
    eventCostScheduleStart: COST.start,
    // The sidecar's CPU microseconds per call (all its threads; medians of the chunks timed
    // against the echo), with and without the event stream. Linux only.
    ...(seq.stored!.cpu.every(Number.isFinite) ? {
      sidecarCpuMicrosPerCall: Object.fromEntries(Object.entries(seq).map(([name, m]) => [name, { sequential: median(m.cpu), '64 in flight': median(par[name]!.cpu) }])),
    } : {}),
    // The same cost in CPU time (sidecar and Node client together) over the same blocks:
    // 1 - (CPU per call without events) / (CPU per call with them), and its A/A. Linux only.
    ...(node.sequential.cpu && node['64 in flight'].cpu ? {
      eventCostCpu: byMode(node, (p) => ({ median: p.cpu!.median, range: p.cpu!.range })),
      eventCostCpuAA: byMode(node, (p) => ({ median: p.cpuAA!.median, range: p.cpuAA!.range })),
    } : {}),
    ...eventCostFigures('python', python),
    // The same for the Python client (sidecar and Python process): where other programs load the
    // machine its A/A check moves far less from run to run than the calls/s one (interleaved.ts).
    ...(python.sequential.cpu && python['64 in flight'].cpu ? {
      pythonEventCostCpu: byMode(python, (p) => ({ median: p.cpu!.median, range: p.cpu!.range })),
      pythonEventCostCpuAA: byMode(python, (p) => ({ median: p.cpuAA!.median, range: p.cpuAA!.range })),
    } : {}),
    // How the event cost was timed: rounds, and calls per block, per client and mode.
    eventCostBlocks: {
      node: { sequential: { rounds: COST.seqRounds, calls: COST.seq }, '64 in flight': { rounds: COST.parRounds, calls: COST.par } },
      python: { sequential: { rounds: COST.seqRounds, calls: COST.pySeq }, '64 in flight': { rounds: COST.pyParRounds, calls: COST.pyPar } },
    },
    pythonProvenanceEventsPerCall: py.eventsPerCall,
    // How much of the page cache was dirty before the 16 MiB rows, and how long it took to write it back (Linux).
    ...(pageCache ? { pageCacheWait: pageCache } : {}),
    // The Python process's CPU microseconds per call (all its threads; medians of the chunks):
    // steadier than calls/s on a busy machine, and the echo's beside each.
    pythonCpuMicrosPerCall: Object.fromEntries(Object.entries(py.cpu).map(([name, c]) => [name, { sequential: median(c.seq), echoSequential: median(c.seqEcho), '64 in flight': median(c.par), echo64InFlight: median(c.parEcho) }])),
  };

  return { section, transfers: { ...bigRuns, echoRoundTrip: echoBigRuns }, rows };
}

type ByMode<T> = { sequential: T; '64 in flight': T };
const byMode = <T>(c: ByMode<PairCost>, f: (p: PairCost) => T): ByMode<T> => ({ sequential: f(c.sequential), '64 in flight': f(c['64 in flight']) });

/** One client's event-cost figures, named after `prefix` (eventCostSequential, pythonEventCostSequential, ...): the median rounds, their A/A checks and the ranges of rounds. */
function eventCostFigures(prefix: '' | 'python', c: ByMode<PairCost>): Record<string, unknown> {
  const key = (name: string) => (prefix === '' ? name : prefix + name[0]!.toUpperCase() + name.slice(1));
  return {
    [key('eventCostSequential')]: c.sequential.cost.median,
    [key('eventCost64InFlight')]: c['64 in flight'].cost.median,
    [key('eventCostAASequential')]: c.sequential.aa.median,
    [key('eventCostAA64InFlight')]: c['64 in flight'].aa.median,
    [key('eventCostRange')]: byMode(c, (p) => p.cost.range),
    [key('eventCostAARange')]: byMode(c, (p) => p.aa.range),
  };
}

/** The chunks of one kind of call: calls/s, the echo's calls/s, and CPU microseconds per call of the sidecar and of this client. */
interface Chunks {
  calls: number[];
  echo: number[];
  cpu: number[];
  clientCpu: number[];
}

interface PythonCalls {
  seq: number[];
  seqEcho: number[];
  par: number[];
  parEcho: number[];
}

/** The Python client (clients/python) against the echo driven by the same client class: see python_bench.py. */
function pythonClient(
  value: unknown, PAIRS: number, seq: number, par: number, warmup: number, putWarmup: number, cost: Record<'seq' | 'par', { calls: number; schedule: Kind[][] }>,
): { calls: Record<string, PythonCalls>; cpu: Record<string, PythonCalls>; interleaved: Record<'seq' | 'par', Block[][]>; eventsPerCall: number } {
  const outputs = Array.from({ length: 2 * putWarmup + PAIRS * (seq + par) }, (_, i) => ref('pyout', i, 'StructuredDataDict'));
  const dir = mkdtempSync(join(tmpdir(), 'qb-bench-py-'));
  try {
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({ cli: join(root, 'dist', 'src', 'cli.js'), echo: join(root, 'dist', 'test', 'bench', 'echo-server.js'), pairs: PAIRS, seq, par, warmup, putWarmup, cost, value, input: ref('pyin', 0, 'StructuredDataDict'), outputs }));
    const out = execFileSync('python3', [join(root, 'test', 'bench', 'python_bench.py'), spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
    // A CPU figure Python could not read comes as null (JSON has no NaN).
    const parsed = JSON.parse(out, (_k, v: unknown) => (v === null ? NaN : v)) as Record<string, unknown>;
    const { provenanceEvents, cpu, interleaved, ...calls } = parsed as Record<string, PythonCalls> & { provenanceEvents: number; cpu: Record<string, PythonCalls>; interleaved: Record<'seq' | 'par', Block[][]> };
    const interleavedEventCalls = Object.values(interleaved).flat(2).filter((b) => b.kind === 'events').reduce((n, b) => n + b.calls, 0);
    return { calls, cpu, interleaved, eventsPerCall: (provenanceEvents as unknown as number) / (2 * (2 * warmup) + 2 * putWarmup + 3 * PAIRS * (seq + par) + interleavedEventCalls) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Row {
  name: string;
  value: number;
  ceiling: number;
  unit: string;
  ratio: { median: number; min: number; max: number };
}

export function row(name: string, value: number, ceiling: number, unit: string): Row {
  const r = value / ceiling;
  return { name, value, ceiling, unit, ratio: { median: r, min: r, max: r } };
}
