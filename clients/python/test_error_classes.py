"""Every error kind of the protocol (protocol/errors.ts) arrives as its own exception class.

Reads ErrorKinds from the TypeScript source, so a kind added to the sidecar without a
Python class fails here rather than reaching users as the bare base class.
"""
import os
import re
import unittest

from quantum_butler import ERROR_CLASSES, QuantumButlerError, error_from_response

ERRORS_TS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "protocol", "errors.ts")


def protocol_kinds():
    with open(ERRORS_TS, encoding="utf-8") as f:
        text = f.read()
    body = text[text.index("export const ErrorKinds = {"):]
    body = body[: body.index("} as const;")]
    return re.findall(r"^\s+(\w+): \{ code:", body, re.MULTILINE)


class ErrorClassesTest(unittest.TestCase):
    def test_the_kinds_are_read(self):
        kinds = protocol_kinds()
        self.assertIn("RepositoryError", kinds)
        self.assertIn("NotPredictedInput", kinds)
        self.assertGreater(len(kinds), 40)

    def test_every_kind_has_its_own_subclass(self):
        kinds = protocol_kinds()
        missing = [k for k in kinds if k not in ERROR_CLASSES]
        self.assertEqual(missing, [], "kinds without a Python exception class in quantum_butler/errors.py")
        classes = [ERROR_CLASSES[k] for k in kinds]
        for kind, cls in zip(kinds, classes):
            self.assertTrue(issubclass(cls, QuantumButlerError), kind)
            self.assertIsNot(cls, QuantumButlerError, kind)
        shared = {c.__name__: [k for k in kinds if ERROR_CLASSES[k] is c] for c in classes if classes.count(c) > 1}
        self.assertEqual(shared, {}, "kinds sharing one class")
        self.assertEqual(sorted(set(ERROR_CLASSES) - set(kinds)), [], "classes for kinds the protocol does not have")

    def test_a_response_becomes_its_kind_class(self):
        for kind, cls in ERROR_CLASSES.items():
            exc = error_from_response({"code": 1, "message": "m", "data": {"kind": kind, "retryable": False}})
            self.assertIs(type(exc), cls)
            self.assertEqual(exc.kind, kind)


if __name__ == "__main__":
    unittest.main()
