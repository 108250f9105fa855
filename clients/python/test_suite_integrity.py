"""Guards the Python test suite itself against silently running fewer tests than it defines.

Two past bugs: a module called unittest.main() before its last TestCase (running the file ran
one class of two), and a module skipped its whole suite when the sidecar answered
MethodNotFound. These checks read the test modules' source, so they need no sidecar.
"""
from __future__ import annotations

import ast
import glob
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def _test_modules() -> list[str]:
    return sorted(glob.glob(os.path.join(HERE, "test_*.py")))


def _parse(path: str) -> ast.Module:
    with open(path) as f:
        return ast.parse(f.read(), path)


def _is_main_guard(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


def _defined_tests(tree: ast.Module) -> int:
    """test_* methods of the module's top-level classes, as unittest's loader would see them."""
    count = 0
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            count += sum(1 for n in names if n.startswith("test"))
    return count


class SuiteIntegrityTest(unittest.TestCase):
    def test_there_are_test_modules(self):
        self.assertGreater(len(_test_modules()), 5)

    def test_the_main_guard_is_the_last_statement(self):
        """Anything defined after `if __name__ == "__main__": unittest.main()` never runs from the command line."""
        for path in _test_modules():
            tree = _parse(path)
            guards = [i for i, node in enumerate(tree.body) if _is_main_guard(node)]
            with self.subTest(module=os.path.basename(path)):
                self.assertLessEqual(len(guards), 1)
                if guards:
                    self.assertEqual(guards[0], len(tree.body) - 1, "statements follow the __main__ guard")

    def test_no_skip_depends_on_the_sidecar(self):
        """Only platform decorators may skip; a test that skips itself at run time hides a missing feature."""
        for path in _test_modules():
            if os.path.basename(path) == os.path.basename(__file__):
                continue
            tree = _parse(path)
            with self.subTest(module=os.path.basename(path)):
                for node in ast.walk(tree):
                    if isinstance(node, ast.Attribute) and node.attr in ("skipTest", "SkipTest"):
                        self.fail("line %d: %s" % (node.lineno, node.attr))
                    if isinstance(node, ast.Attribute) and node.attr in ("skip", "skipIf", "skipUnless"):
                        call = next(
                            (c for c in ast.walk(tree) if isinstance(c, ast.Call) and c.func is node), None
                        )
                        self.assertIsNotNone(call)
                        source = ast.unparse(call.args[0]) if call and call.args else ""
                        self.assertIn(source, ("POSIX", "LINUX"), "line %d: skip on %r" % (node.lineno, source))

    def test_the_loader_finds_every_defined_test(self):
        """Discovery loads exactly the test methods the modules define (no shadowed class, no lost test)."""
        defined = sum(_defined_tests(_parse(p)) for p in _test_modules())
        loaded = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py").countTestCases()
        self.assertEqual(loaded, defined)


if __name__ == "__main__":
    unittest.main()
