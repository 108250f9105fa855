/**
 * The events of a `butler/provenanceRuns` notification's runs, read from their JSON text when it
 * is laid out exactly as the sidecar writes it (src/server/provenance-runs-form.ts): no
 * whitespace, members in order, `{"sessionId":"…","seq":N,"time":"…","events":[["kind","id","type"],…]}`
 * runs, an event's other members in an object after its three strings. A string holding a
 * backslash or a control character, a member out of place, a number that is not a plain
 * integer, an event whose object nests another: anything else gives undefined, and the caller
 * parses the text with JSON.parse as before. So what this returns is always what JSON.parse and
 * forEachRunEvent give for the same text.
 *
 * Why by hand: JSON.parse of a one-event run's ~150 bytes costs ~1.5 µs on a 2 GHz core, a tenth
 * of what an event costs a one-at-a-time call end to end; slicing its five strings out at the
 * quotes costs about half that. The Node client's share of an event, one a turn
 * (test/bench/event-form-cost.ts --perTurn=1), went from 3.1-3.3 to 2.6-2.9 µs.
 */
import type { ProvenanceEvent } from '../../protocol/provenance.js';

const RUN = '{"sessionId":"';
const SEQ = '","seq":';
const TIME = ',"time":"';
const EVENTS = '","events":[';

/**
 * The layout, checked in one pass of a regular expression before anything is read: a string is
 * `[^"\\\x00-\x1f]*`, one without escape or control character (so its slice between its quotes
 * is its value); a seq a plain integer of at most 15 digits; an event's other members an
 * object of such strings and of what holds no quote, brace, bracket, backslash or control
 * character, whose values JSON.parse then reads. The reading after it needs no check: each
 * piece is where the pattern puts it. Checking as it read (startsWith at each member's name,
 * charCodeAt at each comma and bracket, a regular expression's scan for escapes first) cost the
 * client 1,600-1,900 more instructions an event (client-callgrind, paired rounds).
 */
const CHARS = String.raw`[^"\\\x00-\x1f]*`;
const STRING = `"${CHARS}"`;
const OTHERS = String.raw`\{(?:${STRING}|[^"{}\[\]\\\x00-\x1f])*\}`;
const EVENT = String.raw`\[${STRING},${STRING},${STRING}(?:,${OTHERS})?\]`;
/** The run's own text, as the pattern matches it: the same constants the reading below steps over. */
const literal = (text: string): string => text.replace(/[{}[\]]/g, '\\$&');
const RUN_LAYOUT = String.raw`${literal(RUN)}${CHARS}${literal(SEQ)}(?:0|[1-9][0-9]{0,14})${literal(TIME)}${CHARS}${literal(EVENTS)}${EVENT}(?:,${EVENT})*\]\}`;
/** Sticky: matched from lastIndex, where the runs' `[` is. */
const LAYOUT = new RegExp(String.raw`\[${RUN_LAYOUT}(?:,${RUN_LAYOUT})*\]`, 'y');

const QUOTE = 0x22, COMMA = 0x2c, CLOSE_BRACKET = 0x5d, CLOSE_BRACE = 0x7d;

/**
 * The events of `text` from `from` to `to` (the runs array, `[` to `]`), in order; undefined
 * for any other layout (see the header). A range, so that the reader need not slice the array
 * out of the message's text: nothing past `to` is read as part of the runs.
 */
export function runEventsOfText(text: string, from = 0, to = text.length): ProvenanceEvent[] | undefined {
  LAYOUT.lastIndex = from;
  if (!LAYOUT.test(text) || LAYOUT.lastIndex !== to) return undefined;
  // Laid out as the pattern says: each piece is where it says, and each string ends at its next quote.
  const out: ProvenanceEvent[] = [];
  let p = from + 1;
  for (;;) {
    p += RUN.length;
    let q = text.indexOf('"', p);
    const sessionId = text.slice(p, q);
    p = q + SEQ.length;
    let seq = 0;
    for (let d = text.charCodeAt(p) - 48; d >= 0 && d <= 9; d = text.charCodeAt(++p) - 48) seq = seq * 10 + d;
    p += TIME.length;
    q = text.indexOf('"', p);
    const time = text.slice(p, q);
    p = q + EVENTS.length;
    for (let i = 0; ; i++) {
      p += 2; // ["
      q = text.indexOf('"', p);
      const event = text.slice(p, q) as ProvenanceEvent['event'];
      p = q + 3; // ","
      q = text.indexOf('"', p);
      const datasetId = text.slice(p, q);
      p = q + 3;
      q = text.indexOf('"', p);
      const e: ProvenanceEvent = { sessionId, seq: seq + i, event, datasetId, datasetType: text.slice(p, q), time };
      p = q + 1;
      if (text.charCodeAt(p) === COMMA) {
        // The event's other members: an object of scalars, its end the first `}` outside a string.
        const end = objectEnd(text, p + 1);
        let rest: unknown;
        try {
          rest = JSON.parse(text.slice(p + 1, end + 1));
        } catch {
          return undefined;
        }
        Object.assign(e, rest);
        p = end + 1;
      }
      out.push(e);
      p += 2; // past the event's `]` and the comma or `]` after it
      if (text.charCodeAt(p - 1) === CLOSE_BRACKET) break;
    }
    p += 2; // past the run's `}` and the comma or `]` after it
    if (text.charCodeAt(p - 1) === CLOSE_BRACKET) return out;
  }
}

/** Where the object opening at `at` ends (its `}`), given the layout: strings without escapes, nothing nested. */
function objectEnd(text: string, at: number): number {
  for (let p = at + 1; ; p++) {
    const c = text.charCodeAt(p);
    if (c === QUOTE) p = text.indexOf('"', p + 1);
    else if (c === CLOSE_BRACE) return p;
  }
}
