import { describe, expect, it, vi } from 'vitest';
import type { ProvenanceEvent } from '../../protocol/provenance.js';
import { asciiProvenanceEventJson, provenanceEventJson } from '../../src/server/provenance-event-json.js';
import { isoNow } from '../../src/util/time.js';
import { openButler } from '../../src/butler/open-butler.js';
import { defaultUniverse } from '../../src/model/dimensions/default-universe.js';
import { MemoryDatastore } from '../../src/datastore/memory-datastore.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { StorageClassRegistry } from '../../src/model/storage-class.js';
import { MemoryStore } from '../../src/store/memory-store.js';

const base = () => ({
  sessionId: '0b7c9a52-3f1e-4d2a-9c8b-7a6f5e4d3c2b',
  seq: 17,
  event: 'outputWritten',
  datasetId: '5d4c2f5e-1b9b-4c3e-9d0a-2a1f0e3c4b5a',
  datasetType: 'calexp',
  time: '2026-12-04T05:40:01.007Z',
});

/** Events as the butler makes them, and ones it never makes: each written as JSON.stringify writes it. */
const events: Array<[string, unknown]> = [
  ['outputWritten', { ...base(), size: 1012, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }],
  ['inputLoaded', { ...base(), event: 'inputLoaded' }],
  ['inputMarkedUnused with a reason needing escapes', { ...base(), event: 'inputMarkedUnused', reason: 'not "needed"\\\n\u0001 é 🚀' }],
  ['a reason with a lone surrogate', { ...base(), reason: 'x\ud800' }],
  ['deferredIssued', { ...base(), event: 'deferredIssued', handle: 'h-1' }],
  ['optional members in another order', { ...base(), sha256: 'ab', size: 0 }],
  ['size -0', { ...base(), size: -0, sha256: 'ab' }],
  ['size 1e21 and 2^53+2', { ...base(), size: 1e21, seq: 2 ** 53 + 2 }],
  ['size NaN', { ...base(), size: Number.NaN }],
  ['size Infinity', { ...base(), size: Number.POSITIVE_INFINITY }],
  ['an undefined optional member', { ...base(), reason: undefined, size: 3 }],
  ['a null optional member', { ...base(), reason: null }],
  ['a boolean optional member', { ...base(), size: true }],
  ['an object optional member', { ...base(), reason: { a: 1 } }],
  ['an unknown member', { ...base(), extra: 'x' }],
  ['an unknown member named like JSON text', { ...base(), '"x': 1 }],
  ['first members in another order', (({ seq, ...rest }) => ({ seq, ...rest }))(base())],
  ['a first member missing', (({ time: _t, ...rest }) => rest)(base())],
  ['a numeric session id', { ...base(), sessionId: 5 }],
  ['a string seq', { ...base(), seq: '17' }],
  ['a session id needing escapes', { ...base(), sessionId: 'a"b\\c\u2028' }],
  ['a null-prototype event', Object.assign(Object.create(null) as object, base())],
  ['an event with toJSON', { ...base(), toJSON: () => 'x' }],
];

