/**
 * Instructions per provenance event in the writer's path alone (the event's text, its batch, the
 * batch's frame with the answers held behind it), under callgrind, for one or more builds: each
 * turn queues 16 `outputWritten` events (as 64 puts in flight make a turn; `--perTurn=1`: one, as
 * one-at-a-time calls make) and as many ASCII answers, then flushes, into an output that keeps nothing. V8 runs `--predictable --single-threaded` with a
 * large young generation, so the main thread's count repeats (A/A within ~10 instructions an event,
 * where a whole sidecar under put-callgrind.ts varies by thousands a put); the figure is the
 * difference between a run of `--turns` and one of 3x as many, per event added (so start-up and
 * warm-up cancel). It includes making the event object and the answer's text (the same in every
 * build): compare builds, not absolute figures.
 *
 *     node dist/test/bench/writer-callgrind.js [--form=runs|batches] [--turns=2000] [--perTurn=16] [DIST ...]
 *
 * DIST: a build's dist folder (default: this checkout's); give one twice for an A/A.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { numberOption, option, positionals } from './argv.js';

const EVENTS_PER_TURN = numberOption('perTurn', 16);
const form = option('form') ?? 'runs';
const turns = numberOption('turns', 2000);
const workload = option('workload');

if (workload !== undefined) await run(workload);
else measure();

/** In the process under callgrind: `turns` turns of the build in `dist`. */
async function run(dist: string): Promise<void> {
  const mod = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(dist, path)).href)) as T;
  const { ProtocolWriter } = await mod<typeof import('../../src/server/protocol-writer.js')>('src/server/protocol-writer.js');
  const { ProvenanceRunsForm } = await mod<typeof import('../../src/server/provenance-runs-form.js')>('src/server/provenance-runs-form.js');
  const { asciiProvenanceEventJson } = await mod<typeof import('../../src/server/provenance-event-json.js')>('src/server/provenance-event-json.js');
  const { JsonText } = await mod<typeof import('../../src/server/spliced-json.js')>('src/server/spliced-json.js');
  const { isoNow } = await mod<typeof import('../../src/util/time.js')>('src/util/time.js');
  let bytes = 0;
  const out = { writable: true, on() {}, write: (b: Buffer) => ((bytes += b.length), true) };
  const writer = new ProtocolWriter(out as never);
  const runs = new ProvenanceRunsForm();
  const sessionId = randomUUID();
  const ids = Array.from({ length: 4096 }, () => randomUUID());
  const shas = ids.map((id) => createHash('sha256').update(id).digest('hex'));
  let seq = 0;
  let answer = 0;
  for (let t = 0; t < turns; t++) {
    for (let k = 0; k < EVENTS_PER_TURN; k++) {
      const i = seq & 4095;
      const e = { sessionId, seq: seq++, event: 'outputWritten', datasetId: ids[i]!, datasetType: 'StructuredDataDict', time: isoNow(), size: 1012, sha256: shas[i]! } as const;
      if (form === 'runs') writer.writeInForm(runs, e);
      else writer.writeBatched('butler/provenanceBatch', e, asciiProvenanceEventJson(e));
    }
    for (let k = 0; k < EVENTS_PER_TURN; k++) writer.writeResult(answer++, JsonText.ascii(`{"ref":{"id":"${ids[k]}","datasetType":"StructuredDataDict"},"size":1012}`));
    writer.flush();
  }
  if (bytes === 0) throw new Error('nothing written');
}

/** The main thread's instructions for `n` turns of `dist`. */
function instructions(dist: string, n: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'writer-callgrind-'));
  try {
    const self = fileURLToPath(import.meta.url);
    execFileSync('valgrind', ['--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${dir}/out`, process.execPath, '--predictable', '--single-threaded', '--max-semi-space-size=64', self, `--workload=${dist}`, `--turns=${n}`, `--form=${form}`, `--perTurn=${EVENTS_PER_TURN}`], { stdio: 'ignore' });
    const m = /^totals: (\d+)/m.exec(readFileSync(join(dir, 'out-01'), 'utf8'));
    if (m === null) throw new Error('no totals in the callgrind output');
    return Number(m[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function measure(): void {
  const builds = positionals().map((d) => resolve(d));
  if (builds.length === 0) builds.push(resolve(fileURLToPath(import.meta.url), '../../..'));
  for (const dist of builds) {
    const perEvent = (instructions(dist, 3 * turns) - instructions(dist, turns)) / (2 * turns * EVENTS_PER_TURN);
    console.log(`${dist} (${form}): ${Math.round(perEvent)} main-thread instructions per event (with its answer)`);
  }
}
