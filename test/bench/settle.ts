/**
 * Settling the bench process before a timed transfer. `gc()` returns once V8 has marked, but
 * the collection's sweeping and the freeing of the pages it released (a 16 MiB base64 get leaves
 * ~22 MiB of strings here) go on in V8's background threads after it returns: on a 2-core
 * machine they took 2.5-9 ms of CPU during the next timed put, competing with the sidecar's
 * main and hash-worker threads for the cores (test/bench/put-file-cost.ts shows this process's
 * CPU by thread). So the bench collects its garbage, then waits until this process's threads
 * other than the main one have been idle for a short window, before it starts the clock.
 * Linux only (/proc/self/task); elsewhere only the collection.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { collectGarbage } from '../../src/util/collect-garbage.js';

/** CPU microseconds so far of each thread of `pid` (default: this process), by thread id (/proc schedstat; Node names them all "node"); empty without /proc. */
export function threadCpu(pid: number | 'self' = 'self'): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        out.set(task, Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]) / 1000);
      } catch {
        // a thread that ended meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return out;
}

/** CPU microseconds so far of this process's threads other than its main one. */
export function backgroundCpu(): number {
  let us = 0;
  for (const [tid, t] of threadCpu()) if (tid !== String(process.pid)) us += t;
  return us;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Collects this process's garbage, then waits until its background threads used under
 * `idleMicros` of CPU over `windowMs` (at most `maxMs` in all). Returns the wait in ms.
 */
export async function settle(windowMs = 5, idleMicros = 100, maxMs = 500): Promise<number> {
  collectGarbage();
  const start = performance.now();
  let before = backgroundCpu();
  if (before === 0) return 0; // no /proc: the collection only
  while (performance.now() - start < maxMs) {
    await sleep(windowMs);
    const now = backgroundCpu();
    if (now - before < idleMicros) break;
    before = now;
  }
  return performance.now() - start;
}
