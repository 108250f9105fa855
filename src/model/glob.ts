/**
 * The one glob syntax of the project (store keys, the `columns` read parameter, dataset
 * type patterns), compiled to a small automaton and matched in time linear in the
 * subject: O(length of subject x size of pattern), whatever the pattern. Regex-based
 * matchers (picomatch, minimatch) backtrack: `+(a|a*)b` over 22 `a`s took a minute.
 *
 * Syntax ('/' separates segments; a subject is matched whole):
 *   *        any characters within one segment (none included; leading dots too)
 *   ?        one character (a Unicode code point), not '/'
 *   **       as a whole segment: any number of segments (`a/**` also matches `a`,
 *            `**` alone matches everything); elsewhere the same as `*`
 *   [abc] [a-z] [!a] [^a] [[:alpha:]]   one character of (not of) a class; never '/'
 *   {a,b}    one of the comma-separated alternatives (nestable; `{a}` is literal)
 *   @(a|b) ?(a|b) *(a|b) +(a|b)   one / at most one / any number / at least one of
 *   !pat     (leading) every subject `pat` does not match
 *   \x       the character x itself
 * Everything else is literal, `(`, `)` and `|` outside an extglob included. A leading
 * `./` is ignored. Refused with InvalidArgument: patterns over MAX_GLOB_LENGTH code
 * units, braces and extglobs nested deeper than MAX_GLOB_NESTING, negated extglobs
 * `!(..)` (no linear-time form), brace ranges `{1..3}` and reversed class ranges.
 */
import { InvalidArgument } from './errors.js';
import { compileNfa, type Node, type Pred, type Seq } from './glob-nfa.js';

export const MAX_GLOB_LENGTH = 1024;
export const MAX_GLOB_NESTING = 8;

export interface Glob {
  readonly pattern: string;
  /** Every matching subject starts with this literal prefix (lets backends narrow the scan). */
  readonly prefix: string;
  /** The one subject the pattern matches, when it has no special syntax (escapes undone). */
  readonly literal?: string;
  match(subject: string): boolean;
}

/** Compiles `pattern`; `what` names it in errors ("glob pattern", "dataset type pattern", ...). */
export function compileGlob(pattern: unknown, what = 'glob pattern'): Glob {
  if (typeof pattern !== 'string' || pattern.length === 0) throw new InvalidArgument(`a ${what} must be a non-empty string`);
  if (pattern.length > MAX_GLOB_LENGTH) {
    throw new InvalidArgument(`a ${what} may have at most ${MAX_GLOB_LENGTH} characters (got ${pattern.length})`, {
      details: { length: pattern.length, max: MAX_GLOB_LENGTH },
    });
  }
  let body = pattern;
  let negated = false;
  while (body.startsWith('!') && !body.startsWith('!(')) {
    negated = !negated;
    body = body.slice(1);
  }
  while (body.startsWith('./')) body = body.slice(2);
  let seq: Seq;
  try {
    seq = new Parser(body).parseAll();
  } catch (err) {
    if (err instanceof GlobSyntax) {
      throw new InvalidArgument(`invalid ${what} ${JSON.stringify(pattern)}: ${err.message}`, { details: { pattern } });
    }
    throw err;
  }
  const lead = literalLead(seq);
  if (lead.length === seq.length) {
    const text = lead.join('');
    return { pattern, prefix: negated ? '' : text, ...(negated ? {} : { literal: text }), match: (s) => (s === text) !== negated };
  }
  const nfa = compileNfa(seq);
  return { pattern, prefix: negated ? '' : lead.join(''), match: (s) => nfa.run(s) !== negated };
}

/** The literal prefix every match of `pattern` starts with ('' when it has none). */
export function literalPrefix(pattern: string): string {
  return compileGlob(pattern).prefix;
}

// ---- syntax tree ------------------------------------------------------------------------

const SLASH = 0x2f;
const notSlash: Pred = (cp) => cp !== SLASH;
const anything: Pred = () => true;
const lit = (ch: string): Node => {
  const cp = ch.codePointAt(0)!;
  return { t: 'char', pred: (c) => c === cp, lit: ch };
};
const star = (pred: Pred): Node => ({ t: 'repeat', body: { t: 'char', pred }, min: 0, many: true });
const optional = (seq: Seq): Node => ({ t: 'repeat', body: { t: 'alt', options: [seq] }, min: 0, many: false });

