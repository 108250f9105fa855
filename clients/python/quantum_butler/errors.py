"""Exceptions raised by the quantum-butler Python client.

Every JSON-RPC error the sidecar sends becomes a :class:`QuantumButlerError`
carrying the stable ``code``, the ``message`` and the structured ``data``
(whose ``kind`` names the error). Where daf_butler's QuantumBackedButler raises a
builtin exception for the same situation, the subclass *also* inherits that
builtin, so code written against daf_butler keeps working::

    try:
        butler.get(ref)
    except FileNotFoundError:      # DatasetNotFoundError is one
        ...

Transport failures are not ``QuantumButlerError``: a dead sidecar raises
:class:`SidecarDied` (a ``ConnectionError``), a request that ran out of time
raises :class:`RequestTimeout` (a ``TimeoutError``).
"""
from __future__ import annotations

import concurrent.futures
from typing import Any, Dict, Mapping, Optional, Type

__all__ = [
    "QuantumButlerError",
    "DatasetNotFoundError",
    "NotPredictedOutputError",
    "InvalidPruneArgumentsError",
    "UnknownParameterError",
    "StorageClassMismatchError",
    "InvalidParamsError",
    "InvalidArgumentError",
    "InvalidDatasetRefError",
    "PredictedRefMismatchError",
    "SessionNotFoundError",
    "RequestCancelledError",
    "KeyNotFoundError",
    "MethodNotFoundError",
    "StoreBusyError",
    "MessageTooLargeError",
    "RegistryUnavailableError",
    "RegistrySchemaError",
    "ChecksumMismatchError",
    "DimensionNameError",
    "DimensionValueError",
    "InconsistentUniverseError",
    "FileExistsButlerError",
    "PayloadTooLargeError",
    "TooManySessionsError",
    "DatasetAlreadyStoredError",
    "UnknownStorageClassError",
    "UnknownComponentError",
    "SessionConflictError",
    "DeferredHandleNotFoundError",
    "InvalidKeyError",
    "TransactionNotFoundError",
    "IOFailureError",
    "CannotPruneInputError",
    "InvalidValueError",
    "ReadOnlyStoreError",
    "UnknownDatasetTypeError",
    "NotPredictedInputError",
    "RepositoryError",
    "ConflictingDefinitionError",
    "RegistrySchemaMissingError",
    "RegistrySchemaMismatchError",
    "ParseError",
    "FramingError",
    "InvalidRequestError",
    "UnsupportedProtocolVersionError",
    "ServerNotInitializedError",
    "ShutdownInProgressError",
    "AlreadyInitializedError",
    "InternalError",
    "SidecarDied",
    "RequestTimeout",
    "ProtocolError",
    "error_from_response",
    "ERROR_CLASSES",
]

# JSON-RPC / LSP codes used by the sidecar (protocol/errors.ts).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002
REQUEST_CANCELLED = -32800


class QuantumButlerError(Exception):
    """An error answered by the sidecar: ``code``, ``message`` and ``data``.

    ``kind`` is ``data["kind"]`` (e.g. ``"DatasetNotFound"``); switch on it or on
    ``code``, never on the message text.
    """

    def __init__(self, code: int, message: str, data: Optional[Mapping[str, Any]] = None):
        # One positional argument only: OSError subclasses would otherwise read
        # (code, message) as (errno, strerror).
        super().__init__(message)
        self.code = code
        self.message = message
        self.data: Dict[str, Any] = dict(data) if data else {}

    @property
    def kind(self) -> Optional[str]:
        kind = self.data.get("kind")
        return kind if isinstance(kind, str) else None

    @property
    def retryable(self) -> bool:
        return bool(self.data.get("retryable", False))

    @property
    def details(self) -> Any:
        return self.data.get("details")

    @property
    def session_id(self) -> Optional[str]:
        return self.data.get("sessionId")

    @property
    def dataset_id(self) -> Optional[str]:
        return self.data.get("datasetId")

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.message

    def __repr__(self) -> str:
        return "%s(code=%r, kind=%r, message=%r)" % (type(self).__name__, self.code, self.kind, self.message)

    def __reduce__(self):  # picklable despite the 3-argument constructor
        return (type(self), (self.code, self.message, self.data))


class DatasetNotFoundError(QuantumButlerError, FileNotFoundError):
    """The dataset is not stored (daf_butler raises FileNotFoundError)."""


