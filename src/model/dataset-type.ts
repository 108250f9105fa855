/**
 * Dataset types: a name, a storage class (by name), required dimensions and, for
 * component types (`parent.component`), the parent's storage class.
 */
import { InvalidArgument, StorageClassMismatch, UnknownComponent, UnknownDatasetType } from './errors.js';
import { isPlainObject } from './json-value.js';
import { DIMENSION_NAME_RE } from './data-coordinate.js';
import type { StorageClassRegistry } from './storage-class.js';

export interface DatasetType {
  readonly name: string;
  readonly storageClass: string;
  /** Required dimension names, sorted, unique. */
  readonly dimensions: readonly string[];
  readonly parentStorageClass?: string;
  readonly isCalibration: boolean;
}

/** daf_butler's JSON form. `parentStorageClass` is omitted when absent. */
export interface SerializedDatasetType {
  name: string;
  storageClass: string;
  dimensions: string[];
  parentStorageClass?: string | null;
  isCalibration: boolean;
}

export const DATASET_TYPE_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*)*$/;
/** Longest dataset type name, components included (daf_butler's registry column holds 128). */
export const MAX_DATASET_TYPE_NAME_LENGTH = 128;

/** Governor dimensions of the default universe; they may not be used as dataset type names. */
export const GOVERNOR_DIMENSIONS: readonly string[] = ['instrument', 'skymap'];

/** Split at the first dot: `a.b.c` → `{parent: 'a', component: 'b.c'}`. */
export function splitComponent(name: string): { parent: string; component?: string } {
  const i = name.indexOf('.');
  return i < 0 ? { parent: name } : { parent: name.slice(0, i), component: name.slice(i + 1) };
}

export function isComponentName(name: string): boolean {
  return name.includes('.');
}

/** Throws InvalidArgument unless `name` is a valid dataset type name. */
export function validateDatasetTypeName(name: unknown): asserts name is string {
  if (typeof name === 'string' && name.length > MAX_DATASET_TYPE_NAME_LENGTH) {
    throw new InvalidArgument(`DatasetType name '${name.slice(0, 40)}…' is invalid: longer than ${MAX_DATASET_TYPE_NAME_LENGTH} characters.`, {
      details: { length: name.length, max: MAX_DATASET_TYPE_NAME_LENGTH },
    });
  }
  if (typeof name !== 'string' || !DATASET_TYPE_NAME_RE.test(name)) {
    throw new InvalidArgument(`DatasetType name '${String(name)}' is invalid.`, { details: { name } });
  }
  if (GOVERNOR_DIMENSIONS.includes(splitComponent(name).parent)) {
    throw new InvalidArgument(`DatasetType name '${name}' is invalid: it is the name of a governor dimension.`, { details: { name } });
  }
}

function normalizeDimensions(dims: unknown, name: string): string[] {
  if (!Array.isArray(dims)) {
    throw new InvalidArgument(`DatasetType '${name}': dimensions must be a list of dimension names.`, { details: { name, dimensions: dims } });
  }
  for (const d of dims) {
    if (typeof d !== 'string' || !DIMENSION_NAME_RE.test(d)) {
      throw new InvalidArgument(`DatasetType '${name}': invalid dimension name ${JSON.stringify(d)}.`, { details: { name, dimensions: dims } });
    }
  }
  return [...new Set(dims as string[])].sort();
}

/**
 * Build (and validate) a dataset type. Dimensions are sorted and deduplicated;
 * `parentStorageClass` is required exactly when the name has a component part.
 */
export function makeDatasetType(spec: {
  name: string;
  storageClass: string;
  dimensions: readonly string[];
  parentStorageClass?: string | null;
  isCalibration?: boolean;
}): DatasetType {
  validateDatasetTypeName(spec.name);
  const name = spec.name;
  if (typeof spec.storageClass !== 'string' || spec.storageClass.length === 0) {
    throw new InvalidArgument(`DatasetType '${name}': storageClass must be a non-empty storage class name.`, {
      details: { name, storageClass: spec.storageClass },
    });
  }
  const dimensions = normalizeDimensions(spec.dimensions, name);
  const parent = spec.parentStorageClass ?? undefined;
  if (parent !== undefined && (typeof parent !== 'string' || parent.length === 0)) {
    throw new InvalidArgument(`DatasetType '${name}': parentStorageClass must be a storage class name.`, { details: { name, parentStorageClass: parent } });
  }
  const isComponent = isComponentName(name);
  if (isComponent && parent === undefined) {
    throw new InvalidArgument(`Component dataset type '${name}' constructed without parent storage class.`, { details: { name } });
  }
  if (!isComponent && parent !== undefined) {
    throw new InvalidArgument(`Parent storage class specified by ${name} is not a composite.`, { details: { name, parentStorageClass: parent } });
  }
  const isCalibration = spec.isCalibration ?? false;
  if (typeof isCalibration !== 'boolean') {
    throw new InvalidArgument(`DatasetType '${name}': isCalibration must be a boolean.`, { details: { name, isCalibration } });
  }
  const dt: DatasetType = {
    name,
    storageClass: spec.storageClass,
    dimensions: Object.freeze(dimensions),
    ...(parent !== undefined ? { parentStorageClass: parent } : {}),
    isCalibration,
  };
  return Object.freeze(dt);
}

/**
 * Parse a SerializedDatasetType. The minimal form `{name}` (storageClass and dimensions absent
 * or null) is resolved through `known`; UnknownDatasetType if it is not there. A full form must
 * give both storageClass and dimensions.
 */
