/*
 * The client's MessageConnection, settling an answer as it is read. vscode-jsonrpc by default
 * queues every message read and handles one per setImmediate turn: each answer costs a queue
 * entry, a turn and a chain of promises before its request's promise settles. Told a
 * maxParallelism, it settles answers at once and queues only notifications and requests.
 * This module keeps what the host saw before, in order read:
 * - an answer read behind a notification (or a request) still waiting in the connection's
 *   queue is held until the connection has dispatched it, so a handler registered with
 *   onNotification sees a call's notifications before the call's promise settles;
 * - answers settle one after another: the next one read once the promise continuations of
 *   the one before have run, however deep (it waits for a tick queued from a microtask, which
 *   Node runs once the microtask queue is empty), so a host sees its answers in the order read
 *   as it did with one setImmediate turn each, without a turn of the event loop per answer.
 * (Not a doc comment: the module is internal, its .d.ts ships bare.)
 */
import { createMessageConnection, Message, type DataCallback, type Disposable, type MessageConnection, type MessageReader, type MessageWriter } from 'vscode-jsonrpc/node';

/** Any bound: the connection never delays a notification for want of a slot. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;
/** The connection may answer a cancellation of its own queued request without queueing it. */
const CANCEL = '$/cancelRequest';

export class InOrder {
  /** Messages read and not yet handed to the connection, in order. */
  #held: Message[] = [];
  /** The last message handed to the connection's queue and not yet dispatched (the queue is FIFO). */
  #queued: Message | null = null;
  /** An answer has settled and its continuations may still be running: the next one waits. */
  #answered = false;
  readonly #deliver: DataCallback;
  /** Queued as a microtask when an answer settles: a tick runs once every microtask queued meanwhile has. */
  readonly #afterAnswer = (): void => void process.nextTick(this.#next);
  readonly #next = (): void => {
    this.#answered = false;
    this.#pump();
  };

  constructor(deliver: DataCallback) {
    this.#deliver = deliver;
  }

  /** A message read: hand it to the connection now, or once what is ahead of it has been handled. */
  receive(message: Message): void {
    this.#held.push(message);
    if (this.#held.length === 1) this.#pump();
  }

  /** The connection has dispatched a queued message: release what was held behind it. */
  dispatched(message: Message): void {
    if (message !== this.#queued) return;
    this.#queued = null;
    this.#pump();
  }

  #pump(): void {
    const held = this.#held;
    while (held.length > 0) {
      const message = held[0]!;
      if (Message.isResponse(message)) {
        if (this.#queued !== null) return; // behind a notification still queued: dispatched() releases it
        if (this.#answered) return; // #next releases it once the answer before has been taken
        this.#answered = true;
        queueMicrotask(this.#afterAnswer);
      } else if ((message as { method?: unknown }).method !== CANCEL) {
        this.#queued = message;
      }
      held.shift();
      this.#deliver(message);
    }
  }
}

/** createMessageConnection with answers settled as read and the order read kept (see above). */
export function inOrderConnection(reader: MessageReader, writer: MessageWriter): MessageConnection {
  let order: InOrder | null = null;
  const ordered: MessageReader = {
    onError: (listener, thisArgs, disposables) => reader.onError(listener, thisArgs, disposables),
    onClose: (listener, thisArgs, disposables) => reader.onClose(listener, thisArgs, disposables),
    onPartialMessage: (listener, thisArgs, disposables) => reader.onPartialMessage(listener, thisArgs, disposables),
    listen(callback: DataCallback): Disposable {
      const o = (order = new InOrder(callback));
      return reader.listen((message) => o.receive(message));
    },
    dispose: () => reader.dispose(),
  };
  return createMessageConnection(ordered, writer, undefined, {
    maxParallelism: UNBOUNDED,
    messageStrategy: {
      handleMessage(message, next) {
        try {
          return next(message);
        } finally {
          order?.dispatched(message);
        }
      },
    },
  });
}
