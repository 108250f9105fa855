"""Python client of the quantum-butler sidecar (standard library only, Python 3.9+).

    from quantum_butler import Client, QuantumBackedButler

    with Client() as client:                  # spawns `node dist/src/cli.js --stdio`
        butler = QuantumBackedButler.initialize(client, quantum.to_simple().model_dump())
        ...
"""
from .butler import Client, DatasetRefURIs, DeferredDatasetHandle, QuantumBackedButler, decode_payload
from .errors import (
    ERROR_CLASSES,
    DatasetNotFoundError,
    DimensionNameError,
    DimensionValueError,
    InconsistentUniverseError,
    FileExistsButlerError,
    InvalidArgumentError,
    InvalidDatasetRefError,
    InvalidParamsError,
    InvalidPruneArgumentsError,
    KeyNotFoundError,
    MethodNotFoundError,
    NotPredictedOutputError,
    PredictedRefMismatchError,
    ProtocolError,
    QuantumButlerError,
    RequestCancelledError,
    RequestTimeout,
    SessionNotFoundError,
    SidecarDied,
    StorageClassMismatchError,
    StoreBusyError,
    MessageTooLargeError,
    RegistryUnavailableError,
    RegistrySchemaError,
    ChecksumMismatchError,
    UnknownParameterError,
    error_from_response,
)
from .dimensions import DimensionGroup, DimensionUniverse, default_universe
from .refs import DATASET_ID_NAMESPACE, dataset_id, dataset_id_seed, dataset_type, make_ref, ref_id, serialized_quantum
from .rpc import PROTOCOL_VERSION, Connection, RequestFuture, default_cli_path, default_node_path
from .repository import Repository
from .store import Store, StoreTransaction, StoreValue

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Connection",
    "QuantumBackedButler",
    "DeferredDatasetHandle",
    "DatasetRefURIs",
    "RequestFuture",
    "Repository",
    "Store",
    "StoreValue",
    "StoreTransaction",
    "QuantumButlerError",
    "DatasetNotFoundError",
    "FileExistsButlerError",
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
    "SidecarDied",
    "RequestTimeout",
    "ProtocolError",
    "ERROR_CLASSES",
    "error_from_response",
    "decode_payload",
    "DATASET_ID_NAMESPACE",
    "dataset_id",
    "dataset_id_seed",
    "dataset_type",
    "DimensionUniverse",
    "DimensionGroup",
    "default_universe",
    "make_ref",
    "ref_id",
    "serialized_quantum",
    "PROTOCOL_VERSION",
    "default_cli_path",
    "default_node_path",
    "__version__",
]
