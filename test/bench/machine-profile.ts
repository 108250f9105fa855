/**
 * What machine a bench ran on, measured at the start of every run (well under 3 s in all), so
 * that figures from different machines, or from one machine on different days, can be told
 * apart. Static facts come from /proc and /sys where present (CPU model, MHz, family and model,
 * the kernel's vm dirty-page settings, transparent huge pages); the rest is timed here, each
 * figure the median of REPS repetitions of a timed block (the block's time divided by its
 * iterations), after one untimed warm-up block, so that one block that lost its core to another
 * process moves the range, not the figure:
 * - sha256MBPerSec: Node's single-thread SHA-256 of a 16 MiB buffer, in MB/s (10^6 bytes).
 * - syscallNs: `process.ppid`, which calls getppid(2) each time it is read (libuv's
 *   uv_os_getppid): the cheapest system call Node offers, binding overhead included.
 * - pipeWriteReadNs: one byte written to a FIFO and read back by this same thread (no other
 *   process runs: the two system calls and the pipe's buffer).
 * - pipeRoundTripNs: one byte to a `cat` child through one FIFO and back through another,
 *   blocking reads on both sides: two pipe writes, two reads and two wake-ups of a process.
 * - clockReadNs: one `performance.now()`.
 * - firstTouchNsPer4KiB: filling a freshly allocated 32 MiB buffer (pages the process never
 *   touched: each costs a page fault, and the kernel zeroes it) per 4 KiB page; and
 *   pageFaultNsPer4KiB, the same less a second fill of the now-present pages (the fault's
 *   share). With transparent huge pages `always`, a fresh region may fault in 2 MiB at a time.
 * Linux-only parts are left out elsewhere.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { median } from './median.js';

/** Timed blocks per figure; the figure is their median. */
const REPS = 5;

export interface MachineProfile {
  cpus: number;
  node: string;
  cpuModel: string;
  cpuMHz: number;
  cpuFamily?: number;
  cpuModelNumber?: number;
  availableParallelism: number;
  /** os.loadavg() as the profile began: the other work the figures shared the cores with. */
  loadAverage: number[];
  kernel?: string;
  sha256MBPerSec: number;
  syscallNs: number;
  pipeWriteReadNs?: number;
  pipeRoundTripNs?: number;
  clockReadNs: number;
  firstTouchNsPer4KiB: number;
  pageFaultNsPer4KiB: number;
  transparentHugePages?: string;
  /** /proc/sys/vm/dirty_* (bytes, ratios in percent, centiseconds), by name without `dirty_`. */
  vmDirty?: Record<string, number>;
  /** The range of each timed figure's blocks: [min, max]. */
  ranges: Record<string, [number, number]>;
  /** How long measuring all this took. */
  profileMs: number;
}

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** The first value of `key` in /proc/cpuinfo. */
function cpuinfo(text: string | undefined, key: string): string | undefined {
  const m = text?.match(new RegExp(`^${key}\\s*:\\s*(.*)$`, 'm'));
  return m?.[1]?.trim();
}

/** REPS blocks of `block()` after one warm-up; each returns [elapsed ms, units]: the median and range of ns per unit. */
function perUnit(block: () => [number, number]): { median: number; range: [number, number] } {
  block();
  const xs = Array.from({ length: REPS }, () => {
    const [ms, units] = block();
    return (ms * 1e6) / units;
  });
  return { median: median(xs), range: [Math.min(...xs), Math.max(...xs)] };
}

const timed = (fn: () => void): number => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};

/** Two FIFOs in a fresh directory (Linux: mkfifo), opened read-write by this process so that no open blocks; undefined where there are none. */
function fifos(): { dir: string; a: number; b: number; pathA: string; pathB: string } | undefined {
  if (process.platform !== 'linux') return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'qb-machine-'));
  const [pathA, pathB] = [join(dir, 'a'), join(dir, 'b')];
  if (spawnSync('mkfifo', [pathA, pathB]).status !== 0 || !existsSync(pathB)) {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return { dir, pathA, pathB, a: openSync(pathA, 'r+'), b: openSync(pathB, 'r+') };
}

