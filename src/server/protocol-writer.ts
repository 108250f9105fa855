/**
 * The server's message writer: each message leaves as one buffer (header and body
 * together), handed to the output in call order without waiting. vscode-jsonrpc's stream
 * writer serialises writes through a semaphore and several promise hops per message,
 * which under a pipelined load cost about as much as handling a small request. The output
 * (the stdout guard) batches what is written in one event-loop turn into one system call.
 */
import { AbstractMessageWriter, type Message, type MessageWriter } from 'vscode-jsonrpc/node';
import type { Writable } from 'node:stream';

const WRITTEN: Promise<void> = Promise.resolve();

export class ProtocolWriter extends AbstractMessageWriter implements MessageWriter {
  private errors = 0;

  constructor(private readonly out: Writable) {
    super();
    out.on('error', (err: Error) => this.fireError(err, undefined, ++this.errors));
    out.on('close', () => this.fireClose());
  }

  write(msg: Message): Promise<void> {
    let body: string;
    try {
      body = JSON.stringify(msg);
    } catch (err) {
      this.fireError(err, msg, ++this.errors);
      return Promise.reject(err as Error);
    }
    if (!this.out.writable) {
      const err = new Error('The protocol output is closed.');
      this.fireError(err, msg, ++this.errors);
      return Promise.reject(err);
    }
    const length = Buffer.byteLength(body, 'utf8');
    const header = `Content-Length: ${length}\r\n\r\n`;
    const buf = Buffer.allocUnsafe(header.length + length);
    buf.write(header, 0, 'latin1');
    buf.write(body, header.length, 'utf8');
    this.out.write(buf);
    return WRITTEN;
  }

  end(): void {
    this.out.end();
  }
}
