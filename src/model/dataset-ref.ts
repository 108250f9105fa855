/**
 * Dataset refs: (id, dataset type, data ID, run). Always resolved. Parsed from
 * daf_butler's SerializedDatasetRef or from our compact wire form.
 */
import { InvalidArgument, InvalidDatasetRef, UnknownDatasetType } from './errors.js';
import { isPlainObject, isWellFormedString } from './json-value.js';
import { normalizeDatasetId, type DatasetId } from './dataset-id.js';
import {
  compareDataIds,
  dataIdEquals,
  dataIdKey,
  dataIdSubset,
  missingDimensions,
  parseDataId,
  serializeDataCoordinate,
  type DataId,
  type SerializedDataCoordinate,
} from './data-coordinate.js';
import {
  datasetTypeEquals,
  makeComponentDatasetType,
  makeCompositeDatasetType,
  makeDatasetType,
  overrideDatasetTypeStorageClass,
  parseDatasetType,
  sameDimensions,
  serializeDatasetType,
  splitComponent,
  type DatasetType,
  type SerializedDatasetType,
} from './dataset-type.js';
import type { StorageClassRegistry } from './storage-class.js';

export interface DatasetRef {
  readonly id: DatasetId;
  readonly datasetType: DatasetType;
  readonly dataId: DataId;
  readonly run: string;
}

export interface SerializedDatasetRef {
  id: string;
  datasetType: SerializedDatasetType | null;
  dataId: SerializedDataCoordinate | null;
  run: string | null;
  component: string | null;
}

/** `{id}` with optional component / storage class: resolved by the butler against its predicted refs. */
export interface MinimalRef {
  id: DatasetId;
  component?: string;
  storageClass?: string;
}

const RUN_MISSING = 'Run collection name is missing from serialized representation';

/** Why `run` cannot name a run collection (not a non-empty string, not well-formed Unicode, contains NUL), or undefined. */
export function runNameProblem(run: unknown): string | undefined {
  if (typeof run !== 'string' || run.length === 0) return 'a run name must be a non-empty string';
  if (!isWellFormedString(run)) return 'a run name must be well-formed Unicode (it has a lone surrogate)';
  if (run.includes('\0')) return 'a run name must not contain NUL';
  return undefined;
}

/** Build a ref, checking that every dimension of the dataset type has a value in the data ID. */
export function makeDatasetRef(datasetType: DatasetType, dataId: DataId, run: string, id: DatasetId): DatasetRef {
  const nid = normalizeDatasetId(id);
  if (typeof run !== 'string' || run.length === 0) {
    throw new InvalidDatasetRef(`${RUN_MISSING} (dataset ${nid}).`, { datasetId: nid, details: { run } });
  }
  const bad = runNameProblem(run);
  if (bad) throw new InvalidDatasetRef(`Dataset ${nid}: ${bad}.`, { datasetId: nid });
  const missing = missingDimensions(dataId, datasetType.dimensions);
  if (missing.length > 0) {
    throw new InvalidDatasetRef(
      `No value in data ID (${dataIdKey(dataId)}) for required dimension${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of dataset type '${datasetType.name}'.`,
      { datasetId: nid, details: { dataId, dimensions: datasetType.dimensions, missing } },
    );
  }
  return Object.freeze({ id: nid, datasetType, dataId, run });
}

/** True for `{id}`-only inputs (optionally with component / storageClass; datasetType, dataId and run absent or null). */
export function isMinimalRef(input: unknown): boolean {
  if (!isPlainObject(input) || input['id'] === undefined || input['id'] === null) return false;
  return input['datasetType'] == null && input['dataId'] == null && input['run'] == null;
}

/** Parse a minimal `{id, component?, storageClass?}` ref. */
export function parseMinimalRef(input: unknown): MinimalRef {
  if (!isMinimalRef(input)) {
    throw new InvalidDatasetRef('A minimal ref must be {id, component?, storageClass?}.', { details: { ref: input } });
  }
  const obj = input as Record<string, unknown>;
  const id = normalizeDatasetId(obj['id']);
  const out: MinimalRef = { id };
  const component = obj['component'];
  if (component !== undefined && component !== null) {
    if (typeof component !== 'string' || component.length === 0) {
      throw new InvalidDatasetRef(`Invalid component ${JSON.stringify(component)} in ref ${id}.`, { datasetId: id });
    }
    out.component = component;
  }
  const sc = obj['storageClass'];
  if (sc !== undefined && sc !== null) {
    if (typeof sc !== 'string' || sc.length === 0) {
      throw new InvalidDatasetRef(`Invalid storageClass ${JSON.stringify(sc)} in ref ${id}.`, { datasetId: id });
    }
    out.storageClass = sc;
  }
  return out;
}

function optionalString(obj: Record<string, unknown>, key: string, id: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0) {
    throw new InvalidDatasetRef(`Invalid ${key} ${JSON.stringify(v)} in ref ${id}: expected a non-empty string.`, { datasetId: id, details: { [key]: v } });
  }
  return v;
}

