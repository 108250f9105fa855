"""The environment the Python client gives the sidecar: NODE_EXTRA_CA_CERTS moved to
QUANTUM_BUTLER_EXTRA_CA_CERTS (``sidecar_env``) unless ``env=`` is given, which is used as given.
The child's environment is read from /proc/PID/environ (Linux)."""
from __future__ import annotations

import os
import sys
import tempfile
import unittest
from unittest import mock

import qb_testutil as tu
from quantum_butler import sidecar_env
from quantum_butler.rpc import EXTRA_CA_CERTS_VAR

LINUX = sys.platform.startswith("linux")


def setUpModule():
    tu.require_cli()


def environ_of(pid: int) -> dict:
    with open("/proc/%d/environ" % pid, "rb") as f:
        entries = f.read().split(b"\0")
    return dict(e.decode().split("=", 1) for e in entries if b"=" in e)


class SidecarEnvTest(unittest.TestCase):
    def test_moves_the_variable_in_a_copy(self):
        env = {"PATH": "/bin", "NODE_EXTRA_CA_CERTS": "/a.crt"}
        self.assertEqual(sidecar_env(env), {"PATH": "/bin", EXTRA_CA_CERTS_VAR: "/a.crt"})
        self.assertEqual(env, {"PATH": "/bin", "NODE_EXTRA_CA_CERTS": "/a.crt"})
        self.assertEqual(EXTRA_CA_CERTS_VAR, "QUANTUM_BUTLER_EXTRA_CA_CERTS")

    def test_leaves_an_environment_without_it_or_with_ours_naming_another_file(self):
        self.assertEqual(sidecar_env({"PATH": "/bin"}), {"PATH": "/bin"})
        self.assertEqual(sidecar_env({"NODE_EXTRA_CA_CERTS": ""}), {"NODE_EXTRA_CA_CERTS": ""})
        both = {"NODE_EXTRA_CA_CERTS": "/a.crt", EXTRA_CA_CERTS_VAR: "/b.crt"}
        self.assertEqual(sidecar_env(both), both)
        self.assertEqual(sidecar_env({"NODE_EXTRA_CA_CERTS": "/a.crt", EXTRA_CA_CERTS_VAR: "/a.crt"}), {EXTRA_CA_CERTS_VAR: "/a.crt"})

    def test_defaults_to_this_process_environment(self):
        with mock.patch.dict(os.environ, {"NODE_EXTRA_CA_CERTS": "/a.crt"}):
            os.environ.pop(EXTRA_CA_CERTS_VAR, None)
            env = sidecar_env()
        self.assertNotIn("NODE_EXTRA_CA_CERTS", env)
        self.assertEqual(env[EXTRA_CA_CERTS_VAR], "/a.crt")
        self.assertEqual(env["PATH"], os.environ["PATH"])


@unittest.skipUnless(LINUX, "reads /proc/PID/environ")
class ChildEnvironmentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A file without certificates: Node loads it (adding nothing) without a warning.
        cls.tmp = tempfile.TemporaryDirectory()
        cls.cert = os.path.join(cls.tmp.name, "extra.crt")
        open(cls.cert, "w").close()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def environ(self, **options) -> dict:
        client = tu.spawn(**options)
        try:
            return environ_of(client.connection.pid)
        finally:
            client.close()

    def test_without_env_the_variable_is_moved(self):
        with mock.patch.dict(os.environ, {"NODE_EXTRA_CA_CERTS": self.cert}):
            os.environ.pop(EXTRA_CA_CERTS_VAR, None)
            env = self.environ()
        self.assertNotIn("NODE_EXTRA_CA_CERTS", env)
        self.assertEqual(env[EXTRA_CA_CERTS_VAR], self.cert)
        self.assertEqual(env["PATH"], os.environ["PATH"])

    def test_an_env_given_is_used_as_given(self):
        given = {k: v for k, v in os.environ.items() if k != EXTRA_CA_CERTS_VAR}
        given.update(NODE_EXTRA_CA_CERTS=self.cert, QB_SPAWN_ENV_TEST="1")
        env = self.environ(env=given)
        self.assertEqual(env["NODE_EXTRA_CA_CERTS"], self.cert)
        self.assertNotIn(EXTRA_CA_CERTS_VAR, env)
        self.assertEqual(env["QB_SPAWN_ENV_TEST"], "1")
        moved = self.environ(env=sidecar_env(given))
        self.assertNotIn("NODE_EXTRA_CA_CERTS", moved)
        self.assertEqual(moved[EXTRA_CA_CERTS_VAR], self.cert)


if __name__ == "__main__":
    unittest.main()
