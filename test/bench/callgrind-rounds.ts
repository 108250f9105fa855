/**
 * What event-callgrind.ts and client-callgrind.ts share: rounds of a phase with events and one
 * without in a process run under `valgrind --tool=callgrind --separate-threads=yes
 * --instr-atstart=no`, each phase collected and dumped on its own (callgrind_control), and the
 * dumps read.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './sidecar-bench.js';

export type Kind = 'events' | 'quiet';
interface Dumped {
  main: number;
  all: number;
}

/** Main-thread and all-thread instructions of the dump numbered `n` (callgrind_control -d) of `pid` in `dir`. */
function dumped(dir: string, pid: number, n: number): Dumped {
  let main = 0, all = 0;
  for (const f of readdirSync(dir).filter((name) => name.startsWith(`callgrind.out.${pid}.${n}-`))) {
    const m = /^totals: (\d+)/m.exec(readFileSync(join(dir, f), 'utf8'));
    const ir = m ? Number(m[1]) : 0;
    all += ir;
    if (f.endsWith('-01')) main = ir;
  }
  return { main, all };
}

/**
 * `rounds` rounds of `run` with events and without (`calls` calls each) in process `pid`, which
 * dumps into `dir`, in alternating order (so that a drift falls on both alike), only the calls
 * collected; prints each round, and returns the median cost of an event (events minus quiet, per
 * call) with its range, on the main thread and on all threads.
 */
export async function eventRounds(dir: string, pid: number, rounds: number, calls: number, run: (kind: Kind) => Promise<unknown>): Promise<{ main: string; all: string }> {
  const control = (...args: string[]) => execFileSync('callgrind_control', [...args, String(pid)], { stdio: 'ignore' });
  let dump = 0;
  const phase = async (kind: Kind): Promise<Dumped> => {
    control('-z');
    control('-i', 'on');
    await run(kind);
    control('-i', 'off');
    control('-d');
    return dumped(dir, pid, ++dump);
  };
  const main: number[] = [], all: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const first: Kind = r % 2 === 0 ? 'events' : 'quiet';
    const a = await phase(first);
    const b = await phase(first === 'events' ? 'quiet' : 'events');
    const [ev, q] = first === 'events' ? [a, b] : [b, a];
    main.push((ev.main - q.main) / calls);
    all.push((ev.all - q.all) / calls);
    console.log(`  round ${r + 1}: events ${Math.round(ev.main / calls)}, quiet ${Math.round(q.main / calls)} main-thread instructions a call; an event ${Math.round(main[r]!)} (main), ${Math.round(all[r]!)} (all threads)`);
  }
  const fmt = (xs: number[]) => `${Math.round(median(xs))} [${Math.round(Math.min(...xs))}, ${Math.round(Math.max(...xs))}]`;
  return { main: fmt(main), all: fmt(all) };
}
