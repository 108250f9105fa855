/**
 * Recording: run a script's sends live and write a transcript of what came back, with
 * volatile values replaced by placeholders (see volatile.ts). A script is a transcript
 * whose expect/notify lines are ignored (so a transcript can be re-recorded); send,
 * spawn, meta and comment lines are copied verbatim. Within a block the recorder writes
 * the notifications in arrival order, then the responses in send order.
 */
import { Driver } from './driver.js';
import { prepareEnvironment } from './environment.js';
import { getPath } from './json-path.js';
import { body, DEFAULT_TIMEOUT_MS } from './replayer.js';
import { EMBEDDED_UUID_RE } from './placeholder.js';
import { Generalizer } from './volatile.js';
import { stringifyLine, type Transcript } from './transcript.js';

export interface RecordOptions {
  cliPath: string;
  timeoutMs?: number;
  /** How long a block of notifications only waits for the sidecar to go quiet. */
  settleMs?: number;
}

export interface RecordResult {
  lines: string[];
  /** Why the recording stopped early, if it did. */
  problem?: string;
  /** Messages the recorder could not attribute (also written as comments). */
  warnings: string[];
}

export async function recordTranscript(script: Transcript, scriptText: string, opts: RecordOptions): Promise<RecordResult> {
  const timeoutMs = script.meta.timeoutMs ?? opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const env = await prepareEnvironment({ cliPath: opts.cliPath, withFixture: script.usesFixture });
  const names = env.bindings; // environment, volatile names and captures: what later sends may use
  const gen = new Generalizer({ paths: env.paths, stable: new Set(scriptText.match(EMBEDDED_UUID_RE) ?? []), reserved: names.names() });
  const lines: string[] = [];
  const warnings: string[] = [];
  const emit = (obj: Record<string, unknown>) => lines.push(stringifyLine(obj));
  const driver = new Driver({ cliPath: opts.cliPath, cwd: env.tmpdir, args: script.meta.args ?? [], timeoutMs });
  let problem: string | undefined;
  try {
    if (script.metaSource) emit(script.metaSource);
    for (const step of script.steps) {
      if (step.kind === 'comment') emit(step.source);
      else if (step.kind === 'spawn') {
        emit(step.source);
        await driver.restart(step.args);
      } else if (step.kind === 'expectExit') {
        const code = await driver.waitExit();
        if (code === undefined) {
          problem = `line ${step.line}: the sidecar did not exit within ${timeoutMs} ms`;
          break;
        }
        emit({ expectExit: code });
      } else {
        // Later sends may name values recorded so far.
        for (const [n, v] of gen.named) names.bind(n, v);
        const out = await driver.runBlock(step, names, { settleMs: opts.settleMs ?? 150 });
        for (const s of step.sends) emit(s.source);
        for (const n of out.notifications) emit({ notify: gen.generalize(body(n)) as Record<string, unknown> });
        for (const x of out.exchanges) {
          if (!x.response) continue;
          const actual = body(x.response);
          emit({ expect: gen.generalize(actual) as Record<string, unknown>, ...(x.send.label !== undefined ? { id: x.send.label } : {}) });
          for (const c of x.send.capture) {
            const got = getPath(actual, c.path);
            if (got.found) {
              names.bind(c.name, got.value);
              gen.reserve(c.name);
            } else warnings.push(`line ${x.send.line}: capture ${c.name}: nothing at ${c.text}`);
          }
        }
        for (const m of out.unexpected) {
          warnings.push(`line ${step.line}: unexpected message ${JSON.stringify(m)}`);
          emit({ comment: `unexpected: ${JSON.stringify(gen.generalize(m))}` });
        }
        if (out.problem) {
          problem = `line ${out.problem.line}: ${out.problem.message}`;
          break;
        }
      }
    }
  } finally {
    await driver.stop();
    env.dispose();
  }
  return { lines, problem, warnings };
}
