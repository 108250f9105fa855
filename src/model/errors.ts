/**
 * Typed domain errors. Every layer throws these; only the server turns them into
 * JSON-RPC errors (through the kind → code table in protocol/errors.ts).
 * Messages keep daf_butler's wording where a host may already match on it.
 */
import type { ErrorKind } from '../../protocol/errors.js';

export interface ErrorContext {
  sessionId?: string;
  datasetId?: string;
  details?: unknown;
}

export class ButlerError extends Error {
  readonly kind: ErrorKind;
  readonly context: ErrorContext;
  constructor(kind: ErrorKind, message: string, context: ErrorContext = {}) {
    super(message);
    this.name = kind;
    this.kind = kind;
    this.context = context;
  }
}

function kindError(kind: ErrorKind) {
  return class extends ButlerError {
    constructor(message: string, context: ErrorContext = {}) {
      super(kind, message, context);
    }
  };
}

// One class per kind, so callers can `instanceof` them and throw sites read well.
export const SessionNotFound = kindError('SessionNotFound');
export const DatasetNotFound = kindError('DatasetNotFound');
export const NotPredictedOutput = kindError('NotPredictedOutput');
export const NotPredictedInput = kindError('NotPredictedInput');
export const PayloadTooLarge = kindError('PayloadTooLarge');
export const TooManySessions = kindError('TooManySessions');
export const DatasetAlreadyStored = kindError('DatasetAlreadyStored');
export const UnknownParameter = kindError('UnknownParameter');
export const InvalidPruneArguments = kindError('InvalidPruneArguments');
export const StorageClassMismatch = kindError('StorageClassMismatch');
export const UnknownStorageClass = kindError('UnknownStorageClass');
export const UnknownComponent = kindError('UnknownComponent');
export const SessionConflict = kindError('SessionConflict');
export const DeferredHandleNotFound = kindError('DeferredHandleNotFound');
export const KeyNotFound = kindError('KeyNotFound');
export const InvalidKey = kindError('InvalidKey');
export const TransactionNotFound = kindError('TransactionNotFound');
export const IOFailure = kindError('IOFailure');
export const CannotPruneInput = kindError('CannotPruneInput');
export const PredictedRefMismatch = kindError('PredictedRefMismatch');
export const InvalidValue = kindError('InvalidValue');
export const ReadOnlyStore = kindError('ReadOnlyStore');
export const UnknownDatasetType = kindError('UnknownDatasetType');
export const InvalidDatasetRef = kindError('InvalidDatasetRef');
export const StoreBusy = kindError('StoreBusy');
export const RepositoryError = kindError('RepositoryError');
export const ConflictingDefinition = kindError('ConflictingDefinition');
export const InvalidArgument = kindError('InvalidArgument');
/** The registry's database server cannot be reached (down, refusing, or out of connections): retry later. */
export const RegistryUnavailable = kindError('RegistryUnavailable');
/** The registry has no schema where the repository says it is (never created, or the wrong database/schema). */
export const RegistrySchemaMissing = kindError('RegistrySchemaMissing');
/** The registry's schema version is not the one this sidecar uses. */
export const RegistrySchemaMismatch = kindError('RegistrySchemaMismatch');
/** An artifact's bytes do not match the checksum its record holds: the file was changed or damaged. */
export const ChecksumMismatch = kindError('ChecksumMismatch');
// daf_butler's DimensionNameError / DimensionValueError / InconsistentUniverseError.
export const DimensionNameError = kindError('DimensionNameError');
export const DimensionValueError = kindError('DimensionValueError');
export const InconsistentUniverse = kindError('InconsistentUniverse');
export const FileExists = kindError('FileExists');
/** The client cancelled the call, or the server closed its session under it (shutdown, exit). */
export const RequestCancelled = kindError('RequestCancelled');
