/**
 * A provenance event's JSON text, as JSON.stringify writes it, without calling it for the
 * events the butler makes: their members are the six every event has, in that order, then
 * some of the optional ones (reason, size, sha256, handle), strings and integers. Written from
 * a template (member names need no quoting; strings of printable ASCII without quote or
 * backslash are written as they are), ~0.4x the time of JSON.stringify for an outputWritten
 * event (V8 11), which every put makes. Anything else (another member, another type, a string
 * with another character, a value JSON.stringify would write otherwise) is left to
 * JSON.stringify, so the text is always its text; the template's text is all ASCII, which
 * spares the writer of a batch a pass over it (see ProtocolWriter.writeBatched). Its scalar
 * texts and their caches serve the compact form too (provenance-runs-form.ts).
 */
import type { ProvenanceEvent } from '../../protocol/provenance.js';
import { JSON_ASCII_AS_IS, asciiQuoted } from '../model/json-value.js';
import { isLastIsoNow } from '../util/time.js';
import { isLastSha256Hex } from '../util/checksum.js';

/** The six members every event has, in the order the butler writes them. */
export const SHARED_MEMBERS = ['sessionId', 'seq', 'event', 'datasetId', 'datasetType', 'time'] as const;

/** The event's keys begin with the six shared members in the butler's order (the rest are then its own). */
export function sharedFirst(keys: readonly string[]): boolean {
  if (keys.length < SHARED_MEMBERS.length) return false;
  for (let i = 0; i < SHARED_MEMBERS.length; i++) if (keys[i] !== SHARED_MEMBERS[i]) return false;
  return true;
}
const OPTIONAL = new Set(['reason', 'size', 'sha256', 'handle']);

/** A string's or a finite number's JSON text, when it is ASCII written as it is; undefined for anything else. */
export function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return JSON_ASCII_AS_IS.test(v) ? `"${v}"` : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
}

/**
 * scalar(), remembering the last value and its text: a member whose value repeats from one
 * event to the next (the session id, the event kind, a dataset type's name, a time not from
 * isoNow, a reason) is not scanned again. The scan is a regular-expression test, and a string
 * made by concatenation V8 must first flatten, which sends the test through the runtime.
 */
export class LastScalar {
  private value: unknown = undefined;
  private text: string | undefined = undefined;

  of(v: unknown): string | undefined {
    if (v === this.value && typeof v === 'string') return this.text;
    const text = scalar(v);
    if (typeof v === 'string') {
      this.value = v;
      this.text = text;
    }
    return text;
  }
}

const lastSessionId = new LastScalar();
const lastKind = new LastScalar();
const lastDatasetType = new LastScalar();
const lastTime = new LastScalar();
const lastReason = new LastScalar();

/**
 * A dataset id's JSON text, when it is ASCII written as it is (as scalar()). Not from a cache
 * of ids by text: a put, whose id is new, always missed it: three lookups in a large Map, far
 * apart in memory, and one more entry kept for the collector to copy and mark.
 */
function datasetIdText(id: unknown): string | undefined {
  return typeof id === 'string' ? asciiQuoted(id) : undefined;
}

/** JSON.stringify(event). */
export function provenanceEventJson(event: ProvenanceEvent): string {
  return asciiProvenanceEventJson(event) ?? JSON.stringify(event);
}

/** JSON.stringify(event) when the template writes it, which is all ASCII; undefined for any other event. */
export function asciiProvenanceEventJson(event: ProvenanceEvent): string | undefined {
  if (Object.getPrototypeOf(event) !== Object.prototype) return undefined;
  const keys = Object.keys(event);
  if (!sharedFirst(keys)) return undefined;
  const values = event as unknown as Record<string, unknown>;
  const sessionId = lastSessionId.of(event.sessionId);
  const seq = scalar(event.seq);
  const kind = lastKind.of(event.event);
  const datasetId = datasetIdText(event.datasetId);
  const datasetType = lastDatasetType.of(event.datasetType);
  // The time isoNow gave (every event the butler makes carries it) is ASCII needing no escape:
  // not scanned (the string is new each millisecond, and made by concatenation, which the
  // scan, and the comparison with the last time, first made flat in the runtime).
  const time = typeof event.time === 'string' && isLastIsoNow(event.time) ? `"${event.time}"` : lastTime.of(event.time);
  if (sessionId === undefined || seq === undefined || kind === undefined || datasetId === undefined || datasetType === undefined || time === undefined) return undefined;
  let text = `{"sessionId":${sessionId},"seq":${seq},"event":${kind},"datasetId":${datasetId},"datasetType":${datasetType},"time":${time}`;
  for (let i = SHARED_MEMBERS.length; i < keys.length; i++) {
    const key = keys[i]!;
    const v = values[key];
    const value = !OPTIONAL.has(key) ? undefined : key === 'reason' ? lastReason.of(v) : typeof v === 'string' && isLastSha256Hex(v) ? `"${v}"` : scalar(v);
    if (value === undefined) return undefined;
    text += `,"${key}":${value}`;
  }
  return `${text}}`;
}
