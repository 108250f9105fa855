"""Typed shapes of what the client sends and returns (daf_butler's JSON forms and the protocol's).

TypedDicts describe the dicts; :class:`SupportsToSimple` the daf_butler objects the client also
accepts. They are for type checkers (the package ships ``py.typed``): at run time the values are
plain dicts. Field names are daf_butler's (camelCase in serialized refs and quanta, snake_case in
QuantumProvenanceData) or the protocol's, exactly as they travel.
"""
from __future__ import annotations

import uuid
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

try:  # Python 3.8+: typing has them; the fallback keeps type checkers on older stubs happy
    from typing import Literal, Protocol, TypedDict, runtime_checkable
except ImportError:  # pragma: no cover
    from typing_extensions import Literal, Protocol, TypedDict, runtime_checkable  # type: ignore

__all__ = [
    "DataIdValue",
    "DataId",
    "SerializedDataCoordinate",
    "SerializedDatasetType",
    "SerializedDatasetRef",
    "CompactRef",
    "SupportsToSimple",
    "RefLike",
    "DatasetRef",
    "PutResult",
    "SerializedQuantum",
    "RefsByType",
    "QuantumOutputSpec",
    "MadeQuantum",
    "SerializedDatastoreRecordData",
    "QuantumProvenanceData",
    "NativeProvenance",
    "ProvenanceFormat",
]

DataIdValue = Union[str, int]
#: A data ID as a mapping (``{"instrument": "HSC", "detector": 42}``).
DataId = Mapping[str, DataIdValue]


class SerializedDataCoordinate(TypedDict, total=False):
    """daf_butler SerializedDataCoordinate: ``{"dataId": {...}, "records": None}``."""

    dataId: Dict[str, DataIdValue]
    records: Optional[Dict[str, Any]]


class _SerializedDatasetTypeBase(TypedDict):
    name: str
    storageClass: str
    dimensions: List[str]


class SerializedDatasetType(_SerializedDatasetTypeBase, total=False):
    """daf_butler SerializedDatasetType (``dataset_type.to_simple().model_dump()``)."""

    isCalibration: bool
    parentStorageClass: Optional[str]


class _RefBase(TypedDict):
    id: str


class SerializedDatasetRef(_RefBase, total=False):
    """daf_butler SerializedDatasetRef (``ref.to_simple().model_dump()``); inside a quantum
    ``datasetType`` is None and the type is in the quantum's ``datasetTypeMapping``."""

    datasetType: Optional[SerializedDatasetType]
    dataId: Optional[SerializedDataCoordinate]
    run: Optional[str]
    component: Optional[str]


class CompactRef(_RefBase, total=False):
    """The protocol's compact ref: a dataset type by name, a plain data ID."""

    datasetType: str
    dataId: Dict[str, DataIdValue]
    run: str
    storageClass: str
    dimensions: List[str]
    component: Optional[str]


@runtime_checkable
class SupportsToSimple(Protocol):
    """A daf_butler object (DatasetRef, Quantum...) whose ``to_simple()`` gives its serialized model."""

    def to_simple(self) -> Any: ...


#: What every method taking a ref accepts: an id (str or UUID), a serialized or compact ref
#: dict, or a daf_butler DatasetRef (anything with ``to_simple()``).
RefLike = Union[str, uuid.UUID, SerializedDatasetRef, CompactRef, Mapping[str, Any], SupportsToSimple]


class DatasetRef(TypedDict):
    """A ref as the sidecar returns it: always complete."""

    id: str
    datasetType: str
    storageClass: str
    dimensions: List[str]
    dataId: Dict[str, DataIdValue]
    run: str


class PutResult(TypedDict):
    """``butler/put``'s result: the stored ref, its size, checksum and URI."""

    ref: DatasetRef
    size: int
    sha256: str
    uri: str
    alreadyStored: bool


#: A dataset type name → its refs (a list, or one ref), as a quantum's inputs and outputs are grouped.
RefsByType = Mapping[str, Union[RefLike, Sequence[RefLike]]]


class SerializedQuantum(TypedDict, total=False):
    """daf_butler SerializedQuantum (``quantum.to_simple().model_dump()``)."""

    taskName: Optional[str]
    dataId: Optional[SerializedDataCoordinate]
    datasetTypeMapping: Dict[str, SerializedDatasetType]
    initInputs: Dict[str, Tuple[SerializedDatasetRef, List[int]]]
    inputs: Dict[str, List[Tuple[SerializedDatasetRef, List[int]]]]
    outputs: Dict[str, List[Tuple[SerializedDatasetRef, List[int]]]]
    dimensionRecords: Optional[Dict[int, Any]]
    datastoreRecords: Optional[Dict[str, Any]]


class _OutputSpecBase(TypedDict):
    datasetType: str
    dataId: Dict[str, DataIdValue]
    run: str


class QuantumOutputSpec(_OutputSpecBase, total=False):
    """One output for ``repository/makeQuantum``."""

    idGenerationMode: str


class MadeQuantum(TypedDict):
    """``Repository.make_quantum``'s result: the quantum for ``initialize`` and its output refs."""

    quantum: SerializedQuantum
    outputs: List[SerializedDatasetRef]


class SerializedDatastoreRecordData(TypedDict):
    """daf_butler SerializedDatastoreRecordData."""

    dataset_ids: List[str]
    records: Dict[str, Dict[str, Dict[str, List[Dict[str, Any]]]]]


class QuantumProvenanceData(TypedDict):
    """daf_butler QuantumProvenanceData (``extract_provenance_data()``), ids as strings."""

    predicted_inputs: List[str]
    available_inputs: List[str]
    actual_inputs: List[str]
    predicted_outputs: List[str]
    actual_outputs: List[str]
    datastore_records: Dict[str, SerializedDatastoreRecordData]


class NativeProvenance(TypedDict, total=False):
    """The sidecar's own provenance document (protocol/README.md): the quantum, the execution
    (host, pid, times), the id lists and per-dataset details."""

    schemaVersion: str
    quantum: Dict[str, Any]
    execution: Dict[str, Any]
    predictedInputs: List[str]
    availableInputs: List[str]
    actualInputs: List[str]
    predictedOutputs: List[str]
    actualOutputs: List[str]
    inputs: List[Dict[str, Any]]
    outputs: List[Dict[str, Any]]
    datastoreRecords: Dict[str, SerializedDatastoreRecordData]
    metrics: Dict[str, float]
    diagnostics: List[Dict[str, Any]]


ProvenanceFormat = Literal["native", "daf_butler", "prov", "openlineage"]
