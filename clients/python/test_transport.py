"""The reader's frame buffer and the reader→dispatcher hand-over, on their own (real pipes and
threads, no sidecar), plus the ordering the connection promises on top of them."""
from __future__ import annotations

import os
import threading
import time
import tracemalloc
import unittest

import qb_testutil as tu
from quantum_butler.errors import ProtocolError
from quantum_butler.framing import FrameReader
from quantum_butler.handover import HandOver
from quantum_butler.rpc import frame, read_frame


def _writing(chunks):
    """A pipe's read end, and the thread writing ``chunks`` to it one write at a time (with
    pauses, so reads see them separately) and then closing it."""
    r, w = os.pipe()

    def write():
        for c in chunks:
            os.write(w, c)
            time.sleep(0.002)
        os.close(w)

    t = threading.Thread(target=write)
    t.start()
    return r, t


def _frames_from(chunks, before_block=None, on_junk=None):
    """Write ``chunks`` to a pipe (see _writing) and read frames from it until EOF."""
    r, t = _writing(chunks)
    reader = FrameReader(r, read_frame, before_block)
    out = []
    try:
        while True:
            body = reader.frame(on_junk)
            if body is None:
                break
            out.append(body)
    finally:
        t.join()
        os.close(r)
    return out


class FrameReaderTest(unittest.TestCase):
    def test_many_frames_in_one_read_and_one_frame_over_many_reads(self):
        bodies = [b'{"i":%d}' % i for i in range(50)] + [b'{"big":"' + b"x" * 300000 + b'"}']
        data = b"".join(frame(b) + b for b in bodies)
        self.assertEqual(_frames_from([data]), bodies)
        # Split at every awkward place: inside the header name, the length, the blank line, the body.
        cuts = [3, 17, 19, 21, 22, 40, 41, 1000, 5000]
        pieces, last = [], 0
        for c in cuts:
            pieces.append(data[last:c])
            last = c
        pieces.append(data[last:])
        self.assertEqual(_frames_from(pieces), bodies)

    def test_other_headers_and_spellings_take_read_frames_rules(self):
        b1, b2, b3 = b'{"a":1}', b'{"b":2}', b'{"c":3}'
        data = (
            b"content-length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" % len(b1) + b1
            + b"Content-Length: %d\r\nX-Other: 1\r\n\r\n" % len(b2) + b2
            + frame(b3) + b3
        )
        self.assertEqual(_frames_from([data]), [b1, b2, b3])

    def test_junk_between_frames_is_reported_and_skipped(self):
        junk = []
        data = b"stray output\n" + frame(b"{}") + b"{}" + b"more junk\n" + frame(b"[]") + b"[]"
        self.assertEqual(_frames_from([data], on_junk=junk.append), [b"{}", b"[]"])
        self.assertEqual(junk, [b"stray output\n", b"more junk\n"])

    def test_a_short_body_is_eof_and_a_bad_length_is_a_protocol_error(self):
        self.assertEqual(_frames_from([frame(b"{}") + b"{}" + b"Content-Length: 10\r\n\r\n{}"]), [b"{}"])
        with self.assertRaises(ProtocolError):
            _frames_from([b"Content-Length: nope\r\n\r\n{}"])
        with self.assertRaises(ProtocolError):
            _frames_from([b"Content-Length: -2\r\n\r\n{}"])

    def test_before_block_runs_only_when_the_buffer_holds_no_whole_frame(self):
        calls = []
        got = []
        r, w = os.pipe()
        os.write(w, b"".join(frame(b) + b for b in (b"1", b"2", b"3")))
        reader = FrameReader(r, read_frame, lambda: calls.append(len(got)))
        for _ in range(3):
            got.append(reader.frame())
        os.close(w)
        self.assertIsNone(reader.frame())
        os.close(r)
        # Once before the first read, then not again until all three frames were taken.
        self.assertEqual(calls, [0, 3])

    def test_a_read_fills_the_readers_own_buffer_not_a_new_chunk_sized_object(self):
        # os.read(fd, 256 KiB) allocates 256 KiB for every read, however little arrives (the
        # allocator maps and unmaps it: three system calls beside the read). Small messages read
        # one at a time must not allocate more than a few KiB at any moment.
        r, w = os.pipe()
        reader = FrameReader(r, read_frame)
        bodies = [b'{"i":%d,"pad":"%s"}' % (i, b"x" * 200) for i in range(50)]
        tracemalloc.start()
        try:
            got = []
            for body in bodies:
                os.write(w, frame(body) + body)
                got.append(reader.frame())
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            os.close(w)
            os.close(r)
        self.assertEqual(got, bodies)
        self.assertLess(peak, 64 * 1024)


