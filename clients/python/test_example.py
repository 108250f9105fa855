"""example.py runs as a user would run it, and prints what it promises."""
from __future__ import annotations

import os
import subprocess
import sys
import unittest

import qb_testutil as tu

EXAMPLE = os.path.join(tu.HERE, "example.py")


class ExampleTest(unittest.TestCase):
    def test_example_runs_and_prints_the_provenance(self):
        tu.require_cli()
        with open(EXAMPLE) as f:
            self.assertLessEqual(len(f.read().splitlines()), 30)
        proc = subprocess.run(
            [sys.executable, EXAMPLE],
            cwd=tu.REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=30,
            universal_newlines=True,
        )
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.splitlines()
        raws = sorted(tu.expected_id("raw", d) for d in (1, 2))
        calexp = tu.expected_id("calexp", 1)
        self.assertIn("stored [True, True]", lines)
        self.assertIn("read back {'total': 30}", lines)
        self.assertIn("predicted_inputs %s" % raws, lines)
        self.assertIn("available_inputs %s" % raws, lines)
        self.assertIn("actual_inputs %s" % raws, lines)
        self.assertIn("actual_outputs %s" % [calexp], lines)
        self.assertIn("datastore_records ['InMemoryDatastore@shared']", lines)
        events = [line for line in lines if line.startswith("event ")]
        self.assertEqual(
            events,
            [
                "event 1 inputCheckedAvailable raw",
                "event 2 inputCheckedAvailable raw",
                "event 3 inputLoaded raw",
                "event 4 inputLoaded raw",
                "event 5 outputWritten calexp",
            ],
        )
        self.assertEqual(lines[-1], "exit code 0")



class ReadmeExampleTest(unittest.TestCase):
    def test_the_readme_shows_exactly_this_example(self):
        """The README's Python example is example.py, so the test above runs the README's code."""
        with open(os.path.join(tu.REPO, "README.md")) as f:
            readme = f.read()
        start = readme.index("```python\n") + len("```python\n")
        block = readme[start:readme.index("```", start)]
        with open(EXAMPLE) as f:
            self.assertEqual(block.strip(), f.read().strip())


if __name__ == "__main__":
    unittest.main()
