"""Errors: the kind → exception mapping, and the builtins daf_butler code catches, live."""
from __future__ import annotations

import concurrent.futures
import pickle
import unittest

import qb_testutil as tu
from quantum_butler import (
    DatasetNotFoundError,
    InvalidDatasetRefError,
    InvalidPruneArgumentsError,
    KeyNotFoundError,
    MethodNotFoundError,
    NotPredictedOutputError,
    PredictedRefMismatchError,
    QuantumButlerError,
    RequestCancelledError,
    SessionNotFoundError,
    StorageClassMismatchError,
    UnknownParameterError,
    StoreBusyError,
    error_from_response,
)


def setUpModule():
    tu.require_cli()


def err(kind, code=1000, message="m", **data):
    return error_from_response({"code": code, "message": message, "data": dict(kind=kind, retryable=False, **data)})


class MappingTest(unittest.TestCase):
    def test_kinds_map_to_classes_that_also_inherit_the_daf_butler_builtins(self):
        expected = {
            "DatasetNotFound": FileNotFoundError,
            "NotPredictedOutput": RuntimeError,
            "InvalidPruneArguments": TypeError,
            "UnknownParameter": KeyError,
            "StorageClassMismatch": (TypeError, ValueError),
            "InvalidParams": ValueError,
            "InvalidArgument": ValueError,
            "InvalidDatasetRef": ValueError,
            "PredictedRefMismatch": ValueError,
            "SessionNotFound": LookupError,
            "RequestCancelled": concurrent.futures.CancelledError,
            "KeyNotFound": KeyError,
        }
        for kind, builtin in expected.items():
            with self.subTest(kind=kind):
                e = err(kind)
                self.assertIsInstance(e, QuantumButlerError)
                for b in builtin if isinstance(builtin, tuple) else (builtin,):  # every one of them
                    self.assertIsInstance(e, b)
                self.assertEqual(e.kind, kind)

    def test_unknown_kinds_are_the_base_class(self):
        # Every kind the protocol has gets its own class (test_error_classes); a newer sidecar's
        # kind this client does not know still arrives, as the base class.
        for kind in ("SomethingNew",):
            e = err(kind, code=1017)
            self.assertIs(type(e), QuantumButlerError)
            self.assertEqual(e.kind, kind)
        self.assertIs(type(error_from_response({"code": -32000, "message": "x"})), QuantumButlerError)
        busy = error_from_response({"code": 1025, "message": "locked", "data": {"kind": "StoreBusy", "retryable": True}})
        self.assertIsInstance(busy, StoreBusyError)
        self.assertTrue(busy.retryable)
        self.assertIsNone(busy.retry_after_ms)
        later = error_from_response({"code": 1025, "message": "locked", "data": {"kind": "StoreBusy", "retryable": True, "retryAfterMs": 250}})
        self.assertEqual(later.retry_after_ms, 250)
        self.assertIsInstance(error_from_response({"code": -32601, "message": "no"}), MethodNotFoundError)

    def test_fields_str_and_pickling(self):
        e = err("DatasetNotFound", code=1002, message="No such dataset", datasetId="abc", sessionId="s", details={"x": 1})
        self.assertEqual((e.code, e.message, e.dataset_id, e.session_id, e.details, e.retryable), (1002, "No such dataset", "abc", "s", {"x": 1}, False))
        self.assertEqual(str(e), "No such dataset")  # not "[Errno 1002] ..."
        self.assertIsNone(e.errno)
        k = err("UnknownParameter", message="Unknown parameter nope")
        self.assertEqual(str(k), "Unknown parameter nope")  # KeyError would quote it
        again = pickle.loads(pickle.dumps(e))
        self.assertIs(type(again), DatasetNotFoundError)
        self.assertEqual((again.code, again.message, again.data), (e.code, e.message, e.data))


class LiveErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = tu.spawn()

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def setUp(self):
        self.butler = tu.open_q1(self.client)

    def tearDown(self):
        self.butler.close()

    def test_missing_dataset_is_file_not_found(self):
        with self.assertRaises(FileNotFoundError) as cm:
            self.butler.get(tu.missing_refs()[0])
        self.assertIsInstance(cm.exception, DatasetNotFoundError)
        self.assertEqual(cm.exception.code, 1002)
        self.assertEqual(cm.exception.kind, "DatasetNotFound")
        with self.assertRaises(FileNotFoundError):  # deferred: no check at issue time, fails on load
            self.butler.getDeferred(tu.missing_refs()[1]).get()

    def test_put_not_predicted_is_runtime_error_with_daf_butler_text(self):
        with self.assertRaises(RuntimeError) as cm:
            self.butler.put({"data": 0}, tu.missing_refs()[0])
        self.assertIsInstance(cm.exception, NotPredictedOutputError)
        self.assertEqual(str(cm.exception), "Cannot `put` dataset that was not predicted as an output.")
        self.assertEqual(cm.exception.code, 1003)
        with self.assertRaises(RuntimeError):  # an input is not an output either
            self.butler.put({"data": 0}, tu.input_refs()[0])

    def test_bad_prune_arguments_are_type_errors(self):
        o = tu.output_refs()[0]
        self.butler.put({"data": 1}, o)
        cases = [
            (dict(purge=True, disassociate=False, unstore=True), "Cannot pass purge=True without disassociate=True."),
            (dict(purge=True, disassociate=True, unstore=False), "Cannot pass purge=True without unstore=True."),
            (dict(purge=False, disassociate=True, unstore=True), "Cannot pass disassociate=True without purge=True."),
            (dict(), "Cannot pass disassociate=True without purge=True."),  # daf_butler's defaults raise
        ]
        for kwargs, message in cases:
            with self.subTest(**kwargs):
                with self.assertRaises(TypeError) as cm:
                    self.butler.pruneDatasets([o], **kwargs)
                self.assertIsInstance(cm.exception, InvalidPruneArgumentsError)
                self.assertEqual(str(cm.exception), message)
        self.assertTrue(self.butler.stored(o))  # nothing was touched

    def test_other_live_mappings(self):
        o = tu.output_refs()[0]
        with self.assertRaises(TypeError) as cm:  # a list does not fit StructuredDataDict
            self.butler.put([1, 2, 3], o)
        self.assertIsInstance(cm.exception, StorageClassMismatchError)
        with self.assertRaises(ValueError) as cm:  # daf_butler's overrideStorageClass: ValueError
            self.butler.get(tu.input_refs()[0], storageClass="StructuredDataList")
        self.assertIsInstance(cm.exception, StorageClassMismatchError)
        self.assertIn("is not compatible with the existing storage class", str(cm.exception))
        wrong = dict(o, run="other")
        with self.assertRaises(ValueError) as cm:
            self.butler.put({"data": 1}, wrong)
        self.assertIsInstance(cm.exception, PredictedRefMismatchError)
        with self.assertRaises(ValueError) as cm:
            self.butler.get("not-a-uuid")
        self.assertIsInstance(cm.exception, InvalidDatasetRefError)
        with self.assertRaises(KeyError) as cm:
            self.butler.get(tu.input_refs()[0], parameters={"nope": 1})
        self.assertIsInstance(cm.exception, UnknownParameterError)
        with self.assertRaises(QuantumButlerError) as cm:
            self.butler.markInputUnused(tu.output_refs()[0])
        self.assertEqual(cm.exception.kind, "NotPredictedInput")

    def test_closed_session_is_lookup_error(self):
        b = self.client.open_session(quantum=tu.q1())
        first = b.close()
        self.assertEqual(first["schemaVersion"], "1.0")
        self.assertEqual(b.close(), first)  # idempotent
        with self.assertRaises(LookupError) as cm:
            b.stored(tu.output_refs()[0])
        self.assertIsInstance(cm.exception, SessionNotFoundError)
        self.assertEqual(cm.exception.session_id, b.session_id)

    def test_cancelled_request_error_class(self):
        self.assertTrue(issubclass(RequestCancelledError, concurrent.futures.CancelledError))
        self.assertTrue(issubclass(KeyNotFoundError, KeyError))


if __name__ == "__main__":
    unittest.main()
