/**
 * What the event stream costs a call, timed so that a shared machine's noise falls on both
 * sides alike, with an A/A check of the same shape beside it.
 *
 * Three sessions answer the same `butler/stored` call: `events` (the default streams),
 * `quiet` and `quiet2` (both `notifications: []`). They take turns in short blocks of calls.
 * A round runs every kind twice in mirrored order (A B C C B A): each kind's blocks sit at the
 * same mean time within the round, so a drift of the machine's speed over a round falls on all
 * three alike. The kinds are rotated from one round to the next (B C A A C B, C A B B A C), so
 * that each kind follows each other kind equally often and whatever a block leaves behind
 * (garbage, a burst of load) is not always paid by the same kind. Per round the time and calls
 * of each kind are summed over its two blocks, and the round's cost is 1 - (calls/s of events) /
 * (calls/s of quiet), the figure the bench has always reported as the median over rounds.
 *
 * Why the median of many short rounds, with nothing left out: a round lasts tens of
 * milliseconds, so most rounds see no stall at all, and one that does (another program holding
 * the cores, 30 ms of CPU in the bench's own process: single rounds range from -2.8 to 0.8) moves
 * that round only, as often up as down, which the median ignores. Rounds three times as long
 * caught a stall in most of them and resolved no better; the mean of all blocks followed every
 * stall (its A/A check reached 0.2); leaving out the rounds over 1.5 times the median round's
 * time left out a third of the Python client's (one at a time), whose slow mode (waits between
 * its threads) is its own behaviour and may well depend on the events. So every block is kept
 * and the median makes the choice, on both sides alike.
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

/** The kinds of round `r` in order: rotated by r, then mirrored (A B C C B A). */
export function roundOrder(r: number): Kind[] {
  const k = r % KINDS.length;
  const rotated = [...KINDS.slice(k), ...KINDS.slice(0, k)];
  return [...rotated, ...[...rotated].reverse()];
}

/** The kinds of every block, round by round (see roundOrder). The Python bench is handed this too. */
export function schedule(rounds: number): Kind[][] {
  return Array.from({ length: rounds }, (_, r) => roundOrder(r));
}

/** Runs the blocks of schedule(rounds) in order; `block(kind)` runs and measures one block. */
export async function interleave(rounds: number, block: (kind: Kind) => Promise<Block>): Promise<Block[][]> {
  const out: Block[][] = [];
  for (const kinds of schedule(rounds)) {
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
