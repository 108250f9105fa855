/**
 * daf_butler's SerializedDatasetRefContainerV1: refs serialised together with the
 * dimension universe they were made in (`universe_namespace`, `universe_version`), their
 * dataset types by name and, per id, `{dataset_type_name, run, data_id}`.
 *
 * Read as daf_butler's `to_refs` reads it: a container from another universe namespace is
 * refused (InconsistentUniverse); from another version of the same namespace its dataset
 * types must conform to the same required dimensions here. Dimension records are ignored.
 */
import { InconsistentUniverse, InvalidArgument } from './errors.js';
import { isPlainObject } from './json-value.js';
import { makeDataId } from './data-coordinate.js';
import { parseDatasetType, type DatasetType } from './dataset-type.js';
import { makeDatasetRef, type DatasetRef } from './dataset-ref.js';
import type { DimensionUniverse } from './dimensions/dimension-universe.js';

/** True for an object in the container form (it has `container_version`). */
export function isRefContainer(input: unknown): input is Record<string, unknown> {
  return isPlainObject(input) && 'container_version' in input;
}

function field<T>(obj: Record<string, unknown>, key: string, ok: (v: unknown) => v is T, what: string): T {
  const v = obj[key];
  if (!ok(v)) throw new InvalidArgument(`Ref container: ${key} must be ${what}.`, { details: { [key]: v } });
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

/** The refs of a container, in the universe `universe`; dataset types it defines are added to `types`. */
export function parseRefContainer(input: unknown, universe: DimensionUniverse, types?: Map<string, DatasetType>): DatasetRef[] {
  if (!isRefContainer(input)) throw new InvalidArgument('A ref container must be an object with container_version.', { details: { input } });
  const version = input['container_version'];
  if (version !== 'V1') throw new InvalidArgument(`Unknown ref container version ${JSON.stringify(version)}; expected "V1".`, { details: { container_version: version } });
  const compact = field(input, 'compact_refs', isPlainObject, 'an object of id → {dataset_type_name, run, data_id}');
  if (Object.keys(compact).length === 0) return [];
  const namespace = field(input, 'universe_namespace', isString, 'a string');
  const uVersion = field(input, 'universe_version', isInt, 'an integer');
  if (namespace !== universe.namespace) {
    throw new InconsistentUniverse(`Can not convert to refs in universe ${universe.namespace} that were created from universe ${namespace}.`, {
      details: { container: { namespace, version: uVersion }, session: universe.toJSON() },
    });
  }
  const rawTypes = field(input, 'dataset_types', isPlainObject, 'an object of name → SerializedDatasetType');
  const byName = new Map<string, DatasetType>();
  for (const [name, raw] of Object.entries(rawTypes)) {
    let dt: DatasetType;
    try {
      dt = parseDatasetType(raw, undefined, universe);
    } catch (err) {
      if (uVersion === universe.version) throw err;
      throw new InconsistentUniverse(`Source dimensions of dataset type ${name} are not compatible with the dimensions of universe ${universe.label}: ${(err as Error).message}`, {
        details: { datasetType: name, container: { namespace, version: uVersion } },
      });
    }
    const given = (raw as { dimensions?: unknown }).dimensions;
    if (uVersion !== universe.version && Array.isArray(given) && !sameSet(dt.dimensions, given as string[])) {
      throw new InconsistentUniverse(
        `Source dimensions ${JSON.stringify(given)} of dataset type ${name} differ from the conforming set ${JSON.stringify(dt.dimensions)} of universe ${universe.label}.`,
        { details: { datasetType: name, given, conformed: dt.dimensions } },
      );
    }
    if (dt.name !== name) throw new InvalidArgument(`Ref container: dataset_types key '${name}' does not match the type's name '${dt.name}'.`);
    byName.set(name, dt);
    if (types && !types.has(name)) types.set(name, dt);
  }
  return Object.entries(compact).map(([id, raw]) => {
    if (!isPlainObject(raw)) throw new InvalidArgument(`Ref container: compact ref ${id} must be an object.`, { datasetId: id });
    const typeName = field(raw, 'dataset_type_name', isString, 'a dataset type name');
    const dt = byName.get(typeName);
    if (!dt) throw new InvalidArgument(`Ref container: ref ${id} names dataset type '${typeName}', which the container does not define.`, { datasetId: id });
    const dataId = makeDataId(field(raw, 'data_id', isPlainObject, 'a data ID mapping'));
    return makeDatasetRef(dt, dataId, field(raw, 'run', isString, 'a run name'), id);
  });
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sb = new Set(b);
  return a.length === sb.size && a.every((x) => sb.has(x));
}
