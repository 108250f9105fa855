/**
 * The sessions the event-cost benches compare: an input stored once (1 KiB JSON), then one session
 * with the default event streams and one with `notifications: []`, both predicting that input, on
 * a client that listens to provenance. `butler/stored` of `inRef` on each costs the same but for
 * its event.
 */
import type { QuantumButlerClient } from '../../src/client/index.js';
import { ref } from './sidecar-bench.js';

export async function openStoredSessions(client: QuantumButlerClient, datastoreName: string) {
  client.onProvenance(() => {}); // a host that listens
  const input = ref('in', 0, 'StructuredDataDict');
  const datastore = { kind: 'memory' as const, name: datastoreName };
  const seed = await client.openSession({ predicted: { inputs: [], outputs: [input] }, datastore, notifications: [] });
  await seed.put(input, { payload: 'x'.repeat(1000) });
  await seed.close();
  const withEvents = await client.openSession({ predicted: { inputs: [input], outputs: [] }, datastore });
  const quiet = await client.openSession({ predicted: { inputs: [input], outputs: [] }, datastore, notifications: [] });
  return { withEvents, quiet, inRef: { id: input.id } };
}
