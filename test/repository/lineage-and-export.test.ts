/**
 * Lineage over the collected fixture (quantum 1: inputs → output; quantum 2: output →
 * output2), and the PROV-JSON, OpenLineage and daf_butler exports of native documents,
 * on every registry backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/repository/registry.js';
import { collectAndTransfer } from '../../src/repository/collect-and-transfer.js';
import { testBackends } from '../support/registries.js';
import { exportStoredProvenance, openLineageRunId, toDafButler, toOpenLineage, toProvJson } from '../../src/repository/export-formats.js';
import { openButler } from '../../src/butler/open-butler.js';
import { parseQuantum } from '../../src/model/quantum.js';
import { parseDatasetRef } from '../../src/model/dataset-ref.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { DatasetNotFound, InvalidArgument, RepositoryError } from '../../src/model/errors.js';
import type { DafButlerProvenance, NativeProvenance } from '../../protocol/provenance.js';
import { checkProvJsonReferences, OpenLineageRunEventSchema, ProvenanceDocumentSchemas, ProvJsonDocumentSchema } from '../../protocol/provenance-formats.js';
import * as fx from '../e2e/fixture.js';
import { runQuantum1, seededDatastore } from '../support/fixture-quanta.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';

const DS_NAME = 'InMemoryDatastore@lineage';
const Q1_ID = '00000000-0000-4000-8000-00000000000a';
const Q2_ID = '00000000-0000-4000-8000-00000000000b';

// The published identifiers, spelled out here (not imported): a change to them is a change of contract.
const QB_PROV_NAMESPACE = 'urn:x-quantum-butler:prov#';
const OPENLINEAGE_RUN_EVENT_SCHEMA = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';

describe.each(testBackends())('lineage and exports ($kind)', (backend) => {
let reg: Registry;
let native1: NativeProvenance;
let native2: NativeProvenance;
let daf1: DafButlerProvenance;

/** Quantum 1 loads inputs 1-3 and init, finds input 4 available and leaves it unused; quantum 2 loads outputs 1-2 only. */
beforeAll(async () => {
  const seeded = await seededDatastore(DS_NAME);
  const { datastore, storageClasses } = seeded;
  ({ daf: daf1, native: native1 } = await runQuantum1(seeded, Q1_ID));
  const b2 = await openButler({ sessionId: 's2', quantumId: Q2_ID, quantum: fx.q2(), strictDeferred: false, datastore, storageClasses, universe: defaultUniverse() });
  const outs = fx.outputRefs();
  await b2.storedMany(outs.map((w) => ({ id: w.id })));
  for (const w of outs.slice(0, 2)) await b2.get({ id: w.id });
  for (const [i, w] of fx.output2Refs().entries()) await b2.put({ id: w.id }, { kind: 'value', value: { data: (i + 1) ** 3 } });
  native2 = b2.close();

  reg = await backend.fresh();
  // The inputs are registered (as seeding a repository would), the init input is not.
  await reg.insertDatasets(fx.inputRefs().map((w) => parseDatasetRef(w)), { autoRegister: true });
  const report = await collectAndTransfer(reg, [
    { quantum: parseQuantum(fx.q1()), provenance: native1 },
    { quantum: parseQuantum(fx.q2()), provenance: native2 },
  ]);
  expect(report.conflicts).toEqual([]);
});
afterAll(async () => {
  await backend.dispose(reg);
});

