/** Spawning the built CLI as a host would, and seeding a named in-memory datastore. */
import { existsSync } from 'node:fs';
import { QuantumButlerClient, QuantumButlerError, type SpawnOptions } from '../../src/client/index.js';
import { defaultCliPath } from '../../src/client/client.js';
import { initRef, inputRefs } from './fixture.js';

export const CLI = defaultCliPath();

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does).`);
}

export async function spawnClient(opts: SpawnOptions = {}): Promise<QuantumButlerClient> {
  assertBuilt();
  return QuantumButlerClient.spawn({ stderr: 'pipe', ...opts });
}

let counter = 0;
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

/**
 * Stores the fixture's inputs ({data: detector}) and init ({data: -1}) into the named
 * datastore, through a seeding session whose predicted outputs are those datasets.
 */
export async function seedInputs(client: QuantumButlerClient, datastore: string): Promise<void> {
  const inputs = inputRefs();
  const init = initRef();
  const seed = await client.openSession({
    predicted: { inputs: [], outputs: [...inputs, init], taskName: 'seed' },
    datastore: { kind: 'memory', name: datastore },
    notifications: [],
  });
  for (const r of inputs) await seed.put(r, { data: r.dataId.dataId.detector });
  await seed.put(init, { data: -1 });
  await seed.close();
}

/** The data.kind of the error a call fails with, or undefined if it succeeds. */
export async function kindOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (err instanceof QuantumButlerError) return err.kind;
    throw err;
  }
}