function withRefContext<T>(id: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InvalidArgument) {
      throw new InvalidDatasetRef(`Invalid ref ${id}: ${e.message}`, { datasetId: id, details: e.context.details });
    }
    throw e;
  }
}

/**
 * Parse a ref in daf_butler's SerializedDatasetRef form or our compact form (see module docs).
 * `datasetTypes` resolves dataset types given by name (or in minimal `{name}` form);
 * `registry` is needed for `component` and to check storage-class overrides.
 * @param knownType  used by quantum parsing: the type of nested refs whose datasetType is null.
 */
export function parseDatasetRef(
  input: unknown,
  datasetTypes?: ReadonlyMap<string, DatasetType>,
  registry?: StorageClassRegistry,
  knownType?: DatasetType,
): DatasetRef {
  if (!isPlainObject(input)) {
    throw new InvalidDatasetRef(`A dataset ref must be an object, got ${JSON.stringify(input) ?? String(input)}.`, { details: { ref: input } });
  }
  const id = normalizeDatasetId(input['id']);
  const rawType = input['datasetType'];
  const rawDataId = input['dataId'];
  if (knownType === undefined && (rawType === undefined || rawType === null)) {
    if (rawDataId === undefined || rawDataId === null) {
      throw new InvalidDatasetRef(
        `Ref ${id} has no dataset type or data ID; a minimal {id} ref can only be resolved against predicted refs.`,
        { datasetId: id },
      );
    }
    throw new InvalidDatasetRef('If specifying datasetType or dataId, must specify both.', { datasetId: id });
  }
  if (rawDataId === undefined) {
    throw new InvalidDatasetRef('If specifying datasetType or dataId, must specify both.', { datasetId: id });
  }
  const run = input['run'];
  if (typeof run !== 'string' || run.length === 0) {
    throw new InvalidDatasetRef(`${RUN_MISSING} (dataset ${id}).`, { datasetId: id, details: { run } });
  }
  const component = optionalString(input, 'component', id);
  const storageClass = optionalString(input, 'storageClass', id);
  const parentStorageClass = optionalString(input, 'parentStorageClass', id);
  const rawDims = input['dimensions'];
  if (rawDims !== undefined && rawDims !== null && !(Array.isArray(rawDims) && rawDims.every((d) => typeof d === 'string'))) {
    throw new InvalidDatasetRef(`Invalid dimensions in ref ${id}: expected a list of dimension names.`, { datasetId: id, details: { dimensions: rawDims } });
  }
  const dims = rawDims === undefined || rawDims === null ? undefined : (rawDims as string[]);

  return withRefContext(id, () => {
    const dataId = parseDataId(rawDataId);
    let datasetType: DatasetType;
    if (rawType === undefined || rawType === null) {
      datasetType = knownType!;
    } else if (typeof rawType === 'string') {
      datasetType = resolveTypeByName(rawType, id, dataId, datasetTypes, registry, { storageClass, dims, parentStorageClass });
    } else {
      datasetType = parseDatasetType(rawType, datasetTypes);
    }
    if (knownType !== undefined && datasetType.name !== knownType.name) {
      throw new InvalidDatasetRef(`Ref ${id} has dataset type '${datasetType.name}' where '${knownType.name}' was expected.`, {
        datasetId: id,
        details: { expected: knownType.name, got: datasetType.name },
      });
    }
    if (component !== undefined) {
      if (splitComponent(datasetType.name).component !== undefined) {
        throw new InvalidDatasetRef(`Ref ${id}: component '${component}' given for component dataset type '${datasetType.name}'.`, { datasetId: id });
      }
      if (!registry) {
        throw new InvalidDatasetRef(`Ref ${id}: component '${component}' cannot be resolved without a storage class registry.`, { datasetId: id });
      }
      datasetType = makeComponentDatasetType(datasetType, component, registry);
    }
    if (dims !== undefined && !sameDimensions(datasetType, { ...datasetType, dimensions: dims })) {
      // Keep what the caller said so refFieldsMismatch can report it.
      datasetType = makeDatasetType({ ...datasetType, dimensions: dims });
    }
    if (storageClass !== undefined && storageClass !== datasetType.storageClass) {
      datasetType = overrideDatasetTypeStorageClass(datasetType, storageClass, registry);
    }
    return makeDatasetRef(datasetType, dataId, run, id);
  });
}

