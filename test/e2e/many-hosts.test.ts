/**
 * Many hosts, one repository: 8 sidecar processes, each a "host", share one file datastore
 * and one PostgreSQL registry. Each host runs 250 quanta (10 chains of 25, each quantum
 * reading the previous one's output by trust mode) writing into the shared datastore, then
 * collects its own quanta and its neighbour's at the same time as every other host does.
 * Afterwards every dataset is there exactly once, every record matches its file, and
 * lineage walks each chain back to its raw input.
 *
 * Run as root, each host lives in a network namespace of its own that this test creates
 * and removes, and reaches PostgreSQL over a veth pair into a "server" namespace where a
 * forwarder hands connections to the cluster's Unix socket: the hosts' addresses exist
 * only inside those namespaces. Otherwise the hosts are plain processes reaching the
 * server on 127.0.0.1. No traffic leaves loopback or the test's own namespaces.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as P from '../../protocol/index.js';
import type { QuantumButlerClient } from '../../src/client/index.js';
import { CLI, spawnClient } from './harness.js';
import { pgTestSocket, pgTestUrl } from '../support/pg-url.js';
import { dropSchemas, uniqueSchema } from '../support/registries.js';
import { sidecarEnv } from '../../src/client/sidecar-env.js';

const HOSTS = 8;
const CHAINS = 10;
const CHAIN_LENGTH = 25;
const DS = 'FileDatastore@<butlerRoot>/datastore';
const DIMS = ['instrument', 'detector', 'visit'];
const here = dirname(fileURLToPath(import.meta.url));
const url = pgTestUrl();

/** The namespaces this test made (removed in afterAll), or none when the hosts run as plain processes. */
interface Network {
  kind: 'namespaces' | 'loopback';
  why: string;
  /** The registry URL host `h` connects with. */
  urlFor(h: number): string;
  /** The namespace host `h` runs in, if any. */
  namespace(h: number): string | undefined;
  close(): Promise<void>;
}

function run(cmd: string, args: string[]): { ok: boolean; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: `${r.stderr ?? ''}${r.error?.message ?? ''}`.trim() };
}

const loopback = (why: string): Network => ({ kind: 'loopback', why, urlFor: () => url!, namespace: () => undefined, close: async () => {} });

/** Namespaces qbmh<pid>s (server) and qbmh<pid>h<N>, veth pairs 10.213.N.0/30 between them. */
async function namespaces(): Promise<Network> {
  if (process.getuid?.() !== 0) return loopback('not running as root');
  if (!run('ip', ['-V']).ok) return loopback('iproute2 (ip) is not installed');
  const socket = pgTestSocket();
  if (!socket) return loopback('the test server has no local Unix socket to forward to');
  const tag = `qbmh${process.pid % 100000}`;
  const server = `${tag}s`;
  const made: string[] = [];
  let forwarder: ChildProcess | undefined;
  const close = async (): Promise<void> => {
    if (forwarder) {
      forwarder.stdin?.end();
      forwarder.kill();
    }
    // Deleting a namespace deletes the veth ends in it (and so their peers).
    for (const ns of made.reverse()) run('ip', ['netns', 'del', ns]);
  };
  const must = (args: string[]): void => {
    const r = run('ip', args);
    if (!r.ok) throw new Error(`ip ${args.join(' ')}: ${r.err}`);
  };
  try {
    must(['netns', 'add', server]);
    made.push(server);
    must(['-n', server, 'link', 'set', 'lo', 'up']);
    for (let h = 0; h < HOSTS; h++) {
      const ns = `${tag}h${h}`;
      must(['netns', 'add', ns]);
      made.push(ns);
      must(['-n', ns, 'link', 'set', 'lo', 'up']);
      must(['link', 'add', `${tag}a${h}`, 'netns', server, 'type', 'veth', 'peer', 'name', `${tag}b${h}`, 'netns', ns]);
      must(['-n', server, 'addr', 'add', `10.213.${h}.1/30`, 'dev', `${tag}a${h}`]);
      must(['-n', ns, 'addr', 'add', `10.213.${h}.2/30`, 'dev', `${tag}b${h}`]);
      must(['-n', server, 'link', 'set', `${tag}a${h}`, 'up']);
      must(['-n', ns, 'link', 'set', `${tag}b${h}`, 'up']);
    }
    forwarder = spawn('ip', ['netns', 'exec', server, process.execPath, join(here, 'tcp-forwarder.mjs'), socket, '5432'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      forwarder!.stdout!.once('data', () => resolve());
      forwarder!.once('exit', (code) => reject(new Error(`the forwarder exited (${code})`)));
    });
  } catch (err) {
    await close();
    return loopback(`namespaces could not be made here (${(err as Error).message})`);
  }
  const u = new URL(url!);
  return {
    kind: 'namespaces',
    why: 'running as root',
    urlFor: (h) => {
      const v = new URL(u.toString());
      v.hostname = `10.213.${h}.1`;
      v.port = '5432';
      return v.toString();
    },
    namespace: (h) => `${tag}h${h}`,
    close,
  };
}

