"""A full quantum through the real CLI: daf_butler's QBB scenarios as a Python host runs them."""
from __future__ import annotations

import glob
import os
import tempfile
import unittest

import qb_testutil as tu
from quantum_butler import (
    Client,
    Connection,
    DatasetRefURIs,
    DeferredDatasetHandle,
    QuantumBackedButler,
    dataset_id,
    make_ref,
    serialized_quantum,
)


def setUpModule():
    tu.require_cli()


class FixtureTest(unittest.TestCase):
    def test_ids_and_shapes_match_the_fixture(self):
        self.assertEqual(
            dataset_id("input", {"instrument": "Cam1", "detector": 1}, "RUN"),
            "a960012c-9610-5fec-b445-89359f749814",  # what the sidecar's makeDatasetId gives
        )
        self.assertEqual(tu.ref("input", 3), make_ref("input", {"instrument": "Cam1", "detector": 3}, "RUN"))
        built = serialized_quantum(
            "lsst.pipe.base.tests.TestTask",
            inputs={"input": tu.input_refs()},
            outputs={"output": tu.output_refs()},
            init_inputs={"init": tu.init_ref()},
        )
        self.assertEqual(built, tu.q1())


class QuantumTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = tu.spawn()

    @classmethod
    def tearDownClass(cls):
        code = cls.client.close()
        assert code == 0, code

    def test_full_quantum(self):
        client = self.client
        name = tu.unique_name("full")
        tu.seed_inputs(client, name)
        events = []
        client.on_provenance(events.append)
        butler = QuantumBackedButler.initialize(client, tu.q1(), datastore_name=name)
        sid = butler.session_id
        self.assertEqual(butler.info["predictedInputs"], 5)
        self.assertEqual(butler.info["predictedOutputs"], 4)
        self.assertEqual(butler.info["taskName"], "lsst.pipe.base.tests.TestTask")
        self.assertTrue(butler.isWriteable())
        p = butler.extract_provenance_data()
        self.assertEqual(p["predicted_inputs"], tu.predicted_input_ids())
        self.assertEqual(p["predicted_outputs"], tu.ids(tu.output_refs()))
        self.assertEqual((p["available_inputs"], p["actual_inputs"], p["actual_outputs"]), ([], [], []))

        # The harness checks every predicted input first.
        inputs = tu.input_refs() + [tu.init_ref()]
        stored = butler.stored_many(inputs + tu.missing_refs()[:1])
        self.assertEqual(stored, dict([(r["id"], True) for r in inputs] + [(tu.missing_refs()[0]["id"], False)]))
        self.assertTrue(butler.stored(tu.input_refs()[0]["id"]))  # a bare id works too

        # get: direct, deferred; refs as full dicts, compact dicts or ids.
        i0, i1, i2, i3 = tu.input_refs()
        self.assertEqual(butler.get(i0), {"data": 1})
        self.assertEqual(butler.get(i1["id"]), {"data": 2})
        self.assertEqual(butler.get(tu.init_ref()), {"data": -1})
        handle = butler.getDeferred(i2)
        self.assertIsInstance(handle, DeferredDatasetHandle)
        self.assertEqual(handle.ref["id"], i2["id"])
        self.assertEqual(handle.dataId, {"instrument": "Cam1", "detector": 3})
        self.assertEqual(handle.get(), {"data": 3})
        # markInputUnused: i3 was checked but the task rejected it.
        self.assertEqual(butler.markInputUnused(i3, reason="rejected by a cut"), "unused")

        # put the outputs; read one back; a non-predicted id is refused.
        for r in tu.output_refs():
            written = butler.put({"data": tu.detector(r) ** 2}, r)
            self.assertEqual(written["id"], r["id"])
            self.assertEqual(written["run"], "RUN")
        o0, o1, o2, o3 = tu.output_refs()
        self.assertEqual(butler.get(o2), {"data": 9})
        full = butler.put_result({"data": 1}, o0)  # identical content again: a no-op
        self.assertTrue(full["alreadyStored"])
        self.assertRegex(full["sha256"], r"^[0-9a-f]{64}$")

        uris = butler.getURIs(o0)
        self.assertIsInstance(uris, DatasetRefURIs)
        self.assertTrue(uris.primaryURI.startswith("mem://"))
        self.assertEqual(uris.componentURIs, {})
        self.assertEqual(butler.getURI(o0), uris.primaryURI)
        self.assertTrue(butler.getURIs(tu.missing_refs()[0], predict=True).primaryURI.endswith("#predicted"))
        with self.assertRaises(FileNotFoundError):
            butler.getURIs(tu.missing_refs()[0])

        # prune: store-only removal of o3, then a full purge of o1 and a re-put.
        self.assertEqual(butler.pruneDatasets([o3], disassociate=False, unstore=True), [o3["id"]])
        self.assertFalse(butler.stored(o3))
        with self.assertRaises(FileNotFoundError):
            butler.get(o3)
        butler.pruneDatasets([o1], disassociate=True, unstore=True, purge=True)
        self.assertFalse(butler.stored(o1))
        butler.put({"data": 4}, o1)
        self.assertTrue(butler.stored(o1))

        metrics = butler.metrics()
        self.assertEqual(metrics["n_put"], 6)  # four outputs, the no-op repeat and the re-put
        self.assertGreaterEqual(metrics["n_get"], 5)
        self.assertEqual(butler.metrics(reset=True)["n_put"], 6)
        self.assertEqual(butler.metrics()["n_put"], 0)

        # provenance, daf_butler format: sets as daf_butler computes them.
        p = butler.extract_provenance_data()
        self.assertEqual(
            set(p), {"predicted_inputs", "available_inputs", "actual_inputs", "predicted_outputs", "actual_outputs", "datastore_records"}
        )
        self.assertEqual(p["predicted_inputs"], tu.predicted_input_ids())
        self.assertEqual(p["available_inputs"], tu.predicted_input_ids())
        self.assertEqual(p["actual_inputs"], sorted(set(tu.predicted_input_ids()) - {i3["id"]}))
        self.assertEqual(p["predicted_outputs"], tu.ids(tu.output_refs()))
        self.assertEqual(p["actual_outputs"], tu.ids([o0, o1, o2]))
        (store_name,) = p["datastore_records"]
        self.assertEqual(store_name, "InMemoryDatastore@" + name)
        self.assertEqual(sorted(p["datastore_records"][store_name]["dataset_ids"]), tu.ids([o0, o1, o2]))

        native = butler.extract_provenance_data("native")
        self.assertEqual(native["schemaVersion"], "1.0")
        unused = [i for i in native["inputs"] if i["ref"]["id"] == i3["id"]][0]
        self.assertEqual(unused["unusedReason"], "rejected by a cut")
        self.assertEqual(native["diagnostics"], [])

        final = butler.close()
        self.assertTrue(butler.closed)
        self.assertEqual(final["actualOutputs"], tu.ids([o0, o1, o2]))
        self.assertEqual(final["execution"]["sessionId"], sid)

        # The provenance notifications, in order, with per-session seq from 1 and no gaps.
        client.flush_notifications()
        mine = [e for e in events if e["sessionId"] == sid]
        self.assertEqual([e["seq"] for e in mine], list(range(1, len(mine) + 1)))
        kinds = [e["event"] for e in mine]
        self.assertEqual(kinds[:6], ["inputCheckedAvailable"] * 5 + ["inputCheckedAvailable"])
        self.assertIn("deferredIssued", kinds)
        self.assertEqual(kinds.count("outputWritten"), 5)  # the no-op repeat writes nothing
        self.assertEqual(kinds.count("outputPruned"), 2)
        marked = [e for e in mine if e["event"] == "inputMarkedUnused"]
        self.assertEqual([(e["datasetId"], e["reason"]) for e in marked], [(i3["id"], "rejected by a cut")])
        deferred = [e for e in mine if e["event"] == "deferredIssued"][0]
        self.assertEqual(deferred["handle"], handle.handle)

    def test_session_filtered_provenance_and_context_manager(self):
        name = tu.unique_name("ctx")
        tu.seed_inputs(self.client, name)
        seen = []
        with QuantumBackedButler.initialize(self.client, tu.q1(), datastore_name=name) as butler:
            off = butler.on_provenance(seen.append)
            other = tu.open_q1(self.client)  # events of another session are not delivered
            other.stored(tu.input_refs()[0])
            other.close()
            butler.get(tu.input_refs()[0])
            butler.put({"data": 1}, tu.output_refs()[0])
            self.client.flush_notifications()
            off()
        self.assertTrue(butler.closed)
        self.assertEqual([(e["seq"], e["event"]) for e in seen], [(1, "inputLoaded"), (2, "outputWritten")])

    def test_events_in_batches_reach_listeners_one_by_one_in_order(self):
        # The client asks for the compact form, butler/provenanceRuns; pipelined calls share
        # messages, and each event still reaches butler/provenance listeners, in seq order,
        # before its response.
        self.assertTrue(self.client.connection.capabilities["provenanceRuns"])
        name = tu.unique_name("batch")
        tu.seed_inputs(self.client, name)
        wire = []
        conn = self.client.connection
        conn.trace = lambda direction, msg: wire.append(msg.get("method")) if direction == "recv" else None
        try:
            with QuantumBackedButler.initialize(self.client, tu.q1(), datastore_name=name) as butler:
                seen = []
                off = butler.on_provenance(seen.append)
                ref = {"id": tu.input_refs()[0]["id"]}
                futures = [conn.request_async("butler/stored", {"sessionId": butler.session_id, "ref": ref}) for _ in range(200)]
                for f in futures:
                    self.assertTrue(f.result(timeout=30)["stored"])
                self.client.flush_notifications()
                off()
        finally:
            conn.trace = None
        self.assertEqual([e["seq"] for e in seen], list(range(1, 201)))
        self.assertTrue(all(e["event"] == "inputCheckedAvailable" for e in seen))
        self.assertNotIn("butler/provenance", wire)
        self.assertNotIn("butler/provenanceBatch", wire)
        self.assertLess(wire.count("butler/provenanceRuns"), 100)  # 200 events, shared messages

    def test_every_event_form_gives_listeners_the_same_events(self):
        # butler/provenanceRuns (the default), butler/provenanceBatch and one butler/provenance
        # per event: the listeners get equal dicts, members in the same order, for every kind
        # of event, text that is not ASCII, and two sessions' calls in flight together.
        def events_of(capabilities):
            client = tu.spawn(capabilities=capabilities)
            try:
                name = tu.unique_name("forms")
                tu.seed_inputs(client, name)
                conn = client.connection
                inputs, missing = tu.input_refs(), tu.ref("raw", 99)
                seen = []
                conn.on_notification("butler/provenance", seen.append)
                for sid, k in (("sa", 0), ("sb \u2713", 1)):
                    outputs = [tu.ref("calexp", 10 + k), tu.ref("calexp", 20 + k)]
                    conn.request("session/open", {"sessionId": sid, "predicted": {"inputs": inputs + [missing], "outputs": outputs}, "datastore": {"kind": "memory", "name": name}})
                call = lambda method, **params: conn.request_async(method, params)
                call("butler/storedMany", sessionId="sa", refs=[{"id": r["id"]} for r in inputs + [missing]]).result(20)
                call("butler/get", sessionId="sa", ref={"id": inputs[0]["id"]}).result(20)
                self.assertIsNotNone(call("butler/get", sessionId="sa", ref={"id": missing["id"]}).exception(20))
                call("butler/getDeferred", sessionId="sa", ref={"id": inputs[1]["id"]}).result(20)
                call("butler/markInputUnused", sessionId="sa", ref={"id": inputs[2]["id"]}, reason='not "needed" \u00e9 \\').result(20)
                together = [
                    call("butler/put", sessionId="sa", ref={"id": tu.ref("calexp", 10)["id"]}, payload={"encoding": "json", "value": {"x": 1}}),
                    call("butler/put", sessionId="sb \u2713", ref={"id": tu.ref("calexp", 21)["id"]}, payload={"encoding": "json", "value": {"x": "\u00fc"}}),
                    call("butler/stored", sessionId="sa", ref={"id": inputs[3]["id"]}),
                    call("butler/stored", sessionId="sb \u2713", ref={"id": inputs[0]["id"]}),
                    call("butler/put", sessionId="sa", ref={"id": tu.ref("calexp", 20)["id"]}, payload={"encoding": "json", "value": {"x": 2}}),
                ]
                for f in together:
                    f.result(20)
                call("butler/pruneDatasets", sessionId="sa", refs=[{"id": tu.ref("calexp", 20)["id"]}], disassociate=True, unstore=True, purge=True).result(20)
                client.flush_notifications()
                for sid in ("sa", "sb \u2713"):
                    mine = [e["seq"] for e in seen if e["sessionId"] == sid]
                    self.assertEqual(mine, list(range(1, len(mine) + 1)))
                masked = [dict(e, time="T", **({"handle": "H"} if "handle" in e else {})) for e in sorted(seen, key=lambda e: (e["sessionId"], e["seq"]))]
                return [list(e.items()) for e in masked], client.connection.capabilities
            finally:
                client.close()

        runs, runs_caps = events_of({"provenanceRuns": True, "provenanceBatches": True})
        batches, batches_caps = events_of({"provenanceBatches": True})
        single, single_caps = events_of({})
        self.assertEqual([(c["provenanceRuns"], c["provenanceBatches"]) for c in (runs_caps, batches_caps, single_caps)], [(True, False), (False, True), (False, False)])
        self.assertEqual(len({dict(e)["event"] for e in runs}), 8)
        self.assertEqual(runs, batches)
        self.assertEqual(runs, single)

    def test_from_predicted_and_a_chain_of_two_quanta(self):
        name = tu.unique_name("chain")
        tu.seed_inputs(self.client, name)
        first = QuantumBackedButler.from_predicted(self.client, tu.input_refs(), tu.output_refs(), datastore_name=name, task_name="first")
        self.assertEqual(first.info["taskName"], "first")
        for r in tu.input_refs():
            first.put({"data": first.get(r)["data"] * 10}, tu.output_refs()[tu.detector(r) - 1])
        first.close()
        out2 = [tu.ref("output2", d) for d in tu.DETECTORS]
        q2 = tu.serialized_quantum("second", inputs={"output": tu.output_refs()}, outputs={"output2": out2})
        with QuantumBackedButler.initialize(self.client, q2, datastore_name=name) as second:
            self.assertEqual([second.get(r)["data"] for r in tu.output_refs()], [10, 20, 30, 40])
            p = second.extract_provenance_data()
            self.assertEqual(p["actual_inputs"], tu.ids(tu.output_refs()))

    def test_provenance_file_is_written_even_when_the_host_never_closes(self):
        import json
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "prov.json")
            client = tu.spawn()
            try:
                butler = client.open_session(predicted={"inputs": [], "outputs": tu.output_refs()}, provenance_file=path, notifications=[])
                butler.put({"data": 1}, tu.output_refs()[0])
            finally:
                client.close()  # shutdown and exit with the session still open
            with open(path) as f:
                doc = json.load(f)
            self.assertEqual(doc["actualOutputs"], [tu.output_refs()[0]["id"]])

    def test_bytes_text_and_unicode_round_trips(self):
        blob = tu.ref("blob", 1, "Bytes")
        note = tu.ref("note", 1, "Text")
        table = tu.ref("catalog", 1, "Table")
        with QuantumBackedButler.from_predicted(self.client, [], [blob, note, table, tu.output_refs()[0]]) as b:
            data = bytes(range(256)) * 4
            b.put(data, blob)
            got = b.get(blob)
            self.assertIsInstance(got, bytes)
            self.assertEqual(got, data)
            self.assertEqual(b.get(blob, parameters={"start": 10, "end": 20}), data[10:20])
            text = "héllo ✓ 😀 — ünïcode"
            b.put(text, note)
            self.assertEqual(b.get(note), text)
            value = {"naïve": ["ß", "😀", 1.5, None, True], "nested": {"k": "\u2028 line sep"}}
            b.put(value, tu.output_refs()[0])
            self.assertEqual(b.get(tu.output_refs()[0]), value)
            b.put({"columns": {"x": [1, 2, 3], "y": [4, 5, 6]}}, table)
            self.assertEqual(b.get(table, component="rowCount"), 3)
            self.assertEqual(b.get(table, parameters={"columns": ["x"]}), {"columns": {"x": [1, 2, 3]}})
            rows = b.get(table, storageClass="StructuredDataList")
            self.assertEqual(rows[0], {"x": 1, "y": 4})
            self.assertEqual(b.getDeferred(table).get(component="columnNames"), ["x", "y"])
            with tempfile.TemporaryDirectory() as d:
                dest = os.path.join(d, "blob.bin")
                b.get_to_file(blob, dest)
                with open(dest, "rb") as f:
                    self.assertEqual(f.read(), data)

    def test_progress_callback(self):
        blob = tu.ref("blob", 2, "Bytes")
        values = []
        with QuantumBackedButler.from_predicted(self.client, [], [blob]) as b:
            b.put(b"x" * 1024, blob, progress=values.append)
            self.client.flush_notifications()
        self.assertEqual(values[0]["kind"], "begin")
        self.assertEqual(values[-1]["kind"], "end")


