/**
 * The small put the benches' tools time, as sidecar-bench.ts's put rows make it: `butler/put` of
 * ~1 KiB of JSON, each call to the next of a session's predicted outputs (a new dataset every
 * time), in an in-memory datastore. `notifications: []` opens the session without event streams.
 */
import type { QuantumButlerClient } from '../../src/client/index.js';
import { ref } from './sidecar-bench.js';

export const PUT_VALUE = { payload: 'x'.repeat(1000) };

/** A function that puts PUT_VALUE to the session's next output; `count` puts at most. */
export async function openPutSession(
  client: QuantumButlerClient,
  datastoreName: string,
  count: number,
  opts: { outputName?: string; notifications?: [] } = {},
): Promise<() => Promise<unknown>> {
  const outputs = Array.from({ length: count }, (_, i) => ref(opts.outputName ?? 'out', i, 'StructuredDataDict'));
  const datastore = { kind: 'memory' as const, name: datastoreName };
  const session = await client.openSession({ predicted: { inputs: [], outputs }, datastore, ...(opts.notifications ? { notifications: opts.notifications } : {}) });
  let next = 0;
  return () => session.put({ id: outputs[next++]!.id }, PUT_VALUE);
}
