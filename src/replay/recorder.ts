/**
 * Recording: run a script's sends live and write a transcript of what came back, with
 * volatile values replaced by placeholders (see volatile.ts). A script is a transcript
 * whose expect/notify lines are ignored (so a transcript can be re-recorded); send,
 * spawn, meta and comment steps are copied verbatim. Within a block the recorder writes
 * the notifications in arrival order, then the responses in send order. In update
 * mode the transcript's own expect/notify lines are kept wherever they still match.
 */
import { Driver, type Exchange } from './driver.js';
import { prepareEnvironment } from './environment.js';
import { getPath } from './json-path.js';
import { body, DEFAULT_TIMEOUT_MS, pairExpects } from './replayer.js';
import { match, tryMatch } from './matcher.js';
import { EMBEDDED_UUID_RE } from './placeholder.js';
import { Generalizer } from './volatile.js';
import type { Transcript } from './transcript.js';

export interface RecordOptions {
  cliPath: string;
  timeoutMs?: number;
  /** How long a block of notifications only waits for the sidecar to go quiet. */
  settleMs?: number;
  /**
   * Update mode: the script is an existing transcript, and each of its expect/notify
   * lines that still matches is kept as written (hand-made placeholders survive);
   * only the lines that no longer hold are re-recorded.
   */
  update?: boolean;
}

export interface RecordResult {
  /** The transcript's steps, in order (transcript-file.ts writes them). */
  entries: Array<Record<string, unknown>>;
  /** Why the recording stopped early, if it did. */
  problem?: string;
  /** Messages the recorder could not attribute (also written as comments). */
  warnings: string[];
  /** Update mode: expectation lines kept as they were, and lines written anew. */
  kept: number;
  rewritten: number;
}

export async function recordTranscript(script: Transcript, scriptText: string, opts: RecordOptions): Promise<RecordResult> {
  const timeoutMs = script.meta.timeoutMs ?? opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const env = await prepareEnvironment({ cliPath: opts.cliPath, withFixture: script.usesFixture });
  const names = env.bindings; // environment, volatile names, matched placeholders, captures: what later sends may use
  const gen = new Generalizer({ paths: env.paths, stable: new Set(scriptText.match(EMBEDDED_UUID_RE) ?? []), reserved: names.names() });
  const result: RecordResult = { entries: [], warnings: [], kept: 0, rewritten: 0 };
  const emit = (obj: Record<string, unknown>) => result.entries.push(obj);
  const keep = (source: Record<string, unknown>) => (result.kept++, emit(source));
  const fresh = (obj: Record<string, unknown>) => (result.rewritten++, emit(obj));
  const driver = new Driver({ cliPath: opts.cliPath, cwd: env.tmpdir, args: script.meta.args ?? [], timeoutMs });
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
          result.problem = `line ${step.line}: the sidecar did not exit within ${timeoutMs} ms`;
          break;
        }
        if (opts.update && code === step.code) keep(step.source);
        else fresh({ expectExit: code });
      } else {
        // Later sends may name values recorded so far; values already named (by the
        // transcript's own placeholders, in update mode) keep their names.
        for (const [n, v] of gen.named) names.bind(n, v);
        const out = await driver.runBlock(step, names, { settleMs: opts.settleMs ?? 150 });
        for (const s of step.sends) emit(s.source);

        // Update mode: old notify lines take the received notifications they still match
        // (trial matches); old expect lines bind their placeholders even where they no
        // longer match, so fresh lines reuse the transcript's names for known values.
        const received = out.notifications.map(body);
        const oldNotify = new Map<number, Record<string, unknown>>();
        const oldExpect = new Map<Exchange, Record<string, unknown>>();
        if (opts.update) {
          for (const n of step.notifies) {
            const hit = received.findIndex((r, i) => !oldNotify.has(i) && tryMatch(n.message, r, names).length === 0);
            if (hit >= 0) oldNotify.set(hit, n.source);
          }
          for (const [e, x] of pairExpects(step, out.exchanges)) {
            if (x?.response && match(e.response, body(x.response), names).length === 0) oldExpect.set(x, e.source);
          }
        }
        for (const x of out.exchanges) {
          for (const c of x.send.capture) {
            const got = x.response ? getPath(body(x.response), c.path) : { found: false };
            if (got.found) names.bind(c.name, got.value);
            else result.warnings.push(`line ${x.send.line}: capture ${c.name}: nothing at ${c.text}`);
          }
        }
        for (const n of names.names()) gen.know(n, names.lookup(n));

        received.forEach((r, i) => (oldNotify.has(i) ? keep(oldNotify.get(i)!) : fresh({ notify: gen.generalize(r) as Record<string, unknown> })));
        for (const x of out.exchanges) {
          if (!x.response) continue;
          const old = oldExpect.get(x);
          if (old) keep(old);
          else fresh({ expect: gen.generalize(body(x.response)) as Record<string, unknown>, ...(x.send.label !== undefined ? { id: x.send.label } : {}) });
        }
        for (const m of out.unexpected) {
          result.warnings.push(`line ${step.line}: unexpected message ${JSON.stringify(m)}`);
          emit({ comment: `unexpected: ${JSON.stringify(gen.generalize(m))}` });
        }
        if (out.problem) {
          result.problem = `line ${out.problem.line}: ${out.problem.message}`;
          break;
        }
      }
    }
  } finally {
    await driver.stop();
    env.dispose();
  }
  return result;
}
