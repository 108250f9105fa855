"""Dimension universes in the Python client: ids and refs against fixtures/daf_butler, the
universe data file, and ``butler.dimensions`` over the wire."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import unittest

import qb_testutil as tu
from quantum_butler import (
    DimensionNameError,
    DimensionValueError,
    InconsistentUniverseError,
    QuantumBackedButler,
    dataset_id,
    dataset_id_seed,
    dataset_type,
    default_universe,
    make_ref,
)
from quantum_butler.dimensions import DEFAULT_UNIVERSE_FILE, DimensionUniverse

FIXTURES = os.path.join(tu.REPO, "fixtures", "daf_butler")


#: A small universe of our own: a governor, a chip, and a filter that implies a color.
TEST_CAM = {
    "namespace": "test_cam",
    "version": 2,
    "skypix": {"common": "htm1", "htm": {"class": "lsst.sphgeom.HtmPixelization", "max_level": 1}},
    "elements": {
        "camera": {"keys": [{"name": "name", "type": "string"}], "governor": True},
        "chip": {"keys": [{"name": "id", "type": "int"}], "requires": ["camera"]},
        "color": {"keys": [{"name": "name", "type": "string"}]},
        "filter": {"keys": [{"name": "name", "type": "string"}], "requires": ["camera"], "implies": ["color"]},
    },
}


def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return json.load(f)


class UniverseTest(unittest.TestCase):
    def test_data_file_is_the_sidecars(self):
        with open(DEFAULT_UNIVERSE_FILE, "rb") as a, open(os.path.join(tu.REPO, "src", "model", "dimensions", "default-universe.json"), "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_default_universe_groups(self):
        u = default_universe()
        self.assertEqual((u.namespace, u.version), ("daf_butler", 8))
        g = u.conform(["instrument", "detector", "physical_filter", "band"])
        self.assertEqual(g.required, ("instrument", "detector", "physical_filter"))
        self.assertEqual(g.implied, ("band",))
        self.assertEqual(g, u.conform(["physical_filter", "detector"]))
        v = u.conform(["visit", "detector"])
        self.assertEqual(v.names, ("band", "instrument", "day_obs", "detector", "physical_filter", "visit"))
        self.assertEqual(v.data_coordinate_keys, ("instrument", "detector", "visit", "band", "day_obs", "physical_filter"))
        with self.assertRaises(KeyError):
            u.conform(["amplifier"])
        with self.assertRaises(KeyError):
            u.conform(["visit_detector_region"])

    def test_coercion(self):
        u = default_universe()
        self.assertEqual(u["detector"].coerce("94"), 94)
        for bad in ("094", "R22_S11", 9.4, True):
            with self.assertRaises(ValueError):
                u["detector"].coerce(bad)
        with self.assertRaises(ValueError):
            u["instrument"].coerce(5)

    def test_custom_universe(self):
        u = DimensionUniverse(TEST_CAM)
        g = u.conform(["filter"])
        self.assertEqual((g.required, g.implied), (("camera", "filter"), ("color",)))
        self.assertEqual(
            dataset_type("f", "Json", ["filter", "color"], universe=u),
            {"name": "f", "storageClass": "Json", "dimensions": ["camera", "filter"], "isCalibration": False},
        )


class FixtureVectorsTest(unittest.TestCase):
    def test_dataset_id_matches_every_vector(self):
        vectors = load("id_vectors.json")
        self.assertGreaterEqual(len(vectors), 5)
        for v in vectors:
            with self.subTest(v["note"]):
                # An expanded data ID (implied values, strings, extra keys) needs no dimensions argument...
                self.assertEqual(dataset_id_seed(v["datasetType"], v["dataId"], v["run"], mode=v["mode"]), v["seed"])
                self.assertEqual(dataset_id(v["datasetType"], v["dataId"], v["run"], mode=v["mode"]), v["id"])
                # ...and naming the type's dimensions (implied ones too) gives the same.
                self.assertEqual(dataset_id(v["datasetType"], v["dataId"], v["run"], dimensions=v["dimensions"], mode=v["mode"]), v["id"])

    def test_make_ref_gives_the_quantums_refs(self):
        quantum = load("execution_quantum.json")
        for name, dt in quantum["datasetTypeMapping"].items():
            parent = name.split(".")[0]
            (nested, _rec_ids), = quantum["inputs"].get(name) or quantum["outputs"][name]
            ref = make_ref(
                parent,
                quantum["dataId"]["dataId"] if not dt["isCalibration"] else nested["dataId"]["dataId"],
                nested["run"],
                storage_class=dt["storageClass"] if "." not in name else dt["parentStorageClass"],
                dimensions=dt["dimensions"],
                is_calibration=dt["isCalibration"],
                mode="DATAID_TYPE" if dt["isCalibration"] else "DATAID_TYPE_RUN",
            )
            with self.subTest(name):
                self.assertEqual(ref["id"], nested["id"])
                self.assertEqual(ref["dataId"], nested["dataId"])
                self.assertEqual(ref["datasetType"]["dimensions"], dt["dimensions"])

    def test_fixtures_are_up_to_date(self):
        build = os.path.join(FIXTURES, "build.py")
        result = subprocess.run([sys.executable, build, "--check"], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)


class OverTheWireTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tu.require_cli()
        cls.client = tu.spawn()

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_dimensions_property(self):
        butler = QuantumBackedButler.from_predicted(self.client, predicted_inputs=[], predicted_outputs=[])
        try:
            u = butler.dimensions
            self.assertIs(butler.dimensions, u)
            self.assertEqual((u.namespace, u.version), ("daf_butler", 8))
            self.assertEqual(u.conform(["visit"]).required, ("instrument", "visit"))
            self.assertEqual(u.config, default_universe().config)
        finally:
            butler.close()

    def test_session_in_its_own_universe(self):
        u = DimensionUniverse(TEST_CAM)
        ref = make_ref("frame", {"camera": "TC", "chip": "3"}, "run", universe=u)
        self.assertEqual(ref["dataId"]["dataId"], {"camera": "TC", "chip": 3})
        butler = QuantumBackedButler.from_predicted(self.client, predicted_inputs=[], predicted_outputs=[ref], dimensions=u)
        try:
            self.assertEqual((butler.dimensions.namespace, butler.dimensions.version), ("test_cam", 2))
            self.assertEqual(butler.put_result({"x": 1}, ref)["ref"]["dataId"], {"camera": "TC", "chip": 3})
        finally:
            butler.close()

    def test_string_detector_matches_and_errors_map(self):
        ref = make_ref("calexp", {"instrument": "LSSTCam", "detector": 94, "visit": 2025120300150}, "run")
        butler = QuantumBackedButler.from_predicted(self.client, predicted_inputs=[], predicted_outputs=[ref])
        try:
            as_strings = dict(ref, dataId={"dataId": {"instrument": "LSSTCam", "detector": "94", "visit": "2025120300150"}, "records": None})
            butler.put({"ok": 1}, as_strings)
            self.assertEqual(butler.get(ref), {"ok": 1})
            with self.assertRaises(DimensionValueError):
                butler.get(dict(ref, dataId={"dataId": {"instrument": "LSSTCam", "detector": "R22_S11", "visit": 1}, "records": None}))
            with self.assertRaises(DimensionNameError) as ctx:
                butler.get(dict(ref, datasetType=dict(ref["datasetType"], dimensions=["instrument", "amplifier"])))
            self.assertIsInstance(ctx.exception, KeyError)
        finally:
            butler.close()
        container = {
            "container_version": "V1",
            "universe_version": 1,
            "universe_namespace": "other",
            "dataset_types": {"calexp": ref["datasetType"]},
            "compact_refs": {ref["id"]: {"dataset_type_name": "calexp", "run": "run", "data_id": {"instrument": "LSSTCam", "detector": 94, "visit": 2025120300150}}},
        }
        with self.assertRaises(InconsistentUniverseError):
            self.client.open_session(predicted={"inputs": container, "outputs": []})


if __name__ == "__main__":
    unittest.main()
