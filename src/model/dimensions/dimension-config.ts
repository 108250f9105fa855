/**
 * A dimension universe's configuration: daf_butler's dimensions config (its
 * `configs/dimensions.yaml`), given as JSON. Read with daf_butler's rules: `namespace`
 * defaults to `daf_butler`, `version` to 0; each element has `keys` (the first is the
 * primary key, `int` or `string`), `requires`, `implies`, `governor`, `always_join`,
 * `populated_by`, `metadata`; the legacy `storage` section is folded into `is_cached` and
 * `implied_union_target`; `doc` and `packers` are ignored.
 *
 * `trimDimensionConfig` gives the canonical form we keep (the default universe's data file,
 * a repository's butler.json): the same structure without documentation, legacy storage
 * sections and packers, so it is still a config daf_butler would read.
 */
import * as z from 'zod';
import { InvalidArgument } from '../errors.js';

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const Name = z.string().regex(NAME, 'must be an identifier');

const ColumnSpec = z.object({
  name: Name,
  type: z.string().min(1),
  length: z.number().int().positive().optional(),
  nbytes: z.number().int().positive().optional(),
  nullable: z.boolean().optional(),
  doc: z.string().optional(),
});

/** The legacy `storage` section (a class name, maybe nesting another, `view_of` for band-like dimensions). */
const LegacyStorage = z.object({
  cls: z.string(),
  view_of: z.string().optional(),
  nested: z.object({ cls: z.string(), view_of: z.string().optional() }).optional(),
});

const ElementSpec = z.object({
  doc: z.string().optional(),
  keys: z.array(ColumnSpec).default([]),
  requires: z.array(Name).default([]),
  implies: z.array(Name).default([]),
  metadata: z.array(ColumnSpec).default([]),
  is_cached: z.boolean().default(false),
  implied_union_target: Name.nullable().default(null),
  governor: z.boolean().default(false),
  always_join: z.boolean().default(false),
  populated_by: Name.nullable().default(null),
  storage: LegacyStorage.nullable().optional(),
});

const SkyPixSystemSpec = z.object({
  class: z.string().min(1),
  min_level: z.number().int().nonnegative().default(1),
  max_level: z.number().int().nonnegative().nullable().optional(),
});

const ConfigSchema = z.object({
  version: z.number().int().nonnegative(),
  namespace: z.string().min(1).default('daf_butler'),
  skypix: z.object({ common: Name }).catchall(z.unknown()),
  elements: z.record(Name, ElementSpec),
  topology: z
    .object({
      spatial: z.record(Name, z.array(Name)).default({}),
      temporal: z.record(Name, z.array(Name)).default({}),
    })
    .default({ spatial: {}, temporal: {} }),
  packers: z.unknown().optional(),
});

export interface ColumnConfig {
  name: string;
  type: string;
  length?: number;
  nbytes?: number;
  nullable?: boolean;
}

export interface ElementConfig {
  keys: ColumnConfig[];
  requires: string[];
  implies: string[];
  metadata: ColumnConfig[];
  is_cached: boolean;
  implied_union_target: string | null;
  governor: boolean;
  always_join: boolean;
  populated_by: string | null;
}

export interface SkyPixSystemConfig {
  class: string;
  min_level: number;
  max_level: number;
}

/** A validated dimensions config, every default filled in. */
export interface DimensionConfig {
  namespace: string;
  version: number;
  skypix: { common: string; systems: Record<string, SkyPixSystemConfig> };
  elements: Record<string, ElementConfig>;
  topology: { spatial: Record<string, string[]>; temporal: Record<string, string[]> };
}

/** Maximum levels of the sphgeom pixelizations, for configs that leave `max_level` out. */
const KNOWN_MAX_LEVELS: Record<string, number> = {
  'lsst.sphgeom.HtmPixelization': 24,
  'lsst.sphgeom.HealpixPixelization': 17,
  'lsst.sphgeom.Mq3cPixelization': 30,
  'lsst.sphgeom.Q3cPixelization': 30,
};

/** `{namespace, version}` alone names a universe (no `elements`): see `isUniverseReference`. */
export interface UniverseReference {
  namespace: string;
  version: number;
}

export function isUniverseReference(input: unknown): input is UniverseReference {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return false;
  const o = input as Record<string, unknown>;
  return !('elements' in o) && typeof o['namespace'] === 'string' && typeof o['version'] === 'number';
}

function bad(message: string, details?: unknown): never {
  throw new InvalidArgument(`Invalid dimensions config: ${message}`, details === undefined ? {} : { details });
}

function column(c: z.output<typeof ColumnSpec>): ColumnConfig {
  const out: ColumnConfig = { name: c.name, type: c.type };
  if (c.length !== undefined) out.length = c.length;
  if (c.nbytes !== undefined) out.nbytes = c.nbytes;
  if (c.nullable !== undefined) out.nullable = c.nullable;
  return out;
}

