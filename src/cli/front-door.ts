/**
 * Server mode's start, in the CLI's start-up bundle (src/cli/startup.ts): the first input a
 * host sends is nearly always one plain `initialize`, and answering it needs neither zod,
 * vscode-jsonrpc nor the server. So the first chunk read from stdin is looked at here: if it
 * begins with one whole frame holding a request that src/server/handlers/initialize.ts finds
 * plainly valid, it is answered at once, through the stdout guard, with the bytes the server
 * would write; then the server is loaded (the main bundle, `loadServer`) and told of it
 * (`startServer(options, answered)`), and the rest of the chunk goes to it. Anything else (a
 * partial frame, another header, another method, params the check leaves to the schema, a
 * log level that would log the answer) goes to the server as read, before anything was
 * answered: it answers as it always has, errors included. Either way the server takes over
 * within the turn the first chunk arrived in, so it sees every later chunk, the end of input
 * and any error of stdin itself; messages keep their order.
 */
import { isAscii } from 'node:buffer';
import type { AnsweredInitialize, startServer } from '../server/start.js';
import { initializeResult, plainInitializeParams } from '../server/handlers/initialize.js';
import { flushProtocolOutput, protocolBytesOut, protocolOutput } from '../stdout-guard.js';
import { encodeFrame } from '../util/framing.js';
import { SIDECAR_NAME } from '../version.js';
import { monotonicMs } from '../util/time.js';
import type { Values } from './options.js';
import { TTY_HINT, serverSettings } from './serve-options.js';

/** What the main bundle gives server mode. */
export interface ServerModule {
  startServer: typeof startServer;
}

/** A first frame larger than this is left to the server (an initialize is a few hundred bytes). */
const MAX_FIRST_FRAME = 64 * 1024;
/** The exit code when the main bundle cannot be loaded (as an internal error: sysexits' EX_SOFTWARE). */
export const EXIT_NO_SERVER = 70;
const HEADER = /^Content-Length: ([0-9]{1,6})\r\n\r\n/;

type Settings = ReturnType<typeof serverSettings>;

/** The first frame of `chunk`, if it is a plainly valid initialize: its id, params and length. */
function plainInitialize(chunk: Buffer, settings: Settings): { id: number | string; answered: Omit<AnsweredInitialize, 'ms'> } | undefined {
  // The answer's effects apply after it: only where initialize would log nothing.
  if (settings.logLevel !== 'warning' && settings.logLevel !== 'error') return undefined;
  const header = HEADER.exec(chunk.toString('latin1', 0, Math.min(chunk.length, 32)));
  if (!header) return undefined;
  const length = Number(header[1]);
  const frameBytes = header[0].length + length;
  if (length > MAX_FIRST_FRAME || length > settings.maxMessageBytes || chunk.length < frameBytes) return undefined;
  const body = chunk.subarray(header[0].length, frameBytes);
  if (!isAscii(body)) return undefined;
  let message: unknown;
  try {
    message = JSON.parse(body.toString('latin1'));
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const { jsonrpc, id, method, params, ...rest } = message as Record<string, unknown>;
  if (jsonrpc !== '2.0' || method !== 'initialize' || Object.keys(rest).length > 0) return undefined;
  // Ids the reader would keep as they are (src/server/protocol-reader.ts).
  if (typeof id !== 'string' && !(Number.isSafeInteger(id) && !Object.is(id, -0))) return undefined;
  const plain = plainInitializeParams(params);
  return plain ? { id: id as number | string, answered: { params: plain, frameBytes } } : undefined;
}

/** Serve on stdin/stdout: the first initialize answered here when it is plain, then the server (`loadServer`) for everything. */
export function serveFromFrontDoor(values: Values, loadServer: () => ServerModule): void {
  const settings = serverSettings(values);
  const input = process.stdin;
  const options = {
    ...settings,
    input,
    output: protocolOutput,
    flushOutput: flushProtocolOutput,
    bytesOut: protocolBytesOut,
    exit: (code: number) => process.exit(code),
  };
  if (input.isTTY) process.stderr.write(TTY_HINT);
  const handOver = (answered?: AnsweredInitialize): void => {
    input.off('data', onData);
    input.off('end', onEnd);
    input.off('error', onError);
    let server: ServerModule;
    try {
      server = loadServer();
    } catch (err) {
      // Nothing but initialize can be answered without it: say why on stderr and leave.
      process.stderr.write(`${SIDECAR_NAME}: cannot load the server: ${(err as Error)?.message ?? String(err)}\n`);
      process.exit(EXIT_NO_SERVER);
    }
    server.startServer(options, answered);
  };
  // Once the server listens, what this took goes to it as stdin would have given it.
  const onData = (chunk: Buffer): void => {
    const started = monotonicMs();
    const first = plainInitialize(chunk, settings);
    if (!first) {
      handOver();
      input.emit('data', chunk);
      return;
    }
    const result = initializeResult(settings, first.answered.params.capabilities.provenanceBatches === true);
    protocolOutput.write(encodeFrame(JSON.stringify({ jsonrpc: '2.0', id: first.id, result })));
    flushProtocolOutput();
    handOver({ ...first.answered, ms: monotonicMs() - started });
    if (chunk.length > first.answered.frameBytes) input.emit('data', chunk.subarray(first.answered.frameBytes));
  };
  // The server learns of the end from 'close', which follows.
  const onEnd = (): void => handOver();
  const onError = (err: Error): void => {
    handOver();
    input.emit('error', err);
  };
  input.on('data', onData);
  input.on('end', onEnd);
  input.on('error', onError);
}
