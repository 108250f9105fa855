/**
 * Memory of the sidecar under large transfers and a host that stops reading, measured from
 * /proc (Linux): VmHWM, the peak resident set, reset before each step (clear_refs 5).
 *
 *   node dist/test/bench/memory-bench.js [--cli=PATH] [--mib=64] [--only=stalled,oversize,transfer]
 *
 * `npm run bench` runs `transfer` at 64 and 128 MiB (runMemoryBench) and reports each peak
 * against the target bound 2N + 64 MiB.
 *
 * `stalled`: 150 pipelined butler/get of a 4 MiB value while the host does not read, then
 * the host reads again. `oversize`: a 100 MB inline base64 put under the default limits.
 * `transfer`: put and get of an N MiB value inline (base64, then JSON), limits raised.
 * Memory belongs here and in test/reliability (bounds), never timing in tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeFrame, jsonMessageDecoder } from '../../src/util/framing.js';
import { makeDatasetId } from '../../src/model/dataset-id.js';
import { numberOption, option } from './argv.js';
import { root } from './sidecar-bench.js';

const CLI = option('cli') ?? join(root, 'dist', 'src', 'cli.js');
const MIB = 1024 * 1024;
const only = new Set((option('only') ?? 'stalled,oversize,transfer').split(','));

interface Msg {
  id?: number;
  method?: string;
  result?: unknown;
  error?: { code: number; message: string; data?: { kind?: string } };
}

function status(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

const mib = (n: number) => `${(n / MIB).toFixed(0)} MiB`;

class Host {
  readonly child: ChildProcess;
  readonly messages = new Map<number, Msg>();
  private nextId = 1;
  private waiters: Array<() => void> = [];
  private readonly decoder = jsonMessageDecoder<Msg>((m) => {
    if (typeof m.id === 'number') this.messages.set(m.id, m);
    for (const w of this.waiters.splice(0)) w();
  });

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [CLI, '--stdio', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (c: Buffer) => this.decoder.push(c));
    this.child.stdin!.on('error', () => {});
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(method: string, params?: unknown): number {
    const id = this.nextId++;
    this.child.stdin!.write(encodeFrame(JSON.stringify({ jsonrpc: '2.0', id, method, params })));
    return id;
  }

  async answer(id: number): Promise<Msg> {
    while (!this.messages.has(id)) await new Promise<void>((r) => this.waiters.push(r));
    const m = this.messages.get(id)!;
    this.messages.delete(id);
    return m;
  }

  async call(method: string, params?: unknown): Promise<Msg> {
    return this.answer(this.send(method, params));
  }

  async open(storageClass: string): Promise<{ sessionId: string; id: string }> {
    await this.call('initialize', { protocolVersion: '1.0', processId: null, capabilities: {} });
    const dataId = { instrument: 'Mem', detector: 1 };
    const id = makeDatasetId('DATAID_TYPE_RUN', 'blob', dataId, ['instrument', 'detector'], 'mem');
    const ref = { id, datasetType: { name: 'blob', storageClass, dimensions: ['instrument', 'detector'] }, dataId, run: 'mem' };
    const opened = await this.call('session/open', { predicted: { inputs: [], outputs: [ref] }, notifications: [] });
    if (opened.error) throw new Error(JSON.stringify(opened.error));
    return { sessionId: (opened.result as { sessionId: string }).sessionId, id };
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

async function stalled(): Promise<void> {
  const host = new Host([]);
  try {
    const { sessionId, id } = await host.open('Bytes');
    const put = await host.call('butler/put', { sessionId, ref: { id }, payload: { encoding: 'base64', data: Buffer.alloc(4 * MIB, 7).toString('base64') } });
    if (put.error) throw new Error(JSON.stringify(put.error));
    const idle = status(host.pid).rss;
    resetPeak(host.pid);
    host.child.stdout!.pause();
    const ids = Array.from({ length: 150 }, () => host.send('butler/get', { sessionId, ref: { id }, as: 'base64' }));
    await sleep(8000);
    const stalledPeak = status(host.pid).hwm;
    host.child.stdout!.resume();
    const t = performance.now();
    let ok = 0;
    for (const i of ids) if (!(await host.answer(i)).error) ok++;
    console.log(`stalled: idle ${mib(idle)}; 150 x 4 MiB gets, host not reading for 8 s: peak ${mib(stalledPeak)}; after reading again ${ok}/150 answered in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } finally {
    host.stop();
  }
}

async function oversize(): Promise<void> {
  const host = new Host([]);
  try {
    const { sessionId, id } = await host.open('Bytes');
    const idle = status(host.pid).rss;
    resetPeak(host.pid);
    const body = JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'butler/put', params: { sessionId, ref: { id }, payload: { encoding: 'base64', data: Buffer.alloc(100_000_000, 1).toString('base64') } } });
    const t = performance.now();
    host.child.stdin!.write(encodeFrame(body));
    const answer = await host.answer(99);
    const ms = performance.now() - t;
    await sleep(200);
    const ping = await host.call('server/ping');
    console.log(`oversize: idle ${mib(idle)}; 100 MB inline base64 put (${mib(body.length)} body): peak ${mib(status(host.pid).hwm)}, answered ${answer.error?.data?.kind ?? 'ok'} in ${ms.toFixed(0)} ms; ping after: ${ping.error ? 'error' : 'ok'}`);
  } finally {
    host.stop();
  }
}

/** A host on a fresh sidecar with raised limits (older builds know only --max-inline-bytes). */
async function raisedHost(n: number): Promise<Host> {
  const limits = [`--max-inline-bytes=${4 * n}`, `--max-message-bytes=${Math.min(4 * n, 0x1fffffe8)}`]; // the longest string V8 makes
  const host = new Host(limits);
  const early = await Promise.race([new Promise<number | null>((r) => host.child.once('exit', r)), sleep(500).then(() => undefined)]);
  return early === undefined ? host : new Host([limits[0]!]);
}

