"""A daf_butler-like QuantumBackedButler on top of one sidecar session.

    with Client() as client:                                   # spawns the sidecar
        butler = QuantumBackedButler.initialize(client, quantum, datastore_name="shared")
        butler.stored_many(input_refs)
        value = butler.get(input_refs[0])
        butler.put({"mean": 42}, output_refs[0])
        print(butler.extract_provenance_data())                # QuantumProvenanceData dict
        native = butler.close()                                # the richer native provenance

Method names follow daf_butler (``getDeferred``, ``stored_many``, ``markInputUnused``,
``pruneDatasets``, ``getURIs``, ``extract_provenance_data``...). Refs may be
daf_butler SerializedDatasetRef dicts (``ref.to_simple().model_dump()``), compact
dicts ``{id, datasetType, dataId, run, storageClass}``, bare id strings/UUIDs, or
objects with ``to_simple()``.
"""
from __future__ import annotations

import base64
import itertools
import json
import logging
import os
import tempfile
import threading
import uuid
from collections.abc import Mapping as _MappingABC
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, TypeVar, Union, overload

from .dimensions import DimensionUniverse
from .errors import MessageTooLargeError, QuantumButlerError
from .metrics import ButlerMetrics, MetricsRecorder
from .options import host_path, reject_unknown, store_spec, strict_keys
from .refs import ref_id
from .rpc import PROVENANCE, Connection
from .types import DatasetRef, Literal, NativeProvenance, PutResult, QuantumProvenanceData, RefLike

if TYPE_CHECKING:  # pragma: no cover
    from .store import Store

__all__ = ["Client", "QuantumBackedButler", "DeferredDatasetHandle", "DatasetRefURIs", "RefKeyedDict", "decode_payload"]

_log = logging.getLogger("quantum_butler")

V = TypeVar("V")

# A quantum's keys (daf_butler SerializedQuantum, or the sidecar's compact form with flat lists).
_QUANTUM_FIELDS = (
    "task_name", "data_id", "dataset_type_mapping", "dataset_types", "init_inputs", "inputs", "outputs",
    "dimension_records", "datastore_records",
)

# Values put sends other than as JSON (base64 or text, or a file when large).
_NOT_JSON = (bytes, bytearray, memoryview, str)

# Built-in storage classes whose values are not JSON (see src/model/builtin-storage-classes.ts).
_BUILTIN_KINDS = {"Text": "text", "Bytes": "bytes"}


def _ref_arg(ref: RefLike) -> Dict[str, Any]:
    """The wire form of a ref argument."""
    if isinstance(ref, (str, uuid.UUID)):
        return {"id": str(ref)}
    if isinstance(ref, _MappingABC):
        if "id" not in ref:
            raise ValueError("A ref mapping needs an 'id': %r" % (dict(ref),))
        out = dict(ref)
        out["id"] = str(out["id"])
        return out
    to_simple = getattr(ref, "to_simple", None)  # a daf_butler DatasetRef
    if callable(to_simple):
        simple = to_simple()
        dump = getattr(simple, "model_dump", None)
        return dump(mode="json") if callable(dump) else dict(simple)
    return {"id": ref_id(ref)}


def _ref_param(ref: RefLike) -> Dict[str, Any]:
    """As :func:`_ref_arg`, for a request sent at once: a plain dict whose id is already a str is
    sent as it is (it is encoded before the call returns and never changed), not copied."""
    if type(ref) is dict and type(ref.get("id")) is str:
        return ref  # type: ignore[return-value]
    if type(ref) is str:
        return {"id": ref}
    return _ref_arg(ref)


def _dimensions_param(dimensions: Any) -> Dict[str, Any]:
    """A universe as ``session/open`` takes it: a dimensions config (or ``{namespace, version}``)."""
    if isinstance(dimensions, DimensionUniverse):
        return dict(dimensions.config)
    config = getattr(dimensions, "dimensionConfig", None)  # a daf_butler DimensionUniverse
    if config is not None:
        return json.loads(json.dumps(config.toDict()))
    if isinstance(dimensions, Mapping):
        return dict(dimensions)
    raise TypeError("dimensions must be a dimensions config mapping or a DimensionUniverse, not %r" % (dimensions,))


def decode_payload(payload: Mapping[str, Any]) -> Any:
    """json → the value, text → str, base64 → bytes, file → the path (str)."""
    enc = payload.get("encoding")
    if enc == "json":
        return payload.get("value")
    if enc == "text":
        return payload.get("text")
    if enc == "base64":
        return base64.b64decode(payload.get("data", ""))
    if enc == "file":
        return payload.get("path")
    raise ValueError("Unknown payload encoding %r" % (enc,))


class DatasetRefURIs(NamedTuple):
    """As daf_butler's: the primary URI (or None) and the component URIs."""

    primaryURI: Optional[str]
    componentURIs: Dict[str, str]


