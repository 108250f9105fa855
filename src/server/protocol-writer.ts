/**
 * The server's message writer: each message leaves as one frame (header and body in one
 * buffer, spliced values written in place: see spliced-json.ts), handed to the output in
 * call order without waiting, and with backpressure: once the output holds more than its
 * high-water mark (it returned false), the writer is `congested` until the output drains,
 * and the connection starts no new request and reads no input meanwhile. Messages written
 * while congested are still accepted (a request already running must be answered); what
 * bounds them is that no new request starts.
 */
import type { Writable } from 'node:stream';
import { frameMessage } from './spliced-json.js';

export class ProtocolWriter {
  private congestedNow = false;
  private readonly drainListeners = new Set<() => void>();
  private readonly errorListeners = new Set<(err: Error) => void>();
  private failed: Error | null = null;

  constructor(private readonly out: Writable) {
    out.on('error', (err: Error) => this.fail(err));
    out.on('close', () => this.fail(this.failed ?? new Error('The protocol output is closed.')));
    out.on('drain', () => {
      this.congestedNow = false;
      for (const l of [...this.drainListeners]) l();
    });
  }

  /** The output is above its high-water mark: wait for onDrain before producing more. */
  get congested(): boolean {
    return this.congestedNow;
  }

  /** The output cannot be written (an error such as EPIPE, or closed). */
  get broken(): boolean {
    return this.failed !== null;
  }

  onDrain(listener: () => void): void {
    this.drainListeners.add(listener);
  }

  /** The first failure of the output (reported once). */
  onError(listener: (err: Error) => void): void {
    this.errorListeners.add(listener);
  }

  /**
   * Frame and write a message. Throws if it cannot be serialised; a message written after
   * the output failed is dropped (the failure was reported through onError).
   */
  write(message: unknown): void {
    const frame = frameMessage(message);
    if (this.failed !== null || !this.out.writable) return;
    if (!this.out.write(frame)) this.congestedNow = true;
  }

  /** Flush what is queued, then end the output; `done` runs once it has (or failed). */
  end(done: () => void): void {
    if (this.failed !== null || !this.out.writable) {
      done();
      return;
    }
    this.out.end(done);
  }

  private fail(err: Error): void {
    if (this.failed !== null) return;
    this.failed = err;
    this.congestedNow = false;
    for (const l of [...this.errorListeners]) l(err);
    // Whatever waited for a drain must not wait forever.
    for (const l of [...this.drainListeners]) l();
  }
}