describe('provenanceEventJson', () => {
  it.each(events)('%s: the text of JSON.stringify', (_name, event) => {
    expect(provenanceEventJson(event as ProvenanceEvent)).toBe(JSON.stringify(event));
  });

  it('writes the events the butler makes without JSON.stringify', () => {
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      // outputWritten, inputLoaded, deferredIssued (strings that need no escape).
      for (const i of [0, 1, 4]) provenanceEventJson(events[i]![1] as ProvenanceEvent);
      expect(stringify).not.toHaveBeenCalled();
    } finally {
      stringify.mockRestore();
    }
  });

  it('writes each event of a sequence whose members repeat, change back and change type as JSON.stringify does', () => {
    const sequence: unknown[] = [
      base(),
      { ...base(), seq: 18 },
      { ...base(), sessionId: 'a"b', event: 'inputLoaded', datasetType: 'raw', time: '2026-12-04T05:40:01.008Z' },
      base(),
      { ...base(), datasetType: 5 },
      { ...base(), datasetType: 'calexp' },
      { ...base(), datasetType: ['cal', 'exp'].join('') }, // equal text, another string
      { ...base(), event: 'inputMarkedUnused', reason: 'not "needed"' },
      { ...base(), event: 'inputMarkedUnused', reason: 'unused' },
      { ...base(), event: 'inputMarkedUnused', reason: 'not "needed"' },
      { ...base(), time: 'x\\ud800' },
      { ...base(), time: 'x\ud800' },
      { ...base(), sessionId: '\u00e9' },
      base(),
    ];
    for (const event of sequence) expect(provenanceEventJson(event as ProvenanceEvent)).toBe(JSON.stringify(event));
  });

  it('scans only the members that changed since the event before', () => {
    provenanceEventJson({ ...base(), event: 'inputMarkedUnused', reason: 'unused' } as ProvenanceEvent);
    const event = { ...base(), event: 'inputMarkedUnused', reason: 'unused', datasetId: 'another' };
    const test = vi.spyOn(RegExp.prototype, 'test');
    try {
      const text = provenanceEventJson(event as ProvenanceEvent);
      // None: the dataset id (a new event's dataset is usually another) is tested in a loop;
      // before: all five strings.
      expect(test).not.toHaveBeenCalled();
      expect(text).toBe(JSON.stringify(event));
    } finally {
      test.mockRestore();
    }
  });

  it('gives the text as ASCII, or nothing when the event has a string with another character or one that needs an escape', () => {
    for (const [, event] of events) {
      const text = asciiProvenanceEventJson(event as ProvenanceEvent);
      if (text !== undefined) {
        expect(text).toBe(JSON.stringify(event));
        expect(Buffer.byteLength(text, 'utf8')).toBe(text.length);
      }
    }
    expect(asciiProvenanceEventJson(base() as ProvenanceEvent)).toBe(JSON.stringify(base()));
    const notAscii = [
      { ...base(), datasetType: 'calexp\u00e9' },
      { ...base(), datasetId: 'id-\u2028' },
      { ...base(), sessionId: 's\u0080' },
      { ...base(), reason: 'r\u0000' },
      { ...base(), sha256: 'a"b' },
      { ...base(), handle: 'h\\1' },
      { ...base(), time: '2026-12-04T05:40:01.007Z\u00a0' },
    ];
    for (const event of notAscii) {
      expect(asciiProvenanceEventJson(event as ProvenanceEvent)).toBeUndefined();
      expect(provenanceEventJson(event as ProvenanceEvent)).toBe(JSON.stringify(event));
    }
    // DEL is ASCII that JSON writes as it is.
    const del = { ...base(), reason: 'a\u007fb' };
    expect(asciiProvenanceEventJson(del as ProvenanceEvent)).toBe(JSON.stringify(del));
  });

  it("scans neither the time isoNow gave (new each millisecond) nor a dataset id it wrote recently", () => {
    let now = Date.UTC(2026, 11, 4, 5, 40, 1, 7);
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => now);
    const test = vi.spyOn(RegExp.prototype, 'test');
    try {
      const first = { ...base(), datasetId: 'a-dataset-seen-before', time: isoNow() };
      expect(provenanceEventJson(first as ProvenanceEvent)).toBe(JSON.stringify(first));
      test.mockClear();
      for (let i = 0; i < 3; i++) {
        now += 1;
        const event = { ...base(), seq: 20 + i, datasetId: 'a-dataset-seen-before', time: isoNow() };
        expect(provenanceEventJson(event as ProvenanceEvent)).toBe(JSON.stringify(event));
      }
      // Before: the time and the dataset id, each event.
      expect(test).not.toHaveBeenCalled();
    } finally {
      test.mockRestore();
      clock.mockRestore();
    }
  });

  it('writes a dataset id with each character at the edges of those written as they are as JSON.stringify does', () => {
    const chars = [0x00, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7e, 0x7f, 0x80, 0xe9, 0x2028, 0xd800, 0xdc00];
    for (const c of chars) {
      for (const datasetId of [String.fromCharCode(c), `id-${String.fromCharCode(c)}-x`, `${String.fromCharCode(c)}id`]) {
        const event = { ...base(), datasetId };
        expect(provenanceEventJson(event as ProvenanceEvent)).toBe(JSON.stringify(event));
        const ascii = asciiProvenanceEventJson(event as ProvenanceEvent);
        expect(ascii === undefined ? c < 0x20 || c > 0x7f || c === 0x22 || c === 0x5c : ascii === JSON.stringify(event)).toBe(true);
      }
    }
    const empty = { ...base(), datasetId: '' };
    expect(asciiProvenanceEventJson(empty as ProvenanceEvent)).toBe(JSON.stringify(empty));
  });

  it('writes each of many dataset ids as JSON.stringify does, and again', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => (i % 997 === 0 ? `id "${i}"` : i % 991 === 0 ? `id \u00e9${i}` : `id-${i}`));
    for (let round = 0; round < 2; round++) {
      for (const datasetId of ids) {
        const event = { ...base(), datasetId };
        expect(provenanceEventJson(event as ProvenanceEvent)).toBe(JSON.stringify(event));
      }
    }
  });

  it('writes every kind of event a butler makes by the template, as JSON.stringify writes it', async () => {
    const reg = StorageClassRegistry.withBuiltins();
    const ds = new MemoryDatastore('InMemoryDatastore@qbb', new MemoryStore(), reg);
    const ref = (name: string, detector: number) => {
      const dataId = { instrument: 'Cam', detector };
      return { id: makeDatasetId('DATAID_TYPE_RUN', name, dataId, ['instrument', 'detector'], 'run'), datasetType: { name, storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector'] }, dataId, run: 'run' };
    };
    const [a, b, c, out] = [ref('in', 1), ref('in', 2), ref('in', 3), ref('out', 1)];
    const seed = await openButler({ sessionId: 'seed', predicted: { inputs: [], outputs: [a, b] }, strictDeferred: false, datastore: ds, storageClasses: reg, universe: defaultUniverse() });
    await seed.put({ id: a.id }, { kind: 'value', value: { x: 1 } });
    const events: ProvenanceEvent[] = [];
    const butler = await openButler({ sessionId: 'session-1', predicted: { inputs: [a, b, c], outputs: [out] }, strictDeferred: false, datastore: ds, storageClasses: reg, universe: defaultUniverse(), onEvent: (e) => events.push(e) });
    await butler.storedMany([{ id: a.id }, { id: b.id }]);
    await butler.get({ id: a.id });
    await butler.get({ id: b.id }).catch(() => undefined);
    butler.getDeferred({ id: a.id });
    butler.markInputUnused({ id: c.id }, 'not needed');
    await butler.put({ id: out.id }, { kind: 'value', value: { y: 2 } });
    await butler.pruneDatasets([{ id: out.id }], { disassociate: false, unstore: true, purge: false });
    expect(new Set(events.map((e) => e.event))).toEqual(
      new Set(['inputCheckedAvailable', 'inputCheckedMissing', 'inputLoaded', 'inputLoadFailed', 'deferredIssued', 'inputMarkedUnused', 'outputWritten', 'outputPruned']),
    );
    for (const e of events) {
      expect(asciiProvenanceEventJson(e)).toBe(JSON.stringify(e));
      expect(provenanceEventJson(e)).toBe(JSON.stringify(e));
    }
  });

  it('throws as JSON.stringify does for what it cannot write', () => {
    expect(() => provenanceEventJson({ ...base(), size: 1n } as unknown as ProvenanceEvent)).toThrow(TypeError);
  });
});
