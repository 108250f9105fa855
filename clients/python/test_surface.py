"""The Python surface: sidecar discovery, strict keywords and option dicts, the host-relative
path rule, and daf_butler's call shapes (from_predicted with ids, stored_many keyed by ref,
make_quantum grouped by dataset type)."""
from __future__ import annotations

import copy
import os
import shutil
import stat
import tempfile
import unittest
import uuid
from unittest import mock

import qb_testutil as tu
from quantum_butler import ButlerMetrics, QuantumBackedButler, Repository, find_cli, make_ref, serialized_quantum


def setUpModule():
    tu.require_cli()


class FindCliTest(unittest.TestCase):
    """QUANTUM_BUTLER_CLI, then PATH, then node_modules/.bin upward, then the checkout."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def fake_cli(self, folder: str) -> str:
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "quantum-butler")
        with open(path, "w") as f:
            f.write("#!/usr/bin/env node\n")
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        return path

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if k != "QUANTUM_BUTLER_CLI"}
        env["PATH"] = os.path.join(self.tmp, "empty-bin")
        env.update(extra)
        return mock.patch.dict(os.environ, env, clear=True)

    def test_the_order(self):
        project = os.path.join(self.tmp, "project")
        in_modules = self.fake_cli(os.path.join(project, "node_modules", ".bin"))
        deep = os.path.join(project, "a", "b")
        os.makedirs(deep)
        on_path = self.fake_cli(os.path.join(self.tmp, "bin"))

        with self.env(QUANTUM_BUTLER_CLI="/x/cli.js", PATH=os.path.join(self.tmp, "bin")):
            self.assertEqual(find_cli(deep), ("/x/cli.js", "QUANTUM_BUTLER_CLI"))
        with self.env(PATH=os.path.join(self.tmp, "bin")):
            self.assertEqual(find_cli(deep), (on_path, "PATH (%s)" % on_path))
        with self.env():
            self.assertEqual(find_cli(deep), (in_modules, "node_modules/.bin (%s)" % in_modules))
            path, how = find_cli(self.tmp)  # no node_modules above: the checkout's build
            self.assertEqual(path, os.path.join(tu.REPO, "dist", "src", "cli.js"))
            self.assertTrue(how.startswith("development checkout"), how)

    def test_a_link_is_followed_to_the_script(self):
        target = os.path.join(self.tmp, "pkg", "dist", "src", "cli.js")
        os.makedirs(os.path.dirname(target))
        shutil.copy(tu.CLI, target)
        bin_dir = os.path.join(self.tmp, "project", "node_modules", ".bin")
        os.makedirs(bin_dir)
        os.symlink(target, os.path.join(bin_dir, "quantum-butler"))
        with self.env():
            self.assertEqual(find_cli(os.path.join(self.tmp, "project"))[0], target)

    def test_the_client_says_what_it_runs(self):
        client = tu.spawn()
        try:
            self.assertEqual(client.connection.cli_source, "QUANTUM_BUTLER_CLI")  # qb_testutil sets it
            self.assertEqual(client.connection.cli_path, tu.CLI)
        finally:
            client.close()


class StrictOptionsTest(tu.SharedClientTestCase):
    def test_an_unknown_quantum_key_names_it_and_the_accepted_ones(self):
        with self.assertRaises(TypeError) as cm:
            QuantumBackedButler.initialize(self.client, {"task_name": "x", "input": {}})
        message = str(cm.exception)
        self.assertIn("'input'", message)
        self.assertIn("inputs", message)
        self.assertIn("task_name", message)
        self.assertEqual(self.client.list_sessions(), [])  # nothing was opened

    def test_snake_case_quantum_keys_are_accepted(self):
        q = tu.q1()
        snake = {"task_name": q["taskName"], "dataset_type_mapping": q["datasetTypeMapping"], "inputs": q["inputs"],
                 "outputs": q["outputs"], "init_inputs": q["initInputs"], "data_id": q["dataId"]}
        with QuantumBackedButler.initialize(self.client, snake, notifications=[]) as butler:
            self.assertEqual(butler.info["taskName"], q["taskName"])
            self.assertEqual(butler.info["predictedOutputs"], len(tu.output_refs()))

    def test_an_unknown_keyword_names_the_accepted_ones(self):
        with self.assertRaises(TypeError) as cm:
            QuantumBackedButler.initialize(self.client, tu.q1(), provenance="x.json")
        self.assertIn("'provenance'", str(cm.exception))
        self.assertIn("provenance_file", str(cm.exception))

    def test_an_unknown_repository_key_names_it(self):
        with self.assertRaises(TypeError) as cm:
            QuantumBackedButler.initialize(self.client, tu.q1(), repository={"root": "/r", "records": "x.sqlite"})
        self.assertIn("'records'", str(cm.exception))
        self.assertIn("records_file", str(cm.exception))
        with self.assertRaises(TypeError):
            self.client.open_session(quantum=tu.q1(), store={"kind": "sqlite", "file": "x"})


class PathRuleTest(unittest.TestCase):
    """Relative paths resolve against the host's working directory, never the sidecar's."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.elsewhere = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.elsewhere)
        # The sidecar runs in another folder than this process's working directory.
        self.client = tu.spawn(cwd=self.elsewhere)
        self.addCleanup(self.client.close)
        cwd = os.getcwd()
        os.chdir(self.tmp)
        self.addCleanup(os.chdir, cwd)

    def test_a_relative_repository_root_and_records_file(self):
        repo = Repository.create(self.client, "repo")
        self.assertEqual(repo.root, os.path.join(os.getcwd(), "repo"))
        self.assertTrue(os.path.isfile(os.path.join(self.tmp, "repo", "butler.json")))
        self.assertFalse(os.path.exists(os.path.join(self.elsewhere, "repo")))
        repo.register_dataset_type("raw", "StructuredDataDict", ["instrument", "detector"])
        raw = repo.put({"d": 1}, "raw", {"instrument": "Cam1", "detector": 1}, "raw/run")["ref"]
        repo.register_dataset_type("calexp", "StructuredDataDict", ["instrument", "detector"])
        made = repo.make_quantum("t.T", {"raw": [raw]}, {"calexp": [{"data_id": {"instrument": "Cam1", "detector": 1}, "run": "out"}]})
        butler = QuantumBackedButler.initialize(
            self.client, made["quantum"], repository={"root": "repo", "records_file": "records.sqlite"}, provenance_file="prov.json"
        )
        self.assertEqual(butler.get(raw), {"d": 1})
        butler.put({"s": 1}, made["outputs"][0])
        butler.close()
        self.assertTrue(os.path.isfile(os.path.join(self.tmp, "records.sqlite")))
        self.assertTrue(os.path.isfile(os.path.join(self.tmp, "prov.json")))
        report = repo.collect_and_transfer([made["quantum"]], ["prov.json"])
        self.assertTrue(report["committed"], report)