/** One element, checked as daf_butler's element model validators check it. */
function element(name: string, e: z.output<typeof ElementSpec>): ElementConfig {
  let isCached = e.is_cached;
  let unionTarget = e.implied_union_target;
  if (e.storage) {
    // Legacy storage classes say whether records are cached and whether the dimension is a view of another.
    isCached = e.storage.cls.endsWith('.CachingDimensionRecordStorage') || e.storage.cls.endsWith('.BasicGovernorDimensionRecordStorage');
    unionTarget = e.storage.view_of ?? e.storage.nested?.view_of ?? null;
  }
  if (e.governor) isCached = true;
  if (e.keys.length > 0 && e.keys[0]!.type !== 'int' && e.keys[0]!.type !== 'string') {
    bad(`element '${name}': the primary key type (the first entry of keys) must be 'int' or 'string', not '${e.keys[0]!.type}'.`);
  }
  if (e.keys.length > 0 && e.always_join) bad(`element '${name}': a dimension (an element with keys) may not have always_join.`);
  if (e.keys.length > 0 && e.populated_by !== null) bad(`element '${name}': a dimension (an element with keys) may not have populated_by.`);
  if (e.keys.length === 0 && e.requires.length === 0) bad(`element '${name}': an element with no keys must require at least one dimension.`);
  if (e.keys.length === 0 && e.governor) bad(`element '${name}': a governor dimension needs a key.`);
  if (unionTarget !== null) {
    if (e.requires.length || e.implies.length || e.keys.length > 1 || e.metadata.length) {
      bad(`element '${name}': an implied-union dimension may have no dependencies, alternate keys or metadata.`);
    }
  }
  if (e.governor) {
    const pk = e.keys[0]!;
    if (pk.type !== 'string') bad(`governor dimension '${name}' must have a string primary key, not '${pk.type}'.`);
    if (pk.length !== undefined && pk.length > 128) bad(`governor dimension '${name}' must have a primary key of length <= 128.`);
  }
  return {
    keys: e.keys.map(column),
    requires: [...new Set(e.requires)],
    implies: [...new Set(e.implies)],
    metadata: e.metadata.map(column),
    is_cached: isCached,
    implied_union_target: unionTarget,
    governor: e.governor,
    always_join: e.always_join,
    populated_by: e.populated_by,
  };
}

/** Validate a daf_butler dimensions config (JSON form); InvalidArgument on anything it would refuse. */
export function parseDimensionConfig(input: unknown): DimensionConfig {
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) bad(z.prettifyError(parsed.error), { issues: parsed.error.issues });
  const raw = parsed.data;
  const systems: Record<string, SkyPixSystemConfig> = {};
  for (const [name, value] of Object.entries(raw.skypix)) {
    if (name === 'common') continue;
    if (!NAME.test(name)) bad(`skypix system name '${name}' is not an identifier.`);
    const sys = SkyPixSystemSpec.safeParse(value);
    if (!sys.success) bad(`skypix system '${name}': ${z.prettifyError(sys.error)}`);
    const max = sys.data.max_level ?? KNOWN_MAX_LEVELS[sys.data.class];
    if (max === undefined) bad(`skypix system '${name}' has no max_level and ${sys.data.class} is not a known pixelization.`);
    if (max < sys.data.min_level) bad(`skypix system '${name}': max_level ${max} is below min_level ${sys.data.min_level}.`);
    systems[name] = { class: sys.data.class, min_level: sys.data.min_level, max_level: max };
  }
  const elements: Record<string, ElementConfig> = {};
  for (const [name, e] of Object.entries(raw.elements)) elements[name] = element(name, e);
  return {
    namespace: raw.namespace,
    version: raw.version,
    skypix: { common: raw.skypix.common, systems },
    elements,
    topology: { spatial: raw.topology.spatial, temporal: raw.topology.temporal },
  };
}

/**
 * The canonical JSON form of a config: daf_butler's structure without documentation,
 * legacy storage or packers; defaults written out only where they say something.
 */
export function trimDimensionConfig(config: DimensionConfig): Record<string, unknown> {
  const skypix: Record<string, unknown> = { common: config.skypix.common };
  for (const name of Object.keys(config.skypix.systems).sort()) {
    const s = config.skypix.systems[name]!;
    skypix[name] = { class: s.class, ...(s.min_level !== 1 ? { min_level: s.min_level } : {}), max_level: s.max_level };
  }
  const elements: Record<string, unknown> = {};
  for (const [name, e] of Object.entries(config.elements)) {
    const out: Record<string, unknown> = {};
    if (e.keys.length) out['keys'] = e.keys;
    if (e.requires.length) out['requires'] = e.requires;
    if (e.implies.length) out['implies'] = e.implies;
    if (e.governor) out['governor'] = true;
    if (e.is_cached && !e.governor) out['is_cached'] = true;
    if (e.implied_union_target !== null) out['implied_union_target'] = e.implied_union_target;
    if (e.always_join) out['always_join'] = true;
    if (e.populated_by !== null) out['populated_by'] = e.populated_by;
    if (e.metadata.length) out['metadata'] = e.metadata;
    elements[name] = out;
  }
  return { namespace: config.namespace, version: config.version, skypix, elements, topology: config.topology };
}
