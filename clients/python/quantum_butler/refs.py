"""Building daf_butler-shaped JSON without daf_butler: dataset ids, refs, quanta.

A host that has daf_butler passes ``ref.to_simple().model_dump()`` and
``quantum.to_simple().model_dump()`` as they are. These helpers build the same
shapes from plain values (for tests, examples and hosts without daf_butler).
"""
from __future__ import annotations

import uuid
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from .dimensions import DimensionGroup, DimensionUniverse, default_universe

__all__ = [
    "DATASET_ID_NAMESPACE",
    "dataset_id",
    "dataset_id_seed",
    "dataset_type",
    "make_ref",
    "serialized_quantum",
    "ref_id",
]

#: uuid5(DNS, "lsst.org"): daf_butler's namespace for deterministic dataset ids.
DATASET_ID_NAMESPACE = uuid.UUID("840b31d9-05cd-5161-b2c8-00d32b280d0f")


def _group(data_id: Mapping[str, Any], dimensions: Optional[Iterable[str]], universe: Optional[DimensionUniverse]) -> DimensionGroup:
    """The dimensions of a dataset: ``dimensions`` conformed, else the data ID's keys that are dimensions."""
    u = universe or default_universe()
    if dimensions is not None:
        return u.conform(dimensions)
    return u.conform(k for k in data_id if k in u and u[k].is_dimension)


def dataset_id_seed(
    dataset_type_name: str,
    data_id: Mapping[str, Any],
    run: str,
    *,
    dimensions: Optional[Iterable[str]] = None,
    mode: str = "DATAID_TYPE_RUN",
    universe: Optional[DimensionUniverse] = None,
) -> str:
    """The text daf_butler's DatasetIdFactory hashes: ``dataset_type=<name>[,run=<run>],<dim>=<value>,...``
    over the *required* dimensions, sorted by name (``sorted(dataId.required.items())``)."""
    if mode not in ("DATAID_TYPE_RUN", "DATAID_TYPE"):
        raise ValueError("mode must be DATAID_TYPE_RUN or DATAID_TYPE, not %r" % (mode,))
    group = _group(data_id, dimensions, universe)
    standard = group.standardize(data_id)
    required = {d: standard[d] for d in group.required}
    parts = ["dataset_type=%s" % dataset_type_name]
    if mode == "DATAID_TYPE_RUN":
        parts.append("run=%s" % run)
    parts.extend("%s=%s" % (dim, value) for dim, value in sorted(required.items()))
    return ",".join(parts)


def dataset_id(
    dataset_type_name: str,
    data_id: Mapping[str, Any],
    run: str,
    *,
    dimensions: Optional[Iterable[str]] = None,
    mode: str = "DATAID_TYPE_RUN",
    universe: Optional[DimensionUniverse] = None,
) -> str:
    """A deterministic dataset id, as daf_butler's DatasetIdFactory makes it.

    The uuid5 (in :data:`DATASET_ID_NAMESPACE`) of :func:`dataset_id_seed`. The
    dataset type's dimensions are ``dimensions`` (any of them; dependencies are
    added), or else every key of ``data_id`` that is a dimension of ``universe``
    (default: daf_butler's default universe): an expanded data ID, with implied
    values such as ``band`` and non-dimension keys, gives the same id as its
    required values alone. Values are coerced by key type (``"2"`` is 2 for
    ``detector``). ``mode`` is ``DATAID_TYPE_RUN`` or ``DATAID_TYPE``.
    """
    seed = dataset_id_seed(dataset_type_name, data_id, run, dimensions=dimensions, mode=mode, universe=universe)
    return str(uuid.uuid5(DATASET_ID_NAMESPACE, seed))