class NotPredictedOutputError(QuantumButlerError, RuntimeError):
    """``put`` of a ref that is not a predicted output (daf_butler: RuntimeError)."""


class InvalidPruneArgumentsError(QuantumButlerError, TypeError):
    """pruneDatasets flag combination refused (daf_butler: TypeError)."""


class UnknownParameterError(QuantumButlerError, KeyError):
    """A read parameter the storage class does not know (daf_butler: KeyError)."""


class StorageClassMismatchError(QuantumButlerError, TypeError, ValueError):
    """The value does not fit the storage class, or no conversion exists.

    daf_butler raises TypeError for a value its storage class cannot coerce (a put) and
    ValueError for a read in a storage class the dataset's cannot convert to
    (DatasetType.overrideStorageClass); the sidecar says StorageClassMismatch for both, so this is both.
    """


class InvalidParamsError(QuantumButlerError, ValueError):
    """The request's params failed validation (-32602); ``data["issues"]`` has details."""


class InvalidArgumentError(QuantumButlerError, ValueError):
    """An argument was refused (bad path, malformed base64, ...)."""


class InvalidDatasetRefError(QuantumButlerError, ValueError):
    """A ref (or dataset id) that cannot be parsed."""


class PredictedRefMismatchError(QuantumButlerError, ValueError):
    """The ref's id is predicted but its type, data ID or run differs from the prediction."""


class SessionNotFoundError(QuantumButlerError, LookupError):
    """No open session has this id (never opened, or closed)."""


class RequestCancelledError(QuantumButlerError, concurrent.futures.CancelledError):
    """The sidecar answered -32800: the request was cancelled."""


class KeyNotFoundError(QuantumButlerError, KeyError):
    """store/*: the key does not exist (encore raises KeyError)."""


class MethodNotFoundError(QuantumButlerError):
    """-32601: the sidecar does not implement this method."""


class FileExistsButlerError(QuantumButlerError, FileExistsError):
    """retrieve_artifacts: a destination file exists and ``overwrite`` is false (daf_butler: FileExistsError)."""


class StoreBusyError(QuantumButlerError):
    """A SQLite store or a repository's registry stayed locked by another writer (often another
    sidecar process) past the lock timeout. Nothing was written; retrying later may succeed."""

    @property
    def retry_after_ms(self) -> Optional[int]:
        """For a SQLite store: milliseconds before a retry is likely to find the lock free."""
        value = self.data.get("retryAfterMs")
        return value if isinstance(value, int) else None


class MessageTooLargeError(QuantumButlerError):
    """A message over the sidecar's ``--max-message-bytes``: refused from its header and skipped
    unread (nothing was done). Send the value as a file instead."""


class RegistryUnavailableError(QuantumButlerError, ConnectionError):
    """The repository's registry server (PostgreSQL) cannot be reached: down, refusing
    connections, or out of them. Nothing was written; retrying later may succeed."""


class RegistrySchemaError(QuantumButlerError, RuntimeError):
    """The registry has no schema where the repository says it is (RegistrySchemaMissing),
    or its schema version is not the sidecar's (RegistrySchemaMismatch)."""


class ChecksumMismatchError(QuantumButlerError, OSError):
    """A repository artifact's bytes do not match the checksum its record holds."""


class DimensionNameError(QuantumButlerError, KeyError):
    """A dimension the universe does not know, or a required dimension without a value
    (daf_butler's DimensionNameError is a KeyError)."""


class DimensionValueError(QuantumButlerError, ValueError):
    """A data ID value that does not fit its dimension's key type (e.g. an int for ``instrument``)."""


class InconsistentUniverseError(QuantumButlerError):
    """Refs or a repository from another dimension universe (daf_butler's InconsistentUniverseError)."""


class PayloadTooLargeError(QuantumButlerError):
    """A value over the sidecar's ``maxInlineBytes`` asked for inline (send or read it as a file)."""

    @property
    def max_inline_bytes(self) -> Optional[int]:
        value = self.data.get("maxInlineBytes")
        return value if isinstance(value, int) else None


class TooManySessionsError(QuantumButlerError):
    """The sidecar's session limit is reached; retrying after a session closes may succeed."""


class DatasetAlreadyStoredError(QuantumButlerError, FileExistsError):
    """The output is already stored with different content."""


class UnknownStorageClassError(QuantumButlerError, KeyError):
    """A storage class the session does not know (daf_butler's StorageClassFactory raises KeyError)."""


