import { describe, expect, it } from 'vitest';
import { wireRef } from '../../src/butler/provenance.js';
import { makeDataId } from '../../src/model/data-coordinate.js';
import { makeDatasetRef } from '../../src/model/dataset-ref.js';
import { makeDatasetType } from '../../src/model/dataset-type.js';
import { asciiRefJson, jsonReadHead, refJson } from '../../src/server/ref-json.js';

describe('refJson', () => {
  const raw = makeDatasetType({ name: 'raw', storageClass: 'StructuredDataDict', dimensions: ['instrument', 'detector', 'exposure'] });
  const component = makeDatasetType({ name: 'calexp.wcs', storageClass: 'StructuredDataDict', dimensions: ['instrument'], parentStorageClass: 'StructuredDataDict' });
  const refs = [
    makeDatasetRef(raw, makeDataId({ instrument: 'Cam "1"\\é', detector: 12, exposure: 0 }), 'run/ünï\n', '5d4c2f5e-1b9b-4c3e-9d0a-2a1f0e3c4b5a'),
    makeDatasetRef(raw, makeDataId({ exposure: 3, instrument: 'HSC', detector: -1 }), 'r', '00000000-0000-0000-0000-000000000001'),
    makeDatasetRef(component, makeDataId({ instrument: 'X' }), 'run', 'ffffffff-ffff-4fff-bfff-ffffffffffff'),
    // Numbers as JSON writes them (-0 as 0), a run that JSON.stringify writes with escapes (a control character, a backslash).
    makeDatasetRef(raw, makeDataId({ instrument: 'Cam\u0007🚀', detector: -0, exposure: 2 ** 53 - 1 }), 'run\u0001\\x', '00000000-0000-0000-0000-000000000002'),
  ];

  it.each(refs.map((r) => [r.datasetType.name, r] as const))('%s: the text of JSON.stringify(wireRef(ref)), also a second time and cached', (_name, ref) => {
    const expected = JSON.stringify(wireRef(ref));
    expect(refJson(ref)).toBe(expected);
    expect(refJson(ref)).toBe(expected);
    // The head of a plain JSON read's answer, made once per ref, in UTF-8.
    const head = `{"ref":${expected},"storageClass":${JSON.stringify(ref.datasetType.storageClass)},"payload":{"encoding":"json","value":`;
    expect(jsonReadHead(ref).toString('utf8')).toBe(head);
    expect(jsonReadHead(ref)).toBe(jsonReadHead(ref));
    // Kept as long as the ref: in memory of its own, not a slice of Node's shared pool (which it kept whole).
    expect([jsonReadHead(ref).byteOffset, jsonReadHead(ref).buffer.byteLength]).toEqual([0, Buffer.byteLength(head)]);
  });

  it.each(refs.map((r) => [r.datasetType.name, r] as const))('%s: asciiRefJson is that text when it is all printable ASCII needing no escape, else undefined', (_name, ref) => {
    const expected = JSON.stringify(wireRef(ref));
    expect(asciiRefJson(ref)).toBe(/^[\x20-\x7f]*$/.test(expected) && !expected.includes('\\') ? expected : undefined);
  });

  it('asciiRefJson: a dataset type, a data ID value or key, or a run that is not printable ASCII needing no escape gives undefined', () => {
    const ok = makeDatasetRef(raw, makeDataId({ instrument: 'HSC', detector: 1, exposure: 2 }), 'run/a', '00000000-0000-0000-0000-000000000003');
    expect(asciiRefJson(ok)).toBe(JSON.stringify(wireRef(ok)));
    // Numbers as JSON writes them, whatever the member's place; printable ASCII strings (DEL too) as they are.
    for (const dataId of [{ exposure: -0, instrument: 'a~\u007f', detector: 2 ** 53 - 1 }, { detector: -7, exposure: -(2 ** 53 - 1), instrument: '' }]) {
      const ref = makeDatasetRef(raw, makeDataId(dataId), 'r', '00000000-0000-0000-0000-000000000007');
      expect(asciiRefJson(ref)).toBe(JSON.stringify(wireRef(ref)));
    }
    const typeNotAscii = makeDatasetType({ name: 'rawx', storageClass: 'StructuredDätaDict', dimensions: ['instrument'] });
    for (const ref of [
      makeDatasetRef(typeNotAscii, makeDataId({ instrument: 'HSC' }), 'r', '00000000-0000-0000-0000-000000000004'),
      makeDatasetRef(raw, makeDataId({ instrument: 'HSC', detector: 1, exposure: 2 }), 'run/é', '00000000-0000-0000-0000-000000000005'),
      makeDatasetRef(raw, makeDataId({ instrument: 'H"SC', detector: 1, exposure: 2 }), 'r', '00000000-0000-0000-0000-000000000006'),
    ]) {
      expect(asciiRefJson(ref)).toBeUndefined();
    }
  });
});

describe('refJson of refs whose dataset types are equal objects of their own (as parsed from full refs)', () => {
  const dataId = makeDataId({ instrument: 'X', detector: 1 });
  const make = (storageClass: string, dimensions: string[], parentStorageClass?: string) =>
    makeDatasetType({ name: 'calexp', storageClass, dimensions, ...(parentStorageClass ? { parentStorageClass } : {}) });

  it('each is written with its own type, also when a type of the same name differs from the one before', () => {
    const types = [
      make('StructuredDataDict', ['instrument', 'detector']),
      make('StructuredDataDict', ['instrument', 'detector']),
      make('StructuredDataList', ['instrument', 'detector']),
      make('StructuredDataDict', ['instrument']),
      make('StructuredDataDict', ['instrument', 'detector']),
    ];
    expect(types[0]).not.toBe(types[1]);
    types.forEach((t, i) => {
      const ref = makeDatasetRef(t, dataId, 'run', `00000000-0000-0000-0000-00000000001${i}`);
      expect(refJson(ref)).toBe(JSON.stringify(wireRef(ref)));
    });
  });
});
