"""Connection lifecycle, framing, concurrency, notifications and stderr, against the real CLI."""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import io
import json
import logging
import os
import pathlib
import tempfile
import threading
import time
import unittest
import uuid
from unittest import mock

import qb_testutil as tu
from quantum_butler import (
    Client,
    Connection,
    InvalidParamsError,
    MethodNotFoundError,
    QuantumButlerError,
    SidecarDied,
    default_cli_path,
)
from quantum_butler.errors import ProtocolError
from quantum_butler.rpc import encode_message, frame, json_default, message_decoder, read_frame


def setUpModule():
    tu.require_cli()


class FramingTest(unittest.TestCase):
    """The framing functions on their own, without a process."""

    def test_header_is_the_utf8_byte_length(self):
        body = encode_message({"jsonrpc": "2.0", "method": "x", "params": {"text": "héllo ✓ 😀"}})
        self.assertIn("😀".encode("utf-8"), body)  # ensure_ascii=False: raw UTF-8, not \\u escapes
        self.assertEqual(frame(body), b"Content-Length: %d\r\n\r\n" % len(body))
        self.assertGreater(len(body), len(body.decode("utf-8")))

    def test_read_frame_is_case_insensitive_and_ignores_other_headers(self):
        b1 = '{"a":"ü"}'.encode("utf-8")
        b2 = b'{"b":2}'
        stream = io.BytesIO(
            b"content-length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" % len(b1)
            + b1
            + b"CONTENT-LENGTH:%d\r\n\r\n" % len(b2)
            + b2
        )
        self.assertEqual(read_frame(stream), b1)
        self.assertEqual(read_frame(stream), b2)
        self.assertIsNone(read_frame(stream))

    def test_read_frame_skips_junk_and_detects_short_reads(self):
        junk = []
        stream = io.BytesIO(b"stray output\n\r\nContent-Length: 2\r\n\r\n{}Content-Length: 10\r\n\r\n{}")
        self.assertEqual(read_frame(stream, junk.append), b"{}")
        self.assertEqual(len(junk), 2)
        self.assertIsNone(read_frame(stream, junk.append))  # body shorter than announced: EOF

    def test_bad_content_length_is_a_protocol_error(self):
        with self.assertRaises(ProtocolError):
            read_frame(io.BytesIO(b"Content-Length: nope\r\n\r\n"))

    def test_nan_is_refused_before_sending(self):
        with self.assertRaises(ValueError):
            encode_message({"x": float("nan")})

    def test_encode_message_writes_what_json_dumps_writes_with_the_wire_options(self):
        class Colour(enum.Enum):
            RED = "red"

        @dataclasses.dataclass
        class Point:
            x: int
            y: float

        msgs = [
            {"jsonrpc": "2.0", "id": 7, "method": "butler/stored", "params": {"sessionId": "s", "ref": {"id": "d"}}},
            {"jsonrpc": "2.0", "method": "x", "params": {"text": "héllo ✓ 😀 \" \\ \n \u0001", "n": [1, -2, 3.5, 1e300, 10**30, True, None]}},
            {"u": uuid.UUID(int=5), "t": datetime.datetime(2026, 1, 2, 3, 4, 5), "s": {3, 1, 2}, "d": decimal.Decimal("1.5"),
             "e": Colour.RED, "p": Point(1, 2.5), "path": pathlib.PurePosixPath("/tmp/x"), 3: "int key"},
        ]
        for msg in msgs:
            expected = json.dumps(msg, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=json_default).encode("utf-8")
            self.assertEqual(encode_message(msg), expected)
        looped: dict = {}
        looped["self"] = looped
        with self.assertRaisesRegex(ValueError, "Circular"):
            encode_message(looped)
        with self.assertRaises(TypeError):
            encode_message({"x": object()})
        with self.assertRaises(ValueError):
            encode_message({"x": [float("inf")]})
        # A failed encoding leaves nothing behind: the same objects encode afterwards.
        inner = {"a": 1}
        with self.assertRaises(TypeError):
            encode_message({"inner": inner, "bad": object()})
        self.assertEqual(encode_message({"inner": inner, "again": inner}), b'{"inner":{"a":1},"again":{"a":1}}')

    def test_encode_message_refuses_loops_and_takes_deep_and_shared_values_on_any_thread(self):
        # One encoder without circular-reference markers serves every call: a loop still fails as
        # json fails, also one through json_default, and a value nested deep but without a loop
        # still encodes.
        class Loop:
            def model_dump(self, mode: str = "json"):
                return self

        with self.assertRaisesRegex(ValueError, "Circular"):
            encode_message({"x": [Loop()]})
        deep: list = []
        for _ in range(200):
            deep = [deep]
        self.assertEqual(encode_message({"d": deep}), b'{"d":' + b"[" * 201 + b"]" * 201 + b"}")

        # Threads encoding one shared object at once, each switching threads inside the encoding
        # (model_dump sleeps): a shared encoder with markers would see the others' work as a loop.
        class Slow:
            def model_dump(self, mode: str = "json"):
                time.sleep(0.001)
                return {"slow": True}

        shared = {"value": {"payload": "x" * 100}, "slow": [Slow(), Slow()]}
        expected = b'{"jsonrpc":"2.0","params":{"value":{"payload":"' + b"x" * 100 + b'"},"slow":[{"slow":true},{"slow":true}]}}'
        results: list = []

        def encode() -> None:
            for _ in range(20):
                try:
                    results.append(encode_message({"jsonrpc": "2.0", "params": shared}))
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    results.append(exc)

        threads = [threading.Thread(target=encode) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [expected] * 80)

    def test_message_decoder_reads_what_json_loads_reads_and_refuses_what_it_refuses(self):
        decode = message_decoder()
        good = [b'{"jsonrpc":"2.0","id":1,"result":{"stored":false}}', b' {"a": [1, 2.5, -3e-2, null, true]}\r\n', b"[]", b'"x"', b"12",
                '{"t":"héllo ✓ 😀","e":"\\u00e9\\ud83d\\ude00"}'.encode("utf-8"), b'{"n":NaN,"i":-Infinity,"big":123456789012345678901234567890}',
                b'{"a":1,"a":2}']
        for body in good:
            got, expected = decode(body), json.loads(body.decode("utf-8"))
            self.assertEqual(repr(got), repr(expected), body)
        for body in (b"", b"   ", b'{"a":1}x', b'{"a":1} {"b":2}', b"{", b'{"a":"\x01"}', b"{'a':1}", b"[1,]"):
            with self.assertRaises(ValueError) as caught:
                decode(body)
            with self.assertRaises(ValueError) as plain:
                json.loads(body.decode("utf-8"))
            self.assertEqual(str(caught.exception), str(plain.exception), body)
        with self.assertRaises(UnicodeDecodeError):
            decode(b'{"a":"\xff"}')
        # Two decoders (the reader's and the dispatcher's) do not share state.
        other = message_decoder()
        self.assertEqual((decode(b'{"x":1}'), other(b'{"x":2}')), ({"x": 1}, {"x": 2}))

    def test_default_cli_path(self):
        self.assertEqual(default_cli_path(), tu.CLI)
        self.assertTrue(tu.CLI.endswith(os.path.join("dist", "src", "cli.js")))
        with mock.patch.dict(os.environ, {"QUANTUM_BUTLER_CLI": "/somewhere/cli.js"}):
            self.assertEqual(default_cli_path(), "/somewhere/cli.js")


