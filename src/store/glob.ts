/**
 * Glob patterns over keys (picomatch): `*` and `?` stay within one '/' segment, `**`
 * crosses segments, `[..]`/`[!..]`/`[^..]` classes, `{a,b}` braces; leading dots are
 * ordinary characters (`dot: true`). Matching is case-sensitive.
 */
import picomatch from 'picomatch';
import { InvalidArgument } from '../model/errors.js';

export interface Glob {
  readonly pattern: string;
  /** Every matching key starts with this literal prefix (lets backends narrow the scan). */
  readonly prefix: string;
  match(key: string): boolean;
}

// `windows: false`: keys are '/'-separated on every platform. `posix: true`: picomatch 4.0
// only treats `[!abc]` as a negated class with this flag (otherwise '!' is a class member,
// picomatch issue #187); it also enables `[[:alpha:]]` classes.
const OPTIONS = { dot: true, windows: false, posix: true } as const;
const SPECIAL = /[*?[\]{}()!+@\\]/;

export function compileGlob(pattern: unknown): Glob {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw new InvalidArgument('a glob pattern must be a non-empty string');
  }
  let match: (key: string) => boolean;
  try {
    match = picomatch(pattern, OPTIONS);
  } catch (err) {
    throw new InvalidArgument(`invalid glob pattern ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
  return { pattern, prefix: literalPrefix(pattern), match: (key) => match(key) };
}

export function literalPrefix(pattern: string): string {
  // picomatch ignores leading "./" in patterns.
  let p = pattern;
  while (p.startsWith('./')) p = p.slice(2);
  const at = p.search(SPECIAL);
  let prefix = at < 0 ? p : p.slice(0, at);
  // "a/**" also matches "a" itself, so the '/' before a globstar is not required.
  if (at >= 0 && prefix.endsWith('/') && p.startsWith('**', at)) prefix = prefix.slice(0, -1);
  return prefix;
}
