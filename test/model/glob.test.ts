/** The one glob module: its syntax, its limits, linear-time matching and its literal prefixes. */
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { InvalidArgument } from '../../src/model/errors.js';
import { MAX_GLOB_LENGTH, MAX_GLOB_NESTING, compileGlob, literalPrefix } from '../../src/model/glob.js';

const matches = (pattern: string, subject: string): boolean => compileGlob(pattern).match(subject);

describe('glob syntax', () => {
  it.each<[string, string[], string[]]>([
    ['a/*', ['a/b', 'a/.b', 'a/'.concat('x'.repeat(300))], ['a', 'a/b/c', 'b/a']],
    ['*.fits', ['x.fits', '.fits'], ['a/x.fits', 'x.fitsx']],
    ['key?', ['key1', 'key\u{1F600}'], ['key', 'key12', 'key/']],
    ['**', ['a', 'a/b/c', '.x/.y'], []],
    ['a/**', ['a', 'a/b', 'a/b/c'], ['ab', 'b/a']],
    ['**/c', ['c', 'a/c', 'a/b/c'], ['ac', 'a/cx']],
    ['a/**/c', ['a/c', 'a/b/c', 'a/b/d/c'], ['ac', 'a/bc', 'b/a/c']],
    ['a**b', ['ab', 'axxb'], ['a/b']],
    ['key[0-9]', ['key0', 'key9'], ['keya', 'key10']],
    ['[!a]bc', ['xbc', '!bc'], ['abc', '/bc']],
    ['[^a]bc', ['xbc'], ['abc']],
    ['[]a]', [']', 'a'], ['b']],
    ['[a\\-z]', ['a', '-', 'z'], ['b']],
    ['[[:digit:]][[:alpha:]]', ['1a'], ['a1', '11']],
    ['{a,ab}', ['a', 'ab'], ['b', 'abc']],
    ['{a,b/c}', ['a', 'b/c'], ['b']],
    ['x{a,{b,c}}y', ['xay', 'xby', 'xcy'], ['xy', 'xdy']],
    ['a{,b}', ['a', 'ab'], ['abb']],
    ['{a}', ['{a}'], ['a']],
    ['@(a|b)c', ['ac', 'bc'], ['c', 'abc']],
    ['?(a|b)c', ['c', 'ac'], ['abc']],
    ['*(a|b)c', ['c', 'ac', 'abbac'], ['xc']],
    ['+(a|b)c', ['ac', 'abbac'], ['c']],
    ['!a', ['b', 'a/b', 'ab'], ['a']],
    ['!!a', ['a'], ['b']],
    ['!a/*', ['a', 'b/x', 'a/b/c'], ['a/b']],
    ['a\\*', ['a*'], ['ab']],
    ['(a|b)', ['(a|b)'], ['a']],
    ['a+b', ['a+b'], ['ab']],
    ['[a', ['[a'], ['a']],
    ['+(a', ['+(a'], ['a']],
    ['./a/b', ['a/b'], ['./a/b']],
  ])('%s', (pattern, yes, no) => {
    for (const s of yes) expect(matches(pattern, s), `${pattern} should match ${s}`).toBe(true);
    for (const s of no) expect(matches(pattern, s), `${pattern} should not match ${s}`).toBe(false);
  });

  it('agrees with picomatch (dot, posix) wherever the two syntaxes overlap', () => {
    const options = { dot: true, windows: false, posix: true } as const;
    const subjects = ['a', 'a/b', 'a/b/c', 'ab', 'abc/d', 'key1', 'key12', '.hidden', 'x/.y', 'br[1]', 'q/a.txt', 'p!q', 'a+b',
      'abc', 'xbc', '!bc', 'c', 'ac', 'abac', 'x/a', 'x/y/a', 'a/x/b', 'run/a/file.fits', 'ä', ']', '-', 'A', 'a*'];
    const patterns = ['a/**', 'a/**/c', 'a/*', 'a*', '**', '*', 'key?', 'key[0-9]', 'key[!2]*', './a', '{a,ab}', 'a/{b,x}/*',
      'br\\[1\\]', 'q/*.txt', '**/.*', 'p!q', 'a+b', '[!a]bc', '[^a]', '[a-c]', '[]a]', '[[:alpha:]]', '+(a|b)c', '*(a|b)c',
      '?(a|b)c', '@(a|b)c', '!a', 'a\\*', '*/b', '{a,b/c}', '**/a', 'a/**/b', '**/*.fits', 'a?b', '*b*', 'run/*/file.*'];
    for (const p of patterns) {
      const ours = compileGlob(p);
      const theirs = picomatch(p, options);
      for (const s of subjects) expect(ours.match(s), `${p} on ${s}`).toBe(theirs(s));
    }
  });

  it('every subject a pattern matches starts with its literal prefix', () => {
    expect(literalPrefix('key*')).toBe('key');
    expect(literalPrefix('a/b/c*')).toBe('a/b/c');
    expect(literalPrefix('a/**')).toBe('a');
    expect(literalPrefix('./a/b')).toBe('a/b');
    expect(literalPrefix('**')).toBe('');
    expect(literalPrefix('!abc')).toBe('');
    expect(literalPrefix('a\\*b*')).toBe('a*b');
    expect(compileGlob('exact').literal).toBe('exact');
    expect(compileGlob('a\\[1\\]').literal).toBe('a[1]');
    expect(compileGlob('a*').literal).toBeUndefined();
  });
});

describe('glob limits', () => {
  const refused = (pattern: unknown): void => {
    expect(() => compileGlob(pattern)).toThrow(InvalidArgument);
  };

  it('refuses empty, non-string and over-long patterns', () => {
    refused('');
    refused(3);
    refused(null);
    refused('a'.repeat(MAX_GLOB_LENGTH + 1));
    expect(compileGlob('a'.repeat(MAX_GLOB_LENGTH)).literal).toHaveLength(MAX_GLOB_LENGTH);
  });

  it(`refuses braces and extglobs nested deeper than ${MAX_GLOB_NESTING}`, () => {
    const nest = (n: number): string => '@('.repeat(n) + 'a' + ')'.repeat(n);
    expect(matches(nest(MAX_GLOB_NESTING), 'a')).toBe(true);
    refused(nest(MAX_GLOB_NESTING + 1));
    refused('{a,'.repeat(MAX_GLOB_NESTING + 1) + 'b' + '}'.repeat(MAX_GLOB_NESTING + 1));
  });

  it('refuses what has no linear-time or unambiguous meaning', () => {
    refused('!(a)');
    refused('x!(a)y');
    refused('{1..3}');
    refused('[z-a]');
    refused('[[:nope:]]');
  });

  // No timing assertion: the test's own timeout is the bound. A backtracking matcher
  // (picomatch's regex) takes about a minute on the first subject and forever on the second.
  it('answers pathological patterns correctly, in time linear in the subject', { timeout: 5_000 }, () => {
    const g = compileGlob('+(a|a*)b');
    expect(g.match(`${'a'.repeat(22)}!`)).toBe(false);
    expect(g.match(`${'a'.repeat(200_000)}!`)).toBe(false);
    expect(g.match(`${'a'.repeat(200_000)}b`)).toBe(true);
    const stars = compileGlob(`${'*a'.repeat(100)}b`);
    expect(stars.match('a'.repeat(20_000))).toBe(false);
    const nested = compileGlob('*(*(*(*(a|aa))))c');
    expect(nested.match(`${'a'.repeat(50_000)}`)).toBe(false);
  });
});
