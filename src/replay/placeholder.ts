/**
 * Placeholder syntax of transcripts. A placeholder is `{{...}}` inside a JSON string:
 *
 *   {{*}}            anything
 *   {{TYPE}}         a value of that type (int, number, string, time, uuid, sha256)
 *   {{TYPE:name}}    a value of that type, bound to `name`
 *   {{name}}         bound to `name` the first time, equal to it afterwards
 *   {{name.a.b}}     a lookup into a bound value (sends and expectations, never a capture)
 *
 * A string that is exactly one placeholder matches any JSON value (so `"{{int}}"` matches
 * the number 204); placeholders embedded in longer text match substrings of a string.
 */
export interface Placeholder {
  readonly type: PlaceholderType | null;
  readonly name: string | null;
  readonly raw: string;
}

export interface PlaceholderTypeDef {
  /** Whole-value test. */
  test(value: unknown): boolean;
  /** Regex source used when the placeholder is embedded in a longer string. */
  readonly pattern: string;
}

const TIME = '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const full = (src: string) => new RegExp(`^${src}$`);
const str = (re: RegExp) => (v: unknown) => typeof v === 'string' && re.test(v);

export const PLACEHOLDER_TYPES = {
  '*': { test: () => true, pattern: '[\\s\\S]*?' },
  string: { test: (v) => typeof v === 'string', pattern: '[\\s\\S]*?' },
  int: { test: (v) => Number.isInteger(v), pattern: '-?\\d+' },
  number: { test: (v) => typeof v === 'number', pattern: '-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?' },
  time: { test: str(full(TIME)), pattern: TIME },
  uuid: { test: str(full(UUID)), pattern: UUID },
  sha256: { test: str(/^[0-9a-f]{64}$/), pattern: '[0-9a-f]{64}' },
} satisfies Record<string, PlaceholderTypeDef>;
export type PlaceholderType = keyof typeof PLACEHOLDER_TYPES;

export const TIME_RE = full(TIME);
export const UUID_RE = full(UUID);
export const EMBEDDED_TIME_RE = new RegExp(TIME, 'g');
export const EMBEDDED_UUID_RE = new RegExp(UUID, 'g');

/** Binding names: identifiers; dots separate a lookup path into a bound value. */
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/;
const TOKEN_RE = /\{\{([^{}]*)\}\}/g;

const isType = (s: string): s is PlaceholderType => Object.prototype.hasOwnProperty.call(PLACEHOLDER_TYPES, s);

export class PlaceholderError extends Error {}

export function parsePlaceholder(inner: string): Placeholder {
  const raw = `{{${inner}}}`;
  const colon = inner.indexOf(':');
  if (colon >= 0) {
    const type = inner.slice(0, colon);
    const name = inner.slice(colon + 1);
    if (!isType(type)) throw new PlaceholderError(`${raw}: unknown type '${type}' (known: ${Object.keys(PLACEHOLDER_TYPES).join(', ')})`);
    if (!NAME_RE.test(name) || name.includes('.')) throw new PlaceholderError(`${raw}: '${name}' is not a valid binding name`);
    return { type, name, raw };
  }
  if (isType(inner)) return { type: inner, name: null, raw };
  if (!NAME_RE.test(inner)) throw new PlaceholderError(`${raw} is not a placeholder (want {{*}}, {{type}}, {{type:name}} or {{name}})`);
  return { type: null, name: inner, raw };
}

export type TemplatePart = string | Placeholder;

/** Split a string into literal text and placeholders (an empty list for ""). */
export function parseTemplate(s: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of s.matchAll(TOKEN_RE)) {
    if (m.index > last) parts.push(s.slice(last, m.index));
    parts.push(parsePlaceholder(m[1]!));
    last = m.index + m[0].length;
  }
  if (last < s.length) parts.push(s.slice(last));
  return parts;
}

export function hasPlaceholder(s: string): boolean {
  return s.includes('{{') && parseTemplate(s).some((p) => typeof p !== 'string');
}

/** The placeholder when the whole string is exactly one, else null. */
export function wholePlaceholder(s: string): Placeholder | null {
  if (!s.startsWith('{{') || !s.endsWith('}}')) return null;
  const parts = parseTemplate(s);
  return parts.length === 1 && typeof parts[0] !== 'string' ? parts[0]! : null;
}

/** Every placeholder in a JSON value (strings and object keys), for validation. */
export function* placeholdersIn(value: unknown): Generator<Placeholder> {
  if (typeof value === 'string') {
    for (const p of parseTemplate(value)) if (typeof p !== 'string') yield p;
  } else if (Array.isArray(value)) {
    for (const v of value) yield* placeholdersIn(v);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k !== OPEN_OBJECT_KEY) yield* placeholdersIn(k);
      yield* placeholdersIn(v);
    }
  }
}

/** An expected object with this key allows keys it does not list. */
export const OPEN_OBJECT_KEY = '{{*}}';

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
