/**
 * The server's end of the JSON-RPC connection: messages from the reader are queued as they
 * are read, requests go to one request handler with a cancellation token, notifications to
 * one notification handler, and answers leave through the writer.
 *
 * It keeps the semantics of vscode-jsonrpc's connection, which it replaces on the server
 * (the client keeps the library's): messages are handled in the order read, handlers run
 * concurrently, a `$/cancelRequest` cancels the token of a running request and is never
 * handed to the notification handler, and a request cancelled while still queued runs with
 * a token that is already cancelled. What differs is the pace: the library handles one
 * message per event-loop turn, which under a pipelined load cost about a tenth of the
 * server's time; here a turn works through up to BATCH queued messages, each started once
 * the one before has done all it can without I/O (as if it had had a turn of its own). A
 * message that carries an id but is neither a request nor a response gets -32600 (the
 * library dropped it).
 *
 * Flow control: no request starts while the writer is congested (the host is not reading
 * its answers) or while `maxInFlight` requests are unanswered; input is not read while the
 * writer is congested or `maxInFlight` messages wait to start. The host's writes then
 * block on the full pipe, which is what bounds the sidecar's memory.
 */
import { CancellationTokenSource, Emitter, ResponseError, type CancellationToken, type Event } from 'vscode-jsonrpc/node';
import type { ErrorData } from '../../protocol/errors.js';
import type { BatchForm, ProtocolWriter } from './protocol-writer.js';
import type { Id, Incoming, ProtocolReader } from './protocol-reader.js';
import { RawId, SplicedJson } from './spliced-json.js';
import { rpcError } from './errors.js';
import { nextTick } from '../util/node-globals.js';

/** Messages handled per event-loop turn before input and timers get their turn. */
const BATCH = 16;
const CANCEL_METHOD = '$/cancelRequest';

interface Request {
  id: Id;
  method: string;
  params?: unknown;
}
interface Notification {
  method: string;
  params?: unknown;
}

/** `escapeFree`: the request's body held no escape (see Incoming). */
export type RequestHandler = (method: string, params: unknown, token: CancellationToken, escapeFree: boolean) => Promise<unknown>;
export type NotificationHandler = (method: string, params: unknown) => void;

/** Something the server should log; `fatal` ones end the connection (the server exits). */
export interface ConnectionProblem {
  message: string;
  fatal: boolean;
}

function isId(id: unknown): id is Id {
  return typeof id === 'number' || typeof id === 'string' || id instanceof RawId;
}

/** Requests by id; a raw id is told apart from a string id of the same text. */
function idKey(id: Id): number | string {
  return id instanceof RawId ? `\u0000raw:${id.text}` : id;
}

export class ServerConnection {
  private readonly queue: Array<Request | Notification> = [];
  /** Beside each queued message: its body held no escape (kept apart: a client's member cannot claim it). */
  private readonly escapeFree: boolean[] = [];
  private head = 0;
  /** A turn is scheduled or under way (until the queue is empty or flow control stops it). */
  private active = false;
  /** Messages this turn may still handle. */
  private budget = 0;
  /** Requests being handled, by id key: where a `$/cancelRequest` lands. */
  private readonly running = new Map<number | string, CancellationTokenSource>();
  /** Ids cancelled while their request was still queued. */
  private readonly cancelledEarly = new Set<number | string>();
  private readonly problemEmitter = new Emitter<ConnectionProblem>();
  private readonly closeEmitter = new Emitter<void>();
  private closed = false;

  constructor(
    private readonly reader: ProtocolReader,
    private readonly writer: ProtocolWriter,
    private readonly onRequest: RequestHandler,
    private readonly onNotification: NotificationHandler,
    private readonly limits: { maxInFlight: number; maxMessageBytes: number },
  ) {
    writer.onDrain(() => this.flow());
    writer.onError((err) => this.problemEmitter.fire({ message: `cannot write to the host (stdout): ${err.message}`, fatal: true }));
  }

  /** Problems to log; after a fatal one nothing more is read or answered. */
  get onProblem(): Event<ConnectionProblem> {
    return this.problemEmitter.event;
  }

  /** Input closed. Requests already read are still handled and answered. */
  get onClose(): Event<void> {
    return this.closeEmitter.event;
  }

  /** Messages read but not yet handled, or requests not yet answered. */
  get busy(): boolean {
    return this.head < this.queue.length || this.running.size > 0;
  }

  get inFlight(): number {
    return this.running.size;
  }

