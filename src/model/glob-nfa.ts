/**
 * The automaton behind model/glob.ts: a glob's syntax tree compiled to a Thompson NFA and
 * simulated on every path at once, so a match takes O(subject length x states) time
 * whatever the pattern (no backtracking), and allocates nothing.
 */

/** A set of code points, e.g. one character class. */
export type Pred = (cp: number) => boolean;
/** A glob's syntax tree: single characters, alternatives and repetitions. */
export type Node =
  | { t: 'char'; pred: Pred; lit?: string }
  | { t: 'alt'; options: Seq[] }
  | { t: 'repeat'; body: Node; min: 0 | 1; many: boolean };
export type Seq = Node[];

export interface Automaton {
  /** Whether the whole of `subject` is matched. */
  run(subject: string): boolean;
}

/** Thompson NFA: `pred` states consume one code point and go to `out`; `split` states fork. */
interface State {
  pred?: Pred;
  out: number;
  alt: number;
}

const NONE = -1;
const MATCH = -2;

class Nfa implements Automaton {
  private readonly marks: Uint32Array;
  private generation = 0;
  private reachedMatch = false;
  // Preallocated: a match allocates nothing.
  private current: Int32Array;
  private next: Int32Array;
  private readonly stack: Int32Array;
  private readonly preds: Array<Pred | undefined>;
  private readonly outs: Int32Array;
  private readonly alts: Int32Array;

  constructor(states: State[], private readonly start: number) {
    const n = states.length;
    this.marks = new Uint32Array(n);
    this.current = new Int32Array(n);
    this.next = new Int32Array(n);
    // Each state is pushed at most twice per closure (once per incoming edge walked).
    this.stack = new Int32Array(2 * n + 2);
    this.preds = states.map((s) => s.pred);
    this.outs = Int32Array.from(states, (s) => s.out);
    this.alts = Int32Array.from(states, (s) => s.alt);
  }

  /** Simulates every path at once: O(subject length x states), no backtracking. */
  run(subject: string): boolean {
    this.nextGeneration();
    this.reachedMatch = false;
    let count = this.add(this.current, 0, this.start);
    let matched = this.reachedMatch;
    for (let i = 0; i < subject.length; ) {
      const cp = subject.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      this.nextGeneration();
      this.reachedMatch = false;
      let nextCount = 0;
      for (let k = 0; k < count; k++) {
        const s = this.current[k]!;
        if (this.preds[s]!(cp)) nextCount = this.add(this.next, nextCount, this.outs[s]!);
      }
      matched = this.reachedMatch;
      if (nextCount === 0) return matched && i >= subject.length;
      const swap = this.current;
      this.current = this.next;
      this.next = swap;
      count = nextCount;
    }
    return matched;
  }

  /** A fresh mark value: states marked before are unmarked again. */
  private nextGeneration(): void {
    if (++this.generation === 0xffffffff) {
      this.marks.fill(0);
      this.generation = 1;
    }
  }

  /**
   * Appends to `list` (from `count`) the consuming states reachable from `s` without input
   * and returns the new count; sets `reachedMatch` when MATCH is reachable.
   */
  private add(list: Int32Array, count: number, s: number): number {
    let top = 0;
    this.stack[top++] = s;
    while (top > 0) {
      const at = this.stack[--top]!;
      if (at === MATCH) {
        this.reachedMatch = true;
        continue;
      }
      if (at === NONE || this.marks[at] === this.generation) continue;
      this.marks[at] = this.generation;
      if (this.preds[at]) list[count++] = at;
      else {
        this.stack[top++] = this.alts[at]!;
        this.stack[top++] = this.outs[at]!;
      }
    }
    return count;
  }
}

/** A fragment: its entry state and the dangling exits to patch. */
interface Frag {
  start: number;
  exits: Array<{ state: number; field: 'out' | 'alt' }>;
}

/** The automaton matching exactly the subjects `seq` describes, as a whole. */
export function compileNfa(seq: Seq): Automaton {
  const states: State[] = [];
  const split = (out: number, alt: number): number => states.push({ out, alt }) - 1;
  const patch = (exits: Frag['exits'], to: number): void => {
    for (const e of exits) states[e.state]![e.field] = to;
  };
  /** A fragment matching the empty string: a split whose both exits dangle. */
  const empty = (): Frag => {
    const s = split(NONE, NONE);
    return { start: s, exits: [{ state: s, field: 'out' }] };
  };
  const node = (n: Node): Frag => {
    switch (n.t) {
      case 'char': {
        const s = states.push({ pred: n.pred, out: NONE, alt: NONE }) - 1;
        return { start: s, exits: [{ state: s, field: 'out' }] };
      }
      case 'alt': {
        const frags = n.options.map(sequence);
        let start = frags[frags.length - 1]!.start;
        for (let k = frags.length - 2; k >= 0; k--) start = split(frags[k]!.start, start);
        return { start, exits: frags.flatMap((f) => f.exits) };
      }
      case 'repeat': {
        const body = node(n.body);
        if (!n.many) {
          // ?(x): x or nothing.
          const s = split(body.start, NONE);
          return { start: s, exits: [...body.exits, { state: s, field: 'alt' }] };
        }
        // x loops back through a split; `min` 1 enters x first.
        const loop = split(body.start, NONE);
        patch(body.exits, loop);
        return { start: n.min === 1 ? body.start : loop, exits: [{ state: loop, field: 'alt' }] };
      }
    }
  };
  const sequence = (s: Seq): Frag => {
    if (s.length === 0) return empty();
    const frags = s.map(node);
    for (let k = 0; k + 1 < frags.length; k++) patch(frags[k]!.exits, frags[k + 1]!.start);
    return { start: frags[0]!.start, exits: frags[frags.length - 1]!.exits };
  };
  const whole = sequence(seq);
  patch(whole.exits, MATCH);
  return new Nfa(states, whole.start);
}
