/**
 * A large message's body read as it arrives, with its base64 payload decoded on the way: the
 * text of `params.payload.data` is decoded part by part, as its parts arrive, into one buffer
 * (of the decoded size at most), and the rest of the body (the envelope: the request around
 * that text) is kept with a token in the text's place. A put of N bytes then holds the N
 * decoded bytes and the input chunks not yet collected, never the body's 4N/3 beside them.
 *
 * The message is exactly the one parseJsonBytes(body, decodeBase64Payload) gives (see
 * inline-base64.ts). Only text that it decodes the same way is decoded here: the standard
 * alphabet (`A-Za-z0-9+/`, which re-encodes to itself quad by quad), `=` only in the last
 * quad, no escape, a length that is a multiple of 4, longer than a literal parseJsonBytes
 * leaves as a string. And the parsed envelope must have the token where the hook looks
 * (`params.payload.data` beside `encoding: "base64"`: the last of duplicate names). Anything
 * else, and a body that is not JSON, is rebuilt exactly as sent (the decoded quads encoded
 * again) and read the plain way, so that answers and errors are as they were.
 */
import type { BodyAssembler } from '../util/framing.js';
import { firstMemberStart } from '../util/json-scanner.js';
import { LARGE_BODY, LONG_STRING, parseJsonBytes } from '../util/parse-json-bytes.js';
import { adoptDecoded, base64PayloadOf, newToken } from './inline-base64.js';
import { writeBase64Into } from './spliced-json.js';

/** How much of a body may come before the payload's text; a body where it comes later is read the plain way. */
const HEAD_BYTES = 64 * 1024;
const PATH = ['params', 'payload', 'data'];
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const EQUALS = 0x3d;
/** Node's decoder reads `-` and `_` as `+` and `/` (base64url): text with them would not encode back to itself. */
const DASH = 0x2d;
const UNDERSCORE = 0x5f;

/** A body read: parsed (its payload decoded; `envelope` has every byte but the payload's text), or as sent. */
export type AssembledBody = { kind: 'message'; message: unknown; envelope: Buffer } | { kind: 'body'; body: Buffer };

/** The body's first bytes, kept until the payload's text is found in them; scanned each time they double. */
interface Head {
  kind: 'head';
  head: Buffer;
  filled: number;
  scanned: number;
}

/** The payload's text being decoded. */
interface Text {
  kind: 'text';
  /** The body before the text's opening quote. */
  head: Buffer;
  /** Room for the most the rest of the body can decode to; pages never written are never resident. */
  decoded: Buffer;
  /** Bytes decoded from whole quads, all of the alphabet. */
  quads: number;
  /** Up to 3 characters of a quad not yet whole. */
  carry: string;
  /** From the first `=` on (with the carry before it): the last quad, kept as text. */
  last: string | null;
  textLength: number;
}

/** After the text: the rest of the body, copied into the envelope after the head and the token. */
interface Rest {
  kind: 'rest';
  envelope: Buffer;
  filled: number;
  headLength: number;
  token: string;
  tokenLength: number;
  decoded: Buffer;
  quads: number;
  /** The last quad's text ('' if every quad was whole); `size`: all bytes decoded. */
  last: string;
  size: number;
  textLength: number;
}

/** Read the plain way: the body as sent. */
interface Plain {
  kind: 'plain';
  body: Buffer;
  filled: number;
}

/** An assembler for a body of `length` bytes, if it is one worth reading this way (one parseJsonBytes would cut). */
export function assembleBase64Body(length: number, deliver: (assembled: AssembledBody) => void): BodyAssembler | undefined {
  return length >= LARGE_BODY ? new Base64Body(length, deliver) : undefined;
}

class Base64Body implements BodyAssembler {
  private phase: Head | Text | Rest | Plain;

  constructor(
    private readonly length: number,
    private readonly deliver: (assembled: AssembledBody) => void,
  ) {
    this.phase = { kind: 'head', head: Buffer.allocUnsafe(Math.min(HEAD_BYTES, length)), filled: 0, scanned: 0 };
  }

  push(part: Buffer): void {
    let at = 0;
    while (at < part.length) {
      const p = this.phase;
      if (p.kind === 'head') at = this.headPart(p, part, at);
      else if (p.kind === 'text') at = this.textPart(p, part, at);
      else {
        const target = p.kind === 'rest' ? p.envelope : p.body;
        p.filled += part.copy(target, p.filled, at);
        at = part.length;
      }
    }
  }

  end(): void {
    const p = this.phase;
    if (p.kind === 'rest') {
      const message = this.parse(p);
      if (message !== undefined) return this.deliver({ kind: 'message', message, envelope: p.envelope });
    }
    this.deliver({ kind: 'body', body: this.plain().body });
  }

