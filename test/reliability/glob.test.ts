/**
 * Issue 11, finding 4 (a glob froze every session for a minute) and issue 12 (three glob
 * configurations disagreed on `[!a]bc`), through the real CLI.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as P from '../../protocol/index.js';
import type { QuantumButlerClient } from '../../src/client/index.js';
import { ref } from '../e2e/fixture.js';
import { kindOf, spawnClient } from '../e2e/harness.js';

let client: QuantumButlerClient;
let dir: string;

beforeAll(async () => {
  client = await spawnClient();
  dir = mkdtempSync(join(tmpdir(), 'qb-glob-'));
});
afterAll(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('globs', () => {
  // No timing assertion: the test's timeout is the bound (picomatch took 54-71 s here).
  it('a pathological pattern is answered, correctly, and every session keeps being served', { timeout: 20_000 }, async () => {
    const a = await client.openSession({ predicted: { inputs: [], outputs: [] }, store: { kind: 'memory' } });
    const b = await client.openSession({ predicted: { inputs: [], outputs: [] }, store: { kind: 'sqlite', path: join(dir, 'b.sqlite') } });
    const key = `${'a'.repeat(22)}!`;
    await a.store.set(key, Buffer.from('x'), {});
    await a.store.set('aab', Buffer.from('y'), {});
    await b.store.set(key, Buffer.from('x'), {});
    const [onA, onB, ping] = await Promise.all([
      a.store.glob('+(a|a*)b').then((keys) => keys, (err: { kind?: string }) => err.kind),
      b.store.glob('+(a|a*)b').then((keys) => keys, (err: { kind?: string }) => err.kind),
      client.request(P.Ping, undefined as never),
    ]);
    // Either the right answer or a refusal; never a hang.
    expect([['aab'], 'InvalidArgument']).toContainEqual(onA);
    expect([[], 'InvalidArgument']).toContainEqual(onB);
    expect(ping.uptimeMs).toBeGreaterThanOrEqual(0);
    await a.close();
    await b.close();
  });

  it('patterns beyond the limits are InvalidArgument', async () => {
    const s = await client.openSession({ predicted: { inputs: [], outputs: [] }, store: { kind: 'memory' } });
    expect(await kindOf(s.store.glob('a'.repeat(5000)))).toBe('InvalidArgument');
    expect(await kindOf(s.store.glob(`${'@('.repeat(20)}a${')'.repeat(20)}`))).toBe('InvalidArgument');
    expect(await kindOf(s.store.glob('!(a)'))).toBe('InvalidArgument');
    await s.close();
  });

  it('store globs, the columns parameter and dataset type patterns read `[!a]bc` alike', async () => {
    // Store keys.
    const s = await client.openSession({ predicted: { inputs: [], outputs: [ref('catalog', 1, 'RUN', 'Table')] }, store: { kind: 'memory' } });
    for (const k of ['abc', 'xbc', '!bc']) await s.store.set(k, Buffer.from(''), {});
    expect(await s.store.glob('[!a]bc')).toEqual(['!bc', 'xbc']);
    // Table columns through the read parameter.
    const tref = ref('catalog', 1, 'RUN', 'Table');
    await s.put(tref, { columns: { abc: [1], xbc: [2], '!bc': [3] } });
    expect(await s.get(tref, { parameters: { columns: '[!a]bc' } })).toEqual({ columns: { xbc: [2], '!bc': [3] } });
    await s.close();
    // Dataset type names in a repository.
    const root = join(dir, 'repo');
    await client.request(P.RepositoryCreate, { root });
    for (const name of ['abc', 'xbc']) {
      await client.request(P.RepositoryRegisterDatasetType, { root, datasetType: { name, storageClass: 'StructuredDataDict', dimensions: ['instrument'] } });
      await client.request(P.RepositoryPut, { root, datasetType: name, dataId: { instrument: 'Cam1' }, run: 'RUN', payload: { encoding: 'json', value: {} } });
    }
    const found = await client.request(P.RepositoryQueryDatasets, { root, datasetType: '[!a]bc' });
    expect(found.refs.map((r) => r.datasetType)).toEqual(['xbc']);
  });
});
