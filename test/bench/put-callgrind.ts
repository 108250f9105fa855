/**
 * Instructions per `butler/put` of the bench's ~1 KiB JSON value (default event streams, in-memory
 * datastore) under callgrind: the sidecar runs under `valgrind --tool=callgrind` with collection
 * off, is warmed up, then collection is switched on (callgrind_control) for the timed puts, one at a
 * time (or, with `--inFlight=64`, 64 at once as the bench pipelines them: per put, the main
 * thread's share of each turn's reads, event batch and writes), and off again before it is closed.
 * Optimised code (no --no-opt); V8 is asked for a perf map (--perf-basic-prof) so that the JIT
 * frames can be named (scripts: see `--out`).
 *
 *     node dist/test/bench/put-callgrind.js [--warmup=3000] [--calls=2000] [--inFlight=1] [--out=DIR] [CLI.js]
 *
 * Writes DIR/callgrind.out.PID(-NN per thread) and DIR/perf-PID.map (copied from /tmp) and prints
 * the instructions per put: the main thread and all threads. `callgrind_annotate --inclusive=yes`
 * over the main thread's file gives the inclusive profile; test/bench/callgrind-jit-names.mjs
 * rewrites the JIT addresses in it to the names of the perf map first.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { QuantumButlerClient } from '../../src/client/index.js';
import { numberOption, option, positionals } from './argv.js';
import { LANES, pipelined, root, sequential } from './sidecar-bench.js';
import { openPutSession } from './put-session.js';

const WARMUP = numberOption('warmup', 3000), CALLS = numberOption('calls', 2000), IN_FLIGHT = numberOption('inFlight', 1);
if (IN_FLIGHT !== 1 && IN_FLIGHT !== LANES) throw new Error(`--inFlight is 1 or ${LANES} (the bench's pipelining)`);
const out = resolve(option('out') ?? join(root, 'bench-results', 'callgrind'));
const cli = positionals()[0] ?? join(root, 'dist', 'src', 'cli.js');
mkdirSync(out, { recursive: true });
const wrapper = join(out, 'valgrind-node.sh');
writeFileSync(
  wrapper,
  `#!/bin/sh\nexec valgrind --tool=callgrind --separate-threads=yes --instr-atstart=no --callgrind-out-file=${out}/callgrind.out.%p ${JSON.stringify(process.execPath)} --perf-basic-prof --interpreted-frames-native-stack --logfile=${out}/v8.log --no-logfile-per-isolate "$@"\n`,
);
chmodSync(wrapper, 0o755);

const client = await QuantumButlerClient.spawn({ cliPath: cli, stderr: 'inherit', node: wrapper });
const pid = client.child.pid!;
client.onProvenance(() => {});
const put = await openPutSession(client, 'put-callgrind', WARMUP + CALLS);
const drive = IN_FLIGHT === 1 ? sequential : pipelined;
await drive(WARMUP, put);
execFileSync('callgrind_control', ['-i', 'on', String(pid)], { stdio: 'ignore' });
await drive(CALLS, put);
execFileSync('callgrind_control', ['-i', 'off', String(pid)], { stdio: 'ignore' });
if (existsSync(`/tmp/perf-${pid}.map`)) copyFileSync(`/tmp/perf-${pid}.map`, join(out, `perf-${pid}.map`));
await client.close(600_000);

// Totals per thread file ("summary:" / "totals:" line).
let all = 0, main = 0;
for (const f of readdirSync(out).filter((n) => n.startsWith(`callgrind.out.${pid}`))) {
  const m = /^totals: (\d+)/m.exec(readFileSync(join(out, f), 'utf8'));
  const ir = m ? Number(m[1]) : 0;
  all += ir;
  if (f.endsWith('-01')) main = ir;
}
console.log(`${CALLS} puts (${IN_FLIGHT === 1 ? 'one at a time' : 'pipelined'}) after ${WARMUP}, pid ${pid}: main thread ${Math.round(main / CALLS)} instructions per put, all threads ${Math.round(all / CALLS)}`);
