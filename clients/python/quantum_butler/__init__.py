"""Python client of the quantum-butler sidecar (standard library only, Python 3.9+).

    from quantum_butler import Client, QuantumBackedButler

    with Client() as client:                  # spawns the sidecar (quantum-butler --stdio)
        butler = QuantumBackedButler.initialize(client, quantum.to_simple().model_dump())
        ...
"""
from .butler import Client, DatasetRefURIs, DeferredDatasetHandle, QuantumBackedButler, RefKeyedDict, decode_payload
from . import errors as _errors
from .errors import *  # noqa: F401,F403 (every exception class; errors.__all__ lists them)
from .metrics import ButlerMetrics
from .dimensions import DimensionGroup, DimensionUniverse, default_universe
from .refs import DATASET_ID_NAMESPACE, dataset_id, dataset_id_seed, dataset_type, make_ref, ref_id, serialized_quantum
from .rpc import PROTOCOL_VERSION, Connection, RequestFuture, default_cli_path, default_node_path, find_cli, sidecar_env
from .repository import Repository
from .store import Store, StoreTransaction, StoreValue

__version__ = "0.1.0"

__all__ = [
    "Client",
    "ButlerMetrics",
    "Connection",
    "QuantumBackedButler",
    "DeferredDatasetHandle",
    "DatasetRefURIs",
    "RefKeyedDict",
    "RequestFuture",
    "Repository",
    "Store",
    "StoreValue",
    "StoreTransaction",
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
    "find_cli",
    "sidecar_env",
    "__version__",
] + list(_errors.__all__)
