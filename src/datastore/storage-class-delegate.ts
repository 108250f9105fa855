/**
 * Storage-class behaviour on values: validation, write coercion, read parameters,
 * components and read-time conversion (daf_butler's StorageClassDelegate plus the
 * InMemoryDatastore.get after the record lookup: components, parameters, conversion).
 * Pure: no I/O.
 *
 * Differences from daf_butler, on purpose:
 *  - parameter *values* are validated (InvalidArgument), not only their names;
 *  - on read, the value is converted to the read storage class *before* the remaining
 *    parameters are applied, so parameters always act on the shape they were validated for;
 *  - the result never aliases the stored value (deep copy; Buffers copied).
 */
import {
  InvalidArgument,
  InvalidValue,
  StorageClassMismatch,
  UnknownComponent,
  UnknownParameter,
} from '../model/errors.js';
import { compileGlob } from '../model/glob.js';
import { deepCopy, isPlainObject, jsTypeName, setOwn } from '../model/json-value.js';
import { convertKind, KIND_PARAMETERS, kindProblem, type TableValue } from '../model/storage-kinds.js';
import type { StorageClass, StorageClassRegistry } from '../model/storage-class.js';

export type ReadParameters = Record<string, unknown>;

export interface ReadRequest {
  /** Component to extract (derived or read/write). */
  component?: string;
  parameters?: ReadParameters;
  /** Read storage class override (for a component: applies to the component). */
  storageClass?: string;
  /** The ref's parent storage class (component refs): used when the component exists only there (DM-55708). */
  parentStorageClass?: string;
}

export interface ReadResult {
  value: unknown;
  /** The storage class the value is returned as. */
  storageClass: string;
}

// ---------------------------------------------------------------------------------------------
// Value validation

/**
 * Why `value` does not fit `sc`, or null. With a registry, present (non-null) read/write
 * component values are checked against their own storage classes too.
 */
export function valueProblem(value: unknown, sc: StorageClass, registry?: StorageClassRegistry): string | null {
  const p = kindProblem(value, sc.kind);
  if (p) return p;
  if (registry && isPlainObject(value)) {
    for (const [c, scName] of Object.entries(sc.components)) {
      const v = value[c];
      if (v === undefined || v === null) continue;
      const comp = registry.has(scName) ? registry.get(scName) : undefined;
      if (!comp) continue;
      const cp = valueProblem(v, comp, registry);
      if (cp) return `component '${c}' (${scName}): ${cp}`;
    }
  }
  return null;
}

