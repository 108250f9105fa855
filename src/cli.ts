#!/usr/bin/env node
/**
 * quantum-butler: `--stdio` serves the protocol (the default), `demo` runs the
 * demonstration, `replay` replays or records transcripts, `--help` and `--version`
 * print and exit.
 */
import { printToStdout, protocolBytesOut, protocolOutput } from './stdout-guard.js';
import { SIDECAR_NAME, SIDECAR_VERSION } from './version.js';
import { startServer } from './server/start.js';
import type { LogLevel } from './server/logger.js';

/** The longest string V8 makes (2^29 - 24 characters): a body must fit in one. */
const MAX_STRING_BYTES = 0x1fffffe8;

const HELP = `${SIDECAR_NAME} ${SIDECAR_VERSION}: a JSON-RPC sidecar serving one quantum-backed butler per session.

Usage:
  quantum-butler [--stdio] [options]   serve LSP-framed JSON-RPC 2.0 on stdin/stdout
  quantum-butler demo [--out DIR]      run two quanta end to end and show their provenance
  quantum-butler replay FILE...        replay transcripts against a fresh sidecar (replay --help)
  quantum-butler --help | --version

Options:
  --clientProcessId=PID     exit when this process dies (as initialize.processId)
  --log-level=LEVEL         error | warning | info | log | debug (default: warning); logs go to stderr
  --max-inline-bytes=N      largest inline payload in bytes (default: 67108864)
  --max-message-bytes=N     largest message read, in bytes; larger ones are skipped unread and
                            answered MessageTooLarge (default: 4/3 of --max-inline-bytes + 1 MiB,
                            at most ${MAX_STRING_BYTES})
  --max-in-flight=N         most requests handled at once; more wait unread (default: 64)
  --message-timeout-ms=N    a message begun but stalled this long is a framing error; 0: no limit
                            (default: 60000)
  --max-sessions=N          most sessions open at once (default: 1024)
  --registry-url=URL        connect PostgreSQL registries with this URL instead of butler.json's
                            (it may carry the password, or name the server as this host reaches it)

Protocol: see protocol/README.md.
`;

const LEVELS = ['error', 'warning', 'info', 'log', 'debug'];

interface Options {
  command: 'serve' | 'demo' | 'replay';
  clientProcessId?: number;
  logLevel: LogLevel;
  maxInlineBytes: number;
  maxMessageBytes?: number;
  maxInFlight: number;
  messageTimeoutMs: number;
  maxSessions: number;
  registryUrl?: string;
  rest: string[];
}

function fail(message: string): never {
  process.stderr.write(`${SIDECAR_NAME}: ${message}\nTry --help.\n`);
  process.exit(2);
}

function positiveInt(flag: string, value: string, min = 1): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) fail(`${flag} needs ${min === 0 ? 'a non-negative' : 'a positive'} integer, got ${JSON.stringify(value)}`);
  return n;
}

/** The default message limit: a base64 payload of --max-inline-bytes, plus room for the rest of the message. */
function defaultMaxMessageBytes(maxInlineBytes: number): number {
  return Math.min(MAX_STRING_BYTES, Math.ceil((maxInlineBytes * 4) / 3) + 1024 * 1024);
}

async function parseArgs(argv: string[]): Promise<Options> {
  const opts: Options = {
    command: 'serve',
    logLevel: 'warning',
    maxInlineBytes: 64 * 1024 * 1024,
    maxInFlight: 64,
    messageTimeoutMs: 60_000,
    maxSessions: 1024,
    rest: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value`);
    switch (flag) {
      case '--help':
      case '-h':
        await printToStdout(HELP);
        process.exit(0);
      case '--version':
      case '-v':
        await printToStdout(`${SIDECAR_VERSION}\n`);
        process.exit(0);
      case '--stdio':
        break;
      case '--clientProcessId':
        opts.clientProcessId = positiveInt(flag, value());
        break;
      case '--log-level': {
        const v = value();
        if (!LEVELS.includes(v)) fail(`--log-level must be one of ${LEVELS.join(', ')}`);
        opts.logLevel = v as LogLevel;
        break;
      }
      case '--max-inline-bytes':
        opts.maxInlineBytes = positiveInt(flag, value());
        break;
      case '--max-message-bytes':
        opts.maxMessageBytes = positiveInt(flag, value());
        if (opts.maxMessageBytes > MAX_STRING_BYTES) fail(`--max-message-bytes can be at most ${MAX_STRING_BYTES}`);
        break;
      case '--max-in-flight':
        opts.maxInFlight = positiveInt(flag, value());
        break;
      case '--message-timeout-ms':
        opts.messageTimeoutMs = positiveInt(flag, value(), 0);
        break;
      case '--max-sessions':
        opts.maxSessions = positiveInt(flag, value());
        break;
      case '--registry-url': {
        const v = value();
        if (!/^postgres(ql)?:\/\//.test(v)) fail('--registry-url needs a postgresql:// URL');
        opts.registryUrl = v;
        break;
      }
      case 'demo':
        if (i !== 0) fail('demo must come first');
        opts.command = 'demo';
        opts.rest = argv.slice(i + 1);
        return opts;
      case 'replay':
        if (i !== 0) fail('replay must come first');
        opts.command = 'replay';
        opts.rest = argv.slice(i + 1);
        return opts;
      default:
        fail(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return opts;
}

const opts = await parseArgs(process.argv.slice(2));
if (opts.command === 'demo') {
  const { runDemo } = await import('./demo.js');
  process.exitCode = await runDemo(opts.rest);
} else if (opts.command === 'replay') {
  // Reports go to the real stdout: the guard has redirected process.stdout.write to stderr.
  const { runReplay, colorEnabled } = await import('./replay/command.js');
  process.exitCode = await runReplay(opts.rest, {
    print: printToStdout,
    error: (text) => void process.stderr.write(text),
    color: colorEnabled(process.stdout),
  });
} else {
  startServer({
    input: process.stdin,
    output: protocolOutput,
    bytesOut: protocolBytesOut,
    maxInlineBytes: opts.maxInlineBytes,
    maxMessageBytes: opts.maxMessageBytes ?? defaultMaxMessageBytes(opts.maxInlineBytes),
    maxInFlight: opts.maxInFlight,
    messageTimeoutMs: opts.messageTimeoutMs,
    maxSessions: opts.maxSessions,
    logLevel: opts.logLevel,
    clientProcessId: opts.clientProcessId,
    ...(opts.registryUrl !== undefined ? { registryUrl: opts.registryUrl } : {}),
    exit: (code) => process.exit(code),
  });
}
