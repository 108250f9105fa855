"""A persistent repository on the sidecar: seeding, quanta, collect-and-transfer, lineage.

``Repository.create(client, root)`` makes one (``repository/create``);
``Repository(client, root)`` uses an existing one. Every method is one ``repository/*``
request; results are the protocol's JSON (see docs/protocol/repository.md).
"""
from __future__ import annotations

import base64
import os
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from .butler import Client, _simple, decode_payload
from .options import host_path, strict_keys
from .refs import ref_id
from .rpc import Connection
from .types import DataId, DatasetRef, MadeQuantum, RefLike, RefsByType

# A mapping, the path of a JSON file, or a daf_butler Quantum or QuantumProvenanceData.
Document = Any


def _payload(obj: Any) -> Dict[str, Any]:
    """bytes travel base64, str as text, anything else as JSON."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"encoding": "base64", "data": base64.b64encode(bytes(obj)).decode("ascii")}
    if isinstance(obj, str):
        return {"encoding": "text", "text": obj}
    return {"encoding": "json", "value": obj}


class Repository:
    def __init__(self, client_or_conn: Union[Client, Connection], root: str, *, timeout: Optional[float] = None):
        self.client = Client.wrap(client_or_conn)
        #: Absolute: a relative root is resolved against this process's working directory.
        self.root = host_path(root)
        self.timeout = timeout

    @classmethod
    def create(
        cls,
        client_or_conn: Union[Client, Connection],
        root: str,
        config: Optional[Mapping[str, Any]] = None,
        *,
        registry: Optional[Mapping[str, Any]] = None,
        **kw: Any,
    ) -> "Repository":
        """``registry``: ``{"kind": "postgresql", "url": ..., "schema": ...}`` puts the registry on a
        PostgreSQL server (default: a SQLite file in the repository)."""
        repo = cls(client_or_conn, root, **kw)
        params: Dict[str, Any] = {"root": repo.root}
        if config is not None:
            params["config"] = dict(config)
        if registry is not None:
            params["registry"] = dict(registry)
        repo.info = repo.client.request("repository/create", params, timeout=repo.timeout)
        return repo

    def _call(self, method: str, params: Dict[str, Any], timeout: Optional[float] = None) -> Any:
        p = dict(params)
        p["root"] = self.root
        return self.client.request(method, p, timeout=timeout if timeout is not None else self.timeout)

    def register_dataset_type(self, name: str, storage_class: str, dimensions: Sequence[str], **extra: Any) -> bool:
        dt = {"name": name, "storageClass": storage_class, "dimensions": list(dimensions), **extra}
        return bool(self._call("repository/registerDatasetType", {"datasetType": dt})["registered"])

    def put(self, obj: Any, dataset_type: str, data_id: Mapping[str, Any], run: str, *, id_generation_mode: Optional[str] = None) -> Dict[str, Any]:
        """Store a dataset directly (seeding inputs); returns ``{ref, size, sha256}``."""
        params: Dict[str, Any] = {"datasetType": dataset_type, "dataId": dict(data_id), "run": run, "payload": _payload(obj)}
        if id_generation_mode is not None:
            params["idGenerationMode"] = id_generation_mode
        return self._call("repository/put", params)

    def put_file(self, path: str, dataset_type: str, data_id: Mapping[str, Any], run: str, *, mode: str = "copy") -> Dict[str, Any]:
        """Store the bytes of a file on the sidecar's host (``mode``: copy or move)."""
        payload = {"encoding": "file", "path": host_path(path), "mode": mode}
        return self._call("repository/put", {"datasetType": dataset_type, "dataId": dict(data_id), "run": run, "payload": payload})

    def get(self, ref: RefLike, **params: Any) -> Any:
        """The dataset's value (json → object, text → str, base64 → bytes)."""
        return decode_payload(self._call("repository/get", {"ref": {"id": ref_id(ref)}, **params})["payload"])

    def query_datasets(self, dataset_type: Optional[str] = None, *, run: Optional[str] = None, data_id: Optional[DataId] = None) -> List[DatasetRef]:
        params: Dict[str, Any] = {}
        if dataset_type is not None:
            params["datasetType"] = dataset_type
        if run is not None:
            params["run"] = run
        if data_id is not None:
            params["dataId"] = dict(data_id)
        return list(self._call("repository/queryDatasets", params)["refs"])

    def export_records(self, refs: Iterable[RefLike]) -> Dict[str, Any]:
        return self._call("repository/exportRecords", {"refs": [{"id": ref_id(r)} for r in refs]})["records"]

    def make_quantum(
        self,
        task_name: str,
        inputs: Union[RefsByType, Iterable[RefLike]],
        outputs: Union[RefsByType, Iterable[Mapping[str, Any]]],
        *,
        init_inputs: Union[RefsByType, Iterable[RefLike]] = (),
        data_id: Optional[DataId] = None,
        include_records: bool = True,
    ) -> MadeQuantum:
        """A SerializedQuantum for ``initialize`` plus its output refs: ``{quantum, outputs}``.

        ``inputs`` and ``init_inputs`` are stored refs (or ids), grouped by dataset type name as
        :func:`~quantum_butler.refs.serialized_quantum` takes them (``{"raw": raws}``) or in one
        list. ``outputs`` are grouped the same way, each a ref (from ``make_ref``) or
        ``{"data_id", "run"}`` (optionally ``id_generation_mode``); or one list of
        ``{"dataset_type", "data_id", "run"}``.
        """
        params: Dict[str, Any] = {
            "taskName": task_name,
            "inputs": [{"id": ref_id(r)} for r in _flatten_refs(inputs)],
            "initInputs": [{"id": ref_id(r)} for r in _flatten_refs(init_inputs)],
            "outputs": _output_specs(outputs),
            "includeRecords": include_records,
        }
        if data_id is not None:
            params["dataId"] = dict(data_id)
        return self._call("repository/makeQuantum", params)

    def collect_and_transfer(
        self,
        quanta: Sequence[Document],
        provenance: Sequence[Document],
        *,
        dry_run: bool = False,
        progress: Optional[Callable[[Dict[str, Any]], None]] = None,
        timeout: Optional[float] = None,
    ) -> Dict[str, Any]:
        """Import the results of executed quanta in one transaction; returns the report.

        Each quantum and provenance document is given inline (a mapping, or a daf_butler ``Quantum``
        or ``QuantumProvenanceData``) or as the path of a JSON file (cheaper for large batches;
        relative to this process's working directory). ``progress``
        receives the ``$/progress`` values while the sidecar works.
        """
        params: Dict[str, Any] = {"quanta": [_document(d) for d in quanta], "provenance": [_document(d) for d in provenance], "dryRun": dry_run}
        token = self.client.progress_token(progress) if progress is not None else None
        if token is not None:
            params["workDoneToken"] = token
        try:
            return self._call("repository/collectAndTransfer", params, timeout=timeout)
        finally:
            if token is not None:
                self.client.release_progress_token(token)

    def lineage(self, ref: RefLike, direction: str = "up", depth: Optional[int] = None) -> Dict[str, Any]:
        params: Dict[str, Any] = {"datasetId": ref_id(ref), "direction": direction}
        if depth is not None:
            params["depth"] = depth
        return self._call("repository/lineage", params)

    def migrate_registry(self, to: Optional[Mapping[str, Any]] = None, *, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Move the SQLite registry to PostgreSQL (``to={"kind": "postgresql", "url": ...}``),
        switching butler.json once the copy is verified; without ``to``, upgrade its schema."""
        params: Dict[str, Any] = {} if to is None else {"to": dict(to)}
        return self._call("repository/migrateRegistry", params, timeout=timeout)

    def provenance(self, quantum_id: str, format: str = "native") -> Any:
        """A stored quantum's provenance: ``native``, ``daf_butler``, ``prov`` or ``openlineage``."""
        return self._call("repository/provenance", {"quantumId": str(quantum_id), "format": format})


def _document(doc: Any) -> Any:
    """An inline document as it is; a path made absolute; a daf_butler object (a ``Quantum``,
    a ``QuantumProvenanceData``) as its serialized dict, as daf_butler's collect takes them."""
    if isinstance(doc, Mapping):
        return doc
    if isinstance(doc, (str, os.PathLike)):
        return host_path(doc)
    return _simple(doc)


def _flatten_refs(refs: Any) -> List[Any]:
    """Refs grouped by dataset type name (``{"raw": [r1, r2]}`` or ``{"bias": r}``), or one list."""
    if isinstance(refs, Mapping) and not _is_ref_mapping(refs):
        out: List[Any] = []
        for group in refs.values():
            out.extend(_as_list(group))
        return out
    return list(refs)


def _is_ref_mapping(obj: Mapping[str, Any]) -> bool:
    return "id" in obj


def _as_list(group: Any) -> List[Any]:
    if isinstance(group, (str, Mapping)) or not isinstance(group, Iterable):
        return [group]
    return list(group)


_OUTPUT_FIELDS = ("dataset_type", "data_id", "run", "id_generation_mode")


def _output_specs(outputs: Any) -> List[Dict[str, Any]]:
    """``repository/makeQuantum`` outputs from a grouping by name or a list of specs."""
    if not isinstance(outputs, Mapping):
        return [_output_spec(o, None) for o in outputs]
    specs: List[Dict[str, Any]] = []
    for name, group in outputs.items():
        specs.extend(_output_spec(o, name) for o in _as_list(group))
    return specs


def _output_spec(entry: Any, name: Optional[str]) -> Dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise TypeError("an output is a ref or a {data_id, run} dict, not %r" % (entry,))
    if "id" in entry:  # a ref (make_ref, or a daf_butler SerializedDatasetRef): its type, data ID and run
        dt = entry.get("datasetType")
        type_name = dt.get("name") if isinstance(dt, Mapping) else dt
        data_id = entry.get("dataId")
        if isinstance(data_id, Mapping) and isinstance(data_id.get("dataId"), Mapping):
            data_id = data_id["dataId"]  # a SerializedDataCoordinate
        spec: Dict[str, Any] = {"datasetType": type_name or name, "dataId": dict(data_id or {}), "run": entry.get("run")}
    else:
        spec = strict_keys("output", entry, _OUTPUT_FIELDS)
        spec.setdefault("datasetType", name)
    if name is not None and spec.get("datasetType") != name:
        raise ValueError("output of dataset type %r is grouped under %r" % (spec.get("datasetType"), name))
    return spec
