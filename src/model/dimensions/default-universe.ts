/**
 * The default dimension universe, daf_butler's (namespace `daf_butler`, its current
 * version), from our data file `default-universe.json` (regenerate it with
 * scripts/gen-universe.ts), and the universe a config or a `{namespace, version}`
 * reference names.
 */
import defaultConfig from './default-universe.json' with { type: 'json' };
import { InconsistentUniverse, InvalidArgument } from '../errors.js';
import { canonicalJson } from '../json-value.js';
import { isUniverseReference, parseDimensionConfig, trimDimensionConfig } from './dimension-config.js';
import { DimensionUniverse } from './dimension-universe.js';

let defaultUniverseInstance: DimensionUniverse | undefined;

/** daf_butler's default universe (built once). */
export function defaultUniverse(): DimensionUniverse {
  return (defaultUniverseInstance ??= new DimensionUniverse(parseDimensionConfig(defaultConfig)));
}

/** Universes built from configs, by their canonical trimmed form (a session or repository reuses one). */
const fromConfigs = new Map<string, DimensionUniverse>();

/**
 * The universe `spec` describes: undefined/null → the default; a `{namespace, version}`
 * reference → a universe this build ships (only the default), else InconsistentUniverse;
 * a daf_butler dimensions config (JSON) → a universe built from it (InvalidArgument if invalid).
 */
export function universeFrom(spec: unknown): DimensionUniverse {
  const def = defaultUniverse();
  if (spec === undefined || spec === null) return def;
  if (spec instanceof DimensionUniverse) return spec;
  if (isUniverseReference(spec)) {
    if (spec.namespace === def.namespace && spec.version === def.version) return def;
    throw new InconsistentUniverse(
      `No dimension universe ${spec.namespace}@${spec.version} is known here (this build ships ${def.label}); give the universe's full dimensions config instead.`,
      { details: { requested: { namespace: spec.namespace, version: spec.version }, known: [def.toJSON()] } },
    );
  }
  if (typeof spec !== 'object' || Array.isArray(spec)) {
    throw new InvalidArgument('A dimension universe is given as a daf_butler dimensions config (JSON) or as {namespace, version}.', { details: { dimensions: spec } });
  }
  const config = parseDimensionConfig(spec);
  const key = canonicalJson(trimDimensionConfig(config));
  if (key === canonicalJson(trimDimensionConfig(def.config))) return def;
  let universe = fromConfigs.get(key);
  if (!universe) {
    universe = new DimensionUniverse(config);
    fromConfigs.set(key, universe);
  }
  return universe;
}
