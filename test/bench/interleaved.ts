/**
 * What the event stream costs a call, timed so that a shared machine's noise falls on both
 * sides alike, with an A/A check of the same shape beside it.
 *
 * Three sessions answer the same `butler/stored` call: `events` (the default streams),
 * `quiet` and `quiet2` (both `notifications: []`). They take turns in short blocks of calls.
 * A round runs every kind twice in mirrored order (A B C C B A): each kind's blocks sit at the
 * same mean time within the round, so a drift of the machine's speed over a round falls on all
 * three alike. The rounds go through a cycle of six (CYCLE: every order of the three kinds once),
 * so that over a cycle each kind takes each position twice and follows each other kind equally
 * often, the step from one round into the next included: whatever a block leaves behind
 * (garbage, events still being read, a burst of load) is paid by every kind alike. (The cycle
 * of three rotations used before made each round start with the kind after the one that ended
 * the last, so `quiet` followed `events` three times a cycle and `quiet2` twice.) Per round the
 * time and calls of each kind are summed over its two blocks, and the round's cost is
 * 1 - (calls/s of events) / (calls/s of quiet), the figure the bench has always reported as the
 * median over rounds.
 *
 * Each run starts at a random round of the cycle (`start`, recorded beside the figures). The
 * full collections of both processes are paced by allocation: the Node client's came every ~39
 * blocks of 2,000 calls 64 in flight (~77,000 calls), each adding 30-40 ms of its CPU to one
 * block, about twice that block's own, and they fell within a few blocks of the same places in
 * every run of a build. With a fixed start they can fall on the same kinds run after run, so
 * that a build's runs share their error, which fits what was seen: the A/A check 64 in flight (12 rounds) came to 0.075,
 * 0.106 and 0.084 with one build and -0.077, -0.080 and -0.015 with the build before, while
 * with the kinds' sessions swapped every three rounds, over 96 rounds, neither the sessions nor
 * the positions differed by more than 0.025 (scratch probe, Dec 2026). From a random start a
 * given block belongs to each kind equally often over runs, so the A/A check is centred on zero
 * and the event cost unbiased; a single run's 12-round median still moves by about 0.035 (sd).
 *
 * Why the median of many short rounds, with nothing left out: a round lasts tens of
 * milliseconds, so most rounds see no stall at all, and one that does (another program holding
 * the cores, 30 ms of CPU in the bench's own process: single rounds range from -2.8 to 0.8) moves
 * that round only, as often up as down, which the median ignores. Rounds three times as long
 * caught a stall in most of them and resolved no better; the mean of all blocks followed every
 * stall (its A/A check reached 0.2); leaving out the rounds over 1.5 times the median round's
 * time left out a third of the Python client's (one at a time), whose slow mode (waits between
 * its threads) is its own behaviour and may well depend on the events. So every block is kept
 * and the median makes the choice, on both sides alike. What narrows the median is more rounds:
 * a round's own A/A value scatters by about 0.1 whether its blocks last 15 or 150 ms (the Python
 * client 64 in flight, blocks of 1,000 to 10,000 calls: a block's wall time follows the time its
 * threads waited for a core, and that wait lasts from one block into the next), so that client
 * runs many rounds of short blocks (sidecar-bench.ts).
 *
 * The A/A figure is the same computation for quiet2 against quiet: two sessions that do the
 * same work, so it is 0 but for noise, and its size is the resolution of the cost figure,
 * measured in the same minutes with the same blocks.
 */
import { median } from './median.js';

export const KINDS = ['events', 'quiet', 'quiet2'] as const;
export type Kind = (typeof KINDS)[number];

/** One block of calls of one kind: wall seconds, and CPU microseconds of the sidecar and of the client (NaN where unknown). */
export interface Block {
  kind: Kind;
  calls: number;
  seconds: number;
  sidecarCpu: number;
  clientCpu: number;
}

/**
 * The six orders of a cycle, each run mirrored (see roundOrder). Their first kinds go events,
 * quiet, events, quiet2, quiet, quiet2 (and back to events): every step from one kind to another
 * once, as each round ends with the kind it starts with.
 */
