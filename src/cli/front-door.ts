/**
 * Server mode's start, in the CLI's start-up bundle (src/cli/startup.ts): the first input a
 * host sends is nearly always one plain `initialize`, and answering it needs neither zod,
 * vscode-jsonrpc nor the server. So the first input is looked at here: if it begins with one
 * whole frame holding a request that src/server/handlers/initialize.ts finds plainly valid, it
 * is answered at once with the bytes the server would write; then the server is loaded (the
 * main bundle, `loadServer`) and told of it (`startServer(options, answered)`), and the rest
 * of that input goes to it. Anything else (a partial frame, another header, another method,
 * params the check leaves to the schema, a log level that would log the answer) goes to the
 * server as read, before anything was answered: it answers as it always has, errors
 * included. Messages keep their order.
 *
 * Where stdin is a pipe (or socket) the first input is one blocking read of fd 0 and the
 * answer one write to fd 1, before Node makes streams of them (readFirstChunk); otherwise the
 * first chunk of the stdin stream is looked at, and the server takes over within the turn it
 * arrived in, so it sees every later chunk, the end of input and any error of stdin itself.
 */
import { isAscii } from 'node:buffer';
import type { AnsweredInitialize, startServer } from '../server/start.js';
import { initializeResult, plainInitializeParams, provenanceFormOf } from '../server/handlers/initialize.js';
import { encodeFrame } from '../util/framing.js';
import { SIDECAR_NAME } from '../version.js';
import { monotonicMs } from '../util/time.js';
import type { Values } from './options.js';
import { TTY_HINT, serverOptions, serverSettings, type StdoutGuard } from './serve-options.js';

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
  const first = readFirstChunk(settings);
  if (first === undefined) {
    void import('../stdout-guard.js').then((guard) => serveFromStream(settings, guard, loadServer));
    return;
  }
  // Read at once from the pipe: the answer leaves by a system call of its own, before Node has
  // made a stream of stdin or stdout (each a socket, ~5 ms of a start).
  const started = monotonicMs();
  const plain = first.length > 0 ? plainInitialize(first, settings) : undefined;
  let unwritten: Buffer | undefined;
  let written = 0;
  let answered: AnsweredInitialize | undefined;
  if (plain) {
    const frame = answerFrame(plain, settings);
    unwritten = writeAtOnce(frame);
    written = frame.length - unwritten.length;
    answered = { ...plain.answered, ms: monotonicMs() - started };
  }
  void import('../stdout-guard.js').then((guard) => {
    const options = serverOptions(settings, guard, () => guard.protocolBytesOut() + written);
    if (unwritten !== undefined && unwritten.length > 0) guard.protocolOutput.write(unwritten);
    startLoaded(loadServer, options, answered);
    // The server listens now: what was read goes to it as stdin would have given it.
    const rest = first.subarray(answered?.frameBytes ?? 0);
    if (rest.length > 0) options.input.emit('data', rest);
  });
}

/**
 * The first bytes of input, read by a blocking read of fd 0 where that is a pipe or socket no
 * stream has been made of yet (a host writes initialize at once), and more while they are a
 * plain frame begun but not whole (a host may write header and body apart) and the rest comes
 * within FIRST_FRAME_GRACE_MS: read without blocking, from the same pipe opened again (a
 * socket cannot be, and goes on at once). A host that stops mid-frame then meets the stream's
 * --message-timeout-ms and the signal handlers, not a read that never returns. Empty at the
 * end of input. Undefined where this does not apply, nothing was read, and the stream
 * is used instead: on Windows or a Node without process.getBuiltinModule, at a terminal (the
 * hint comes first), with --clientProcessId (its watchdog must run while the host is silent),
 * or when the read would not block (EAGAIN) or fails.
 */
