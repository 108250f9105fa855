/**
 * A 16 MiB `butler/put` by file path into an in-memory datastore, for one or more builds of
 * the CLI at once (each its own sidecar; the builds take turns in every round, in the reverse
 * order on odd rounds): per put, the wall time, the sidecar's CPU (/proc schedstat: its main
 * thread, the others, and the busiest threads by id; the time its main thread was runnable but
 * waited for a core), this client's CPU and, in the same rounds,
 * this process reading the file with readFileSync and hashing it with SHA-256 (the bench's
 * ceiling for this row). The builds after the first are compared with it paired by put.
 *
 *     node dist/test/bench/put-file-cost.js [--rounds=10] [--puts=4] [--warmup=4] [--size=16777216] [--keep] [--prefill=0] [--base64] [--settle=MS] [--collect] [--settle-threads] [--repository] [--checksum=blake2b|sha256|none] [--get] [--node=PATH] [CLI.js ...]
 *
 * Each put goes to a new output, which is pruned (purged) after it unless `--keep`: so the
 * sidecar's memory stays level over any number of rounds, where the bench keeps its five.
 * The bench's conditions: `--prefill=30000` first puts that many 1 KiB JSON values (64 in
 * flight), as its small-call chunks leave in the datastore; `--base64` puts the same bytes
 * inline (base64) and gets them back before each put by path, as the bench's rounds do;
 * `--settle=MS` pauses after those, so that both processes' collections of their garbage end;
 * `--collect` instead collects this client's garbage just before each timed put, as the bench
 * did (the sidecar's collections may still run then, as in the bench); `--settle-threads` collects
 * it and then waits until this client's background threads are idle (settle.ts), as the bench
 * does now. This client's CPU is shown by thread (/proc/self/task): its main thread, and the
 * others (V8's background collection, the libuv pool).
 * `--repository` puts into a new repository's file datastore instead (the bench's "file
 * datastore" row: a copy hashed with SHA-256; its records carry no checksum by default, as
 * daf_butler's; `--checksum=blake2b` is the bench's "blake2b records" row). `--get` times gets by
 * file path instead, as the bench's get rows do: each put (untimed) is followed by a get of the
 * first artifact put to one destination file, replaced every time. `--checksum=` creates the
 * repositories with that record checksum policy (absent: the build's default, none since it
 * followed daf_butler; blake2b before). Same build twice: an A/A check. --node=PATH: the program that runs each sidecar (a wrapper
 * such as one that runs node under perf or strace).
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RepositoryCreate } from '../../protocol/index.js';
import { QuantumButlerClient, type ButlerSession } from '../../src/client/index.js';
import { sha256Hex } from '../../src/util/checksum.js';
import { collectGarbage } from '../../src/util/collect-garbage.js';
import { numberOption, option, positionals } from './argv.js';
import { settle, threadCpu } from './settle.js';
import { median, pipelined, ref, root, timeIt } from './sidecar-bench.js';

const ROUNDS = numberOption('rounds', 10), PUTS = numberOption('puts', 4), WARMUP = numberOption('warmup', 4), SIZE = numberOption('size', 16 * 1024 * 1024);
const quiesce = process.argv.includes('--settle-threads');
const getMode = process.argv.includes('--get');
const keep = process.argv.includes('--keep'), base64 = process.argv.includes('--base64'), collect = process.argv.includes('--collect'), repository = process.argv.includes('--repository');
const PREFILL = numberOption('prefill', 0), SETTLE = numberOption('settle', 0), node = option('node');
const checksum = option('checksum') as 'blake2b' | 'sha256' | 'none' | undefined;
const clis = positionals();

/** Microseconds so far that the main thread of `pid` waited on a run queue, runnable but not running (schedstat's second field). */
function mainWaited(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1000;
}

interface Side { cli: string; client: QuantumButlerClient; s: ButlerSession; next: number; wall: number[]; cpu: Record<string, number[]>; byThread: Map<string, number>; settled: number[] }

const dir = mkdtempSync(join(tmpdir(), 'qb-put-file-'));
const src = join(dir, 'in.bin');
writeFileSync(src, Buffer.alloc(SIZE, 7));
const b64 = readFileSync(src).toString('base64');
const total = ROUNDS * PUTS + WARMUP;
const outputs = Array.from({ length: total }, (_, i) => ref('blob', i, 'Bytes'));
const inline = Array.from({ length: total }, (_, i) => ref('inline', i, 'Bytes'));
const small = Array.from({ length: PREFILL }, (_, i) => ref('small', i, 'StructuredDataDict'));

async function open(cli: string): Promise<Side> {
  const client = await QuantumButlerClient.spawn({ cliPath: cli, stderr: 'inherit', node });
  client.onProvenance(() => {});
  // --repository: into a new repository's file datastore (SHA-256, and the record's checksum if its policy has one), as the bench's "file datastore" rows.
  const predicted = { inputs: [], outputs: [...outputs, ...inline, ...small] };
  let s: ButlerSession;
  if (repository) {
    const root = join(dir, `repo-${sides.length}-${Math.random().toString(36).slice(2)}`);
    await client.request(RepositoryCreate, checksum === undefined ? { root } : { root, config: { datastore: { checksum } } });
    const types = [...new Map(predicted.outputs.map((r) => [r.datasetType.name, r.datasetType])).values()];
    s = await client.openSession({ predicted, datasetTypes: types, repository: { root } });
  } else {
    s = await client.openSession({ predicted, datastore: { kind: 'memory', name: 'put-file-cost' } });
  }
  const value = { payload: 'x'.repeat(1000) };
  let k = 0;
  await pipelined(PREFILL, () => s.put({ id: small[k++]!.id }, value));
  return { cli, client, s, next: 0, wall: [], cpu: { main: [], mainWaited: [], others: [], all: [], client: [], clientMain: [], clientOthers: [] }, byThread: new Map(), settled: [] };
}

