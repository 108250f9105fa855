"""A repository through the real CLI from Python: seed, run two quanta, collect, lineage, exports."""
from __future__ import annotations

import json
import os
import tempfile
import unittest

import qb_testutil as tu
from quantum_butler import InvalidArgumentError, QuantumBackedButler, Repository


def setUpModule():
    tu.require_cli()


class RepositoryTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.client = tu.spawn()

    def tearDown(self):
        self.assertEqual(self.client.close(), 0)
        self.tmp.cleanup()

    def test_seed_run_collect_and_walk_back(self):
        repo = Repository.create(self.client, os.path.join(self.tmp.name, "repo"))
        self.assertTrue(repo.register_dataset_type("raw", "StructuredDataDict", ["instrument", "detector"]))
        self.assertFalse(repo.register_dataset_type("raw", "StructuredDataDict", ["instrument", "detector"]))
        raws = [repo.put({"d": d}, "raw", {"instrument": "Cam1", "detector": d}, "raw/run")["ref"] for d in (1, 2)]
        self.assertEqual(repo.get(raws[1]), {"d": 2})
        self.assertEqual({r["id"] for r in repo.query_datasets("raw")}, {r["id"] for r in raws})
        self.assertIn("FileDatastore@<butlerRoot>/datastore", repo.export_records(raws))

        repo.register_dataset_type("calexp", "StructuredDataDict", ["instrument", "detector"])
        made = repo.make_quantum("test.Calibrate", raws, [{"datasetType": "calexp", "dataId": {"instrument": "Cam1", "detector": 1}, "run": "out/run"}])
        prov_file = os.path.join(self.tmp.name, "prov.json")
        butler = QuantumBackedButler.initialize(self.client, made["quantum"], repository={"root": repo.root}, provenance_file=prov_file)
        total = sum(butler.get(r)["d"] for r in raws)
        butler.put({"sum": total}, made["outputs"][0])
        butler.close()

        seen = []
        report = repo.collect_and_transfer([made["quantum"]], [prov_file], progress=seen.append)
        self.assertTrue(report["committed"], report["conflicts"])
        self.assertEqual(report["datasets"]["inserted"], 1)
        self.client.flush_notifications()  # callbacks run on the dispatcher thread
        self.assertEqual(seen[-1]["kind"], "end")
        self.assertEqual(repo.get(made["outputs"][0]), {"sum": 3})

        up = repo.lineage(made["outputs"][0], "up")
        self.assertEqual(len(up["quanta"]), 1)
        self.assertTrue({r["id"] for r in raws} <= {d["id"] for d in up["datasets"]})
        quantum_id = up["quanta"][0]["id"]
        with open(prov_file) as f:
            self.assertEqual(repo.provenance(quantum_id), json.load(f))
        self.assertIn("activity", repo.provenance(quantum_id, "prov"))

        again = repo.collect_and_transfer([made["quantum"]], [prov_file], dry_run=True)
        self.assertEqual(again["datasets"]["alreadyPresent"], 1)

    def test_bad_input_is_a_clear_error(self):
        repo = Repository.create(self.client, os.path.join(self.tmp.name, "repo2"))
        with self.assertRaises(InvalidArgumentError):
            repo.collect_and_transfer([{}], [])


if __name__ == "__main__":
    unittest.main()
