/**
 * How a method is declared: its name, its zod params and result schemas, and a
 * vscode-jsonrpc type constant, so servers and clients share one definition
 * (the pattern of vscode-languageserver-protocol).
 */
import { NotificationType, ParameterStructures, RequestType } from 'vscode-jsonrpc';
import type { z } from 'zod';

export interface RequestDef<P extends z.ZodType, R extends z.ZodType> {
  readonly kind: 'request';
  readonly method: string;
  readonly params: P;
  readonly result: R;
  readonly type: RequestType<z.input<P>, z.output<R>, unknown>;
  readonly summary: string;
}

export interface NotificationDef<P extends z.ZodType> {
  readonly kind: 'notification';
  readonly method: string;
  readonly params: P;
  readonly type: NotificationType<z.output<P>>;
  readonly summary: string;
  /** 'in' = client to sidecar, 'out' = sidecar to client. */
  readonly direction: 'in' | 'out';
}

export function request<P extends z.ZodType, R extends z.ZodType>(
  method: string,
  params: P,
  result: R,
  summary: string,
): RequestDef<P, R> {
  return {
    kind: 'request',
    method,
    params,
    result,
    summary,
    type: new RequestType<z.input<P>, z.output<R>, unknown>(method, ParameterStructures.byName),
  };
}

export function notification<P extends z.ZodType>(
  method: string,
  params: P,
  direction: 'in' | 'out',
  summary: string,
): NotificationDef<P> {
  return {
    kind: 'notification',
    method,
    params,
    direction,
    summary,
    type: new NotificationType<z.output<P>>(method, ParameterStructures.byName),
  };
}

export type ParamsOf<D> = D extends RequestDef<infer P, z.ZodType> ? z.input<P> : D extends NotificationDef<infer P> ? z.input<P> : never;
export type ResultOf<D> = D extends RequestDef<z.ZodType, infer R> ? z.output<R> : never;
