"""Where the time of the Python client's butler/put goes, against the echo the bench compares it with.

    python3 test/bench/python_put_cost.py [--cli=dist/src/cli.js] [--rounds=10] [--calls=2000]
        [--modes=seq,par] [--inFlight=64] [--warmup=5000] [--linger=SECONDS] [--kinds=echo,put,...]
        [--package=DIR]

One process, one ``Connection`` to the built CLI and one to the raw vscode-jsonrpc echo
(dist/test/bench/echo-server.js), as test/bench/python_bench.py drives them, with the bench's 1 KiB
value ``{"payload": "x" * 1000}`` and refs. Kinds (chunks of ``--calls`` calls, one at a time or
``--inFlight`` in flight, each followed by ``flush_notifications()``; every kind warmed up first,
``--warmup`` calls each way, then the kinds take turns, in reverse order on odd rounds):

* ``echo``: ``test/echo`` of ``{value, i}`` (the bench's ceiling);
* ``put``: ``butler/put`` of the value to a new output of a session with the event stream, a
  callback registered for ``butler/provenance`` (the bench's put);
* ``put-nocb``: the same session with no callback registered for the chunk (the reader drops the
  batches unparsed: what the dispatcher adds is ``put`` minus this);
* ``put-quiet``: a session opened with ``notifications: []`` (no event: what the event stream adds
  is ``put`` minus this);
* ``stored``, ``get``: ``butler/stored`` and ``butler/get`` of the session's stored input.

``--package``: a folder holding the ``quantum_butler`` package to measure (default: this checkout's
clients/python), to compare copies run one after another. Per chunk: wall time per call; the CPU microseconds per call of this process's threads (``main``,
``reader``, ``dispatch``; from ``/proc/self/task/*/schedstat``) and of the server's process (the
sidecar or the echo, all its threads); ``wait``: wall minus this process's and the server's CPU,
i.e. the time per call in which neither ran (hand-overs, wake-ups; negative when they overlap);
how often each thread was put on a CPU per call (``#``) and how often it blocked (``~``, voluntary
context switches: waits for the GIL, a lock, the pipe; unlike ``#`` not raised by other processes'
load); and the events delivered to the callback per call. Printed per mode: the median of each
figure per kind, each kind minus ``echo`` paired by round (median and range), and calls/s over the
echo's (median and range of the paired rounds, as the bench computes its ratio). Standard library
only; Linux (``/proc``).
"""
from __future__ import annotations

import collections
import os
import statistics
import sys
import threading
import time
import uuid
from typing import Any, Callable, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from python_event_cost import THREADS, _option, _stat, _task_ns  # noqa: E402

sys.path.insert(0, os.path.abspath(_option(sys.argv[1:], "package", os.path.join(ROOT, "clients", "python"))))
from quantum_butler.rpc import Connection  # noqa: E402

KINDS = ("echo", "put", "put-nocb", "put-quiet", "stored", "get")
CPU = ("main", "reader", "dispatch", "other", "python", "server")
FIELDS = ("wall",) + CPU + ("wait", "main#", "reader#", "dispatch#", "server#", "main~", "reader~", "dispatch~", "events")


