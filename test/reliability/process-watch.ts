/**
 * Watching a sidecar process from outside, as the reliability tests must: its memory (from
 * /proc: VmRSS, and VmHWM, the peak, which clear_refs resets), when it has gone idle, and
 * when it is gone. Linux only, like the findings these tests re-enact.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI } from '../e2e/harness.js';

/** The CLI under test: the built one, or QB_TEST_CLI (to show that a test fails on an older build). */
export const CLI_UNDER_TEST = process.env.QB_TEST_CLI ?? CLI;

export const MiB = 1024 * 1024;

function statusField(pid: number, key: string): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!m) throw new Error(`no ${key} for process ${pid}`);
  return Number(m[1]) * 1024;
}

export const rss = (pid: number): number => statusField(pid, 'VmRSS');
export const peakRss = (pid: number): number => statusField(pid, 'VmHWM');

/** Start measuring the peak from now. */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** The process state letter (R, S, Z, ...), or undefined once it is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.charAt(stat.lastIndexOf(')') + 2);
  } catch {
    return undefined;
  }
}

/**
 * A child that becomes a zombie once killed: a shell starts it in the background, prints its pid
 * and then becomes `sleep 60`, which inherits it and never reaps it. Resolves once that exec has
 * happened: killed before, the child is reaped by the shell and never a zombie (a test failed so
 * under load). The shell pauses before its exec, so the wait is needed in every run.
 */
export async function zombieToBe(): Promise<{ parent: ChildProcess; pid: number }> {
  const parent = spawn('sh', ['-c', 'sleep 30 & echo $!; sleep 0.2; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (b: Buffer) => resolve(b.toString().trim()))));
  const execd = () => {
    try {
      return readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim() === 'sleep';
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 1500 && !execd(); i++) await sleep(10);
  if (!execd()) throw new Error('the shell did not become sleep 60');
  return { parent, pid };
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

/**
 * Resolve once the process has used no CPU for `quietMs` (it has done all it will do
 * without new input), or after `maxMs`. A wait for a state, not a timing assertion.
 */
export async function whenIdle(pid: number, quietMs = 600, maxMs = 60_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = cpuTicks(pid);
  while (Date.now() < deadline) {
    await sleep(quietMs);
    const now = cpuTicks(pid);
    if (now === last) return;
    last = now;
  }
}

/** Resolve true once no process has this pid (or it is a zombie), false after `maxMs`. */
export async function whenGone(pid: number, maxMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const state = processState(pid);
    if (state === undefined || state === 'Z') return true;
    await sleep(50);
  }
  return false;
}
