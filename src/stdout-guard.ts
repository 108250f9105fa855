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
 * Messages written in the same turn of the event loop leave in one system call:
 * vscode-jsonrpc writes a header and a body per message and waits for each, which
 * would otherwise cost two writes per response. Large chunks go straight out (after
 * what is queued), so big payloads are neither copied nor held back. end() flushes.
 */
const LARGE = 64 * 1024;
let queue: Buffer[] = [];
let scheduled = false;

function flush(done?: (err?: Error | null) => void): void {
  scheduled = false;
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
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
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
