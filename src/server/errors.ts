/** Maps domain errors (and zod and unexpected errors) to JSON-RPC errors with a stable data.kind. */
import { ResponseError } from 'vscode-jsonrpc/node';
import { ZodError } from 'zod';
import { ErrorKinds, RpcErrorCodes, type ErrorData, type ErrorKind } from '../../protocol/errors.js';
import { ButlerError } from '../model/errors.js';

export function rpcError(kind: ErrorKind, message: string, extra: Omit<ErrorData, 'kind' | 'retryable'> = {}): ResponseError<ErrorData> {
  const { code, retryable } = ErrorKinds[kind];
  return new ResponseError<ErrorData>(code, message, { kind, retryable, ...extra });
}

export function toResponseError(err: unknown, sessionId?: string): ResponseError<ErrorData> {
  if (err instanceof ResponseError) return err as ResponseError<ErrorData>;
  if (err instanceof ZodError) {
    const first = err.issues[0];
    const where = first && first.path.length ? ` at ${first.path.join('.')}` : '';
    return rpcError('InvalidParams', `Invalid params${where}: ${first?.message ?? 'invalid'}`, {
      issues: err.issues.map((i) => ({ path: i.path, code: i.code, message: i.message })),
    });
  }
  if (err instanceof ButlerError) {
    const extra: Omit<ErrorData, 'kind' | 'retryable'> = {};
    const sid = err.context.sessionId ?? sessionId;
    if (sid !== undefined) extra.sessionId = sid;
    if (err.context.datasetId !== undefined) extra.datasetId = err.context.datasetId;
    if (err.context.details !== undefined) extra.details = err.context.details;
    if (err.kind === 'PayloadTooLarge' && typeof (err.context.details as { maxInlineBytes?: number })?.maxInlineBytes === 'number') {
      extra.maxInlineBytes = (err.context.details as { maxInlineBytes: number }).maxInlineBytes;
    }
    // A retryable error may say when a retry is worth it (StoreBusy, RegistryUnavailable).
    if (ErrorKinds[err.kind].retryable && typeof (err.context.details as { retryAfterMs?: number })?.retryAfterMs === 'number') {
      extra.retryAfterMs = (err.context.details as { retryAfterMs: number }).retryAfterMs;
    }
    return rpcError(err.kind, err.message, extra);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return new ResponseError<ErrorData>(RpcErrorCodes.InternalError, `Internal error: ${e.message}`, {
    kind: 'InternalError',
    retryable: false,
    ...(sessionId ? { sessionId } : {}),
    details: { name: e.name },
  });
}

