/**
 * Storage classes: what a dataset's value looks like in JS, which read parameters
 * it takes, its components (read/write: keys of the stored object; derived: computed
 * from the whole object) and which other classes it can be converted from.
 *
 * Unlike daf_butler there is no process-wide singleton: each StorageClassRegistry is
 * an independent set (one per repository or session), seeded with the built-ins.
 */
import * as z from 'zod';
import { ConflictingDefinition, InvalidArgument, InvalidValue, UnknownStorageClass } from './errors.js';
import { isPlainObject, jsTypeName, setOwn } from './json-value.js';
import {
  COMPONENT_KINDS,
  hasKindConverter,
  KIND_PARAMETERS,
  STORAGE_CLASS_KINDS,
  type StorageClassKind,
} from './storage-kinds.js';
import { BUILTIN_STORAGE_CLASSES } from './builtin-storage-classes.js';

export type { StorageClassKind } from './storage-kinds.js';

export type DerivedOp = 'value' | 'length' | 'keys';
export const DERIVED_OPS: readonly DerivedOp[] = ['value', 'length', 'keys'];

/** A read-only component computed from the whole stored value. */
export interface DerivedComponent {
  /** Storage class of the computed value. */
  readonly storageClass: string;
  /** Computes the component from the whole value (already filtered by parameters). Never mutates its input. */
  readonly compute: (value: unknown) => unknown;
  /** Config-defined derived components: the path into the value (`''` = the whole value)... */
  readonly from?: string;
  /** ...and what is taken there. Built-in derived components have neither and compare by `compute` identity. */
  readonly op?: DerivedOp;
}