class CallShapesTest(tu.SharedClientTestCase):
    def test_from_predicted_with_ids_resolved_against_refs_and_a_type_mapping(self):
        out = make_ref("calexp", {"instrument": "Cam1", "detector": 1}, "out")
        compact = {"id": out["id"], "datasetType": "calexp", "dataId": {"instrument": "Cam1", "detector": 1}, "run": "out"}
        types = {"calexp": out["datasetType"]}
        with QuantumBackedButler.from_predicted(self.client, [], [uuid.UUID(out["id"])], None, None, dataset_types=types, refs=[compact], notifications=[]) as b:
            self.assertEqual(b.put({"x": 1}, out)["id"], out["id"])
            self.assertEqual(b.extract_provenance_data()["actual_outputs"], [out["id"]])
        with self.assertRaises(ValueError) as cm:
            QuantumBackedButler.from_predicted(self.client, [], [out["id"]])
        self.assertIn(out["id"], str(cm.exception))
        self.assertIn("refs=", str(cm.exception))

    def test_put_get_stored_take_every_ref_form_and_leave_the_callers_dict_alone(self):
        # put/get/stored send a plain dict ref with a str id as it is (no copy): it must reach the
        # sidecar whole and come back unchanged; other forms (UUID ids, bare ids) are converted.
        outs = [make_ref("calexp", {"instrument": "Cam1", "detector": d}, "forms") for d in (1, 2, 3, 4)]
        with QuantumBackedButler.from_predicted(self.client, [], outs, notifications=[]) as b:
            before = copy.deepcopy(outs[0])
            self.assertEqual(b.put({"v": 0}, outs[0]), b.put_result({"v": 0}, outs[0])["ref"])  # the second is already stored
            self.assertEqual(outs[0], before)
            self.assertEqual(b.get(outs[0]), {"v": 0})
            self.assertTrue(b.stored(outs[0]))
            self.assertEqual(outs[0], before)
            with_uuid = dict(outs[1], id=uuid.UUID(outs[1]["id"]))
            self.assertEqual(b.put({"v": 1}, with_uuid)["id"], outs[1]["id"])
            self.assertIsInstance(with_uuid["id"], uuid.UUID)
            self.assertEqual(b.get(with_uuid), {"v": 1})
            self.assertEqual(b.put({"v": 2}, outs[2]["id"])["id"], outs[2]["id"])
            self.assertEqual(b.get(outs[2]["id"]), {"v": 2})
            result = b.put_result({"v": 3}, uuid.UUID(outs[3]["id"]))
            self.assertEqual(set(result), {"ref", "size", "sha256", "uri", "alreadyStored"})
            self.assertEqual(b.get(uuid.UUID(outs[3]["id"])), {"v": 3})
            self.assertTrue(b.stored(uuid.UUID(outs[3]["id"])))
            with self.assertRaises(ValueError):
                b.put({"v": 4}, {"datasetType": "calexp"})  # a ref mapping without an id

    def test_stored_many_is_keyed_by_the_refs_given(self):
        name = tu.unique_name("stored-many")
        refs = tu.input_refs()
        with QuantumBackedButler.from_predicted(self.client, [], refs[:1], datastore_name=name, notifications=[]) as seed:
            seed.put({"data": 1}, refs[0])
        with QuantumBackedButler.initialize(self.client, tu.q1(), datastore_name=name, notifications=[]) as butler:
            stored = butler.stored_many(refs[:2])
            self.assertEqual(list(stored), refs[:2])  # the ref objects given, in order
            self.assertIs(stored[refs[0]], True)
            self.assertIs(stored[refs[1]["id"]], False)  # any form of the same ref
            self.assertEqual(stored.by_id(), {refs[0]["id"]: True, refs[1]["id"]: False})

    def test_daf_butler_objects_are_taken_as_daf_butler_passes_them(self):
        # pipe_base passes DatasetRefs and StorageClass objects, and the universe third to initialize.
        inp = make_ref("raw", {"instrument": "Cam1", "detector": 1}, "shapes/raw")
        out = make_ref("calexp", {"instrument": "Cam1", "detector": 1}, "shapes/out")
        name = tu.unique_name("shapes")
        with QuantumBackedButler.from_predicted(self.client, [], [inp], datastore_name=name, notifications=[]) as seed:
            seed.put({"d": 1}, inp)
        quantum = serialized_quantum("t.T", inputs={"raw": [inp]}, outputs={"calexp": [out]})
        with QuantumBackedButler.initialize(self.client, quantum, datastore_name=name, notifications=[]) as first:
            universe = first.dimensions
        with QuantumBackedButler.initialize(self.client, quantum, universe, datastore_name=name, notifications=[]) as b:
            self.assertEqual(b.dimensions.namespace, universe.namespace)
            self.assertEqual(b.get(inp, storageClass=_StorageClass("StructuredDataDict")), {"d": 1})
            self.assertEqual(b.getDeferred(inp, storageClass=_StorageClass("StructuredDataDict")).get(), {"d": 1})
            with self.assertRaises(TypeError):
                b.get(inp, storageClass=object())
            daf_ref = _DatasetRef(out)
            self.assertIs(b.put({"x": 1}, daf_ref), daf_ref)  # daf_butler's put returns the ref it was given
            self.assertEqual(b.put({"x": 1}, out)["dataId"], {"instrument": "Cam1", "detector": 1})  # a dict: the stored ref

    def test_get_many_uris_is_keyed_by_the_refs_given(self):
        refs = [make_ref("calexp", {"instrument": "Cam1", "detector": d}, "uris") for d in (1, 2)]
        with QuantumBackedButler.from_predicted(self.client, [], refs, notifications=[]) as b:
            b.put({"v": 1}, refs[1])
            uris = b.get_many_uris(refs, allow_missing=True)
            self.assertEqual(list(uris), [refs[1]])  # the missing one left out
            self.assertTrue(uris[refs[1]["id"]].primaryURI.startswith("mem://"))
            predicted = b.get_many_uris(refs, predict=True)
            self.assertEqual(list(predicted), refs)
            self.assertTrue(predicted[refs[0]].primaryURI.endswith("#predicted"))

    def test_record_metrics_counts_what_its_block_did(self):
        refs = [make_ref("calexp", {"instrument": "Cam1", "detector": d}, "metrics") for d in (1, 2, 3)]
        given = _FourFieldMetrics()  # an older daf_butler ButlerMetrics: no ingest fields
        b = QuantumBackedButler.from_predicted(self.client, [], refs, notifications=[], metrics=given)
        b.put({"v": 1}, refs[0])
        self.assertIs(b._metrics, given)
        with b.record_metrics() as inner:
            self.assertIs(b._metrics, inner)
            b.put({"v": 2}, refs[1])
            b.get(refs[1])
            b.get(refs[1])
        self.assertIsInstance(inner, ButlerMetrics)
        self.assertEqual((inner.n_put, inner.n_get, inner.n_ingest), (1, 2, 0))
        self.assertGreater(inner.time_in_put, 0)
        self.assertEqual(set(inner.model_dump()), {"time_in_put", "time_in_get", "time_in_ingest", "n_put", "n_get", "n_ingest"})
        self.assertIs(b._metrics, given)
        mine = ButlerMetrics()
        with b.record_metrics(mine) as yielded:  # a metrics object given is the one filled
            self.assertIs(yielded, mine)
            b.put({"v": 3}, refs[2])
            b.metrics(reset=True)  # the session's counters reset inside the block: the put still counts
            b.get(refs[2])
        self.assertEqual((mine.n_put, mine.n_get), (1, 1))
        b.get(refs[0])
        b.close()  # brings metrics= up to date: what was done outside the blocks only
        self.assertEqual((given.n_put, given.n_get), (1, 1))
        self.assertFalse(hasattr(given, "n_ingest"))

    def raw_calexp_repository(self) -> Repository:
        """A new repository with ``raw`` and ``calexp`` (instrument, detector) registered."""
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        repo = Repository.create(self.client, os.path.join(tmp, "repo"))
        repo.register_dataset_type("raw", "StructuredDataDict", ["instrument", "detector"])
        repo.register_dataset_type("calexp", "StructuredDataDict", ["instrument", "detector"])
        return repo

    def test_collect_and_transfer_takes_daf_butler_objects(self):
        repo = self.raw_calexp_repository()
        raw = repo.put({"d": 1}, "raw", {"instrument": "Cam1", "detector": 1}, "raw/run")["ref"]
        made = repo.make_quantum("t.T", {"raw": [raw]}, {"calexp": [{"data_id": {"instrument": "Cam1", "detector": 1}, "run": "out"}]})
        quantum = _Quantum(made["quantum"])  # a daf_butler Quantum: to_simple() gives a pydantic model
        with QuantumBackedButler.initialize(self.client, quantum, repository={"root": repo.root}, notifications=[]) as b:
            b.put({"x": 1}, made["outputs"][0])
            provenance = _Model(b.extract_provenance_data())  # QuantumProvenanceData, a pydantic model
        report = repo.collect_and_transfer([quantum], [provenance])
        self.assertTrue(report["committed"], report)
        self.assertEqual(report["datasets"]["inserted"], 1)

    def test_make_quantum_takes_the_serialized_quantum_grouping(self):
        repo = self.raw_calexp_repository()
        raws = [repo.put({"d": d}, "raw", {"instrument": "Cam1", "detector": d}, "raw/run")["ref"] for d in (1, 2)]
        outs = [make_ref("calexp", {"instrument": "Cam1", "detector": d}, "out/run") for d in (1, 2)]
        made = repo.make_quantum("t.Calibrate", {"raw": raws}, {"calexp": outs})
        self.assertEqual(sorted(r["id"] for r in made["outputs"]), sorted(o["id"] for o in outs))
        self.assertEqual(sorted(r[0]["id"] for r in made["quantum"]["inputs"]["raw"]), sorted(r["id"] for r in raws))
        with self.assertRaises(ValueError):
            repo.make_quantum("t.Calibrate", {"raw": raws}, {"bias": outs})  # grouped under another type


class _Model:
    """A pydantic model, as far as the client looks: ``model_dump(mode="json")``."""

    def __init__(self, data):
        self._data = data

    def model_dump(self, mode="python"):
        return copy.deepcopy(self._data)


class _DatasetRef:
    """A daf_butler DatasetRef, as far as the client looks: ``to_simple()``."""

    def __init__(self, simple):
        self._simple = simple

    def to_simple(self):
        return _Model(self._simple)


_Quantum = _DatasetRef  # a daf_butler Quantum is looked at the same way


class _StorageClass:
    def __init__(self, name):
        self.name = name


class _FourFieldMetrics:
    """daf_butler's ButlerMetrics before ingest was counted."""

    def __init__(self):
        self.time_in_put = self.time_in_get = 0.0
        self.n_get = self.n_put = 0


if __name__ == "__main__":
    unittest.main()
