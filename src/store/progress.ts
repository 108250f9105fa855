/**
 * Progress events for large values (encore's StoreProgressManager): progressStart with
 * `steps` = total bytes, one progressStep per chunk with `step` = bytes done so far (the
 * last one equals the total), then progressEnd. Progress events are never held back by a
 * transaction.
 */
import { v4 as uuidv4 } from 'uuid';
import { assertFitsInMemory, openRegularForReading } from '../util/regular-file.js';
import type { EventHub } from './events.js';

export const MiB = 1024 * 1024;
export const DEFAULT_PROGRESS_THRESHOLD = MiB;
export const DEFAULT_CHUNK_SIZE = MiB;

/** Reports the number of bytes done so far. */
export type StepFn = (bytesDone: number) => void;

export const noStep: StepFn = () => undefined;

export function withProgress<T>(
  hub: EventHub,
  key: string,
  size: number,
  threshold: number,
  fn: (step: StepFn) => Promise<T>,
): Promise<T> {
  // Small values (every ordinary put) go straight through, without another async frame.
  if (size < threshold || hub.size === 0) return fn(noStep);
  return reporting(hub, key, size, fn);
}

async function reporting<T>(hub: EventHub, key: string, size: number, fn: (step: StepFn) => Promise<T>): Promise<T> {
  const operationId = uuidv4();
  let last = -1;
  const step: StepFn = (done) => {
    if (done === last) return;
    last = done;
    hub.emit({ type: 'progressStep', operationId, key, step: done });
  };
  hub.emit({ type: 'progressStart', operationId, key, steps: size });
  try {
    const result = await fn(step);
    step(size);
    hub.emit({ type: 'progressEnd', operationId, key, exitState: 'normal' });
    return result;
  } catch (err) {
    hub.emit({ type: 'progressEnd', operationId, key, exitState: 'error' });
    throw err;
  }
}

/** A private copy of `data`, made chunk by chunk so the copy of a large value reports progress. */
export function copyBuffer(data: Buffer, chunk: number, step: StepFn): Buffer {
  if (step === noStep || data.length <= chunk) {
    // Not from the shared pool: a stored value is long-lived, and a pool slice would keep
    // its whole 8 KiB pool alive (and churn new pools on every few small puts).
    const out = Buffer.allocUnsafeSlow(data.length);
    data.copy(out);
    step(data.length);
    return out;
  }
  const out = Buffer.allocUnsafeSlow(data.length);
  for (let off = 0; off < data.length; off += chunk) {
    const end = Math.min(off + chunk, data.length);
    data.copy(out, off, off, end);
    step(end);
  }
  return out;
}

/** Reads a whole file in chunks. */
export async function readFileChunked(path: string, chunk: number, step: StepFn): Promise<Buffer> {
  const { handle: fh, size } = await openRegularForReading(path);
  try {
    assertFitsInMemory(path, size);
    const out = Buffer.allocUnsafeSlow(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(out, off, Math.min(chunk, size - off), off);
      if (bytesRead === 0) break; // the file shrank under us
      off += bytesRead;
      step(off);
    }
    return off === size ? out : out.subarray(0, off);
  } finally {
    await fh.close();
  }
}

/** Writes `data` to an open file in chunks. */
export async function writeChunked(
  fh: { write(buffer: Buffer, offset: number, length: number): Promise<{ bytesWritten: number }> },
  data: Buffer,
  chunk: number,
  step: StepFn,
): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, Math.min(chunk, data.length - off));
    off += bytesWritten;
    step(off);
  }
}