  private headPart(p: Head, part: Buffer, at: number): number {
    const n = part.copy(p.head, p.filled, at);
    p.filled += n;
    if (p.filled < 2 * p.scanned && p.filled < p.head.length) return at + n;
    p.scanned = p.filled;
    const start = firstMemberStart(p.head.subarray(0, p.filled), PATH);
    if (start === 'more' && p.filled < p.head.length) return at + n;
    if (typeof start !== 'number' || p.head[start] !== QUOTE) {
      this.plain();
      return at + n;
    }
    // Room for the most the rest of the body can decode to (all of it but a closing quote).
    const room = Math.floor(Math.max(0, this.length - start - 2) / 4) * 3;
    this.phase = { kind: 'text', head: p.head.subarray(0, start), decoded: Buffer.allocUnsafeSlow(room), quads: 0, carry: '', last: null, textLength: 0 };
    // The text (and whatever follows it) that came with the head.
    this.push(p.head.subarray(start + 1, p.filled));
    return at + n;
  }

  private textPart(p: Text, part: Buffer, at: number): number {
    const rest = part.subarray(at);
    const close = rest.indexOf(QUOTE);
    if (!this.take(p, close < 0 ? rest : rest.subarray(0, close))) {
      this.plain();
      return at;
    }
    if (close < 0) return part.length;
    if (!this.close(p)) {
      this.plain();
      return at + close;
    }
    return at + close + 1;
  }

  /** Decode a piece of the text; false (nothing taken) if it is not text this reader decodes. */
  private take(p: Text, text: Buffer): boolean {
    if (text.length === 0) return true;
    if (text.includes(BACKSLASH)) return false; // an escape (so the first quote is the closing one)
    if (p.last !== null) {
      if (p.last.length + text.length > 4) return false; // more than a quad after a `=` (the close would refuse it: this bounds it)
      p.last += text.toString('latin1');
      p.textLength += text.length;
      return true;
    }
    const eq = text.indexOf(EQUALS);
    const alphabet = eq < 0 ? text : text.subarray(0, eq);
    if (alphabet.includes(DASH) || alphabet.includes(UNDERSCORE)) return false;
    const chars = p.carry + alphabet.toString('latin1');
    const whole = chars.length - (chars.length % 4);
    const last = eq < 0 ? null : chars.slice(whole) + text.toString('latin1', eq);
    if (last !== null && last.length > 4) return false;
    // Node's decoder skips what is not base64 (a space, a control or non-ASCII byte), and then writes fewer bytes.
    const n = p.decoded.write(whole === chars.length ? chars : chars.slice(0, whole), p.quads, 'base64');
    if (n !== (whole / 4) * 3) return false;
    p.quads += n;
    p.carry = last === null ? chars.slice(whole) : '';
    p.last = last;
    p.textLength += text.length;
    return true;
  }

  /** The text's closing quote: on to the rest, or false if the text is not one this reader decodes. */
  private close(p: Text): boolean {
    const last = p.last ?? p.carry;
    if ((last.length !== 0 && last.length !== 4) || p.textLength + 2 <= LONG_STRING) return false;
    const pad = last.endsWith('==') ? 2 : last.endsWith('=') ? 1 : 0;
    if (last.length > 0 && p.decoded.write(last, p.quads, 'base64') !== 3 - pad) return false;
    const token = newToken();
    const marker = JSON.stringify(token);
    const rest = this.length - (p.head.length + p.textLength + 2);
    const envelope = Buffer.allocUnsafe(p.head.length + marker.length + rest);
    p.head.copy(envelope);
    envelope.write(marker, p.head.length, 'latin1');
    this.phase = {
      kind: 'rest',
      envelope,
      filled: p.head.length + marker.length,
      headLength: p.head.length,
      token,
      tokenLength: marker.length,
      decoded: p.decoded,
      quads: p.quads,
      last,
      size: p.quads + (last.length > 0 ? 3 - pad : 0),
      textLength: p.textLength,
    };
    return true;
  }

  /** The message, if the envelope parses with the token as the base64 payload's data. */
  private parse(p: Rest): unknown {
    let message: unknown;
    try {
      message = parseJsonBytes(p.envelope);
    } catch {
      return undefined; // not JSON: the plain path says why, as before
    }
    const payload = base64PayloadOf(message);
    if (payload?.data !== p.token) return undefined;
    adoptDecoded(p.token, payload, p.decoded.subarray(0, p.size), p.textLength);
    return message;
  }

  /** Read on the plain way: the body so far, as sent, rebuilt (once) into a buffer of its length. */
  private plain(): Plain {
    const p = this.phase;
    if (p.kind === 'plain') return p;
    const body = Buffer.allocUnsafe(this.length);
    let filled: number;
    if (p.kind === 'head') filled = p.head.copy(body, 0, 0, p.filled);
    else {
      const head = p.kind === 'text' ? p.head : p.envelope.subarray(0, p.headLength);
      filled = head.copy(body);
      body[filled++] = QUOTE;
      filled = writeBase64Into(p.decoded.subarray(0, p.quads), body, filled);
      filled += body.write(p.kind === 'text' ? (p.last ?? p.carry) : p.last, filled, 'latin1');
      if (p.kind === 'rest') {
        body[filled++] = QUOTE;
        filled += p.envelope.copy(body, filled, p.headLength + p.tokenLength, p.filled);
      }
    }
    this.phase = { kind: 'plain', body, filled };
    return this.phase;
  }
}