describe('lineage', () => {
  it('walks a second-step output back to the original inputs', async () => {
    const target = fx.output2Refs()[0]!.id;
    const g = await reg.lineage(target, 'up');
    expect(g).toMatchObject({ root: target, direction: 'up', depth: null, hops: 2, truncated: false });
    expect(g.quanta.map((q) => q.id)).toEqual([Q1_ID, Q2_ID]);
    expect(g.quanta[0]).toEqual({ id: Q1_ID, taskName: 'lsst.pipe.base.tests.TestTask', dataId: null });
    const ids = new Set(g.datasets.map((d) => d.id));
    const [i1, i2, i3, i4] = fx.inputRefs().map((w) => w.id);
    const [o1, o2, o3] = fx.outputRefs().map((w) => w.id);
    // Only actual inputs are followed: outputs 3-4 were not used by quantum 2, input 4 not by quantum 1.
    expect(ids).toEqual(new Set([target, o1, o2, i1, i2, i3, fx.initRef().id]));
    expect(ids.has(o3!)).toBe(false);
    expect(ids.has(i4!)).toBe(false);
    expect(g.edges).toContainEqual({ from: Q2_ID, to: target, kind: 'output' });
    expect(g.edges).toContainEqual({ from: o1, to: Q2_ID, kind: 'input' });
    expect(g.edges).toContainEqual({ from: Q1_ID, to: o1, kind: 'output' });
    expect(g.edges).toContainEqual({ from: i1, to: Q1_ID, kind: 'input' });
    expect(g.edges).toHaveLength(1 + 2 + 2 + 4);
    // Registered inputs come from the registry; the unregistered init input from the quantum's ref.
    expect(g.datasets.find((d) => d.id === i1)).toEqual({ id: i1, datasetType: 'input', run: 'RUN', dataId: { detector: 1, instrument: 'Cam1' }, registered: true });
    expect(g.datasets.find((d) => d.id === fx.initRef().id)).toMatchObject({ datasetType: 'init', run: 'RUN', registered: false });
    // Deterministic order.
    expect(g.datasets.map((d) => d.id)).toEqual([...ids].sort());
  });

  it('depth limits count quantum hops', async () => {
    const target = fx.output2Refs()[0]!.id;
    const one = await reg.lineage(target, 'up', 1);
    expect(one).toMatchObject({ hops: 1, truncated: true, depth: 1 });
    expect(one.quanta.map((q) => q.id)).toEqual([Q2_ID]);
    expect(one.datasets).toHaveLength(3);
    const zero = await reg.lineage(target, 'up', 0);
    expect(zero).toMatchObject({ hops: 0, truncated: true, quanta: [], edges: [] });
    expect(zero.datasets.map((d) => d.id)).toEqual([target]);
    expect((await reg.lineage(target, 'up', 2)).truncated).toBe(false);
  });

  it('walks down from an input to everything derived from it', async () => {
    const i1 = fx.inputRefs()[0]!.id;
    const g = await reg.lineage(i1, 'down');
    expect(g.quanta.map((q) => q.id)).toEqual([Q1_ID, Q2_ID]);
    expect(g.datasets).toHaveLength(1 + 4 + 4);
    expect((await reg.lineage(i1, 'down', 1)).datasets).toHaveLength(1 + 4);
    // An output nobody used, and an input that was available but not used, have no descendants.
    expect(await reg.lineage(fx.outputRefs()[3]!.id, 'down')).toMatchObject({ quanta: [], edges: [], hops: 0 });
    expect((await reg.lineage(fx.inputRefs()[3]!.id, 'down')).quanta).toEqual([]);
  });

  it('unknown datasets and bad arguments are refused', async () => {
    await expect(reg.lineage(makeDatasetId('UNIQUE', 'x', {}, [], 'r'), 'up')).rejects.toThrow(DatasetNotFound);
    await expect(reg.lineage(fx.inputRefs()[0]!.id, 'sideways' as 'up')).rejects.toThrow(InvalidArgument);
    await expect(reg.lineage(fx.inputRefs()[0]!.id, 'up', -1)).rejects.toThrow(InvalidArgument);
  });

  it('terminates on a (corrupt) cyclic graph', async () => {
    const r = await backend.fresh();
    try {
      const a = makeDatasetId('UNIQUE', 'a', {}, [], 'r');
      const b = makeDatasetId('UNIQUE', 'b', {}, [], 'r');
      const edge = (id: string, from: string, to: string) => ({
        id,
        taskName: 't',
        dataId: null,
        format: 'daf_butler' as const,
        provenance: {},
        inputs: [{ datasetId: from, datasetType: 'x', run: 'r', predicted: true, available: true, actual: true }],
        outputs: [{ datasetId: to, predicted: true, actual: true }],
      });
      await r.insertQuantum(edge('qa', a, b));
      await r.insertQuantum(edge('qb', b, a));
      const g = await r.lineage(a, 'up');
      expect(g.quanta.map((q) => q.id)).toEqual(['qa', 'qb']);
      expect(g.hops).toBe(2);
    } finally {
      await backend.dispose(r);
    }
  });
});

