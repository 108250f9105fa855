"""The key-value store of a session, with Enthought encore's method names.

Each method calls one ``store/<camelCase>`` method of the sidecar with the
session's ``sessionId``; keys go as ``key``/``keys``, bytes as base64 ``data``,
metadata as a JSON object. Bytes come back as ``bytes`` (not encore's file-like
streams); a missing key raises :class:`~quantum_butler.errors.KeyNotFoundError`,
which is a ``KeyError`` as in encore.

    store = Store(butler)                    # or Store(client_or_conn, session_id)
    store.set("a/b", b"data", {"kind": "x"})
    data, metadata = store.get("a/b")
    with store.transaction("two writes"):
        store.set_data("a/c", b"1")
        store.update_metadata("a/b", {"seen": True})

Results are read leniently (a bare value or an object naming it) so small changes
in the result shapes do not break callers.
"""
from __future__ import annotations

import base64
import contextlib
import os
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from .rpc import Connection

__all__ = ["Store", "StoreValue", "StoreTransaction"]

Metadata = Dict[str, Any]


def _b64(data: Union[bytes, bytearray, memoryview]) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _unb64(value: Any) -> bytes:
    """Bytes from a base64 string, a ``{encoding, data}`` payload, or a ``{data}`` object."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, Mapping):
        if value.get("encoding") == "text":
            return str(value.get("text", "")).encode("utf-8")
        if value.get("encoding") == "file":
            with open(value["path"], "rb") as f:
                return f.read()
        value = value.get("data", "")
    if value is None:
        return b""
    return base64.b64decode(value)


def _field(result: Any, *names: str) -> Any:
    """``result[name]`` for the first name present, else the result itself."""
    if isinstance(result, Mapping):
        for name in names:
            if name in result:
                return result[name]
    return result


class StoreValue:
    """A stored value: ``data`` (bytes), ``metadata``, ``size``, ``created``, ``modified``.

    Unpacks like encore's deprecated 2-tuple: ``data, metadata = store.get(key)``.
    """

    __slots__ = ("key", "data", "metadata", "size", "created", "modified")

    def __init__(self, key: str, data: bytes, metadata: Metadata, size: Optional[int] = None, created: Optional[float] = None, modified: Optional[float] = None):
        self.key = key
        self.data = data
        self.metadata = metadata
        self.size = len(data) if size is None else size
        self.created = created
        self.modified = modified

    @classmethod
    def from_wire(cls, key: str, raw: Any) -> "StoreValue":
        if not isinstance(raw, Mapping):
            return cls(key, _unb64(raw), {})
        return cls(
            raw.get("key", key),
            _unb64(raw.get("data", raw.get("payload"))),
            dict(raw.get("metadata") or {}),
            raw.get("size"),
            raw.get("created"),
            raw.get("modified"),
        )

    def __iter__(self) -> Iterator[Any]:
        return iter((self.data, self.metadata))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> Any:
        return (self.data, self.metadata)[i]

    def range(self, start: Optional[int] = None, end: Optional[int] = None) -> bytes:
        return self.data[start:end]

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, StoreValue):
            return (self.key, self.data, self.metadata) == (other.key, other.data, other.metadata)
        return NotImplemented

    def __repr__(self) -> str:
        return "StoreValue(key=%r, size=%r, metadata=%r)" % (self.key, self.size, self.metadata)


class StoreTransaction:
    """An open transaction (see :meth:`Store.transaction`)."""

    def __init__(self, store: "Store", transaction_id: Optional[str], notes: str):
        self.store = store
        self.id = transaction_id
        self.notes = notes
        self.state = "open"

    def commit(self) -> None:
        if self.state == "open":
            self.store._call("store/commitTransaction", {"transactionId": self.id})
            self.state = "done"

    def rollback(self) -> None:
        if self.state == "open":
            self.store._call("store/rollbackTransaction", {"transactionId": self.id})
            self.state = "failed"


class Store:
    """encore-style access to the store behind a session's datastore."""

    def __init__(self, owner: Any, session_id: Optional[str] = None, *, timeout: Optional[float] = None):
        # owner: a QuantumBackedButler, a Client or a Connection (then session_id is required).
        connection = getattr(owner, "connection", owner)
        if not isinstance(connection, Connection):
            raise TypeError("Store needs a QuantumBackedButler, a Client or a Connection, got %r" % (owner,))
        if session_id is None:
            session_id = getattr(owner, "session_id", None)
        if session_id is None:
            raise TypeError("Store(...) needs a session_id when given a Client or a Connection")
        self.connection = connection
        self.session_id: str = session_id
        self.timeout = timeout
        self._transactions: List[StoreTransaction] = []

    def _call(self, method: str, params: Optional[Dict[str, Any]] = None, timeout: Optional[float] = None) -> Any:
        p = dict(params or {})
        p["sessionId"] = self.session_id
        return self.connection.request(method, p, timeout=timeout if timeout is not None else self.timeout)

    # ----------------------------------------------------------------- connection and info

    def info(self) -> Dict[str, Any]:
        return dict(self._call("store/info"))

    def connect(self, credentials: Any = None) -> None:
        """Stores on the sidecar are always connected; kept for API compatibility."""

    def disconnect(self) -> None:
        """Kept for API compatibility."""

    def is_connected(self) -> bool:
        return self.connection.alive

    # ----------------------------------------------------------------- reads

    def get(self, key: str) -> StoreValue:
        return StoreValue.from_wire(key, _field(self._call("store/get", {"key": key}), "value"))

    def get_data(self, key: str) -> bytes:
        return _unb64(_field(self._call("store/getData", {"key": key}), "data"))

    def get_data_range(self, key: str, start: Optional[int] = None, end: Optional[int] = None) -> bytes:
        """``data[start:end]`` (``end`` exclusive, as a slice)."""
        params: Dict[str, Any] = {"key": key}
        if start is not None:
            params["start"] = start
        if end is not None:
            params["end"] = end
        return _unb64(_field(self._call("store/getDataRange", params), "data"))

    def get_metadata(self, key: str, select: Optional[Iterable[str]] = None) -> Metadata:
        params: Dict[str, Any] = {"key": key}
        if select is not None:
            params["select"] = list(select)
        return dict(_field(self._call("store/getMetadata", params), "metadata") or {})

    def exists(self, key: str) -> bool:
        return bool(_field(self._call("store/exists", {"key": key}), "exists"))

    def multiget(self, keys: Iterable[str]) -> List[StoreValue]:
        keys = list(keys)
        values = _field(self._call("store/multiget", {"keys": keys}), "values")
        return [StoreValue.from_wire(k, v) for k, v in zip(keys, values)]

    def multiget_data(self, keys: Iterable[str]) -> List[bytes]:
        keys = list(keys)
        datas = _field(self._call("store/multigetData", {"keys": keys}), "datas", "data", "values")
        return [_unb64(d) for d in datas]

    def multiget_metadata(self, keys: Iterable[str], select: Optional[Iterable[str]] = None) -> List[Metadata]:
        params: Dict[str, Any] = {"keys": list(keys)}
        if select is not None:
            params["select"] = list(select)
        metadatas = _field(self._call("store/multigetMetadata", params), "metadatas", "metadata", "values")
        return [dict(m or {}) for m in metadatas]

    def glob(self, pattern: str) -> List[str]:
        return list(_field(self._call("store/glob", {"pattern": pattern}), "keys"))

    def query(self, select: Optional[Iterable[str]] = None, **match: Any) -> List[Tuple[str, Metadata]]:
        """Keys whose metadata equals every ``match`` item: ``[(key, metadata)]`` tuples."""
        params: Dict[str, Any] = {"match": match}
        if select is not None:
            params["select"] = list(select)
        rows = _field(self._call("store/query", params), "results", "items")
        out: List[Tuple[str, Metadata]] = []
        for row in rows:
            if isinstance(row, Mapping):
                out.append((row["key"], dict(row.get("metadata") or {})))
            else:
                out.append((row[0], dict(row[1] or {})))
        return out

    def query_keys(self, **match: Any) -> List[str]:
        return list(_field(self._call("store/queryKeys", {"match": match}), "keys"))

    def to_bytes(self, key: str) -> bytes:
        return _unb64(_field(self._call("store/toBytes", {"key": key}), "data"))

    def to_file(self, key: str, path: str) -> None:
        """Have the sidecar write the value's bytes to ``path`` (made absolute)."""
        self._call("store/toFile", {"key": key, "path": os.path.abspath(path)})

    # ----------------------------------------------------------------- writes

    def set(self, key: str, value: Any, metadata: Optional[Metadata] = None) -> None:
        """``set(key, data, metadata)``; ``value`` may also be a StoreValue or a ``(data, metadata)`` pair."""
        data, md = _split_value(value, metadata)
        self._call("store/set", {"key": key, "data": _b64(data), "metadata": md})

    def set_data(self, key: str, data: Union[bytes, bytearray, memoryview]) -> None:
        self._call("store/setData", {"key": key, "data": _b64(_as_bytes(data))})

    def set_metadata(self, key: str, metadata: Metadata) -> None:
        self._call("store/setMetadata", {"key": key, "metadata": dict(metadata)})

    def update_metadata(self, key: str, metadata: Metadata) -> None:
        self._call("store/updateMetadata", {"key": key, "metadata": dict(metadata)})

    def delete(self, key: str) -> None:
        self._call("store/delete", {"key": key})

    def multiset(self, keys: Iterable[str], values: Iterable[Any], metadatas: Optional[Iterable[Metadata]] = None) -> None:
        """Zip semantics. ``values`` are bytes (then ``metadatas`` is required) or ``(data, metadata)`` pairs."""
        keys = list(keys)
        values = list(values)
        mds = list(metadatas) if metadatas is not None else [None] * len(values)
        pairs = [_split_value(v, m) for v, m in zip(values, mds)]
        n = min(len(keys), len(pairs))
        self._call(
            "store/multiset",
            {"keys": keys[:n], "datas": [_b64(d) for d, _ in pairs[:n]], "metadatas": [m for _, m in pairs[:n]]},
        )

    def multiset_data(self, keys: Iterable[str], datas: Iterable[bytes]) -> None:
        keys, datas = list(keys), [_b64(_as_bytes(d)) for d in datas]
        n = min(len(keys), len(datas))
        self._call("store/multisetData", {"keys": keys[:n], "datas": datas[:n]})

    def multiset_metadata(self, keys: Iterable[str], metadatas: Iterable[Metadata]) -> None:
        keys, mds = list(keys), [dict(m) for m in metadatas]
        n = min(len(keys), len(mds))
        self._call("store/multisetMetadata", {"keys": keys[:n], "metadatas": mds[:n]})

    def multiupdate_metadata(self, keys: Iterable[str], metadatas: Iterable[Metadata]) -> None:
        keys, mds = list(keys), [dict(m) for m in metadatas]
        n = min(len(keys), len(mds))
        self._call("store/multiupdateMetadata", {"keys": keys[:n], "metadatas": mds[:n]})

    def from_bytes(self, key: str, data: Union[bytes, bytearray, memoryview]) -> None:
        self._call("store/fromBytes", {"key": key, "data": _b64(_as_bytes(data))})

    def from_file(self, key: str, path: str) -> None:
        """Have the sidecar read ``path`` (made absolute) into ``key``."""
        self._call("store/fromFile", {"key": key, "path": os.path.abspath(path)})

    def push(self, key: str) -> None:
        """Mounted stores: move ``key`` from the mount down into the backing store."""
        self._call("store/push", {"key": key})

    # ----------------------------------------------------------------- transactions and events

    def begin(self, notes: str = "") -> StoreTransaction:
        """Begin a transaction; the session store's writes join it until commit or rollback."""
        result = self._call("store/beginTransaction", {"notes": notes})
        txn = StoreTransaction(self, _field(result, "transactionId", "id"), notes)
        return txn

    @contextlib.contextmanager
    def transaction(self, notes: str = "") -> Iterator[StoreTransaction]:
        """Commit on success, roll back (and re-raise) on an exception. Nests."""
        txn = self.begin(notes)
        self._transactions.append(txn)
        try:
            yield txn
        except BaseException:
            try:
                txn.rollback()
            finally:
                self._transactions.remove(txn)
            raise
        else:
            try:
                txn.commit()
            finally:
                self._transactions.remove(txn)

    def on_event(self, callback: Callable[[Dict[str, Any]], None]) -> Callable[[], None]:
        """``callback(event)`` for this session's ``store/event`` notifications.

        ``event`` is ``{type: set|update|delete|transactionStart|transactionEnd|progress*, ...}``;
        the notification's ``seq`` is copied into it. The session must have been opened
        with ``"store"`` among its ``notifications``.
        """
        sid = self.session_id

        def filtered(params: Any) -> None:
            if isinstance(params, Mapping) and params.get("sessionId") == sid:
                event = dict(params.get("event") or {})
                event.setdefault("seq", params.get("seq"))
                callback(event)

        return self.connection.on_notification("store/event", filtered)

    def __repr__(self) -> str:
        return "<Store session=%s>" % self.session_id


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    read = getattr(data, "read", None)  # a file-like, as encore accepts
    if callable(read):
        return read()
    return bytes(data)


def _split_value(value: Any, metadata: Optional[Metadata]) -> Tuple[bytes, Metadata]:
    if isinstance(value, StoreValue):
        return value.data, dict(metadata if metadata is not None else value.metadata)
    if isinstance(value, tuple) and len(value) == 2 and metadata is None:
        data, md = value
        return _as_bytes(data), dict(md or {})
    return _as_bytes(value), dict(metadata or {})
