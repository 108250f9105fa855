/** Exit when the client process dies (LSP's processId / --clientProcessId watchdog). */
import { readFileSync } from 'node:fs';
import type { Server } from './server.js';

const INTERVAL_MS = 1000;

/**
 * Whether the process runs. A zombie (state Z in /proc/PID/stat: it has exited and waits
 * for its parent to reap it) still answers signal 0 but is dead; where /proc is missing
 * (not Linux) signal 0 alone decides.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM means it exists but is not ours to signal: alive.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (err) {
    // Gone between the two checks, or no /proc here.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' || !procAvailable();
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, so read after the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X' && state !== 'x';
}

let proc: boolean | undefined;
function procAvailable(): boolean {
  if (proc === undefined) {
    try {
      readFileSync('/proc/self/stat');
      proc = true;
    } catch {
      proc = false;
    }
  }
  return proc;
}

const watched = new Set<number>();

export function startWatchdog(pid: number, server: Server): void {
  if (watched.has(pid)) return;
  watched.add(pid);
  const timer = setInterval(() => {
    if (!isAlive(pid)) {
      clearInterval(timer);
      server.exit(1, `client process ${pid} is gone`);
    }
  }, INTERVAL_MS);
  timer.unref();
}