def dataset_type(
    name: str,
    storage_class: str = "StructuredDataDict",
    dimensions: Iterable[str] = (),
    *,
    is_calibration: bool = False,
    universe: Optional[DimensionUniverse] = None,
) -> Dict[str, Any]:
    """A daf_butler SerializedDatasetType: ``dimensions`` conformed, the required ones listed
    in the universe's order (as ``DatasetType.to_simple()`` lists them)."""
    group = (universe or default_universe()).conform(dimensions)
    return {"name": name, "storageClass": storage_class, "dimensions": list(group.required), "isCalibration": is_calibration}


def make_ref(
    dataset_type_name: str,
    data_id: Mapping[str, Any],
    run: str,
    *,
    storage_class: str = "StructuredDataDict",
    dimensions: Optional[Sequence[str]] = None,
    id: Optional[str] = None,
    is_calibration: bool = False,
    mode: str = "DATAID_TYPE_RUN",
    universe: Optional[DimensionUniverse] = None,
) -> Dict[str, Any]:
    """A daf_butler SerializedDatasetRef with a deterministic id (``mode``, default DATAID_TYPE_RUN).

    Dimensions and id as :func:`dataset_id` finds them; the data ID is standardised as
    daf_butler's ``DatasetRef`` does it (values coerced, implied values kept when all
    are given, other keys left out, daf_butler's key order).
    """
    group = _group(data_id, dimensions, universe)
    return {
        "id": id or dataset_id(dataset_type_name, data_id, run, dimensions=group.names, mode=mode, universe=group.universe),
        "datasetType": dataset_type(dataset_type_name, storage_class, group.names, is_calibration=is_calibration, universe=group.universe),
        "dataId": {"dataId": group.standardize(data_id), "records": None},
        "run": run,
        "component": None,
    }


RefsByType = Mapping[str, Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]]


def _as_list(refs: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]) -> List[Mapping[str, Any]]:
    return [refs] if isinstance(refs, Mapping) else list(refs)


def serialized_quantum(
    task_name: str,
    *,
    inputs: RefsByType,
    outputs: RefsByType,
    init_inputs: Optional[Mapping[str, Mapping[str, Any]]] = None,
    data_id: Optional[Mapping[str, Any]] = None,
    datastore_records: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """A daf_butler SerializedQuantum (the shape of ``quantum.to_simple().model_dump()``).

    ``inputs``/``outputs`` map a dataset type name to a list of refs (from
    :func:`make_ref`), ``init_inputs`` map a name to one ref. As daf_butler does, the
    nested refs carry ``datasetType: None`` and the types go in ``datasetTypeMapping``.
    """
    mapping: Dict[str, Any] = {}

    def nested(groups: RefsByType) -> Dict[str, List[Any]]:
        out: Dict[str, List[Any]] = {}
        for name, refs in groups.items():
            lst = _as_list(refs)
            for r in lst:
                mapping.setdefault(name, r.get("datasetType"))
            out[name] = [[dict(r, datasetType=None), []] for r in lst]
        return out

    init = {}
    for name, ref in (init_inputs or {}).items():
        mapping.setdefault(name, ref.get("datasetType"))
        init[name] = [dict(ref, datasetType=None), []]
    ins = nested(inputs)
    outs = nested(outputs)
    return {
        "taskName": task_name,
        "dataId": {"dataId": dict(data_id), "records": None} if data_id is not None else None,
        "datasetTypeMapping": mapping,
        "initInputs": init,
        "inputs": ins,
        "outputs": outs,
        "dimensionRecords": None,
        "datastoreRecords": dict(datastore_records) if datastore_records is not None else None,
    }


def ref_id(ref: Any) -> str:
    """The dataset id of a ref given as an id string, a UUID, a dict or an object with ``.id``."""
    if isinstance(ref, str):
        return ref
    if isinstance(ref, uuid.UUID):
        return str(ref)
    if isinstance(ref, Mapping):
        if "id" not in ref:
            raise ValueError("A ref mapping needs an 'id': %r" % (dict(ref),))
        return str(ref["id"])
    rid = getattr(ref, "id", None)
    if rid is None:
        raise TypeError("Not a dataset ref: %r" % (ref,))
    return str(rid)