  listen(): void {
    this.reader.listen(
      (incoming) => this.incoming(incoming),
      (err) => this.problemEmitter.fire({ message: `cannot read from the host (stdin): ${err.message}`, fatal: true }),
      () => this.close(),
    );
  }

  sendNotification(method: string, params?: unknown): void {
    this.writer.write(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
  }

  /** One item of a batched notification (ProtocolWriter.writeBatched), with its JSON text when the sender has it and it is all ASCII. */
  sendBatched(method: string, item: unknown, asciiText?: string): void {
    this.writer.writeBatched(method, item, asciiText);
  }

  /** One item of a batched notification written in `form` (ProtocolWriter.writeInForm). */
  sendInForm<T>(form: BatchForm<T>, item: T): void {
    this.writer.writeInForm(form, item);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeEmitter.fire();
  }

  private incoming(incoming: Incoming): void {
    switch (incoming.kind) {
      case 'message':
        return this.enqueue(incoming.message, incoming.escapeFree);
      case 'unparsable':
        this.problemEmitter.fire({ message: `unparsable message: ${incoming.reason}`, fatal: false });
        return this.refuse(incoming.id, rpcError('ParseError', `Parse error: ${incoming.reason}`));
      case 'tooLarge': {
        const what = incoming.method === undefined ? 'A message' : `A ${incoming.method} message`;
        const max = this.limits.maxMessageBytes;
        const message = `${what} of ${incoming.bytes} bytes is over the limit of ${max} (--max-message-bytes); it was skipped unread. Send large values as files (encoding "file").`;
        this.problemEmitter.fire({ message, fatal: false });
        return this.refuse(incoming.id, rpcError('MessageTooLarge', message, { details: { size: incoming.bytes, maxMessageBytes: max } }));
      }
      case 'broken':
        // Where the next message starts is lost: say so, then the server ends the process.
        this.answerError(null, rpcError('FramingError', incoming.error.message));
        this.problemEmitter.fire({ message: `${incoming.error.message} Cannot continue.`, fatal: true });
    }
  }

  private enqueue(raw: unknown, escapeFree: boolean): void {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      this.invalid(null, Array.isArray(raw) ? 'Batch requests are not supported.' : 'A message must be a JSON object.');
      return;
    }
    const msg = raw as { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
    if (typeof msg.method === 'string') {
      if (msg.id === undefined) {
        // A cancellation acts now, also on a request queued behind others read in the same chunk.
        if (msg.method === CANCEL_METHOD) return this.cancel((msg.params as { id?: unknown } | undefined)?.id);
        this.push(msg as Notification, escapeFree);
      } else if (isId(msg.id)) {
        this.push(msg as Request, escapeFree);
      } else {
        this.invalid(null, 'A request id must be a number or a string.');
      }
      return;
    }
    if (msg.result !== undefined || msg.error !== undefined) return; // an answer: the server sends no requests
    this.invalid(isId(msg.id) ? msg.id : null, 'A message needs a method (request or notification) or a result or error (response).');
  }

  private push(msg: Request | Notification, escapeFree: boolean): void {
    this.queue.push(msg);
    this.escapeFree.push(escapeFree);
    this.flow();
  }

  /** Start a turn if there is work and flow control allows it; pause or resume input to match. */
  private flow(): void {
    const waiting = this.queue.length - this.head;
    if (waiting > 0 && !this.active && this.mayStart()) {
      // Once the chunk being read is parsed (a cancellation read with its request still
      // finds it queued), in this turn: an idle connection answers without waiting a turn.
      this.active = true;
      nextTick(this.work);
    }
    if (this.writer.congested || waiting >= this.limits.maxInFlight) this.reader.pause();
    else this.reader.resume();
  }

  private mayStart(): boolean {
    return !this.writer.congested && this.running.size < this.limits.maxInFlight;
  }

  /** A turn of the event loop: handle up to BATCH messages, then let input and timers in. */
  private readonly work = (): void => {
    this.budget = BATCH;
    this.next();
  };

  private readonly next = (): void => {
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.escapeFree.length = 0;
      this.head = 0;
      this.active = false;
      this.flow();
      return;
    }
    if (!this.mayStart()) {
      // Resumed by flow() when an answer is written or the output drains.
      this.active = false;
      this.flow();
      return;
    }
    if (this.budget-- === 0) {
      // Under a steady load the queue may never run empty: drop what has been handled.
      if (this.head >= 1024) {
        this.queue.splice(0, this.head);
        this.escapeFree.splice(0, this.head);
        this.head = 0;
      }
      setImmediate(this.work);
      return;
    }
    const msg = this.queue[this.head]!;
    const escapeFree = this.escapeFree[this.head]!;
    this.queue[this.head++] = undefined as never; // let it go once handled
    if (this.reader.isPaused) this.flow(); // room in the queue again: read on
    if ('id' in msg) void this.handleRequest(msg, escapeFree);
    else this.handleNotification(msg);
    // The next message waits until this one has done all it can without I/O (every promise
    // continuation it queued has run), as it would with a turn of its own: a session/open
    // pipelined with calls on that session is open before they run.
    queueMicrotask(this.nextAfterMicrotasks);
  };