function resolveTypeByName(
  name: string,
  id: string,
  dataId: DataId,
  datasetTypes: ReadonlyMap<string, DatasetType> | undefined,
  registry: StorageClassRegistry | undefined,
  extra: { storageClass?: string; dims?: string[]; parentStorageClass?: string },
): DatasetType {
  const found = datasetTypes?.get(name);
  if (found) return found;
  const { parent, component } = splitComponent(name);
  const parentType = component !== undefined ? datasetTypes?.get(parent) : undefined;
  if (parentType && component !== undefined && registry) return makeComponentDatasetType(parentType, component, registry);
  if (extra.storageClass !== undefined) {
    return makeDatasetType({
      name,
      storageClass: extra.storageClass,
      dimensions: extra.dims ?? Object.keys(dataId),
      parentStorageClass: extra.parentStorageClass ?? parentType?.storageClass,
    });
  }
  throw new UnknownDatasetType(`Dataset type '${name}' of ref ${id} is not known; give its storageClass (and dimensions) or a full dataset type.`, {
    datasetId: id,
    details: { datasetType: name },
  });
}

/**
 * daf_butler's full SerializedDatasetRef. A component ref is written as daf_butler does: the
 * component dataset type (`parent.comp` with its parentStorageClass) and `component: null`.
 */
export function serializeDatasetRef(ref: DatasetRef): SerializedDatasetRef {
  return {
    id: ref.id,
    datasetType: serializeDatasetType(ref.datasetType),
    dataId: serializeDataCoordinate(ref.dataId),
    run: ref.run,
    component: null,
  };
}

/** Compact wire form: `{id, datasetType: name, dataId: mapping, run, storageClass}`. */
export function serializeCompactRef(ref: DatasetRef): { id: string; datasetType: string; dataId: Record<string, string | number>; run: string; storageClass: string } {
  return { id: ref.id, datasetType: ref.datasetType.name, dataId: { ...ref.dataId }, run: ref.run, storageClass: ref.datasetType.storageClass };
}

export type RefField = 'id' | 'datasetType' | 'dataId' | 'run' | 'dimensions' | 'storageClass';

/**
 * Fields of `given` that do not match `predicted`: 'id', 'datasetType' (name), 'dataId' (compared
 * on the predicted type's required dimensions), 'run', 'dimensions', and 'storageClass' only when
 * the two classes are not convertible in either direction (unknown classes count as mismatching).
 */
export function refFieldsMismatch(predicted: DatasetRef, given: DatasetRef, registry: StorageClassRegistry): RefField[] {
  const out: RefField[] = [];
  if (predicted.id !== given.id) out.push('id');
  if (predicted.datasetType.name !== given.datasetType.name) out.push('datasetType');
  const req = predicted.datasetType.dimensions;
  const givenReq = dataIdSubset(given.dataId, req);
  if (missingDimensions(given.dataId, req).length > 0 || !dataIdEquals(dataIdSubset(predicted.dataId, req), givenReq)) out.push('dataId');
  if (predicted.run !== given.run) out.push('run');
  if (!sameDimensions(predicted.datasetType, given.datasetType)) out.push('dimensions');
  const a = predicted.datasetType.storageClass;
  const b = given.datasetType.storageClass;
  if (a !== b && !registry.canConvert(a, b) && !registry.canConvert(b, a)) out.push('storageClass');
  return out;
}

/** The same ref seen through another storage class. With a registry the change is checked (StorageClassMismatch). */
export function withStorageClass(ref: DatasetRef, scName: string, registry?: StorageClassRegistry): DatasetRef {
  if (scName === ref.datasetType.storageClass) return ref;
  return Object.freeze({ ...ref, datasetType: overrideDatasetTypeStorageClass(ref.datasetType, scName, registry) });
}

/** The component ref `parent.component` (same id and run). */
export function makeComponentRef(ref: DatasetRef, component: string, registry: StorageClassRegistry): DatasetRef {
  return Object.freeze({ ...ref, datasetType: makeComponentDatasetType(ref.datasetType, component, registry) });
}

/** The composite ref of a component ref (same id and run). */
export function makeCompositeRef(ref: DatasetRef): DatasetRef {
  return Object.freeze({ ...ref, datasetType: makeCompositeDatasetType(ref.datasetType) });
}

/** daf_butler ref equality: dataset type (including storage class), data ID and id; the run is not compared. */
export function datasetRefEquals(a: DatasetRef, b: DatasetRef): boolean {
  return a.id === b.id && datasetTypeEquals(a.datasetType, b.datasetType) && dataIdEquals(a.dataId, b.dataId);
}

/** Order by (run, dataset type name, data ID, id). */
export function compareRefs(a: DatasetRef, b: DatasetRef): number {
  if (a.run !== b.run) return a.run < b.run ? -1 : 1;
  if (a.datasetType.name !== b.datasetType.name) return a.datasetType.name < b.datasetType.name ? -1 : 1;
  const c = compareDataIds(a.dataId, b.dataId);
  if (c !== 0) return c;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** A readable one-line description, e.g. `calexp@{detector=1,instrument=Cam1} [sc=Table] (run=r, id=...)`. */
export function refToString(ref: DatasetRef): string {
  return `${ref.datasetType.name}@{${dataIdKey(ref.dataId)}} [sc=${ref.datasetType.storageClass}] (run=${ref.run}, id=${ref.id})`;
}

