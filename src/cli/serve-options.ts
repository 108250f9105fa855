/**
 * Server mode's options (the default mode), checked into the server's settings, and the hint
 * for a person at a terminal: without the server or the stdout guard, so that the CLI's
 * start-up bundle (src/cli/startup.ts) reads them first.
 */
import type { LogLevel } from '../server/logger.js';
import { SIDECAR_NAME } from '../version.js';
import { UsageError, intOption, registryUrl, str, type ParseArgsOptionsConfig, type Values } from './options.js';

/** The longest string V8 makes (2^29 - 24 characters): a body must fit in one. */
const MAX_STRING_BYTES = 0x1fffffe8;
const LEVELS: readonly LogLevel[] = ['error', 'warning', 'info', 'log', 'debug'];
/** --exit-wait-ms's default (not the server's constant: this file loads without the server). */
const DEFAULT_EXIT_WAIT_MS = 5_000;

export const SERVE_OPTIONS = {
  stdio: { type: 'boolean' },
  version: { type: 'boolean', short: 'v' },
  clientProcessId: { type: 'string' },
  'log-level': { type: 'string' },
  'max-inline-bytes': { type: 'string' },
  'max-message-bytes': { type: 'string' },
  'max-in-flight': { type: 'string' },
  'message-timeout-ms': { type: 'string' },
  'max-sessions': { type: 'string' },
  'registry-url': { type: 'string' },
  'exit-wait-ms': { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

export const SERVE_HELP = `Server options (quantum-butler [--stdio] [options]):
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
  --exit-wait-ms=N          how long shutdown, exit and signals wait for a session's call under way
                            before abandoning it (it stops before publishing a file) (default: 5000)
`;

/** The default message limit: a base64 payload of --max-inline-bytes, plus room for the rest of the message. */
function defaultMaxMessageBytes(maxInlineBytes: number): number {
  return Math.min(MAX_STRING_BYTES, Math.ceil((maxInlineBytes * 4) / 3) + 1024 * 1024);
}

export const TTY_HINT = `${SIDECAR_NAME}: serving LSP-framed JSON-RPC 2.0 on stdin/stdout: every message is "Content-Length: <bytes>\\r\\n\\r\\n" then its JSON (see the README and protocol/README.md). A host program (the Node or Python client) spawns it; at a terminal, try '${SIDECAR_NAME} --help' or '${SIDECAR_NAME} demo'. Ctrl-D ends it.\n`;

/** The server's settings from the parsed options (its input, output and exit are the caller's); usage errors throw UsageError. */
export function serverSettings(values: Values) {
  const logLevel = (str(values, 'log-level') ?? 'warning') as LogLevel;
  if (!LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
  const maxInlineBytes = intOption(values, 'max-inline-bytes', 1) ?? 64 * 1024 * 1024;
  const maxMessageBytes = intOption(values, 'max-message-bytes', 1);
  if (maxMessageBytes !== undefined && maxMessageBytes > MAX_STRING_BYTES) throw new UsageError(`--max-message-bytes can be at most ${MAX_STRING_BYTES}`);
  const clientProcessId = intOption(values, 'clientProcessId', 1);
  const url = registryUrl(values);
  return {
    maxInlineBytes,
    maxMessageBytes: maxMessageBytes ?? defaultMaxMessageBytes(maxInlineBytes),
    maxInFlight: intOption(values, 'max-in-flight', 1) ?? 64,
    messageTimeoutMs: intOption(values, 'message-timeout-ms', 0) ?? 60_000,
    maxSessions: intOption(values, 'max-sessions', 1) ?? 1024,
    exitWaitMs: intOption(values, 'exit-wait-ms', 0) ?? DEFAULT_EXIT_WAIT_MS,
    logLevel,
    clientProcessId,
    ...(url !== undefined ? { registryUrl: url } : {}),
  };
}

/** What the stdout guard (src/stdout-guard.ts) gives server mode; passed in, so this file does not load it. */
export type StdoutGuard = typeof import('../stdout-guard.js');

/** The server's options: the settings, on stdin and the guarded stdout (`bytesOut` counts what went out before the guard). */
export function serverOptions(settings: ReturnType<typeof serverSettings>, guard: StdoutGuard, bytesOut = guard.protocolBytesOut) {
  return {
    ...settings,
    input: process.stdin,
    output: guard.protocolOutput,
    flushOutput: guard.flushProtocolOutput,
    bytesOut,
    exit: (code: number) => process.exit(code),
  };
}
