"""The daf_butler fixtures (fixtures/daf_butler) from the Python client: ``make_ref`` and
``dataset_id`` on expanded data IDs give daf_butler's ids with no ``dimensions=`` argument,
and the fixture's execution quantum, opened as given against a repository that holds its
inputs, answers ``get_many_uris`` and ``retrieve_artifacts`` for the fixture's ids."""
from __future__ import annotations

import json
import os
import tempfile
import unittest

import qb_testutil as tu
from quantum_butler import QuantumBackedButler, Repository, dataset_id, make_ref

FIXTURES = os.path.join(tu.REPO, "fixtures", "daf_butler")


def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return json.load(f)


def nested_ref(quantum, name):
    (ref, _rec_ids), = quantum["inputs"].get(name) or quantum["outputs"][name]
    return ref


class IdsWithoutDimensionsTest(unittest.TestCase):
    """The data ID alone (expanded: implied values, string ints, extra keys) decides the dimensions."""

    def test_make_ref_on_every_vector(self):
        for v in load("id_vectors.json"):
            with self.subTest(v["note"]):
                ref = make_ref(v["datasetType"], v["dataId"], v["run"], mode=v["mode"])
                self.assertEqual(ref["id"], v["id"])
                self.assertEqual(dataset_id(v["datasetType"], v["dataId"], v["run"], mode=v["mode"]), v["id"])
                self.assertEqual(sorted(ref["datasetType"]["dimensions"]), sorted(v["requiredDimensions"]))

    def test_make_ref_on_the_quantums_data_ids(self):
        quantum = load("execution_quantum.json")
        for name, dt in quantum["datasetTypeMapping"].items():
            nested = nested_ref(quantum, name)
            mode = "DATAID_TYPE" if dt["isCalibration"] else "DATAID_TYPE_RUN"
            with self.subTest(name):
                ref = make_ref(name.split(".")[0], nested["dataId"]["dataId"], nested["run"], storage_class=dt["parentStorageClass"] or dt["storageClass"], mode=mode)
                self.assertEqual(ref["id"], nested["id"])
                # daf_butler's SerializedDatasetType: the required dimensions, in the universe's order.
                self.assertEqual(ref["datasetType"]["dimensions"], dt["dimensions"])
                self.assertEqual(ref["dataId"]["dataId"], nested["dataId"]["dataId"])


class FixtureQuantumArtifactsTest(unittest.TestCase):
    def setUp(self):
        tu.require_cli()
        self.tmp = tempfile.TemporaryDirectory()
        self.client = tu.spawn()
        self.quantum = load("execution_quantum.json")
        self.repo = Repository.create(self.client, os.path.join(self.tmp.name, "repo"))
        for dt in load("registry_dataset_types.json"):
            self.repo.register_dataset_type(dt["name"], dt["storageClass"], dt["dimensions"], isCalibration=dt["isCalibration"])
        pvi = nested_ref(self.quantum, "preliminary_visit_image.wcs")
        star = nested_ref(self.quantum, "single_visit_star")
        self.pvi = self.repo.put({"wcs": {"crval": [53.16, -27.78]}, "photoCalib": {"mean": 0.027}}, "preliminary_visit_image", pvi["dataId"]["dataId"], pvi["run"])["ref"]
        self.star = self.repo.put({"columns": {"sourceId": [1, 2]}}, "single_visit_star", star["dataId"]["dataId"], star["run"])["ref"]
        self.assertEqual([self.pvi["id"], self.star["id"]], [pvi["id"], star["id"]])
        self.butler = QuantumBackedButler.initialize(self.client, self.quantum, dataset_types=load("registry_dataset_types.json"), repository={"root": self.repo.root})

    def tearDown(self):
        self.butler.close()
        self.assertEqual(self.client.close(), 0)
        self.tmp.cleanup()

    def test_get_many_uris_and_retrieve_artifacts_by_the_fixtures_ids(self):
        ids = [self.pvi["id"], self.star["id"]]
        uris = self.butler.get_many_uris(ids)
        self.assertEqual(list(uris), ids)
        for i in ids:
            self.assertTrue(uris[i].primaryURI.startswith("file://" + os.path.join(self.repo.root, "datastore") + "/"))
            self.assertEqual(uris[i].componentURIs, {})
        out = os.path.join(self.tmp.name, "out")
        paths = self.butler.retrieve_artifacts(ids, out)
        self.assertEqual(len(paths), 2)
        got = []
        for p in paths:
            with open(p, encoding="utf-8") as f:
                got.append(json.load(f))
        self.assertIn({"columns": {"sourceId": [1, 2]}}, got)
        self.assertIn({"wcs": {"crval": [53.16, -27.78]}, "photoCalib": {"mean": 0.027}}, got)
        self.assertTrue(all(p.startswith(os.path.join(out, "LSSTCam/runs/DRP/20251203/w_2025_49/DM-53412") + "/") for p in paths))
        # The component inputs read as their components, by the parent id.
        self.assertEqual(self.butler.get(self.pvi["id"], component="photoCalib"), {"mean": 0.027})
        # The flat was not seeded: it is predicted, and the quantum carries its record, but its
        # file is not there. As daf_butler's FileDatastore.getManyURIs, its URI comes from the
        # record (the file is not looked at); stored() looks, and says it is not there.
        flat = nested_ref(self.quantum, "flat")["id"]
        uris = self.butler.get_many_uris([flat], allow_missing=True)
        self.assertEqual(list(uris), [flat])
        self.assertTrue(uris[flat].primaryURI.endswith(".fits"))
        self.assertEqual(self.butler.get_many_uris([flat]), uris)
        self.assertFalse(self.butler.stored(flat))


if __name__ == "__main__":
    unittest.main()
