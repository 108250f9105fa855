/**
 * A provenance event's JSON text, as JSON.stringify writes it, without calling it for the
 * events the butler makes: their members are the six every event has, in that order, then
 * some of the optional ones (reason, size, sha256, handle), strings and integers. Written from
 * a template (member names need no quoting, strings go through jsonString), ~0.4x the time of
 * JSON.stringify for an outputWritten event (V8 11), which every put makes. Anything else
 * (another member, another type, a value JSON.stringify would write otherwise) is left to
 * JSON.stringify, so the text is always its text.
 */
import type { ProvenanceEvent } from '../../protocol/provenance.js';
import { jsonString } from '../model/json-value.js';

const FIRST = ['sessionId', 'seq', 'event', 'datasetId', 'datasetType', 'time'] as const;
const OPTIONAL = new Set(['reason', 'size', 'sha256', 'handle']);

/** A string's or a finite number's JSON text; undefined for anything else. */
function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return jsonString(v);
  return typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
}

/**
 * scalar(), remembering the last value and its text: a member whose value repeats from one
 * event to the next (the session id, the event kind, a dataset type's name, the time within a
 * millisecond, a reason) is not scanned again. The scan is a regular-expression test, and a
 * string made by concatenation (the time, see isoNow) V8 must first flatten, which sends the
 * test through the runtime: the tests cost ~4,600 of the ~20,000 instructions an event added to
 * a `butler/stored` call one at a time (callgrind), ~1,800 with this.
 */
class LastScalar {
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

/** JSON.stringify(event). */
export function provenanceEventJson(event: ProvenanceEvent): string {
  return templateJson(event) ?? JSON.stringify(event);
}

function templateJson(event: ProvenanceEvent): string | undefined {
  if (Object.getPrototypeOf(event) !== Object.prototype) return undefined;
  const keys = Object.keys(event);
  if (keys.length < FIRST.length) return undefined;
  for (let i = 0; i < FIRST.length; i++) if (keys[i] !== FIRST[i]) return undefined;
  const values = event as unknown as Record<string, unknown>;
  const sessionId = lastSessionId.of(event.sessionId);
  const seq = scalar(event.seq);
  const kind = lastKind.of(event.event);
  const datasetId = scalar(event.datasetId);
  const datasetType = lastDatasetType.of(event.datasetType);
  const time = lastTime.of(event.time);
  if (sessionId === undefined || seq === undefined || kind === undefined || datasetId === undefined || datasetType === undefined || time === undefined) return undefined;
  let text = `{"sessionId":${sessionId},"seq":${seq},"event":${kind},"datasetId":${datasetId},"datasetType":${datasetType},"time":${time}`;
  for (let i = FIRST.length; i < keys.length; i++) {
    const key = keys[i]!;
    const value = !OPTIONAL.has(key) ? undefined : key === 'reason' ? lastReason.of(values[key]) : scalar(values[key]);
    if (value === undefined) return undefined;
    text += `,"${key}":${value}`;
  }
  return `${text}}`;
}
