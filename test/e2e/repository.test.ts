/**
 * Persistent repositories through the real CLI, with each registry backend (PostgreSQL
 * when a test server is configured): daf_butler's predicted records, a two-quantum
 * collect-and-transfer where the second reads the first one's outputs by trust mode,
 * record merge, idempotent re-runs, conflicts that write nothing, lineage, export
 * formats, and a sidecar killed mid-put.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as P from '../../protocol/index.js';
import type { QuantumButlerClient } from '../../src/client/index.js';
import { spawnClient, kindOf } from './harness.js';
import { RawClient } from './raw-client.js';
import { pgTestUrl } from '../support/pg-url.js';
import { dropSchemas, uniqueSchema } from '../support/registries.js';
import { until } from '../support/until.js';

const DIMS = ['instrument', 'detector'];
const DETECTORS = [1, 2, 3, 4];

type RegistrySpec = P.ParamsOf<typeof P.RepositoryCreate>['registry'];
const pgUrl = pgTestUrl();
const BACKENDS: Array<{ kind: 'sqlite' | 'postgresql'; registry: () => RegistrySpec }> = [
  { kind: 'sqlite', registry: () => undefined },
  ...(pgUrl ? [{ kind: 'postgresql' as const, registry: (): RegistrySpec => ({ kind: 'postgresql', url: pgUrl, schema: uniqueSchema('e2e') }) }] : []),
];

describe.each(BACKENDS)('repository ($kind registry)', ({ kind, registry }) => {
let client: QuantumButlerClient;
let dir: string;
let root: string;
const schemas: string[] = [];
/** repository/create params for a new repository of this backend. */
const create = (r: string): P.ParamsOf<typeof P.RepositoryCreate> => {
  const spec = registry();
  if (spec?.kind === 'postgresql' && spec.schema) schemas.push(spec.schema);
  return spec ? { root: r, registry: spec } : { root: r };
};

beforeAll(async () => {
  client = await spawnClient();
  dir = mkdtempSync(join(tmpdir(), 'qb-repo-'));
  root = join(dir, 'repo');
});
afterAll(async () => {
  expect(await client.close()).toBe(0);
  rmSync(dir, { recursive: true, force: true });
  if (pgUrl) await dropSchemas(pgUrl, schemas);
});


const rq = <D extends P.RequestDef<any, any>>(def: D, params: P.ParamsOf<D>) => client.request(def, params);

/** One executed quantum and its provenance as two files, made in a repository of their own (`tag`), for batch tests. */
async function quantumAndProvenanceFiles(tag: string): Promise<[string, string]> {
  const r = join(dir, `${tag}-source`);
  await rq(P.RepositoryCreate, create(r));
  for (const name of ['input', 'output']) {
    await rq(P.RepositoryRegisterDatasetType, { root: r, datasetType: { name, storageClass: 'StructuredDataDict', dimensions: DIMS } });
  }
  const dataId = { instrument: 'Cam1', detector: 1 };
  const input = (await rq(P.RepositoryPut, { root: r, datasetType: 'input', dataId, run: 'RUN', payload: { encoding: 'json', value: { data: 1 } } })).ref;
  const made = await rq(P.RepositoryMakeQuantum, { root: r, taskName: 'test.Batch', inputs: [{ id: input.id }], outputs: [{ datasetType: 'output', dataId, run: 'RUN' }] });
  const s = await client.openSession({ quantum: made.quantum, repository: { root: r } });
  await s.get(input.id);
  await s.put(made.outputs[0]!.id, { data: 2 });
  const files: [string, string] = [join(dir, `${tag}-quantum.json`), join(dir, `${tag}-provenance.json`)];
  writeFileSync(files[0], JSON.stringify(made.quantum));
  writeFileSync(files[1], JSON.stringify((await s.close()).provenance));
  return files;
}

type Made = P.ResultOf<typeof P.RepositoryMakeQuantum>;
let q1: Made;
let q2: Made;
let inputs: P.DatasetRef[];
let init: P.DatasetRef;
const provenance: unknown[] = [];