export interface StorageClass {
  readonly name: string;
  readonly kind: StorageClassKind;
  /** Read/write components: name → storage class name; the values live under that key of the stored object. */
  readonly components: Readonly<Record<string, string>>;
  readonly derivedComponents: Readonly<Record<string, DerivedComponent>>;
  /** Read parameters the class itself applies. */
  readonly parameters: readonly string[];
  /** Names of storage classes this one can be converted from. */
  readonly converters: readonly string[];
  readonly inheritsFrom?: string;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const COMPONENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const DerivedComponentConfigSchema = z.strictObject({
  storageClass: z.string().min(1),
  /** Dotted path into the stored value (array indices as numbers); omitted → the component's own name; '' or '.' → the whole value. */
  from: z.string().optional(),
  op: z.enum(['value', 'length', 'keys']).optional(),
});
export type DerivedComponentConfig = z.infer<typeof DerivedComponentConfigSchema>;

/**
 * One storage class defined in configuration. `derivedComponents` entries may be a bare storage
 * class name (shorthand for `{storageClass, from: <component name>, op: 'value'}`).
 * `pytype` and `delegate` (daf_butler config keys) are accepted and ignored.
 */
export const StorageClassConfigSchema = z.strictObject({
  inheritsFrom: z.string().min(1).optional(),
  kind: z.enum(['dict', 'list', 'text', 'bytes', 'table', 'json']).optional(),
  components: z.record(z.string(), z.string().min(1)).optional(),
  derivedComponents: z.record(z.string(), z.union([z.string().min(1), DerivedComponentConfigSchema])).optional(),
  parameters: z.array(z.string().min(1)).optional(),
  converters: z.array(z.string().min(1)).optional(),
  pytype: z.string().optional(),
  delegate: z.string().optional(),
});
export type StorageClassConfig = z.input<typeof StorageClassConfigSchema>;

/** Build the compute function of a config-defined derived component. */
export function makeDerivedComponent(componentName: string, config: DerivedComponentConfig | string): DerivedComponent {
  const cfg = typeof config === 'string' ? { storageClass: config } : config;
  const from = cfg.from === undefined ? componentName : cfg.from === '.' ? '' : cfg.from;
  const op: DerivedOp = cfg.op ?? 'value';
  const path = from === '' ? [] : from.split('.');
  const compute = (value: unknown): unknown => {
    let cur: unknown = value;
    for (const seg of path) {
      if (cur === null) return null;
      if (Array.isArray(cur) && /^\d+$/.test(seg) && Number(seg) < cur.length) {
        cur = cur[Number(seg)];
      } else if (isPlainObject(cur) && Object.prototype.hasOwnProperty.call(cur, seg)) {
        cur = cur[seg];
      } else {
        throw new InvalidValue(`Derived component '${componentName}': path '${from}' not found in the stored value.`, {
          details: { component: componentName, from, missing: seg },
        });
      }
    }
    if (cur === null || op === 'value') return cur;
    if (op === 'length') {
      if (typeof cur === 'string') return Array.from(cur).length;
      if (Array.isArray(cur)) return cur.length;
      if (cur instanceof Uint8Array) return cur.byteLength;
      if (isPlainObject(cur)) return Object.keys(cur).length;
    } else if (isPlainObject(cur)) {
      return Object.keys(cur);
    }
    throw new InvalidValue(`Derived component '${componentName}': cannot take '${op}' of ${jsTypeName(cur)} at path '${from}'.`, {
      details: { component: componentName, from, op },
    });
  };
  return Object.freeze({ storageClass: cfg.storageClass, compute, from, op });
}

function sameStringSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

/** Definition equality used for re-registration: everything but `inheritsFrom`. */
export function storageClassesEqual(a: StorageClass, b: StorageClass): boolean {
  if (a === b) return true;
  if (a.name !== b.name || a.kind !== b.kind) return false;
  if (!sameRecord(a.components, b.components)) return false;
  if (!sameStringSet(a.parameters, b.parameters) || !sameStringSet(a.converters, b.converters)) return false;
  const da = Object.keys(a.derivedComponents);
  if (da.length !== Object.keys(b.derivedComponents).length) return false;
  return da.every((k) => {
    const x = a.derivedComponents[k]!;
    const y = b.derivedComponents[k];
    if (!y || x.storageClass !== y.storageClass) return false;
    if (x.op !== undefined || y.op !== undefined) return x.from === y.from && x.op === y.op;
    return x.compute === y.compute;
  });
}

function freezeStorageClass(sc: StorageClass): StorageClass {
  const out: StorageClass = {
    name: sc.name,
    kind: sc.kind,
    components: Object.freeze({ ...sc.components }),
    derivedComponents: Object.freeze({ ...sc.derivedComponents }),
    parameters: Object.freeze([...new Set(sc.parameters)]),
    converters: Object.freeze([...new Set(sc.converters)]),
    ...(sc.inheritsFrom !== undefined ? { inheritsFrom: sc.inheritsFrom } : {}),
  };
  return Object.freeze(out);
}

type Lookup = (name: string) => StorageClass | undefined;

function knownParametersWith(sc: StorageClass, lookup: Lookup, seen = new Set<string>()): Set<string> {
  const out = new Set(sc.parameters);
  if (seen.has(sc.name)) return out;
  seen.add(sc.name);
  for (const compName of Object.values(sc.components)) {
    const comp = lookup(compName);
    if (comp) for (const p of knownParametersWith(comp, lookup, seen)) out.add(p);
  }
  seen.delete(sc.name);
  return out;
}

function ancestorsWith(name: string, lookup: Lookup): string[] {
  const out: string[] = [];
  let cur = lookup(name)?.inheritsFrom;
  while (cur !== undefined && !out.includes(cur) && cur !== name) {
    out.push(cur);
    cur = lookup(cur)?.inheritsFrom;
  }
  return out;
}

/**
 * Check a definition against the classes visible through `lookup`: referenced classes exist,
 * converters have a kind-level implementation, parameters can be applied, components sit in
 * an object-like kind. Throws InvalidArgument.
 */
function validateDefinition(sc: StorageClass, lookup: Lookup): void {
  const fail = (msg: string, details: Record<string, unknown> = {}): never => {
    throw new InvalidArgument(`Invalid definition of StorageClass ${sc.name}: ${msg}`, { details: { storageClass: sc.name, ...details } });
  };
  if (!NAME_RE.test(sc.name)) fail(`'${sc.name}' is not a valid storage class name.`);
  if (!STORAGE_CLASS_KINDS.includes(sc.kind)) fail(`unknown kind '${String(sc.kind)}'.`);
  const compNames = Object.keys(sc.components);
  if (compNames.length > 0 && !COMPONENT_KINDS.includes(sc.kind)) {
    fail(`read/write components need kind ${COMPONENT_KINDS.join(' or ')}, not '${sc.kind}'.`, { components: compNames });
  }
  // daf_butler's StorageClass refuses it too: a composite of one part is that part, derived.
  if (compNames.length === 1) {
    fail(`Composite storage class ${sc.name} is not allowed to have only one component '${compNames[0]}'. Did you mean it to be a derived component?`, { components: compNames });
  }
  for (const [c, scName] of Object.entries(sc.components)) {
    if (!COMPONENT_RE.test(c)) fail(`invalid component name '${c}'.`);
    if (!lookup(scName)) fail(`component '${c}' uses unknown StorageClass '${scName}'.`, { component: c });
  }
  for (const [c, d] of Object.entries(sc.derivedComponents)) {
    if (!COMPONENT_RE.test(c)) fail(`invalid derived component name '${c}'.`);
    if (!lookup(d.storageClass)) fail(`derived component '${c}' uses unknown StorageClass '${d.storageClass}'.`, { component: c });
    if (typeof d.compute !== 'function') fail(`derived component '${c}' has no compute function.`);
  }
  for (const src of sc.converters) {
    const from = lookup(src);
    if (!from) fail(`converter source '${src}' is not a known StorageClass.`, { converter: src });
    else if (!hasKindConverter(from.kind, sc.kind)) {
      fail(`no conversion from kind '${from.kind}' (${src}) to kind '${sc.kind}' is available.`, { converter: src });
    }
  }
  for (const p of sc.parameters) {
    if (KIND_PARAMETERS[sc.kind].includes(p)) continue;
    const viaComponent = Object.values(sc.components).some((n) => {
      const comp = lookup(n);
      return comp !== undefined && knownParametersWith(comp, lookup).has(p);
    });
    if (!viaComponent) {
      fail(
        `parameter '${p}' cannot be applied to kind '${sc.kind}' (supported: ${KIND_PARAMETERS[sc.kind].join(', ') || 'none'}) ` +
          `and no read/write component understands it.`,
        { parameter: p },
      );
    }
  }
}

export class StorageClassRegistry {
  readonly #classes = new Map<string, StorageClass>();
  readonly #lookup: Lookup = (name) => this.#classes.get(name);

