/**
 * Bytes the sidecar allocates per `butler/put` of the bench's ~1 KiB JSON value (default event
 * streams, in-memory datastore, 64 in flight as the bench pipelines them, or one at a time), by
 * the function that allocated them (names through the bundle's source map), for one or more
 * builds of the CLI. What a put allocates sets how often the young generation is collected; unlike
 * CPU time it hardly moves with the machine's load, so a change to it shows on a shared machine.
 * V8's sampling heap profiler (one sample per `--interval` bytes on average, the objects collected
 * since counted too) runs over the measured puts only, after the warm-up.
 *
 *     node dist/test/bench/put-alloc.js [--warmup=8000] [--calls=6000] [--inFlight=64] [--interval=64] [--top=25] [CLI.js ...]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QuantumButlerClient } from '../../src/client/index.js';
import { numberOption, positionals } from './argv.js';
import { pipelined, root, sequential } from './sidecar-bench.js';
import { openPutSession } from './put-session.js';

const WARMUP = numberOption('warmup', 8000), CALLS = numberOption('calls', 6000), IN_FLIGHT = numberOption('inFlight', 64);
const INTERVAL = numberOption('interval', 64), TOP = numberOption('top', 25);

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { callFrame: CallFrame; selfSize: number; children: ProfileNode[] }

const dir = mkdtempSync(join(tmpdir(), 'put-alloc-'));
// Preloaded into the sidecar: SIGUSR2 starts the sampling, the next one writes the profile.
const preload = join(dir, 'sampler.cjs');
writeFileSync(
  preload,
  `const inspector = require('node:inspector'), fs = require('node:fs');
const s = new inspector.Session(); s.connect(); let on = false;
process.on('SIGUSR2', () => {
  if (!on) { on = true; s.post('HeapProfiler.startSampling', { samplingInterval: ${INTERVAL}, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }); return; }
  s.post('HeapProfiler.stopSampling', (err, r) => fs.writeFileSync(${JSON.stringify(dir)} + '/heap-' + process.pid + '.json', JSON.stringify(err ? { error: String(err) } : r.profile)));
});\n`,
);

/** The sampled bytes per put by function ("name file:line", mapped through the bundle's source map where there is one). */
async function measure(cli: string): Promise<Map<string, number>> {
  const client = await QuantumButlerClient.spawn({ cliPath: cli, stderr: 'inherit', nodeArgs: ['-r', preload] });
  client.onProvenance(() => {}); // a host that listens
  const put = await openPutSession(client, 'put-alloc', WARMUP + CALLS);
  const drive = IN_FLIGHT === 1 ? sequential : pipelined;
  const pid = client.child.pid!;
  await drive(WARMUP, put);
  process.kill(pid, 'SIGUSR2');
  await new Promise((r) => setTimeout(r, 200)); // the session's post is asynchronous
  await drive(CALLS, put);
  process.kill(pid, 'SIGUSR2');
  const file = join(dir, `heap-${pid}.json`);
  while (!existsSync(file)) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 300)); // written in full
  await client.close(2000);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { head?: ProfileNode; error?: string };
  if (!profile.head) throw new Error(`No heap profile: ${profile.error}`);
  const mapFile = join(cli, '..', 'cli.bundle.cjs.map');
  const sourceMap = existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : undefined;
  const name = (cf: CallFrame): string => {
    let at = `${cf.url.replace(/^.*\//, '')}:${cf.lineNumber + 1}`;
    const entry = (sourceMap && cf.url.endsWith('cli.bundle.cjs') ? sourceMap.findEntry(cf.lineNumber, cf.columnNumber) : undefined) as
      | { originalSource?: string; originalLine: number }
      | undefined;
    if (entry?.originalSource !== undefined) at = `${entry.originalSource.replace(/^.*?\/(src|node_modules)\//, '$1/')}:${entry.originalLine + 1}`;
    return `${cf.functionName || '(anonymous)'} ${at}`;
  };
  const bytes = new Map<string, number>();
  const stack = [profile.head];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.selfSize > 0) bytes.set(name(node.callFrame), (bytes.get(name(node.callFrame)) ?? 0) + node.selfSize / CALLS);
    stack.push(...node.children);
  }
  return bytes;
}

console.log(`${CALLS} puts (${IN_FLIGHT === 1 ? 'one at a time' : `${IN_FLIGHT} in flight`}) after ${WARMUP}, sampled every ${INTERVAL} bytes`);
try {
  for (const cli of positionals().length > 0 ? positionals() : [join(root, 'dist', 'src', 'cli.js')]) {
    const bytes = await measure(cli);
    const total = [...bytes.values()].reduce((a, b) => a + b, 0);
    console.log(`${cli}\n  ${Math.round(total)} bytes allocated per put; by function:`);
    for (const [fn, b] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${String(Math.round(b)).padStart(7)}  ${fn}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
