"""Timeouts and cancellation, a sidecar that dies mid-call, and a clean stdout."""
from __future__ import annotations

import json
import os
import signal
import io
import subprocess
import tempfile
import threading
import time
import unittest

import qb_testutil as tu
from quantum_butler import QuantumBackedButler, RequestTimeout, SidecarDied, default_node_path
from quantum_butler.rpc import encode_message, frame, read_frame

POSIX = os.name == "posix"


def setUpModule():
    tu.require_cli()


class Recorder:
    """A Connection.trace hook keeping (direction, message) pairs."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []

    def __call__(self, direction, msg):
        with self.lock:
            self.messages.append((direction, msg))

    def find(self, pred):
        with self.lock:
            return [m for d, m in self.messages if pred(d, m)]


class TimeoutTest(unittest.TestCase):
    def test_timeout_raises_timeout_error_and_sends_cancel_request(self):
        with tu.spawn() as client:
            conn = client.connection
            blob = tu.ref("blob", 1, "Bytes")
            butler = QuantumBackedButler.from_predicted(client, [], [blob])
            fd, path = tempfile.mkstemp(prefix="qb-test-slow-")
            with os.fdopen(fd, "wb") as f:
                f.write(b"\3" * (64 * 1024 * 1024))  # slow enough to queue a request behind it
            rec = Recorder()
            conn.trace = rec
            try:
                slow = conn.request_async(
                    "butler/put",
                    {"sessionId": butler.session_id, "ref": blob, "payload": {"encoding": "file", "path": path, "mode": "move"}},
                )
                start = time.monotonic()
                with self.assertRaises(TimeoutError) as cm:  # the builtin, on every Python version
                    butler.stored(blob, timeout=0.02)
                self.assertLess(time.monotonic() - start, 5)
                exc = cm.exception
                self.assertIsInstance(exc, RequestTimeout)
                self.assertEqual(exc.method, "butler/stored")
                cancels = rec.find(lambda d, m: d == "send" and m.get("method") == "$/cancelRequest")
                self.assertEqual([m["params"] for m in cancels], [{"id": exc.request_id}])
                # The put finishes; the cancelled request is answered -32800 and dropped.
                self.assertEqual(slow.result(30)["size"], 64 * 1024 * 1024)
                self.assertTrue(conn.wait_until(lambda: rec.find(lambda d, m: d == "recv" and m.get("id") == exc.request_id), 5))
                (late,) = rec.find(lambda d, m: d == "recv" and m.get("id") == exc.request_id)
                self.assertEqual(late["error"]["code"], -32800)
                self.assertEqual(late["error"]["data"]["kind"], "RequestCancelled")
                self.assertGreaterEqual(conn.late_responses, 1)
                self.assertEqual(conn.pending_count(), 0)
                self.assertTrue(butler.stored(blob))  # the session is unharmed
                self.assertFalse(os.path.exists(path))  # mode 'move'
            finally:
                conn.trace = None
                if os.path.exists(path):
                    os.unlink(path)
            butler.close()

    @unittest.skipUnless(POSIX, "uses SIGSTOP")
    def test_future_cancel_sends_cancel_request(self):
        with tu.spawn() as client:
            conn = client.connection
            rec = Recorder()
            conn.trace = rec
            os.kill(conn.pid, signal.SIGSTOP)  # nothing can be answered meanwhile
            try:
                fut = conn.request_async("server/ping")
                self.assertTrue(fut.cancel())
                self.assertTrue(fut.cancelled())
                with self.assertRaises(TimeoutError):
                    conn.request("server/stats", timeout=0.05)
            finally:
                os.kill(conn.pid, signal.SIGCONT)
            cancelled = [m["params"]["id"] for m in rec.find(lambda d, m: m.get("method") == "$/cancelRequest")]
            self.assertEqual(cancelled[0], fut.request_id)
            self.assertEqual(len(cancelled), 2)
            self.assertIn("uptimeMs", client.ping())  # the late answers are dropped, the connection goes on
            conn.trace = None


class SidecarDeathTest(unittest.TestCase):
    @unittest.skipUnless(POSIX, "uses signals")
    def test_killed_mid_call_fails_pending_requests_with_sidecar_died(self):
        client = tu.spawn(args=["--log-level=info"])
        conn = client.connection
        butler = tu.open_q1(client)
        os.kill(conn.pid, signal.SIGSTOP)  # the calls below stay pending
        results = {}

        def blocked_get():
            try:
                results["get"] = butler.get(tu.input_refs()[0])
            except BaseException as exc:
                results["get"] = exc

        t = threading.Thread(target=blocked_get)
        t.start()
        ping = conn.request_async("server/ping")
        self.assertTrue(conn.wait_until(lambda: conn.pending_count() == 2, 5))
        os.kill(conn.pid, signal.SIGKILL)
        t.join(10)
        self.assertFalse(t.is_alive())
        exc = results["get"]
        self.assertIsInstance(exc, SidecarDied)
        self.assertIsInstance(exc, ConnectionError)
        self.assertEqual(exc.returncode, -signal.SIGKILL)
        self.assertEqual(exc.method, "butler/get")
        self.assertIn("killed by signal 9", str(exc))
        self.assertIn('"initialized"', exc.stderr_tail)  # the tail of the sidecar's stderr
        with self.assertRaises(SidecarDied) as cm:
            ping.result(10)
        self.assertEqual(cm.exception.method, "server/ping")
        # Later calls fail at once; close() does not hang and reports the code.
        start = time.monotonic()
        with self.assertRaises(SidecarDied):
            client.ping()
        with self.assertRaises(SidecarDied):
            butler.put({"data": 1}, tu.output_refs()[0])
        self.assertEqual(client.close(), -signal.SIGKILL)
        self.assertLess(time.monotonic() - start, 5)

    def test_sidecar_exiting_on_its_own_is_reported(self):
        client = tu.spawn()
        conn = client.connection
        conn.notify("exit")  # exit without shutdown: the sidecar leaves with code 1
        self.assertEqual(conn.wait(10), 1)
        with self.assertRaises(SidecarDied) as cm:
            client.ping()
        self.assertEqual(cm.exception.returncode, 1)
        self.assertIn("exited with code 1", str(cm.exception))
        self.assertEqual(client.close(), 1)


class CleanStdoutTest(unittest.TestCase):
    def test_stdout_carries_only_frames(self):
        with tu.spawn(args=["--log-level=debug"]) as client:
            conn = client.connection
            butler = tu.open_q1(client, notifications=["provenance", "progress"])
            butler.stored_many(tu.input_refs())
            for r in tu.input_refs():
                butler.get(r)
            for r in tu.output_refs():
                butler.put({"data": "😀 ✓ ü " + "x" * tu.detector(r) * 1000}, r)
            with self.assertRaises(FileNotFoundError):
                butler.get(tu.missing_refs()[0])
            butler.close()
            client.stats()
            self.assertEqual(conn.junk_bytes, 0)
            self.assertGreater(conn.frames_received, 15)
            self.assertIn('"level"', conn.stderr_tail())  # logs went to stderr

    def test_raw_bytes_are_well_framed(self):
        """Read the sidecar's whole stdout as bytes and check it is frames end to end."""
        msgs = [
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "1.0", "processId": None}},
            {"jsonrpc": "2.0", "method": "initialized", "params": {}},
            {"jsonrpc": "2.0", "id": 2, "method": "session/open", "params": {"quantum": tu.q1(), "sessionId": "s1"}},
            {"jsonrpc": "2.0", "id": 3, "method": "butler/put", "params": {"sessionId": "s1", "ref": tu.output_refs()[0], "payload": {"encoding": "json", "value": {"t": "ünï 😀"}}}},
            {"jsonrpc": "2.0", "id": 4, "method": "butler/get", "params": {"sessionId": "s1", "ref": {"id": tu.output_refs()[0]["id"]}}},
            {"jsonrpc": "2.0", "id": 5, "method": "shutdown"},
            {"jsonrpc": "2.0", "method": "exit"},
        ]
        stdin = b"".join(frame(encode_message(m)) + encode_message(m) for m in msgs)
        # stdin stays open until the sidecar has processed `exit` (closing it right after
        # writing makes the sidecar drop the requests it has not handled yet).
        proc = subprocess.Popen(
            [default_node_path(), tu.CLI, "--stdio", "--log-level=debug"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out = {}
        readers = [
            threading.Thread(target=lambda: out.__setitem__("stdout", proc.stdout.read())),
            threading.Thread(target=lambda: out.__setitem__("stderr", proc.stderr.read())),
        ]
        for t in readers:
            t.start()
        try:
            proc.stdin.write(stdin)
            proc.stdin.flush()
            code = proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdin.close()
            for t in readers:
                t.join(10)
            proc.stdout.close()
            proc.stderr.close()
        stdout, stderr = out["stdout"], out["stderr"]
        self.assertEqual(code, 0, stderr.decode(errors="replace"))
        self.assertTrue(stdout.startswith(b"Content-Length: "))
        junk = []
        stream = io.BytesIO(stdout)
        bodies = []
        while True:
            body = read_frame(stream, junk.append)
            if body is None:
                break
            bodies.append(json.loads(body.decode("utf-8")))
        self.assertEqual(junk, [])
        self.assertEqual(stream.tell(), len(stdout))  # nothing after the last frame
        responses = {m["id"]: m for m in bodies if "id" in m and "method" not in m}
        self.assertEqual(sorted(responses), [1, 2, 3, 4, 5])
        self.assertEqual(responses[4]["result"]["payload"], {"encoding": "json", "value": {"t": "ünï 😀"}})
        self.assertIsNone(responses[5]["result"])
        self.assertTrue(any(m.get("method") == "butler/provenance" for m in bodies))
        self.assertIn(b'"level"', stderr)



class MessageLimitTest(unittest.TestCase):
    """--max-message-bytes: a message over it is refused from its header (MessageTooLargeError),
    and put() sends a value within maxInlineBytes that escapes past it as a file instead."""

    def test_over_the_message_limit(self):
        from quantum_butler import MessageTooLargeError

        with tu.spawn(args=["--max-inline-bytes=4096", "--max-message-bytes=3000"]) as client:
            out = tu.ref("note", 1, storage_class="Text")
            butler = QuantumBackedButler.from_predicted(client, [], [out], notifications=[])
            with self.assertRaises(MessageTooLargeError) as caught:
                butler.put_payload({"encoding": "text", "text": "x" * 3500}, out)
            self.assertEqual(caught.exception.data["details"]["maxMessageBytes"], 3000)
            text = "\n" * 2000  # 2000 bytes, 4000 once escaped in JSON
            butler.put(text, out)
            self.assertEqual(butler.get(out), text)
            butler.close()


if __name__ == "__main__":
    unittest.main()