class RefKeyedDict(Mapping[Any, V]):
    """A mapping keyed by the refs given, as daf_butler's ``stored_many`` returns ``dict[DatasetRef, bool]``.

    Iterating yields the ref objects in the order given (dicts included, though dicts are not
    hashable); lookup takes any form of the same ref (the object, its dict, its id or UUID).
    ``by_id()`` is the plain ``{id: value}`` dict.
    """

    def __init__(self, items: Iterable[Tuple[Any, V]]):
        self._refs: Dict[str, Any] = {}
        self._values: Dict[str, V] = {}
        for ref, value in items:
            key = ref_id(ref)
            self._refs.setdefault(key, ref)
            self._values[key] = value

    def __getitem__(self, ref: Any) -> V:
        return self._values[ref_id(ref)]

    def __contains__(self, ref: object) -> bool:
        try:
            return ref_id(ref) in self._values
        except (TypeError, ValueError):
            return False

    def __iter__(self) -> Iterator[Any]:
        return iter(self._refs.values())

    def __len__(self) -> int:
        return len(self._values)

    def by_id(self) -> Dict[str, V]:
        return dict(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RefKeyedDict):
            return self._values == other._values
        if isinstance(other, Mapping):
            try:
                return self._values == {ref_id(k): v for k, v in other.items()}
            except (TypeError, ValueError):
                return False
        return NotImplemented

    def __repr__(self) -> str:
        return "RefKeyedDict(%r)" % (self._values,)


