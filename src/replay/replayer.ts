/**
 * Replaying a transcript: spawn the built CLI, drive it step by step, and match every
 * response and notification against the transcript. Responses are matched to their
 * requests by id; the notifications of a block are matched as an unordered set (each
 * expected one takes the first received one that matches), so ordering between streams
 * is free while `seq` values still pin the order within a session's stream.
 */
import { MISSING, match, tryMatch, type Mismatch } from './matcher.js';
import { Driver, type BlockOutcome, type Exchange } from './driver.js';
import { prepareEnvironment } from './environment.js';
import { getPath } from './json-path.js';
import type { Failure } from './diff.js';
import type { WireMessage } from './sidecar.js';
import type { Bindings } from './bindings.js';
import type { Expect, Step, Transcript } from './transcript.js';

export const DEFAULT_TIMEOUT_MS = 10_000;

export interface ReplayOptions {
  cliPath: string;
  timeoutMs?: number;
  keepTmp?: boolean;
}

export interface ReplayResult {
  failures: Failure[];
  ms: number;
  /** The transcript's {{tmpdir}} (gone afterwards unless keepTmp). */
  tmpdir: string;
}

type Block = Extract<Step, { kind: 'block' }>;

/** The parts of a message a transcript states: no jsonrpc, no id. */
export function body(m: WireMessage): Record<string, unknown> {
  const { jsonrpc: _j, id: _i, ...rest } = m;
  return rest;
}

const title = (x: Exchange) => (x.send.message ? `response to ${x.send.message.method} (sent at line ${x.send.line})` : `response to the raw body of line ${x.send.line}`);

export async function replayTranscript(t: Transcript, opts: ReplayOptions): Promise<ReplayResult> {
  const started = performance.now();
  const timeoutMs = t.meta.timeoutMs ?? opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const env = await prepareEnvironment({ cliPath: opts.cliPath, withFixture: t.usesFixture, keep: opts.keepTmp });
  const bindings = env.bindings;
  const failures: Failure[] = [];
  const driver = new Driver({ cliPath: opts.cliPath, cwd: env.tmpdir, args: t.meta.args ?? [], timeoutMs });
  try {
    for (const step of t.steps) {
      if (step.kind === 'comment') continue;
      if (step.kind === 'spawn') await driver.restart(step.args);
      else if (step.kind === 'expectExit') {
        const code = await driver.waitExit();
        if (code === undefined) failures.push({ line: step.line, title: 'exit code', mismatches: [], note: `the sidecar is still running after ${timeoutMs} ms` });
        else if (code !== step.code) failures.push({ line: step.line, title: 'exit code', mismatches: [{ path: '$', expected: step.code, actual: code }] });
      } else {
        const outcome = await driver.runBlock(step, bindings, { notifications: step.notifies.length });
        checkBlock(step, outcome, bindings, failures);
        if (outcome.problem) break; // what follows would only cascade
      }
    }
  } finally {
    await driver.stop();
    env.dispose();
  }
  return { failures, ms: performance.now() - started, tmpdir: env.tmpdir };
}

/** Expect lines name their request by id label; the others take the remaining requests in order. */
export function pairExpects(block: Block, exchanges: Exchange[]): Array<[Expect, Exchange | undefined]> {
  const labelled = new Set(block.expects.map((e) => e.label).filter((l) => l !== undefined));
  const rest = exchanges.filter((x) => x.send.label === undefined || !labelled.has(x.send.label));
  return block.expects.map((e) => [e, e.label !== undefined ? exchanges.find((x) => x.send.label === e.label) : rest.shift()]);
}

function checkBlock(block: Block, out: BlockOutcome, b: Bindings, failures: Failure[]): void {
  if (out.problem) failures.push({ line: out.problem.line, title: 'replay stopped', mismatches: [], note: out.problem.message });
  const lastLine = Math.max(...[...block.sends, ...block.expects, ...block.notifies].map((l) => l.line));

  for (const [expect, x] of pairExpects(block, out.exchanges)) {
    if (!x) continue; // a send was never made (the problem above says why)
    if (!x.response) {
      if (!out.problem) failures.push({ line: expect.line, title: title(x), mismatches: [], note: 'no response' });
      continue;
    }
    const actual = body(x.response);
    const mismatches = match(expect.response, actual, b);
    if (x.response.jsonrpc !== '2.0') mismatches.push({ path: '$.jsonrpc', expected: '2.0', actual: x.response.jsonrpc ?? MISSING });
    if (mismatches.length) failures.push({ line: expect.line, title: title(x), mismatches });
    for (const c of x.send.capture) {
      const got = getPath(actual, c.path);
      if (got.found) b.bind(c.name, got.value);
      else failures.push({ line: x.send.line, title: `capture ${c.name}`, mismatches: [], note: `nothing at ${c.text} in the response` });
    }
  }

  // Notifications: an unordered set. Each expected one takes the first unused match.
  const received = out.notifications.map(body);
  const used = new Set<number>();
  const unmatched: typeof block.notifies = [];
  for (const n of block.notifies) {
    const hit = received.findIndex((r, i) => !used.has(i) && tryMatch(n.message, r, b).length === 0);
    if (hit >= 0) used.add(hit);
    else unmatched.push(n);
  }
  for (const n of unmatched) {
    // Show the closest received one of the same method (fewest differing paths), and consume it.
    let best = -1;
    let bestMismatches: Mismatch[] = [];
    received.forEach((r, i) => {
      if (used.has(i) || r.method !== n.message.method) return;
      const m = match(n.message, r, b.clone());
      if (best < 0 || m.length < bestMismatches.length) [best, bestMismatches] = [i, m];
    });
    if (best >= 0) used.add(best);
    failures.push({
      line: n.line,
      title: `notification ${n.message.method}`,
      mismatches: bestMismatches,
      note: best >= 0 ? 'not received as expected; the closest one received differs:' : 'not received',
    });
  }
  received.forEach((r, i) => {
    if (!used.has(i)) failures.push({ line: lastLine, title: `unexpected notification ${String(r.method)}`, mismatches: [{ path: '$', expected: MISSING, actual: r }] });
  });
  for (const m of out.unexpected) {
    failures.push({ line: lastLine, title: m.method ? `unexpected request ${m.method} from the sidecar` : `unexpected response (id ${JSON.stringify(m.id)})`, mismatches: [{ path: '$', expected: MISSING, actual: m }] });
  }
}
