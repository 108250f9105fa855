"""Dimension universes without daf_butler: which dimensions a data ID needs.

A daf_butler dimensions config (``configs/dimensions.yaml``, as a dict) defines
elements with ``requires``, ``implies`` and ``keys``. :class:`DimensionUniverse`
orders them as daf_butler does and :meth:`DimensionUniverse.conform` turns any set
of dimension names into a :class:`DimensionGroup`: the names plus their
dependencies, split into ``required`` (what identifies a data ID, and what a
dataset id hashes) and ``implied`` (what those identify, e.g. ``band`` from
``physical_filter``). :func:`default_universe` is daf_butler's default universe,
read from ``default-universe.json`` beside this module (the sidecar ships the same
file; scripts/gen-universe.ts writes both).
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

__all__ = ["DimensionUniverse", "DimensionGroup", "DimensionElement", "default_universe", "DEFAULT_UNIVERSE_FILE"]

#: The default universe's data file (a trimmed daf_butler dimensions config, as JSON).
DEFAULT_UNIVERSE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "default-universe.json")

_CANONICAL_INT = re.compile(r"^-?(0|[1-9][0-9]*)$")


class DimensionElement:
    """One element: a dimension (``kind`` governor, dimension or skypix) or a combination."""

    __slots__ = ("name", "kind", "required", "implied", "key_type", "key_name", "governor")

    def __init__(self, name: str, kind: str, required: Tuple[str, ...], implied: Tuple[str, ...], key_type: Optional[str], key_name: Optional[str]):
        self.name = name
        self.kind = kind
        self.required = required
        self.implied = implied
        self.key_type = key_type
        self.key_name = key_name
        self.governor: Optional[str] = None

    @property
    def is_dimension(self) -> bool:
        return self.kind != "combination"

    def coerce(self, value: Any) -> Union[int, str]:
        """``value`` as this dimension's key type wants it (``"2"`` → 2 for an int key).

        Only integers in canonical decimal form are converted, so the dataset id (which
        hashes ``str(value)``) is the one daf_butler computes for either form.
        """
        if self.key_type == "int":
            if isinstance(value, int) and not isinstance(value, bool):
                return int(value)
            if isinstance(value, str) and _CANONICAL_INT.match(value):
                return int(value)
        elif self.key_type == "string":
            if isinstance(value, str):
                return value
        raise ValueError(
            "Invalid value %r for dimension %r: its key is %s." % (value, self.name, "an integer" if self.key_type == "int" else "a string")
        )

    def __repr__(self) -> str:
        return "DimensionElement(%r, %s)" % (self.name, self.kind)


class DimensionGroup:
    """A dependency-complete set of dimensions (daf_butler's ``DimensionGroup``).

    ``names`` in the universe's order; ``required`` the dimensions no other member
    implies; ``implied`` the rest; ``data_coordinate_keys`` required then implied.
    """

    __slots__ = ("universe", "names", "required", "implied")

    def __init__(self, universe: "DimensionUniverse", names: Tuple[str, ...]):
        self.universe = universe
        self.names = names
        required: List[str] = []
        implied: List[str] = []
        for dim in names:
            if any(dim in universe[other].implied for other in names):
                implied.append(dim)
            else:
                required.append(dim)
        self.required = tuple(required)
        self.implied = tuple(implied)

    @property
    def data_coordinate_keys(self) -> Tuple[str, ...]:
        return self.required + self.implied

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DimensionGroup) and set(self.names) == set(other.names)

    def __hash__(self) -> int:
        return hash(self.required)

    def __repr__(self) -> str:
        return "DimensionGroup(%s)" % ", ".join(self.names)

    def standardize(self, data_id: Mapping[str, Any]) -> Dict[str, Union[int, str]]:
        """The data ID of this group that ``data_id`` gives, as daf_butler standardises one.

        Values are coerced by key type; every required dimension must have a value
        (KeyError otherwise); implied values are kept when all of them are given (a
        full data ID), else left out; other keys are ignored. Keys come in
        daf_butler's order (required, then implied).
        """
        missing = [d for d in self.required if d not in data_id]
        if missing:
            raise KeyError("No value in data ID %r for required dimension(s) %s." % (dict(data_id), ", ".join(missing)))
        keys = self.data_coordinate_keys if all(d in data_id for d in self.implied) else self.required
        return {d: self.universe[d].coerce(data_id[d]) for d in keys}


class DimensionUniverse:
    """The elements of a daf_butler dimensions config, in daf_butler's order.

    Elements are built in rounds: each round takes every entry (skypix system,
    element, topological family) whose dependencies are built, in lexicographic order
    of name; a skypix system adds its levels in increasing order.
    """

    def __init__(self, config: Mapping[str, Any]):
        self.config = dict(config)
        self.namespace: str = config.get("namespace", "daf_butler")
        self.version: int = int(config["version"])
        self._elements: Dict[str, DimensionElement] = {}
        self._groups: Dict[frozenset, DimensionGroup] = {}
        built: List[DimensionElement] = []

        def dimension(owner: str, name: str) -> DimensionElement:
            e = self._elements.get(name)
            if e is None or not e.is_dimension:
                raise ValueError("Element %r depends on %r, which is not a dimension of this universe." % (owner, name))
            return e

        def ordered(names: Iterable[str]) -> Tuple[str, ...]:
            wanted = set(names)
            return tuple(e.name for e in built if e.name in wanted)

        def add(e: DimensionElement) -> None:
            built.append(e)
            self._elements[e.name] = e

        todo: Dict[str, Tuple[Tuple[str, ...], Any]] = {}
        skypix = dict(config["skypix"])
        skypix.pop("common", None)
        for system in sorted(skypix):
            spec = skypix[system]

            def build_system(system: str = system, spec: Mapping[str, Any] = spec) -> None:
                for level in range(int(spec.get("min_level", 1)), int(spec["max_level"]) + 1):
                    name = "%s%d" % (system, level)
                    add(DimensionElement(name, "skypix", (name,), (), "int", "id"))

            todo[system] = ((), build_system)
        for name, spec in config["elements"].items():
            requires = tuple(spec.get("requires", ()))
            implies = tuple(spec.get("implies", ()))

            def build_element(name: str = name, spec: Mapping[str, Any] = spec, requires: Tuple[str, ...] = requires, implies: Tuple[str, ...] = implies) -> None:
                keys = spec.get("keys") or []
                key = keys[0] if keys else None
                if spec.get("governor"):
                    add(DimensionElement(name, "governor", (name,), (), key["type"], key["name"]))
                    return
                req = set()
                for dep in requires:
                    req.update(dimension(name, dep).required)
                for dep in implies:
                    dimension(name, dep)
                if key is not None:
                    add(DimensionElement(name, "dimension", ordered(req) + (name,), ordered(implies), key["type"], key["name"]))
                else:
                    add(DimensionElement(name, "combination", ordered(req), ordered(implies), None, None))

            todo[name] = (requires + implies, build_element)
        for space in ("spatial", "temporal"):
            for family, members in (config.get("topology") or {}).get(space, {}).items():
                todo[family] = (tuple(members), lambda: None)
        while todo:
            ready = sorted(n for n, (deps, _) in todo.items() if not any(d in todo for d in deps))
            if not ready:
                raise ValueError("Cycle or unmet dependency among dimension elements %s." % sorted(todo))
            for n in ready:
                todo.pop(n)[1]()
        self._order = {e.name: i for i, e in enumerate(built)}
        self.elements: Tuple[DimensionElement, ...] = tuple(built)
        for e in built:
            governors = [d for d in self.conform(e.required + e.implied).names if self._elements[d].kind == "governor"]
            e.governor = governors[0] if len(governors) == 1 else None

    @classmethod
    def from_file(cls, path: str) -> "DimensionUniverse":
        with open(path, "r", encoding="utf-8") as f:
            return cls(json.load(f))

    def __getitem__(self, name: str) -> DimensionElement:
        try:
            return self._elements[name]
        except KeyError:
            raise KeyError("Dimension element %r is not known to universe %s@%d." % (name, self.namespace, self.version)) from None

    def __contains__(self, name: object) -> bool:
        return name in self._elements

    @property
    def dimensions(self) -> Tuple[DimensionElement, ...]:
        return tuple(e for e in self.elements if e.is_dimension)

    def conform(self, names: Iterable[str]) -> DimensionGroup:
        """The group of ``names`` and all their dependencies (KeyError for unknown names)."""
        asked = frozenset(names)
        group = self._groups.get(asked)
        if group is not None:
            return group
        found = set()
        pending = list(asked)
        while pending:
            element = self[pending.pop()]
            if not element.is_dimension:
                raise KeyError("%r is a dimension element that joins other dimensions, not a dimension." % element.name)
            if element.name in found:
                continue
            found.add(element.name)
            pending.extend(d for d in element.required + element.implied if d not in found)
        group = DimensionGroup(self, tuple(sorted(found, key=self._order.__getitem__)))
        self._groups[asked] = group
        return group

    def __repr__(self) -> str:
        return "DimensionUniverse(%d, %s)" % (self.version, self.namespace)


_default: Optional[DimensionUniverse] = None


def default_universe() -> DimensionUniverse:
    """daf_butler's default universe (read once from :data:`DEFAULT_UNIVERSE_FILE`)."""
    global _default
    if _default is None:
        _default = DimensionUniverse.from_file(DEFAULT_UNIVERSE_FILE)
    return _default