class FrameBatchTest(unittest.TestCase):
    """``FrameReader.frames()``, what the connection's reader calls: the whole frames of a chunk in one call."""

    def _batches(self, chunks, on_junk=None):
        r, t = _writing(chunks)
        reader = FrameReader(r, read_frame)
        out = []
        try:
            while True:
                batch = reader.frames(on_junk)
                if batch is None:
                    break
                self.assertTrue(batch)  # never an empty batch
                out.append(batch)
        finally:
            t.join()
            os.close(r)
        return out

    def test_the_frames_of_one_read_come_in_one_batch_in_order(self):
        bodies = [b'{"i":%d}' % i for i in range(50)]
        data = b"".join(frame(b) + b for b in bodies)
        self.assertEqual(self._batches([data]), [bodies])

    def test_frames_split_anywhere_or_with_other_headers_and_junk_come_whole_and_in_order(self):
        bodies = [b'{"i":%d}' % i for i in range(20)] + [b'{"big":"' + b"x" * 300000 + b'"}', b"{}"]
        data = b"".join(frame(b) + b for b in bodies)
        for cuts in ([3, 17, 19, 21, 22, 40, 41, 1000, 5000], list(range(1, 300, 7))):
            pieces, last = [], 0
            for c in cuts:
                pieces.append(data[last:c])
                last = c
            pieces.append(data[last:])
            self.assertEqual([b for batch in self._batches(pieces) for b in batch], bodies)
        b1, b2 = b'{"a":1}', b'{"b":2}'
        junk = []
        odd = frame(b"[]") + b"[]" + b"stray output\n" + b"content-length: %d\r\nX-Other: 1\r\n\r\n" % len(b1) + b1 + frame(b2) + b2
        self.assertEqual([b for batch in self._batches([odd], junk.append) for b in batch], [b"[]", b1, b2])
        self.assertEqual(junk, [b"stray output\n"])

    def test_a_batch_never_waits_for_more_of_the_pipe(self):
        # A frame completed by a read is returned with what that read brought whole, at once,
        # even though the pipe stays open (the reader must not block holding answers).
        r, w = os.pipe()
        reader = FrameReader(r, read_frame)
        a, b = b'{"a":1}', b'{"b":2}'
        whole = frame(a) + a + frame(b) + b
        os.write(w, whole[:5])
        done = []
        t = threading.Thread(target=lambda: done.append(reader.frames()))
        t.start()
        time.sleep(0.05)
        os.write(w, whole[5:])
        t.join(5)
        try:
            self.assertEqual(done, [[a, b]])
        finally:
            os.close(w)
            os.close(r)


class HandOverTest(unittest.TestCase):
    def test_items_arrive_in_order_and_no_wake_is_lost(self):
        for linger in (0.0, 0.0005):  # without and with the consumer lingering between takes
            with self.subTest(linger=linger):
                self._order_and_no_lost_wake(linger)

    def _order_and_no_lost_wake(self, linger):
        h = HandOver()
        n = 20000
        got = []
        done = threading.Event()

        def consume():
            while len(got) < n:
                got.extend(h.take(linger))
            done.set()

        t = threading.Thread(target=consume)
        t.start()
        for i in range(n):
            if i % 3 == 0:
                h.put(i)
            else:
                h.add(i)  # woken later, or by the next put
                if i % 7 == 0:
                    h.wake()
        h.wake()
        self.assertTrue(done.wait(20), "the consumer slept with items queued (%d of %d taken)" % (len(got), n))
        t.join()
        self.assertEqual(got, list(range(n)))

    def test_added_items_wait_for_wake(self):
        h = HandOver()
        got = []
        t = threading.Thread(target=lambda: got.extend(h.take()))
        t.start()
        time.sleep(0.05)  # the consumer is asleep
        h.add("a")
        h.add("b")
        time.sleep(0.05)
        self.assertEqual(got, [])  # added, not woken
        h.wake()
        t.join(5)
        self.assertEqual(got, ["a", "b"])  # both taken at one wake


    def test_a_lingering_consumer_is_not_woken_by_the_reader_but_by_a_put(self):
        # take(linger): the reader's wake() leaves a lingering consumer alone (its items wait
        # for the linger to end); put() (a barrier, a deferred call, the stop item) ends it.
        h = HandOver()
        h.add("first")
        h.wake()
        self.assertEqual(h.take(), ["first"])
        got, taken = [], threading.Event()

        def consume():
            got.extend(h.take(30.0))  # lingers: 30 s unless something is put
            taken.set()

        t = threading.Thread(target=consume)
        t.start()
        time.sleep(0.05)  # the consumer lingers
        for item in ("a", "b", "c"):
            h.add(item)
            h.wake()
        time.sleep(0.1)
        self.assertEqual(got, [])  # the reader's wakes did not end the linger
        h.put("barrier")
        self.assertTrue(taken.wait(10), "a put did not end the linger")
        t.join(5)
        self.assertEqual(got, ["a", "b", "c", "barrier"])  # in order, in one take

    def test_a_put_just_before_the_linger_begins_is_not_held_by_it(self):
        h = HandOver()
        h.put("x")  # put before take(linger): take must not pause for it
        got = []
        t = threading.Thread(target=lambda: got.extend(h.take(30.0)))
        t.start()
        t.join(10)
        self.assertFalse(t.is_alive(), "take(linger) paused although something was put")
        self.assertEqual(got, ["x"])