class Client:
    """The sidecar process plus session management and notification routing.

    ``Client()`` spawns a sidecar (keyword arguments go to :class:`Connection`);
    ``Client(connection)`` wraps an existing one.
    """

    def __init__(self, connection: Optional[Connection] = None, **spawn_options: Any):
        if connection is not None and spawn_options:
            raise TypeError("Give either a connection or spawn options, not both")
        self.connection = connection if connection is not None else Connection(**spawn_options)
        self._tokens = itertools.count(1)
        self._progress_callbacks: Dict[Union[str, int], Callable[[Any], None]] = {}
        self._progress_lock = threading.Lock()
        self._progress_off = self.connection.on_notification("$/progress", self._route_progress)
        if getattr(self.connection, "_quantum_butler_client", None) is None:
            self.connection._quantum_butler_client = self

    @classmethod
    def spawn(cls, **options: Any) -> "Client":
        return cls(**options)

    @classmethod
    def wrap(cls, client_or_conn: Union["Client", Connection]) -> "Client":
        """The Client of a Connection (made once per connection), or the Client itself."""
        if isinstance(client_or_conn, Client):
            return client_or_conn
        if isinstance(client_or_conn, Connection):
            existing = getattr(client_or_conn, "_quantum_butler_client", None)
            return existing if isinstance(existing, Client) else cls(client_or_conn)
        raise TypeError("Expected a Client or a Connection, got %r" % (client_or_conn,))

    # --- server
    @property
    def initialize_result(self) -> Dict[str, Any]:
        return self.connection.initialize_result or {}

    @property
    def capabilities(self) -> Dict[str, Any]:
        return self.connection.capabilities

    @property
    def max_inline_bytes(self) -> int:
        return self.connection.max_inline_bytes

    def request(self, method: str, params: Any = None, timeout: Optional[float] = None) -> Any:
        return self.connection.request(method, params, timeout=timeout)

    def ping(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        return self.connection.request("server/ping", None, timeout=timeout)

    def stats(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        return self.connection.request("server/stats", None, timeout=timeout)

    def list_sessions(self) -> List[Dict[str, Any]]:
        return self.connection.request("session/list", None)["sessions"]

    # --- sessions
    def open_session(
        self,
        *,
        quantum: Optional[Mapping[str, Any]] = None,
        predicted: Optional[Mapping[str, Any]] = None,
        datastore_name: Optional[str] = None,
        session_id: Optional[str] = None,
        quantum_id: Optional[str] = None,
        dataset_types: Union[Mapping[str, Any], Sequence[Mapping[str, Any]], None] = None,
        storage_classes: Optional[Mapping[str, Any]] = None,
        notifications: Optional[Sequence[str]] = None,
        strict_deferred: Optional[bool] = None,
        store: Optional[Mapping[str, Any]] = None,
        mount: Optional[Mapping[str, Any]] = None,
        repository: Optional[Mapping[str, Any]] = None,
        provenance_file: Optional[str] = None,
        dimensions: Any = None,
        timeout: Optional[float] = None,
        **unknown: Any,
    ) -> "QuantumBackedButler":
        """``session/open``: give exactly one of ``quantum`` (SerializedQuantum) or ``predicted``.

        Sessions naming the same ``datastore_name`` share one in-memory datastore;
        without a name the datastore is private to the session. ``store``
        (``{"kind": "memory"|"sqlite"|"file", "path": ...}``), ``mount``
        (``{"prefix", "over"}``) and ``repository`` (``{"root", "records_file"}``) are
        checked key by key (snake_case, or the camelCase wire names). ``notifications``
        picks the streams: ``provenance``, ``progress``, ``store``. ``provenance_file``
        receives the provenance document however the session ends, even if this process
        dies without closing it. ``dimensions`` is the session's universe: a daf_butler
        dimensions config (a dict, or a daf_butler ``DimensionUniverse``, whose
        ``dimensionConfig`` is sent), a :class:`~quantum_butler.dimensions.DimensionUniverse`,
        or ``{"namespace", "version"}``; default: the repository's, else daf_butler's default
        universe. Paths (``provenance_file``, a store's ``path``, the repository's ``root``
        and ``records_file``) are absolute or relative to this process's working directory.
        An unknown keyword raises TypeError naming the accepted ones.
        """
        reject_unknown("open_session()", unknown, _OPEN_SESSION_KEYWORDS)
        params: Dict[str, Any] = {}
        if datastore_name is not None:
            params["datastore"] = {"kind": "memory", "name": datastore_name}
        if quantum is not None:
            params["quantum"] = _quantum_param(quantum)
        if predicted is not None:
            params["predicted"] = dict(predicted)
        if session_id is not None:
            params["sessionId"] = session_id
        if quantum_id is not None:
            params["quantumId"] = str(quantum_id)
        if dataset_types is not None:
            params["datasetTypes"] = _dataset_types_param(dataset_types)
        if storage_classes is not None:
            params["storageClasses"] = dict(storage_classes)
        if notifications is not None:
            params["notifications"] = list(notifications)
        if strict_deferred is not None:
            params["strictDeferred"] = bool(strict_deferred)
        if store is not None:
            params["store"] = store_spec("store", store)
        if mount is not None:
            m = strict_keys("mount", mount, ("prefix", "over"))
            if "over" in m:
                m["over"] = store_spec("mount['over']", m["over"])
            params["mount"] = m
        if repository is not None:
            r = strict_keys("repository", repository, ("root", "records_file"))
            if "root" in r:
                r["root"] = host_path(r["root"])
            if "recordsFile" in r:
                r["recordsFile"] = host_path(r["recordsFile"])
            params["repository"] = r
        if provenance_file is not None:
            params["provenanceFile"] = host_path(provenance_file)
        if dimensions is not None:
            params["dimensions"] = _dimensions_param(dimensions)
        info = self.connection.request("session/open", params, timeout=timeout)
        return QuantumBackedButler(self, info, storage_classes=storage_classes)

    # --- notifications
    def on_provenance(self, callback: Callable[[Dict[str, Any]], None], session_id: Optional[str] = None) -> Callable[[], None]:
        """``callback(event)`` for each ``butler/provenance`` event (of one session if given).

        Runs on the connection's dispatcher thread. Returns an unsubscribe function.
        """
        if session_id is None:
            return self.connection.on_notification(PROVENANCE, callback)

        def filtered(event: Dict[str, Any]) -> None:
            if isinstance(event, dict) and event.get("sessionId") == session_id:
                callback(event)

        return self.connection.on_notification(PROVENANCE, filtered)

    def on_progress(self, callback: Callable[[Union[str, int], Dict[str, Any]], None]) -> Callable[[], None]:
        """``callback(token, value)`` for every ``$/progress`` notification."""

        def route(params: Any) -> None:
            if isinstance(params, dict):
                callback(params.get("token"), params.get("value"))

        return self.connection.on_notification("$/progress", route)

    def progress_token(self, callback: Callable[[Dict[str, Any]], None]) -> str:
        """A fresh ``workDoneToken`` whose ``$/progress`` values go to ``callback(value)``."""
        token = "py%d" % next(self._tokens)
        with self._progress_lock:
            self._progress_callbacks[token] = callback
        return token

    def release_progress_token(self, token: Union[str, int]) -> None:
        """Forget a token once the notifications already received for it are delivered."""

        def release() -> None:
            with self._progress_lock:
                self._progress_callbacks.pop(token, None)

        self.connection.defer(release)

    def _route_progress(self, params: Any) -> None:
        if not isinstance(params, dict):
            return
        with self._progress_lock:
            cb = self._progress_callbacks.get(params.get("token"))
        if cb is not None:
            cb(params.get("value"))

    def on_log_message(self, callback: Callable[[Dict[str, Any]], None]) -> Callable[[], None]:
        """``window/logMessage`` (sent when initialized with ``capabilities={'logMessages': True}``)."""
        return self.connection.on_notification("window/logMessage", callback)

    def flush_notifications(self, timeout: Optional[float] = 10.0) -> bool:
        return self.connection.flush_notifications(timeout)

    # --- lifecycle
    def close(self, timeout: float = 2.0) -> Optional[int]:
        """Shut the sidecar down; returns its exit code (0 when clean)."""
        return self.connection.close(timeout)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class QuantumBackedButler:
    """One session: the quantum-backed butler of one quantum, served by the sidecar."""

    GENERATION = 3

    def __init__(self, client: Client, info: Mapping[str, Any], *, storage_classes: Optional[Mapping[str, Any]] = None):
        self.client = client
        self.connection = client.connection
        self.info: Dict[str, Any] = dict(info)
        self.session_id: str = info["sessionId"]
        #: Default per-request timeout for this butler's calls (None: the connection's).
        self.timeout: Optional[float] = None
        self._storage_classes = dict(storage_classes or {})
        self._closed = False
        self._final_provenance: Optional[NativeProvenance] = None
        self._dimensions: Optional[DimensionUniverse] = None
        self._recorder = MetricsRecorder(self._counters)
        self._recording = 0  # record_metrics() contexts open

    # ----------------------------------------------------------------- construction

    @classmethod
    def initialize(
        cls,
        client_or_conn: Union[Client, Connection],
        quantum: Mapping[str, Any],
        dimensions: Any = None,
        *,
        datastore_name: Optional[str] = None,
        dataset_types: Optional[Sequence[Mapping[str, Any]]] = None,
        metrics: Optional[Any] = None,
        **options: Any,
    ) -> "QuantumBackedButler":
        """Open a session from a daf_butler SerializedQuantum (``quantum.to_simple().model_dump()``,
        or a daf_butler ``Quantum``), in daf_butler's argument order: ``dimensions`` third.

        Predicted inputs are the quantum's inputs plus init-inputs, predicted outputs its
        outputs. ``metrics`` is a ``ButlerMetrics`` that records the session's gets and puts,
        as in daf_butler (brought up to date when the session closes). Other keyword arguments
        are those of :meth:`Client.open_session` (``storage_classes``, ``session_id``,
        ``quantum_id``, ``notifications``, ``strict_deferred``, ``store``, ``mount``,
        ``repository``, ``timeout``...).
        """
        return Client.wrap(client_or_conn).open_session(
            quantum=quantum, datastore_name=datastore_name, dataset_types=dataset_types, dimensions=dimensions, **options
        )._record_into(metrics)

    @classmethod
    def from_predicted(
        cls,
        client_or_conn: Union[Client, Connection],
        predicted_inputs: Iterable[RefLike],
        predicted_outputs: Iterable[RefLike],
        dimensions: Any = None,
        datastore_records: Optional[Mapping[str, Any]] = None,
        *,
        dataset_types: Union[Mapping[str, Any], Sequence[Mapping[str, Any]], None] = None,
        refs: Iterable[RefLike] = (),
        task_name: Optional[str] = None,
        data_id: Optional[Mapping[str, Any]] = None,
        datastore_name: Optional[str] = None,
        metrics: Optional[Any] = None,
        **options: Any,
    ) -> "QuantumBackedButler":
        """Open a session from predicted inputs and outputs, in daf_butler's argument order.

        As in daf_butler, ``predicted_inputs`` and ``predicted_outputs`` may be dataset ids
        (str or UUID). The sidecar checks every ``put`` against the full predicted ref, so an
        id is resolved here against ``refs`` (full refs: daf_butler DatasetRefs, their
        ``to_simple()`` dicts, or compact dicts naming their dataset type); ``dataset_types``
        is daf_butler's mapping of name to dataset type (or a list), which defines the types
        refs name. Full refs may also be given directly. ``dimensions`` is the
        universe (see :meth:`Client.open_session`), ``datastore_records`` daf_butler's records
        by datastore name, ``metrics`` as in :meth:`initialize`. Other keyword arguments are
        those of :meth:`Client.open_session`.
        """
        types = _dataset_types_by_name(dataset_types)
        known: Dict[str, Dict[str, Any]] = {}
        for r in refs:
            arg = _ref_arg(r)
            known[arg["id"]] = arg

        def resolve(ref: RefLike, role: str) -> Dict[str, Any]:
            arg = _ref_arg(ref)
            if len(arg) == 1:  # an id alone
                if arg["id"] not in known:
                    raise ValueError(
                        "predicted %s %s is an id without a ref: pass its full ref in refs= (the sidecar "
                        "checks put against the predicted type, data ID and run)" % (role, arg["id"])
                    )
                arg = known[arg["id"]]
            return arg

        predicted: Dict[str, Any] = {
            "inputs": [resolve(r, "input") for r in predicted_inputs],
            "outputs": [resolve(r, "output") for r in predicted_outputs],
        }
        if datastore_records is not None:
            predicted["datastoreRecords"] = dict(datastore_records)
        if types:
            predicted["datasetTypes"] = list(types.values())
        if task_name is not None:
            predicted["taskName"] = task_name
        if data_id is not None:
            predicted["dataId"] = dict(data_id)
        return Client.wrap(client_or_conn).open_session(
            predicted=predicted, datastore_name=datastore_name, dimensions=dimensions, **options
        )._record_into(metrics)

    def _record_into(self, metrics: Optional[Any]) -> "QuantumBackedButler":
        if metrics is not None:
            self._recorder = MetricsRecorder(self._counters, metrics)
        return self

    # ----------------------------------------------------------------- plumbing

    def _call(self, method: str, params: Dict[str, Any], timeout: Optional[float] = None) -> Any:
        params["sessionId"] = self.session_id
        return self.connection.request(method, params, timeout=timeout if timeout is not None else self.timeout)

    def _storage_class_kind(self, name: Optional[str]) -> str:
        seen = set()
        while name and name not in seen:
            seen.add(name)
            if name in _BUILTIN_KINDS:
                return _BUILTIN_KINDS[name]
            entry = self._storage_classes.get(name)
            if not isinstance(entry, Mapping):
                break
            if entry.get("kind"):
                return str(entry["kind"])
            name = entry.get("inheritsFrom")
        return "json"

    def _decode_file(self, path: str, storage_class: Optional[str]) -> Any:
        with open(path, "rb") as f:
            data = f.read()
        kind = self._storage_class_kind(storage_class)
        if kind == "bytes":
            return data
        if kind == "text":
            return data.decode("utf-8")
        return json.loads(data.decode("utf-8"))

    def _read(self, method: str, params: Dict[str, Any], timeout: Optional[float], progress: Optional[Callable[[Any], None]]) -> Any:
        token = None
        if progress is not None:
            token = self.client.progress_token(progress)
            params["workDoneToken"] = token
        try:
            try:
                result = self._call(method, params, timeout)  # the retry below adds to a copy
                return decode_payload(result["payload"])
            except QuantumButlerError as exc:
                if exc.kind != "PayloadTooLarge" or "as" in params:
                    raise
            # Too large to travel inline: let the sidecar write a file, read it, delete it.
            fd, path = tempfile.mkstemp(prefix="quantum-butler-get-")
            os.close(fd)
            try:
                result = self._call(method, dict(params, **{"as": "file", "destination": path}), timeout)
                return self._decode_file(path, result.get("storageClass"))
            finally:
                _remove_quietly(path)
        finally:
            if token is not None:
                self._finish_progress(token)

    def _finish_progress(self, token: str) -> None:
        # The request's $/progress notifications arrived before its response: deliver them
        # all before returning, so the caller sees "end" when the call returns.
        self.connection.flush_notifications(5.0)
        self.client.release_progress_token(token)

    # ----------------------------------------------------------------- LimitedButler API

    def isWriteable(self) -> bool:
        return True

    def get_datastore_names(self, *, timeout: Optional[float] = None) -> tuple:
        """daf_butler ``get_datastore_names``: the names of this butler's datastores."""
        return tuple(self._call("butler/getDatastoreRoots", {}, timeout)["names"])

    def get_datastore_roots(self, *, timeout: Optional[float] = None) -> Dict[str, Optional[str]]:
        """daf_butler ``get_datastore_roots``: datastore name → root URI (None for an in-memory datastore)."""
        return dict(self._call("butler/getDatastoreRoots", {}, timeout)["roots"])

    def get_many_uris(
        self,
        refs: Iterable[RefLike],
        predict: bool = False,
        allow_missing: bool = False,
        *,
        timeout: Optional[float] = None,
    ) -> "RefKeyedDict[DatasetRefURIs]":
        """daf_butler ``get_many_uris``: :class:`DatasetRefURIs` keyed by the refs given, as daf_butler's
        ``dict[DatasetRef, DatasetRefURIs]`` (a :class:`RefKeyedDict`: lookup by any form of a ref).

        A dataset that is not stored raises :class:`~quantum_butler.errors.DatasetNotFoundError`
        (a ``FileNotFoundError``) unless ``predict`` (a predicted URI) or ``allow_missing`` (left out).
        """
        given = list(refs)
        params = {"refs": [_ref_arg(r) for r in given], "predict": bool(predict), "allowMissing": bool(allow_missing)}
        uris = self._call("butler/getManyURIs", params, timeout)["uris"]
        found = [(r, uris[ref_id(r)]) for r in given if ref_id(r) in uris]  # allow_missing leaves some out
        return RefKeyedDict((r, DatasetRefURIs(u.get("primary"), dict(u.get("components") or {}))) for r, u in found)

    def retrieve_artifacts(
        self,
        refs: Iterable[RefLike],
        destination: str,
        transfer: str = "auto",
        preserve_path: bool = True,
        overwrite: bool = False,
        *,
        timeout: Optional[float] = None,
    ) -> List[str]:
        """daf_butler ``retrieve_artifacts``: copy (``transfer``: auto, copy, link, hardlink, symlink,
        relsymlink; ``move`` is refused) the datasets' artifacts into ``destination`` on the sidecar's
        host, with a ``_butler_zip_index.json``. Returns the paths written (order not preserved).

        An existing file with ``overwrite=False`` raises
        :class:`~quantum_butler.errors.FileExistsButlerError` (a ``FileExistsError``) and writes nothing.
        """
        params = {
            "refs": [_ref_arg(r) for r in refs],
            "destination": host_path(destination),
            "transfer": transfer,
            "preservePath": bool(preserve_path),
            "overwrite": bool(overwrite),
        }
        return list(self._call("butler/retrieveArtifacts", params, timeout)["paths"])

    def retrieve_artifacts_zip(
        self,
        refs: Iterable[RefLike],
        destination: str,
        overwrite: bool = True,
        *,
        timeout: Optional[float] = None,
    ) -> str:
        """daf_butler ``retrieve_artifacts_zip``: the artifacts and their index in one Zip file in
        ``destination``; returns its path. ``ValueError`` (InvalidArgumentError) with no refs."""
        refs = [_ref_arg(r) for r in refs]
        if not refs:
            raise ValueError("Requested Zip file with no contents.")
        params = {"refs": refs, "destination": host_path(destination), "overwrite": bool(overwrite)}
        return self._call("butler/retrieveArtifactsZip", params, timeout)["path"]

    def get(
        self,
        ref: RefLike,
        *,
        parameters: Optional[Mapping[str, Any]] = None,
        storageClass: Optional[Any] = None,
        component: Optional[str] = None,
        timeout: Optional[float] = None,
        progress: Optional[Callable[[Any], None]] = None,
    ) -> Any:
        """Read a dataset: JSON values as Python objects, Text as str, Bytes as bytes.

        ``storageClass`` is a name or, as in daf_butler, a ``StorageClass`` (its ``name`` is sent).

        A missing dataset raises :class:`~quantum_butler.errors.DatasetNotFoundError`
        (a ``FileNotFoundError``). Values over the sidecar's ``maxInlineBytes`` are
        fetched through a temporary file transparently.
        """
        params = _read_options({"ref": _ref_param(ref)}, parameters, storageClass, component)
        return self._read("butler/get", params, timeout, progress)

    def get_to_file(self, ref: RefLike, destination: str, *, parameters=None, storageClass=None, component=None, timeout=None) -> Dict[str, Any]:
        """Have the sidecar write the dataset's bytes to ``destination``; returns the result."""
        params = _read_options({"ref": _ref_arg(ref)}, parameters, storageClass, component)
        params.update({"as": "file", "destination": host_path(destination)})
        return self._call("butler/get", params, timeout)

    def getDeferred(
        self,
        ref: RefLike,
        *,
        parameters: Optional[Mapping[str, Any]] = None,
        storageClass: Optional[Any] = None,
        timeout: Optional[float] = None,
    ) -> "DeferredDatasetHandle":
        """A handle that loads later; no existence check (daf_butler counts the input as used now)."""
        params: Dict[str, Any] = {"ref": _ref_arg(ref)}
        if parameters is not None:
            params["parameters"] = dict(parameters)
        storageClass = _storage_class_name(storageClass)
        if storageClass is not None:
            params["storageClass"] = storageClass
        result = self._call("butler/getDeferred", params, timeout)
        return DeferredDatasetHandle(self, result["handle"], result["ref"], parameters, storageClass)

    def stored(self, ref: RefLike, *, timeout: Optional[float] = None) -> bool:
        """Does the dataset exist? Records a predicted input as available or missing."""
        return bool(self._call("butler/stored", {"ref": _ref_param(ref)}, timeout)["stored"])

    def stored_many(self, refs: Iterable[RefLike], *, timeout: Optional[float] = None) -> "RefKeyedDict[bool]":
        """Bulk :meth:`stored`, keyed by the refs given (as daf_butler's ``dict[DatasetRef, bool]``):
        ``result[ref]`` takes the ref object, its dict or its id; ``result.by_id()`` is ``{id: bool}``."""
        given = list(refs)
        stored = self._call("butler/storedMany", {"refs": [_ref_arg(r) for r in given]}, timeout)["stored"]
        return RefKeyedDict((r, bool(stored[ref_id(r)])) for r in given)

    def markInputUnused(self, ref: RefLike, reason: Optional[str] = None, *, timeout: Optional[float] = None) -> str:
        """Declare that a predicted input was not really used; returns the input's new state."""
        params: Dict[str, Any] = {"ref": _ref_arg(ref)}
        if reason is not None:
            params["reason"] = reason
        return self._call("butler/markInputUnused", params, timeout)["state"]

    def put(
        self,
        obj: Any,
        ref: RefLike,
        *,
        provenance: Optional[Any] = None,
        timeout: Optional[float] = None,
        progress: Optional[Callable[[Any], None]] = None,
    ) -> DatasetRef:
        """Write a predicted output; returns the ref: a daf_butler ``DatasetRef`` given is returned as
        it is (as daf_butler's ``put`` does), else the stored ref as the sidecar resolved it (a dict).

        ``bytes`` travel base64, ``str`` as text, anything else as JSON. Bytes or text over
        the sidecar's ``maxInlineBytes`` go through a temporary file the sidecar moves.
        A ref that was not predicted raises
        :class:`~quantum_butler.errors.NotPredictedOutputError` (a ``RuntimeError``).
        """
        stored = self.put_result(obj, ref, provenance=provenance, timeout=timeout, progress=progress)["ref"]
        return ref if callable(getattr(ref, "to_simple", None)) else stored

    def put_result(
        self,
        obj: Any,
        ref: RefLike,
        *,
        provenance: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
        progress: Optional[Callable[[Any], None]] = None,
    ) -> PutResult:
        """As :meth:`put`, returning the whole result: ``{ref, size, sha256, uri, alreadyStored}``."""
        if provenance is None and progress is None and not isinstance(obj, _NOT_JSON):
            # A JSON value as it is (the usual put): no size to check, no temporary file.
            params = {"ref": _ref_param(ref), "payload": {"encoding": "json", "value": obj}}
            return self._call("butler/put", params, timeout)
        temp: Optional[str] = None
        raw: Optional[bytes] = None  # the bytes of a bytes or text value
        if isinstance(obj, (bytes, bytearray, memoryview)):
            raw = bytes(obj)
            if len(raw) > self.connection.max_inline_bytes:
                temp = _write_temp(raw)
                payload: Dict[str, Any] = {"encoding": "file", "path": temp, "mode": "move"}
            else:
                payload = {"encoding": "base64", "data": base64.b64encode(raw).decode("ascii")}
        elif isinstance(obj, str):
            raw = obj.encode("utf-8")
            if len(raw) > self.connection.max_inline_bytes:
                temp = _write_temp(raw)
                payload = {"encoding": "file", "path": temp, "mode": "move"}
            else:
                payload = {"encoding": "text", "text": obj}
        else:
            payload = {"encoding": "json", "value": obj}
        try:
            try:
                return self.put_payload(payload, ref, provenance=provenance, timeout=timeout, progress=progress)
            except MessageTooLargeError:
                if temp is not None or raw is None:
                    raise
            # Within maxInlineBytes, but over the sidecar's message limit once escaped: by file.
            temp = _write_temp(raw)
            payload = {"encoding": "file", "path": temp, "mode": "move"}
            return self.put_payload(payload, ref, provenance=provenance, timeout=timeout, progress=progress)
        finally:
            if temp is not None:
                _remove_quietly(temp)  # still there if the put failed

    def put_file(self, path: str, ref: RefLike, *, mode: str = "copy", timeout: Optional[float] = None, progress=None) -> PutResult:
        """Put the bytes of a file on the sidecar's host (``mode``: copy, move or link)."""
        payload = {"encoding": "file", "path": host_path(path), "mode": mode}
        return self.put_payload(payload, ref, timeout=timeout, progress=progress)

    def put_payload(
        self,
        payload: Mapping[str, Any],
        ref: RefLike,
        *,
        provenance: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
        progress: Optional[Callable[[Any], None]] = None,
    ) -> PutResult:
        """``butler/put`` with an explicit wire payload."""
        params: Dict[str, Any] = {"ref": _ref_param(ref), "payload": dict(payload)}
        if provenance is not None:
            params["provenance"] = _provenance_arg(provenance)
        token = None
        if progress is not None:
            token = self.client.progress_token(progress)
            params["workDoneToken"] = token
        try:
            return self._call("butler/put", params, timeout)
        finally:
            if token is not None:
                self._finish_progress(token)

    def pruneDatasets(
        self,
        refs: Iterable[RefLike],
        *,
        disassociate: bool = True,
        unstore: bool = False,
        tags: Iterable[str] = (),
        purge: bool = False,
        timeout: Optional[float] = None,
    ) -> List[str]:
        """Remove written outputs with daf_butler's argument rules (the defaults raise TypeError).

        A store-only removal is ``disassociate=False, unstore=True``; a full one
        ``disassociate=True, unstore=True, purge=True``. Returns the pruned ids.
        """
        params: Dict[str, Any] = {
            "refs": [_ref_arg(r) for r in refs],
            "disassociate": bool(disassociate),
            "unstore": bool(unstore),
            "purge": bool(purge),
        }
        tags = list(tags)
        if tags:
            params["tags"] = tags
        return list(self._call("butler/pruneDatasets", params, timeout)["pruned"])

    def getURIs(self, ref: RefLike, predict: bool = False, *, timeout: Optional[float] = None) -> DatasetRefURIs:
        result = self._call("butler/getURIs", {"ref": _ref_arg(ref), "predict": bool(predict)}, timeout)
        return DatasetRefURIs(result.get("primary"), dict(result.get("components") or {}))

    def getURI(self, ref: RefLike, predict: bool = False) -> str:
        primary, components = self.getURIs(ref, predict)
        if primary is None or components:
            raise RuntimeError(
                "Dataset (%s) includes distinct URIs for components. Use LimitedButler.getURIs() instead." % ref_id(ref)
            )
        return primary

    def export_predicted_datastore_records(self, refs: Iterable[RefLike], *, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Datastore records expected for predicted refs, by datastore name ({} for in-memory)."""
        result = self._call("butler/exportPredictedRecords", {"refs": [_ref_arg(r) for r in refs]}, timeout)
        return dict(result.get("records") or {})

    @overload
    def extract_provenance_data(self, format: Literal["daf_butler"] = ..., *, timeout: Optional[float] = None) -> QuantumProvenanceData: ...

    @overload
    def extract_provenance_data(self, format: Literal["native"], *, timeout: Optional[float] = None) -> NativeProvenance: ...

    @overload
    def extract_provenance_data(self, format: Literal["prov", "openlineage"], *, timeout: Optional[float] = None) -> Any: ...

    def extract_provenance_data(self, format: str = "daf_butler", *, timeout: Optional[float] = None) -> Any:
        """Provenance so far: daf_butler QuantumProvenanceData fields (default), ``format='native'``
        (the sidecar's document), ``'prov'`` (a W3C PROV-JSON document) or ``'openlineage'`` (a list of
        START and COMPLETE RunEvents)."""
        return self._call("butler/extractProvenance", {"format": format}, timeout)

    def metrics(self, reset: bool = False, *, timeout: Optional[float] = None) -> Dict[str, Any]:
        """daf_butler ButlerMetrics fields (``n_get``, ``n_put``, ``n_ingest``, ``time_in_get``,
        ``time_in_put``, ``time_in_ingest``) plus ``n_get_failed``, ``n_put_failed``, ``bytes_read``, ``bytes_written``."""
        counters = self._call("butler/metrics", {"reset": bool(reset)}, timeout)
        if reset:  # what was counted up to the reset still goes to the metrics recording it
            self._recorder.flush(counters, reset=True)
        return counters

    def _counters(self) -> Dict[str, Any]:
        return self.metrics()

    @property
    def _metrics(self) -> Any:
        """The ``ButlerMetrics`` recording now (daf_butler's attribute): ``metrics=``, a
        :meth:`record_metrics` context's, or the session's own."""
        return self._recorder.current

    @contextmanager
    def record_metrics(self, metrics: Optional[Any] = None) -> Iterator[Any]:
        """daf_butler ``record_metrics``: the gets and puts made inside the ``with`` block are added
        to ``metrics`` (default a new :class:`~quantum_butler.metrics.ButlerMetrics`), which it yields;
        the metrics recording before (``metrics=``) do not count them, as in daf_butler. The counters
        are read from the sidecar when the block starts and ends (two calls), so calls made by
        other threads of this session meanwhile count too.
        """
        new = metrics if metrics is not None else ButlerMetrics()
        before = self._recorder.swap(new)
        self._recording += 1
        try:
            yield new
        finally:
            self._recording -= 1
            if self._closed:  # close() brought it up to date
                self._recorder.current = before
            else:
                self._recorder.swap(before)

    @property
    def dimensions(self) -> DimensionUniverse:
        """The session's dimension universe (daf_butler's ``LimitedButler.dimensions``), asked once.

        A :class:`~quantum_butler.dimensions.DimensionUniverse` built from the config the
        sidecar returns (``butler/dimensions`` with ``config: true``): ``namespace``,
        ``version``, ``elements`` and ``conform()``. ``dimensions.config`` is a daf_butler
        dimensions config: ``lsst.daf.butler.DimensionUniverse(DimensionConfig(it))`` rebuilds
        the universe where daf_butler is installed.
        """
        if self._dimensions is None:
            self._dimensions = DimensionUniverse(self._call("butler/dimensions", {"config": True})["config"])
        return self._dimensions

    @property
    def store(self) -> "Store":
        """The session's key-value store, with encore's API (``store/*`` methods)."""
        from .store import Store

        return Store(self)

    def on_provenance(self, callback: Callable[[Dict[str, Any]], None]) -> Callable[[], None]:
        """Provenance events of this session only."""
        return self.client.on_provenance(callback, session_id=self.session_id)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, *, timeout: Optional[float] = None) -> Optional[NativeProvenance]:
        """Close the session; returns its final native provenance (None if it was already closed)."""
        if self._closed:
            return self._final_provenance
        if self._recording or self._recorder.given:
            self._recorder.flush()
        result = self.connection.request("session/close", {"sessionId": self.session_id}, timeout=timeout)
        self._closed = True
        self._final_provenance = result.get("provenance")
        return self._final_provenance

    def __enter__(self) -> "QuantumBackedButler":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self.close()
        except Exception:
            if exc_type is None:
                raise
            _log.exception("Closing session %s failed", self.session_id)  # never hide the caller's error

    def __repr__(self) -> str:
        return "<QuantumBackedButler session=%s task=%s%s>" % (
            self.session_id,
            self.info.get("taskName"),
            " closed" if self._closed else "",
        )


class DeferredDatasetHandle:
    """What :meth:`QuantumBackedButler.getDeferred` returns; ``get()`` loads it."""

    def __init__(self, butler: QuantumBackedButler, handle: str, ref: Dict[str, Any], parameters: Optional[Mapping[str, Any]], storageClass: Optional[str]):
        self.butler = butler
        self.handle = handle
        self.ref = ref
        self.parameters = dict(parameters) if parameters is not None else None
        self.storageClass = storageClass

    @property
    def dataId(self) -> Dict[str, Any]:
        return self.ref.get("dataId", {})

    def get(
        self,
        *,
        component: Optional[str] = None,
        parameters: Optional[Mapping[str, Any]] = None,
        storageClass: Optional[Any] = None,
        timeout: Optional[float] = None,
        progress: Optional[Callable[[Any], None]] = None,
    ) -> Any:
        """Load (``butler/loadDeferred``); per-call parameters override the handle's."""
        params = _read_options({"handle": self.handle}, parameters, storageClass, component)
        return self.butler._read("butler/loadDeferred", params, timeout, progress)

    def __repr__(self) -> str:
        return "<DeferredDatasetHandle %s ref=%s>" % (self.handle, self.ref.get("id"))


def _provenance_arg(provenance: Any) -> Dict[str, Any]:
    """daf_butler DatasetProvenance (the model or its JSON dict) or the short ``{inputs: [ids], extras}`` form."""
    dump = getattr(provenance, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    out = dict(provenance)
    if "inputs" in out:
        out["inputs"] = [i if isinstance(i, (str, _MappingABC)) else _ref_arg(i) for i in out["inputs"]]
    if isinstance(out.get("extras"), _MappingABC):
        out["extras"] = {str(k): dict(v) for k, v in out["extras"].items()}
    if "quantum_id" in out and isinstance(out["quantum_id"], uuid.UUID):
        out["quantum_id"] = str(out["quantum_id"])
    return out


def _storage_class_name(storage_class: Any) -> Optional[str]:
    """A storage class as the wire names it: a name, or a daf_butler ``StorageClass``'s ``name``."""
    if storage_class is None or isinstance(storage_class, str):
        return storage_class
    name = getattr(storage_class, "name", None)
    if not isinstance(name, str):
        raise TypeError("storageClass must be a name or a StorageClass, not %r" % (storage_class,))
    return name


def _read_options(params: Dict[str, Any], parameters: Optional[Mapping[str, Any]], storage_class: Any, component: Optional[str]) -> Dict[str, Any]:
    if parameters is not None:
        params["parameters"] = dict(parameters)
    storage_class = _storage_class_name(storage_class)
    if storage_class is not None:
        params["storageClass"] = storage_class
    if component is not None:
        params["component"] = component
    return params


def _write_temp(data: bytes) -> str:
    fd, path = tempfile.mkstemp(prefix="quantum-butler-put-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        _remove_quietly(path)
        raise
    return path


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


_OPEN_SESSION_KEYWORDS = (
    "quantum", "predicted", "datastore_name", "session_id", "quantum_id", "dataset_types", "storage_classes",
    "notifications", "strict_deferred", "store", "mount", "repository", "provenance_file", "dimensions", "timeout",
)


def _quantum_param(quantum: Any) -> Dict[str, Any]:
    """A quantum for the wire: a pydantic model dumped, a dict checked key by key (snake_case accepted)."""
    dump = getattr(quantum, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    to_simple = getattr(quantum, "to_simple", None)  # a daf_butler Quantum
    if callable(to_simple):
        return _quantum_param(to_simple())
    return strict_keys("quantum", quantum, _QUANTUM_FIELDS)


def _dataset_types_by_name(dataset_types: Any) -> Dict[str, Dict[str, Any]]:
    """daf_butler's ``Mapping[str, DatasetType]`` (or a list of types) as name → SerializedDatasetType dict."""
    if dataset_types is None:
        return {}
    items = dataset_types.values() if isinstance(dataset_types, _MappingABC) else dataset_types
    out: Dict[str, Dict[str, Any]] = {}
    for dt in items:
        simple = _simple(dt)
        out[simple["name"]] = simple
    return out


def _dataset_types_param(dataset_types: Any) -> List[Dict[str, Any]]:
    return list(_dataset_types_by_name(dataset_types).values())


def _simple(obj: Any) -> Dict[str, Any]:
    """A daf_butler object's serialized dict (``to_simple()``), or the dict itself."""
    to_simple = getattr(obj, "to_simple", None)
    if callable(to_simple):
        obj = to_simple()
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return dict(obj)