export async function machineProfile(): Promise<MachineProfile> {
  const start = performance.now();
  const loadAverage = loadavg();
  const ranges: Record<string, [number, number]> = {};
  const info = readText('/proc/cpuinfo');
  const family = cpuinfo(info, 'cpu family');
  const model = cpuinfo(info, 'model');

  // SHA-256: 16 MiB per block.
  const buf = Buffer.alloc(16 * 1024 * 1024, 7);
  const sha = perUnit(() => [timed(() => createHash('sha256').update(buf).digest()), buf.length]);
  ranges.sha256MBPerSec = [1e3 / sha.range[1], 1e3 / sha.range[0]];

  // getppid(2) through process.ppid; the sum keeps the reads from being optimised away.
  let sink = 0;
  const syscall = perUnit(() => {
    const n = 20_000;
    return [timed(() => { for (let i = 0; i < n; i++) sink += process.ppid; }), n];
  });
  ranges.syscallNs = syscall.range;

  const clock = perUnit(() => {
    const n = 50_000;
    return [timed(() => { for (let i = 0; i < n; i++) sink += performance.now(); }), n];
  });
  ranges.clockReadNs = clock.range;

  // First touch: a fresh 32 MiB (allocUnsafeSlow: its own allocation, above malloc's mmap
  // threshold, so pages this process has not touched), filled; then filled again.
  const FRESH = 32 * 1024 * 1024;
  const pages = FRESH / 4096;
  const first: number[] = [];
  const again: number[] = [];
  for (let r = 0; r <= REPS; r++) {
    const b = Buffer.allocUnsafeSlow(FRESH);
    const f = timed(() => b.fill(r + 1));
    const g = timed(() => b.fill(r + 2));
    if (r > 0) {
      first.push((f * 1e6) / pages);
      again.push(((f - g) * 1e6) / pages);
    }
  }
  ranges.firstTouchNsPer4KiB = [Math.min(...first), Math.max(...first)];
  ranges.pageFaultNsPer4KiB = [Math.min(...again), Math.max(...again)];

  // Pipes (Linux): a write and read in this thread, then a round trip through a `cat` child.
  let pipeWriteReadNs: number | undefined;
  let pipeRoundTripNs: number | undefined;
  const f = fifos();
  if (f) {
    const one = Buffer.from([1]);
    const back = Buffer.alloc(1);
    try {
      const wr = perUnit(() => {
        const n = 5_000;
        return [timed(() => { for (let i = 0; i < n; i++) { writeSync(f.a, one); readSync(f.a, back); } }), n];
      });
      pipeWriteReadNs = wr.median;
      ranges.pipeWriteReadNs = wr.range;
      // cat copies what each read returns at once. Its stdin and stdout are our read-write
      // descriptors of the FIFOs, so it never sees an end of file: it is killed when done.
      const cat = spawn('cat', [], { stdio: [f.a, f.b, 'ignore'] });
      const spawned = await Promise.race([once(cat, 'spawn').then(() => true), once(cat, 'error').then(() => false)]);
      if (spawned && cat.exitCode === null) {
        try {
          const rt = perUnit(() => {
            const n = 1_000;
            // The byte we write to a is read by cat, not by us: only cat's copy comes back on b.
            return [timed(() => { for (let i = 0; i < n; i++) { writeSync(f.a, one); readSync(f.b, back); } }), n];
          });
          pipeRoundTripNs = rt.median;
          ranges.pipeRoundTripNs = rt.range;
        } finally {
          cat.kill('SIGKILL');
        }
      }
    } finally {
      closeSync(f.a);
      closeSync(f.b);
      rmSync(f.dir, { recursive: true, force: true });
    }
  }

  const vmDirty: Record<string, number> = {};
  for (const name of ['background_bytes', 'background_ratio', 'bytes', 'ratio', 'expire_centisecs', 'writeback_centisecs']) {
    const v = readText(`/proc/sys/vm/dirty_${name}`);
    if (v !== undefined) vmDirty[name] = Number(v.trim());
  }
  const thp = readText('/sys/kernel/mm/transparent_hugepage/enabled')?.match(/\[(\w+)\]/)?.[1];
  const osCpus = cpus();
  if (sink === 42) process.stderr.write(''); // keeps sink alive
  return {
    cpus: osCpus.length,
    node: process.version,
    cpuModel: cpuinfo(info, 'model name') ?? osCpus[0]?.model ?? 'unknown',
    cpuMHz: Number(cpuinfo(info, 'cpu MHz') ?? osCpus[0]?.speed ?? NaN),
    ...(family !== undefined ? { cpuFamily: Number(family) } : {}),
    ...(model !== undefined ? { cpuModelNumber: Number(model) } : {}),
    availableParallelism: availableParallelism(),
    loadAverage,
    ...(readText('/proc/sys/kernel/osrelease') ? { kernel: readText('/proc/sys/kernel/osrelease')!.trim() } : {}),
    sha256MBPerSec: 1e3 / sha.median,
    syscallNs: syscall.median,
    ...(pipeWriteReadNs !== undefined ? { pipeWriteReadNs } : {}),
    ...(pipeRoundTripNs !== undefined ? { pipeRoundTripNs } : {}),
    clockReadNs: clock.median,
    firstTouchNsPer4KiB: median(first),
    pageFaultNsPer4KiB: median(again),
    ...(thp ? { transparentHugePages: thp } : {}),
    ...(Object.keys(vmDirty).length > 0 ? { vmDirty } : {}),
    ranges,
    profileMs: performance.now() - start,
  };
}