class OrderingTest(unittest.TestCase):
    """docs/protocol/sessions.md: a call's events are written before its response, in seq
    order; the README: after a request returns, flush_notifications() has delivered them."""

    def setUp(self):
        tu.require_cli()

    def _flush_after_each_call_delivers_its_events(self, client, calls):
        """``calls`` calls, each followed by flush_notifications(): its events, and only
        those, have then reached the callback, in seq order, on the dispatcher thread."""
        seen = []
        threads = set()

        def on_event(event):
            threads.add(threading.current_thread().name)
            seen.append(event["seq"])

        client.on_provenance(on_event)
        butler = tu.open_q1(client)
        ref = tu.input_refs()[0]
        for i in range(1, calls + 1):
            butler.stored(ref)
            self.assertTrue(client.flush_notifications(10), "flush timed out")
            self.assertEqual(seen, list(range(1, i + 1)))
        self.assertEqual(threads, {"quantum-butler-dispatch"})
        butler.close()

    def test_after_each_call_flush_delivers_exactly_its_events_in_seq_order(self):
        with tu.spawn() as client:
            self._flush_after_each_call_delivers_its_events(client, 200)

    def test_flush_and_close_end_a_long_dispatch_linger(self):
        # With a 30 s linger the dispatcher, once woken, is not woken again by the reader for
        # 30 s: flush_notifications() (a barrier put) must end the linger, each time, with every
        # event delivered in order on the dispatcher thread; close() must not wait for it either.
        client = tu.spawn(dispatch_linger=30.0)
        try:
            self._flush_after_each_call_delivers_its_events(client, 50)
        finally:
            client.close()  # joins the dispatcher for at most 2 s: the stop item ended the linger
            self.assertFalse(client.connection._dispatcher.is_alive())

    def test_a_negative_or_nan_dispatch_linger_is_refused_before_the_sidecar_starts(self):
        for bad in (-0.001, float("nan")):
            with self.assertRaisesRegex(ValueError, "dispatch_linger must be a number of seconds >= 0"):
                tu.spawn(dispatch_linger=bad)

    def test_pipelined_batches_are_delivered_in_seq_order_without_a_trace_hook(self):
        # Without a trace hook the reader hands a batch over unparsed; the dispatcher parses it,
        # the runs of those it takes at once as one array when each is laid out as the sidecar
        # writes it (rpc._RUNS_HEAD + runs + rpc._RUNS_TAIL; another layout would still be
        # delivered, body by body, at a higher cost per event).
        from quantum_butler import rpc

        with tu.spawn() as client:
            conn = client.connection
            self.assertIsNone(conn.trace)
            taken = []
            deliver = conn._deliver_raw_batches
            conn._deliver_raw_batches = lambda decode, bodies: (taken.extend(bodies), deliver(decode, bodies))
            seen = []
            client.on_provenance(lambda e: seen.append(e["seq"]))
            butler = tu.open_q1(client)
            ref = {"id": tu.input_refs()[0]["id"]}
            futures = [conn.request_async("butler/stored", {"sessionId": butler.session_id, "ref": ref}) for _ in range(300)]
            for f in futures:
                self.assertTrue(f.result(timeout=30)["stored"])
            self.assertTrue(client.flush_notifications(10))
            self.assertEqual(seen, list(range(1, 301)))
            self.assertTrue(taken)
            for body in taken:
                self.assertTrue(body.startswith(rpc._RUNS_HEAD) and body.endswith(rpc._RUNS_TAIL), body[:200])
            butler.close()

    def test_reader_thread_listeners_have_a_calls_events_when_it_returns(self):
        # Opt-in (on_reader_thread=True): no hand-over, so no flush is needed; the
        # dispatcher-thread listener registered beside it still gets every event.
        with tu.spawn() as client:
            conn = client.connection
            inline, threads, dispatched = [], set(), []

            def on_event(event):
                threads.add(threading.current_thread().name)
                inline.append(event["seq"])

            off = conn.on_notification("butler/provenance", on_event, on_reader_thread=True)
            client.on_provenance(lambda e: dispatched.append(e["seq"]))
            butler = tu.open_q1(client)
            ref = tu.input_refs()[0]
            for i in range(1, 101):
                butler.stored(ref)
                self.assertEqual(inline, list(range(1, i + 1)))  # no flush_notifications()
            futures = [conn.request_async("butler/stored", {"sessionId": butler.session_id, "ref": {"id": ref["id"]}}) for _ in range(100)]
            for f in futures:
                f.result(timeout=30)
            self.assertEqual(inline, list(range(1, 201)))
            self.assertEqual(threads, {"quantum-butler-reader"})
            self.assertTrue(client.flush_notifications(10))
            self.assertEqual(dispatched, list(range(1, 201)))
            off()
            butler.stored(ref)
            client.flush_notifications()
            self.assertEqual(len(inline), 200)
            self.assertEqual(len(dispatched), 201)
            butler.close()

    def test_adding_and_removing_listeners_while_events_are_delivered(self):
        # A callback registered twice runs twice and each remover removes one registration; one
        # that removes itself still gets the rest of the batch being delivered (the listeners of
        # the moment delivery started) and nothing after it; one added by a callback gets the
        # next batch, not the rest of this one.
        with tu.spawn() as client:
            conn = client.connection
            butler = tu.open_q1(client)
            twice, any_seen, late, removed = [], [], [], []
            offs = [conn.on_notification("butler/provenance", twice.append) for _ in range(2)]
            off_any = conn.on_any_notification(lambda method, params: any_seen.append(method))

            def remove_me(event):
                removed.append(event["seq"])
                off_self()
                if len(removed) == 1:
                    conn.on_notification("butler/provenance", late.append)

            off_self = conn.on_notification("butler/provenance", remove_me)
            ref = {"id": tu.input_refs()[0]["id"]}
            futures = [conn.request_async("butler/stored", {"sessionId": butler.session_id, "ref": ref}) for _ in range(50)]
            for f in futures:
                f.result(timeout=30)
            self.assertTrue(client.flush_notifications(10))
            self.assertEqual(len(twice), 100)
            self.assertEqual(any_seen.count("butler/provenance"), 50)
            self.assertGreaterEqual(len(removed), 1)  # the rest of its batch, however many that was
            self.assertEqual(removed, [e["seq"] for e in twice[::2][: len(removed)]])
            self.assertEqual([e["seq"] for e in late], [e["seq"] for e in twice[::2]][len(removed):])
            offs[0]()
            off_any()
            off_self()  # removing twice is harmless
            butler.stored(ref)
            self.assertTrue(client.flush_notifications(10))
            self.assertEqual(len(twice), 101)
            self.assertEqual(any_seen.count("butler/provenance"), 50)
            self.assertEqual(len(removed), removed[-1] - removed[0] + 1)
            butler.close()



