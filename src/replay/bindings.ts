/**
 * Named values of one replay: the environment's (tmpdir, fixtureRepo, fixture), those
 * bound by placeholders in expectations, and explicit captures. Names are flat; a
 * dotted name looks up a path inside a bound value (`fixture.quanta.q1.file`).
 */
import { isDeepStrictEqual } from 'node:util';

export type Lookup = { found: true; value: unknown } | { found: false };

export class Bindings {
  private readonly values: Map<string, unknown>;

  constructor(init: Iterable<readonly [string, unknown]> = []) {
    this.values = new Map(init);
  }

  lookup(name: string): Lookup {
    const [root, ...path] = name.split('.');
    if (!this.values.has(root!)) return { found: false };
    let cur: unknown = this.values.get(root!);
    for (const seg of path) {
      if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, seg)) return { found: false };
      cur = (cur as Record<string, unknown>)[seg];
    }
    return { found: true, value: cur };
  }

  bind(name: string, value: unknown): void {
    if (name.includes('.')) throw new Error(`cannot bind the lookup path ${name}`);
    this.values.set(name, value);
  }

  /** Whether `value` equals what `name` is bound to (JSON equality). */
  equals(name: string, value: unknown): boolean {
    const l = this.lookup(name);
    return l.found && isDeepStrictEqual(l.value, value);
  }

  /** A copy for a trial match; `adopt` commits it. */
  clone(): Bindings {
    return new Bindings(this.values);
  }

  adopt(other: Bindings): void {
    for (const [k, v] of other.values) this.values.set(k, v);
  }

  names(): string[] {
    return [...this.values.keys()];
  }
}