def _voluntary(pid: int) -> Dict[int, int]:
    """Per thread id: voluntary context switches (times it blocked: on a lock, the GIL, a read)."""
    out = {}
    base = "/proc/%s/task" % pid
    for tid in os.listdir(base):
        try:
            with open("%s/%s/status" % (base, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        out[int(tid)] = int(line.split()[1])
        except (OSError, ValueError):
            pass  # a thread that ended
    return out


def _ref(i: int) -> Dict[str, Any]:
    """An output like the bench's (sidecar-bench.ts ``ref``), with a random id."""
    data_id = {"instrument": "Bench", "detector": i}
    dataset_type = {"name": "pyput", "storageClass": "StructuredDataDict", "dimensions": ["instrument", "detector"]}
    return {"id": str(uuid.uuid4()), "datasetType": dataset_type, "dataId": data_id, "run": "bench"}


def main(argv: List[str]) -> None:
    cli = os.path.abspath(_option(argv, "cli", os.path.join(ROOT, "dist", "src", "cli.js")))
    rounds, calls = int(_option(argv, "rounds", "10")), int(_option(argv, "calls", "2000"))
    in_flight, warmup = int(_option(argv, "inFlight", "64")), int(_option(argv, "warmup", "5000"))
    modes = _option(argv, "modes", "seq,par").split(",")
    kinds = _option(argv, "kinds", ",".join(KINDS)).split(",")
    linger = float(_option(argv, "linger", "-1"))
    if "echo" not in kinds:
        kinds.insert(0, "echo")
    value = {"payload": "x" * 1000}
    echo = Connection(os.path.join(ROOT, "dist", "test", "bench", "echo-server.js"), initialize=False, watch_parent=False)
    conn = Connection(cli, watch_parent=False, **({} if linger < 0 else {"dispatch_linger": linger}))
    received = [0]

    def on_event(_event: Any) -> None:
        received[0] += 1

    unregister = [conn.on_notification("butler/provenance", on_event)]
    per_kind = 2 * warmup + rounds * len(modes) * calls  # puts of one kind, each to a new output
    events_outputs = [_ref(i) for i in range(per_kind * sum(1 for k in kinds if k in ("put", "put-nocb")))]
    quiet_outputs = [_ref(i) for i in range(per_kind if "put-quiet" in kinds else 0)]
    datastore = {"kind": "memory", "name": "python-put-cost"}
    inp = _ref(-1)
    seed = conn.request("session/open", {"predicted": {"inputs": [], "outputs": [inp]}, "datastore": datastore, "notifications": []})
    conn.request("butler/put", {"sessionId": seed["sessionId"], "ref": {"id": inp["id"]}, "payload": {"encoding": "json", "value": value}})
    conn.request("session/close", {"sessionId": seed["sessionId"]})
    events_sid = conn.request("session/open", {"predicted": {"inputs": [inp], "outputs": events_outputs}, "datastore": datastore})["sessionId"]
    quiet_sid = conn.request(
        "session/open", {"predicted": {"inputs": [inp], "outputs": quiet_outputs}, "datastore": datastore, "notifications": []}
    )["sessionId"]
    in_ref = {"id": inp["id"]}
    next_events, next_quiet = iter(events_outputs), iter(quiet_outputs)

    def put(sid: str, it: Any) -> Callable[[], Any]:
        return lambda: conn.request_async("butler/put", {"sessionId": sid, "ref": {"id": next(it)["id"]}, "payload": {"encoding": "json", "value": value}})

    table: Dict[str, Any] = {
        "echo": (echo, lambda: echo.request_async("test/echo", {"value": value, "i": 1})),
        "put": (conn, put(events_sid, next_events)),
        "put-nocb": (conn, put(events_sid, next_events)),
        "put-quiet": (conn, put(quiet_sid, next_quiet)),
        "stored": (conn, lambda: conn.request_async("butler/stored", {"sessionId": events_sid, "ref": in_ref})),
        "get": (conn, lambda: conn.request_async("butler/get", {"sessionId": events_sid, "ref": in_ref})),
    }
    me = os.getpid()

    def chunk(kind: str, n: int, lanes: int) -> Dict[str, float]:
        server, call = table[kind]
        if kind == "put-nocb":  # no callback during the chunk: the reader drops the batches
            unregister[0]()
        try:
            a, sa, events, va = _task_ns(me), _task_ns(server.pid), received[0], _voluntary(me)
            t0 = time.perf_counter()
            if lanes <= 1:
                for _ in range(n):
                    call().result()
            else:
                window: collections.deque = collections.deque()
                for _ in range(n):
                    if len(window) == lanes:
                        window.popleft().result()
                    window.append(call())
                while window:
                    window.popleft().result()
            if server is conn:
                conn.flush_notifications(60)
            wall = time.perf_counter() - t0
            b, sb, vb = _task_ns(me), _task_ns(server.pid), _voluntary(me)
        finally:
            if kind == "put-nocb":
                unregister[0] = conn.on_notification("butler/provenance", on_event)
        who = {t.native_id: THREADS.get(t.name, "other") for t in threading.enumerate()}
        out = {k: 0.0 for k in FIELDS}
        out["other#"] = out["other~"] = 0.0
        for tid, v in vb.items():
            out[who.get(tid, "other") + "~"] += (v - va.get(tid, 0)) / n
        for tid, (ns, runs) in b.items():
            name = who.get(tid, "other")
            ns0, runs0 = a.get(tid, (0, 0))
            out[name] += (ns - ns0) / 1e3 / n
            out[name + "#"] += (runs - runs0) / n
        out["python"] = out["main"] + out["reader"] + out["dispatch"] + out["other"]
        out["server"] = sum(ns - sa.get(tid, (0, 0))[0] for tid, (ns, _) in sb.items()) / 1e3 / n
        out["server#"] = sum(runs - sa.get(tid, (0, 0))[1] for tid, (_, runs) in sb.items()) / n
        out["wall"] = wall / n * 1e6
        out["wait"] = out["wall"] - out["python"] - out["server"]
        out["events"] = (received[0] - events) / n  # delivered to the callback, per call
        return out

    print("package %s" % os.path.dirname(os.path.dirname(os.path.abspath(sys.modules[Connection.__module__].__file__))))
    print("cli %s; %d rounds of %d calls; load average at start %s" % (cli, rounds, calls, " ".join("%.2f" % x for x in os.getloadavg())), flush=True)
    results = {m: {k: [] for k in kinds} for m in modes}
    try:
        for kind in kinds:
            for lanes in (1, in_flight):
                chunk(kind, warmup if kind.startswith("put") else min(warmup, 2000), lanes)
        for r in range(rounds):
            for mode in modes if r % 2 == 0 else modes[::-1]:
                for kind in kinds if r % 2 == 0 else kinds[::-1]:
                    results[mode][kind].append(chunk(kind, calls, 1 if mode == "seq" else in_flight))
            print("round %d/%d done, load %.2f" % (r + 1, rounds, os.getloadavg()[0]), file=sys.stderr, flush=True)
    finally:
        echo.kill()
        echo.close(0.5)
        conn.close()
    for mode in modes:
        res = results[mode]
        print("\n== %s (%s), medians per call (us; # = times on a CPU) ==" % (mode, "one at a time" if mode == "seq" else "%d in flight" % in_flight))
        print("%-10s" % "" + "".join("%10s" % f for f in FIELDS))
        for kind in kinds:
            print("%-10s" % kind + "".join("%10.2f" % statistics.median([x[f] for x in res[kind]]) for f in FIELDS))
        print("minus echo, paired by round: median [range]")
        for kind in kinds[1:]:
            print("  %s" % kind)
            for f in FIELDS:
                print("    %-9s %s" % (f, _stat([x[f] - e[f] for x, e in zip(res[kind], res["echo"])])))
            print("    calls/s over the echo's %s" % _stat([e["wall"] / x["wall"] for x, e in zip(res[kind], res["echo"])], 3))
    print("\nload average at end %s" % " ".join("%.2f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main(sys.argv[1:])