describe('export formats', () => {
  it('PROV-JSON: entities, the activity, agents and typed relations', async () => {
    const prov = toProvJson(native1, { records: await reg.recordsFor(native1.predictedInputs) });
    expect(prov.prefix).toMatchObject({ qb: QB_PROV_NAMESPACE, uuid: 'urn:uuid:' });
    const act = prov.activity[`uuid:${Q1_ID}`]!;
    expect(act).toMatchObject({
      'prov:startTime': native1.execution.startedAt,
      'prov:endTime': native1.execution.endedAt,
      'prov:type': { $: 'qb:Quantum', type: 'xsd:QName' },
      'qb:taskName': 'lsst.pipe.base.tests.TestTask',
      'prov:location': native1.execution.host,
    });
    const out1 = fx.outputRefs()[0]!;
    const o = native1.outputs.find((x) => x.ref.id === out1.id)!;
    expect(prov.entity[`uuid:${out1.id}`]).toMatchObject({
      'prov:type': { $: 'qb:Dataset', type: 'xsd:QName' },
      'qb:datasetType': 'output',
      'qb:run': 'RUN',
      'qb:dataId': 'detector=1,instrument=Cam1',
      'qb:checksum': o.sha256,
      'qb:size': { $: o.size, type: 'xsd:long' },
    });
    // 5 inputs + 4 outputs + the plan.
    expect(Object.keys(prov.entity)).toHaveLength(10);
    const used = Object.values(prov.used);
    expect(used).toHaveLength(4);
    expect(used.every((u) => u['prov:activity'] === `uuid:${Q1_ID}` && typeof u['prov:time'] === 'string')).toBe(true);
    expect(used.filter((u) => (u['prov:role'] as { $: string }).$ === 'qb:initInput')).toHaveLength(1);
    expect(Object.values(prov.wasGeneratedBy)).toHaveLength(4);
    expect(Object.values(prov.wasGeneratedBy)[0]).toMatchObject({ 'prov:activity': `uuid:${Q1_ID}`, 'prov:time': expect.any(String) });
    // The available-but-unused input: an influence, not a usage.
    const unused = fx.inputRefs()[3]!.id;
    expect(Object.values(prov.wasInfluencedBy)).toEqual([
      { 'prov:influencee': `uuid:${Q1_ID}`, 'prov:influencer': `uuid:${unused}`, 'prov:type': { $: 'qb:availableNotUsed', type: 'xsd:QName' }, 'qb:unusedReason': 'not needed' },
    ]);
    expect(prov.entity[`uuid:${unused}`]).toMatchObject({ 'qb:inputState': 'unused', 'qb:unusedReason': 'not needed' });
    expect(used.some((u) => u['prov:entity'] === `uuid:${unused}`)).toBe(false);
    // Agents: the sidecar software and the host, both associated.
    const agents = Object.entries(prov.agent);
    expect(agents.map(([, a]) => (a['prov:type'] as { $: string }).$).sort()).toEqual(['prov:SoftwareAgent', 'qb:Host']);
    expect(Object.values(prov.wasAssociatedWith).map((a) => a['prov:agent']).sort()).toEqual(agents.map(([k]) => k).sort());
    // Input checksums come only from the registry's records: the inputs were registered without any.
    const in1 = fx.inputRefs()[0]!.id;
    expect(prov.entity[`uuid:${in1}`]).toMatchObject({ 'qb:inputState': 'loaded' });
    expect(prov.entity[`uuid:${in1}`]).not.toHaveProperty('qb:checksum');
  });

  it('PROV-JSON carries input checksums when records are given', async () => {
    const recs = await reg.recordsFor(native2.predictedInputs);
    const prov = toProvJson(native2, { records: recs });
    const in1 = fx.outputRefs()[0]!.id;
    // The registry's record checksum: daf_butler's blake2b, labelled so.
    const recorded = recs[Object.keys(recs)[0]!]!.get(in1)!.get('file_datastore_records')![0]!['checksum'];
    expect(recorded).toMatch(/^[0-9a-f]{128}$/);
    expect(prov.entity[`uuid:${in1}`]).toMatchObject({ 'qb:checksum': recorded, 'qb:checksumAlgorithm': 'blake2b', 'qb:inputState': 'loaded' });
    const o = native1.outputs.find((x) => x.ref.id === in1)!;
    expect(toProvJson(native1).entity[`uuid:${in1}`]).toMatchObject({ 'qb:checksum': o.sha256, 'qb:checksumAlgorithm': 'sha256' });
  });

  it('OpenLineage: START and COMPLETE RunEvents (spec 2-0-2 shape)', async () => {
    const events = toOpenLineage(native2, { namespace: 'lsst', producer: 'https://example.org/qb', records: await reg.recordsFor(native2.predictedInputs) });
    expect(events.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    const [start, complete] = events as [(typeof events)[0], (typeof events)[0]];
    expect(start.eventTime).toBe(native2.execution.startedAt);
    expect(complete.eventTime).toBe(native2.execution.endedAt);
    for (const e of events) {
      expect(e).toMatchObject({ producer: 'https://example.org/qb', schemaURL: OPENLINEAGE_RUN_EVENT_SCHEMA, run: { runId: Q2_ID }, job: { namespace: 'lsst', name: 'lsst.pipe.base.tests.TestTask2' } });
      expect(e.job.facets['jobType']).toMatchObject({ _producer: 'https://example.org/qb', processingType: 'BATCH' });
      expect(e.run.facets['processing_engine']).toMatchObject({ name: native2.execution.sidecar.name, version: native2.execution.sidecar.version });
    }
    expect(start.inputs).toHaveLength(4);
    expect(start.outputs).toHaveLength(4);
    // COMPLETE lists what was actually used and written.
    expect(complete.inputs).toHaveLength(2);
    expect(complete.outputs).toHaveLength(4);
    const in1 = fx.outputRefs()[0]!;
    const in1Records = await reg.recordsFor([in1.id]);
    const inDs = complete.inputs.find((d) => d.name === 'RUN/output/detector=1,instrument=Cam1')!;
    expect(inDs.namespace).toBe('lsst');
    expect(inDs.facets['quantumButler_dataset']).toMatchObject({
      _producer: 'https://example.org/qb',
      _schemaURL: expect.stringContaining('#/$defs/DatasetFacet'),
      datasetId: in1.id,
      datasetType: 'output',
      run: 'RUN',
      dataId: { instrument: 'Cam1', detector: 1 },
      checksum: Object.values(in1Records)[0]!.get(in1.id)!.get('file_datastore_records')![0]!['checksum'],
      checksumAlgorithm: 'blake2b',
    });
    expect(inDs.inputFacets!['quantumButler_input']).toMatchObject({ state: 'loaded', initInput: false });
    const outDs = complete.outputs[0]!;
    const written = native2.outputs.find((o) => o.ref.id === outDs.facets['quantumButler_dataset']!['datasetId'])!;
    expect(outDs.outputFacets!['outputStatistics']).toMatchObject({ size: written.size, fileCount: 1 });
    expect(outDs.facets['quantumButler_dataset']).toMatchObject({ checksum: written.sha256, checksumAlgorithm: 'sha256' });
    // The predicted/available/actual split travels in a custom run facet.
    expect(complete.run.facets['quantumButler_provenance']).toMatchObject({
      predictedInputs: [...native2.predictedInputs].sort(),
      availableInputs: [...native2.availableInputs].sort(),
      actualInputs: [...native2.actualInputs].sort(),
      availableNotUsed: fx.outputRefs().slice(2).map((w) => ({ datasetId: w.id, reason: null })).sort((a, b) => (a.datasetId < b.datasetId ? -1 : 1)),
    });
    // Defaults, and a non-UUID quantum id gets a stable UUID run id.
    const d = toOpenLineage(native2);
    expect(d[0]!.job.namespace).toBe('quantum-butler');
    expect(d[0]!.producer).toMatch(/^urn:/);
    expect(openLineageRunId('not-a-uuid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(openLineageRunId('not-a-uuid')).toBe(openLineageRunId('not-a-uuid'));
  });

  it('PROV-JSON and OpenLineage documents follow those standards\' structure', async () => {
    for (const native of [native1, native2]) {
      const records = await reg.recordsFor(native.predictedInputs);
      const prov = ProvenanceDocumentSchemas.prov.parse(toProvJson(native, { records }));
      expect(checkProvJsonReferences(prov)).toEqual([]);
      ProvenanceDocumentSchemas.openlineage.parse(toOpenLineage(native, { records }));
      ProvenanceDocumentSchemas.native.parse(native);
      ProvenanceDocumentSchemas.daf_butler.parse(toDafButler(native));
    }
  });

  it('the standards\' schemas refuse what those standards refuse', () => {
    const prov = toProvJson(native1);
    const broken = (edit: (d: Record<string, any>) => void) => {
      const d = JSON.parse(JSON.stringify(prov)) as Record<string, any>;
      edit(d);
      const parsed = ProvJsonDocumentSchema.safeParse(d);
      return !parsed.success || checkProvJsonReferences(parsed.data).length > 0;
    };
    expect(broken(() => {})).toBe(false);
    expect(broken((d) => delete Object.values(d['used'] as Record<string, any>)[0]['prov:activity'])).toBe(true); // a usage of no activity
    expect(broken((d) => (d['wasDerivedFrom'] = { '_:d': { 'prov:usedEntity': Object.keys(d['entity'])[0] } }))).toBe(true); // no generated entity
    expect(broken((d) => (d['wasUsedBy'] = {}))).toBe(true); // not a PROV record kind
    expect(broken((d) => delete d['prefix']['qb'])).toBe(true); // a prefix used but not declared
    expect(broken((d) => (Object.values(d['used'] as Record<string, any>)[0]['prov:entity'] = 'uuid:nowhere'))).toBe(true); // a relation to nothing
    expect(broken((d) => (Object.values(d['activity'] as Record<string, any>)[0]['prov:startTime'] = 'yesterday'))).toBe(true);
    expect(broken((d) => (Object.values(d['entity'] as Record<string, any>)[0]['qb:size'] = { $: 1 }))).toBe(true); // a typed literal without its type

    const [event] = toOpenLineage(native1);
    const refused = (edit: (e: Record<string, any>) => void) => {
      const e = JSON.parse(JSON.stringify(event)) as Record<string, any>;
      edit(e);
      return !OpenLineageRunEventSchema.safeParse(e).success;
    };
    expect(refused(() => {})).toBe(false);
    expect(refused((e) => (e['run']['runId'] = 'not-a-uuid'))).toBe(true);
    expect(refused((e) => (e['eventType'] = 'DONE'))).toBe(true);
    expect(refused((e) => delete e['producer'])).toBe(true);
    expect(refused((e) => (e['eventTime'] = '2024-01-01 10:00'))).toBe(true);
    expect(refused((e) => delete e['job']['facets']['jobType']['_producer'])).toBe(true); // every facet names its producer
    expect(refused((e) => delete e['inputs'][0]['namespace'])).toBe(true);
  });

  it('daf_butler QuantumProvenanceData of a native document', async () => {
    const d = toDafButler(native1);
    expect(d).toEqual({
      predicted_inputs: [...daf1.predicted_inputs].sort(),
      available_inputs: [...daf1.available_inputs].sort(),
      actual_inputs: [...daf1.actual_inputs].sort(),
      predicted_outputs: [...daf1.predicted_outputs].sort(),
      actual_outputs: [...daf1.actual_outputs].sort(),
      datastore_records: daf1.datastore_records,
    });
  });

  it('stored quanta whose records carry no checksum (a repository\'s default): an input\'s checksum is the SHA-256 its producing quantum recorded', async () => {
    // The same two quanta, their records without checksums, as a repository writes them by default.
    const withoutChecksums = (doc: NativeProvenance): NativeProvenance =>
      JSON.parse(JSON.stringify(doc), (k, v: unknown) => (k === 'checksum' ? null : v)) as NativeProvenance;
    const r = await backend.fresh();
    try {
      await r.insertDatasets(fx.inputRefs().map((w) => parseDatasetRef(w)), { autoRegister: true });
      const report = await collectAndTransfer(r, [
        { quantum: parseQuantum(fx.q1()), provenance: withoutChecksums(native1) },
        { quantum: parseQuantum(fx.q2()), provenance: withoutChecksums(native2) },
      ]);
      expect(report.conflicts).toEqual([]);
      const o1 = fx.outputRefs()[0]!.id;
      const written = native1.outputs.find((o) => o.ref.id === o1)!;
      const recorded = (await r.recordsFor([o1]))[DS_NAME]!.get(o1)!.get('file_datastore_records')![0]!;
      expect(recorded['checksum']).toBeNull();
      const prov = (await exportStoredProvenance(r, Q2_ID, 'prov')) as ReturnType<typeof toProvJson>;
      expect(prov.entity[`uuid:${o1}`]).toMatchObject({ 'qb:checksum': written.sha256, 'qb:checksumAlgorithm': 'sha256', 'qb:size': { $: recorded['file_size'] } });
      const [start] = (await exportStoredProvenance(r, Q2_ID, 'openlineage')) as ReturnType<typeof toOpenLineage>;
      expect(start!.inputs!.find((d) => d.facets!['quantumButler_dataset']!['datasetId'] === o1)!.facets!['quantumButler_dataset']).toMatchObject({
        checksum: written.sha256,
        checksumAlgorithm: 'sha256',
        size: recorded['file_size'],
      });
      // An input no stored quantum wrote (seeded) has its size only, if a record; here none.
      const q1 = (await exportStoredProvenance(r, Q1_ID, 'prov')) as ReturnType<typeof toProvJson>;
      expect(q1.entity[`uuid:${fx.inputRefs()[0]!.id}`]).not.toHaveProperty('qb:checksum');
    } finally {
      await backend.dispose(r);
    }
  });

  it('exports stored quanta in every format; daf_butler-only documents only as daf_butler', async () => {
    expect(await exportStoredProvenance(reg, Q1_ID, 'native')).toEqual(native1);
    // daf_butler: what the butler itself extracted at the time, in sorted form.
    const daf = (await exportStoredProvenance(reg, Q1_ID, 'daf_butler')) as DafButlerProvenance;
    expect(daf.actual_outputs).toEqual(fx.outputRefs().map((w) => w.id).sort());
    expect(daf.actual_inputs).toEqual([...daf1.actual_inputs].sort());
    expect(daf.datastore_records).toEqual(daf1.datastore_records);
    // PROV-JSON of the stored quantum, with the second quantum's input checksums from the registry's records.
    const prov = (await exportStoredProvenance(reg, Q2_ID, 'prov')) as ReturnType<typeof toProvJson>;
    expect(Object.keys(prov.activity)).toEqual([`uuid:${Q2_ID}`]);
    expect(prov.entity[`uuid:${fx.outputRefs()[0]!.id}`]).toMatchObject({ 'qb:checksum': expect.stringMatching(/^[0-9a-f]{128}$/), 'qb:checksumAlgorithm': 'blake2b' });
    const ol = (await exportStoredProvenance(reg, Q2_ID, 'openlineage')) as ReturnType<typeof toOpenLineage>;
    expect(ol.map((e) => [e.eventType, e.run.runId])).toEqual([['START', Q2_ID], ['COMPLETE', Q2_ID]]);
    await expect(exportStoredProvenance(reg, 'nope', 'native')).rejects.toThrow(RepositoryError);
    const r = await backend.fresh();
    try {
      await collectAndTransfer(r, [{ quantum: parseQuantum(fx.q1()), provenance: daf1, quantumId: 'dq' }]);
      expect(await exportStoredProvenance(r, 'dq', 'daf_butler')).toEqual(daf1);
      await expect(exportStoredProvenance(r, 'dq', 'prov')).rejects.toThrow(InvalidArgument);
    } finally {
      await backend.dispose(r);
    }
  });
});
});
