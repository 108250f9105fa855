/**
 * Imported first by the CLI: stdout belongs to the protocol. From here on, anything
 * that writes to process.stdout or console.log lands on stderr instead, and only
 * `protocolOutput` reaches the real stdout. A stray byte on stdout would desync the
 * client's framing for good, so this is not left to discipline.
 */
import { Writable } from 'node:stream';
import { monotonicMs } from './util/time.js';
import { nextTick } from './util/node-globals.js';

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
 *
 * Backpressure: a chunk is acknowledged (its write callback called) only while less than
 * HIGH_WATER bytes wait to reach the real stdout; past that, the acknowledgement waits until
 * the host has read enough, so `protocolOutput.write()` returns false and 'drain' follows,
 * as on any stream. A failed stdout (EPIPE: the host is gone) destroys `protocolOutput`
 * with the error instead of throwing it at the process.
 */
const LARGE = 64 * 1024;
const MAX_DEFERS = 2;
/** Nothing waits longer than this for a deferred flush. */
const MAX_HOLD_MS = 2;
const HIGH_WATER = 1024 * 1024;
/** Large chunks are handed to stdout in slices of this size. */
const SLICE = 256 * 1024;
let queue: Buffer[] = [];
let queuedBytes = 0;
let scheduled = false;
/** Whether a message was queued since the flush was (re)scheduled, and how often it was put off. */
let addedSinceScheduled = false;
let defers = 0;
let heldSince = 0;
/** Bytes handed to the real stdout and not yet written out by it. */
let pending = 0;
/** The callback of a chunk accepted above the high-water mark: called once below it. */
let unacknowledged: (() => void) | null = null;

// Failures are reported through the write callbacks; this keeps one from being thrown.
process.stdout.on('error', (err: Error) => protocolOutput.destroy(err));

/**
 * The tick after a flush was scheduled: if the queue is still waiting (nothing flushed it
 * meanwhile, as the server does when it falls idle with the answer just written: one at a
 * time, every call), the flush is put off to the end of the turn, and the clock read for
 * MAX_HOLD_MS. A flush done by then costs neither the immediate nor the clock read, as the
 * protocol writer's end of turn does (~800 instructions of a one-at-a-time `butler/put`'s
 * ~158,000, callgrind; the event loop's whole check phase, ~4,300, when nothing else queues one).
 */
function afterTick(): void {
  if (!scheduled) return;
  heldSince = monotonicMs();
  setImmediate(flushSoon);
}

function flushSoon(): void {
  if (!scheduled) return; // flushed meanwhile (a large chunk, or end())
  if (addedSinceScheduled && defers < MAX_DEFERS && queuedBytes < LARGE && monotonicMs() - heldSince < MAX_HOLD_MS) {
    addedSinceScheduled = false;
    defers++;
    setImmediate(flushSoon);
    return;
  }
  flush();
}

/** end()'s callback, once everything handed out has been written. */
let whenWritten: ((err?: Error | null) => void) | null = null;

function writeOut(data: Buffer): void {
  pending += data.length;
  realWrite(data, (err) => {
    pending -= data.length;
    if (err) {
      protocolOutput.destroy(err);
      whenWritten?.(err);
      whenWritten = null;
      return;
    }
    acknowledge();
    if (pending === 0 && whenWritten !== null) {
      const done = whenWritten;
      whenWritten = null;
      done();
    }
  });
}

function acknowledge(): void {
  if (unacknowledged !== null && pending + queuedBytes < HIGH_WATER) {
    const callback = unacknowledged;
    unacknowledged = null;
    callback();
  }
}

function flush(): void {
  scheduled = false;
  if (queue.length === 0) return;
  const data = queue.length === 1 ? queue[0]! : Buffer.concat(queue);
  queue = [];
  queuedBytes = 0;
  writeOut(data);
}

export const protocolOutput: Writable = new Writable({
  highWaterMark: HIGH_WATER,
  write(chunk: Buffer, _enc, callback) {
    bytesOut += chunk.length;
    if (chunk.length >= LARGE) {
      flush();
      // In slices, so that each is acknowledged as it is written and the next answer can be
      // made while the rest of this one is still going out.
      for (let at = 0; at < chunk.length; at += SLICE) writeOut(chunk.subarray(at, at + SLICE));
    } else {
      queue.push(chunk);
      queuedBytes += chunk.length;
      if (!scheduled) {
        scheduled = true;
        addedSinceScheduled = false;
        defers = 0;
        nextTick(afterTick);
      } else {
        addedSinceScheduled = true;
      }
    }
    if (pending + queuedBytes < HIGH_WATER) callback();
    else unacknowledged = () => callback();
  },
  final(callback) {
    flush();
    if (pending === 0) callback();
    else whenWritten = (err) => callback(err ?? null);
  },
});

/** Write out now what waits to be coalesced (the server calls it when it falls idle). */
export function flushProtocolOutput(): void {
  if (scheduled) flush();
}

export function protocolBytesOut(): number {
  return bytesOut;
}

/** For --help and --version, which print before protocol mode starts. */
export function printToStdout(text: string): Promise<void> {
  return new Promise((resolve) => realWrite(text, () => resolve()));
}
