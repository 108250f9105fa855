/**
 * Imported first by the CLI: stdout belongs to the protocol. From here on, anything
 * that writes to process.stdout or console.log lands on stderr instead, and only
 * `protocolOutput` reaches the real stdout. A stray byte on stdout would desync the
 * client's framing for good, so this is not left to discipline.
 */
import { Writable } from 'node:stream';

type WriteFn = typeof process.stdout.write;

const realWrite: WriteFn = process.stdout.write.bind(process.stdout);
const toStderr: WriteFn = process.stderr.write.bind(process.stderr);

process.stdout.write = toStderr;
console.log = console.error;
console.info = console.error;
console.debug = console.error;

let bytesOut = 0;

/**
 * Messages written in the same turn of the event loop leave in one system call. Under a
 * pipelined load answers arrive over several turns (the connection handles a batch of
 * requests per turn, and async handlers finish later), so a flush also waits a few more
 * turns (MAX_DEFERS) while each turn adds more: one write per many responses instead of
 * one each (a write costs about as much as handling a small request), never holding a
 * message more than MAX_HOLD_MS. Holding longer than a couple of turns costs more than it
 * saves: the client sits idle waiting for answers the sidecar has already made (measured:
 * 32 turns gave ~15% fewer pipelined puts per second than 2). A lone response, or a turn that adds nothing, is written
 * at once, so a sequential caller waits no longer. Large chunks go straight out (after what is queued),
 * so big payloads are neither copied nor held back. end() flushes.
 */
const LARGE = 64 * 1024;
const MAX_DEFERS = 2;
/** Nothing waits longer than this for a deferred flush. */
const MAX_HOLD_MS = 2;
let queue: Buffer[] = [];
let queuedBytes = 0;
let scheduled = false;
/** Whether a message was queued since the flush was (re)scheduled, and how often it was put off. */
let addedSinceScheduled = false;
let defers = 0;
let heldSince = 0;

function flushSoon(): void {
  if (!scheduled) return; // flushed meanwhile (a large chunk, or end())
  if (addedSinceScheduled && defers < MAX_DEFERS && queuedBytes < LARGE && performance.now() - heldSince < MAX_HOLD_MS) {
    addedSinceScheduled = false;
    defers++;
    setImmediate(flushSoon);
    return;
  }
  flush();
}

function flush(done?: (err?: Error | null) => void): void {
  scheduled = false;
  queuedBytes = 0;
  if (queue.length === 0) {
    done?.();
    return;
  }
  const data = queue.length === 1 ? queue[0]! : Buffer.concat(queue);
  queue = [];
  realWrite(data, (err) => {
    if (err) protocolOutput.destroy(err);
    done?.(err);
  });
}

export const protocolOutput: Writable = new Writable({
  write(chunk: Buffer, _enc, callback) {
    bytesOut += chunk.length;
    if (chunk.length >= LARGE) {
      flush();
      realWrite(chunk, (err) => callback(err ?? null));
      return;
    }
    queue.push(chunk);
    queuedBytes += chunk.length;
    if (!scheduled) {
      scheduled = true;
      addedSinceScheduled = false;
      defers = 0;
      heldSince = performance.now();
      setImmediate(flushSoon);
    } else {
      addedSinceScheduled = true;
    }
    callback();
  },
  final(callback) {
    flush((err) => callback(err ?? null));
  },
});

export function protocolBytesOut(): number {
  return bytesOut;
}

/** For --help and --version, which print before protocol mode starts. */
export function printToStdout(text: string): Promise<void> {
  return new Promise((resolve) => realWrite(text, () => resolve()));
}