/** Put (inline) and get (inline, after a put from a file) each in a fresh sidecar: peaks over the state before. */
export interface TransferPeak {
  /** Peak RSS during the call, and the RSS before it (the sidecar idle, and for a get the value stored). */
  peakMiB: number;
  baseMiB: number;
  peakOverBaseMiB: number;
  /** The target: 2N + 64 MiB over the state before; ratioToBound = peakOverBase / bound (at most 1 meets it). */
  boundMiB: number;
  ratioToBound: number;
  perN: number;
  error?: unknown;
}

async function transfer(n: number): Promise<Record<string, TransferPeak>> {
  const out: Record<string, TransferPeak> = {};
  const peak = (peakBytes: number, baseBytes: number, error: unknown): TransferPeak => {
    const bound = 2 * n + 64 * MIB;
    return {
      peakMiB: peakBytes / MIB,
      baseMiB: baseBytes / MIB,
      peakOverBaseMiB: (peakBytes - baseBytes) / MIB,
      boundMiB: bound / MIB,
      ratioToBound: (peakBytes - baseBytes) / bound,
      perN: (peakBytes - baseBytes) / n,
      ...(error ? { error } : {}),
    };
  };
  const dir = mkdtempSync(join(tmpdir(), 'qb-mem-'));
  try {
    for (const [encoding, storageClass] of [['base64', 'Bytes'], ['json', 'StructuredDataDict']] as const) {
      const value = encoding === 'base64' ? Buffer.alloc(n, 3) : { s: 'x'.repeat(n - 8) };
      const payload = encoding === 'base64' ? { encoding, data: (value as Buffer).toString('base64') } : { encoding, value };
      let host = await raisedHost(n);
      let putPeak: number, putBase: number, putError: unknown;
      try {
        const { sessionId, id } = await host.open(storageClass);
        putBase = status(host.pid).rss;
        resetPeak(host.pid);
        putError = (await host.call('butler/put', { sessionId, ref: { id }, payload })).error;
        putPeak = status(host.pid).hwm;
      } finally {
        host.stop();
      }
      host = await raisedHost(n);
      let getPeak: number, getBase: number, getError: unknown;
      try {
        const { sessionId, id } = await host.open(storageClass);
        const file = join(dir, `value-${encoding}`);
        writeFileSync(file, Buffer.isBuffer(value) ? value : JSON.stringify(value));
        const stored = await host.call('butler/put', { sessionId, ref: { id }, payload: { encoding: 'file', path: file } });
        if (stored.error) throw new Error(JSON.stringify(stored.error));
        await sleep(500);
        getBase = status(host.pid).rss;
        resetPeak(host.pid);
        getError = (await host.call('butler/get', { sessionId, ref: { id }, as: encoding })).error;
        getPeak = status(host.pid).hwm;
      } finally {
        host.stop();
      }
      out[`put ${encoding} N=${mib(n)}`] = peak(putPeak, putBase, putError);
      out[`get ${encoding} N=${mib(n)}`] = peak(getPeak, getBase, getError);
      console.error(
        `transfer ${encoding} N=${mib(n)}: put peak ${mib(putPeak)} = ${mib(putBase)} before + ${((putPeak - putBase) / n).toFixed(1)}N; ` +
          `get peak ${mib(getPeak)} = ${mib(getBase)} before (value stored) + ${((getPeak - getBase) / n).toFixed(1)}N` +
          (putError || getError ? ` ERROR ${JSON.stringify(putError ?? getError).slice(0, 200)}` : ''),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** The `transfer` step at each size (MiB), for `npm run bench`. */
export async function runMemoryBench(opts: { mib?: number[] } = {}): Promise<{ transfers: Record<string, TransferPeak> }> {
  const transfers: Record<string, TransferPeak> = {};
  for (const m of opts.mib ?? [64, 128]) Object.assign(transfers, await transfer(m * MIB));
  return { transfers };
}

// Run as a script (not imported by the runner): the steps asked for.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (only.has('stalled')) await stalled();
  if (only.has('oversize')) await oversize();
  if (only.has('transfer')) await transfer(numberOption('mib', 64) * MIB);
}
