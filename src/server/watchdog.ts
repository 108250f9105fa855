/** Exit when the client process dies (LSP's processId / --clientProcessId watchdog). */
import type { Server } from './server.js';

const INTERVAL_MS = 1000;

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM means it exists but is not ours to signal: alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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