# A stand-in for the sidecar (run as ``python3 THIS --stdio``): it answers ``initialize`` and
# ``shutdown``, and answers ``test/emit`` by writing the bodies it was given, each framed, followed
# by the answer, all in one write (as the sidecar writes a turn's events before its answer).
_FAKE_SIDECAR = r'''
import json, os, sys
sys.path.insert(0, %r)
from quantum_butler.rpc import frame, read_frame
out = sys.stdout.fileno()
while True:
    body = read_frame(sys.stdin.buffer)
    if body is None:
        break
    msg = json.loads(body)
    if msg.get("id") is None:
        if msg.get("method") == "exit":
            break
        continue
    data = b""
    if msg["method"] == "test/emit":
        for text in msg["params"]["bodies"]:
            data += frame(text.encode()) + text.encode()
    elif msg["method"] == "test/flood":  # many runs bodies: they fill the pipe, and wait for the host to read
        n, per = msg["params"]["bodies"], msg["params"]["events"]
        events = ",".join(['["outputWritten","%%s","calexp"]' %% ("d" * 36)] * per)
        texts = [('{"jsonrpc":"2.0","method":"butler/provenanceRuns","params":{"runs":[{"sessionId":"s","seq":%%d,"time":"t","events":[%%s]}]}}' %% (b * per, events)).encode() for b in range(n)]
        data = b"".join(frame(text) + text for text in texts)
    answer = json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {"capabilities": {}} if msg["method"] == "initialize" else None}).encode()
    data += frame(answer) + answer
    while data:
        data = data[os.write(out, data):]
'''