describe('repository', () => {
  it('creates a repository, registers types and seeds inputs', async () => {
    const created = await rq(P.RepositoryCreate, create(root));
    expect(created.datastoreName).toBe('FileDatastore@<butlerRoot>/datastore');
    expect(existsSync(join(root, 'butler.json'))).toBe(true);
    expect(await kindOf(rq(P.RepositoryCreate, { root }))).toBe('RepositoryError');
    for (const name of ['input', 'init', 'output', 'output2']) {
      const r = await rq(P.RepositoryRegisterDatasetType, {
        root,
        datasetType: { name, storageClass: 'StructuredDataDict', dimensions: DIMS },
      });
      expect(r.registered).toBe(true);
    }
    expect((await rq(P.RepositoryRegisterDatasetType, { root, datasetType: { name: 'input', storageClass: 'StructuredDataDict', dimensions: DIMS } })).registered).toBe(false);
    expect(await kindOf(rq(P.RepositoryRegisterDatasetType, { root, datasetType: { name: 'input', storageClass: 'Text', dimensions: DIMS } }))).toBe(
      'ConflictingDefinition',
    );
    inputs = [];
    for (const d of DETECTORS) {
      const r = await rq(P.RepositoryPut, { root, datasetType: 'input', dataId: { instrument: 'Cam1', detector: d }, run: 'RUN', payload: { encoding: 'json', value: { data: d } } });
      expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
      inputs.push(r.ref);
    }
    init = (await rq(P.RepositoryPut, { root, datasetType: 'init', dataId: { instrument: 'Cam1', detector: 1 }, run: 'RUN', payload: { encoding: 'json', value: { data: -1 } } })).ref;
    const found = await rq(P.RepositoryQueryDatasets, { root, datasetType: 'in*' });
    expect(found.refs.map((r) => r.id).sort()).toEqual([...inputs, init].map((r) => r.id).sort());
    expect((await rq(P.RepositoryQueryDatasets, { root, dataId: { detector: 2 } })).refs).toHaveLength(1);
    const got = await rq(P.RepositoryGet, { root, ref: { id: inputs[2]!.id } });
    expect(got.payload).toEqual({ encoding: 'json', value: { data: 3 } });
  });

  it('makes quanta; the first carries its inputs\' records, the second none', async () => {
    q1 = await rq(P.RepositoryMakeQuantum, {
      root,
      taskName: 'test.Task1',
      inputs: inputs.map((r) => ({ id: r.id })),
      initInputs: [{ id: init.id }],
      outputs: DETECTORS.map((d) => ({ datasetType: 'output', dataId: { instrument: 'Cam1', detector: d }, run: 'RUN' })),
    });
    const records = (q1.quantum.datastoreRecords as Record<string, { dataset_ids: string[] }>)['FileDatastore@<butlerRoot>/datastore']!;
    expect(records.dataset_ids.sort()).toEqual([...inputs, init].map((r) => r.id).sort());
    q2 = await rq(P.RepositoryMakeQuantum, {
      root,
      taskName: 'test.Task2',
      inputs: q1.outputs,
      outputs: DETECTORS.map((d) => ({ datasetType: 'output2', dataId: { instrument: 'Cam1', detector: d }, run: 'RUN' })),
    });
    expect(q2.quantum.datastoreRecords ?? {}).toEqual({});
  });

  it('11. exports predicted records for outputs without any put; unknown refs are refused', async () => {
    const s = await client.openSession({ quantum: q1.quantum, repository: { root } });
    const out = await client.request(P.ExportPredictedRecords, { sessionId: s.sessionId, refs: q1.outputs });
    const rec = out.records['FileDatastore@<butlerRoot>/datastore']!;
    expect(rec.dataset_ids.sort()).toEqual(q1.outputs.map((r) => r.id).sort());
    expect(await kindOf(client.request(P.ExportPredictedRecords, { sessionId: s.sessionId, refs: q2.outputs }))).toBe('InvalidArgument');
    await s.close();
  });

  it('12. two quanta: the second reads the first one\'s outputs by trust mode; collect-and-transfer imports both', async () => {
    const s1 = await client.openSession({ quantum: q1.quantum, repository: { root, recordsFile: join(dir, 'q1.records.sqlite3') } });
    expect(Object.values(await s1.storedMany([...inputs, init].map((r) => r.id))).every(Boolean)).toBe(true);
    for (const r of inputs) await s1.get(r.id);
    await s1.get(init.id);
    for (const [i, o] of q1.outputs.entries()) await s1.put(o.id, { data: DETECTORS[i]! ** 2 });
    const p1 = await s1.extractProvenance('daf_butler');
    expect(Object.keys(p1.datastore_records)).toEqual(['FileDatastore@<butlerRoot>/datastore']);
    // Every format, typed by the client and valid by the protocol's schema of that format.
    P.ProvenanceDocumentSchemas.native.parse(await s1.extractProvenance());
    const live = await s1.extractProvenance('prov');
    expect(P.checkProvJsonReferences(P.ProvenanceDocumentSchemas.prov.parse(live))).toEqual([]);
    expect(Object.keys(live.wasGeneratedBy)).toHaveLength(4);
    const events = P.ProvenanceDocumentSchemas.openlineage.parse(await s1.extractProvenance('openlineage'));
    expect(events.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    expect(events[1]!.run.runId).toBe(events[0]!.run.runId);
    provenance.push((await s1.close()).provenance);

    const s2 = await client.openSession({ quantum: q2.quantum, repository: { root } });
    for (const [i, o] of q1.outputs.entries()) {
      const v = (await s2.get(o.id)) as { data: number };
      await s2.put(q2.outputs[i]!.id, { data: v.data * DETECTORS[i]! });
    }
    provenance.push((await s2.close()).provenance);

    // Nothing is in the registry yet.
    expect((await rq(P.RepositoryQueryDatasets, { root, datasetType: 'output*' })).refs).toEqual([]);
    const dry = await rq(P.RepositoryCollectAndTransfer, { root, quanta: [q1.quantum, q2.quantum], provenance: provenance as never, dryRun: true });
    expect(dry.datasets.inserted).toBe(8);
    expect(dry.committed).toBe(false);
    expect((await rq(P.RepositoryQueryDatasets, { root, datasetType: 'output*' })).refs).toEqual([]);

    // Provenance may also come as files.
    const p2file = join(dir, 'p2.json');
    writeFileSync(p2file, JSON.stringify(provenance[1]));
    const report = await rq(P.RepositoryCollectAndTransfer, { root, quanta: [q1.quantum, q2.quantum], provenance: [provenance[0] as never, p2file] });
    expect(report.conflicts).toEqual([]);
    expect(report.committed).toBe(true);
    expect(report.datasets.inserted).toBe(8);
    expect(report.quanta.stored).toBe(2);
    expect(report.datasets.byGroup).toEqual(
      expect.arrayContaining([
        { datasetType: 'output', run: 'RUN', count: 4 },
        { datasetType: 'output2', run: 'RUN', count: 4 },
      ]),
    );
    for (const [i, o] of q1.outputs.entries()) {
      expect((await rq(P.RepositoryGet, { root, ref: { id: o.id } })).payload).toEqual({ encoding: 'json', value: { data: DETECTORS[i]! ** 2 } });
    }
    for (const [i, o] of q2.outputs.entries()) {
      expect((await rq(P.RepositoryGet, { root, ref: { id: o.id } })).payload).toEqual({ encoding: 'json', value: { data: DETECTORS[i]! ** 3 } });
    }
  });

  it('re-running collect-and-transfer changes nothing', async () => {
    const again = await rq(P.RepositoryCollectAndTransfer, { root, quanta: [q1.quantum, q2.quantum], provenance: provenance as never });
    expect(again.datasets.inserted).toBe(0);
    expect(again.datasets.alreadyPresent).toBe(8);
    expect(again.quanta).toEqual({ stored: 0, alreadyPresent: 2 });
    expect(again.records.inserted).toBe(0);
  });

  it('a batch of 2,000 items goes through the bulk writer of the real CLI (SQLite: its writer thread)', async () => {
    // The two quanta, then the same two again and again, all given as file paths.
    const files = [q1.quantum, q2.quantum, ...provenance].map((doc, i) => {
      const f = join(dir, `batch-${i}.json`);
      writeFileSync(f, JSON.stringify(doc));
      return f;
    });
    const n = 2000;
    const quanta = Array.from({ length: n }, (_, i) => files[i % 2]!);
    const docs = Array.from({ length: n }, (_, i) => files[2 + (i % 2)]!);
    const fresh = join(dir, 'fresh-repo');
    await rq(P.RepositoryCreate, create(fresh));
    const report = await rq(P.RepositoryCollectAndTransfer, { root: fresh, quanta, provenance: docs });
    const writer = kind === 'sqlite' ? 'thread' : 'server';
    expect(report).toMatchObject({ writer, committed: true, conflicts: [], quanta: { stored: 2, alreadyPresent: n - 2 } });
    expect(report.datasets.inserted).toBe(8);
    expect((await rq(P.RepositoryQueryDatasets, { root: fresh, datasetType: 'output*' })).refs).toHaveLength(8);
    // The same batch on the first repository: everything is already there.
    const again = await rq(P.RepositoryCollectAndTransfer, { root, quanta, provenance: docs });
    expect(again).toMatchObject({ writer, committed: true, datasets: { inserted: 0 }, quanta: { stored: 0, alreadyPresent: n } });
  }, 90_000); // two collects of 2,000 files each: on a loaded machine they have taken over 30 s

  it('a malformed provenance file in the middle of 2,000 (read on parser threads) fails the call with InvalidArgument naming its index; nothing is written', async () => {
    const files = [q1.quantum, q2.quantum, ...provenance].map((doc, i) => {
      const f = join(dir, `malformed-batch-${i}.json`);
      writeFileSync(f, JSON.stringify(doc));
      return f;
    });
    const broken = join(dir, 'malformed-provenance.json');
    writeFileSync(broken, JSON.stringify({ ...(provenance[1] as object), actualOutputs: ['not-an-id'] }).slice(0, -1));
    const n = 2000;
    const quanta = Array.from({ length: n }, (_, i) => files[i % 2]!);
    const docs = Array.from({ length: n }, (_, i) => (i === 1201 ? broken : files[2 + (i % 2)]!));
    const fresh = join(dir, 'malformed-repo');
    await rq(P.RepositoryCreate, create(fresh));
    const c = new RawClient();
    try {
      await c.initialize();
      // Reading 2,000 files: 3-4 s on a quiet machine, over the default 10 s on a loaded one.
      const res = await c.response(c.request('repository/collectAndTransfer', { root: fresh, quanta, provenance: docs }), 60_000);
      expect(res.error).toMatchObject({ code: 1028, data: { kind: 'InvalidArgument' } });
      expect((res.error as { message: string }).message).toMatch(/^Provenance document 1201 is not JSON/);
      // The document, complete, is still refused (its id), as an inline one would be.
      writeFileSync(broken, JSON.stringify({ ...(provenance[1] as object), actualOutputs: ['not-an-id'] }));
      const res2 = await c.response(c.request('repository/collectAndTransfer', { root: fresh, quanta, provenance: docs }), 60_000);
      expect(res2.error).toMatchObject({ data: { kind: 'InvalidDatasetRef' } });
      expect((res2.error as { message: string }).message).toMatch(/not-an-id/);
      expect((await c.call('repository/queryDatasets', { root: fresh })).result).toEqual({ refs: [] });
    } finally {
      c.kill();
    }
  }, 150_000);

  // Once (SQLite): reading 40,000 document files is most of it, whichever registry is written.
  it.runIf(kind === 'sqlite')('a long collect-and-transfer keeps the server answering, reports progress as it goes, and can be cancelled', async () => {
    const [quantumFile, provenanceFile] = await quantumAndProvenanceFiles('long');
    const n = 20_000;
    const quanta = Array.from({ length: n }, () => quantumFile);
    const docs = Array.from({ length: n }, () => provenanceFile);
    const c = new RawClient();
    try {
      await c.initialize();
      const fresh = join(dir, 'cancel-repo');
      expect((await c.call('repository/create', { root: fresh })).error).toBeUndefined();
      const id = c.request('repository/collectAndTransfer', { root: fresh, quanta, provenance: docs, workDoneToken: 'w1' });
      // Progress from the collect phase itself ("k/n quanta") arrives before the answer...
      await c.waitFor((m) => m.method === '$/progress' && /quanta/.test(String((m.params as { value: { message?: string } }).value.message)), 60_000);
      // ...another request is answered meanwhile...
      const ping = await c.call('server/ping');
      expect(ping.result).toBeDefined();
      expect(c.messages.some((m) => m.id === id)).toBe(false);
      // ...and a cancellation takes effect: nothing is written, the registry can be written again.
      c.notify('$/cancelRequest', { id });
      const res = await c.response(id, 60_000);
      expect(res.error).toMatchObject({ code: -32800, data: { kind: 'RequestCancelled' } });
      expect((await c.call('repository/queryDatasets', { root: fresh })).result).toEqual({ refs: [] });
      const ok = await c.call('repository/collectAndTransfer', { root: fresh, quanta: quanta.slice(0, 2), provenance: docs.slice(0, 2) });
      expect(ok.result).toMatchObject({ committed: true, quanta: { stored: 1, alreadyPresent: 1 } });
    } finally {
      c.kill();
    }
  }, 120_000); // reading 40,000 document files takes most of it

  it('a conflicting batch is reported and leaves the registry untouched', async () => {
    const q3 = await rq(P.RepositoryMakeQuantum, {
      root,
      taskName: 'test.Task3',
      inputs: inputs.slice(0, 1).map((r) => ({ id: r.id })),
      // Same (type, run, data ID) as an existing output, under a new random id.
      outputs: [{ datasetType: 'output', dataId: { instrument: 'Cam1', detector: 1 }, run: 'RUN', idGenerationMode: 'UNIQUE' }],
    });
    const s3 = await client.openSession({ quantum: q3.quantum, repository: { root } });
    await s3.put(q3.outputs[0]!.id, { data: 'other' });
    const p3 = (await s3.close()).provenance;
    const before = await rq(P.RepositoryQueryDatasets, { root });
    const report = await rq(P.RepositoryCollectAndTransfer, { root, quanta: [q3.quantum], provenance: [p3 as never] });
    expect(report.committed).toBe(false);
    expect(report.conflicts.length).toBeGreaterThan(0);
    expect(report.conflicts[0]!.datasetId).toBe(q3.outputs[0]!.id);
    expect(await rq(P.RepositoryQueryDatasets, { root })).toEqual(before);
    expect(await kindOf(rq(P.RepositoryGet, { root, ref: { id: q3.outputs[0]!.id } }))).toBe('DatasetNotFound');
  });

  it('13. lineage of a second-step output walks back to the original inputs', async () => {
    const up = await rq(P.RepositoryLineage, { root, datasetId: q2.outputs[0]!.id, direction: 'up' });
    expect(up.quanta.map((q) => q.taskName).sort()).toEqual(['test.Task1', 'test.Task2']);
    const ids = up.datasets.map((d) => d.id);
    expect(ids).toEqual(expect.arrayContaining([q1.outputs[0]!.id, ...inputs.map((r) => r.id), init.id]));
    const one = await rq(P.RepositoryLineage, { root, datasetId: q2.outputs[0]!.id, direction: 'up', depth: 1 });
    expect(one.quanta.map((q) => q.taskName)).toEqual(['test.Task2']);
    expect(one.truncated).toBe(true);
    const down = await rq(P.RepositoryLineage, { root, datasetId: inputs[0]!.id, direction: 'down' });
    expect(down.datasets.map((d) => d.id)).toEqual(expect.arrayContaining([q1.outputs[0]!.id, q2.outputs[0]!.id]));
  });

  it('stored provenance exports as native, daf_butler, W3C PROV-JSON and OpenLineage', async () => {
    const qid = (provenance[1] as P.NativeProvenance).quantum.id;
    const native = (await rq(P.RepositoryProvenance, { root, quantumId: qid, format: 'native' })) as P.NativeProvenance;
    expect(native.quantum.taskName).toBe('test.Task2');
    const daf = P.DafButlerProvenanceSchema.parse(await rq(P.RepositoryProvenance, { root, quantumId: qid, format: 'daf_butler' }));
    expect(daf.actual_outputs.sort()).toEqual(q2.outputs.map((r) => r.id).sort());
    const prov = P.ProvenanceDocumentSchemas.prov.parse(await rq(P.RepositoryProvenance, { root, quantumId: qid, format: 'prov' }));
    expect(P.checkProvJsonReferences(prov)).toEqual([]);
    expect(Object.keys(prov.activity)).toHaveLength(1);
    expect(Object.keys(prov.used).length).toBe(4);
    expect(Object.keys(prov.wasGeneratedBy).length).toBe(4);
    const ol = P.ProvenanceDocumentSchemas.openlineage.parse(await rq(P.RepositoryProvenance, { root, quantumId: qid, format: 'openlineage' }));
    expect(ol.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    expect(ol[1]!.outputs).toHaveLength(4);
  });

  it('the repository datastore is read-only through store/*', async () => {
    const s = await client.openSession({ quantum: q1.quantum, repository: { root } });
    expect((await s.store.glob('RUN/input/*')).length).toBe(4);
    expect(await kindOf(s.store.delete((await s.store.glob('RUN/input/*'))[0]!))).toBe('ReadOnlyStore');
    await s.close();
  });

  /** A repository of its own with a `blob` (Bytes) dataset type and one quantum writing a blob per detector. */
  async function blobRepository(name: string, run: string, detectors: number[], checksum?: 'blake2b') {
    const root = join(dir, name);
    await rq(P.RepositoryCreate, { ...create(root), ...(checksum ? { config: { datastore: { checksum } } } : {}) });
    await rq(P.RepositoryRegisterDatasetType, { root, datasetType: { name: 'blob', storageClass: 'Bytes', dimensions: DIMS } });
    const made = await rq(P.RepositoryMakeQuantum, {
      root,
      taskName: 'test.Blob',
      inputs: [],
      outputs: detectors.map((d) => ({ datasetType: 'blob', dataId: { instrument: 'Cam1', detector: d }, run })),
    });
    return { root, made };
  }

  it.each(['blake2b', undefined] as const)('a put by file path into the file datastore stores the file as it is, with its SHA-256 and its record checksum (%s; default none); a get by path gives it back', async (checksum) => {
    const { root, made } = await blobRepository(`by-path-repo-${checksum}`, 'bypath', [1], checksum);
    const recordsFile = join(dir, `by-path-${checksum}.records.sqlite3`);
    const s = await client.openSession({ quantum: made.quantum, repository: { root, recordsFile } });
    const bytes = randomBytes(3 * 1024 * 1024 + 7);
    const src = join(dir, 'by-path-in.bin');
    writeFileSync(src, bytes);
    const put = await s.put(made.outputs[0]!.id, null, { payload: { encoding: 'file', path: src } });
    expect(put).toMatchObject({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), alreadyStored: false });
    const dest = join(dir, 'by-path-out.bin');
    await s.getResult(made.outputs[0]!.id, { as: 'file', destination: dest });
    expect(readFileSync(dest).equals(bytes)).toBe(true);
    await s.close();
    const db = new Database(recordsFile, { readonly: true });
    const row = db.prepare('SELECT checksum, file_size FROM file_datastore_records WHERE dataset_id = ?').get(made.outputs[0]!.id);
    db.close();
    expect(row).toEqual({ checksum: checksum ? createHash('blake2b512').update(bytes).digest('hex') : null, file_size: bytes.length });
  });

  it('a sidecar killed mid-put leaves no half-written artifact, and its records file is readable', async () => {
    const { root, made } = await blobRepository('killed-repo', 'blobs', [1, 2]); // a repository of its own: the test runs alone too
    const victim = await spawnClient();
    const recordsFile = join(dir, 'killed.records.sqlite3');
    const s = await victim.openSession({ quantum: made.quantum, repository: { root, recordsFile } });
    await s.put(made.outputs[0]!.id, null, { payload: { encoding: 'base64', data: Buffer.from('small').toString('base64') } });
    const big = join(dir, 'big.bin');
    const size = 96 * 1024 * 1024;
    writeFileSync(big, Buffer.alloc(size, 5));
    const blobDir = join(root, 'datastore', 'blobs', 'blob');
    const before = new Set(readdirSync(blobDir));
    const progress: string[] = [];
    const token = victim.progressToken((v) => progress.push(String((v as { message?: string }).message)));
    void s.put(made.outputs[1]!.id, null, { payload: { encoding: 'file', path: big }, workDoneToken: token }).catch(() => {});
    // Kill only once the put is under way: it said it is writing, and a new file is on disk.
    expect(await until(() => progress.includes('writing'), 60_000)).toBe(true);
    let written: string | undefined;
    await until(() => (written = readdirSync(blobDir).find((f) => !before.has(f))) !== undefined, 60_000, 0);
    victim.child.kill('SIGKILL');
    const storedBeforeKill = progress.includes('stored');
    await victim.exited();
    victim.conn.dispose();
    expect(written).toBeDefined();
    expect(storedBeforeKill).toBe(false); // the kill landed before the put finished

    const db = new Database(recordsFile, { readonly: true });
    const rows = db.prepare('SELECT dataset_id, file_size FROM file_datastore_records').all() as Array<{ dataset_id: string; file_size: number }>;
    db.close();
    expect(rows.map((r) => r.dataset_id)).toContain(made.outputs[0]!.id);
    for (const f of readdirSync(blobDir)) {
      if (f.startsWith('.qbtmp-')) continue; // an unfinished temp file is not an artifact
      if (f.includes(made.outputs[1]!.id)) expect(statSync(join(blobDir, f)).size).toBe(size);
    }
  });
});
});