class UnknownComponentError(QuantumButlerError, KeyError):
    """A component the storage class does not have."""


class SessionConflictError(QuantumButlerError):
    """Re-opening a session id with different parameters."""


class DeferredHandleNotFoundError(QuantumButlerError, LookupError):
    """A deferred handle that does not exist (never issued, or its session closed)."""


class InvalidKeyError(QuantumButlerError, ValueError):
    """store/*: a key that is not a valid store key."""


class TransactionNotFoundError(QuantumButlerError, LookupError):
    """store/*: no open transaction has this id."""


class IOFailureError(QuantumButlerError, OSError):
    """The sidecar's file system failed (disk full, permissions...); retrying may succeed."""


class CannotPruneInputError(QuantumButlerError, ValueError):
    """pruneDatasets on a predicted input (only written outputs can be pruned)."""


class InvalidValueError(QuantumButlerError, ValueError):
    """A value that cannot be stored (not JSON, not of the storage class's kind)."""


class ReadOnlyStoreError(QuantumButlerError, PermissionError):
    """A write to a read-only store (the backing store of a mount)."""


class UnknownDatasetTypeError(QuantumButlerError, KeyError):
    """A dataset type the session or repository does not know (daf_butler's MissingDatasetTypeError is a KeyError)."""


class NotPredictedInputError(QuantumButlerError, LookupError):
    """A read of a dataset that is not among the quantum's predicted inputs."""


class RepositoryError(QuantumButlerError, RuntimeError):
    """A repository that cannot be used: missing, not a repository, or already there on create."""


class ConflictingDefinitionError(QuantumButlerError):
    """A definition (dataset type, run) that differs from the registered one (daf_butler's ConflictingDefinitionError)."""


class RegistrySchemaMissingError(RegistrySchemaError):
    """The registry has no schema where the repository says it is."""


class RegistrySchemaMismatchError(RegistrySchemaError):
    """The registry's schema version is not the sidecar's."""


class ParseError(QuantumButlerError, ValueError):
    """-32700: the sidecar could not parse a message."""


class FramingError(ParseError):
    """A header the sidecar could not read; the stream is lost and the sidecar exits."""


class InvalidRequestError(QuantumButlerError, ValueError):
    """-32600: not a valid JSON-RPC request."""


class UnsupportedProtocolVersionError(QuantumButlerError, ValueError):
    """``initialize`` asked for a protocol version the sidecar does not speak (``data["supported"]``)."""


class ServerNotInitializedError(QuantumButlerError):
    """A request before ``initialize`` completed."""


class ShutdownInProgressError(QuantumButlerError):
    """A request after ``shutdown``."""


class AlreadyInitializedError(QuantumButlerError):
    """A second ``initialize``."""


class InternalError(QuantumButlerError, RuntimeError):
    """-32603: a bug in the sidecar (its stderr has the stack)."""


#: data.kind → exception class: one class per kind of protocol/errors.ts (test_error_classes checks
#: it). A kind added to the sidecar later, unknown to this client, maps to QuantumButlerError.
ERROR_CLASSES: Dict[str, Type[QuantumButlerError]] = {
    "DatasetNotFound": DatasetNotFoundError,
    "NotPredictedOutput": NotPredictedOutputError,
    "InvalidPruneArguments": InvalidPruneArgumentsError,
    "UnknownParameter": UnknownParameterError,
    "StorageClassMismatch": StorageClassMismatchError,
    "InvalidParams": InvalidParamsError,
    "InvalidArgument": InvalidArgumentError,
    "InvalidDatasetRef": InvalidDatasetRefError,
    "PredictedRefMismatch": PredictedRefMismatchError,
    "SessionNotFound": SessionNotFoundError,
    "RequestCancelled": RequestCancelledError,
    "KeyNotFound": KeyNotFoundError,
    "MethodNotFound": MethodNotFoundError,
    "StoreBusy": StoreBusyError,
    "MessageTooLarge": MessageTooLargeError,
    "RegistryUnavailable": RegistryUnavailableError,
    "RegistrySchemaMissing": RegistrySchemaMissingError,
    "RegistrySchemaMismatch": RegistrySchemaMismatchError,
    "ChecksumMismatch": ChecksumMismatchError,
    "DimensionNameError": DimensionNameError,
    "DimensionValueError": DimensionValueError,
    "InconsistentUniverse": InconsistentUniverseError,
    "FileExists": FileExistsButlerError,
    "PayloadTooLarge": PayloadTooLargeError,
    "TooManySessions": TooManySessionsError,
    "DatasetAlreadyStored": DatasetAlreadyStoredError,
    "UnknownStorageClass": UnknownStorageClassError,
    "UnknownComponent": UnknownComponentError,
    "SessionConflict": SessionConflictError,
    "DeferredHandleNotFound": DeferredHandleNotFoundError,
    "InvalidKey": InvalidKeyError,
    "TransactionNotFound": TransactionNotFoundError,
    "IOFailure": IOFailureError,
    "CannotPruneInput": CannotPruneInputError,
    "InvalidValue": InvalidValueError,
    "ReadOnlyStore": ReadOnlyStoreError,
    "UnknownDatasetType": UnknownDatasetTypeError,
    "NotPredictedInput": NotPredictedInputError,
    "RepositoryError": RepositoryError,
    "ConflictingDefinition": ConflictingDefinitionError,
    "ParseError": ParseError,
    "FramingError": FramingError,
    "InvalidRequest": InvalidRequestError,
    "UnsupportedProtocolVersion": UnsupportedProtocolVersionError,
    "ServerNotInitialized": ServerNotInitializedError,
    "ShutdownInProgress": ShutdownInProgressError,
    "AlreadyInitialized": AlreadyInitializedError,
    "InternalError": InternalError,
}

