"""What the provenance event stream costs the Python client, per thread, for copies of the client side by side.

    python3 test/bench/python_event_cost.py [--cli=dist/src/cli.js] [--rounds=12] [--calls=3000]
        [--modes=seq,par] [--inFlight=64] [--linger=SECONDS] [PACKAGE_DIR[@OPTIONS] ...]

Each PACKAGE_DIR is a folder holding a ``quantum_butler`` package (default: this checkout's
clients/python); give the same folder twice for an A/A check (the noise floor). After a folder, ``@`` and
comma-separated options: a number gives that side its own ``dispatch_linger`` in seconds
(``--linger``: every side's; default: the client's); ``cli=PATH`` its own built CLI (to compare
sidecar builds: ``clients/python@cli=/other/dist/src/cli.js``); ``nocallback`` registers no callback, so the
reader drops the batches unparsed: the floor no change to the dispatcher path can go below. Every side runs in
its own Python process with its own ``Connection`` to the built CLI (its own with ``cli=``), and registers a host
callback with ``conn.on_notification("butler/provenance", cb)``. Each side opens two sessions on one
stored input: one with the event stream (every ``butler/stored`` call carries one event) and one
opened with ``notifications: []`` (no events). A chunk is ``--calls`` ``butler/stored`` calls, one
at a time (``seq``) or ``--inFlight`` in flight (``par``), followed by ``flush_notifications()`` so
that a chunk is charged with the delivery of its own events.

Sides take turns (only one runs at a time): each round runs, for every mode, every side with and
without events, the order of the sides and of events/no events reversed on odd rounds, so a drift of
the machine's speed falls on all of them alike. Per chunk each side reports the CPU microseconds per
call of its threads (``main``, ``reader``, ``dispatch``, the rest as ``other``; from
``/proc/self/task/*/schedstat``, nanoseconds on the CPU), the sidecar's CPU per call (all its
threads, same source), how many times per call each thread was put on a CPU (``main#``,
``reader#``, ``dispatch#``, ``sidecar#``: wakes, including waits for the GIL), the I/O shape per
call (``/proc/PID/io``: read and write system calls of the client, ``py.r`` and ``py.w``, and of the
sidecar, ``sc.r`` and ``sc.w``, and the bytes the sidecar wrote, ``sc.out``: whether events cost
writes and wake-ups rather than CPU; the client's counts include this tool's few /proc reads a chunk) and calls/s (wall clock).

Printed per mode and side: the median and range over rounds of each figure with and without events;
the per-event CPU (events minus no events, paired by round) of each thread; the event cost
``1 - calls/s(events) / calls/s(no events)`` (paired by round); and, for every side after the first,
its per-event CPU and event cost minus the first side's, and the ratios of its CPU per call with events
(and of the dispatcher's per event) to the first side's, paired by round (median and range).
Standard library only; Linux (``/proc``).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
THREADS = {"MainThread": "main", "quantum-butler-reader": "reader", "quantum-butler-dispatch": "dispatch"}
FIELDS = ("main", "reader", "dispatch", "other", "python", "sidecar")
#: Times each thread was put on a CPU, per call (schedstat's second figure): wakes, and GIL hand-overs.
RUNS = ("main#", "reader#", "dispatch#", "sidecar#")
#: The I/O shape per call (/proc/PID/io, all threads): read and write system calls of this client
#: (``py.r``, ``py.w``) and of the sidecar (``sc.r``, ``sc.w``), and the bytes the sidecar wrote (``sc.out``).
IO = ("py.r", "py.w", "sc.r", "sc.w", "sc.out")


def _io(pid: Any) -> Tuple[float, ...]:
    """(read calls, write calls, bytes written) of process ``pid`` so far; NaNs where /proc cannot tell."""
    try:
        with open("/proc/%s/io" % pid) as f:
            fields = dict(line.split(":") for line in f.read().splitlines() if ":" in line)
        return (float(fields["syscr"]), float(fields["syscw"]), float(fields["wchar"]))
    except (OSError, KeyError, ValueError):
        return (float("nan"),) * 3


# ----------------------------------------------------------------------------- worker side


def _task_ns(pid: Any) -> Dict[int, Tuple[int, int]]:
    """Per thread id: (nanoseconds on a CPU, times run on a CPU)."""
    out = {}
    base = "/proc/%s/task" % pid
    for tid in os.listdir(base):
        try:
            with open("%s/%s/schedstat" % (base, tid)) as f:
                fields = f.read().split()
                out[int(tid)] = (int(fields[0]), int(fields[2]))
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended
    return out


def worker(package_dir: str, cli: str, linger: float, callback: bool) -> None:
    """One side: reads commands ("MODE EVENTS CALLS INFLIGHT") on stdin, answers one JSON line each."""
    sys.path.insert(0, package_dir)
    import threading
    from collections import deque

    from quantum_butler.rpc import Connection

    kwargs = {} if linger < 0 else {"dispatch_linger": linger}
    conn = Connection(cli, watch_parent=True, **kwargs)
    received = [0]

    def on_event(event: Any) -> None:
        received[0] += 1

    if callback:
        conn.on_notification("butler/provenance", on_event)
    dt = {"name": "x", "storageClass": "StructuredDataDict", "dimensions": []}
    inp = {"id": str(uuid.uuid4()), "datasetType": dt, "dataId": {}, "run": "r"}
    datastore = {"kind": "memory", "name": "python-event-cost"}
    seed = conn.request("session/open", {"predicted": {"inputs": [], "outputs": [inp]}, "datastore": datastore, "notifications": []})
    conn.request("butler/put", {"sessionId": seed["sessionId"], "ref": {"id": inp["id"]}, "payload": {"encoding": "json", "value": {"a": 1}}})
    conn.request("session/close", {"sessionId": seed["sessionId"]})
    sessions = {
        True: conn.request("session/open", {"predicted": {"inputs": [inp], "outputs": []}, "datastore": datastore})["sessionId"],
        False: conn.request("session/open", {"predicted": {"inputs": [inp], "outputs": []}, "datastore": datastore, "notifications": []})["sessionId"],
    }
    ref = {"id": inp["id"]}
    me = os.getpid()

    def names() -> Dict[int, str]:
        return {t.native_id: THREADS.get(t.name, "other") for t in threading.enumerate()}

    def chunk(events: bool, calls: int, in_flight: int) -> Dict[str, Any]:
        params = {"sessionId": sessions[events], "ref": ref}
        request_async = conn.request_async
        before_events = received[0]
        a, sa = _task_ns(me), _task_ns(conn.pid)
        io_a, sio_a = _io(me), _io(conn.pid)
        t0 = time.perf_counter()
        if in_flight <= 1:
            for _ in range(calls):
                request_async("butler/stored", params).result()
        else:
            window: deque = deque()
            for _ in range(calls):
                if len(window) == in_flight:
                    window.popleft().result()
                window.append(request_async("butler/stored", params))
            while window:
                window.popleft().result()
        conn.flush_notifications(60)
        wall = time.perf_counter() - t0
        b, sb = _task_ns(me), _task_ns(conn.pid)
        io_b, sio_b = _io(me), _io(conn.pid)
        who = names()
        out = {k: 0.0 for k in FIELDS + RUNS + ("other#",)}
        for tid, (ns, runs) in b.items():
            name = who.get(tid, "other")
            ns0, runs0 = a.get(tid, (0, 0))
            out[name] += (ns - ns0) / 1e3 / calls
            out[name + "#"] += (runs - runs0) / calls
        out["python"] = sum(out[k] for k in ("main", "reader", "dispatch", "other"))
        out["sidecar"] = sum(ns - sa.get(tid, (0, 0))[0] for tid, (ns, _) in sb.items()) / 1e3 / calls
        out["sidecar#"] = sum(runs - sa.get(tid, (0, 0))[1] for tid, (_, runs) in sb.items()) / calls
        out["calls_s"] = calls / wall
        for k, x, y in zip(IO, io_a[:2] + sio_a, io_b[:2] + sio_b):
            out[k] = (y - x) / calls
        out["events"] = received[0] - before_events
        return out

    print(json.dumps({"ready": True, "pid": me, "sidecar": conn.pid}), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        mode, events, calls, in_flight = parts[0], parts[1] == "1", int(parts[2]), int(parts[3])
        print(json.dumps(chunk(events, calls, in_flight if mode == "par" else 1)), flush=True)
    conn.close()


# ----------------------------------------------------------------------------- driver side


class Side:
    def __init__(self, index: int, spec: str, cli: str, linger: float):
        self.label = "%s:%s" % (chr(ord("A") + index), spec)
        package_dir, _, options = spec.partition("@")
        callback = True
        for option in filter(None, options.split(",")):
            if option == "nocallback":
                callback = False
            elif option.startswith("cli="):
                cli = os.path.abspath(option[len("cli="):])
            else:
                linger = float(option)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", package_dir, cli, repr(linger), str(int(callback))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = json.loads(self.proc.stdout.readline())
        assert hello.get("ready"), hello

    def run(self, mode: str, events: bool, calls: int, in_flight: int) -> Dict[str, Any]:
        self.proc.stdin.write("%s %d %d %d\n" % (mode, int(events), calls, in_flight))
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("side %s ended" % self.label)
        return json.loads(line)

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        except OSError:
            pass
        self.proc.wait(30)


def _option(argv: List[str], name: str, default: str) -> str:
    for arg in argv:
        if arg.startswith("--%s=" % name):
            return arg.split("=", 1)[1]
    return default


def _stat(values: List[float], digits: int = 2) -> str:
    if not values:
        return "-"
    return "%.*f [%.*f..%.*f]" % (digits, statistics.median(values), digits, min(values), digits, max(values))


def main(argv: List[str]) -> None:
    if argv and argv[0] == "--worker":
        worker(argv[1], argv[2], float(argv[3]), argv[4] == "1")
        return
    cli = os.path.abspath(_option(argv, "cli", os.path.join(ROOT, "dist", "src", "cli.js")))
    rounds = int(_option(argv, "rounds", "12"))
    calls = int(_option(argv, "calls", "3000"))
    in_flight = int(_option(argv, "inFlight", "64"))
    modes = _option(argv, "modes", "seq,par").split(",")
    linger = float(_option(argv, "linger", "-1"))  # < 0: the client's default
    dirs = [a if a.startswith("/") else os.path.abspath(a) for a in argv if not a.startswith("--")] or [os.path.join(ROOT, "clients", "python")]
    sides = [Side(i, d, cli, linger) for i, d in enumerate(dirs)]
    print("cli %s; %d rounds of %d calls; load average at start %s" % (cli, rounds, calls, " ".join("%.2f" % x for x in os.getloadavg())), flush=True)
    # results[mode][side][events] = list of chunk results, one per round
    results = {m: [{True: [], False: []} for _ in sides] for m in modes}
    try:
        for mode in modes:  # warm-up: one chunk of each, not counted
            for side in sides:
                for events in (True, False):
                    side.run(mode, events, calls, in_flight)
        for r in range(rounds):
            order = list(range(len(sides))) if r % 2 == 0 else list(reversed(range(len(sides))))
            ev_order = (True, False) if r % 2 == 0 else (False, True)
            for mode in (modes if r % 2 == 0 else list(reversed(modes))):
                for i in order:
                    for events in ev_order:
                        results[mode][i][events].append(sides[i].run(mode, events, calls, in_flight))
            print("round %d/%d done, load %.2f" % (r + 1, rounds, os.getloadavg()[0]), file=sys.stderr, flush=True)
    finally:
        for side in sides:
            side.close()
    load_end = " ".join("%.2f" % x for x in os.getloadavg())
    for mode in modes:
        print("\n== %s (%s) ==" % (mode, "one at a time" if mode == "seq" else "%d in flight" % in_flight))
        per_event: List[Dict[str, List[float]]] = []
        for i, side in enumerate(sides):
            ev, quiet = results[mode][i][True], results[mode][i][False]
            print("%s" % side.label)
            for k in FIELDS + RUNS + IO:
                print("  %-9s %s  events %-24s no events %-24s per event %s" % (
                    k, "us/call " if k in FIELDS else "runs/call" if k in RUNS else "io/call  ", _stat([x[k] for x in ev]), _stat([x[k] for x in quiet]),
                    _stat([e[k] - q[k] for e, q in zip(ev, quiet)])))
            cost = [1 - e["calls_s"] / q["calls_s"] for e, q in zip(ev, quiet)]
            print("  calls/s  events %s  no events %s" % (_stat([x["calls_s"] for x in ev], 0), _stat([x["calls_s"] for x in quiet], 0)))
            print("  event cost 1 - calls/s(events)/calls/s(no events): %s" % _stat(cost, 3))
            d = {k: [e[k] - q[k] for e, q in zip(ev, quiet)] for k in FIELDS + RUNS + IO}
            d["cost"] = cost
            per_event.append(d)
        for i in range(1, len(sides)):
            print("%s minus A, paired by round:" % sides[i].label[:1])
            for k in FIELDS + RUNS + IO + ("cost",):
                print("  %-9s per event %s" % (k, _stat([b - a for a, b in zip(per_event[0][k], per_event[i][k])], 3 if k == "cost" else 2)))
            print("%s / A, paired by round (a ratio is not moved by the machine's speed drifting between rounds):" % sides[i].label[:1])
            a_ev, b_ev = results[mode][0][True], results[mode][i][True]
            for k in ("main", "reader", "dispatch", "python", "sidecar"):
                print("  %-9s us/call with events %s   per event %s" % (
                    k, _stat([b[k] / a[k] for a, b in zip(a_ev, b_ev) if a[k] > 0], 3),
                    _stat([b / a for a, b in zip(per_event[0][k], per_event[i][k]) if a > 0.5], 3) if k == "dispatch" else "-"))
    print("\nload average at end %s" % load_end)


if __name__ == "__main__":
    main(sys.argv[1:])
