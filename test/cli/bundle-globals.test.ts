/**
 * The CLI's bundles read `Buffer` and `process` from src/util/node-globals.ts (esbuild's `inject`,
 * scripts/bundle-cli.ts), never as globals: Node 20 defines both on globalThis as accessors, so
 * optimised code read either through the engine's generic global load and called its getter at
 * every use (~150 instructions each, callgrind; about 100 uses of `Buffer.` and 50 of `process.` in
 * the main bundle before). Node's own behaviour is unchanged: they are the same objects.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, assertBuilt } from '../e2e/harness.js';
import { Buffer as InjectedBuffer, hrtimeBigint, nextTick, process as injectedProcess } from '../../src/util/node-globals.js';

/** A use of the global itself: the name, not as a member (`x.Buffer`) nor part of a longer name. */
const GLOBAL_USE = /(?<![\w$.])(Buffer|process)\s*\./g;

describe('the bundles and the globals Buffer and process', () => {
  for (const name of ['cli.bundle.cjs', 'cli.start.cjs']) {
    it(`${name} uses neither as a global`, () => {
      assertBuilt();
      const text = readFileSync(join(dirname(CLI), name), 'latin1');
      const uses = [...text.matchAll(GLOBAL_USE)].map((m) => text.slice(Math.max(0, m.index - 30), m.index + 30));
      expect(uses).toEqual([]);
    });
  }

  it('node-globals holds the very objects and functions the globals give', async () => {
    expect(InjectedBuffer).toBe(globalThis.Buffer);
    expect(injectedProcess).toBe(globalThis.process);
    expect(nextTick).toBe(process.nextTick);
    // Called without `this`, as the serving path calls them.
    const t0 = hrtimeBigint();
    await new Promise<void>((resolve) => nextTick(resolve));
    expect(hrtimeBigint()).toBeGreaterThan(t0);
  });
});
