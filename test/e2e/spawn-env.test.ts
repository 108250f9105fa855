/**
 * The environment the Node client gives the sidecar (src/client/sidecar-env.ts), read from the
 * running child (/proc/PID/environ, Linux), and what it does for a PostgreSQL registry behind
 * a private CA: the test cluster's TLS certificate is signed by a throwaway CA
 * (scripts/pg-cluster.sh), reached with sslmode=verify-full at localhost.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as P from '../../protocol/index.js';
import { EXTRA_CA_CERTS_VAR, sidecarEnv, type QuantumButlerClient } from '../../src/client/index.js';
import { EXTRA_CA_CERTS_VAR as SIDECAR_VAR } from '../../src/util/extra-ca-certs.js';
import { pgTestCa, pgTestUrl, pgTlsUrl } from '../support/pg-url.js';
import { dropSchemas, uniqueSchema } from '../support/registries.js';
import { kindOf, spawnClient } from './harness.js';

const linux = process.platform === 'linux';

function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** Runs `fn` with NODE_EXTRA_CA_CERTS (and our variable) of this process set as given, then restores both. */
async function withHostEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>): void => {
    for (const [k, value] of Object.entries(v)) {
      if (value === undefined) delete process.env[k];
      else process.env[k] = value;
    }
  };
  set(vars);
  try {
    return await fn();
  } finally {
    set(saved);
  }
}

/** The child's environment and `fn`'s result, with the sidecar closed after. */
async function withSidecar<T>(opts: Parameters<typeof spawnClient>[0], fn: (c: QuantumButlerClient) => Promise<T>): Promise<{ env: Record<string, string>; result: T }> {
  const client = await spawnClient(opts);
  try {
    const env = linux ? environOf(client.child.pid!) : {};
    return { env, result: await fn(client) };
  } finally {
    await client.close();
  }
}

let dir: string;
let certFile: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qb-spawn-env-'));
  certFile = join(dir, 'extra.crt');
  writeFileSync(certFile, rootCertificates[0]!);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sidecarEnv', () => {
  it('moves NODE_EXTRA_CA_CERTS to QUANTUM_BUTLER_EXTRA_CA_CERTS, in a copy', () => {
    const env = { PATH: '/bin', NODE_EXTRA_CA_CERTS: '/a.crt' };
    expect(sidecarEnv(env)).toEqual({ PATH: '/bin', QUANTUM_BUTLER_EXTRA_CA_CERTS: '/a.crt' });
    expect(env).toEqual({ PATH: '/bin', NODE_EXTRA_CA_CERTS: '/a.crt' });
    expect(EXTRA_CA_CERTS_VAR).toBe(SIDECAR_VAR); // the name the sidecar reads
  });

  it('leaves an environment without the variable, or with ours naming another file, as it is', () => {
    expect(sidecarEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin' });
    expect(sidecarEnv({ NODE_EXTRA_CA_CERTS: '' })).toEqual({ NODE_EXTRA_CA_CERTS: '' });
    const both = { NODE_EXTRA_CA_CERTS: '/a.crt', QUANTUM_BUTLER_EXTRA_CA_CERTS: '/b.crt' };
    expect(sidecarEnv(both)).toEqual(both);
    expect(sidecarEnv({ NODE_EXTRA_CA_CERTS: '/a.crt', QUANTUM_BUTLER_EXTRA_CA_CERTS: '/a.crt' })).toEqual({ QUANTUM_BUTLER_EXTRA_CA_CERTS: '/a.crt' });
  });
});

describe.runIf(linux)('the Node client spawns the sidecar', () => {
  it('with NODE_EXTRA_CA_CERTS moved to QUANTUM_BUTLER_EXTRA_CA_CERTS when no env is given', async () => {
    const { env } = await withHostEnv({ NODE_EXTRA_CA_CERTS: certFile, [EXTRA_CA_CERTS_VAR]: undefined }, () => withSidecar({}, async () => {}));
    expect(env['NODE_EXTRA_CA_CERTS']).toBeUndefined();
    expect(env[EXTRA_CA_CERTS_VAR]).toBe(certFile);
    expect(env['PATH']).toBe(process.env['PATH']);
  });

  it('with an env given used as given', async () => {
    const given: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: certFile, QB_SPAWN_ENV_TEST: '1' };
    delete given[EXTRA_CA_CERTS_VAR];
    const { env } = await withSidecar({ env: given }, async () => {});
    expect(env['NODE_EXTRA_CA_CERTS']).toBe(certFile);
    expect(env[EXTRA_CA_CERTS_VAR]).toBeUndefined();
    expect(env['QB_SPAWN_ENV_TEST']).toBe('1');
    const moved = await withSidecar({ env: sidecarEnv(given) }, async () => {});
    expect(moved.env['NODE_EXTRA_CA_CERTS']).toBeUndefined();
    expect(moved.env[EXTRA_CA_CERTS_VAR]).toBe(certFile);
  });
});

const pgUrl = pgTestUrl();
const ca = pgTestCa();

describe.runIf(pgUrl !== undefined && ca !== undefined)('a PostgreSQL registry behind a private CA (sslmode=verify-full)', () => {
  const schemas: string[] = [];
  afterAll(async () => dropSchemas(pgUrl!, schemas));

  /** repository/create with a registry at the TLS URL; undefined when it works, else the error's kind and message. */
  async function create(client: QuantumButlerClient): Promise<{ kind: string | undefined; message: string } | undefined> {
    const schema = uniqueSchema('tls');
    schemas.push(schema);
    const root = join(dir, schema);
    const p = client.request(P.RepositoryCreate, { root, registry: { kind: 'postgresql', url: pgTlsUrl(pgUrl!), schema } });
    const kind = await kindOf(p);
    return kind === undefined ? undefined : { kind, message: await p.then(() => '', (e: Error) => e.message) };
  }

  it('verifies the server with the CA moved out of NODE_EXTRA_CA_CERTS by the client', async () => {
    const { env, result } = await withHostEnv({ NODE_EXTRA_CA_CERTS: ca, [EXTRA_CA_CERTS_VAR]: undefined }, () => withSidecar({}, create));
    expect(result).toBeUndefined();
    if (linux) expect([env['NODE_EXTRA_CA_CERTS'], env[EXTRA_CA_CERTS_VAR]]).toEqual([undefined, ca]);
  });

  it('verifies it with the CA given to the sidecar only in QUANTUM_BUTLER_EXTRA_CA_CERTS (added at its first TLS connection)', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, [EXTRA_CA_CERTS_VAR]: ca };
    delete env['NODE_EXTRA_CA_CERTS'];
    expect((await withSidecar({ env }, create)).result).toBeUndefined();
  });

  it('verifies it as before when spawned with NODE_EXTRA_CA_CERTS itself (Node applies it)', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: ca };
    delete env[EXTRA_CA_CERTS_VAR];
    expect((await withSidecar({ env }, create)).result).toBeUndefined();
  });

  it('refuses a server it cannot verify, saying where a CA comes from', async () => {
    const env = { ...process.env };
    delete env['NODE_EXTRA_CA_CERTS'];
    delete env[EXTRA_CA_CERTS_VAR];
    const { result } = await withSidecar({ env }, create);
    expect(result?.kind).toBe('RepositoryError');
    expect(result?.message).toMatch(/TLS certificate that does not verify \(unable to verify the first certificate, UNABLE_TO_VERIFY_LEAF_SIGNATURE\); name its CA with sslrootcert=/);
  });
});