class ConnectionOnlyTest(unittest.TestCase):
    def test_initialize_and_from_predicted_accept_a_bare_connection(self):
        with Connection(timeout=20) as conn:
            name = tu.unique_name("conn")
            seed = QuantumBackedButler.from_predicted(conn, [], tu.input_refs() + [tu.init_ref()], datastore_name=name)
            for r in tu.input_refs() + [tu.init_ref()]:
                seed.put({"data": tu.detector(r)}, r)
            seed.close()
            butler = QuantumBackedButler.initialize(conn, tu.q1(), datastore_name=name)
            self.assertIs(butler.client, Client.wrap(conn))  # one Client per connection
            self.assertEqual(butler.get(tu.input_refs()[1]), {"data": 2})
            values = []
            butler.put({"data": 1}, tu.output_refs()[0], progress=values.append)
            self.assertEqual([v["kind"] for v in values][::len(values) - 1], ["begin", "end"])
            self.assertEqual(butler.close()["actualOutputs"], [tu.output_refs()[0]["id"]])
        self.assertEqual(conn.returncode, 0)


class LargePayloadTest(unittest.TestCase):
    """Bytes over maxInlineBytes travel through a temp file the sidecar moves, both ways."""

    def test_large_bytes_go_by_file(self):
        with tu.spawn(args=["--max-inline-bytes=100000"]) as client:
            self.assertEqual(client.max_inline_bytes, 100000)
            blob = tu.ref("blob", 3, "Bytes")
            note = tu.ref("note", 3, "Text")
            before = set(glob.glob(os.path.join(tempfile.gettempdir(), "quantum-butler-*")))
            with QuantumBackedButler.from_predicted(client, [], [blob, note]) as b:
                data = os.urandom(300000)
                result = b.put_result(data, blob)
                self.assertEqual(result["size"], len(data))
                self.assertEqual(b.get(blob), data)  # PayloadTooLarge inline → fetched via a file
                text = "ü" * 80000  # 160000 UTF-8 bytes
                b.put(text, note)
                self.assertEqual(b.get(note), text)
            after = set(glob.glob(os.path.join(tempfile.gettempdir(), "quantum-butler-*")))
            self.assertEqual(after - before, set())  # every temp file is gone


if __name__ == "__main__":
    unittest.main()
