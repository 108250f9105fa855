/**
 * Quanta: one task run on predicted inputs producing predicted outputs, with the
 * datastore records of the inputs that already exist. Parsed from daf_butler's
 * SerializedQuantum or from a compact form with flat ref lists.
 */
import { ConflictingDefinition, InvalidArgument, UnknownDatasetType } from './errors.js';
import { isPlainObject, setOwn } from './json-value.js';
import type { DatasetId } from './dataset-id.js';
import { parseDataId, serializeDataCoordinate, type DataId, type SerializedDataCoordinate } from './data-coordinate.js';
import { datasetTypeEquals, parseDatasetType, serializeDatasetType, type DatasetType, type SerializedDatasetType } from './dataset-type.js';
import { parseDatasetRef, type DatasetRef, type SerializedDatasetRef } from './dataset-ref.js';
import {
  parseRecordMapping,
  serializeRecordMapping,
  type DatastoreRecordData,
  type SerializedDatastoreRecordData,
} from './datastore-records.js';
import type { StorageClassRegistry } from './storage-class.js';
import type { DimensionUniverse } from './dimensions/dimension-universe.js';

export interface Quantum {
  taskName: string;
  dataId: DataId | null;
  initInputs: DatasetRef[];
  inputs: DatasetRef[];
  outputs: DatasetRef[];
  /** Dataset types by name (the registry definitions; refs may carry storage-class overrides). */
  datasetTypes: Map<string, DatasetType>;
  /** Datastore name → records of the inputs that already exist. */
  datastoreRecords: Record<string, DatastoreRecordData>;
}

export type SerializedQuantumRef = [SerializedDatasetRef, number[]];

export interface SerializedQuantum {
  taskName: string | null;
  dataId: SerializedDataCoordinate | null;
  datasetTypeMapping: Record<string, SerializedDatasetType>;
  initInputs: Record<string, SerializedQuantumRef>;
  inputs: Record<string, SerializedQuantumRef[]>;
  outputs: Record<string, SerializedQuantumRef[]>;
  dimensionRecords: Record<string, unknown> | null;
  datastoreRecords: Record<string, SerializedDatastoreRecordData> | null;
}

type Section = 'initInputs' | 'inputs' | 'outputs';

/** A nested quantum ref is `[ref, recIds]` (daf_butler) or the ref object itself. */
function unwrapNested(el: unknown, section: Section, key: string): unknown {
  if (Array.isArray(el)) {
    if (el.length < 1 || el.length > 2 || (el.length === 2 && el[1] !== null && !Array.isArray(el[1]))) {
      throw new InvalidArgument(`Quantum ${section}['${key}']: expected [ref, recIds] pairs.`, { details: { section, datasetType: key } });
    }
    return el[0];
  }
  return el;
}

/**
 * Parse a quantum: daf_butler's SerializedQuantum (`datasetTypeMapping`, refs grouped by dataset
 * type name as `[ref, recIds]`, nested refs with `datasetType: null`; dimension records ignored),
 * or the compact form `{taskName?, dataId?, datasetTypes?, initInputs?: Ref[], inputs?: Ref[],
 * outputs?: Ref[], datastoreRecords?}`. Each section may independently be a list or a grouping.
 */
