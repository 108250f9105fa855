/**
 * The client's message reader: vscode-jsonrpc's stream reader, with the event stream
 * (`butler/provenance`) taken off as messages are read. vscode-jsonrpc's connection handles
 * one message per event-loop turn, so each event cost a call a turn of its own; here an
 * event goes straight to its listener, synchronously and in the order read. Since the
 * sidecar writes a call's events before its response, a call's events have all reached
 * their listeners before its promise settles (sooner than through the connection).
 * A batch (`butler/provenanceBatch`, which the client asks for) is handed on event by event.
 */
import type { DataCallback, Disposable, Event, MessageReader, PartialMessageInfo } from 'vscode-jsonrpc/node';

export class EventTapReader implements MessageReader {
  constructor(
    private readonly inner: MessageReader,
    private readonly method: string,
    private readonly batchMethod: string,
    private readonly tap: (params: unknown) => void,
  ) {}

  get onError(): Event<Error> {
    return this.inner.onError;
  }

  get onClose(): Event<void> {
    return this.inner.onClose;
  }

  get onPartialMessage(): Event<PartialMessageInfo> {
    return this.inner.onPartialMessage;
  }

  listen(callback: DataCallback): Disposable {
    return this.inner.listen((message) => {
      const m = message as { method?: unknown; id?: unknown; params?: unknown };
      if (m.id !== undefined || typeof m.method !== 'string') callback(message);
      else if (m.method === this.method) this.tap(m.params);
      else if (m.method === this.batchMethod) for (const e of (m.params as { events: unknown[] }).events) this.tap(e);
      else callback(message);
    });
  }

  dispose(): void {
    this.inner.dispose();
  }
}
