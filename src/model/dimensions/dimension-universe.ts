/**
 * A dimension universe (daf_butler's DimensionUniverse): every dimension element of one
 * config, in a fixed topological order, and the groups made from them.
 *
 * The order is daf_butler's: elements are built in rounds; each round takes every entry
 * (skypix system, element, topological family) whose dependencies are all built, in
 * lexicographic order of name, and a skypix system adds its levels in increasing order.
 * So dependencies precede what depends on them, and `DimensionGroup.names`, `required` and
 * `implied` come out in the order daf_butler gives them.
 */
import { DimensionNameError, InvalidArgument } from '../errors.js';
import type { ColumnConfig, DimensionConfig } from './dimension-config.js';
import { isDimension, type DimensionElement, type DimensionElementKind, type DimensionKeyType } from './dimension-element.js';
import { DimensionGroup } from './dimension-group.js';

/** What one construction step adds, and what it waits for. */
interface Step {
  deps: readonly string[];
  build(): void;
}

interface MutableElement extends Omit<DimensionElement, 'governor' | 'spatial' | 'temporal'> {
  governor: string | null;
  spatial: string | null;
  temporal: string | null;
}

export class DimensionUniverse {
  readonly namespace: string;
  readonly version: number;
  /** Every element, in the universe's order. */
  readonly elements: readonly DimensionElement[];
  /** Every dimension (elements that are not combinations), in the universe's order. */
  readonly dimensions: readonly DimensionElement[];
  readonly commonSkyPix: string;
  private readonly byName = new Map<string, DimensionElement>();
  private readonly index = new Map<string, number>();
  /** Groups by the sorted names they were asked for, and by their full sorted names. */
  private readonly groups = new Map<string, DimensionGroup>();

  constructor(readonly config: DimensionConfig) {
    this.namespace = config.namespace;
    this.version = config.version;
    const built: MutableElement[] = [];
    const builtByName = new Map<string, MutableElement>();
    const add = (e: MutableElement): void => {
      built.push(e);
      builtByName.set(e.name, e);
    };
    const dimension = (owner: string, name: string): MutableElement => {
      const d = builtByName.get(name);
      if (!d) throw new InvalidArgument(`Invalid dimensions config: element '${owner}' depends on unknown dimension '${name}'.`, { details: { element: owner, dependency: name } });
      if (d.kind === 'combination') {
        throw new InvalidArgument(`Invalid dimensions config: element '${owner}' depends on '${name}', which is a combination, not a dimension.`, {
          details: { element: owner, dependency: name },
        });
      }
      return d;
    };
    /** Names in the order the dimensions were built. */
    const ordered = (names: Iterable<string>): string[] => {
      const set = new Set(names);
      return built.filter((e) => set.has(e.name)).map((e) => e.name);
    };

    const todo = new Map<string, Step>();
    const claim = (name: string, step: Step): void => {
      if (todo.has(name)) throw new InvalidArgument(`Invalid dimensions config: '${name}' is defined twice.`, { details: { name } });
      todo.set(name, step);
    };
    for (const [system, s] of Object.entries(config.skypix.systems).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      claim(system, {
        deps: [],
        build: () => {
          for (let level = s.min_level; level <= s.max_level; level++) {
            const name = `${system}${level}`;
            add(element({ name, kind: 'skypix', required: [name], primaryKey: { name: 'id', type: 'int' }, isCached: false }));
          }
        },
      });
    }
    for (const [name, e] of Object.entries(config.elements)) {
      claim(name, {
        deps: [...e.requires, ...e.implies],
        build: () => {
          const [pk, ...alternates] = e.keys;
          const common = { name, alternateKeys: alternates, metadata: e.metadata, isCached: e.is_cached, impliedUnionTarget: e.implied_union_target };
          if (e.governor) {
            add(element({ ...common, kind: 'governor', required: [name], primaryKey: { name: pk!.name, type: pk!.type as DimensionKeyType } }));
            return;
          }
          const requires = new Set<string>();
          for (const dep of e.requires) for (const r of dimension(name, dep).required) requires.add(r);
          for (const dep of e.implies) dimension(name, dep);
          const implied = ordered(e.implies);
          if (pk) {
            add(element({ ...common, kind: 'dimension', required: [...ordered(requires), name], implied, primaryKey: { name: pk.name, type: pk.type as DimensionKeyType } }));
          } else {
            if (e.populated_by !== null) dimension(name, e.populated_by);
            add(element({ ...common, kind: 'combination', required: ordered(requires), implied, alwaysJoin: e.always_join, populatedBy: e.populated_by }));
          }
        },
      });
    }
    for (const [space, families] of [
      ['spatial', config.topology.spatial],
      ['temporal', config.topology.temporal],
    ] as const) {
      for (const [family, members] of Object.entries(families)) {
        claim(family, {
          deps: members,
          build: () => {
            for (const m of members) {
              const e = builtByName.get(m);
              if (!e) throw new InvalidArgument(`Invalid dimensions config: ${space} family '${family}' names unknown element '${m}'.`, { details: { family, member: m } });
              if (e[space] !== null && e[space] !== family) {
                throw new InvalidArgument(`Invalid dimensions config: '${m}' is in two ${space} families, ${e[space]} and ${family}.`, { details: { element: m } });
              }
              e[space] = family;
            }
          },
        });
      }
    }
    while (todo.size > 0) {
      const ready = [...todo.keys()].filter((n) => todo.get(n)!.deps.every((d) => !todo.has(d))).sort();
      if (ready.length === 0) {
        throw new InvalidArgument(`Invalid dimensions config: cycle or unmet dependency among ${[...todo.keys()].join(', ')}.`, { details: { pending: [...todo.keys()] } });
      }
      for (const n of ready) {
        const step = todo.get(n)!;
        todo.delete(n);
        step.build();
      }
    }

    const common = builtByName.get(config.skypix.common);
    if (!common || common.kind !== 'skypix') {
      throw new InvalidArgument(`Invalid dimensions config: skypix.common '${config.skypix.common}' is not a skypix dimension.`, { details: { common: config.skypix.common } });
    }
    this.commonSkyPix = common.name;
    built.forEach((e, i) => {
      this.byName.set(e.name, e);
      this.index.set(e.name, i);
    });
    this.elements = built;
    this.dimensions = built.filter(isDimension);
    this.governors = Object.freeze(this.dimensions.filter((d) => d.kind === 'governor').map((d) => d.name));
    // An element's governor is the one governor of its minimal group (required + implied dependencies).
    for (const e of built) {
      const governors = this.conform([...e.required, ...e.implied]).governors;
      if (governors.length > 1) throw new InvalidArgument(`Invalid dimensions config: element '${e.name}' has several governors: ${governors.join(', ')}.`);
      e.governor = governors[0] ?? null;
    }
    for (const e of built) Object.freeze(e);
    Object.freeze(this.elements);
    Object.freeze(this.dimensions);
  }

