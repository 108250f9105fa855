"""Shared test helpers: the built CLI, the daf_butler QBB test fixture, seeding.

The fixture mirrors test/e2e/fixture.ts: instrument Cam1, detectors 1-4, dataset
types with dimensions {instrument, detector}, storage class StructuredDataDict,
run "RUN", deterministic (DATAID_TYPE_RUN) ids.
"""
from __future__ import annotations

import itertools
import os
import sys
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from quantum_butler import Client, QuantumBackedButler, default_cli_path  # noqa: E402

REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
# The checkout's build, whatever else is on PATH or in a node_modules above: every Client the
# tests make finds it through the variable.
os.environ.setdefault("QUANTUM_BUTLER_CLI", os.path.join(REPO, "dist", "src", "cli.js"))
CLI = default_cli_path()

RUN = "RUN"
DIMENSIONS = ["instrument", "detector"]
DETECTORS = [1, 2, 3, 4]
NAMESPACE = uuid.UUID("840b31d9-05cd-5161-b2c8-00d32b280d0f")


def require_cli() -> None:
    """Fail loudly (not skip) when the sidecar has not been built."""
    if not os.path.isfile(CLI):
        raise RuntimeError("%s is missing: run `npm run build` first (npm test does), or set QUANTUM_BUTLER_CLI." % CLI)


def spawn(**options) -> Client:
    """A client on the real built CLI; every request times out after 20 s so nothing hangs."""
    require_cli()
    options.setdefault("timeout", 20.0)
    return Client(**options)


def expected_id(name: str, detector: int, run: str = RUN) -> str:
    """Computed independently of quantum_butler.refs, as the brief spells it out."""
    seed = "dataset_type=%s,run=%s,detector=%d,instrument=Cam1" % (name, run, detector)
    return str(uuid.uuid5(NAMESPACE, seed))


def ref(name: str, detector: int, storage_class: str = "StructuredDataDict", run: str = RUN) -> dict:
    return {
        "id": expected_id(name, detector, run),
        "datasetType": {"name": name, "storageClass": storage_class, "dimensions": list(DIMENSIONS), "isCalibration": False},
        "dataId": {"dataId": {"instrument": "Cam1", "detector": detector}, "records": None},
        "run": run,
        "component": None,
    }


def refs(name: str) -> list:
    return [ref(name, d) for d in DETECTORS]


def input_refs() -> list:
    return refs("input")


def init_ref() -> dict:
    return ref("init", 1)


def output_refs() -> list:
    return refs("output")


def missing_refs() -> list:
    return refs("extra")


def detector(r: dict) -> int:
    return r["dataId"]["dataId"]["detector"]


def serialized_quantum(task_name, inputs, outputs, init_inputs=None) -> dict:
    """daf_butler's SerializedQuantum shape (what quantum.to_simple().model_dump() gives, as JSON)."""
    def nested(r):
        return [dict(r, datasetType=None), []]

    mapping = {}
    for name, r in (init_inputs or {}).items():
        mapping[name] = r["datasetType"]
    for group in (inputs, outputs):
        for name, rs in group.items():
            mapping[name] = rs[0]["datasetType"]
    return {
        "taskName": task_name,
        "dataId": None,
        "datasetTypeMapping": mapping,
        "initInputs": {k: nested(r) for k, r in (init_inputs or {}).items()},
        "inputs": {k: [nested(r) for r in rs] for k, rs in inputs.items()},
        "outputs": {k: [nested(r) for r in rs] for k, rs in outputs.items()},
        "dimensionRecords": None,
        "datastoreRecords": None,
    }


def q1() -> dict:
    return serialized_quantum(
        "lsst.pipe.base.tests.TestTask",
        inputs={"input": input_refs()},
        outputs={"output": output_refs()},
        init_inputs={"init": init_ref()},
    )


def predicted_input_ids() -> list:
    return sorted(r["id"] for r in input_refs() + [init_ref()])


def ids(rs) -> list:
    return sorted(r["id"] for r in rs)


_counter = itertools.count(1)


def unique_name(prefix: str) -> str:
    return "%s-%d-%d" % (prefix, os.getpid(), next(_counter))


def seed_inputs(client: Client, datastore: str) -> None:
    """Store the inputs ({data: detector}) and init ({data: -1}) into the named datastore
    through a seeding session whose predicted outputs are those datasets (harness.ts)."""
    inputs = input_refs()
    init = init_ref()
    seed = QuantumBackedButler.from_predicted(client, [], inputs + [init], task_name="seed", datastore_name=datastore, notifications=[])
    for r in inputs:
        seed.put({"data": detector(r)}, r)
    seed.put({"data": -1}, init)
    seed.close()


def open_q1(client: Client, **kwargs) -> QuantumBackedButler:
    name = unique_name("qbb")
    seed_inputs(client, name)
    return QuantumBackedButler.initialize(client, q1(), datastore_name=name, **kwargs)


class SharedClientTestCase(unittest.TestCase):
    """Tests sharing one sidecar per class (``self.client``)."""

    client: Client

    @classmethod
    def setUpClass(cls):
        cls.client = spawn()

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