_BATCH = '{"jsonrpc":"2.0","method":"butler/provenanceBatch","params":%s}'
_RUNS = '{"jsonrpc":"2.0","method":"butler/provenanceRuns","params":%s}'


class RawBatchTest(unittest.TestCase):
    """Without a trace hook the reader queues butler/provenanceBatch bodies unparsed and the
    dispatcher parses those it takes at once as one JSON array; whatever it cannot take that way
    is parsed body by body: every event is delivered once, in order, and a bad body is logged and
    skipped without taking the events around it along."""

    def setUp(self):
        import sys
        import tempfile

        from quantum_butler.rpc import Connection

        here = os.path.dirname(os.path.abspath(__file__))
        fd, self.script = tempfile.mkstemp(suffix=".py")
        with os.fdopen(fd, "w") as f:
            f.write(_FAKE_SIDECAR % here)
        self.conn = Connection(self.script, node=sys.executable, watch_parent=False, timeout=20.0, dispatch_linger=0.05)

    def tearDown(self):
        self.conn.close()
        os.unlink(self.script)

    def _emit(self, bodies):
        self.conn.request("test/emit", {"bodies": bodies})
        self.assertTrue(self.conn.flush_notifications(10))

    def _events(self, *seqs):
        return '{"events":[%s]}' % ",".join('{"seq":%d,"x":"\\u00e9"}' % s for s in seqs)

    def test_runs_of_batches_are_delivered_in_order_with_one_or_more_callbacks(self):
        seen, twice, any_seen = [], [], []
        self.conn.on_notification("butler/provenance", lambda e: seen.append(e["seq"]))
        self._emit([_BATCH % self._events(1, 2), _BATCH % self._events(3), _BATCH % self._events(), _BATCH % self._events(4, 5, 6)])
        self.assertEqual(seen, [1, 2, 3, 4, 5, 6])
        self._emit([_BATCH % self._events(7)])  # a run of one
        self.assertEqual(seen, [1, 2, 3, 4, 5, 6, 7])
        self.conn.on_notification("butler/provenance", lambda e: twice.append(e))
        off_any = self.conn.on_any_notification(lambda method, params: any_seen.append((method, params["seq"])))
        self._emit([_BATCH % self._events(8), _BATCH % self._events(9)])
        self.assertEqual(seen[-2:], [8, 9])
        self.assertEqual(twice, [{"seq": 8, "x": "\u00e9"}, {"seq": 9, "x": "\u00e9"}])
        self.assertEqual(any_seen, [("butler/provenance", 8), ("butler/provenance", 9)])
        off_any()
        self._emit([_BATCH % self._events(10)])
        self.assertEqual((seen[-1], twice[-1]["seq"], len(any_seen)), (10, 10, 2))

    def test_bad_bodies_in_a_run_are_logged_and_skipped_in_order(self):
        seen = []
        self.conn.on_notification("butler/provenance", lambda e: seen.append(e["seq"]))
        bodies = [
            _BATCH % self._events(1),
            _BATCH % "[1,2]",  # params not an object: joined, it would be two array elements
            _BATCH % self._events(2),
            _BATCH.replace("}", ',"extra":1}') % self._events(3),  # params not last: parsed whole, still delivered
            _BATCH % '{"events":[{"seq":4},',  # bad JSON
            _BATCH % '{"events":7}',  # events not a list
            _BATCH % self._events(5, 6),
        ]
        with self.assertLogs("quantum_butler", level="ERROR") as logs:
            self._emit(bodies)
        self.assertEqual(seen, [1, 2, 3, 5, 6])
        self.assertEqual(len(logs.records), 3, [r.getMessage() for r in logs.records])
        self.assertIn("unparsable message", logs.output[1])
        # Bad bodies whose params, joined with the others', would look like good array elements.
        with self.assertLogs("quantum_butler", level="ERROR") as logs:
            self._emit([_BATCH % "[1,2]", _BATCH % self._events(50)])
            self._emit([_BATCH % (self._events(98) + "," + self._events(99)), _BATCH % self._events(51)])
        self.assertEqual(seen[-2:], [50, 51])
        self.assertEqual(len(logs.records), 2, [r.getMessage() for r in logs.records])
        del seen[-2:]
        # One bad body alone, then good ones again.
        with self.assertLogs("quantum_butler", level="ERROR"):
            self._emit([_BATCH % "{"])
        self._emit([_BATCH % self._events(7), _BATCH % self._events(8)])
        self.assertEqual(seen, [1, 2, 3, 5, 6, 7, 8])

    def test_runs_are_rebuilt_as_the_events_they_stand_for_alone_in_a_run_of_bodies_or_parsed_whole(self):
        import json

        seen = []
        self.conn.on_notification("butler/provenance", lambda e: seen.append(list(e.items())))
        run = lambda sid, seq, *events: {"sessionId": sid, "seq": seq, "time": "T", "events": list(events)}
        first = _RUNS % json.dumps({"runs": [run("a", 1, ["inputLoaded", "d1", "raw"], ["outputWritten", "d2", "calexp", {"size": 3, "sha256": "ab"}]), run("b \u2713", 7, ["inputMarkedUnused", "d3", "raw", {"reason": "\u00e9"}])]})
        second = _RUNS % json.dumps({"runs": [run("a", 3, ["inputLoaded", "d4", "raw"])]})
        want = [
            [("sessionId", "a"), ("seq", 1), ("event", "inputLoaded"), ("datasetId", "d1"), ("datasetType", "raw"), ("time", "T")],
            [("sessionId", "a"), ("seq", 2), ("event", "outputWritten"), ("datasetId", "d2"), ("datasetType", "calexp"), ("time", "T"), ("size", 3), ("sha256", "ab")],
            [("sessionId", "b \u2713"), ("seq", 7), ("event", "inputMarkedUnused"), ("datasetId", "d3"), ("datasetType", "raw"), ("time", "T"), ("reason", "\u00e9")],
        ]
        fourth = [("sessionId", "a"), ("seq", 3), ("event", "inputLoaded"), ("datasetId", "d4"), ("datasetType", "raw"), ("time", "T")]
        batch_event = [("seq", 9), ("x", "\u00e9")]
        self._emit([first, _BATCH % self._events(9), second])  # a run of bodies of both forms
        self.assertEqual(seen, want + [batch_event, fourth])
        del seen[:]
        self._emit([first])  # one body
        self.assertEqual(seen, want)
        del seen[:]
        self.conn.trace = lambda direction, msg: None  # now parsed whole, on the reader thread
        try:
            self._emit([second, first])
        finally:
            self.conn.trace = None
        self.assertEqual(seen, [fourth] + want)

    def _compact(self, params):
        """A ``butler/provenanceRuns`` body laid out as the sidecar writes it (JSON.stringify: no spaces)."""
        import json

        return _RUNS % json.dumps(params, separators=(",", ":"), ensure_ascii=False)

    def test_compact_runs_bodies_taken_together_are_delivered_in_order(self):
        # The sidecar's layout: the dispatcher parses the runs of the bodies it takes at once as
        # one array of arrays; any other body among them (another layout, the batch form) sends
        # them all the way each is parsed on its own. The events are the same either way.
        seen, twice, any_seen = [], [], []
        self.conn.on_notification("butler/provenance", lambda e: seen.append(list(e.items())))
        run = lambda sid, seq, *events: {"sessionId": sid, "seq": seq, "time": "T", "events": list(events)}
        first = self._compact({"runs": [run("a", 1, ["inputLoaded", "d1", "raw"], ["outputWritten", "d2", "calexp", {"size": 3, "sha256": "ab"}]), run("b \u2713", 7, ["inputMarkedUnused", "d3", "raw", {"reason": "\u00e9"}])]})
        second = self._compact({"runs": [run("a", 3, ["inputLoaded", "d4", "raw"])]})
        empty = self._compact({"runs": []})
        want = [
            [("sessionId", "a"), ("seq", 1), ("event", "inputLoaded"), ("datasetId", "d1"), ("datasetType", "raw"), ("time", "T")],
            [("sessionId", "a"), ("seq", 2), ("event", "outputWritten"), ("datasetId", "d2"), ("datasetType", "calexp"), ("time", "T"), ("size", 3), ("sha256", "ab")],
            [("sessionId", "b \u2713"), ("seq", 7), ("event", "inputMarkedUnused"), ("datasetId", "d3"), ("datasetType", "raw"), ("time", "T"), ("reason", "\u00e9")],
        ]
        fourth = [("sessionId", "a"), ("seq", 3), ("event", "inputLoaded"), ("datasetId", "d4"), ("datasetType", "raw"), ("time", "T")]
        for bodies, expected in (
            ([first, empty, second], want + [fourth]),
            ([first], want),
            ([second, _BATCH % self._events(9), first], [fourth, [("seq", 9), ("x", "\u00e9")]] + want),
        ):
            del seen[:]
            self._emit(bodies)
            self.assertEqual(seen, expected)
        # More than one callback, and a callback for every notification: each gets every event.
        self.conn.on_notification("butler/provenance", lambda e: twice.append(e["seq"]))
        self.conn.on_any_notification(lambda method, params: any_seen.append((method, params["seq"])))
        del seen[:]
        self._emit([second, first])
        self.assertEqual(seen, [fourth] + want)
        self.assertEqual(twice, [3, 1, 2, 7])
        self.assertEqual(any_seen, [("butler/provenance", s) for s in (3, 1, 2, 7)])

    def test_a_bad_run_is_logged_and_skips_the_rest_of_its_body_not_the_events_before_it(self):
        # Events are delivered as each is rebuilt: those before the bad run in its body have
        # reached the callback, the rest of that body is skipped, and the next bodies follow.
        seen = []
        self.conn.on_notification("butler/provenance", lambda e: seen.append(e["seq"]))
        good = lambda seq, n: {"sessionId": "a", "seq": seq, "time": "T", "events": [["inputLoaded", "d", "raw"]] * n}
        bodies = [
            self._compact({"runs": [good(1, 2), {"sessionId": "a", "seq": 3, "events": [["inputLoaded", "d", "raw"]]}, good(4, 1)]}),  # no time
            self._compact({"runs": [good(5, 1), 7]}),  # a run that is not an object
            self._compact({"runs": [good(6, 2)]}),
        ]
        with self.assertLogs("quantum_butler", level="ERROR") as logs:
            self._emit(bodies)
        self.assertEqual(seen, [1, 2, 5, 6, 7])
        self.assertEqual(len(logs.records), 2, [r.getMessage() for r in logs.records])

    def test_compact_runs_bodies_that_join_into_other_runs_are_parsed_each_on_its_own(self):
        # Bodies that start and end as the sidecar's do but whose runs, joined, would be parsed
        # as something else (a string across two bodies, params with another member) are each
        # parsed whole: bad JSON is logged and skipped, good JSON is delivered.
        seen = []
        self.conn.on_notification("butler/provenance", lambda e: seen.append(e["seq"]))
        one = lambda seq: {"sessionId": "a", "seq": seq, "time": "T", "events": [["inputLoaded", "d", "raw"]]}
        with self.assertLogs("quantum_butler", level="ERROR") as logs:
            self._emit([_RUNS % '{"runs":["a]}', _RUNS % '{"runs":[b"]}', self._compact({"runs": [one(1)]})])
        self.assertEqual(len(logs.records), 2, [r.getMessage() for r in logs.records])
        self._emit([self._compact({"runs": [one(2)], "more": [1]}), self._compact({"runs": [one(3)]})])
        self.assertEqual(seen, [1, 2, 3])

    def test_a_failing_callback_does_not_lose_the_events_after_it(self):
        seen = []

        def cb(event):
            seen.append(event["seq"])
            if event["seq"] % 2:
                raise RuntimeError("odd")

        self.conn.on_notification("butler/provenance", cb)
        with self.assertLogs("quantum_butler", level="ERROR") as logs:
            self._emit([_BATCH % self._events(1, 2, 3), _BATCH % self._events(4, 5)])
        self.assertEqual(seen, [1, 2, 3, 4, 5])
        self.assertEqual(len(logs.records), 3)

    def test_removing_the_last_listener_stops_delivery_and_adding_one_resumes_it(self):
        seen = []
        off = self.conn.on_notification("butler/provenance", lambda e: seen.append(e["seq"]))
        self._emit([_BATCH % self._events(1)])
        off()
        self._emit([_BATCH % self._events(2)])
        self.conn.on_notification("butler/provenance", lambda e: seen.append(e["seq"]))
        self._emit([_BATCH % self._events(3)])
        self.assertEqual(seen, [1, 3])