class LifecycleTest(unittest.TestCase):
    def test_initialize_ping_stats_and_clean_close(self):
        client = tu.spawn()
        conn = client.connection
        try:
            init = client.initialize_result
            self.assertEqual(init["protocolVersion"], "1.0")
            self.assertEqual(init["serverInfo"]["name"], "quantum-butler")
            caps = init["capabilities"]
            self.assertEqual(caps["payloadEncodings"], ["json", "text", "base64", "file"])
            self.assertIn("provenance", caps["notificationStreams"])
            self.assertIn("daf_butler", caps["provenanceFormats"])
            self.assertEqual(client.max_inline_bytes, caps["maxInlineBytes"])
            pong = client.ping()
            self.assertIsInstance(pong["uptimeMs"], (int, float))
            self.assertIn("time", pong)
            client.ping()
            stats = client.stats()
            self.assertEqual(stats["methods"]["server/ping"]["count"], 2)
            self.assertGreaterEqual(stats["requests"], 3)
            self.assertGreater(stats["bytesIn"], 100)
            self.assertTrue(conn.alive)
        finally:
            code = client.close()
        self.assertEqual(code, 0)
        self.assertFalse(conn.alive)
        self.assertEqual(client.close(), 0)  # idempotent
        with self.assertRaises(SidecarDied):
            client.ping()

    def test_context_manager_and_a_connection_alone(self):
        with Connection(timeout=20) as conn:
            self.assertEqual(conn.initialize_result["protocolVersion"], "1.0")
            self.assertIn("uptimeMs", conn.ping())
        self.assertEqual(conn.returncode, 0)

    def test_protocol_errors_are_mapped(self):
        with tu.spawn() as client:
            with self.assertRaises(MethodNotFoundError) as cm:
                client.request("butler/teleport", {})
            self.assertEqual(cm.exception.code, -32601)
            with self.assertRaises(InvalidParamsError) as cm:
                client.request("butler/get", {"sessionId": 7})
            self.assertIsInstance(cm.exception, ValueError)
            self.assertEqual(cm.exception.kind, "InvalidParams")
            self.assertIsInstance(cm.exception.data.get("issues"), list)
            with self.assertRaises(QuantumButlerError) as cm:
                client.request("initialize", {"protocolVersion": "1.0"})
            self.assertEqual(cm.exception.kind, "AlreadyInitialized")
            self.assertIn("uptimeMs", client.ping())  # still fine

    def test_many_threads_share_one_connection(self):
        with tu.spawn() as client:
            errors = []
            results = []

            def work():
                try:
                    for _ in range(25):
                        results.append(client.ping()["uptimeMs"])
                except Exception as exc:  # pragma: no cover - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=work) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(20)
            self.assertEqual(errors, [])
            self.assertEqual(len(results), 200)
            self.assertEqual(client.connection.pending_count(), 0)
            self.assertEqual(client.stats()["methods"]["server/ping"]["count"], 200)

    def test_notifications_run_on_a_dispatcher_thread_that_never_blocks_the_reader(self):
        with tu.spawn() as client:
            release = threading.Event()
            seen = []

            def slow(event):
                seen.append((threading.current_thread().name, event["seq"]))
                release.wait(10)

            client.on_provenance(slow)
            butler = tu.open_q1(client)
            butler.stored(tu.input_refs()[0])  # one provenance event; its callback now blocks
            butler.stored(tu.input_refs()[1])  # responses still arrive while it is blocked
            start = time.monotonic()
            self.assertIn("uptimeMs", client.ping())
            self.assertLess(time.monotonic() - start, 5)
            release.set()
            client.flush_notifications()
            self.assertEqual([s for _, s in seen], [1, 2])
            self.assertTrue(all(name == "quantum-butler-dispatch" for name, _ in seen))
            butler.close()

    def test_a_failing_callback_does_not_stop_delivery(self):
        with tu.spawn() as client:
            got = []

            def bad(_event):
                raise RuntimeError("callback bug")

            off = client.on_provenance(bad)
            client.on_provenance(got.append)
            butler = tu.open_q1(client)
            with self.assertLogs("quantum_butler", level="ERROR") as logs:
                butler.stored(tu.input_refs()[0])
                client.flush_notifications()
            self.assertIn("callback bug", "\n".join(logs.output))
            off()
            butler.stored(tu.input_refs()[1])
            client.flush_notifications()
            self.assertEqual([e["seq"] for e in got], [1, 2])
            butler.close()