/** InvalidValue when the JS value does not fit the storage class. */
export function checkValue(value: unknown, sc: StorageClass, registry?: StorageClassRegistry): void {
  const p = valueProblem(value, sc, registry);
  if (p) {
    throw new InvalidValue(`Value does not fit StorageClass ${sc.name}: ${p}.`, {
      details: { storageClass: sc.name, kind: sc.kind, problem: p, got: jsTypeName(value) },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Conversion

function noConverter(value: unknown, target: string, reasons: string[] = []): never {
  const from = jsTypeName(value);
  throw new StorageClassMismatch(`Type does not match and no valid converter found to convert '${from}' to '${target}'.`, {
    details: { from, to: target, ...(reasons.length > 0 ? { reasons } : {}) },
  });
}

/**
 * Coerce a value for writing with storage class `targetSc`: a value that already fits is
 * returned unchanged (same object); otherwise the first declared converter source the value
 * fits is used; else StorageClassMismatch. A result whose components do not fit → InvalidValue.
 * What it returns has passed `checkValue(result, target, registry)`.
 */
export function coerceForWrite(value: unknown, targetSc: string, registry: StorageClassRegistry): unknown {
  const target = registry.get(targetSc);
  // One walk when the value fits (every ordinary put); the failure paths may walk again.
  if (valueProblem(value, target, registry) === null) return value;
  if (kindProblem(value, target.kind) === null) checkValue(value, target, registry); // throws: a component does not fit
  const reasons: string[] = [];
  for (const srcName of target.converters) {
    if (!registry.has(srcName)) continue;
    const src = registry.get(srcName);
    if (kindProblem(value, src.kind) !== null) continue;
    const r = convertKind(value, src.kind, target.kind);
    if (r.ok && kindProblem(r.value, target.kind) === null) {
      checkValue(r.value, target, registry);
      return r.value;
    }
    reasons.push(`via ${srcName}: ${r.ok ? kindProblem(r.value, target.kind) : r.reason}`);
  }
  return noConverter(value, target.name, reasons);
}

/**
 * Convert a value held as `from` into `to` for reading. A value that already fits `to` is returned
 * as is; otherwise the kind converter is applied; failure → StorageClassMismatch. May share
 * structure with the input.
 */
export function convertValue(value: unknown, from: StorageClass, to: StorageClass): unknown {
  if (kindProblem(value, to.kind) === null) return value;
  const r = convertKind(value, from.kind, to.kind);
  if (r.ok && kindProblem(r.value, to.kind) === null) return r.value;
  return noConverter(value, to.name, [r.ok ? (kindProblem(r.value, to.kind) ?? '') : r.reason]);
}

// ---------------------------------------------------------------------------------------------
// Parameters

function isIntOrNull(v: unknown): boolean {
  return v === null || (typeof v === 'number' && Number.isSafeInteger(v));
}

function checkSliceParam(name: string, value: unknown, sc: string): void {
  if (!Array.isArray(value) || value.length < 1 || value.length > 2 || !value.every(isIntOrNull)) {
    throw new InvalidArgument(
      `Parameter '${name}' of StorageClass ${sc} must be [start, end?] with integer (or null) bounds, got ${JSON.stringify(value) ?? String(value)}.`,
      { details: { storageClass: sc, parameter: name, value } },
    );
  }
}

function checkKindParameter(sc: StorageClass, name: string, value: unknown): void {
  switch (`${sc.kind}:${name}`) {
    case 'list:slice':
    case 'text:slice':
    case 'table:rows':
      return checkSliceParam(name, value, sc.name);
    case 'bytes:start':
    case 'bytes:end':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        throw new InvalidArgument(`Parameter '${name}' of StorageClass ${sc.name} must be an integer byte offset, got ${JSON.stringify(value) ?? String(value)}.`, {
          details: { storageClass: sc.name, parameter: name, value },
        });
      }
      return;
    case 'table:columns': {
      const ok =
        (typeof value === 'string' && value.length > 0) ||
        (Array.isArray(value) && value.every((p) => typeof p === 'string' && p.length > 0));
      if (!ok) {
        throw new InvalidArgument(
          `Parameter 'columns' of StorageClass ${sc.name} must be a column name or glob, or a list of them, got ${JSON.stringify(value) ?? String(value)}.`,
          { details: { storageClass: sc.name, parameter: name, value } },
        );
      }
      // A pattern the glob rules refuse (too long, nested too deep, ...) is refused here, before any read.
      for (const p of typeof value === 'string' ? [value] : (value as string[])) compileGlob(p, 'columns pattern');
      return;
    }
    default:
      return;
  }
}

function ownKindParameter(sc: StorageClass, name: string): boolean {
  return sc.parameters.includes(name) && KIND_PARAMETERS[sc.kind].includes(name);
}

/** Drop entries whose value is undefined; reject a non-object. */
function normalizeParameters(params: unknown): ReadParameters {
  if (params === undefined || params === null) return {};
  if (!isPlainObject(params)) {
    throw new InvalidArgument(`Read parameters must be an object, got ${jsTypeName(params)}.`, { details: { parameters: params } });
  }
  const out: ReadParameters = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) setOwn<unknown>(out, k, v);
  return out;
}

/**
 * Check parameter names against `registry.knownParameters(sc)` (UnknownParameter, daf_butler's
 * wording) and their values (InvalidArgument).
 */
export function validateParameters(params: ReadParameters | undefined, sc: StorageClass, registry: StorageClassRegistry): void {
  const p = normalizeParameters(params);
  const keys = Object.keys(p);
  if (keys.length === 0) return;
  const known = registry.knownParameters(sc);
  const unknown = keys.filter((k) => !known.has(k)).sort();
  if (unknown.length > 0) {
    throw new UnknownParameter(
      `Parameter${unknown.length > 1 ? 's' : ''} '${unknown.join("', '")}' not understood by StorageClass ${sc.name}`,
      { details: { storageClass: sc.name, unknown, known: [...known].sort() } },
    );
  }
  for (const k of keys) validateParameterValue(sc, k, p[k], registry, new Set());
}

function validateParameterValue(sc: StorageClass, name: string, value: unknown, registry: StorageClassRegistry, seen: Set<string>): void {
  if (ownKindParameter(sc, name)) return checkKindParameter(sc, name, value);
  if (seen.has(sc.name)) return;
  seen.add(sc.name);
  for (const compName of Object.values(sc.components)) {
    if (!registry.has(compName)) continue;
    const comp = registry.get(compName);
    if (registry.knownParameters(comp).has(name)) validateParameterValue(comp, name, value, registry, seen);
  }
}

/** Python slice bounds: negatives count from the end, null means open, results clamped. */
export function sliceBounds(spec: readonly (number | null)[], length: number): [number, number] {
  const norm = (v: number | null | undefined, dflt: number): number => {
    if (v === null || v === undefined) return dflt;
    if (v < 0) return Math.max(0, length + v);
    return Math.min(v, length);
  };
  const start = norm(spec[0], 0);
  const end = norm(spec[1], length);
  return [start, Math.max(start, end)];
}

function selectColumns(names: readonly string[], patterns: string | readonly string[], sc: string): string[] {
  const list = typeof patterns === 'string' ? [patterns] : patterns;
  const globs = list.map((p) => compileGlob(p, 'columns pattern'));
  for (const g of globs) {
    if (g.literal !== undefined && !names.includes(g.literal)) {
      throw new InvalidArgument(`Column '${g.literal}' requested through parameter 'columns' does not exist in the ${sc} value.`, {
        details: { column: g.literal, columns: names },
      });
    }
  }
  return names.filter((n) => globs.some((g) => g.match(n)));
}

function applyKindParameter(sc: StorageClass, value: unknown, params: ReadParameters): unknown {
  switch (sc.kind) {
    case 'list': {
      if (params['slice'] === undefined) return value;
      const arr = value as unknown[];
      const [s, e] = sliceBounds(params['slice'] as (number | null)[], arr.length);
      return arr.slice(s, e);
    }
    case 'text': {
      if (params['slice'] === undefined) return value;
      const chars = Array.from(value as string);
      const [s, e] = sliceBounds(params['slice'] as (number | null)[], chars.length);
      return chars.slice(s, e).join('');
    }
    case 'bytes': {
      if (params['start'] === undefined && params['end'] === undefined) return value;
      const b = value as Uint8Array;
      const [s, e] = sliceBounds([(params['start'] as number | undefined) ?? null, (params['end'] as number | undefined) ?? null], b.byteLength);
      return Buffer.from(b.subarray(s, e));
    }
    case 'table': {
      const t = value as TableValue;
      let names = Object.keys(t.columns);
      if (params['columns'] !== undefined) names = selectColumns(names, params['columns'] as string | string[], sc.name);
      const rows = params['rows'] as (number | null)[] | undefined;
      const columns: Record<string, unknown[]> = {};
      for (const n of names) {
        const col = t.columns[n]!;
        if (rows === undefined) setOwn(columns, n, col);
        else {
          const [s, e] = sliceBounds(rows, col.length);
          setOwn(columns, n, col.slice(s, e));
        }
      }
      return { columns };
    }
    default:
      return value;
  }
}

/**
 * Apply read parameters to a value of `sc` (validate first). The class's own kind parameters
 * act on the value; the others are passed to every read/write component (a key of the stored
 * object) whose storage class knows them. Never mutates `value`.
 */
export function applyParameters(value: unknown, sc: StorageClass, params: ReadParameters | undefined, registry: StorageClassRegistry): unknown {
  const p = normalizeParameters(params);
  if (Object.keys(p).length === 0 || value === null || value === undefined) return value;
  const own: ReadParameters = {};
  const rest: ReadParameters = {};
  for (const [k, v] of Object.entries(p)) setOwn(ownKindParameter(sc, k) ? own : rest, k, v);
  let out = Object.keys(own).length > 0 ? applyKindParameter(sc, value, own) : value;
  if (Object.keys(rest).length > 0 && isPlainObject(out)) {
    let copy: Record<string, unknown> | undefined;
    for (const [c, compName] of Object.entries(sc.components)) {
      const cv = (out as Record<string, unknown>)[c];
      if (cv === undefined || cv === null || !registry.has(compName)) continue;
      const comp = registry.get(compName);
      const known = registry.knownParameters(comp);
      const sub = Object.fromEntries(Object.entries(rest).filter(([k]) => known.has(k)));
      if (Object.keys(sub).length === 0) continue;
      copy ??= { ...(out as Record<string, unknown>) };
      setOwn(copy, c, applyParameters(cv, comp, sub, registry));
    }
    if (copy) out = copy;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Components

/**
 * Extract `component` from a value of `composite`: read/write components are keys of the stored
 * object; derived components are computed from the whole value. UnknownComponent when the class
 * has no such component or the stored object lacks the key.
 */
export function getComponent(value: unknown, composite: StorageClass, component: string, registry: StorageClassRegistry): unknown {
  if (Object.prototype.hasOwnProperty.call(composite.components, component)) {
    if (isPlainObject(value) && Object.prototype.hasOwnProperty.call(value, component)) return value[component];
    throw new UnknownComponent(`Unable to get component '${component}' from the stored ${composite.name} value.`, {
      details: { storageClass: composite.name, component },
    });
  }
  const derived = composite.derivedComponents[component];
  if (derived) return derived.compute(value);
  throw new UnknownComponent(`Component '${component}' is not known to StorageClass ${composite.name}.`, {
    details: { storageClass: composite.name, component, known: Object.keys(registry.allComponents(composite)).sort() },
  });
}

// ---------------------------------------------------------------------------------------------
// The read pipeline

function copyOut(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value);
  return deepCopy(value);
}

/**
 * Read a stored value (held as `writeSc`) the way a ref asks for it:
 *  1. resolve the component (in writeSc, or — if only there — in `parentStorageClass`, converting
 *     the composite first) and the read storage class (override must be convertible either way
 *     with the component's / write class, else StorageClassMismatch);
 *  2. validate parameters: against writeSc for a derived component of writeSc (then applied to the
 *     whole value before computing it), otherwise against the read class;
 *  3. extract the component (a null/missing-valued component reads as null);
 *  4. convert to the read class, then apply the remaining parameters;
 *  5. return a deep copy.
 */
export function readValue(stored: unknown, writeSc: string, request: ReadRequest, registry: StorageClassRegistry): ReadResult {
  const write = registry.get(writeSc);
  let params = normalizeParameters(request.parameters);
  const component = request.component ? request.component : undefined;

  let composite = write;
  let base = write;
  if (component !== undefined) {
    if (!Object.prototype.hasOwnProperty.call(registry.allComponents(write), component)) {
      const parentName = request.parentStorageClass;
      const parent = parentName && parentName !== write.name ? registry.get(parentName) : undefined;
      if (!parent || !Object.prototype.hasOwnProperty.call(registry.allComponents(parent), component)) {
        throw new UnknownComponent(`Component '${component}' is not known to StorageClass ${write.name}.`, {
          details: {
            storageClass: write.name,
            component,
            known: Object.keys(registry.allComponents(write)).sort(),
            ...(parent ? { parentStorageClass: parent.name } : {}),
          },
        });
      }
      composite = parent;
    }
    base = registry.get(registry.allComponents(composite)[component]!);
  }

  let read = base;
  if (request.storageClass !== undefined && request.storageClass !== base.name) {
    const target = registry.get(request.storageClass);
    if (!registry.canConvert(base.name, target.name) && !registry.canConvert(target.name, base.name)) {
      throw new StorageClassMismatch(
        `The new storage class (${target.name}) is not compatible with the existing storage class (${base.name}).`,
        { details: { storageClass: base.name, requested: target.name, component } },
      );
    }
    read = target;
  }

  let value: unknown = stored;
  if (component !== undefined && composite === write && registry.isDerivedComponent(write, component)) {
    if (Object.keys(params).length > 0) {
      validateParameters(params, write, registry);
      value = applyParameters(value, write, params, registry);
      params = {};
    }
  } else {
    validateParameters(params, read, registry);
  }

  if (component !== undefined) {
    if (composite !== write) value = convertValue(value, write, composite);
    value = getComponent(value, composite, component, registry);
    if (value === null || value === undefined) return { value: null, storageClass: read.name };
  }

  value = convertValue(value, base, read);
  value = applyParameters(value, read, params, registry);
  return { value: copyOut(value), storageClass: read.name };
}
