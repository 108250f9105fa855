/**
 * Behaviour beyond daf_butler's own tests: output gating, duplicate puts, sessions
 * sharing or isolating datastores, notifications, storage classes, payloads,
 * progress and cancellation — all through the real CLI.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProvenanceEvent } from '../../protocol/index.js';
import { NativeProvenanceSchema } from '../../protocol/index.js';
import { QuantumButlerError, type QuantumButlerClient } from '../../src/client/index.js';
import { initRef, inputRefs, missingRefs, output2Refs, outputRefs, q1, q2, ref } from './fixture.js';
import { seedInputs, spawnClient, uniqueName, kindOf } from './harness.js';
import { RawClient } from './raw-client.js';

let client: QuantumButlerClient;
let dir: string;
beforeAll(async () => {
  client = await spawnClient();
  dir = mkdtempSync(join(tmpdir(), 'qb-e2e-'));
});
afterAll(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});


describe('output gating', () => {
  it('refuses a put that was not predicted, with daf_butler\'s text', async () => {
    const name = uniqueName('gate');
    await seedInputs(client, name);
    const s = await client.openSession({ quantum: q1(), datastore: { kind: 'memory', name } });
    const err = await s.put(missingRefs()[0]!, { data: 0 }).catch((e: QuantumButlerError) => e);
    expect(err).toBeInstanceOf(QuantumButlerError);
    expect((err as QuantumButlerError).code).toBe(1003);
    expect((err as QuantumButlerError).message).toBe('Cannot `put` dataset that was not predicted as an output.');
    expect(await kindOf(s.put(inputRefs()[0]!, { data: 0 }))).toBe('NotPredictedOutput');
    await s.close();
  });

  it('checks the full ref, not only the id', async () => {
    const s = await client.openSession({ quantum: q1(), datastore: { kind: 'memory' } });
    const o = outputRefs()[0]!;
    const wrongDataId = { ...o, dataId: { dataId: { instrument: 'Cam1', detector: 9 }, records: null } };
    const err = (await s.put(wrongDataId, { data: 1 }).catch((e) => e)) as QuantumButlerError;
    expect(err.kind).toBe('PredictedRefMismatch');
    expect(JSON.stringify(err.data?.details)).toContain('dataId');
    expect(await kindOf(s.put({ ...o, run: 'other' }, { data: 1 }))).toBe('PredictedRefMismatch');
    expect(await kindOf(s.put({ ...o, datasetType: { ...o.datasetType, name: 'output2' } }, { data: 1 }))).toBe('PredictedRefMismatch');
    // By id alone, the predicted ref is used.
    expect((await s.put({ id: o.id }, { data: 1 })).ref.datasetType).toBe('output');
    await s.close();
  });

  it('a repeated put of identical content is a no-op; different content is refused', async () => {
    const s = await client.openSession({ quantum: q1(), datastore: { kind: 'memory' } });
    const o = outputRefs()[0]!;
    const first = await s.put(o, { data: 1 });
    expect(first.alreadyStored).toBe(false);
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    const again = await s.put(o, { data: 1 });
    expect(again.alreadyStored).toBe(true);
    expect(again.sha256).toBe(first.sha256);
    expect(await kindOf(s.put(o, { data: 2 }))).toBe('DatasetAlreadyStored');
    expect(await s.get(o)).toEqual({ data: 1 });
    await s.close();
  });

  it('refuses a prediction that names one id twice as different datasets; the same ref twice is one', async () => {
    const a = ref('calexp', 1);
    const other = { ...ref('calexp', 2), id: a.id }; // the id of detector 1, the data ID of detector 2
    const elsewhere = { ...a, run: 'another/run' };
    for (const predicted of [{ inputs: [], outputs: [a, other] }, { inputs: [a, other], outputs: [] }, { inputs: [a, elsewhere], outputs: [] }]) {
      // Before, the first was kept and the second dropped without a word.
      expect(await kindOf(client.openSession({ predicted, notifications: [] }))).toBe('InvalidArgument');
    }
    const same = await client.openSession({ predicted: { inputs: [], outputs: [a, { ...a }] }, notifications: [] });
    expect((await same.extractProvenance('native')).predictedOutputs).toEqual([a.id]);
    await same.close();
  });

  it('rejects values that do not fit the storage class', async () => {
    const s = await client.openSession({ quantum: q1(), datastore: { kind: 'memory' } });
    expect(await kindOf(s.put(outputRefs()[0]!, [1, 2, 3]))).toBe('StorageClassMismatch');
    expect(await s.stored(outputRefs()[0]!)).toBe(false);
    await s.close();
  });
});

describe('sessions', () => {
  it('two quanta share a named datastore: the second reads the first one\'s outputs', async () => {
    const name = uniqueName('chain');
    await seedInputs(client, name);
    const s1 = await client.openSession({ quantum: q1(), datastore: { kind: 'memory', name } });
    for (const r of inputRefs()) await s1.get(r);
    for (const r of outputRefs()) await s1.put(r, { data: r.dataId.dataId.detector ** 2 });
    const s2 = await client.openSession({ quantum: q2(), datastore: { kind: 'memory', name } });
    for (const r of outputRefs()) {
      const v = (await s2.get(r)) as { data: number };
      await s2.put(output2Refs()[r.dataId.dataId.detector - 1]!, { data: v.data * r.dataId.dataId.detector });
    }
    for (const r of output2Refs()) expect(await s2.get(r)).toEqual({ data: r.dataId.dataId.detector ** 3 });
    const p2 = NativeProvenanceSchema.parse((await s2.close()).provenance);
    expect(p2.actualInputs).toEqual(outputRefs().map((r) => r.id).sort());
    await s1.close();
  });

  it('unnamed datastores are private; sessions stay isolated', async () => {
    const a = await client.openSession({ quantum: q1(), datastore: { kind: 'memory' } });
    const b = await client.openSession({ quantum: q1(), datastore: { kind: 'memory' } });
    await a.put(outputRefs()[0]!, { data: 'a' });
    expect(await b.stored(outputRefs()[0]!)).toBe(false);
    await b.put(outputRefs()[0]!, { data: 'b' });
    expect(await a.get(outputRefs()[0]!)).toEqual({ data: 'a' });
    // A bad request on one session leaves both working.
    expect(await kindOf(a.get({ id: 'not-a-uuid' }))).toBe('InvalidDatasetRef');
    expect(await b.get(outputRefs()[0]!)).toEqual({ data: 'b' });
    const listed = (await client.request((await import('../../protocol/index.js')).SessionList, {})).sessions.map((s) => s.sessionId);
    expect(listed).toEqual(expect.arrayContaining([a.sessionId, b.sessionId]));
    await a.close();
    await b.close();
    expect(await kindOf(a.get(outputRefs()[0]!))).toBe('SessionNotFound');
  });

  it('re-opening with the same id and params is idempotent; different params conflict', async () => {
    const sessionId = uniqueName('idem');
    const first = await client.openSession({ sessionId, quantum: q1() });
    const again = await client.openSession({ sessionId, quantum: q1() });
    expect(again.info.reopened).toBe(true);
    expect(await kindOf(client.openSession({ sessionId, quantum: q2() }))).toBe('SessionConflict');
    await first.close();
  });

  it('concurrent calls on one session are serialised: each sees the effect of those sent before it', async () => {
    const s = await client.openSession({ quantum: q1(), datastore: { kind: 'memory' } });
    const [a, b] = outputRefs();
    const big = join(dir, 'serialised.json');
    writeFileSync(big, JSON.stringify({ data: 'x'.repeat(32 * 1024 * 1024) }));
    const answered: string[] = [];
    // Sent back to back without waiting: a slow put (a 32 MB file to read and check), then calls on its result.
    const put = s.put(a!, null, { payload: { encoding: 'file', path: big } }).then(() => answered.push('put'));
    const stored = s.stored(a!).then((v) => (answered.push('stored'), v));
    const putB = s.put(b!, { data: 2 }).then(() => answered.push('putB'));
    const storedB = s.stored(b!).then((v) => (answered.push('storedB'), v));
    expect(await stored).toBe(true);
    expect(await storedB).toBe(true);
    await Promise.all([put, putB]);
    expect(answered).toEqual(['put', 'stored', 'putB', 'storedB']);
    await s.close();
  });

  it('many concurrent calls on one session all succeed', async () => {
    const s = await client.openSession({ quantum: q1(), datastore: { kind: 'memory' } });
    await Promise.all(outputRefs().map((r) => s.put(r, { data: r.dataId.dataId.detector })));
    const results = await Promise.all(outputRefs().map((r) => s.get(r)));
    expect(results).toEqual(outputRefs().map((r) => ({ data: r.dataId.dataId.detector })));
    await s.close();
  });
});

describe('provenance notifications and diagnostics', () => {
  it('streams one event per bookkeeping step, with per-session seq', async () => {
    const name = uniqueName('events');
    await seedInputs(client, name);
    const events: ProvenanceEvent[] = [];
    const off = client.onProvenance((e) => events.push(e));
    const s = await client.openSession({ quantum: q1(), datastore: { kind: 'memory', name } });
    const [i0, i1, i2] = inputRefs();
    await s.stored(i0!);
    await s.get(i0!);
    const { handle } = await s.getDeferred(i1!);
    await s.markInputUnused(i2!, 'not needed');
    await s.put(outputRefs()[0]!, { data: 1 });
    await s.pruneDatasets([outputRefs()[0]!], { disassociate: true, unstore: true, purge: true });
    await s.close();
    off();
    const mine = events.filter((e) => e.sessionId === s.sessionId);
    expect(mine.map((e) => e.event)).toEqual([
      'inputCheckedAvailable',
      'inputLoaded',
      'deferredIssued',
      'inputMarkedUnused',
      'outputWritten',
      'outputPruned',
    ]);
    expect(mine.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(mine[2]!.handle).toBe(handle);
    expect(mine[3]!.reason).toBe('not needed');
    expect(mine[4]!.size).toBeGreaterThan(0);
    expect(mine[4]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(mine.every((e) => e.datasetType && e.time)).toBe(true);
  });

  it('a session that did not ask for provenance gets none', async () => {
    const events: ProvenanceEvent[] = [];
    const off = client.onProvenance((e) => events.push(e));
    const s = await client.openSession({ quantum: q1(), notifications: [] });
    await s.put(outputRefs()[0]!, { data: 1 });
    await s.close();
    off();
    expect(events.filter((e) => e.sessionId === s.sessionId)).toEqual([]);
  });

  it('turns daf_butler\'s two warnings into structured diagnostics', async () => {
    const name = uniqueName('diag');
    await seedInputs(client, name);
    const s = await client.openSession({ quantum: q1(), datastore: { kind: 'memory', name } });
    // A deferred handle on an input that turns out to be missing: used but missing.
    const deleted = inputRefs()[3]!;
    const remover = await client.openSession({ predicted: { inputs: [], outputs: [deleted] }, datastore: { kind: 'memory', name } });
    await remover.pruneDatasets([deleted], { disassociate: false, unstore: true });
    await remover.close();
    const { handle } = await s.getDeferred(deleted);
    expect(await kindOf(s.loadDeferred(handle))).toBe('DatasetNotFound');
    await s.get(inputRefs()[0]!);
    const p = NativeProvenanceSchema.parse(await s.extractProvenance());
    const codes = Object.fromEntries(p.diagnostics.map((d) => [d.code, d.datasetIds]));
    expect(codes.UsedButMissing).toEqual([deleted.id]);
    expect(codes.InputsNotChecked!.sort()).toEqual([inputRefs()[1]!.id, inputRefs()[2]!.id, initRef().id].sort());
    expect(p.actualInputs).toEqual([inputRefs()[0]!.id]);
    expect(p.actualInputs.every((id) => p.availableInputs.includes(id))).toBe(true);
    await s.close();
  });

  it('strictDeferred counts a deferred input only once it is loaded', async () => {
    const name = uniqueName('strict');
    await seedInputs(client, name);
    for (const strictDeferred of [false, true]) {
      const s = await client.openSession({ quantum: q1(), datastore: { kind: 'memory', name }, strictDeferred });
      await s.storedMany([...inputRefs(), initRef()]);
      await s.getDeferred(inputRefs()[0]!);
      const p = NativeProvenanceSchema.parse(await s.extractProvenance());
      expect(p.actualInputs).toEqual(strictDeferred ? [] : [inputRefs()[0]!.id]);
      await s.close();
    }
  });
});

describe('storage classes, parameters and components', () => {
  const table = { columns: { x: [1, 2, 3, 4], y: [10, 20, 30, 40], flag: [true, false, true, false] } };
  const tref = ref('catalog', 1, 'RUN', 'Table');
  const lref = ref('rows', 1, 'RUN', 'StructuredDataList');
  const bref = ref('blob', 1, 'RUN', 'Bytes');
  const txt = ref('note', 1, 'RUN', 'Text');

  async function open() {
    return client.openSession({ predicted: { inputs: [], outputs: [tref, lref, bref, txt] } });
  }

  it('Table: column globs, row ranges, derived components, conversion to rows', async () => {
    const s = await open();
    await s.put(tref, table);
    expect(await s.get(tref, { parameters: { columns: ['?'] } })).toEqual({ columns: { x: [1, 2, 3, 4], y: [10, 20, 30, 40] } });
    expect(await s.get(tref, { parameters: { rows: [1, 3] } })).toEqual({ columns: { x: [2, 3], y: [20, 30], flag: [false, true] } });
    expect(await s.get(tref, { component: 'rowCount' })).toBe(4);
    expect(await s.get(tref, { component: 'columnNames' })).toEqual(['x', 'y', 'flag']);
    const rows = await s.getResult(tref, { storageClass: 'StructuredDataList' });
    expect(rows.storageClass).toBe('StructuredDataList');
    expect((rows.payload as { value: unknown[] }).value[0]).toEqual({ x: 1, y: 10, flag: true });
    expect(await kindOf(s.get(tref, { parameters: { nope: 1 } }))).toBe('UnknownParameter');
    expect(await kindOf(s.get(tref, { component: 'nope' }))).toBe('UnknownComponent');
    expect(await kindOf(s.get(tref, { storageClass: 'Bytes' }))).toBe('StorageClassMismatch');
    await s.close();
  });

  it('StructuredDataList slice, Bytes ranges, Text', async () => {
    const s = await open();
    await s.put(lref, [0, 1, 2, 3, 4, 5]);
    expect(await s.get(lref, { parameters: { slice: [1, 3] } })).toEqual([1, 2]);
    await s.put(bref, null, { payload: { encoding: 'base64', data: Buffer.from('hello world').toString('base64') } });
    expect(await s.get(bref)).toEqual(Buffer.from('hello world'));
    expect(await s.get(bref, { parameters: { start: 6 } })).toEqual(Buffer.from('world'));
    await s.put(txt, null, { payload: { encoding: 'text', text: 'héllo' } });
    expect(await s.get(txt)).toBe('héllo');
    expect(await kindOf(s.get(txt, { as: 'json' }))).toBe(undefined);
    await s.close();
  });

  it('a read with no encoding asked for: bytes go base64 as stored; bytes written in another class are converted first, as any read is', async () => {
    const name = uniqueName('bytes-default');
    const asText = ref('blob', 7, 'RUN', 'Text');
    const asBytes = ref('blob', 7, 'RUN', 'Bytes');
    const writer = await client.openSession({ predicted: { inputs: [], outputs: [asText, ref('raw', 7, 'RUN', 'Bytes')] }, datastore: { kind: 'memory', name } });
    await writer.put(asText, null, { payload: { encoding: 'text', text: 'héllo' } });
    await writer.put(ref('raw', 7, 'RUN', 'Bytes'), null, { payload: { encoding: 'base64', data: Buffer.from([0, 255, 7]).toString('base64') } });
    const raw = await writer.getResult(ref('raw', 7, 'RUN', 'Bytes'));
    expect([raw.storageClass, raw.payload]).toEqual(['Bytes', { encoding: 'base64', data: Buffer.from([0, 255, 7]).toString('base64') }]);
    const reader = await client.openSession({ predicted: { inputs: [asBytes], outputs: [] }, datastore: { kind: 'memory', name } });
    const read = await reader.getResult(asBytes);
    expect([read.storageClass, read.payload, read.size]).toEqual(['Bytes', { encoding: 'base64', data: Buffer.from('héllo').toString('base64') }, 6]);
    await reader.close();
    await writer.close();
  });

  it('composite storage classes from configuration', async () => {
    const exp = ref('exposure', 1, 'RUN', 'ExposureLike');
    const s = await client.openSession({
      predicted: { inputs: [], outputs: [exp] },
      storageClasses: {
        ExposureLike: {
          inheritsFrom: 'StructuredDataDict',
          components: { image: 'StructuredDataList', metadata: 'StructuredDataDict' },
          derivedComponents: { npix: { storageClass: 'Json', from: 'image', op: 'length' } },
        },
      },
    });
    await s.put(exp, { image: [1, 2, 3], metadata: { exptime: 30 } });
    expect(await s.get(exp, { component: 'image' })).toEqual([1, 2, 3]);
    expect(await s.get(exp, { component: 'image', parameters: { slice: [0, 2] } })).toEqual([1, 2]);
    expect(await s.get(exp, { component: 'metadata' })).toEqual({ exptime: 30 });
    expect(await s.get(exp, { component: 'npix' })).toBe(3);
    await s.close();
  });
});

describe('payloads and progress', () => {
  const bref = ref('blob', 2, 'RUN', 'Bytes');

  it('file paths on put (copy and move) and on get (destination)', async () => {
    const s = await client.openSession({ predicted: { inputs: [], outputs: [bref, outputRefs()[0]!] } });
    const src = join(dir, 'in.bin');
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    writeFileSync(src, data);
    const token = client.progressToken(() => {});
    const put = await s.put(bref, null, { payload: { encoding: 'file', path: src, mode: 'move' }, workDoneToken: token });
    expect(put.size).toBe(data.length);
    expect(existsSync(src)).toBe(false);
    const dest = join(dir, 'out.bin');
    const got = await s.getResult(bref, { as: 'file', destination: dest });
    expect(got.payload).toEqual({ encoding: 'file', path: dest });
    expect(readFileSync(dest).equals(data)).toBe(true);
    const jsonFile = join(dir, 'value.json');
    writeFileSync(jsonFile, JSON.stringify({ data: 5 }));
    await s.put(outputRefs()[0]!, null, { payload: { encoding: 'file', path: jsonFile } });
    expect(existsSync(jsonFile)).toBe(true); // copy keeps the source
    expect(await s.get(outputRefs()[0]!)).toEqual({ data: 5 });
    expect(await kindOf(s.put(bref, null, { payload: { encoding: 'file', path: 'relative/path' } }))).toBe('InvalidArgument');
    expect(await kindOf(s.put(outputRefs()[1]!, null, { payload: { encoding: 'file', path: join(dir, 'missing') } }))).toBe('InvalidArgument');
    await s.close();
  });

  it('refuses malformed base64 and bytes that do not decode for the storage class', async () => {
    const s = await client.openSession({ predicted: { inputs: [], outputs: [bref, outputRefs()[0]!] } });
    expect(await kindOf(s.put(bref, null, { payload: { encoding: 'base64', data: 'ab$d' } }))).toBe('InvalidArgument');
    expect(await kindOf(s.put(bref, null, { payload: { encoding: 'base64', data: 'abc' } }))).toBe('InvalidArgument');
    const notJson = Buffer.from('{not json').toString('base64');
    expect(await kindOf(s.put(outputRefs()[0]!, null, { payload: { encoding: 'base64', data: notJson } }))).toBe('InvalidValue');
    expect(await s.stored(outputRefs()[0]!)).toBe(false);
    await s.close();
  });

  it('reports $/progress begin and end for a request with a workDoneToken', async () => {
    const s = await client.openSession({ predicted: { inputs: [], outputs: [bref] } });
    const values: Array<{ kind: string }> = [];
    const token = client.progressToken((v) => values.push(v as { kind: string }));
    await s.put(bref, null, { payload: { encoding: 'base64', data: Buffer.alloc(1024).toString('base64') }, workDoneToken: token });
    // The progress of a request is sent before its answer: all of it is here once the put resolves.
    expect(values[0]?.kind).toBe('begin');
    expect(values.at(-1)?.kind).toBe('end');
    expect(values.slice(1, -1).every((v) => v.kind === 'report')).toBe(true);
    await s.close();
  });

  it('payloads over maxInlineBytes get PayloadTooLarge telling the client to use a path', async () => {
    const small = await spawnClient({ args: ['--max-inline-bytes=1000'] });
    expect(small.initializeResult.capabilities.maxInlineBytes).toBe(1000);
    const s = await small.openSession({ predicted: { inputs: [], outputs: [bref] } });
    const err = (await s.put(bref, null, { payload: { encoding: 'base64', data: Buffer.alloc(4000).toString('base64') } }).catch((e) => e)) as QuantumButlerError;
    expect(err.kind).toBe('PayloadTooLarge');
    expect(err.code).toBe(1004);
    expect(err.message).toMatch(/file/);
    expect(err.data?.maxInlineBytes).toBe(1000);
    const src = join(dir, 'big.bin');
    writeFileSync(src, Buffer.alloc(4000, 1));
    await s.put(bref, null, { payload: { encoding: 'file', path: src } });
    expect(await kindOf(s.get(bref))).toBe('PayloadTooLarge');
    const dest = join(dir, 'big-out.bin');
    writeFileSync(dest, 'replaced');
    await s.getResult(bref, { as: 'file', destination: dest });
    expect(readFileSync(dest).length).toBe(4000);
    await s.close();
    expect(await small.close()).toBe(0);
    // The replaced file is removed after the answer; the sidecar waits for that before it exits.
    expect(readdirSync(dir).filter((f) => f.startsWith('.big-out.bin'))).toEqual([]);
  });

  it('a request cancelled while queued behind another answers -32800', async () => {
    const c = new RawClient();
    try {
      await c.initialize();
      const open = await c.call('session/open', { predicted: { inputs: [], outputs: [bref] } });
      const sessionId = (open.result as { sessionId: string }).sessionId;
      const src = join(dir, 'slow.bin');
      writeFileSync(src, Buffer.alloc(64 * 1024 * 1024, 3));
      const slow = c.request('butler/put', { sessionId, ref: bref, payload: { encoding: 'file', path: src } });
      const queued = c.request('butler/stored', { sessionId, ref: bref });
      c.notify('$/cancelRequest', { id: queued });
      const res = await c.response(queued);
      expect(res.error?.code).toBe(-32800);
      expect(res.error?.data?.kind).toBe('RequestCancelled');
      expect((await c.response(slow, 30000)).result).toBeDefined();
      // The session is unharmed.
      expect(((await c.call('butler/stored', { sessionId, ref: bref })).result as { stored: boolean }).stored).toBe(true);
    } finally {
      c.kill();
    }
  });
});
