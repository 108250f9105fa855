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

/** The only way to the real stdout; counts bytes for server/stats. */
export const protocolOutput = new Writable({
  write(chunk: Buffer, _enc, callback) {
    bytesOut += chunk.length;
    realWrite(chunk, (err) => callback(err ?? null));
  },
  // Chunks queued while a write is in flight (a header and its body, many small
  // responses) go out in one system call: under load this halves the write cost.
  writev(chunks, callback) {
    const data = Buffer.concat(chunks.map((c) => c.chunk as Buffer));
    bytesOut += data.length;
    realWrite(data, (err) => callback(err ?? null));
  },
});

export function protocolBytesOut(): number {
  return bytesOut;
}

/** For --help and --version, which print before protocol mode starts. */
export function printToStdout(text: string): Promise<void> {
  return new Promise((resolve) => realWrite(text, () => resolve()));
}
