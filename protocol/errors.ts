/**
 * Error codes and kinds: the stable part of every error the sidecar sends.
 *
 * Codes outside JSON-RPC's reserved range (-32768..-32000) and LSP's (-32899..-32800)
 * are ours; each maps to one `data.kind`. Clients switch on `code` or `data.kind`,
 * never on `message`.
 */
import * as z from 'zod';

/** Standard JSON-RPC / LSP codes we use as they are. */
export const RpcErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  ServerNotInitialized: -32002,
  RequestCancelled: -32800,
  RequestFailed: -32803,
} as const;

/** Every domain error kind, with its stable code and whether a retry may help. */
export const ErrorKinds = {
  SessionNotFound: { code: 1001, retryable: false },
  DatasetNotFound: { code: 1002, retryable: false },
  NotPredictedOutput: { code: 1003, retryable: false },
  PayloadTooLarge: { code: 1004, retryable: false },
  TooManySessions: { code: 1005, retryable: true },
  DatasetAlreadyStored: { code: 1006, retryable: false },
  UnknownParameter: { code: 1007, retryable: false },
  InvalidPruneArguments: { code: 1008, retryable: false },
  StorageClassMismatch: { code: 1009, retryable: false },
  UnknownStorageClass: { code: 1010, retryable: false },
  UnknownComponent: { code: 1011, retryable: false },
  SessionConflict: { code: 1012, retryable: false },
  DeferredHandleNotFound: { code: 1013, retryable: false },
  KeyNotFound: { code: 1014, retryable: false },
  InvalidKey: { code: 1015, retryable: false },
  TransactionNotFound: { code: 1016, retryable: false },
  IOFailure: { code: 1017, retryable: true },
  CannotPruneInput: { code: 1018, retryable: false },
  PredictedRefMismatch: { code: 1019, retryable: false },
  InvalidValue: { code: 1020, retryable: false },
  ReadOnlyStore: { code: 1021, retryable: false },
  UnknownDatasetType: { code: 1022, retryable: false },
  InvalidDatasetRef: { code: 1023, retryable: false },
  NotPredictedInput: { code: 1024, retryable: false },
  StoreBusy: { code: 1025, retryable: true },
  RepositoryError: { code: 1026, retryable: false },
  ConflictingDefinition: { code: 1027, retryable: false },
  InvalidArgument: { code: 1028, retryable: false },
  RegistryUnavailable: { code: 1029, retryable: true },
  RegistrySchemaMissing: { code: 1030, retryable: false },
  RegistrySchemaMismatch: { code: 1031, retryable: false },
  ChecksumMismatch: { code: 1032, retryable: false },
  /** Transport: a frame over --max-message-bytes, skipped unread. */
  MessageTooLarge: { code: 1035, retryable: false },
  DimensionNameError: { code: 1045, retryable: false },
  DimensionValueError: { code: 1046, retryable: false },
  InconsistentUniverse: { code: 1047, retryable: false },
  FileExists: { code: 1050, retryable: false },
  // Protocol-level kinds carried on standard codes.
  InvalidParams: { code: RpcErrorCodes.InvalidParams, retryable: false },
  MethodNotFound: { code: RpcErrorCodes.MethodNotFound, retryable: false },
  ParseError: { code: RpcErrorCodes.ParseError, retryable: false },
  /** Transport: a header that cannot be read; the stream is lost and the sidecar exits. */
  FramingError: { code: RpcErrorCodes.ParseError, retryable: false },
  InvalidRequest: { code: RpcErrorCodes.InvalidRequest, retryable: false },
  UnsupportedProtocolVersion: { code: RpcErrorCodes.InvalidParams, retryable: false },
  ServerNotInitialized: { code: RpcErrorCodes.ServerNotInitialized, retryable: true },
  ShutdownInProgress: { code: RpcErrorCodes.InvalidRequest, retryable: false },
  AlreadyInitialized: { code: RpcErrorCodes.InvalidRequest, retryable: false },
  RequestCancelled: { code: RpcErrorCodes.RequestCancelled, retryable: true },
  InternalError: { code: RpcErrorCodes.InternalError, retryable: false },
} as const;

export type ErrorKind = keyof typeof ErrorKinds;

export const ErrorKindSchema = z.enum(Object.keys(ErrorKinds) as [ErrorKind, ...ErrorKind[]]);

/** The `data` member of every error response. */
export const ErrorDataSchema = z.object({
  kind: ErrorKindSchema,
  retryable: z.boolean(),
  sessionId: z.string().optional(),
  datasetId: z.string().optional(),
  details: z.unknown().optional(),
  supported: z.array(z.string()).optional().describe('UnsupportedProtocolVersion only: versions the server speaks'),
  maxInlineBytes: z.number().int().optional().describe('PayloadTooLarge only'),
  retryAfterMs: z.number().int().optional().describe('StoreBusy, RegistryUnavailable: a retry before this many milliseconds will likely fail again'),
  issues: z.array(z.unknown()).optional().describe('InvalidParams only: zod issues'),
});
export type ErrorData = z.infer<typeof ErrorDataSchema>;

export function codeOf(kind: ErrorKind): number {
  return ErrorKinds[kind].code;
}