class GlobSyntax extends Error {}

const POSIX: Record<string, Pred> = {
  alnum: (c) => isIn(c, 0x30, 0x39) || isIn(c, 0x41, 0x5a) || isIn(c, 0x61, 0x7a),
  alpha: (c) => isIn(c, 0x41, 0x5a) || isIn(c, 0x61, 0x7a),
  ascii: (c) => c <= 0x7f,
  blank: (c) => c === 0x20 || c === 0x09,
  cntrl: (c) => c < 0x20 || c === 0x7f,
  digit: (c) => isIn(c, 0x30, 0x39),
  graph: (c) => isIn(c, 0x21, 0x7e),
  lower: (c) => isIn(c, 0x61, 0x7a),
  print: (c) => isIn(c, 0x20, 0x7e),
  punct: (c) => isIn(c, 0x21, 0x2f) || isIn(c, 0x3a, 0x40) || isIn(c, 0x5b, 0x60) || isIn(c, 0x7b, 0x7e),
  space: (c) => c === 0x20 || isIn(c, 0x09, 0x0d),
  upper: (c) => isIn(c, 0x41, 0x5a),
  word: (c) => isIn(c, 0x30, 0x39) || isIn(c, 0x41, 0x5a) || isIn(c, 0x61, 0x7a) || c === 0x5f,
  xdigit: (c) => isIn(c, 0x30, 0x39) || isIn(c, 0x41, 0x46) || isIn(c, 0x61, 0x66),
};

function isIn(c: number, lo: number, hi: number): boolean {
  return c >= lo && c <= hi;
}

