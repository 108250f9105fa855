"""retrieve_artifacts, retrieve_artifacts_zip, get_many_uris and get_datastore_roots from Python,
with daf_butler's signatures, against a repository through the real CLI."""
from __future__ import annotations

import json
import os
import tempfile
import unittest
import zipfile

import qb_testutil as tu
from quantum_butler import DatasetNotFoundError, DatasetRefURIs, FileExistsButlerError, QuantumBackedButler, Repository


def setUpModule():
    tu.require_cli()


class ArtifactsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.client = tu.spawn()
        self.repo = Repository.create(self.client, os.path.join(self.tmp.name, "repo"))
        self.repo.register_dataset_type("raw", "StructuredDataDict", ["instrument", "detector"])
        self.raws = [self.repo.put({"d": d}, "raw", {"instrument": "Cam1", "detector": d}, "raw/run")["ref"] for d in (1, 2)]
        self.repo.register_dataset_type("calexp", "StructuredDataDict", ["instrument", "detector"])
        made = self.repo.make_quantum("test.Calibrate", self.raws, [{"datasetType": "calexp", "dataId": {"instrument": "Cam1", "detector": 1}, "run": "out/run"}])
        self.butler = QuantumBackedButler.initialize(self.client, made["quantum"], repository={"root": self.repo.root})
        self.out = os.path.join(self.tmp.name, "out")

    def tearDown(self):
        self.butler.close()
        self.assertEqual(self.client.close(), 0)
        self.tmp.cleanup()

    def test_retrieve_artifacts_copies_with_index_and_refuses_to_overwrite(self):
        paths = self.butler.retrieve_artifacts(self.raws, self.out)
        self.assertEqual(len(paths), 2)
        values = []
        for p in paths:
            with open(p) as f:
                values.append(json.load(f)["d"])
        self.assertEqual(sorted(values), [1, 2])
        for p in paths:
            self.assertTrue(p.startswith(os.path.join(self.out, "raw", "run", "raw")), p)  # preserve_path=True
        with open(os.path.join(self.out, "_butler_zip_index.json")) as f:
            index = json.load(f)
        self.assertEqual(index["index_version"], "V1")
        self.assertEqual(set(index["refs"]["compact_refs"]), {r["id"] for r in self.raws})
        with self.assertRaises(FileExistsError):
            self.butler.retrieve_artifacts(self.raws, self.out)
        with self.assertRaises(FileExistsButlerError):
            self.butler.retrieve_artifacts(self.raws[:1], self.out, transfer="copy")
        again = self.butler.retrieve_artifacts(self.raws, self.out, overwrite=True)
        self.assertEqual(sorted(again), sorted(paths))
        with self.assertRaises(ValueError):
            self.butler.retrieve_artifacts(self.raws, self.out, transfer="move")
        flat = self.butler.retrieve_artifacts(self.raws, os.path.join(self.tmp.name, "flat"), transfer="symlink", preserve_path=False)
        for p in flat:
            self.assertEqual(os.path.dirname(p), os.path.join(self.tmp.name, "flat"))
            self.assertTrue(os.path.islink(p))

    def test_retrieve_artifacts_zip(self):
        path = self.butler.retrieve_artifacts_zip(self.raws, self.out)
        self.assertTrue(path.endswith(".zip"))
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            self.assertEqual(names[0], "_butler_zip_index.json")
            index = json.loads(zf.read(names[0]))
            self.assertEqual(sorted(index["artifact_map"]), sorted(names[1:]))
            for name in names[1:]:
                self.assertEqual(index["artifact_map"][name]["ids"], [next(r["id"] for r in self.raws if r["id"].startswith(name[:8]))])
                self.assertIn(json.loads(zf.read(name))["d"], (1, 2))
        with self.assertRaises(ValueError):
            self.butler.retrieve_artifacts_zip([], self.out)

    def test_get_many_uris_and_roots(self):
        uris = self.butler.get_many_uris(self.raws)
        self.assertEqual(list(uris), self.raws)  # keyed by the refs given, as daf_butler's dict[DatasetRef, DatasetRefURIs]
        self.assertEqual(set(uris.by_id()), {r["id"] for r in self.raws})
        for r in self.raws:
            self.assertIsInstance(uris[r["id"]], DatasetRefURIs)
            self.assertTrue(uris[r["id"]].primaryURI.startswith("file://" + os.path.join(self.repo.root, "datastore")))
            self.assertEqual(uris[r["id"]].componentURIs, {})
        absent = dict(self.raws[0], id="0" * 8 + "-0000-5000-8000-" + "0" * 12, dataId={"instrument": "Cam1", "detector": 9})
        with self.assertRaises(FileNotFoundError):
            self.butler.get_many_uris([absent])
        with self.assertRaises(DatasetNotFoundError):
            self.butler.get_many_uris([absent])
        self.assertEqual(self.butler.get_many_uris([absent], allow_missing=True), {})
        self.assertTrue(self.butler.get_many_uris([absent], predict=True)[absent["id"]].primaryURI.endswith("#predicted"))
        roots = self.butler.get_datastore_roots()
        self.assertEqual(list(roots), ["FileDatastore@<butlerRoot>/datastore"])
        self.assertEqual(self.butler.get_datastore_names(), ("FileDatastore@<butlerRoot>/datastore",))
        self.assertEqual(self.butler.metrics()["n_ingest"], 0)


if __name__ == "__main__":
    unittest.main()