/** A sidecar as host `h`: in its namespace when there are namespaces, with its registry URL. */
async function spawnHost(net: Network, h: number): Promise<QuantumButlerClient> {
  const ns = net.namespace(h);
  const args = [`--registry-url=${net.urlFor(h)}`];
  if (ns === undefined) return spawnClient({ args });
  // The client spawns `node CLI --stdio ...`; netns-exec.mjs turns that into `ip netns exec NS node CLI ...`.
  return spawnClient({ cliPath: join(here, 'netns-exec.mjs'), args, env: sidecarEnv({ ...process.env, QB_NETNS: ns, QB_CLI: CLI }) });
}

describe.runIf(url !== undefined)('many hosts, one PostgreSQL registry', () => {
  let net: Network;
  let dir: string;
  let root: string;
  let schema: string;
  let coordinator: QuantumButlerClient;
  const hosts: QuantumButlerClient[] = [];

  beforeAll(async () => {
    net = await namespaces();
    process.stdout.write(`[many hosts] ${net.kind === 'namespaces' ? 'each host in a network namespace of its own' : `plain processes on 127.0.0.1 (${net.why})`}\n`);
    dir = mkdtempSync(join(tmpdir(), 'qb-many-hosts-'));
    root = join(dir, 'repo');
    schema = uniqueSchema('hosts');
    coordinator = await spawnClient();
    // blake2b records stated (new repositories carry none): every record is checked against its file below.
    await coordinator.request(P.RepositoryCreate, { root, registry: { kind: 'postgresql', url: url!, schema }, config: { datastore: { checksum: 'blake2b' } } });
    for (const name of ['raw', 'step']) {
      await coordinator.request(P.RepositoryRegisterDatasetType, { root, datasetType: { name, storageClass: 'StructuredDataDict', dimensions: DIMS } });
    }
    for (let h = 0; h < HOSTS; h++) hosts.push(await spawnHost(net, h));
  }, 120_000);

  afterAll(async () => {
    for (const c of hosts) await c.close().catch(() => {});
    await coordinator?.close().catch(() => {});
    await net?.close();
    if (url) await dropSchemas(url, [schema]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('8 hosts × 250 quanta into one datastore, collected concurrently twice over: every dataset once, every record matching its file, lineage complete', async () => {
    // Raw inputs, one per chain, seeded by the coordinator.
    const raws: P.DatasetRef[][] = [];
    for (let h = 0; h < HOSTS; h++) {
      raws.push([]);
      for (let c = 0; c < CHAINS; c++) {
        const put = await coordinator.request(P.RepositoryPut, { root, datasetType: 'raw', dataId: { instrument: 'Hosts', detector: h * CHAINS + c, visit: 0 }, run: 'raw', payload: { encoding: 'json', value: { v: 0 } } });
        raws[h]!.push(put.ref);
      }
    }

    // Every host runs its chains (concurrently with the other hosts), each quantum a session.
    const executed = await Promise.all(
      hosts.map(async (client, h) => {
        const items: Array<{ quantum: Record<string, unknown>; provenance: unknown }> = [];
        const lasts: string[] = [];
        await Promise.all(
          raws[h]!.map(async (raw, c) => {
            let input: P.DatasetRefInput = { id: raw.id };
            for (let k = 0; k < CHAIN_LENGTH; k++) {
              const made = await client.request(P.RepositoryMakeQuantum, {
                root,
                taskName: 'hosts.Step',
                inputs: [input],
                outputs: [{ datasetType: 'step', dataId: { instrument: 'Hosts', detector: h * CHAINS + c, visit: k + 1 }, run: `host${h}` }],
              });
              const s = await client.openSession({ quantum: made.quantum, repository: { root }, notifications: [] });
              const value = (await s.get(input.id)) as { v: number };
              await s.put(made.outputs[0]!.id, { v: value.v + 1, host: h });
              items.push({ quantum: made.quantum, provenance: (await s.close()).provenance });
              input = made.outputs[0]!;
            }
            lasts.push(input.id);
          }),
        );
        return { items, lasts };
      }),
    );

    // Every host collects its own quanta and its neighbour's, all at once.
    const reports = await Promise.all(
      hosts.flatMap((client, h) =>
        [h, (h + 1) % HOSTS].map((source) =>
          client.request(P.RepositoryCollectAndTransfer, {
            root,
            quanta: executed[source]!.items.map((i) => i.quantum),
            provenance: executed[source]!.items.map((i) => i.provenance as never),
          }),
        ),
      ),
    );
    const total = HOSTS * CHAINS * CHAIN_LENGTH;
    for (const r of reports) expect(r).toMatchObject({ committed: true, conflicts: [], writer: 'server' });
    // Each dataset and quantum inserted by exactly one of the two collectors that had it.
    expect(reports.reduce((n, r) => n + r.datasets.inserted, 0)).toBe(total);
    expect(reports.reduce((n, r) => n + r.datasets.alreadyPresent, 0)).toBe(total);
    expect(reports.reduce((n, r) => n + r.quanta.stored, 0)).toBe(total);
    expect(reports.reduce((n, r) => n + r.quanta.alreadyPresent, 0)).toBe(total);

    const steps = (await coordinator.request(P.RepositoryQueryDatasets, { root, datasetType: 'step' })).refs;
    expect(steps).toHaveLength(total);
    expect(new Set(steps.map((r) => r.id)).size).toBe(total);

    // Every record (outputs and raws) matches the file at its path.
    const refs = [...steps, ...raws.flat()].map((r) => ({ id: r.id }));
    const exported = (await coordinator.request(P.RepositoryExportRecords, { root, refs })).records[DS]!;
    let checked = 0;
    for (const perId of Object.values(exported.records)) {
      for (const tables of Object.values(perId)) {
        for (const row of tables['file_datastore_records']!) {
          const bytes = readFileSync(join(root, 'datastore', row['path'] as string));
          expect(createHash('blake2b512').update(bytes).digest('hex')).toBe(row['checksum']);
          checked++;
        }
      }
    }
    expect(checked).toBe(refs.length);

    // Lineage walks each chain from its last output back to its raw input, and down again.
    for (let h = 0; h < HOSTS; h++) {
      for (const last of executed[h]!.lasts) {
        const up = await coordinator.request(P.RepositoryLineage, { root, datasetId: last, direction: 'up' });
        expect(up.quanta).toHaveLength(CHAIN_LENGTH);
        expect(up.hops).toBe(CHAIN_LENGTH);
        expect(up.datasets).toHaveLength(CHAIN_LENGTH + 1);
        expect(up.datasets.filter((d) => d.datasetType === 'raw')).toHaveLength(1);
      }
    }
    const down = await coordinator.request(P.RepositoryLineage, { root, datasetId: raws[3]![4]!.id, direction: 'down' });
    expect(down.quanta).toHaveLength(CHAIN_LENGTH);
  }, 600_000);
});
