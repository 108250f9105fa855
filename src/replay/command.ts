/**
 * `quantum-butler replay`: replay transcripts against the built CLI, or record one.
 * Reports go to stdout through `io.print` (the CLI passes stdout-guard's
 * printToStdout: this is not protocol mode, but the guard has already redirected
 * process.stdout.write to stderr); usage errors and recording problems go to stderr.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { defaultCliPath } from '../client/client.js';
import { formatReport } from './diff.js';
export { colorEnabled } from './diff.js';
import { recordTranscript, type RecordResult } from './recorder.js';
import { DEFAULT_TIMEOUT_MS, replayTranscript } from './replayer.js';
import { parseTranscript, TranscriptError, type Transcript } from './transcript.js';

export const REPLAY_USAGE = `Usage:
  quantum-butler replay [options] TRANSCRIPT.jsonl...
      Drive a fresh sidecar with each transcript and report every mismatch as a diff.
  quantum-butler replay --record OUT.jsonl [options] SCRIPT.jsonl
      Run the script's sends live and write a transcript of the actual responses and
      notifications, volatile values replaced by placeholders.
  quantum-butler replay --update [options] TRANSCRIPT.jsonl...
      Re-record transcripts in place, keeping every expect/notify line that still
      matches as written (hand-made placeholders survive) and re-recording the rest.

Options:
  --timeout=MS   how long to wait for each step's responses (default ${DEFAULT_TIMEOUT_MS})
  --keep-tmp     keep each transcript's temporary directory (replay only)
  --cli=PATH     the CLI to drive (default: this package's dist/src/cli.js)

Exit code: 0 all transcripts matched (or the recording succeeded), 1 a mismatch
(or a recording failed), 2 usage error or invalid transcript.
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
  timeoutMs?: number;
  keepTmp: boolean;
  cliPath: string;
  help: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const a: Args = { files: [], update: false, keepTmp: false, cliPath: defaultCliPath(), help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      a.files.push(arg);
      continue;
    }
    if (arg === '--') {
      a.files.push(...argv.slice(i + 1));
      break;
    }
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const value = () => (eq >= 0 ? arg.slice(eq + 1) : (argv[++i] ?? fail(`${flag} needs a value`)));
    switch (flag) {
      case '--help':
      case '-h':
        a.help = true;
        break;
      case '--record':
        a.record = value();
        break;
      case '--update':
        a.update = true;
        break;
      case '--timeout': {
        const v = value();
        a.timeoutMs = Number(v);
        if (!Number.isInteger(a.timeoutMs) || a.timeoutMs <= 0) fail(`--timeout needs a positive integer, got ${JSON.stringify(v)}`);
        break;
      }
      case '--keep-tmp':
        a.keepTmp = true;
        break;
      case '--cli':
        a.cliPath = value();
        break;
      default:
        fail(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  if (a.help) return a;
  if (a.files.length === 0) fail('no transcript given');
  if (a.record !== undefined && a.files.length !== 1) fail('--record takes exactly one script');
  if (a.record !== undefined && a.update) fail('--record and --update do not go together');
  return a;
}

/** A recording that could not start (say the fixture repository failed to build). */
const setupFailed = (err: Error): RecordResult => ({ lines: [], warnings: [], kept: 0, rewritten: 0, problem: `setup: ${err.message}` });

function fail(message: string): never {
  throw new UsageError(message);
}

export async function runReplay(argv: string[], io: ReplayIO): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
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
      writeFileSync(`${args.record}.partial`, rec.lines.join('\n') + '\n');
      io.error(`${file}: recording failed at ${rec.problem}\n(partial recording in ${args.record}.partial)\n`);
      return 1;
    }
    writeFileSync(args.record, rec.lines.join('\n') + '\n');
    await io.print(`recorded ${rec.lines.length} lines from ${file} to ${args.record}\n`);
    return 0;
  }

  if (args.update) {
    let failedUpdates = 0;
    for (const { file, text, transcript } of loaded) {
      const rec = await recordTranscript(transcript, text, { cliPath: args.cliPath, timeoutMs: args.timeoutMs, update: true }).catch(setupFailed);
      for (const w of rec.warnings) io.error(`${file}: warning: ${w}\n`);
      if (rec.problem) {
        failedUpdates++;
        io.error(`${file}: not updated: recording failed at ${rec.problem}\n`);
        continue;
      }
      writeFileSync(file, rec.lines.join('\n') + '\n');
      await io.print(`updated ${file}: ${rec.kept} expectation lines kept, ${rec.rewritten} re-recorded\n`);
    }
    return failedUpdates ? 1 : 0;
  }

  let failed = 0;
  for (const { file, transcript } of loaded) {
    const result = await replayTranscript(transcript, { cliPath: args.cliPath, timeoutMs: args.timeoutMs, keepTmp: args.keepTmp }).catch(
      (err: Error) => ({ ms: undefined, tmpdir: undefined, failures: [{ line: 1, title: 'setup failed', mismatches: [], note: err.message }] }),
    );
    if (result.failures.length) failed++;
    await io.print(formatReport(file, result.failures, { color: io.color }, result.ms));
    if (args.keepTmp && result.tmpdir) await io.print(`  kept ${result.tmpdir}\n`);
  }
  if (loaded.length > 1) await io.print(`${loaded.length - failed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}
