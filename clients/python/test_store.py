"""Store: encore's key-value API over store/*."""
from __future__ import annotations

import os
import tempfile
import unittest

import qb_testutil as tu
from quantum_butler import KeyNotFoundError, QuantumButlerError, Store, StoreValue

_client = None


def setUpModule():
    # No probe-and-skip: the sidecar implements store/*, so MethodNotFound here is a failure.
    global _client
    tu.require_cli()
    _client = tu.spawn()


def tearDownModule():
    if _client is not None:
        _client.close()


class StoreTest(unittest.TestCase):
    def setUp(self):
        self.butler = _client.open_session(predicted={"inputs": [], "outputs": []}, notifications=["store"])
        self.store = self.butler.store
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.butler.close()
        self.tmp.cleanup()

    def fill(self):
        keys = ["key%d" % i for i in range(10)]
        self.store.multiset(keys, [b"value%d" % i for i in range(10)], [{"query_test1": "value", "query_test2": i} for i in range(10)])
        return keys

    def test_info_and_connection(self):
        info = self.store.info()
        self.assertEqual(info["kind"], "memory")
        self.assertFalse(info["readonly"])
        self.store.connect()
        self.assertTrue(self.store.is_connected())
        self.assertIsInstance(Store(_client, self.butler.session_id), Store)

    def test_set_get_exists_delete(self):
        s = self.store
        self.assertFalse(s.exists("a/b"))
        s.set("a/b", b"test", {"a_str": "test1", "an_int": 1})
        self.assertTrue(s.exists("a/b"))
        value = s.get("a/b")
        self.assertIsInstance(value, StoreValue)
        self.assertEqual((value.data, value.metadata, value.size), (b"test", {"a_str": "test1", "an_int": 1}, 4))
        self.assertIsInstance(value.created, (int, float))
        data, metadata = s.get("a/b")  # encore's 2-tuple protocol
        self.assertEqual((data, metadata["an_int"]), (b"test", 1))
        self.assertEqual(s.get_data("a/b"), b"test")
        self.assertEqual(s.get_data_range("a/b", 1, 3), b"es")  # end exclusive
        self.assertEqual(s.get_metadata("a/b", select=["an_int", "missing"]), {"an_int": 1})
        s.delete("a/b")
        self.assertFalse(s.exists("a/b"))
        with self.assertRaises(KeyError) as cm:
            s.get("a/b")
        self.assertIsInstance(cm.exception, KeyNotFoundError)
        with self.assertRaises(KeyError):
            s.delete("a/b")

    def test_data_and_metadata_separately(self):
        s = self.store
        s.set("k", b"one", {"x": 1})
        s.set_data("k", b"two")
        self.assertEqual(s.get("k").metadata, {"x": 1})
        s.set_metadata("k", {"y": 2})
        self.assertEqual((s.get_data("k"), s.get_metadata("k")), (b"two", {"y": 2}))
        s.update_metadata("k", {"z": 3})
        self.assertEqual(s.get_metadata("k"), {"y": 2, "z": 3})
        with self.assertRaises(KeyError):
            s.update_metadata("missing", {"z": 3})
        s.from_bytes("k", bytes(range(256)))
        self.assertEqual(s.to_bytes("k"), bytes(range(256)))

    def test_multi_glob_and_query(self):
        s = self.store
        keys = self.fill()
        self.assertEqual([v.data for v in s.multiget(keys[:3])], [b"value0", b"value1", b"value2"])
        self.assertEqual(s.multiget_data(["key4", "key5"]), [b"value4", b"value5"])
        self.assertEqual(s.multiget_metadata(["key1"], select=["query_test2"]), [{"query_test2": 1}])
        self.assertEqual(sorted(s.glob("key*")), keys)
        self.assertEqual(s.query(query_test2=3), [("key3", {"query_test1": "value", "query_test2": 3})])
        self.assertEqual(s.query(["query_test2"], query_test2=4), [("key4", {"query_test2": 4})])
        self.assertEqual(sorted(s.query_keys(query_test1="value")), keys)
        self.assertEqual(s.query_keys(query_test1="nothing"), [])
        s.multiset_data(["key0", "key1"], [b"a", b"b"])
        s.multiset_metadata(["key0"], [{"m": 0}])
        s.multiupdate_metadata(["key1"], [{"m": 1}])
        self.assertEqual(s.get("key0").metadata, {"m": 0})
        self.assertEqual(s.get("key1").metadata["m"], 1)
        self.assertEqual(s.get_data("key1"), b"b")

    def test_files(self):
        s = self.store
        src = os.path.join(self.tmp.name, "in.bin")
        with open(src, "wb") as f:
            f.write(b"from a file")
        s.from_file("f", src)
        dest = os.path.join(self.tmp.name, "out.bin")
        s.to_file("f", dest)
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), b"from a file")

    def test_transactions_commit_and_roll_back(self):
        s = self.store
        events = []
        off = s.on_event(events.append)
        with s.transaction("two writes"):
            s.set("t1", b"1", {})
            s.set("t2", b"2", {})
        self.assertEqual(s.get_data("t2"), b"2")
        with self.assertRaises(RuntimeError):
            with s.transaction("rolled back"):
                s.set("t3", b"3", {})
                raise RuntimeError("boom")
        self.assertFalse(s.exists("t3"))
        _client.flush_notifications()
        off()
        types = [e["type"] for e in events]
        self.assertIn("transactionStart", types)
        self.assertIn("transactionEnd", types)
        self.assertNotIn("t3", [e.get("key") for e in events])
        ends = [e["state"] for e in events if e["type"] == "transactionEnd"]
        self.assertEqual(ends[0], "done")

    def test_push_needs_a_mounted_store(self):
        with self.assertRaises(QuantumButlerError):
            self.store.push("anything")


class MountedStoreTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def test_push_moves_a_key_down(self):
        backing = {"kind": "file", "path": os.path.join(self.tmp.name, "backing")}
        butler = _client.open_session(predicted={"inputs": [], "outputs": []}, mount={"prefix": "scratch/", "over": backing})
        try:
            s = butler.store
            self.assertEqual(s.info()["kind"], "mounted")
            s.set("scratch/x", b"scratch data", {"k": 1})
            s.push("scratch/x")
            self.assertEqual(s.get_data("scratch/x"), b"scratch data")  # still visible through the mount
        finally:
            butler.close()
        other = _client.open_session(predicted={"inputs": [], "outputs": []}, store=backing)
        try:
            self.assertEqual(other.store.get_data("scratch/x"), b"scratch data")  # now in the backing store
        finally:
            other.close()


if __name__ == "__main__":
    unittest.main()
