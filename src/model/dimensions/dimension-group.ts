/**
 * A dependency-complete set of dimensions (daf_butler's DimensionGroup): made from any
 * set of dimension names by adding their required and implied dependencies,
 * recursively. Its `required` dimensions are those no other member implies; the rest are
 * `implied`. A data ID of the group must give every required value; implied values it
 * may carry too. Groups are made by `DimensionUniverse.conform`, one instance per set.
 */
import type { DimensionUniverse } from './dimension-universe.js';

export class DimensionGroup {
  /** All dimensions, in the universe's (topological) order. */
  readonly names: readonly string[];
  /** The dimensions a data ID must give, in the universe's order. */
  readonly required: readonly string[];
  /** The dimensions identified by the required ones, in the universe's order. */
  readonly implied: readonly string[];
  /** `required` then `implied`: the key order of daf_butler's full data ID mapping. */
  readonly dataCoordinateKeys: readonly string[];
  /** Governor dimensions among `names`. */
  readonly governors: readonly string[];
  /** Every element (dimensions and combinations) whose required dimensions are all here. */
  readonly elements: readonly string[];
  /** `names` and `required` sorted by name (the key order of our data IDs). */
  readonly sortedNames: readonly string[];
  readonly sortedRequired: readonly string[];
  private readonly nameSet: ReadonlySet<string>;

  /** @internal Use `DimensionUniverse.conform`. */
  constructor(
    readonly universe: DimensionUniverse,
    names: readonly string[],
  ) {
    this.names = Object.freeze([...names]);
    this.nameSet = new Set(names);
    const required: string[] = [];
    const implied: string[] = [];
    for (const dim of names) {
      const isImplied = names.some((other) => universe.element(other).implied.includes(dim));
      (isImplied ? implied : required).push(dim);
    }
    this.required = Object.freeze(required);
    this.implied = Object.freeze(implied);
    this.dataCoordinateKeys = Object.freeze([...required, ...implied]);
    this.sortedNames = Object.freeze([...names].sort());
    this.sortedRequired = Object.freeze([...required].sort());
    this.governors = Object.freeze(names.filter((d) => universe.element(d).kind === 'governor'));
    this.elements = Object.freeze(universe.elements.filter((e) => e.required.every((d) => this.nameSet.has(d))).map((e) => e.name));
    Object.freeze(this);
  }

  has(name: string): boolean {
    return this.nameSet.has(name);
  }

  get size(): number {
    return this.names.length;
  }

  /** Same dimensions (daf_butler compares groups by their names, not by universe). */
  equals(other: DimensionGroup): boolean {
    return other === this || (other.names.length === this.names.length && other.names.every((n) => this.nameSet.has(n)));
  }

  /** Serialised as daf_butler serialises a group: the list of its names. */
  toJSON(): string[] {
    return [...this.names];
  }

  toString(): string {
    return `{${this.names.join(', ')}}`;
  }
}