async function putOnce(side: Side, timed: boolean): Promise<void> {
  if (base64) {
    const b = inline[side.next]!;
    await side.s.put({ id: b.id }, null, { payload: { encoding: 'base64', data: b64 } });
    await side.s.getResult({ id: b.id }, { as: 'base64' });
    if (!keep) await side.s.pruneDatasets([b.id], { disassociate: true, unstore: true, purge: true });
    // --settle=MS: a pause after them, in which both processes' garbage collections can end.
    if (SETTLE > 0) await new Promise((r) => setTimeout(r, SETTLE));
  }
  const out = outputs[side.next++]!;
  const pid = side.client.child.pid!;
  const put = async () => void (await side.s.put({ id: out.id }, null, { payload: { encoding: 'file', path: src } }));
  // --get: the put untimed, then the first artifact got to one destination (as the bench's get rows).
  const get = async () => void (await side.s.getResult({ id: outputs[0]!.id }, { as: 'file', destination: join(dir, `out-${sides.indexOf(side)}.bin`) }));
  if (getMode) await put();
  if (quiesce) side.settled.push(await settle());
  else if (collect) collectGarbage();
  const before = threadCpu(pid), waited = mainWaited(pid), self = threadCpu();
  const t = await timeIt(getMode ? get : put);
  const after = threadCpu(pid), waitedAfter = mainWaited(pid), selfAfter = threadCpu();
  if (timed) {
    let clientAll = 0;
    for (const [tid, us] of selfAfter) clientAll += us - (self.get(tid) ?? 0);
    const clientMain = selfAfter.get(String(process.pid))! - self.get(String(process.pid))!;
    side.cpu.client!.push(clientAll / 1000);
    side.cpu.clientMain!.push(clientMain / 1000);
    side.cpu.clientOthers!.push((clientAll - clientMain) / 1000);
    side.wall.push(t * 1000);
    let all = 0;
    for (const [tid, us] of after) {
      const d = us - (before.get(tid) ?? 0);
      all += d;
      side.byThread.set(tid, (side.byThread.get(tid) ?? 0) + d);
    }
    const main = after.get(String(pid))! - before.get(String(pid))!;
    side.cpu.main!.push(main / 1000);
    side.cpu.mainWaited!.push((waitedAfter - waited) / 1000);
    side.cpu.others!.push((all - main) / 1000);
    side.cpu.all!.push(all / 1000);
  }
  // --get: the first artifact stays, the one got.
  if (!keep && !(getMode && out === outputs[0])) await side.s.pruneDatasets([out.id], { disassociate: true, unstore: true, purge: true });
}

const sides: Side[] = [];
for (const cli of clis.length > 0 ? clis : [join(root, 'dist', 'src', 'cli.js')]) sides.push(await open(cli));
for (const side of sides) for (let i = 0; i < WARMUP; i++) await putOnce(side, false);
const ceiling: number[] = [];
const load0 = loadavg()[0]!;
for (let r = 0; r < ROUNDS; r++) {
  for (const side of r % 2 === 0 ? sides : [...sides].reverse()) for (let i = 0; i < PUTS; i++) await putOnce(side, true);
  ceiling.push(await timeIt(async () => void sha256Hex(readFileSync(src))) * 1000);
}
const f = (x: number) => x.toFixed(2);
const show = (xs: number[]) => `${f(median(xs))} [${f(Math.min(...xs))}, ${f(Math.max(...xs))}]`;
const mibs = (ms: number) => (SIZE / 1024 / 1024 / (ms / 1000)).toFixed(0);
console.log(`${ROUNDS} rounds x ${PUTS} ${getMode ? 'gets (each after a put)' : 'puts'} of ${SIZE} bytes by path${keep ? ' (kept)' : ''}${base64 ? ', each after a base64 put and get' : ''}, ${PREFILL} small values first; load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`);
console.log(`readFileSync + SHA-256 here: ${show(ceiling)} ms (median ${mibs(median(ceiling))} MiB/s)`);
const first = sides[0]!;
for (const side of sides) {
  console.log(`${side.cli}\n  wall ${show(side.wall)} ms (median ${mibs(median(side.wall))} MiB/s)`);
  console.log(`  sidecar CPU ms: all ${show(side.cpu.all!)}; main thread ${show(side.cpu.main!)} (and runnable, waiting for a core: ${show(side.cpu.mainWaited!)}); other threads ${show(side.cpu.others!)}; this client ${show(side.cpu.client!)} (main thread ${show(side.cpu.clientMain!)}, other threads ${show(side.cpu.clientOthers!)})${side.settled.length > 0 ? `; waited for this client's threads to idle ${show(side.settled)} ms` : ''}`);
  const n = side.wall.length;
  const top = [...side.byThread].sort((a, b) => b[1] - a[1]).slice(0, 6);
  console.log(`  mean CPU ms per put by thread: ${top.map(([tid, us]) => `${tid === String(side.client.child.pid) ? 'main' : tid} ${f(us / n / 1000)}`).join(', ')}`);
  if (side !== first) {
    const wins = side.wall.filter((w, i) => w < first.wall[i]!).length;
    const ratio = side.wall.map((w, i) => w / first.wall[i]!);
    const cpuRatio = side.cpu.all!.map((c, i) => c / first.cpu.all![i]!);
    console.log(`  vs first, paired: wall ratio ${f(median(ratio))} (faster in ${wins}/${ratio.length}); CPU ratio ${f(median(cpuRatio))}`);
  }
}
for (const side of sides) await side.client.close();
rmSync(dir, { recursive: true, force: true });
