"""Building daf_butler-shaped JSON without daf_butler: dataset ids, refs, quanta.

A host that has daf_butler passes ``ref.to_simple().model_dump()`` and
``quantum.to_simple().model_dump()`` as they are. These helpers build the same
shapes from plain values (for tests, examples and hosts without daf_butler).
"""
from __future__ import annotations

import uuid
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

__all__ = [
    "DATASET_ID_NAMESPACE",
    "dataset_id",
    "dataset_type",
    "make_ref",
    "serialized_quantum",
    "ref_id",
]

#: uuid5(DNS, "lsst.org"): daf_butler's namespace for deterministic dataset ids.
DATASET_ID_NAMESPACE = uuid.UUID("840b31d9-05cd-5161-b2c8-00d32b280d0f")


def _value_text(value: Any) -> str:
    if isinstance(value, bool):  # JavaScript's String(true) on the sidecar side
        return "true" if value else "false"
    return str(value)


def dataset_id(
    dataset_type_name: str,
    data_id: Mapping[str, Any],
    run: str,
    *,
    dimensions: Optional[Iterable[str]] = None,
    mode: str = "DATAID_TYPE_RUN",
) -> str:
    """A deterministic dataset id, as daf_butler's DatasetIdFactory makes it.

    The uuid5 (in :data:`DATASET_ID_NAMESPACE`) of
    ``dataset_type=<name>[,run=<run>],<dim>=<value>,...`` over the required
    dimensions sorted by name. ``mode`` is ``DATAID_TYPE_RUN`` or ``DATAID_TYPE``.
    """
    if mode not in ("DATAID_TYPE_RUN", "DATAID_TYPE"):
        raise ValueError("mode must be DATAID_TYPE_RUN or DATAID_TYPE, not %r" % (mode,))
    parts = ["dataset_type=%s" % dataset_type_name]
    if mode == "DATAID_TYPE_RUN":
        parts.append("run=%s" % run)
    for dim in sorted(set(dimensions if dimensions is not None else data_id)):
        if dim not in data_id:
            raise KeyError("No value in data ID %r for required dimension %r." % (dict(data_id), dim))
        parts.append("%s=%s" % (dim, _value_text(data_id[dim])))
    return str(uuid.uuid5(DATASET_ID_NAMESPACE, ",".join(parts)))


def dataset_type(
    name: str,
    storage_class: str = "StructuredDataDict",
    dimensions: Sequence[str] = (),
    *,
    is_calibration: bool = False,
) -> Dict[str, Any]:
    """A daf_butler SerializedDatasetType."""
    return {"name": name, "storageClass": storage_class, "dimensions": list(dimensions), "isCalibration": is_calibration}


def make_ref(
    dataset_type_name: str,
    data_id: Mapping[str, Any],
    run: str,
    *,
    storage_class: str = "StructuredDataDict",
    dimensions: Optional[Sequence[str]] = None,
    id: Optional[str] = None,
    is_calibration: bool = False,
) -> Dict[str, Any]:
    """A daf_butler SerializedDatasetRef with a deterministic (DATAID_TYPE_RUN) id."""
    dims = list(dimensions) if dimensions is not None else list(data_id)
    return {
        "id": id or dataset_id(dataset_type_name, data_id, run, dimensions=dims),
        "datasetType": dataset_type(dataset_type_name, storage_class, dims, is_calibration=is_calibration),
        "dataId": {"dataId": dict(data_id), "records": None},
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
