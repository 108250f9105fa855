/**
 * Where the provenance stream's cost goes, per event: CPU microseconds of the sidecar (all its
 * threads, /proc schedstat) and of this client process per `butler/stored` call, on a session
 * with the default streams and on one with `notifications: []`, in alternating chunks, for one
 * or more builds of the CLI at once (each its own sidecar; the builds take turns in every round,
 * in the reverse order on odd rounds, so that a shared machine's load falls on all alike).
 *
 *     node dist/test/bench/event-cost.js [--rounds=24] [--calls=1500] [--inFlight=1] [CLI.js ...]
 *
 * (default: the built dist/src/cli.js). An experimental build is a copy of dist/src/cli.js,
 * cli.start.cjs and cli.bundle.cjs in a folder of the checkout (so that node_modules resolve),
 * its bundle edited. Prints, per build, the medians per call with and without events, the median
 * over rounds of the per-round difference (the cost of one event: each call causes one) with
 * its range, and the wall-clock cost 1 - (calls/s with events) / (calls/s without); and the
 * I/O shape per call with and without events (medians; io-shape.ts): the sidecar's and this
 * client's read and write system calls, the sidecar's bytes written, and both processes'
 * wake-ups and preemptions, which tell a cost of scheduling or I/O from one of CPU.
 *
 * The builds of one run are not measured alike, though they take turns: one build named twice
 * (an A/A), 24 rounds, gave the second-named a wall-clock cost 0.024 and 0.045 above the first's
 * in two runs, and two builds gave whichever was named second 0.04-0.05 more in both orders (Dec
 * 2026; the cause is not known). Run each order and compare the pairs, or compare builds'
 * instructions with writer-callgrind.ts or event-callgrind.ts.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { QuantumButlerClient } from '../../src/client/index.js';
import { numberOption, positionals } from './argv.js';
import { median, pipelined, root, sequential, sidecarCpuMicros } from './sidecar-bench.js';
import { openStoredSessions } from './stored-sessions.js';
import { ioShape, perCall, SHAPE_FIGURES, type IoShape } from './io-shape.js';

interface Side {
  cli: string;
  client: QuantumButlerClient;
  run: Record<'events' | 'quiet', (n: number) => Promise<number>>;
  cpu: () => number;
  m: Record<'events' | 'quiet', { sidecar: number[]; client: number[]; wall: number[]; shape: Array<{ sidecar: IoShape; client: IoShape }> }>;
}

const ROUNDS = numberOption('rounds', 24), CALLS = numberOption('calls', 1500), IN_FLIGHT = numberOption('inFlight', 1);
const clis = positionals();

async function open(cli: string): Promise<Side> {
  const client = await QuantumButlerClient.spawn({ cliPath: cli, stderr: 'inherit' });
  const { withEvents, quiet, inRef } = await openStoredSessions(client, 'event-cost');
  const drive = IN_FLIGHT === 1 ? sequential : pipelined;
  return {
    cli,
    client,
    run: { events: (n) => drive(n, () => withEvents.stored(inRef)), quiet: (n) => drive(n, () => quiet.stored(inRef)) },
    cpu: sidecarCpuMicros(client.child.pid),
    m: { events: { sidecar: [], client: [], wall: [], shape: [] }, quiet: { sidecar: [], client: [], wall: [], shape: [] } },
  };
}

const sides: Side[] = [];
for (const cli of clis.length > 0 ? clis : [join(root, 'dist', 'src', 'cli.js')]) sides.push(await open(cli));
for (const s of sides) for (const kind of ['events', 'quiet'] as const) await s.run[kind](3000); // V8's optimised code
const loadBefore = loadavg()[0]!;
for (let r = 0; r < ROUNDS; r++) {
  for (const s of r % 2 === 0 ? sides : [...sides].reverse()) {
    for (const kind of r % 2 === 0 ? (['events', 'quiet'] as const) : (['quiet', 'events'] as const)) {
      const shape0 = { sidecar: ioShape(s.client.child.pid), client: ioShape(process.pid) };
      const sidecar0 = s.cpu(), client0 = process.cpuUsage();
      const callsPerSecond = await s.run[kind](CALLS);
      const client1 = process.cpuUsage(client0);
      s.m[kind].shape.push({ sidecar: perCall(shape0.sidecar, ioShape(s.client.child.pid), CALLS), client: perCall(shape0.client, ioShape(process.pid), CALLS) });
      s.m[kind].sidecar.push((s.cpu() - sidecar0) / CALLS);
      s.m[kind].client.push((client1.user + client1.system) / CALLS);
      s.m[kind].wall.push(callsPerSecond);
    }
  }
}
const f = (x: number) => x.toFixed(1);
console.log(`${ROUNDS} rounds of ${CALLS} calls, ${IN_FLIGHT} in flight; load average ${loadBefore.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`);
for (const s of sides) {
  const per = (what: 'sidecar' | 'client') => {
    const d = s.m.events[what].map((v, i) => v - s.m.quiet[what][i]!);
    return `${what} ${f(median(s.m.events[what]))} - ${f(median(s.m.quiet[what]))}: ${f(median(d))} [${f(Math.min(...d))}, ${f(Math.max(...d))}] us`;
  };
  const cost = median(s.m.events.wall.map((v, i) => 1 - v / s.m.quiet.wall[i]!));
  console.log(`${s.cli}\n  per event: ${per('sidecar')}; ${per('client')}; wall-clock cost ${cost.toFixed(3)}`);
  for (const p of ['sidecar', 'client'] as const) {
    const figures = SHAPE_FIGURES.filter((k) => p === 'sidecar' || k !== 'bytesOut').map((k) => {
      const m = (kind: 'events' | 'quiet') => median(s.m[kind].shape.map((x) => x[p][k]));
      return `${k} ${m('events').toFixed(k === 'bytesOut' ? 0 : 3)} / ${m('quiet').toFixed(k === 'bytesOut' ? 0 : 3)}`;
    });
    console.log(`  ${p} per call (events / quiet): ${figures.join(', ')}`);
  }
}
for (const s of sides) await s.client.close();
