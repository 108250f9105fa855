#!/usr/bin/env node
/**
 * quantum-butler: serves the protocol on stdin/stdout (the default, `--stdio`), or runs one
 * command: the repository commands (src/cli/), `demo`, `replay`. Every command parses its
 * arguments strictly (node:util parseArgs), has `--help`, and fails with one line on stderr:
 * exit code 2 for a usage error, 1 for a failure.
 */
import { printToStdout } from './stdout-guard.js';
import { SIDECAR_NAME, SIDECAR_VERSION } from './version.js';
import { UsageError, parseCommandLine, runCommand, type Command } from './cli/command.js';
import { SERVE_HELP, SERVE_OPTIONS, serve } from './cli/serve.js';

/** The commands, loaded only when one (or --help) is asked for: serving starts without them. */
const commands = async (): Promise<readonly Command[]> => (await import('./cli/commands.js')).COMMANDS;

const help = (list: readonly Command[]): string => `${SIDECAR_NAME} ${SIDECAR_VERSION}: a JSON-RPC sidecar serving one quantum-backed butler per session.

Usage:
  quantum-butler [--stdio] [options]    serve LSP-framed JSON-RPC 2.0 on stdin/stdout
  quantum-butler COMMAND [options]      run a command (COMMAND --help for its options)
  quantum-butler --help | --version

Commands:
${list.map((c) => `  ${c.summary}`).join('\n')}
  replay FILE...                 replay transcripts against a fresh sidecar (replay --help)

${SERVE_HELP}
Protocol: see protocol/README.md.
`;

async function main(argv: string[]): Promise<number | undefined> {
  const first = argv[0];
  if (first === 'replay') {
    // Reports go to the real stdout: the guard has redirected process.stdout.write to stderr.
    const { runReplay, colorEnabled } = await import('./replay/command.js');
    return runReplay(argv.slice(1), {
      print: printToStdout,
      error: (text) => void process.stderr.write(text),
      color: colorEnabled(process.stdout),
    });
  }
  if (first !== undefined && !first.startsWith('-')) {
    const cmd = (await commands()).find((c) => c.name === first);
    if (!cmd) return usage(`unknown command ${JSON.stringify(first)}`);
    return runCommand(cmd, argv.slice(1));
  }
  let parsed;
  try {
    parsed = parseCommandLine({ options: SERVE_OPTIONS, positionals: { min: 0, max: 0, names: '' } }, argv);
  } catch (err) {
    return usage((err as Error).message);
  }
  if (parsed.help) {
    await printToStdout(help(await commands()));
    return 0;
  }
  if (parsed.values['version'] === true) {
    await printToStdout(`${SIDECAR_VERSION}\n`);
    return 0;
  }
  try {
    serve(parsed.values);
  } catch (err) {
    if (err instanceof UsageError) return usage(err.message);
    throw err;
  }
  return undefined;
}

function usage(message: string): number {
  process.stderr.write(`${SIDECAR_NAME}: ${message}\nTry '${SIDECAR_NAME} --help'.\n`);
  return 2;
}

// No top-level await: the built CLI runs this module inside a CommonJS bundle (src/cli/load-bundle.ts).
void main(process.argv.slice(2)).then((code) => {
  if (code !== undefined) process.exitCode = code;
});
