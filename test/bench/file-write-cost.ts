/**
 * The CPU of writing `--size` bytes (default 16 MiB) from memory into a new file, by write calls
 * of each size in `--calls` (default one call, and 1 MiB calls as file-transfer.ts's WRITE_MAX),
 * taking turns in every round (reversed on odd rounds), each write into a temp file renamed onto
 * the same destination with the old file removed after, as a get by file path does. Pauses
 * `--pause=MS` between rounds, in which this VM may hand free memory back to its host.
 *
 *     node dist/test/bench/file-write-cost.js [--rounds=12] [--pause=1000] [--size=16777216] [--calls=16777216,1048576] [--dir=PATH]
 *
 * Why: the kernel sizes a new file's page-cache folios by the write, up to 2 MiB. With free page
 * reporting (a Firecracker VM's balloon; /sys/module/page_reporting, printed here if present),
 * free blocks of the reporting order and up go back to the host, and the first write to each of
 * their pages costs a fault in the host, which the guest sees only as a slow copy
 * (copy_folio_from_iter_atomic in `perf record -g`). Folios below that order come from smaller
 * free blocks, which are not reported. The writes run on this thread (writeSync), so the
 * process's CPU over a write is the write's.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { numberOption, option } from './argv.js';
import { median } from './median.js';

const ROUNDS = numberOption('rounds', 12), PAUSE = numberOption('pause', 1000), SIZE = numberOption('size', 16 * 1024 * 1024);
const calls = (option('calls') ?? `${SIZE},${1024 * 1024}`).split(',').map(Number);
const dir = mkdtempSync(join(option('dir') ?? tmpdir(), 'qb-file-write-'));
const dest = join(dir, 'out.bin');
const bytes = Buffer.alloc(SIZE, 7);

const reporting = '/sys/module/page_reporting/parameters';
if (existsSync(reporting)) {
  console.log(`free page reporting: ${readdirSync(reporting).map((p) => `${p}=${readFileSync(join(reporting, p), 'utf8').trim()}`).join(' ')}`);
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** One write of `bytes` into a new file in calls of at most `call` bytes, placed as a get places it; its CPU ms. */
function writeOnce(call: number, i: number): number {
  const tmp = join(dir, `.out.bin.${i}.tmp`);
  const before = cpuMs();
  const fd = openSync(tmp, 'wx');
  for (let at = 0; at < SIZE; ) at += writeSync(fd, bytes, at, Math.min(call, SIZE - at), at);
  closeSync(fd);
  const cpu = cpuMs() - before;
  if (existsSync(dest)) renameSync(dest, `${tmp}.old`);
  renameSync(tmp, dest);
  rmSync(`${tmp}.old`, { force: true });
  return cpu;
}

const cpu = new Map<number, number[]>(calls.map((c) => [c, []]));
const load0 = loadavg()[0]!;
let i = 0;
for (let r = 0; r < ROUNDS; r++) {
  await new Promise((done) => setTimeout(done, PAUSE));
  for (const call of r % 2 === 0 ? calls : [...calls].reverse()) cpu.get(call)!.push(writeOnce(call, i++));
}
console.log(`${ROUNDS} rounds, ${PAUSE} ms apart, of ${SIZE} bytes into a new file; load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`);
for (const [call, ms] of cpu) {
  const sorted = [...ms].sort((a, b) => a - b);
  console.log(`calls of ${call} bytes: CPU ms median ${median(ms).toFixed(1)}, each sorted: ${sorted.map((x) => x.toFixed(1)).join(' ')}`);
}
rmSync(dir, { recursive: true, force: true });
