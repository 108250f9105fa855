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
 */
import {
  CancellationTokenSource,
  Emitter,
  ResponseError,
  type CancellationToken,
  type Event,
  type Message,
  type MessageReader,
  type NotificationMessage,
  type RequestMessage,
  type ResponseMessage,
} from 'vscode-jsonrpc/node';
import type { ProtocolWriter } from './protocol-writer.js';
import { rpcError } from './errors.js';

/** Messages handled per event-loop turn before input and timers get their turn. */
const BATCH = 16;
const CANCEL_METHOD = '$/cancelRequest';

type Id = number | string;

/** A request as queued: its id checked. */
interface Request extends RequestMessage {
  id: Id;
}

export type RequestHandler = (method: string, params: unknown, token: CancellationToken) => Promise<unknown>;
export type NotificationHandler = (method: string, params: unknown) => void;

function isId(id: unknown): id is Id {
  return typeof id === 'number' || typeof id === 'string';
}

export class ServerConnection {
  private readonly queue: Array<Request | NotificationMessage> = [];
  private head = 0;
  /** A turn is scheduled or under way (until the queue is empty). */
  private active = false;
  /** Messages this turn may still handle. */
  private budget = 0;
  /** Requests being handled, by id: where a `$/cancelRequest` lands. */
  private readonly running = new Map<Id, CancellationTokenSource>();
  /** Ids cancelled while their request was still queued. */
  private readonly cancelledEarly = new Set<Id>();
  private readonly errorEmitter = new Emitter<[Error, Message | undefined]>();
  private readonly closeEmitter = new Emitter<void>();
  private closed = false;

  constructor(
    private readonly reader: MessageReader,
    private readonly writer: ProtocolWriter,
    private readonly onRequest: RequestHandler,
    private readonly onNotification: NotificationHandler,
  ) {
    reader.onError((err) => this.errorEmitter.fire([err, undefined]));
    reader.onClose(() => this.close());
    writer.onError(([err, msg]) => this.errorEmitter.fire([err, msg]));
    writer.onClose(() => this.close());
  }

  /** A reader error (message undefined) or a failed write (the message that failed). */
  get onError(): Event<[Error, Message | undefined]> {
    return this.errorEmitter.event;
  }

  /** Input or output closed. Requests already read are still handled and answered. */
  get onClose(): Event<void> {
    return this.closeEmitter.event;
  }

  /** Messages read but not yet handled, or requests not yet answered. */
  get busy(): boolean {
    return this.head < this.queue.length || this.running.size > 0;
  }

  listen(): void {
    this.reader.listen((msg) => this.enqueue(msg));
  }

  sendNotification(method: string, params?: unknown): Promise<void> {
    const msg: NotificationMessage = params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params: params as object };
    return this.writer.write(msg);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeEmitter.fire();
  }

  private enqueue(raw: Message): void {
    const msg = raw as Partial<RequestMessage & ResponseMessage>;
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.invalid(null, Array.isArray(msg) ? 'Batch requests are not supported.' : 'A message must be a JSON object.');
      return;
    }
    if (typeof msg.method === 'string') {
      if (msg.id === undefined) {
        // A cancellation acts now, also on a request queued behind others read in the same chunk.
        if (msg.method === CANCEL_METHOD) return this.cancel((msg.params as { id?: unknown } | undefined)?.id);
        this.push(msg as NotificationMessage);
      } else if (isId(msg.id)) {
        this.push(msg as Request);
      } else {
        this.invalid(null, 'A request id must be a number or a string.');
      }
      return;
    }
    if (msg.result !== undefined || msg.error !== undefined) return; // an answer: the server sends no requests
    this.invalid(isId(msg.id) ? msg.id : null, 'A message needs a method (request or notification) or a result or error (response).');
  }

  private push(msg: Request | NotificationMessage): void {
    this.queue.push(msg);
    if (!this.active) {
      this.active = true;
      setImmediate(this.work);
    }
  }

  /** A turn of the event loop: handle up to BATCH messages, then let input and timers in. */
  private readonly work = (): void => {
    this.budget = BATCH;
    this.next();
  };

  private readonly next = (): void => {
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      this.active = false;
      return;
    }
    if (this.budget-- === 0) {
      // Under a steady load the queue may never run empty: drop what has been handled.
      if (this.head >= 1024) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      setImmediate(this.work);
      return;
    }
    const msg = this.queue[this.head]!;
    this.queue[this.head++] = undefined as never; // let it go once handled
    if ('id' in msg) void this.handleRequest(msg);
    else this.handleNotification(msg);
    // The next message waits until this one has done all it can without I/O (every promise
    // continuation it queued has run), as it would with a turn of its own: a session/open
    // pipelined with calls on that session is open before they run.
    queueMicrotask(this.nextAfterMicrotasks);
  };

  /** Queued as a microtask, it runs once the microtasks queued before it have; its tick, after all of them. */
  private readonly nextAfterMicrotasks = (): void => process.nextTick(this.next);

  private cancel(id: unknown): void {
    if (!isId(id)) return;
    const running = this.running.get(id);
    if (running) running.cancel();
    else if (this.queued(id)) this.cancelledEarly.add(id);
  }

  private queued(id: Id): boolean {
    for (let i = this.head; i < this.queue.length; i++) {
      const m = this.queue[i]!;
      if ('id' in m && m.id === id) return true;
    }
    return false;
  }

  private async handleRequest(msg: Request): Promise<void> {
    const source = new CancellationTokenSource();
    if (this.cancelledEarly.delete(msg.id)) source.cancel();
    this.running.set(msg.id, source);
    try {
      const result = await this.onRequest(msg.method, msg.params, source.token);
      await this.answer({ jsonrpc: '2.0', id: msg.id, result: result === undefined ? null : (result as object) });
    } catch (err) {
      const error =
        err instanceof ResponseError
          ? err.toJson()
          : { code: -32603, message: `Request ${msg.method} failed with message: ${err instanceof Error ? err.message : String(err)}` };
      await this.answer({ jsonrpc: '2.0', id: msg.id, error });
    } finally {
      this.running.delete(msg.id);
      source.dispose();
    }
  }

  private handleNotification(msg: NotificationMessage): void {
    try {
      this.onNotification(msg.method, msg.params);
    } catch (err) {
      this.errorEmitter.fire([err instanceof Error ? err : new Error(String(err)), msg]);
    }
  }

  private invalid(id: Id | null, why: string): void {
    void this.answer({ jsonrpc: '2.0', id, error: rpcError('InvalidRequest', `Invalid request: ${why}`).toJson() });
  }

  /** A failed write is reported by the writer itself (onError); nothing more to do here. */
  private answer(msg: ResponseMessage): Promise<void> {
    return this.writer.write(msg).catch(() => {});
  }
}