export const CYCLE: ReadonlyArray<readonly [Kind, Kind, Kind]> = [
  ['events', 'quiet', 'quiet2'],
  ['quiet', 'events', 'quiet2'],
  ['events', 'quiet2', 'quiet'],
  ['quiet2', 'quiet', 'events'],
  ['quiet', 'quiet2', 'events'],
  ['quiet2', 'events', 'quiet'],
];

/** The kinds of round `r` of a run starting at round `start` of the cycle, in order: A B C C B A. */
export function roundOrder(r: number, start = 0): Kind[] {
  const order = CYCLE[(r + start) % CYCLE.length]!;
  return [...order, ...[...order].reverse()];
}

/** A random round of the cycle to start from (see the header). */
export const randomStart = (): number => Math.floor(Math.random() * CYCLE.length);

/** The kinds of every block, round by round (see roundOrder). The Python bench is handed this too. */
export function schedule(rounds: number, start = 0): Kind[][] {
  return Array.from({ length: rounds }, (_, r) => roundOrder(r, start));
}

/** Runs the blocks of schedule(rounds, start) in order; `block(kind)` runs and measures one block. */
export async function interleave(rounds: number, start: number, block: (kind: Kind) => Promise<Block>): Promise<Block[][]> {
  const out: Block[][] = [];
  for (const kinds of schedule(rounds, start)) {
    const round: Block[] = [];
    for (const kind of kinds) round.push(await block(kind));
    out.push(round);
  }
  return out;
}

export interface Spread {
  median: number;
  range: [number, number];
  rounds: number[];
}

export interface PairCost {
  /** 1 - (calls/s of events) / (calls/s of quiet), per round. */
  cost: Spread;
  /** The same for quiet2 against quiet (A/A): 0 but for noise. */
  aa: Spread;
  /** 1 - (sidecar + client CPU per call of quiet) / (the same of events), per round; absent where CPU is unknown. */
  cpu?: Spread;
  cpuAA?: Spread;
  /**
   * The CPU microseconds an event adds to a call (sidecar and client: per call with events minus
   * per call without), per round. Under load the CPU per call of both kinds grows severalfold
   * (wakes, a busy sibling core) while this difference stays put, so the ratios above fall.
   */
  cpuMicros?: Spread;
}

const spread = (xs: number[]): Spread => ({ median: median(xs), range: [Math.min(...xs), Math.max(...xs)], rounds: xs });

/** The event cost and its A/A check from the blocks `interleave` measured, round by round. */
export function pairCost(rounds: Block[][]): PairCost {
  const totals = rounds.map((round) => {
    const t = Object.fromEntries(KINDS.map((k) => [k, { calls: 0, seconds: 0, cpu: 0 }])) as Record<Kind, { calls: number; seconds: number; cpu: number }>;
    for (const b of round) {
      t[b.kind].calls += b.calls;
      t[b.kind].seconds += b.seconds;
      t[b.kind].cpu += b.sidecarCpu + b.clientCpu;
    }
    return t;
  });
  const wall = (a: Kind, b: Kind) => totals.map((t) => 1 - t[a].calls / t[a].seconds / (t[b].calls / t[b].seconds));
  // CPU per call grows where calls/s falls: the same 1 - a/b with the ratio inverted.
  const cpu = (a: Kind, b: Kind) => totals.map((t) => 1 - t[b].cpu / t[b].calls / (t[a].cpu / t[a].calls));
  const out: PairCost = { cost: spread(wall('events', 'quiet')), aa: spread(wall('quiet2', 'quiet')) };
  if (totals.every((t) => KINDS.every((k) => Number.isFinite(t[k].cpu)))) {
    out.cpu = spread(cpu('events', 'quiet'));
    out.cpuAA = spread(cpu('quiet2', 'quiet'));
    out.cpuMicros = spread(totals.map((t) => t.events.cpu / t.events.calls - t.quiet.cpu / t.quiet.calls));
  }
  return out;
}