  /** The element called `name`; DimensionNameError when there is none. */
  element(name: string): DimensionElement {
    const e = this.byName.get(name);
    if (!e) throw new DimensionNameError(`Dimension element '${name}' is not known to the ${this.label} universe.`, { details: { element: name, universe: this.label } });
    return e;
  }

  /** The dimension called `name`; DimensionNameError for unknown names and for combinations. */
  dimension(name: string): DimensionElement {
    const e = this.element(name);
    if (!isDimension(e)) {
      throw new DimensionNameError(`'${name}' is a dimension element that joins other dimensions (${e.required.join(', ')}), not a dimension.`, {
        details: { dimension: name, universe: this.label },
      });
    }
    return e;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Position of an element in the universe's order. */
  indexOf(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) this.element(name);
    return i!;
  }

  /** The governor dimensions. */
  readonly governors: readonly string[];

  /** `namespace@version`, as messages name a universe. */
  get label(): string {
    return `${this.namespace}@${this.version}`;
  }

  /** The names, in the universe's order (unknown names: DimensionNameError). */
  sorted(names: Iterable<string>): string[] {
    return [...new Set(names)].map((n) => [n, this.indexOf(n)] as const).sort((a, b) => a[1] - b[1]).map(([n]) => n);
  }

  /**
   * The group of the given dimensions and all their dependencies (daf_butler's
   * `DimensionUniverse.conform`). Unknown names and combinations: DimensionNameError.
   */
  conform(names: Iterable<string> | DimensionGroup): DimensionGroup {
    if (names instanceof DimensionGroup) {
      if (names.universe === this) return names;
      names = names.names;
    }
    // Types are made for every ref parsed: look the names up as given before sorting them.
    const given = Array.isArray(names) ? (names as readonly string[]) : [...names];
    const givenKey = `?${given.join(',')}`;
    const hit = this.groups.get(givenKey);
    if (hit) return hit;
    const asked = [...given].sort();
    const askedKey = `?${asked.join(',')}`;
    const cached = this.groups.get(askedKey);
    if (cached) {
      this.groups.set(givenKey, cached);
      return cached;
    }
    const all = new Set<string>();
    const pending = [...asked];
    while (pending.length > 0) {
      const d = this.dimension(pending.pop()!);
      if (all.has(d.name)) continue;
      all.add(d.name);
      for (const dep of d.required) if (!all.has(dep)) pending.push(dep);
      for (const dep of d.implied) if (!all.has(dep)) pending.push(dep);
    }
    const full = this.sorted(all);
    const fullKey = `=${[...full].sort().join(',')}`;
    let group = this.groups.get(fullKey);
    if (!group) {
      group = new DimensionGroup(this, full);
      this.groups.set(fullKey, group);
    }
    this.groups.set(askedKey, group);
    this.groups.set(givenKey, group);
    return group;
  }

  /** The group with no dimensions. */
  get empty(): DimensionGroup {
    return this.conform([]);
  }

  /** Serialised as its identity; the config travels separately where it is needed. */
  toJSON(): { namespace: string; version: number } {
    return { namespace: this.namespace, version: this.version };
  }
}

function element(spec: {
  name: string;
  kind: DimensionElementKind;
  required: string[];
  implied?: string[];
  primaryKey?: { name: string; type: DimensionKeyType };
  alternateKeys?: readonly ColumnConfig[];
  metadata?: readonly ColumnConfig[];
  isCached: boolean;
  impliedUnionTarget?: string | null;
  alwaysJoin?: boolean;
  populatedBy?: string | null;
}): MutableElement {
  return {
    name: spec.name,
    kind: spec.kind,
    required: Object.freeze(spec.required),
    implied: Object.freeze(spec.implied ?? []),
    primaryKey: spec.primaryKey ? Object.freeze({ ...spec.primaryKey }) : null,
    alternateKeys: Object.freeze([...(spec.alternateKeys ?? [])]),
    metadata: Object.freeze([...(spec.metadata ?? [])]),
    governor: null,
    isCached: spec.isCached,
    impliedUnionTarget: spec.impliedUnionTarget ?? null,
    alwaysJoin: spec.alwaysJoin ?? false,
    populatedBy: spec.populatedBy ?? null,
    spatial: null,
    temporal: null,
  };
}
