/**
 * A negated pattern has no literal prefix, whatever literal characters its body starts with:
 * stores scan only the keys under a glob's prefix, so a prefix taken from the body of `!a*`
 * would hide every key it matches that does not start with `a`.
 */
import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../src/model/glob.js';
import { MemoryStore } from '../../src/store/memory-store.js';

describe('negated globs and literal prefixes', () => {
  it.each(['!a*', '!run/*.json', '!!!x?'])('%s has an empty prefix', (pattern) => {
    expect(compileGlob(pattern).prefix).toBe('');
  });

  it('a double negation keeps the prefix of its body', () => {
    expect(compileGlob('!!run/*.json').prefix).toBe('run/');
  });

  it('a store glob with a negated pattern finds keys outside the body prefix', async () => {
    const store = new MemoryStore();
    for (const key of ['a1', 'a2', 'b1', 'run/x.json', 'run/y.txt']) await store.set(key, Buffer.from(key), {});
    expect((await store.glob('!a*')).sort()).toEqual(['b1', 'run/x.json', 'run/y.txt']);
    expect((await store.glob('!run/*.json')).sort()).toEqual(['a1', 'a2', 'b1', 'run/y.txt']);
  });
});
