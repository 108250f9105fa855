/**
 * Instructions the provenance stream costs the Node client per event, under callgrind: the
 * mirror of event-callgrind.ts, with the client under `valgrind --tool=callgrind` (collection
 * off) and the sidecar native. The client (this file, `--child`) spawns the sidecar, opens a
 * session with the default streams and one with `notifications: []` (a listener on provenance),
 * warms up on both, then runs the phases this process asks for on its stdin, `--calls`
 * one-at-a-time `butler/stored` calls each, every phase collected and dumped on its own
 * (callgrind_control). Each call causes one event, so an event's cost is a round's calls with
 * events minus those without, per call: the client's main thread and all its threads. Prints
 * each round and their median. Young collections run on the main thread with a fixed young
 * generation (`--nodeFlags`), so that an event's garbage is counted there; a full collection
 * that falls into one phase still adds thousands of instructions a call to it, hence the rounds.
 * `--keep` leaves the callgrind files and V8's perf map (test/bench/callgrind-jit-names.mjs names
 * the JavaScript functions in them for callgrind_annotate).
 *
 *     node dist/test/bench/client-callgrind.js [--warmup=3000] [--calls=2000] [--rounds=3] [--keep] [--nodeFlags=...] [CLI.js]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { QuantumButlerClient } from '../../src/client/index.js';
import { numberOption, option, positionals } from './argv.js';
import { root, sequential } from './sidecar-bench.js';
import { openStoredSessions } from './stored-sessions.js';
import { eventRounds, type Kind } from './callgrind-rounds.js';

const WARMUP = numberOption('warmup', 3000), CALLS = numberOption('calls', 2000), ROUNDS = numberOption('rounds', 3);
const NODE_FLAGS = option('nodeFlags') ?? '--single-threaded-gc --min-semi-space-size=16 --max-semi-space-size=16';
const KEEP = process.argv.includes('--keep');
const cli = positionals()[0] ?? join(root, 'dist', 'src', 'cli.js');

/** Under valgrind: the client. Answers each `<kind>` line on stdin with `done` once its calls have returned. */
async function child(): Promise<void> {
  const client = await QuantumButlerClient.spawn({ cliPath: cli, stderr: 'inherit' });
  const { withEvents, quiet, inRef } = await openStoredSessions(client, 'client-callgrind');
  const run: Record<Kind, (n: number) => Promise<number>> = {
    events: (n) => sequential(n, () => withEvents.stored(inRef)),
    quiet: (n) => sequential(n, () => quiet.stored(inRef)),
  };
  for (const kind of ['events', 'quiet'] as const) await run[kind](WARMUP);
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line !== 'events' && line !== 'quiet') break;
    await run[line](CALLS);
    process.stdout.write('done\n');
  }
  client.child.kill('SIGKILL');
  process.exit(0);
}

async function measure(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'client-callgrind-'));
  try {
    const flags = [...NODE_FLAGS.split(' ').filter(Boolean), ...(KEEP ? ['--perf-basic-prof'] : [])];
    const args = ['--tool=callgrind', '--separate-threads=yes', '--instr-atstart=no', `--callgrind-out-file=${dir}/callgrind.out.%p`, process.execPath, ...flags];
    args.push(fileURLToPath(import.meta.url), '--child', `--warmup=${WARMUP}`, `--calls=${CALLS}`, cli);
    // In the temporary folder: V8 may write its logs where it runs.
    const proc = spawn('valgrind', args, { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
    const expect = async (want: string) => {
      const { value, done } = await lines.next();
      if (done || value !== want) throw new Error(`client-callgrind: the client said ${done ? 'nothing' : JSON.stringify(value)}, not ${want}`);
    };
    await expect('ready');
    const cost = await eventRounds(dir, proc.pid!, ROUNDS, CALLS, async (kind) => {
      proc.stdin!.write(`${kind}\n`);
      await expect('done');
    });
    proc.stdin!.end();
    await new Promise((resolve) => proc.once('exit', resolve));
    console.log(`the Node client of ${cli}, butler/stored: an event costs ${cost.main} main-thread instructions, ${cost.all} on all threads (median [range] of ${ROUNDS} rounds of ${CALLS} calls)`);
  } finally {
    if (KEEP) console.log(`callgrind files kept in ${dir} (dump .1-01 is round 1's first phase, events, on the main thread; V8's perf map is /tmp/perf-<pid>.map)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--child')) await child();
else await measure();
