/** What every handler gets besides its params: cancellation, progress, and the server's shared parts. */
import type { CancellationToken } from 'vscode-jsonrpc/node';
import type { OperationContext } from '../datastore/datastore.js';
import { RequestCancelled } from '../model/errors.js';

export interface Progress {
  begin(title: string, message?: string): void;
  report(percentage: number, message?: string): void;
  end(message?: string): void;
}

export const NO_PROGRESS: Progress = { begin() {}, report() {}, end() {} };

/** A session's call stops at its next check once the server gives up waiting for it (shutdown, exit). */
export interface Abandonable {
  readonly abandoned: boolean;
}

export class RequestContext implements OperationContext {
  constructor(
    readonly method: string,
    private readonly token: CancellationToken,
    readonly work: Progress,
    private readonly session?: Abandonable,
  ) {}

  /**
   * Throws -32800 if the client cancelled, or the server closed the session under the call.
   * Called before and after every await that matters; a put checks it last before its file
   * is published, so an abandoned put leaves nothing the session's provenance does not name.
   */
  checkCancelled(): void {
    if (this.token.isCancellationRequested) throw new RequestCancelled('Request cancelled');
    if (this.session?.abandoned) throw new RequestCancelled('Request cancelled: the server closed its session (shutdown or exit) before it finished');
  }

  progress(fraction: number, message?: string): void {
    this.work.report(Math.max(0, Math.min(100, Math.round(fraction * 100))), message);
  }
}
