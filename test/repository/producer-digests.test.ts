/**
 * The registry's batch reads of producers and documents (producersOf, quantumProvenances) and
 * producer-digests.ts built on them, on every registry backend: actual-output edges only,
 * unknown ids left out without an error, batches beyond one statement's IDS_PER_QUERY ids, and
 * the digests an export takes (pruned and unwritten outputs and daf_butler documents give none).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuantumInsert, Registry } from '../../src/repository/registry.js';
import { IDS_PER_QUERY } from '../../src/repository/registry-rows.js';
import { producerDigests } from '../../src/repository/producer-digests.js';
import { datasetIdHex } from '../../src/model/dataset-id.js';
import { testBackends } from '../support/registries.js';

const id = (): string => randomUUID();
const sha = (c: string): string => c.repeat(64);

/** A quantum row with actual/predicted output edges and actual input edges, its document as given. */
function quantum(qid: string, outputs: Array<[string, boolean]>, inputs: string[], provenance: unknown, format: QuantumInsert['format'] = 'native'): QuantumInsert {
  return {
    id: qid,
    taskName: 'pkg.Task',
    dataId: null,
    format,
    provenance,
    inputs: inputs.map((d) => ({ datasetId: d, datasetType: 'raw', run: 'r', dataId: {}, predicted: true, available: true, actual: true })),
    outputs: outputs.map(([d, actual]) => ({ datasetId: d, predicted: true, actual })),
  };
}

const written = (d: string, sha256: string, extra: Record<string, unknown> = {}) => ({ ref: { id: d }, written: true, pruned: false, sha256, ...extra });

describe.each(testBackends())('producer batch reads and digests ($kind)', (backend) => {
  let reg: Registry;
  // q1 (native) wrote d1, d2 (pruned), d3 (not written), d4; predicted d5 but did not write it.
  // q0 also claims d4 (a corrupt second producer: the least id, q0, is the producer, as lineage gives it).
  // q2 (daf_butler document) wrote d6. q3 read d1-d7 (inputs are not producers; its typed input
  // edges make them datasets lineage can describe, as a collected quantum's inputs are).
  // q4 wrote d8, which no dataset row or typed input edge names.
  const [d1, d2, d3, d4, d5, d6, d7, d8] = Array.from({ length: 8 }, id);
  const q0 = 'q0-' + id();
  const q1 = 'q1-' + id();
  const q2 = 'q2-' + id();
  const q3 = 'q3-' + id();
  const q4 = 'q4-' + id();
  const doc1 = {
    outputs: [written(d1!, sha('a')), written(d2!, sha('b'), { pruned: true }), written(d3!, sha('c'), { written: false }), written(d4!, sha('d'))],
  };
  const doc0 = { outputs: [written(d4!, sha('e'))] };
  const doc2 = { predicted_outputs: [d6], actual_outputs: [d6], datastore_records: {} };

  beforeAll(async () => {
    reg = await backend.fresh();
    await reg.insertQuantum(quantum(q1, [[d1!, true], [d2!, true], [d3!, true], [d4!, true], [d5!, false]], [], doc1));
    await reg.insertQuantum(quantum(q0, [[d4!, true]], [], doc0));
    await reg.insertQuantum(quantum(q2, [[d6!, true]], [], doc2, 'daf_butler'));
    await reg.insertQuantum(quantum(q3, [], [d1!, d2!, d3!, d4!, d5!, d6!, d7!], { outputs: [] }));
    await reg.insertQuantum(quantum(q4, [[d8!, true]], [], { outputs: [written(d8!, sha('8'))] }));
  });
  afterAll(async () => {
    await backend.dispose(reg);
  });

  it('producersOf: the quantum with the actual-output edge, by normalised id; unknown, input-only and predicted-only ids are left out', async () => {
    const unknown = id();
    const got = await reg.producersOf([d1!.toUpperCase(), datasetIdHex(d2!), d3!, d4!, d5!, d6!, d7!, unknown, d1!]);
    expect(got).toEqual(new Map([[d1, q1], [d2, q1], [d3, q1], [d4, q0], [d6, q2]]));
    expect(await reg.producersOf([d8!])).toEqual(new Map([[d8, q4]]));
    expect(await reg.producersOf([])).toEqual(new Map());
    expect(await reg.producersOf([unknown])).toEqual(new Map());
  });

  it('producersOf and quantumProvenances: batches of more ids than one statement takes lose none at the boundaries', async () => {
    // The producers' ids first, last and either side of the first boundary of IDS_PER_QUERY.
    const filler = Array.from({ length: 2 * IDS_PER_QUERY + 1 }, id);
    const ids = [d1!, ...filler.slice(0, IDS_PER_QUERY - 2), d2!, d4!, ...filler.slice(IDS_PER_QUERY - 2), d6!];
    expect(ids.length).toBeGreaterThan(2 * IDS_PER_QUERY);
    expect(ids[IDS_PER_QUERY - 1]).toBe(d2);
    expect(ids[IDS_PER_QUERY]).toBe(d4);
    expect(await reg.producersOf(ids)).toEqual(new Map([[d1, q1], [d2, q1], [d4, q0], [d6, q2]]));

    const quanta = [q1, ...filler.slice(0, IDS_PER_QUERY - 1), q2, ...filler.slice(IDS_PER_QUERY - 1), q0];
    const docs = await reg.quantumProvenances(quanta);
    expect([...docs.keys()].sort()).toEqual([q0, q1, q2].sort());
    expect(docs.get(q1)).toEqual(doc1);
    expect(docs.get(q0)).toEqual(doc0);
    expect(docs.get(q2)).toEqual(doc2);
  });

  it('quantumProvenances: each stored document as given; unknown ids left out', async () => {
    expect(await reg.quantumProvenances([q3, 'nope', q3])).toEqual(new Map([[q3, { outputs: [] }]]));
    expect(await reg.quantumProvenances([])).toEqual(new Map());
  });

  it('producerDigests: written outputs of native producers only, keyed by the ids as given', async () => {
    const upper = d1!.toUpperCase();
    const got = await producerDigests(reg, [d1!, upper, d2!, d3!, d4!, d5!, d6!, d7!, id()]);
    // d2 pruned, d3 not written, d5 never written, d6's producer has a daf_butler document, d7 only read.
    expect(got).toEqual(new Map([[d1, sha('a')], [upper, sha('a')], [d4, sha('e')]]));
    expect(await producerDigests(reg, [])).toEqual(new Map());
  });

  it('producerDigests: an output no dataset row or typed input edge names still has its producer\'s digest', async () => {
    // The lineage walk per id this replaced refused such an id (DatasetNotFound: it could not
    // describe it) and so gave none, against this module's own rule; no collected input is one.
    expect(await producerDigests(reg, [d8!])).toEqual(new Map([[d8, sha('8')]]));
  });

  it('producerDigests: two batch reads for any number of ids, no lineage walk per id', async () => {
    const calls: string[] = [];
    const counted = new Proxy(reg, {
      get(target, name, receiver) {
        const v = Reflect.get(target, name, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          calls.push(String(name));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const got = await producerDigests(counted, [d1!, d2!, d4!, d6!, id(), id()]);
    expect(got.get(d1!)).toBe(sha('a'));
    expect(calls).toEqual(['producersOf', 'quantumProvenances']);
    calls.length = 0;
    // No producer among them: no document read.
    expect(await producerDigests(counted, [d7!, id()])).toEqual(new Map());
    expect(calls).toEqual(['producersOf']);
  });
});