export function parseDatasetType(input: unknown, known?: ReadonlyMap<string, DatasetType>): DatasetType {
  if (!isPlainObject(input)) {
    throw new InvalidArgument(`A dataset type must be an object {name, storageClass, dimensions, ...}, got ${JSON.stringify(input) ?? String(input)}.`, {
      details: { datasetType: input },
    });
  }
  const name = input['name'];
  validateDatasetTypeName(name);
  const sc = input['storageClass'];
  const dims = input['dimensions'];
  if ((sc === undefined || sc === null) && (dims === undefined || dims === null)) {
    const found = known?.get(name);
    if (!found) {
      throw new UnknownDatasetType(`Dataset type '${name}' is not known; give storageClass and dimensions.`, { details: { name } });
    }
    return found;
  }
  if (sc === undefined || sc === null) {
    throw new InvalidArgument(`DatasetType '${name}' has dimensions but no storageClass.`, { details: { name } });
  }
  if (dims === undefined || dims === null) {
    throw new InvalidArgument(`DatasetType '${name}' has a storageClass but no dimensions; dimensions are required.`, { details: { name } });
  }
  if (typeof sc !== 'string') {
    throw new InvalidArgument(`DatasetType '${name}': storageClass must be a storage class name.`, { details: { name, storageClass: sc } });
  }
  const isCal = input['isCalibration'];
  return makeDatasetType({
    name,
    storageClass: sc,
    dimensions: dims as string[],
    parentStorageClass: input['parentStorageClass'] as string | null | undefined,
    isCalibration: isCal === undefined || isCal === null ? false : (isCal as boolean),
  });
}

export function serializeDatasetType(dt: DatasetType): SerializedDatasetType {
  return {
    name: dt.name,
    storageClass: dt.storageClass,
    dimensions: [...dt.dimensions],
    ...(dt.parentStorageClass !== undefined ? { parentStorageClass: dt.parentStorageClass } : {}),
    isCalibration: dt.isCalibration,
  };
}

function sameDims(a: readonly string[], b: readonly string[]): boolean {
  const sa = [...new Set(a)].sort();
  const sb = [...new Set(b)].sort();
  return sa.length === sb.length && sa.every((d, i) => d === sb[i]);
}

/** Equal name, storage class, dimensions (as sets), parent storage class and isCalibration. */
export function datasetTypeEquals(a: DatasetType, b: DatasetType): boolean {
  return (
    a.name === b.name &&
    a.storageClass === b.storageClass &&
    a.parentStorageClass === b.parentStorageClass &&
    a.isCalibration === b.isCalibration &&
    sameDims(a.dimensions, b.dimensions)
  );
}

export function sameDimensions(a: DatasetType, b: DatasetType): boolean {
  return sameDims(a.dimensions, b.dimensions);
}

/** Everything but the storage class equal, and the storage classes equal or `a`'s convertible from `b`'s. */
export function datasetTypeIsCompatibleWith(a: DatasetType, b: DatasetType, registry: StorageClassRegistry): boolean {
  if (a.name !== b.name || a.isCalibration !== b.isCalibration || a.parentStorageClass !== b.parentStorageClass) return false;
  if (!sameDims(a.dimensions, b.dimensions)) return false;
  return a.storageClass === b.storageClass || registry.canConvert(b.storageClass, a.storageClass);
}

/** The component type `parent.component`, with the component's storage class; UnknownComponent if not a component. */
export function makeComponentDatasetType(parent: DatasetType, component: string, registry: StorageClassRegistry): DatasetType {
  const comps = registry.allComponents(parent.storageClass);
  if (!Object.prototype.hasOwnProperty.call(comps, component)) {
    throw new UnknownComponent(
      `Requested component (${component}) not understood by StorageClass ${parent.storageClass} of dataset type '${parent.name}'.`,
      { details: { datasetType: parent.name, storageClass: parent.storageClass, component, known: Object.keys(comps).sort() } },
    );
  }
  return makeDatasetType({
    name: `${parent.name}.${component}`,
    storageClass: comps[component]!,
    dimensions: parent.dimensions,
    parentStorageClass: parent.storageClass,
    isCalibration: parent.isCalibration,
  });
}

/** The composite (parent) type of a component type; InvalidArgument for a non-component type. */
export function makeCompositeDatasetType(dt: DatasetType): DatasetType {
  const { parent, component } = splitComponent(dt.name);
  if (component === undefined || dt.parentStorageClass === undefined) {
    throw new InvalidArgument(`DatasetType ${dt.name} must be a component to form the composite.`, { details: { name: dt.name } });
  }
  return makeDatasetType({ name: parent, storageClass: dt.parentStorageClass, dimensions: dt.dimensions, isCalibration: dt.isCalibration });
}

/**
 * The same type with another storage class (daf_butler overrideStorageClass). Same name → `dt`
 * itself. With a registry the classes must be convertible in either direction, else
 * StorageClassMismatch; the parent storage class is kept.
 */
export function overrideDatasetTypeStorageClass(dt: DatasetType, storageClass: string, registry?: StorageClassRegistry): DatasetType {
  if (storageClass === dt.storageClass) return dt;
  if (registry) {
    registry.get(storageClass);
    if (!registry.canConvert(dt.storageClass, storageClass) && !registry.canConvert(storageClass, dt.storageClass)) {
      throw new StorageClassMismatch(
        `The new storage class (${storageClass}) is not compatible with the existing storage class (${dt.storageClass}).`,
        { details: { datasetType: dt.name, storageClass: dt.storageClass, requested: storageClass } },
      );
    }
  }
  return makeDatasetType({ ...dt, storageClass });
}
