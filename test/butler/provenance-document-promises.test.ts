/**
 * What the native provenance document promises (docs/protocol/provenance.md, butler.md),
 * checked on a butler over a real in-memory datastore: `firstUsedAt` is the first read's time;
 * a read that fails for a reason other than "not stored" changes no input's state; a put of
 * content already stored still makes the output an actual output in the session; `pruned` is
 * cleared by a later put; a prune without `unstore` removes nothing; an `outputPruned` event
 * names how it was pruned; `DeferredNeverLoaded` is `info` with `strictDeferred`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProvenanceEvent } from '../../protocol/provenance.js';
import { openButler } from '../../src/butler/open-butler.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import type { DatasetRef } from '../../src/model/dataset-ref.js';
import { UnknownParameter } from '../../src/model/errors.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { MemoryStore } from '../../src/store/memory-store.js';

afterEach(() => vi.restoreAllMocks());

const DIMS = ['instrument', 'visit'];
function ref(name: string, visit: number): DatasetRef {
  const dataId = { instrument: 'dummy', visit };
  return { id: makeDatasetId('DATAID_TYPE_RUN', name, dataId, DIMS, 'run'), datasetType: makeDatasetType({ name, storageClass: 'StructuredDataDict', dimensions: DIMS }), dataId, run: 'run' };
}

const input = ref('raw', 1);
const output = ref('metric', 1);

async function setup(opts: { strictDeferred?: boolean; store?: MemoryStore } = {}) {
  const reg = StorageClassRegistry.withBuiltins();
  const datastore = new MemoryDatastore('InMemoryDatastore@prov', opts.store ?? new MemoryStore(), reg);
  if (!(await datastore.exists(input))) await datastore.put({ kind: 'value', value: { raw: 1 } }, input);
  const events: ProvenanceEvent[] = [];
  const butler = await openButler({
    sessionId: 's',
    predicted: { inputs: [input], outputs: [output] },
    strictDeferred: opts.strictDeferred ?? false,
    datastore,
    storageClasses: reg,
    universe: defaultUniverse(),
    onEvent: (e) => events.push(e),
  });
  return { butler, events };
}

describe('the native provenance document', () => {
  it('firstUsedAt is the time of the first successful read, not of the last', async () => {
    const { butler } = await setup();
    let now = Date.UTC(2026, 0, 1, 12, 0, 0, 0);
    vi.spyOn(Date, 'now').mockImplementation(() => (now += 1000)); // a second passes at every look
    await butler.get({ id: input.id });
    const first = butler.extractProvenance('native').inputs[0]!.firstUsedAt;
    await butler.get({ id: input.id });
    const doc = butler.extractProvenance('native');
    expect(doc.inputs[0]).toMatchObject({ state: 'loaded', loads: 2, firstUsedAt: first });
  });

  it('a read that fails for another reason than "not stored" leaves the input as it was', async () => {
    const { butler, events } = await setup();
    await expect(butler.get({ id: input.id }, { parameters: { noSuchParameter: 1 } })).rejects.toBeInstanceOf(UnknownParameter);
    const doc = butler.extractProvenance('native');
    expect(doc.inputs[0]).toMatchObject({ state: 'predicted', checked: null, loads: 0 });
    expect(doc.availableInputs).toEqual([]);
    expect(events.map((e) => e.event)).not.toContain('inputLoadFailed');
  });

  it('a put of content already stored (a retried quantum) makes the output actual and emits outputWritten', async () => {
    const store = new MemoryStore();
    const first = await setup({ store });
    await first.butler.put({ id: output.id }, { kind: 'value', value: { a: 1 } });
    const retry = await setup({ store });
    const put = await retry.butler.put({ id: output.id }, { kind: 'value', value: { a: 1 } });
    expect(put.unchanged).toBe(true);
    const doc = retry.butler.extractProvenance('native');
    expect(doc.actualOutputs).toEqual([output.id]);
    expect(doc.outputs[0]).toMatchObject({ written: true, sha256: put.sha256 });
    expect(retry.events.map((e) => e.event)).toEqual(['outputWritten']);
  });

  it('an output pruned and then written again is not marked pruned', async () => {
    const { butler } = await setup();
    await butler.put({ id: output.id }, { kind: 'value', value: { a: 1 } });
    await butler.pruneDatasets([{ id: output.id }], { disassociate: false, unstore: true, purge: false });
    expect(butler.extractProvenance('native').outputs[0]).toMatchObject({ written: false, pruned: true });
    await butler.put({ id: output.id }, { kind: 'value', value: { a: 2 } });
    const doc = butler.extractProvenance('native');
    expect(doc.outputs[0]).toMatchObject({ written: true, pruned: false });
    expect(doc.actualOutputs).toEqual([output.id]);
  });

  it('a prune without unstore removes nothing and answers []', async () => {
    const { butler, events } = await setup();
    await butler.put({ id: output.id }, { kind: 'value', value: { a: 1 } });
    expect(await butler.pruneDatasets([{ id: output.id }], { disassociate: false, unstore: false, purge: false })).toEqual([]);
    expect(await butler.stored({ id: output.id })).toBe(true);
    const doc = butler.extractProvenance('native');
    expect(doc.actualOutputs).toEqual([output.id]);
    expect(doc.outputs[0]).toMatchObject({ written: true, pruned: false });
    expect(events.map((e) => e.event)).not.toContain('outputPruned');
  });

  it('outputPruned names how the output was pruned', async () => {
    const unstore = await setup();
    await unstore.butler.put({ id: output.id }, { kind: 'value', value: { a: 1 } });
    await unstore.butler.pruneDatasets([{ id: output.id }], { disassociate: false, unstore: true, purge: false });
    expect(unstore.events.find((e) => e.event === 'outputPruned')).toMatchObject({ datasetId: output.id, reason: 'unstore' });
    const purge = await setup();
    await purge.butler.put({ id: output.id }, { kind: 'value', value: { a: 1 } });
    await purge.butler.pruneDatasets([{ id: output.id }], { disassociate: true, unstore: true, purge: true });
    expect(purge.events.find((e) => e.event === 'outputPruned')).toMatchObject({ datasetId: output.id, reason: 'purge' });
  });

  it('DeferredNeverLoaded is a warning, and info with strictDeferred', async () => {
    for (const [strictDeferred, severity] of [[false, 'warning'], [true, 'info']] as const) {
      const { butler } = await setup({ strictDeferred });
      butler.getDeferred({ id: input.id });
      const diag = butler.extractProvenance('native').diagnostics.find((d) => d.code === 'DeferredNeverLoaded');
      expect(diag).toMatchObject({ severity, datasetIds: [input.id] });
    }
  });
});
