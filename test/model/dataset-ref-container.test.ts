import { describe, it, expect } from 'vitest';
import { isRefContainer, parseRefContainer } from '../../src/model/dataset-ref-container.js';
import { defaultUniverse } from '../../src/model/dimensions/index.js';
import type { DatasetType } from '../../src/model/dataset-type.js';
import { InconsistentUniverse, InvalidArgument } from '../../src/model/errors.js';

const ID = '3f452f1d-b8a5-5202-8190-4e723004a6ba';

/** daf_butler's SerializedDatasetRefContainerV1, as tests/data/zip_index.json holds one. */
function container(over: Record<string, unknown> = {}, dims = ['instrument', 'detector', 'exposure']) {
  return {
    container_version: 'V1',
    universe_version: 8,
    universe_namespace: 'daf_butler',
    dataset_types: { raw: { name: 'raw', storageClass: 'StructuredDataDict', dimensions: dims, parentStorageClass: null, isCalibration: false } },
    compact_refs: { [ID]: { dataset_type_name: 'raw', run: 'DECam/raw/all', data_id: { instrument: 'DECam', detector: 56, exposure: 411371 } } },
    ...over,
  };
}

describe('ref containers', () => {
  const u = defaultUniverse();

  it('gives the refs, adding their dataset types to the known ones', () => {
    const types = new Map<string, DatasetType>();
    const refs = parseRefContainer(container(), u, types);
    expect(isRefContainer(container())).toBe(true);
    expect(refs.map((r) => [r.id, r.datasetType.name, r.run])).toEqual([[ID, 'raw', 'DECam/raw/all']]);
    expect(refs[0]!.dataId).toEqual({ instrument: 'DECam', detector: 56, exposure: 411371 });
    expect(types.get('raw')!.group.implied).toEqual(['band', 'day_obs', 'group', 'physical_filter']);
    expect(parseRefContainer(container({ compact_refs: {}, universe_namespace: 'unknown' }), u)).toEqual([]);
  });

  it("refuses another namespace; another version only when a type's dimensions conform differently", () => {
    expect(() => parseRefContainer(container({ universe_namespace: 'other' }), u)).toThrow(InconsistentUniverse);
    expect(parseRefContainer(container({ universe_version: 7 }), u)).toHaveLength(1);
    // In version 7 these were the required dimensions; here visit implies physical_filter.
    const v7 = container({ universe_version: 7, compact_refs: {} }, ['instrument', 'visit', 'physical_filter']);
    expect(parseRefContainer(v7, u)).toEqual([]);
    const withRef = { ...v7, compact_refs: { [ID]: { dataset_type_name: 'raw', run: 'r', data_id: { instrument: 'DECam', visit: 1, physical_filter: 'g' } } } };
    expect(() => parseRefContainer(withRef, u)).toThrow(InconsistentUniverse);
    // The same version: an ordinary dataset type, no universe check beyond the namespace.
    expect(parseRefContainer({ ...withRef, universe_version: 8 }, u)[0]!.datasetType.dimensions).toEqual(['instrument', 'visit']);
    expect(() => parseRefContainer({ ...container(), container_version: 'V2' }, u)).toThrow(InvalidArgument);
  });
});
