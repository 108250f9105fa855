/**
 * Filling placeholders of a send with bound values: a string that is exactly
 * `{{name}}` becomes the bound JSON value itself (an object, a number...); placeholders
 * inside longer text are replaced by the value's text.
 */
import type { Bindings } from './bindings.js';
import { parseTemplate, wholePlaceholder, type Placeholder } from './placeholder.js';

export class UnboundPlaceholder extends Error {}

function resolve(p: Placeholder, b: Bindings): unknown {
  if (p.name === null) throw new UnboundPlaceholder(`${p.raw} cannot be sent: it names no value`);
  const l = b.lookup(p.name);
  if (!l.found) throw new UnboundPlaceholder(`${p.raw} is not bound (bound: ${b.names().join(', ') || 'nothing'})`);
  return l.value;
}

function substituteString(s: string, b: Bindings): unknown {
  if (!s.includes('{{')) return s;
  const whole = wholePlaceholder(s);
  if (whole) return resolve(whole, b);
  return parseTemplate(s)
    .map((part) => {
      if (typeof part === 'string') return part;
      const v = resolve(part, b);
      return typeof v === 'string' ? v : JSON.stringify(v);
    })
    .join('');
}

export function substitute(value: unknown, b: Bindings): unknown {
  if (typeof value === 'string') return substituteString(value, b);
  if (Array.isArray(value)) return value.map((v) => substitute(v, b));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [String(substituteString(k, b)), substitute(v, b)]));
  }
  return value;
}
