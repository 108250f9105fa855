/**
 * How a method is declared: its name, its zod params and result schemas, and a
 * vscode-jsonrpc type constant, so servers and clients share one definition
 * (the pattern of vscode-languageserver-protocol).
 */
import { NotificationType, NotificationType0, ParameterStructures, RequestType, RequestType0 } from 'vscode-jsonrpc';
import type * as z from 'zod';

export interface RequestDef<P extends z.ZodType, R extends z.ZodType> {
  readonly kind: 'request';
  readonly method: string;
  readonly params: P;
  readonly result: R;
  /** Zero-param methods (shutdown, server/ping, ...) are sent without params. */
  readonly type: RequestType<z.input<P>, z.output<R>, unknown> | RequestType0<z.output<R>, unknown>;
  readonly summary: string;
}

export interface NotificationDef<P extends z.ZodType> {
  readonly kind: 'notification';
  readonly method: string;
  readonly params: P;
  readonly type: NotificationType<z.output<P>> | NotificationType0;
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

/** A request that takes no params (the params schema accepts absence, null or {}). */
export function request0<P extends z.ZodType, R extends z.ZodType>(
  method: string,
  params: P,
  result: R,
  summary: string,
): RequestDef<P, R> {
  return { kind: 'request', method, params, result, summary, type: new RequestType0<z.output<R>, unknown>(method) };
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

export function notification0<P extends z.ZodType>(
  method: string,
  params: P,
  direction: 'in' | 'out',
  summary: string,
): NotificationDef<P> {
  return { kind: 'notification', method, params, direction, summary, type: new NotificationType0(method) };
}

export type ParamsOf<D> = D extends RequestDef<infer P, z.ZodType> ? z.input<P> : D extends NotificationDef<infer P> ? z.input<P> : never;
export type ResultOf<D> = D extends RequestDef<z.ZodType, infer R> ? z.output<R> : never;
