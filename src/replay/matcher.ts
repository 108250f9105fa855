/**
 * Matching an expected JSON value (with placeholders) against an actual one. Every
 * difference is reported with its path rather than stopping at the first, so one
 * replay shows everything that changed. Placeholders bind into `bindings` as they are
 * met, depth first in the expected value's key order.
 */
import { isDeepStrictEqual } from 'node:util';
import { Bindings } from './bindings.js';
import { childPath } from './json-path.js';
import { OPEN_OBJECT_KEY, PLACEHOLDER_TYPES, escapeRegex, hasPlaceholder, parseTemplate, wholePlaceholder, type Placeholder } from './placeholder.js';

/** Stands for "no such key / element" on either side of a mismatch. */
export const MISSING: unique symbol = Symbol('missing');

export interface Mismatch {
  path: string;
  expected: unknown;
  actual: unknown;
  /** Why it failed when the values alone do not say (a placeholder's type or binding). */
  reason?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function match(expected: unknown, actual: unknown, bindings: Bindings, path = '$'): Mismatch[] {
  const out: Mismatch[] = [];
  matchInto(expected, actual, bindings, path, out);
  return out;
}

/** A match that binds only if it succeeds (for picking among unordered notifications). */
export function tryMatch(expected: unknown, actual: unknown, bindings: Bindings, path = '$'): Mismatch[] {
  const trial = bindings.clone();
  const mismatches = match(expected, actual, trial, path);
  if (mismatches.length === 0) bindings.adopt(trial);
  return mismatches;
}

function matchInto(expected: unknown, actual: unknown, b: Bindings, path: string, out: Mismatch[]): void {
  if (typeof expected === 'string' && expected.includes('{{')) {
    const whole = wholePlaceholder(expected);
    const reason = whole ? matchWhole(whole, actual, b) : matchEmbedded(expected, actual, b);
    if (reason !== null) out.push({ path, expected, actual, reason: reason || undefined });
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return void out.push({ path, expected, actual, reason: 'expected an array' });
    const n = Math.max(expected.length, actual.length);
    for (let i = 0; i < n; i++) {
      const p = childPath(path, i);
      if (i >= actual.length) out.push({ path: p, expected: expected[i], actual: MISSING });
      else if (i >= expected.length) out.push({ path: p, expected: MISSING, actual: actual[i] });
      else matchInto(expected[i], actual[i], b, p, out);
    }
    return;
  }
  if (isObject(expected)) {
    if (!isObject(actual)) return void out.push({ path, expected, actual, reason: 'expected an object' });
    const claimed = new Set<string>();
    const templated: Array<[string, unknown]> = [];
    for (const [k, v] of Object.entries(expected)) {
      if (k === OPEN_OBJECT_KEY) continue;
      if (hasPlaceholder(k)) {
        templated.push([k, v]);
        continue;
      }
      claimed.add(k);
      const p = childPath(path, k);
      if (!Object.prototype.hasOwnProperty.call(actual, k)) out.push({ path: p, expected: v, actual: MISSING });
      else matchInto(v, actual[k], b, p, out);
    }
    // Keys with placeholders (say a datastore name with a generated uuid) take the first
    // unclaimed key whose name and value both match; failing that, the first whose name does.
    for (const [k, v] of templated) {
      const free = Object.keys(actual).filter((a) => !claimed.has(a));
      const whole = free.find((a) => {
        const trial = b.clone();
        if (match(k, a, trial).length || match(v, actual[a], trial).length) return false;
        b.adopt(trial);
        return true;
      });
      const named = whole ?? free.find((a) => tryMatch(k, a, b).length === 0);
      if (named === undefined) out.push({ path: childPath(path, k), expected: v, actual: MISSING });
      else {
        claimed.add(named);
        if (whole === undefined) matchInto(v, actual[named], b, childPath(path, named), out);
      }
    }
    if (!Object.prototype.hasOwnProperty.call(expected, OPEN_OBJECT_KEY)) {
      for (const [k, v] of Object.entries(actual)) {
        if (!claimed.has(k)) out.push({ path: childPath(path, k), expected: MISSING, actual: v });
      }
    }
    return;
  }
  if (!isDeepStrictEqual(expected, actual)) out.push({ path, expected, actual });
}

/** null when it matches, else the reason ('' when the values say it all). */
function matchWhole(p: Placeholder, actual: unknown, b: Bindings): string | null {
  if (p.name !== null) {
    const l = b.lookup(p.name);
    if (l.found) return isDeepStrictEqual(l.value, actual) ? null : `${p.raw} is bound to ${JSON.stringify(l.value)}`;
    if (p.name.includes('.')) return `${p.raw}: nothing bound to look up`;
  }
  if (p.type !== null && !PLACEHOLDER_TYPES[p.type].test(actual)) return `expected type ${p.type}`;
  if (p.name !== null) b.bind(p.name, actual);
  return null;
}

const asText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** A string with placeholders among literal text: compiled to an anchored regex. */
function matchEmbedded(expected: string, actual: unknown, b: Bindings): string | null {
  if (typeof actual !== 'string') return 'expected a string';
  let src = '^';
  const groups: Array<{ group: string; name: string }> = [];
  const seen = new Map<string, string>();
  for (const part of parseTemplate(expected)) {
    if (typeof part === 'string') {
      src += escapeRegex(part);
      continue;
    }
    const bound = part.name !== null ? b.lookup(part.name) : ({ found: false } as const);
    if (bound.found) src += escapeRegex(asText(bound.value));
    else if (part.name !== null && seen.has(part.name)) src += `\\k<${seen.get(part.name)}>`;
    else {
      if (part.name?.includes('.')) return `${part.raw}: nothing bound to look up`;
      const group = `g${groups.length}`;
      src += `(?<${group}>${PLACEHOLDER_TYPES[part.type ?? '*'].pattern})`;
      if (part.name !== null) {
        groups.push({ group, name: part.name });
        seen.set(part.name, group);
      } else groups.push({ group, name: '' });
    }
  }
  const m = new RegExp(`${src}$`).exec(actual);
  if (!m) return '';
  for (const g of groups) if (g.name) b.bind(g.name, m.groups![g.group]);
  return null;
}