class StderrTest(unittest.TestCase):
    def test_stderr_is_drained_into_a_bounded_buffer_and_forwarded(self):
        logger = logging.getLogger("quantum_butler.test.sidecar")
        logger.propagate = False
        records = []

        class Collect(logging.Handler):
            def emit(self, record):
                records.append(record)

        handler = Collect(level=logging.DEBUG)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        try:
            client = tu.spawn(args=["--log-level=debug"], stderr_logger=logger, stderr_limit=2048)
            for _ in range(50):
                client.ping()
            butler = client.open_session(quantum=tu.q1())
            butler.close()  # inputs never checked: the sidecar logs a warning
            self.assertTrue(client.connection.wait_until(lambda: any(r.levelno == logging.WARNING for r in records), 5))
            tail = client.connection.stderr_tail()
            self.assertLessEqual(len(tail.encode()), 2048 + 4096)  # bounded (whole lines are kept)
            self.assertIn('"level"', tail)
            self.assertEqual(client.close(), 0)
        finally:
            logger.removeHandler(handler)
        self.assertTrue(any("initialized" in r.getMessage() for r in records))

    def test_missing_cli_says_to_build(self):
        with self.assertRaises(FileNotFoundError) as cm:
            Connection("/nonexistent/quantum-butler/cli.js")
        self.assertIn("npm run build", str(cm.exception))

    def test_a_sidecar_that_dies_at_startup_reports_its_exit_code_and_stderr(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad-cli.js")
            with open(path, "w") as f:
                f.write('process.stderr.write("bad sidecar: cannot start\\n"); process.exit(3);\n')
            with self.assertRaises(SidecarDied) as cm:
                Client(cli_path=path, timeout=20)
        exc = cm.exception
        self.assertIsInstance(exc, ConnectionError)
        self.assertEqual(exc.returncode, 3)
        self.assertEqual(exc.method, "initialize")
        self.assertIn("bad sidecar: cannot start", exc.stderr_tail)
        self.assertIn("exited with code 3", str(exc))
        self.assertIn("bad sidecar: cannot start", str(exc))


if __name__ == "__main__":
    unittest.main()
