/**
 * The server's message reader: Content-Length framing and JSON parsing done synchronously
 * as bytes arrive, each message handed on at once, in order. vscode-jsonrpc's stream
 * reader decodes every message through a semaphore and promise hops (and re-arms a timer
 * whenever a body is split across chunks), which under a pipelined load costs a tenth of
 * a small request. Errors are reported as the library's reader reports them: a body that
 * is not JSON is a SyntaxError (the next message is read normally); a malformed header
 * is an Error after which the stream is out of step, so nothing more is read.
 */
import { AbstractMessageReader, Disposable, type DataCallback, type Message, type MessageReader } from 'vscode-jsonrpc/node';
import type { Readable } from 'node:stream';

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
/** A header block longer than this is garbage, not a header: stop rather than buffer it forever. */
const MAX_HEADER_BYTES = 64 * 1024;

export class ProtocolReader extends AbstractMessageReader implements MessageReader {
  /** Bytes not yet consumed (a header or body split across chunks), kept as received until a message is complete. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the body being waited for, or -1 while reading a header. */
  private bodyLength = -1;
  private broken = false;

  constructor(private readonly input: Readable) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    const onData = (chunk: Buffer): void => this.onData(chunk, callback);
    const onError = (err: Error): void => this.fireError(err);
    const onClose = (): void => this.fireClose();
    this.input.on('data', onData);
    this.input.on('error', onError);
    this.input.on('close', onClose);
    return Disposable.create(() => {
      this.input.off('data', onData);
      this.input.off('error', onError);
      this.input.off('close', onClose);
    });
  }

  private onData(chunk: Buffer, callback: DataCallback): void {
    if (this.broken) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    // A large body arrives in many chunks: join them once, when it is complete.
    if (this.bodyLength >= 0 && this.buffered < this.bodyLength) return;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    let pos = 0;
    for (;;) {
      if (this.bodyLength < 0) {
        const end = buf.indexOf(HEADER_END, pos);
        if (end < 0) {
          if (buf.length - pos > MAX_HEADER_BYTES) {
            this.fireError(new Error(`Message header longer than ${MAX_HEADER_BYTES} bytes without its blank line.`));
            this.broken = true;
            this.chunks = [];
            this.buffered = 0;
            return;
          }
          break;
        }
        const length = this.contentLength(buf.toString('latin1', pos, end));
        if (length < 0) {
          this.broken = true;
          this.chunks = [];
          this.buffered = 0;
          return;
        }
        this.bodyLength = length;
        pos = end + HEADER_END.length;
      }
      if (buf.length - pos < this.bodyLength) break;
      const text = buf.toString('utf8', pos, pos + this.bodyLength);
      pos += this.bodyLength;
      this.bodyLength = -1;
      let message: Message;
      try {
        message = JSON.parse(text) as Message;
      } catch (err) {
        this.fireError(err);
        continue;
      }
      try {
        callback(message);
      } catch (err) {
        this.fireError(err);
      }
    }
    // A short tail is copied, so that it does not keep a large joined message alive.
    const rest = buf.length - pos < buf.length / 2 ? Buffer.from(buf.subarray(pos)) : buf.subarray(pos);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
  }

  /** The Content-Length of a header block, or -1 after reporting why there is none. */
  private contentLength(header: string): number {
    let value: string | undefined;
    for (const line of header.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) {
        this.fireError(new Error(`Message header must separate key and value using ':'\n${line}`));
        return -1;
      }
      if (line.slice(0, colon).trim().toLowerCase() === 'content-length') value = line.slice(colon + 1).trim();
    }
    if (value === undefined) {
      this.fireError(new Error(`Header must provide a Content-Length property.\n${JSON.stringify(header)}`));
      return -1;
    }
    const length = Number.parseInt(value, 10);
    if (Number.isNaN(length) || length < 0) {
      this.fireError(new Error(`Content-Length value must be a number. Got ${value}`));
      return -1;
    }
    return length;
  }
}