/** Recursive descent over code points; `stop` holds the characters that end the current alternative. */
class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly src: string) {}

  parseAll(): Seq {
    return this.seq('');
  }

  private peek(offset = 0): string | undefined {
    let at = this.i;
    for (let n = 0; n < offset && at < this.src.length; n++) at += this.src.codePointAt(at)! > 0xffff ? 2 : 1;
    if (at >= this.src.length) return undefined;
    return String.fromCodePoint(this.src.codePointAt(at)!);
  }

  private next(): string {
    const ch = this.peek()!;
    this.i += ch.length;
    return ch;
  }

  private seq(stop: string): Seq {
    const out: Seq = [];
    for (;;) {
      const ch = this.peek();
      if (ch === undefined || stop.includes(ch)) return out;
      const next = this.peek(1);
      if (ch === '\\') {
        this.next();
        out.push(lit(this.peek() === undefined ? '\\' : this.next()));
      } else if (ch === '*' && next === '*') {
        this.globstar(out, stop);
      } else if ('?*+@!'.includes(ch) && next === '(' && this.closes(this.i + 1, '(', ')')) {
        this.extglob(out, ch);
      } else if (ch === '*') {
        this.next();
        out.push(star(notSlash));
      } else if (ch === '?') {
        this.next();
        out.push({ t: 'char', pred: notSlash });
      } else if (ch === '[' && this.classEnd() > 0) {
        out.push(this.charClass());
      } else if (ch === '{' && this.braceCommas()) {
        out.push(this.brace());
      } else {
        out.push(lit(this.next()));
      }
    }
  }

  /** `**`: a globstar when it is a whole segment, else a plain `*`. */
  private globstar(out: Seq, stop: string): void {
    this.next();
    this.next();
    while (this.peek() === '*') this.next();
    const prev = out[out.length - 1];
    const afterSlash = prev === undefined || (prev.t === 'char' && prev.lit === '/');
    const ahead = this.peek();
    if (!afterSlash || (ahead !== undefined && ahead !== '/' && !stop.includes(ahead))) {
      out.push(star(notSlash));
      return;
    }
    if (ahead === '/') {
      // `**/`: zero or more whole segments, each with its '/'.
      this.next();
      out.push(optional([star(anything), lit('/')]));
    } else if (prev !== undefined) {
      // `a/**` at the end: the '/' is optional too, so `a` itself matches.
      out.pop();
      out.push(optional([lit('/'), star(anything)]));
    } else {
      out.push(star(anything));
    }
  }

  private extglob(out: Seq, kind: string): void {
    if (kind === '!') throw new GlobSyntax('negated extglobs !(...) are not supported (a leading ! negates the whole pattern)');
    this.next();
    this.next();
    this.enter();
    const options = this.alternatives('|)', ')');
    this.depth--;
    const body: Node = { t: 'alt', options };
    if (kind === '@') out.push(body);
    else out.push({ t: 'repeat', body, min: kind === '+' ? 1 : 0, many: kind !== '?' });
  }

  private brace(): Node {
    this.next();
    this.enter();
    const options = this.alternatives(',}', '}');
    this.depth--;
    return { t: 'alt', options };
  }

  /** Alternatives separated by the first char of `seps`, ended by `close` (consumed). */
  private alternatives(seps: string, close: string): Seq[] {
    const options: Seq[] = [];
    for (;;) {
      options.push(this.seq(seps));
      if (this.next() === close) return options;
    }
  }

  private enter(): void {
    if (++this.depth > MAX_GLOB_NESTING) throw new GlobSyntax(`braces and extglobs nest at most ${MAX_GLOB_NESTING} levels`);
  }

  /** Whether the bracket opened at `from` is closed (counting nesting, skipping escapes). */
  private closes(from: number, open: string, close: string): boolean {
    let depth = 0;
    for (let j = from; j < this.src.length; j++) {
      const c = this.src[j];
      if (c === '\\') j++;
      else if (c === open) depth++;
      else if (c === close && --depth === 0) return true;
    }
    return false;
  }

  /** A `{...}` with a top-level comma is an alternation; `{a}` and unclosed ones are literal. */
  private braceCommas(): boolean {
    if (!this.closes(this.i, '{', '}')) return false;
    let depth = 0;
    let commas = false;
    for (let j = this.i; j < this.src.length; j++) {
      const c = this.src[j];
      if (c === '\\') j++;
      else if (c === '{') depth++;
      else if (c === '}') {
        if (--depth === 0) {
          if (!commas && /^\{[^{}]*\.\.[^{}]*\}$/.test(this.src.slice(this.i, j + 1))) {
            throw new GlobSyntax('brace ranges {a..b} are not supported; list the alternatives {a,b,c}');
          }
          return commas;
        }
      } else if (c === ',' && depth === 1) commas = true;
    }
    return false;
  }

  /** Index just past the `]` closing the class at the cursor, or -1 (then `[` is literal). */
  private classEnd(): number {
    let j = this.i + 1;
    if (this.src[j] === '!' || this.src[j] === '^') j++;
    if (this.src[j] === ']') j++; // a leading ']' is a member
    for (; j < this.src.length; j++) {
      const c = this.src[j];
      if (c === '\\') j++;
      else if (c === '[' && this.src[j + 1] === ':') {
        const end = this.src.indexOf(':]', j + 2);
        if (end > 0) j = end + 1;
      } else if (c === ']') return j + 1;
    }
    return -1;
  }

  private charClass(): Node {
    const end = this.classEnd();
    this.next(); // '['
    let negated = false;
    if (this.peek() === '!' || this.peek() === '^') {
      this.next();
      negated = true;
    }
    const preds: Pred[] = [];
    let first = true;
    while (this.i < end - 1) {
      let ch = this.next();
      if (ch === '[' && this.peek() === ':') {
        const close = this.src.indexOf(':]', this.i);
        const name = this.src.slice(this.i + 1, close);
        const p = POSIX[name];
        if (!p) throw new GlobSyntax(`unknown character class [:${name}:]`);
        preds.push(p);
        this.i = close + 2;
        first = false;
        continue;
      }
      if (ch === '\\') ch = this.next();
      else if (ch === ']' && !first) break;
      first = false;
      const lo = ch.codePointAt(0)!;
      if (this.peek() === '-' && this.i + 1 < end - 1) {
        this.next();
        let hiCh = this.next();
        if (hiCh === '\\') hiCh = this.next();
        const hi = hiCh.codePointAt(0)!;
        if (hi < lo) throw new GlobSyntax(`reversed range ${ch}-${hiCh} in a character class`);
        preds.push((c) => c >= lo && c <= hi);
      } else {
        preds.push((c) => c === lo);
      }
    }
    this.i = end;
    return { t: 'char', pred: (c) => c !== SLASH && preds.some((p) => p(c)) !== negated };
  }
}

/** The literal characters the sequence starts with. */
function literalLead(seq: Seq): string[] {
  const out: string[] = [];
  for (const n of seq) {
    if (n.t !== 'char' || n.lit === undefined) break;
    out.push(n.lit);
  }
  return out;
}
