/**
 * Instructions the provenance stream costs the sidecar per event, under callgrind: one sidecar per
 * build runs under `valgrind --tool=callgrind` with collection off, is warmed up on a session with
 * the default streams and on one with `notifications: []`, then collects `--calls` one-at-a-time
 * `butler/stored` calls on each in turn, `--rounds` times (each phase dumped on its own,
 * callgrind_control). Each call causes one event, so the cost of an event is a round's calls with
 * events minus those without, per call: the sidecar's main thread, and all its threads (young-GC
 * helpers). Prints each round's figure and their median; give one build twice for an A/A.
 * `--nodeFlags` are given to the sidecar's node: by default its young-generation collections run
 * on the main thread, with a fixed young generation, so that their work, which an event's garbage
 * adds to, is counted there and alike in every round. `--call=put` times `butler/put` of a 1 KiB
 * JSON value instead, each to a new predicted output (its event, `outputWritten`, carries the
 * size and checksum), on sessions predicting as many outputs as the run makes puts.
 * `--keep` leaves the callgrind files (and says where), for callgrind_annotate.
 *
 *     node dist/test/bench/event-callgrind.js [--warmup=3000] [--calls=1000] [--rounds=3] [--call=stored|put] [--keep] [--nodeFlags=...] [CLI.js ...]
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QuantumButlerClient } from '../../src/client/index.js';
import { numberOption, option, positionals } from './argv.js';
import { root, sequential } from './sidecar-bench.js';
import { openPutSession } from './put-session.js';
import { openStoredSessions } from './stored-sessions.js';
import { eventRounds, type Kind } from './callgrind-rounds.js';

const WARMUP = numberOption('warmup', 3000), CALLS = numberOption('calls', 1000), ROUNDS = numberOption('rounds', 3);
const NODE_FLAGS = option('nodeFlags') ?? '--single-threaded-gc --min-semi-space-size=16 --max-semi-space-size=16';
const CALL = option('call') ?? 'stored', KEEP = process.argv.includes('--keep');
if (CALL !== 'stored' && CALL !== 'put') throw new Error(`--call=${CALL}: stored or put`);
const clis = positionals();

type Run = Record<Kind, (n: number) => Promise<number>>;

/** The two sessions' calls: one-at-a-time `butler/put`s of 1 KiB, each to a new output. */
async function putRuns(client: QuantumButlerClient): Promise<Run> {
  client.onProvenance(() => {}); // a host that listens
  const total = WARMUP + CALLS * ROUNDS;
  const events = await openPutSession(client, 'event-callgrind', total, { outputName: 'events_out' });
  const quiet = await openPutSession(client, 'event-callgrind', total, { outputName: 'quiet_out', notifications: [] });
  return { events: (n) => sequential(n, events), quiet: (n) => sequential(n, quiet) };
}

async function measure(cli: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'event-callgrind-'));
  try {
    const wrapper = join(dir, 'valgrind-node.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec valgrind --tool=callgrind --separate-threads=yes --instr-atstart=no --callgrind-out-file=${dir}/callgrind.out.%p ${JSON.stringify(process.execPath)} ${NODE_FLAGS} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const client = await QuantumButlerClient.spawn({ cliPath: cli, stderr: 'inherit', node: wrapper });
    const pid = client.child.pid!;
    let run: Run;
    if (CALL === 'put') run = await putRuns(client);
    else {
      const { withEvents, quiet, inRef } = await openStoredSessions(client, 'event-callgrind');
      run = { events: (n: number) => sequential(n, () => withEvents.stored(inRef)), quiet: (n: number) => sequential(n, () => quiet.stored(inRef)) };
    }
    for (const kind of ['events', 'quiet'] as const) await run[kind](WARMUP);
    const cost = await eventRounds(dir, pid, ROUNDS, CALLS, (kind) => run[kind](CALLS));
    await client.close(600_000);
    console.log(`${cli}, butler/${CALL}: an event costs ${cost.main} main-thread instructions, ${cost.all} on all threads (median [range] of ${ROUNDS} rounds of ${CALLS} calls)`);
  } finally {
    if (KEEP) console.log(`callgrind files kept in ${dir} (dump .1-01 is round 1's first phase, events, on the main thread)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

for (const cli of clis.length > 0 ? clis : [join(root, 'dist', 'src', 'cli.js')]) await measure(cli);
