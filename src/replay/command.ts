/**
 * `quantum-butler replay`: replay transcripts against the built CLI, or record one.
 * Reports go to stdout through `io.print` (the CLI passes stdout-guard's
 * printToStdout: this is not protocol mode, but the guard has already redirected
 * process.stdout.write to stderr); usage errors and recording problems go to stderr.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultCliPath } from '../client/client.js';
import { formatReport } from './diff.js';
export { colorEnabled } from './diff.js';
import { recordTranscript, type RecordResult } from './recorder.js';
import { DEFAULT_TIMEOUT_MS, replayTranscript } from './replayer.js';
import { parseTranscript, TranscriptError, type Transcript } from './transcript.js';
import { formatEntries } from './transcript-file.js';

export const REPLAY_USAGE = `Usage:
  quantum-butler replay [options] TRANSCRIPT.json...
      Drive a fresh sidecar with each transcript and report every mismatch as a diff.
  quantum-butler replay --record OUT.json [options] SCRIPT.json
      Run the script's sends live and write a transcript of the actual responses and
      notifications, volatile values replaced by placeholders.
  quantum-butler replay --update [--accept] [options] TRANSCRIPT.json...
      Replay each transcript and print what changed, path by path. Without --accept
      nothing is written and a change exits 1; with --accept the changed transcripts
      are re-recorded in place, keeping every expect/notify step that still matches
      as written (hand-made placeholders survive) and re-recording the rest.

Options:
  --timeout=MS   how long to wait for each step's responses (default ${DEFAULT_TIMEOUT_MS})
  --keep-tmp     keep each transcript's temporary directory (replay only)
  --cli=PATH     the CLI to drive (default: this package's dist/src/cli.js)

Exit code: 0 all transcripts matched (or the recording succeeded, or --accept wrote
the changes), 1 a mismatch (or a recording failed), 2 usage error or invalid transcript.
Format: fixtures/transcripts/README.md.
`;

export interface ReplayIO {
  print(text: string): Promise<void>;
  error(text: string): void;
  color: boolean;
}

interface Args {
  files: string[];
  record?: string;
  update: boolean;
  accept: boolean;
  timeoutMs?: number;
  keepTmp: boolean;
  cliPath: string;
  help: boolean;
}

class UsageError extends Error {}

function parseReplayArgs(argv: string[]): Args {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        record: { type: 'string' },
        update: { type: 'boolean' },
        accept: { type: 'boolean' },
        timeout: { type: 'string' },
        'keep-tmp': { type: 'boolean' },
        cli: { type: 'string' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const a: Args = {
    files: parsed.positionals,
    update: v.update === true,
    accept: v.accept === true,
    keepTmp: v['keep-tmp'] === true,
    cliPath: v.cli ?? defaultCliPath(),
    help: v.help === true,
    ...(v.record !== undefined ? { record: v.record } : {}),
  };
  if (v.timeout !== undefined) {
    a.timeoutMs = Number(v.timeout);
    if (!/^\d+$/.test(v.timeout) || a.timeoutMs <= 0) fail(`--timeout needs a positive integer, got ${JSON.stringify(v.timeout)}`);
  }
  if (a.help) return a;
  if (a.files.length === 0) fail('no transcript given');
  if (a.record !== undefined && a.files.length !== 1) fail('--record takes exactly one script');
  if (a.record !== undefined && a.update) fail('--record and --update do not go together');
  if (a.accept && !a.update) fail('--accept goes with --update');
  return a;
}

/** A recording that could not start (say the fixture repository failed to build). */
const setupFailed = (err: Error): RecordResult => ({ entries: [], warnings: [], kept: 0, rewritten: 0, problem: `setup: ${err.message}` });

function fail(message: string): never {
  throw new UsageError(message);
}

/** A replay that could not start, as a report. */
const replayFailed = (err: Error) => ({ ms: undefined, tmpdir: undefined, failures: [{ line: 1, title: 'setup failed', mismatches: [], note: err.message }] });

export async function runReplay(argv: string[], io: ReplayIO): Promise<number> {
  let args: Args;
  try {
    args = parseReplayArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.error(`quantum-butler replay: ${err.message}\n\n${REPLAY_USAGE}`);
    return 2;
  }
  if (args.help) {
    await io.print(REPLAY_USAGE);
    return 0;
  }

  // Read and validate everything first: a broken transcript is a usage error, found before any run.
  const loaded: Array<{ file: string; text: string; transcript: Transcript }> = [];
  for (const file of args.files) {
    try {
      const text = readFileSync(file, 'utf8');
      loaded.push({ file, text, transcript: parseTranscript(text, { script: args.record !== undefined || args.update }) });
    } catch (err) {
      const msg = err instanceof TranscriptError ? err.message : (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      io.error(`${file}: ${msg}\n`);
      return 2;
    }
  }

  if (args.record !== undefined) {
    const { file, text, transcript } = loaded[0]!;
    const rec = await recordTranscript(transcript, text, { cliPath: args.cliPath, timeoutMs: args.timeoutMs }).catch(setupFailed);
    for (const w of rec.warnings) io.error(`${file}: warning: ${w}\n`);
    if (rec.problem) {
      // Keep what was recorded for debugging, without clobbering a good transcript.
      writeFileSync(`${args.record}.partial`, formatEntries(rec.entries));
      io.error(`${file}: recording failed at ${rec.problem}\n(partial recording in ${args.record}.partial)\n`);
      return 1;
    }
    writeFileSync(args.record, formatEntries(rec.entries));
    await io.print(`recorded ${rec.entries.length} steps from ${file} to ${args.record}\n`);
    return 0;
  }

  if (args.update) {
    // First the diff, path by path (a replay); then, only with --accept, the re-recording.
    let changed = 0;
    let failedUpdates = 0;
    for (const { file, text, transcript } of loaded) {
      const replayed = await replayTranscript(transcript, { cliPath: args.cliPath, timeoutMs: args.timeoutMs }).catch(replayFailed);
      if (replayed.failures.length === 0) {
        await io.print(`up to date ${file}\n`);
        continue;
      }
      changed++;
      await io.print(formatReport(file, replayed.failures, { color: io.color }));
      if (!args.accept) continue;
      const rec = await recordTranscript(transcript, text, { cliPath: args.cliPath, timeoutMs: args.timeoutMs, update: true }).catch(setupFailed);
      for (const w of rec.warnings) io.error(`${file}: warning: ${w}\n`);
      if (rec.problem) {
        failedUpdates++;
        io.error(`${file}: not updated: recording failed at ${rec.problem}\n`);
        continue;
      }
      writeFileSync(file, formatEntries(rec.entries));
      await io.print(`updated ${file}: ${rec.kept} expectation steps kept, ${rec.rewritten} re-recorded\n`);
    }
    if (changed > 0 && !args.accept) {
      await io.print(`${changed} transcript(s) differ from the sidecar; nothing written. Review the diff above, then re-run with --update --accept to re-record.\n`);
      return 1;
    }
    return failedUpdates ? 1 : 0;
  }

  let failed = 0;
  for (const { file, transcript } of loaded) {
    const result = await replayTranscript(transcript, { cliPath: args.cliPath, timeoutMs: args.timeoutMs, keepTmp: args.keepTmp }).catch(replayFailed);
    if (result.failures.length) failed++;
    await io.print(formatReport(file, result.failures, { color: io.color }, result.ms));
    if (args.keepTmp && result.tmpdir) await io.print(`  kept ${result.tmpdir}\n`);
  }
  if (loaded.length > 1) await io.print(`${loaded.length - failed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}
