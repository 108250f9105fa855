/**
 * The I/O shape of a process so far, from /proc (Linux): its read and write system calls and
 * bytes written (/proc/PID/io: all threads), and its threads' wake-ups (voluntary context
 * switches: it slept and was woken) and preemptions (involuntary ones). Per call, two readings
 * apart, it tells whether a change costs more writes, reads or wake-ups rather than CPU.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface IoShape {
  reads: number;
  writes: number;
  bytesOut: number;
  wakeups: number;
  preempted: number;
}

export const SHAPE_FIGURES = ['reads', 'writes', 'bytesOut', 'wakeups', 'preempted'] as const;

const field = (text: string, name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);

/** The counters of process `pid` now; NaN where /proc cannot tell. */
export function ioShape(pid: number | undefined): IoShape {
  const shape: IoShape = { reads: NaN, writes: NaN, bytesOut: NaN, wakeups: 0, preempted: 0 };
  if (pid === undefined) return { ...shape, wakeups: NaN, preempted: NaN };
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    shape.reads = field(io, 'syscr');
    shape.writes = field(io, 'syscw');
    shape.bytesOut = field(io, 'wchar');
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
        shape.wakeups += field(status, 'voluntary_ctxt_switches');
        shape.preempted += field(status, 'nonvoluntary_ctxt_switches');
      } catch {
        // a thread that ended meanwhile
      }
    }
  } catch {
    return { reads: NaN, writes: NaN, bytesOut: NaN, wakeups: NaN, preempted: NaN };
  }
  return shape;
}

/** Each counter's increase from `before` to `after`, per call. */
export function perCall(before: IoShape, after: IoShape, calls: number): IoShape {
  const out = {} as IoShape;
  for (const k of SHAPE_FIGURES) out[k] = (after[k] - before[k]) / calls;
  return out;
}