/** A short block for the top of the bench's output. */
export function formatMachineProfile(m: MachineProfile): string[] {
  const n = (x: number | undefined, digits = 0) => (x === undefined ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
  const fm = m.cpuFamily !== undefined ? `, family ${m.cpuFamily} model ${m.cpuModelNumber ?? '?'}` : '';
  const dirty = m.vmDirty
    ? `vm dirty: background ${m.vmDirty['background_bytes'] ? `${m.vmDirty['background_bytes']} B` : `${m.vmDirty['background_ratio']}%`}, limit ${m.vmDirty['bytes'] ? `${m.vmDirty['bytes']} B` : `${m.vmDirty['ratio']}%`}, expire ${n((m.vmDirty['expire_centisecs'] ?? NaN) / 100)} s, writeback every ${n((m.vmDirty['writeback_centisecs'] ?? NaN) / 100, 1)} s`
    : 'vm dirty: -';
  return [
    `machine: ${m.cpuModel} at ${n(m.cpuMHz)} MHz${fm}, ${m.cpus} cores, Node ${m.node}${m.kernel ? `, Linux ${m.kernel}` : ''}; load average ${m.loadAverage.map((x) => n(x, 2)).join(', ')} (medians of ${REPS} blocks, measured in ${n(m.profileMs)} ms)`,
    `  SHA-256 ${n(m.sha256MBPerSec)} MB/s (16 MiB, one thread); getppid ${n(m.syscallNs)} ns; pipe write+read ${n(m.pipeWriteReadNs)} ns, round trip to a process ${n(m.pipeRoundTripNs)} ns; performance.now() ${n(m.clockReadNs)} ns`,
    `  first touch of fresh memory ${n(m.firstTouchNsPer4KiB)} ns per 4 KiB page (the fault's share ${n(m.pageFaultNsPer4KiB)} ns; transparent huge pages ${m.transparentHugePages ?? '-'}); ${dirty}`,
  ];
}
