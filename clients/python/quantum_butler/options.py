"""Strict option dicts and the one path rule, shared by every method that sends them.

Dicts the client forwards (``repository=``, ``store=``, ``mount=``, a quantum) are checked key
by key: a key that is not accepted raises TypeError naming it and the accepted ones (the
sidecar would otherwise ignore it, and a typo would silently change what a session does).
Keys are snake_case on the Python side; the camelCase wire names are accepted too, so dicts
made by daf_butler's ``model_dump()`` pass as they are.

Paths are absolute, or relative to the host's working directory: the client resolves them
before sending, so they never resolve against the sidecar's working directory.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Iterable, Mapping, Sequence

__all__ = ["strict_keys", "reject_unknown", "host_path", "store_spec", "camel"]


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def reject_unknown(what: str, unknown: Iterable[str], accepted: Iterable[str]) -> None:
    """TypeError naming the first unknown key and every accepted one."""
    unknown = sorted(unknown)
    if unknown:
        raise TypeError(
            "%s: unknown %s %s; accepted: %s"
            % (what, "key" if len(unknown) == 1 else "keys", ", ".join(repr(k) for k in unknown), ", ".join(accepted))
        )


def strict_keys(what: str, given: Mapping[str, Any], fields: Sequence[str]) -> Dict[str, Any]:
    """``given`` with its keys checked against ``fields`` (snake_case names) and renamed to camelCase.

    Each field may be given by its snake_case name or its camelCase wire name, not both.
    """
    if not isinstance(given, Mapping):
        raise TypeError("%s must be a dict, not %s" % (what, type(given).__name__))
    wire = {name: camel(name) for name in fields}
    by_any: Dict[str, str] = {}
    for name, camel_name in wire.items():
        by_any[name] = camel_name
        by_any[camel_name] = camel_name
    reject_unknown(what, (k for k in given if k not in by_any), fields)
    out: Dict[str, Any] = {}
    for key, value in given.items():
        target = by_any[key]
        if target in out:
            raise TypeError("%s: %r is given twice (as snake_case and camelCase)" % (what, target))
        out[target] = value
    return out


def host_path(path: Any) -> str:
    """An absolute path: ``path`` resolved against this process's working directory.
    SQLite's ``:memory:`` stays as it is."""
    text = os.fspath(path)
    if text == ":memory:":
        return text
    return os.path.abspath(text)


def store_spec(what: str, spec: Mapping[str, Any]) -> Dict[str, Any]:
    """A plain store spec (``{"kind": "memory"}`` or ``{"kind": "sqlite"|"file", "path": ...}``)
    with its path resolved."""
    out = strict_keys(what, spec, ("kind", "path"))
    if "path" in out:
        out["path"] = host_path(out["path"])
    return out

