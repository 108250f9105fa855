/*
 * The client's message writer: each message leaves as one `Content-Length` frame, header and
 * body in one buffer and one write. (vscode-jsonrpc's writer writes the header, waits for its
 * write callback, then writes the body: two system calls, and the sidecar woken to read a
 * header alone, for every request.) Messages leave in call order; while the pipe is full
 * (the stream asked for a drain) later ones wait unencoded, so that at most one large frame
 * is held in memory at a time, as with the library's writer. A write's promise settles once
 * the stream has taken the frame; a failed write is also reported through onError, as the
 * library's writer does. (Not a doc comment: the module is internal, its .d.ts ships bare.)
 */
import type { Writable } from 'node:stream';
import { AbstractMessageWriter, type Message } from 'vscode-jsonrpc/node';

interface Waiting {
  msg: Message;
  resolve(): void;
  reject(err: Error): void;
}

export class FrameWriter extends AbstractMessageWriter {
  #errors = 0;
  #waiting: Waiting[] = [];
  readonly #writable: Writable;

  constructor(writable: Writable) {
    super();
    this.#writable = writable;
    writable.on('error', (err: Error) => this.fireError(err));
    writable.on('close', () => {
      this.#failWaiting(new Error('The sidecar\'s input is closed.'));
      this.fireClose();
    });
    writable.on('drain', () => {
      while (this.#waiting.length > 0 && !writable.writableNeedDrain) this.#send(this.#waiting.shift()!);
    });
  }

  write(msg: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      const w = { msg, resolve, reject };
      if (this.#waiting.length > 0 || this.#writable.writableNeedDrain) this.#waiting.push(w);
      else this.#send(w);
    });
  }

  #send({ msg, resolve, reject }: Waiting): void {
    let frame: Buffer;
    try {
      const body = JSON.stringify(msg);
      const length = Buffer.byteLength(body, 'utf8');
      const header = `Content-Length: ${length}\r\n\r\n`;
      frame = Buffer.allocUnsafe(header.length + length);
      frame.write(header, 0, 'latin1');
      frame.write(body, header.length, 'utf8');
    } catch (err) {
      // Params that cannot be serialised (a BigInt, a cycle): this message fails, not the connection.
      this.#failed(err as Error, msg, reject);
      return;
    }
    this.#writable.write(frame, (err) => (err ? this.#failed(err, msg, reject) : resolve()));
  }

  #failed(err: Error, msg: Message, reject: (err: Error) => void): void {
    this.fireError(err, msg, ++this.#errors);
    reject(err);
  }

  #failWaiting(err: Error): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) this.#failed(err, w.msg, w.reject);
  }

  end(): void {
    this.#writable.end();
  }
}
