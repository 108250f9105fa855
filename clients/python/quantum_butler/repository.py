"""A persistent repository on the sidecar: seeding, quanta, collect-and-transfer, lineage.

``Repository.create(client, root)`` makes one (``repository/create``);
``Repository(client, root)`` uses an existing one. Every method is one ``repository/*``
request; results are the protocol's JSON (see docs/protocol/repository.md).
"""
from __future__ import annotations

import base64
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from .butler import Client, decode_payload
from .refs import ref_id
from .rpc import Connection

Document = Union[str, Mapping[str, Any]]


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
        self.root = str(root)
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
        payload = {"encoding": "file", "path": str(path), "mode": mode}
        return self._call("repository/put", {"datasetType": dataset_type, "dataId": dict(data_id), "run": run, "payload": payload})

    def get(self, ref: Any, **params: Any) -> Any:
        """The dataset's value (json → object, text → str, base64 → bytes)."""
        return decode_payload(self._call("repository/get", {"ref": {"id": ref_id(ref)}, **params})["payload"])

    def query_datasets(self, dataset_type: Optional[str] = None, *, run: Optional[str] = None, data_id: Optional[Mapping[str, Any]] = None) -> List[Dict[str, Any]]:
        params: Dict[str, Any] = {}
        if dataset_type is not None:
            params["datasetType"] = dataset_type
        if run is not None:
            params["run"] = run
        if data_id is not None:
            params["dataId"] = dict(data_id)
        return list(self._call("repository/queryDatasets", params)["refs"])

    def export_records(self, refs: Iterable[Any]) -> Dict[str, Any]:
        return self._call("repository/exportRecords", {"refs": [{"id": ref_id(r)} for r in refs]})["records"]

    def make_quantum(
        self,
        task_name: str,
        inputs: Iterable[Any],
        outputs: Iterable[Mapping[str, Any]],
        *,
        init_inputs: Iterable[Any] = (),
        data_id: Optional[Mapping[str, Any]] = None,
        include_records: bool = True,
    ) -> Dict[str, Any]:
        """A SerializedQuantum for ``session/open`` plus its output refs: ``{quantum, outputs}``.

        ``outputs`` are ``{"datasetType", "dataId", "run"}`` (optionally ``idGenerationMode``).
        """
        params: Dict[str, Any] = {
            "taskName": task_name,
            "inputs": [{"id": ref_id(r)} for r in inputs],
            "initInputs": [{"id": ref_id(r)} for r in init_inputs],
            "outputs": [dict(o) for o in outputs],
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

        Each quantum and provenance document is given inline (a mapping) or as an absolute
        path to a JSON file on the sidecar's host (cheaper for large batches). ``progress``
        receives the ``$/progress`` values while the sidecar works.
        """
        params: Dict[str, Any] = {"quanta": list(quanta), "provenance": list(provenance), "dryRun": dry_run}
        token = self.client.progress_token(progress) if progress is not None else None
        if token is not None:
            params["workDoneToken"] = token
        try:
            return self._call("repository/collectAndTransfer", params, timeout=timeout)
        finally:
            if token is not None:
                self.client.release_progress_token(token)

    def lineage(self, ref: Any, direction: str = "up", depth: Optional[int] = None) -> Dict[str, Any]:
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