# Codes that identify a class even when data.kind is absent (e.g. errors made by the
# JSON-RPC library itself rather than by the sidecar's handlers).
_CODE_CLASSES: Dict[int, Type[QuantumButlerError]] = {
    METHOD_NOT_FOUND: MethodNotFoundError,
    INVALID_PARAMS: InvalidParamsError,
    REQUEST_CANCELLED: RequestCancelledError,
    PARSE_ERROR: ParseError,
    INVALID_REQUEST: InvalidRequestError,
    INTERNAL_ERROR: InternalError,
    SERVER_NOT_INITIALIZED: ServerNotInitializedError,
}


def error_from_response(error: Any) -> QuantumButlerError:
    """Build the exception for a JSON-RPC ``error`` object."""
    if not isinstance(error, Mapping):
        return QuantumButlerError(INTERNAL_ERROR, "Malformed error response: %r" % (error,), None)
    code = error.get("code")
    if not isinstance(code, int):
        code = INTERNAL_ERROR
    message = error.get("message")
    if not isinstance(message, str):
        message = str(message)
    data = error.get("data")
    if not isinstance(data, Mapping):
        data = {"details": data} if data is not None else {}
    kind = data.get("kind")
    cls = ERROR_CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None and not isinstance(kind, str):
        cls = _CODE_CLASSES.get(code)
    return (cls or QuantumButlerError)(code, message, data)


class SidecarDied(ConnectionError):
    """The sidecar process is gone (or its stdout closed) before answering.

    ``returncode`` is the process exit status (negative: killed by that signal;
    None if it had not exited yet), ``stderr_tail`` the last lines it wrote to stderr.
    """

    def __init__(
        self,
        message: str,
        *,
        returncode: Optional[int] = None,
        stderr_tail: str = "",
        method: Optional[str] = None,
        request_id: Optional[int] = None,
    ):
        full = message
        if stderr_tail.strip():
            full += "\n--- sidecar stderr (tail) ---\n" + stderr_tail.rstrip()
        super().__init__(full)
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        self.method = method
        self.request_id = request_id

    def __reduce__(self):
        return (_rebuild_sidecar_died, (str(self), self.returncode, self.method, self.request_id))


def _rebuild_sidecar_died(message, returncode, method, request_id):
    return SidecarDied(message, returncode=returncode, method=method, request_id=request_id)


class RequestTimeout(TimeoutError):
    """A request got no answer in time; ``$/cancelRequest`` was sent for it."""

    def __init__(self, method: str, request_id: int, timeout: float):
        super().__init__("%s (request %d) got no response within %.3g s; sent $/cancelRequest" % (method, request_id, timeout))
        self.method = method
        self.request_id = request_id
        self.timeout = timeout

    def __reduce__(self):
        return (type(self), (self.method, self.request_id, self.timeout))


class ProtocolError(ConnectionError):
    """The sidecar broke the wire protocol (e.g. a frame without Content-Length)."""