export function parseQuantum(input: unknown, registry?: StorageClassRegistry, universe?: DimensionUniverse): Quantum {
  if (!isPlainObject(input)) throw new InvalidArgument('A quantum must be an object.', { details: { input } });
  const taskName = input['taskName'] ?? '';
  if (typeof taskName !== 'string') throw new InvalidArgument('Quantum taskName must be a string.', { details: { taskName } });
  const rawDataId = input['dataId'];
  const dataId = rawDataId === null || rawDataId === undefined ? null : parseDataId(rawDataId, universe);

  const types = new Map<string, DatasetType>();
  const addType = (dt: DatasetType): void => {
    const existing = types.get(dt.name);
    if (existing && !datasetTypeEquals(existing, dt)) {
      throw new ConflictingDefinition(`Quantum defines dataset type '${dt.name}' twice with different definitions.`, {
        details: { existing: serializeDatasetType(existing), new: serializeDatasetType(dt) },
      });
    }
    if (!existing) types.set(dt.name, dt);
  };
  const mapping = input['datasetTypeMapping'];
  if (mapping !== undefined && mapping !== null) {
    if (!isPlainObject(mapping)) throw new InvalidArgument('Quantum datasetTypeMapping must be an object.', { details: { datasetTypeMapping: mapping } });
    for (const [key, raw] of Object.entries(mapping)) {
      const dt = parseDatasetType(raw, types, universe);
      if (dt.name !== key) {
        throw new InvalidArgument(`Quantum datasetTypeMapping key '${key}' does not match dataset type name '${dt.name}'.`, { details: { key, name: dt.name } });
      }
      addType(dt);
    }
  }
  const listed = input['datasetTypes'];
  if (listed !== undefined && listed !== null) {
    const entries = Array.isArray(listed) ? listed : isPlainObject(listed) ? Object.values(listed) : null;
    if (!entries) throw new InvalidArgument('Quantum datasetTypes must be a list of dataset types.', { details: { datasetTypes: listed } });
    for (const raw of entries) addType(parseDatasetType(raw, types, universe));
  }

  const parseSection = (section: Section): DatasetRef[] => {
    const raw = input[section];
    if (raw === undefined || raw === null) return [];
    const refs: DatasetRef[] = [];
    if (Array.isArray(raw)) {
      for (const r of raw) refs.push(parseDatasetRef(unwrapNested(r, section, '*'), types, registry, undefined, universe));
    } else if (isPlainObject(raw)) {
      for (const [key, val] of Object.entries(raw)) {
        const dt = types.get(key);
        if (!dt) {
          throw new UnknownDatasetType(`Quantum ${section} uses dataset type '${key}', which is not in datasetTypeMapping.`, {
            details: { section, datasetType: key },
          });
        }
        const group = section === 'initInputs' ? [val] : val;
        if (!Array.isArray(group)) throw new InvalidArgument(`Quantum ${section}['${key}'] must be a list of [ref, recIds] pairs.`, { details: { section, datasetType: key } });
        for (const el of group) refs.push(parseDatasetRef(unwrapNested(el, section, key), types, registry, dt, universe));
      }
    } else {
      throw new InvalidArgument(`Quantum ${section} must be a list of refs or a mapping of dataset type name to refs.`, { details: { section } });
    }
    return refs;
  };
  const initInputs = parseSection('initInputs');
  const inputs = parseSection('inputs');
  const outputs = parseSection('outputs');
  checkSingleInitInputs(initInputs);
  for (const ref of [...initInputs, ...inputs, ...outputs]) if (!types.has(ref.datasetType.name)) types.set(ref.datasetType.name, ref.datasetType);

  return {
    taskName,
    dataId,
    initInputs,
    inputs,
    outputs,
    datasetTypes: types,
    datastoreRecords: parseRecordMapping(input['datastoreRecords']),
  };
}

function checkSingleInitInputs(refs: readonly DatasetRef[]): void {
  const seen = new Set<string>();
  for (const r of refs) {
    if (seen.has(r.datasetType.name)) {
      throw new InvalidArgument(`Quantum has more than one init-input of dataset type '${r.datasetType.name}'.`, { details: { datasetType: r.datasetType.name } });
    }
    seen.add(r.datasetType.name);
  }
}

/**
 * daf_butler SerializedQuantum. Nested refs carry `datasetType: null` unless their type differs
 * from the mapping's (a storage-class override), in which case the full type is written.
 * Dimension records are not kept: `dimensionRecords` is null and every recIds list is empty.
 */
export function serializeQuantum(q: Quantum): SerializedQuantum {
  checkSingleInitInputs(q.initInputs);
  const mapping: Record<string, SerializedDatasetType> = {};
  const base = new Map<string, DatasetType>(q.datasetTypes);
  for (const ref of [...q.initInputs, ...q.inputs, ...q.outputs]) if (!base.has(ref.datasetType.name)) base.set(ref.datasetType.name, ref.datasetType);
  for (const name of [...base.keys()].sort()) setOwn(mapping, name, serializeDatasetType(base.get(name)!));
  const nested = (ref: DatasetRef): SerializedQuantumRef => [
    {
      id: ref.id,
      datasetType: datasetTypeEquals(base.get(ref.datasetType.name)!, ref.datasetType) ? null : serializeDatasetType(ref.datasetType),
      dataId: serializeDataCoordinate(ref.dataId, ref.datasetType.group),
      run: ref.run,
      component: null,
    },
    [],
  ];
  const group = (refs: readonly DatasetRef[]): Record<string, SerializedQuantumRef[]> => {
    const out = new Map<string, SerializedQuantumRef[]>();
    for (const r of refs) {
      const list = out.get(r.datasetType.name) ?? [];
      list.push(nested(r));
      out.set(r.datasetType.name, list);
    }
    return Object.fromEntries([...out.keys()].sort().map((k) => [k, out.get(k)!]));
  };
  const initInputs: Record<string, SerializedQuantumRef> = {};
  for (const r of [...q.initInputs].sort((a, b) => (a.datasetType.name < b.datasetType.name ? -1 : 1))) setOwn(initInputs, r.datasetType.name, nested(r));
  return {
    taskName: q.taskName,
    dataId: q.dataId === null ? null : serializeDataCoordinate(q.dataId),
    datasetTypeMapping: mapping,
    initInputs,
    inputs: group(q.inputs),
    outputs: group(q.outputs),
    dimensionRecords: null,
    datastoreRecords: serializeRecordMapping(q.datastoreRecords),
  };
}

/** Ids of init-inputs and inputs (the predicted inputs), deduplicated, in order. */
export function quantumInputIds(q: Quantum): DatasetId[] {
  return [...new Set([...q.initInputs, ...q.inputs].map((r) => r.id))];
}

/** Ids of the predicted outputs, deduplicated, in order. */
export function quantumOutputIds(q: Quantum): DatasetId[] {
  return [...new Set(q.outputs.map((r) => r.id))];
}