function readFirstChunk(settings: Settings): Buffer | undefined {
  if (process.platform === 'win32' || settings.clientProcessId !== undefined || !process.getBuiltinModule) return undefined;
  const fs = process.getBuiltinModule('node:fs');
  const buffer = Buffer.allocUnsafe(MAX_FIRST_FRAME + 32);
  let read: number;
  try {
    const stat = fs.fstatSync(0);
    if (!stat.isFIFO() && !stat.isSocket()) return undefined;
    read = fs.readSync(0, buffer, 0, buffer.length, null);
  } catch {
    return undefined;
  }
  if (read > 0 && read < buffer.length && frameBegun(buffer.subarray(0, read))) read = readRestOfFrame(fs, buffer, read);
  return buffer.subarray(0, read);
}

/** How long the front door waits for the rest of a first frame before the stream takes over. */
const FIRST_FRAME_GRACE_MS = 50;

/** readFirstChunk's rest of a frame begun: the bytes in `buffer` after it. */
function readRestOfFrame(fs: typeof import('node:fs'), buffer: Buffer, read: number): number {
  let fd: number;
  try {
    fd = fs.openSync('/proc/self/fd/0', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return read; // a socket (ENXIO), or no /proc: the stream reads the rest
  }
  const deadline = monotonicMs() + FIRST_FRAME_GRACE_MS;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  try {
    while (read < buffer.length && frameBegun(buffer.subarray(0, read))) {
      let more: number;
      try {
        more = fs.readSync(fd, buffer, read, buffer.length - read, null);
      } catch (err) {
        // Another error: what was read goes to the server, and the stream reports it again.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || monotonicMs() > deadline) break;
        Atomics.wait(nap, 0, 0, 1); // nothing yet: a millisecond
        continue;
      }
      if (more === 0) break;
      read += more;
    }
  } finally {
    fs.closeSync(fd);
  }
  return read;
}

const PLAIN_HEADER_START = 'Content-Length: ';

/** `bytes` are the start of a plain frame of at most MAX_FIRST_FRAME bytes of body, not yet whole. */
function frameBegun(bytes: Buffer): boolean {
  const text = bytes.toString('latin1', 0, Math.min(bytes.length, 32));
  const header = HEADER.exec(text);
  if (header) return Number(header[1]) <= MAX_FIRST_FRAME && bytes.length < header[0].length + Number(header[1]);
  return PLAIN_HEADER_START.startsWith(text) || /^Content-Length: [0-9]{1,6}(\r|\r\n|\r\n\r)?$/.test(text);
}

/** Write `frame` to fd 1 by system calls of its own; what could not be written (a full non-blocking pipe, an error) is returned for the stream, which reports errors. */
function writeAtOnce(frame: Buffer): Buffer {
  let at = 0;
  try {
    const fs = process.getBuiltinModule!('node:fs');
    while (at < frame.length) at += fs.writeSync(1, frame, at);
  } catch {
    // EAGAIN or EPIPE: the rest goes through the stream
  }
  return frame.subarray(at);
}

function answerFrame(plain: NonNullable<ReturnType<typeof plainInitialize>>, settings: Settings): Buffer {
  const result = initializeResult(settings, provenanceFormOf(plain.answered.params.capabilities));
  return encodeFrame(JSON.stringify({ jsonrpc: '2.0', id: plain.id, result }));
}

/** Start the server from the main bundle; without one, nothing but initialize can be answered: say why on stderr and leave. */
function startLoaded(loadServer: () => ServerModule, options: ReturnType<typeof serverOptions>, answered?: AnsweredInitialize): void {
  let server: ServerModule;
  try {
    server = loadServer();
  } catch (err) {
    process.stderr.write(`${SIDECAR_NAME}: cannot load the server: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(EXIT_NO_SERVER);
  }
  server.startServer(options, answered);
}

/** The first chunk from the stdin stream, answered or handed over within the turn it arrived in. */
function serveFromStream(settings: Settings, guard: StdoutGuard, loadServer: () => ServerModule): void {
  const options = serverOptions(settings, guard);
  const input = options.input;
  if (input.isTTY) process.stderr.write(TTY_HINT);
  const handOver = (answered?: AnsweredInitialize): void => {
    input.off('data', onData);
    input.off('end', onEnd);
    input.off('error', onError);
    startLoaded(loadServer, options, answered);
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
    guard.protocolOutput.write(answerFrame(first, settings));
    guard.flushProtocolOutput();
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