class BacklogTest(unittest.TestCase):
    """Notifications read and not yet delivered are bounded: past ``notification_backlog`` the
    reader reads no more until the dispatcher catches up, without losing or reordering any, and
    without deadlocking a callback that makes a request or waits for another thread's call."""

    def setUp(self):
        import sys
        import tempfile

        from quantum_butler.rpc import Connection

        here = os.path.dirname(os.path.abspath(__file__))
        fd, self.script = tempfile.mkstemp(suffix=".py")
        with os.fdopen(fd, "w") as f:
            f.write(_FAKE_SIDECAR % here)
        self.conn = Connection(self.script, node=sys.executable, watch_parent=False, timeout=60.0, notification_backlog=64 * 1024)

    def tearDown(self):
        self.conn.close()
        os.unlink(self.script)

    def _peak_of_flood(self, conn, bodies):
        """What Python allocated at most while ``conn`` took ``bodies`` runs bodies (ten events each)
        in one answer and delivered them to a callback slower than the pipe; checks each arrived once, in order."""
        seen = [0, 0]  # events, and those out of order (not kept: a list of them would be what peaks)

        def slow(event):
            seen[1] += event["seq"] != seen[0]
            seen[0] += 1
            if event["seq"] % 10 == 0:
                time.sleep(0.0001)

        conn.on_notification("butler/provenance", slow)
        tracemalloc.start()
        try:
            conn.request("test/flood", self._flood(bodies))
            self.assertTrue(conn.flush_notifications(60))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        self.assertEqual(seen, [bodies * 10, 0])
        return peak

    @staticmethod
    def _flood(bodies):
        """What ``test/flood`` writes: ``bodies`` runs bodies of ten events each (~620 bytes), seq from 0."""
        return {"bodies": bodies, "events": 10}

    def test_a_slow_callback_holds_the_reader_back_and_every_event_arrives_in_order(self):
        import sys

        from quantum_butler.rpc import Connection

        # 60,000 events, 3.7 MB. Without the bound the reader queued the flood as fast as the pipe
        # gave it and the dispatcher parsed it in one take: 33 MB at the peak. Now what waits (the
        # backlog and a read), what the dispatcher took (as much again) and that take parsed.
        with Connection(self.script, node=sys.executable, watch_parent=False, timeout=60.0) as conn:  # the default, 1 MiB
            self.assertLess(self._peak_of_flood(conn, 6_000), 16 * 1024 * 1024)
            self.assertEqual(conn.backlog_stalls, 0)
        self.assertLess(self._peak_of_flood(self.conn, 6_000), 2 * 1024 * 1024)  # 64 KiB
        self.assertEqual(self.conn.backlog_stalls, 0)

    def test_a_callback_that_makes_a_request_while_the_backlog_is_full_is_answered(self):
        answered = []

        def calls(event):
            if event["seq"] % 5000 == 0:
                answered.append(self.conn.request("test/emit", {"bodies": []}, timeout=30))

        self.conn.on_notification("butler/provenance", calls)
        self.conn.request("test/flood", self._flood(2_000))
        self.assertTrue(self.conn.flush_notifications(60))
        self.assertEqual(len(answered), 4)
        # Its answer was read at once: the reader read on while it waited, not after a stall.
        self.assertEqual(self.conn.backlog_stalls, 0)

    def test_a_callback_waiting_for_another_threads_call_does_not_deadlock_the_host(self):
        go = threading.Event()
        seqs = []

        def waits(event):
            if event["seq"] == 0:
                go.wait(30)  # until the main thread's call below returns, behind the flood
            seqs.append(event["seq"])

        self.conn.on_notification("butler/provenance", waits)
        flood = self.conn.request_async("test/flood", self._flood(2_000))
        self.conn.request("test/emit", {"bodies": []}, timeout=30)  # read only once the reader reads on
        go.set()
        flood.result(30)
        self.assertTrue(self.conn.flush_notifications(60))
        self.assertEqual(seqs, list(range(20_000)))
        self.assertGreaterEqual(self.conn.backlog_stalls, 1)

    def test_a_backlog_under_one_byte_is_refused(self):
        import sys

        from quantum_butler.rpc import Connection

        for bad in (0, -1, 1.5, None):
            with self.assertRaises(ValueError):
                Connection(self.script, node=sys.executable, watch_parent=False, notification_backlog=bad)


if __name__ == "__main__":
    unittest.main()
