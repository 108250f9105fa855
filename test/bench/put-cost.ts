/**
 * The sidecar's CPU microseconds (all its threads, /proc schedstat) per `butler/put` of a
 * ~1 KiB JSON value with the default event streams, in steady state, for one or more builds of
 * the CLI at once (each its own sidecar; the builds take turns in every round, in the reverse
 * order on odd rounds, so that a shared machine's load falls on all alike).
 *
 *     node dist/test/bench/put-cost.js [--rounds=20] [--calls=1000] [--warmup=6000] [--inFlight=1] [--cpuProf=DIR] [--node=PATH] [--graceMs=2000] [CLI.js ...]
 *
 * (default: the built dist/src/cli.js; an experimental build as for event-cost.ts). Prints,
 * per build, the median, range and 10th percentile over rounds of the sidecar's and this client's
 * CPU per put (contention only adds CPU time: the low rounds are the least disturbed),
 * and (for the second build on) the median and range of its sidecar's CPU per put over the first
 * build's in the same round: on a shared machine CPU time per put itself swings by 2x with the
 * load, which the paired ratio mostly cancels.
 * --cpuProf=DIR: each sidecar writes a V8 CPU profile to DIR as it ends (node --cpu-prof).
 * --node=PATH: the program that runs each sidecar (a wrapper such as one that straces node).
 * --graceMs=N: how long each sidecar may take to exit when closed before it is killed (a sidecar
 *   run under valgrind needs minutes to write its counts).
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { QuantumButlerClient } from '../../src/client/index.js';
import { numberOption, option, positionals } from './argv.js';
import { median, pipelined, root, sequential, sidecarCpuMicros } from './sidecar-bench.js';
import { openPutSession } from './put-session.js';

const ROUNDS = numberOption('rounds', 20), CALLS = numberOption('calls', 1000), WARMUP = numberOption('warmup', 6000), IN_FLIGHT = numberOption('inFlight', 1);
const clis = positionals();
const cpuProf = option('cpuProf'), node = option('node');

interface Side { cli: string; client: QuantumButlerClient; put: (n: number) => Promise<number>; cpu: () => number; sidecar: number[]; self: number[] }

async function open(cli: string): Promise<Side> {
  const client = await QuantumButlerClient.spawn({ cliPath: cli, stderr: 'inherit', node, nodeArgs: cpuProf ? ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${cpuProf}`] : [] });
  client.onProvenance(() => {}); // a host that listens
  const put = await openPutSession(client, 'put-cost', WARMUP + ROUNDS * CALLS);
  const drive = IN_FLIGHT === 1 ? sequential : pipelined;
  return { cli, client, put: (n) => drive(n, put), cpu: sidecarCpuMicros(client.child.pid), sidecar: [], self: [] };
}

const sides: Side[] = [];
for (const cli of clis.length > 0 ? clis : [join(root, 'dist', 'src', 'cli.js')]) sides.push(await open(cli));
for (const s of sides) await s.put(WARMUP);
const loadBefore = loadavg()[0]!;
for (let r = 0; r < ROUNDS; r++) {
  for (const s of r % 2 === 0 ? sides : [...sides].reverse()) {
    const sidecar0 = s.cpu(), self0 = process.cpuUsage();
    await s.put(CALLS);
    const self1 = process.cpuUsage(self0);
    s.sidecar.push((s.cpu() - sidecar0) / CALLS);
    s.self.push((self1.user + self1.system) / CALLS);
  }
}
const f = (x: number) => x.toFixed(1);
const tenth = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 10)]!;
const show = (xs: number[]) => `${f(median(xs))} [${f(Math.min(...xs))}, ${f(Math.max(...xs))}], 10th percentile ${f(tenth(xs))} us`;
console.log(`${ROUNDS} rounds of ${CALLS} puts, ${IN_FLIGHT} in flight, after ${WARMUP}; load average ${loadBefore.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`);
const first = sides[0]!;
for (const s of sides) {
  const ratio = s.sidecar.map((v, i) => v / first.sidecar[i]!);
  const paired = s === first ? '' : `; sidecar / first's, paired by round: ${median(ratio).toFixed(3)} [${Math.min(...ratio).toFixed(3)}, ${Math.max(...ratio).toFixed(3)}]`;
  console.log(`${s.cli}\n  per put: sidecar ${show(s.sidecar)}; client ${show(s.self)}${paired}`);
}
const graceMs = numberOption('graceMs', 2000);
for (const s of sides) await s.client.close(graceMs);