  /** Queued as a microtask, it runs once the microtasks queued before it have; its tick, after all of them. */
  private readonly nextAfterMicrotasks = (): void => nextTick(this.next);

  private cancel(id: unknown): void {
    if (!isId(id)) return;
    const key = idKey(id);
    const running = this.running.get(key);
    if (running) running.cancel();
    else if (this.queued(key)) this.cancelledEarly.add(key);
  }

  private queued(key: number | string): boolean {
    for (let i = this.head; i < this.queue.length; i++) {
      const m = this.queue[i]!;
      if ('id' in m && idKey(m.id) === key) return true;
    }
    return false;
  }

  private async handleRequest(msg: Request, escapeFree: boolean): Promise<void> {
    const key = idKey(msg.id);
    if (this.running.has(key)) {
      // Two requests under one id could not be told apart by the host, nor by a cancellation,
      // and the first to finish would drop the other from the requests in flight (so from
      // --max-in-flight's count, and from what the end of input waits for).
      this.refuse(msg.id, rpcError('InvalidRequest', `Invalid request: id ${msg.id instanceof RawId ? msg.id.text : JSON.stringify(msg.id)} is still in use by a request not yet answered; ids must be unique among requests in flight.`));
      return;
    }
    const source = new CancellationTokenSource();
    if (this.cancelledEarly.delete(key)) source.cancel();
    this.running.set(key, source);
    try {
      const result = await this.onRequest(msg.method, msg.params, source.token, escapeFree);
      this.answer(msg.id, result === undefined ? null : result);
    } catch (err) {
      const error =
        err instanceof ResponseError
          ? (err.toJson() as { code: number; message: string; data?: ErrorData })
          : rpcError('InternalError', `Request ${msg.method} failed with message: ${err instanceof Error ? err.message : String(err)}`).toJson();
      // Every error carries a kind, whoever made it.
      if (typeof error.data?.kind !== 'string') error.data = { ...(error.data ?? {}), kind: 'InternalError', retryable: false };
      this.writeSafely({ jsonrpc: '2.0', id: msg.id, error });
    } finally {
      this.running.delete(key);
      source.dispose();
      this.flow();
      // The last answer owed: nothing else is coming to coalesce it with.
      if (!this.busy) this.writer.flush();
    }
  }

  private handleNotification(msg: Notification): void {
    try {
      this.onNotification(msg.method, msg.params);
    } catch (err) {
      this.problemEmitter.fire({ message: `notification ${msg.method} failed: ${err instanceof Error ? err.message : String(err)}`, fatal: false });
    }
  }

  private invalid(id: Id | null, why: string): void {
    this.refuse(id, rpcError('InvalidRequest', `Invalid request: ${why}`));
  }

  /**
   * Answer a message that never becomes a request, then flow control as for any answer: a host
   * that sends such messages and reads nothing fills the output, and then input stops being read.
   */
  private refuse(id: Id | null, error: ResponseError<ErrorData>): void {
    this.answerError(id, error);
    this.flow();
  }

  private answerError(id: Id | null, error: ResponseError<ErrorData>): void {
    this.writeSafely({ jsonrpc: '2.0', id, error: error.toJson() });
  }

  /** A result that cannot be serialised (a bug) is answered with InternalError instead. */
  private answer(id: Id, result: unknown): void {
    try {
      if (result instanceof SplicedJson && typeof id !== 'object') this.writer.writeResult(id, result);
      else this.writer.write({ jsonrpc: '2.0', id, result });
    } catch (err) {
      this.answerError(id, rpcError('InternalError', `Internal error: the result could not be serialised: ${(err as Error).message}`));
    }
  }

  private writeSafely(message: unknown): void {
    try {
      this.writer.write(message);
    } catch (err) {
      this.problemEmitter.fire({ message: `an answer could not be written: ${(err as Error).message}`, fatal: false });
    }
  }
}
