/** Exit when the client process dies (LSP's processId / --clientProcessId watchdog). */
import { processIsRunning } from '../util/process.js';
import type { Server } from './server.js';

const INTERVAL_MS = 1000;

const watched = new Set<number>();

export function startWatchdog(pid: number, server: Server): void {
  if (watched.has(pid)) return;
  watched.add(pid);
  const timer = setInterval(() => {
    if (!processIsRunning(pid)) {
      clearInterval(timer);
      server.exit(1, `client process ${pid} is gone`);
    }
  }, INTERVAL_MS);
  timer.unref();
}