  /** A registry holding only the built-in storage classes. */
  static withBuiltins(): StorageClassRegistry {
    const r = new StorageClassRegistry();
    for (const sc of BUILTIN_STORAGE_CLASSES) r.#classes.set(sc.name, sc);
    return r;
  }

  has(name: string): boolean {
    return this.#classes.has(name);
  }

  /** The storage class called `name`; UnknownStorageClass when there is none. */
  get(name: string): StorageClass {
    const sc = this.#classes.get(name);
    if (!sc) {
      throw new UnknownStorageClass(`Unable to find a StorageClass associated with '${name}'.`, {
        details: { storageClass: name, known: [...this.#classes.keys()].sort() },
      });
    }
    return sc;
  }

  /** All classes, sorted by name. */
  list(): StorageClass[] {
    return [...this.#classes.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Add a class. Registering an equal definition again is a no-op (returns the existing object);
   * a different definition under the same name → ConflictingDefinition.
   */
  register(sc: StorageClass): StorageClass {
    const frozen = freezeStorageClass(sc);
    const existing = this.#classes.get(frozen.name);
    if (existing) {
      if (storageClassesEqual(existing, frozen)) return existing;
      throw new ConflictingDefinition(`New definition for StorageClass ${frozen.name} differs from current definition.`, {
        details: { storageClass: frozen.name },
      });
    }
    validateDefinition(frozen, (n) => (n === frozen.name ? frozen : this.#classes.get(n)));
    this.#classes.set(frozen.name, frozen);
    return frozen;
  }

  /**
   * Define classes from configuration (`{name: StorageClassConfig}`); entries may refer to each
   * other in any order. `inheritsFrom` copies the base's kind, components, derived components,
   * parameters and converters, which the entry then extends or overrides (the kind may not change).
   * All entries are validated before any is registered. Returns the registered classes.
   */
  loadConfig(config: Record<string, StorageClassConfig>): StorageClass[] {
    if (!isPlainObject(config)) {
      throw new InvalidArgument('Storage class configuration must be a mapping of name to definition.', { details: { config } });
    }
    const parsed = new Map<string, z.infer<typeof StorageClassConfigSchema>>();
    for (const [name, entry] of Object.entries(config)) {
      const r = StorageClassConfigSchema.safeParse(entry ?? {});
      if (!r.success) {
        throw new InvalidArgument(`Invalid configuration for StorageClass ${name}: ${z.prettifyError(r.error)}`, {
          details: { storageClass: name, issues: r.error.issues },
        });
      }
      parsed.set(name, r.data);
    }
    const built = new Map<string, StorageClass>();
    const lookup: Lookup = (n) => built.get(n) ?? this.#classes.get(n);
    const build = (name: string, stack: string[]): StorageClass => {
      const done = built.get(name);
      if (done) return done;
      if (stack.includes(name)) {
        throw new InvalidArgument(`StorageClass inheritance cycle: ${[...stack, name].join(' → ')}.`, { details: { cycle: [...stack, name] } });
      }
      const entry = parsed.get(name)!;
      let base: StorageClass | undefined;
      if (entry.inheritsFrom !== undefined) {
        if (parsed.has(entry.inheritsFrom)) base = build(entry.inheritsFrom, [...stack, name]);
        else base = this.#classes.get(entry.inheritsFrom);
        if (!base) {
          throw new InvalidArgument(`StorageClass ${name} inherits from unknown StorageClass '${entry.inheritsFrom}'.`, {
            details: { storageClass: name, inheritsFrom: entry.inheritsFrom },
          });
        }
      }
      const kind = entry.kind ?? base?.kind;
      if (!kind) {
        throw new InvalidArgument(`StorageClass ${name} must give a kind or inherit from another StorageClass.`, {
          details: { storageClass: name },
        });
      }
      if (base && entry.kind && entry.kind !== base.kind) {
        throw new InvalidArgument(
          `StorageClass ${name} cannot change kind from '${base.kind}' (inherited from ${base.name}) to '${entry.kind}'.`,
          { details: { storageClass: name, inheritsFrom: base.name } },
        );
      }
      const derived: Record<string, DerivedComponent> = { ...(base?.derivedComponents ?? {}) };
      for (const [c, d] of Object.entries(entry.derivedComponents ?? {})) setOwn(derived, c, makeDerivedComponent(c, d));
      const sc = freezeStorageClass({
        name,
        kind,
        components: { ...(base?.components ?? {}), ...(entry.components ?? {}) },
        derivedComponents: derived,
        parameters: [...(base?.parameters ?? []), ...(entry.parameters ?? [])],
        converters: [...(base?.converters ?? []), ...(entry.converters ?? [])],
        ...(entry.inheritsFrom !== undefined ? { inheritsFrom: entry.inheritsFrom } : {}),
      });
      built.set(name, sc);
      return sc;
    };
    for (const name of parsed.keys()) build(name, []);
    for (const sc of built.values()) {
      validateDefinition(sc, lookup);
      const existing = this.#classes.get(sc.name);
      if (existing && !storageClassesEqual(existing, sc)) {
        throw new ConflictingDefinition(`New definition for StorageClass ${sc.name} differs from current definition.`, {
          details: { storageClass: sc.name },
        });
      }
    }
    const out: StorageClass[] = [];
    for (const sc of built.values()) {
      const existing = this.#classes.get(sc.name);
      if (existing) out.push(existing);
      else {
        this.#classes.set(sc.name, sc);
        out.push(sc);
      }
    }
    return out;
  }

  #resolve(sc: string | StorageClass): StorageClass {
    return typeof sc === 'string' ? this.get(sc) : sc;
  }

  /** Own parameters ∪ (recursively) those of the read/write components. Derived components do not contribute. */
  knownParameters(sc: string | StorageClass): Set<string> {
    return knownParametersWith(this.#resolve(sc), this.#lookup);
  }

  /** Component name → storage class name, derived ∪ read/write (read/write wins on a clash). */
  allComponents(sc: string | StorageClass): Record<string, string> {
    const s = this.#resolve(sc);
    const out: Record<string, string> = {};
    for (const [c, d] of Object.entries(s.derivedComponents)) out[c] = d.storageClass;
    Object.assign(out, s.components);
    return out;
  }

  /** Whether `component` is derived (read-only) in `sc` (false if it is also a read/write component). */
  isDerivedComponent(sc: string | StorageClass, component: string): boolean {
    const s = this.#resolve(sc);
    return Object.prototype.hasOwnProperty.call(s.derivedComponents, component) && !Object.prototype.hasOwnProperty.call(s.components, component);
  }

  /** The inheritsFrom chain, nearest first. */
  ancestors(name: string): string[] {
    return ancestorsWith(name, this.#lookup);
  }

  /**
   * Whether values of `from` can be read as `to`: same name; same kind (the JS shape is the same,
   * like daf_butler's pytype subclass rule); or `to` lists `from` (or a class `from` inherits from)
   * among its converters. Unknown names give false.
   */
  canConvert(from: string, to: string): boolean {
    if (from === to) return this.#classes.has(from);
    const f = this.#classes.get(from);
    const t = this.#classes.get(to);
    if (!f || !t) return false;
    if (f.kind === t.kind) return true;
    const sources = new Set(t.converters);
    return [from, ...this.ancestors(from)].some((n) => sources.has(n));
  }
}
