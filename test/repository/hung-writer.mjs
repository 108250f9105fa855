// A writer thread that says it is ready and then hangs without a sign of life (as one that
// ran out of memory would): collect-and-transfer must give up on it instead of waiting forever.
import { workerData } from 'node:worker_threads';

const { port, shared } = workerData;
port.postMessage({ kind: 'ready' });
Atomics.add(shared, 1, 1); // SLOT.toCaller (src/repository/bulk-writer-slots.ts)
Atomics.notify(shared, 1);
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
