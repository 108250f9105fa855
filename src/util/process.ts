/**
 * Whether a process runs on this host: the one answer for the transport's client watchdog
 * and the file store's sweep of a dead writer's temp files.
 */
import { readFileSync } from 'node:fs';

/**
 * True while process `pid` runs here. A zombie (it has exited and waits for its parent to
 * reap it) still answers signal 0 but is dead: on Linux its state in /proc/PID/stat is Z
 * (or X/x while being reaped). Where /proc is missing (not Linux) signal 0 alone decides.
 */
export function processIsRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but is not ours to signal.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (err) {
    // Gone between the two checks (ENOENT where /proc exists), or no /proc here.
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
