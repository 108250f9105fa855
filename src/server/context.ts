/** What every handler gets besides its params: cancellation, progress, and the server's shared parts. */
import type { CancellationToken } from 'vscode-jsonrpc/node';
import type { OperationContext } from '../datastore/datastore.js';
import { cancelledError } from './errors.js';

export interface Progress {
  begin(title: string, message?: string): void;
  report(percentage: number, message?: string): void;
  end(message?: string): void;
}

export const NO_PROGRESS: Progress = { begin() {}, report() {}, end() {} };

export class RequestContext implements OperationContext {
  constructor(
    readonly method: string,
    private readonly token: CancellationToken,
    readonly work: Progress,
  ) {}

  /** Throws -32800 if the client cancelled. Called before and after every await that matters. */
  checkCancelled(): void {
    if (this.token.isCancellationRequested) throw cancelledError();
  }

  progress(fraction: number, message?: string): void {
    this.work.report(Math.max(0, Math.min(100, Math.round(fraction * 100))), message);
  }
}
