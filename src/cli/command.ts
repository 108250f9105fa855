/**
 * How every `quantum-butler` command is declared and run: arguments parsed by node:util
 * parseArgs in strict mode (an unknown option is a usage error), `--help` on each, and one
 * line on stderr for any error: exit code 2 for a usage error, 75 (sysexits' EX_TEMPFAIL) for
 * a failure worth retrying later (a registry server down, a store busy), 1 for any other. Human
 * output goes to stdout (through the stdout guard's printToStdout), progress and hints to
 * stderr. Set QUANTUM_BUTLER_DEBUG=1 to see a failure's stack.
 */
import { parseArgs } from 'node:util';
import { ErrorKinds } from '../../protocol/errors.js';
import { ButlerError } from '../model/errors.js';
import { printToStdout } from '../stdout-guard.js';
import { SIDECAR_NAME } from '../version.js';
import { UsageError, type ParseArgsOptionsConfig, type Values } from './options.js';

export { UsageError, flag, intOption, registryUrl, str, strs } from './options.js';
export type { OptionValue, ParseArgsOptionsConfig, Values } from './options.js';

export interface CommandIo {
  /** Human (or --json) output: stdout. */
  out(text: string): Promise<void>;
  /** Progress, notes and hints: stderr. */
  err(text: string): void;
  /** stderr is a terminal (progress bars, colour). */
  readonly tty: boolean;
}

export interface Command {
  name: string;
  /** One line for the top-level help. */
  summary: string;
  /** The full `--help` text: usage line first. */
  help: string;
  options: ParseArgsOptionsConfig;
  /** How many positional arguments it takes. */
  positionals: { min: number; max: number; names: string };
  run(values: Values, positionals: string[], io: CommandIo): Promise<number | void>;
}

export const stdio: CommandIo = {
  out: printToStdout,
  err: (text) => void process.stderr.write(text),
  tty: process.stderr.isTTY === true,
};

/** parseArgs's messages, shortened to what the user needs. */
function usageMessage(err: Error & { code?: string }): string {
  const quoted = /'([^']+)'/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown argument ${quoted ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = quoted?.split(' ')[0] ?? 'an option';
      if (/does not take an argument/.test(err.message)) return `${flag} takes no value`;
      return `${flag} needs a value`;
    }
    default:
      return err.message.split('\n')[0]!;
  }
}

/** The error as one line (messages may span lines; stacks never show). */
export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, ' ').trim() || (err instanceof Error ? err.name : 'failed');
}

/** Parse `argv` for `cmd` (with --help added); throws UsageError. */
export function parseCommandLine(cmd: Pick<Command, 'options' | 'positionals'>, argv: string[]): { values: Values; positionals: string[]; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(usageMessage(err as Error & { code?: string }));
  }
  const values = parsed.values as Values;
  if (values['help'] === true) return { values, positionals: parsed.positionals, help: true };
  const n = parsed.positionals.length;
  if (n < cmd.positionals.min) throw new UsageError(`missing ${cmd.positionals.names.split(' ').slice(n, cmd.positionals.min).join(' ')}`);
  if (n > cmd.positionals.max) throw new UsageError(`unexpected argument ${parsed.positionals[cmd.positionals.max]}`);
  return { values, positionals: parsed.positionals, help: false };
}

/** Run one command to its exit code; never throws. */
export async function runCommand(cmd: Command, argv: string[], io: CommandIo = stdio): Promise<number> {
  const prefix = `${SIDECAR_NAME} ${cmd.name}`;
  try {
    const { values, positionals, help } = parseCommandLine(cmd, argv);
    if (help) {
      await io.out(cmd.help);
      return 0;
    }
    return (await cmd.run(values, positionals, io)) ?? 0;
  } catch (err) {
    if (process.env['QUANTUM_BUTLER_DEBUG']) io.err(`${(err as Error)?.stack ?? String(err)}\n`);
    if (err instanceof UsageError) {
      io.err(`${prefix}: ${err.message}\nTry '${prefix} --help'.\n`);
      return 2;
    }
    const temporary = err instanceof ButlerError && ErrorKinds[err.kind].retryable;
    io.err(`${prefix}: ${oneLine(err)}${temporary ? ' (temporary: try again later)' : ''}\n`);
    return temporary ? EXIT_TEMPORARY : 1;
  }
}

/** A failure worth retrying later: sysexits' EX_TEMPFAIL, which schedulers and scripts know. */
export const EXIT_TEMPORARY = 75;
/** `collect` found conflicts and wrote nothing: the documents, not the system, need attention. */
export const EXIT_CONFLICTS = 3;

/** `KEY=VALUE` arguments as a mapping (data ID filters). */
export function keyValues(items: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${what} needs KEY=VALUE, got ${JSON.stringify(item)}`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

export const JSON_OPTION = { json: { type: 'boolean' } } as const satisfies ParseArgsOptionsConfig;
export const REGISTRY_URL_OPTION = { 'registry-url': { type: 'string' } } as const satisfies ParseArgsOptionsConfig;

export const REGISTRY_URL_HELP = `  --registry-url URL   connect a PostgreSQL registry with this URL instead of butler.json's`;

/** Pretty JSON for --json output. */
export const jsonText = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
