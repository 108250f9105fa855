/**
 * The compact form of a turn's provenance events (`butler/provenanceRuns`): runs of one
 * session's consecutive events with one time, `{sessionId, seq, time, events}`, each event
 * `[event, datasetId, datasetType]` plus, when it has any, an object of its other members in
 * its own order. What every event repeats (member names, the session id, the time, the seq)
 * is written once a run: ~75 bytes an event where butler/provenanceBatch takes ~190, and a
 * client parses three strings instead of an object of six members. A new run starts when the
 * session changes, the seq does not follow on, or the time differs. Strings of printable ASCII
 * without quote or backslash are written as they are (their texts cached as in
 * provenance-event-json.ts); any other is written by JSON.stringify and its piece marked not
 * ASCII, so the text is always valid JSON of the same values.
 */
import type { ProvenanceEvent } from '../../protocol/provenance.js';
import { ProvenanceRunsNotification } from '../../protocol/notifications.js';
import type { BatchForm } from './protocol-writer.js';
import { isLastIsoNow } from '../util/time.js';
import { isLastSha256Hex } from '../util/checksum.js';
import { isAsciiAsIs } from '../model/json-value.js';
import { LastScalar, SHARED_MEMBERS, scalar, sharedFirst } from './provenance-event-json.js';

/** The members every event has, written by position or once a run; the rest go in the event's object. */
const SHARED = new Set<string>(SHARED_MEMBERS);

/**
 * The quoted names of the members events carry besides the shared ones (size, sha256, reason,
 * handle): a handful, each tested once rather than per event (a regular-expression test each).
 * Printable ASCII names only; at most MAX_NAMES (then it starts again).
 */
const names = new Map<string, string>();
const MAX_NAMES = 256;

function memberName(key: string): string | undefined {
  let text = names.get(key);
  if (text === undefined) {
    text = scalar(key);
    if (text === undefined) return undefined;
    if (names.size >= MAX_NAMES) names.clear();
    names.set(key, text);
  }
  return text;
}

/** `["<kind>",` for each kind, made once. */
const kindOpen = new Map<string, string>();

export class ProvenanceRunsForm implements BatchForm<ProvenanceEvent> {
  readonly method = ProvenanceRunsNotification.method;
  readonly open = '{"runs":[';
  /** Closes the last run's events and the run, then the runs. */
  readonly close = ']}]}';
  pieceAscii = true;

  /** The run being written: its session, the seq its next event must have, its time. */
  private sessionId: string | undefined;
  private nextSeq = 0;
  private time: string | undefined;
  private ascii = true;
  private readonly sessionText = new LastScalar();
  private readonly typeText = new LastScalar();
  private readonly timeText = new LastScalar();
  private readonly reasonText = new LastScalar();

  piece(e: ProvenanceEvent, first: boolean): string {
    this.ascii = true;
    if (!first && e.sessionId === this.sessionId && e.seq === this.nextSeq && e.time === this.time) {
      const piece = this.eventText(e, ',');
      this.nextSeq++;
      this.pieceAscii = this.ascii;
      return piece;
    }
    const head = `{"sessionId":${this.text(this.sessionText, e.sessionId)},"seq":${this.number(e.seq)},"time":${isLastIsoNow(e.time) ? `"${e.time}"` : this.text(this.timeText, e.time)},"events":[`;
    const piece = this.eventText(e, first ? head : `]},${head}`);
    this.sessionId = e.sessionId;
    this.nextSeq = e.seq + 1;
    this.time = e.time;
    this.pieceAscii = this.ascii;
    return piece;
  }

  /**
   * The event's tuple after `before` (the run's head, or a comma), in as few concatenations as
   * the text allows: each is a piece of the batch's text that V8 walks again when it flattens
   * it to write the frame (an id or a checksum is put between quotes inside the template, not
   * made a string of its own first).
   */
  private eventText(e: ProvenanceEvent, before: string): string {
    let open = kindOpen.get(e.event);
    if (open === undefined) {
      open = `[${JSON.stringify(e.event)},`;
      kindOpen.set(e.event, open);
    }
    const id = e.datasetId;
    const type = this.text(this.typeText, e.datasetType);
    const tuple = typeof id === 'string' && isAsciiAsIs(id) ? `${before}${open}"${id}",${type}` : `${before}${open}${this.json(id)},${type}`;
    const keys = Object.keys(e);
    if (keys.length === SHARED.size) return `${tuple}]`;
    let rest = '';
    const values = e as unknown as Record<string, unknown>;
    // The butler's events begin with the shared members, in order: the loop starts after them
    // (a read and a set lookup saved for each of the six). Any other order: every key is looked up.
    const start = sharedFirst(keys) ? SHARED_MEMBERS.length : 0;
    for (let i = start; i < keys.length; i++) {
      const key = keys[i]!;
      if (start === 0 && SHARED.has(key)) continue;
      const v = values[key];
      if (v === undefined) continue;
      const name = memberName(key) ?? this.json(key);
      const sep = rest === '' ? '' : ',';
      if (key === 'sha256' && typeof v === 'string' && isLastSha256Hex(v)) rest = `${rest}${sep}${name}:"${v}"`;
      else rest = `${rest}${sep}${name}:${key === 'reason' ? this.text(this.reasonText, v) : (scalar(v) ?? this.json(v))}`;
    }
    return rest === '' ? `${tuple}]` : `${tuple},{${rest}}]`;
  }

  private text(last: LastScalar, v: unknown): string {
    return last.of(v) ?? this.json(v);
  }

  private number(n: number): string {
    return scalar(n) ?? this.json(n);
  }

  /** JSON.stringify's text, which may not be ASCII; throws for what has no JSON text. */
  private json(v: unknown): string {
    const text = JSON.stringify(v);
    if (text === undefined) throw new TypeError(`A provenance event's member has no JSON form: ${String(v)}`);
    this.ascii = false;
    return text;
  }
}
