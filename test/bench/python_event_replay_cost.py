"""The Python client's dispatcher CPU per provenance event, on bodies captured from the sidecar, for copies of the client side by side.

    python3 test/bench/python_event_replay_cost.py [--cli=dist/src/cli.js] [--rounds=9] [--passes=10]
        [--takes=FILE] [PACKAGE_DIR ...]

First the bodies: this checkout's client runs ``butler/stored`` one at a time (``stored-1``, 3,000
calls) and ``butler/stored`` and ``butler/put`` of a 1 KiB JSON value 64 in flight (``stored-64``,
``put-64``) against the built CLI with a callback registered, and records every group of bodies
its dispatcher took at once (``Connection._deliver_raw_batches``), as they came: the run lengths
and take sizes the sidecar and the linger really give (``--takes=FILE`` keeps them in FILE, or
reads them from it if it exists). Then each PACKAGE_DIR (a folder holding a ``quantum_butler``
package; default this checkout's clients/python; the same folder twice is an A/A check) replays
them in its own process: ``--passes`` passes of every take through its
``_deliver_raw_batches`` with one callback, timed with ``time.thread_time_ns``; the packages take
turns, in reverse order on odd rounds. Prints per kind the median and range over rounds of the
microseconds per event of each package, and each package's ratio to the first, paired by round.

The caches are warm here (in a real stream the dispatcher wakes once per linger, colder, and
costs more per event); for repeatable counts run one replay under callgrind with two pass
counts and subtract (``valgrind --tool=callgrind python3 THIS --worker PACKAGE_DIR FILE KIND PASSES
1``: PASSES passes, one round). Standard library only.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from python_event_cost import _option, _stat  # noqa: E402

KINDS = ("stored-1", "stored-64", "put-64")


def capture(cli: str) -> Dict[str, List[List[str]]]:
    """The takes of each kind, as lists of bodies (text)."""
    from python_bench import pipelined, sequential  # 64 in flight, and one at a time, as the bench drives calls
    from quantum_butler.rpc import Connection

    conn = Connection(cli, watch_parent=False)
    takes: List[List[bytes]] = []
    deliver = conn._deliver_raw_batches

    def record(decode: Any, bodies: List[bytes]) -> None:
        takes.append(list(bodies))
        deliver(decode, bodies)

    conn._deliver_raw_batches = record
    conn.on_notification("butler/provenance", lambda event: None)
    calls = 3000

    def ref(i: int) -> Dict[str, Any]:  # as test/bench/python_put_cost.py's
        dataset_type = {"name": "pyput", "storageClass": "StructuredDataDict", "dimensions": ["instrument", "detector"]}
        return {"id": str(uuid.uuid4()), "datasetType": dataset_type, "dataId": {"instrument": "Bench", "detector": i}, "run": "bench"}

    value = {"payload": "x" * 1000}
    inp, outputs = ref(-1), [ref(i) for i in range(calls + 500)]
    datastore = {"kind": "memory", "name": "python-event-replay"}
    seed = conn.request("session/open", {"predicted": {"inputs": [], "outputs": [inp]}, "datastore": datastore, "notifications": []})
    conn.request("butler/put", {"sessionId": seed["sessionId"], "ref": {"id": inp["id"]}, "payload": {"encoding": "json", "value": value}})
    sid = conn.request("session/open", {"predicted": {"inputs": [inp], "outputs": outputs}, "datastore": datastore})["sessionId"]
    next_out = iter(outputs)
    stored = lambda: conn.request_async("butler/stored", {"sessionId": sid, "ref": {"id": inp["id"]}})  # noqa: E731
    put = lambda: conn.request_async("butler/put", {"sessionId": sid, "ref": {"id": next(next_out)["id"]}, "payload": {"encoding": "json", "value": value}})  # noqa: E731
    out: Dict[str, List[List[str]]] = {}
    try:
        for kind, call, run in (("warm-up", stored, pipelined), ("stored-1", stored, sequential), ("stored-64", stored, pipelined), ("put-64", put, pipelined)):
            run(500 if kind == "warm-up" else calls, lambda i: call(), conn.flush_notifications)
            if kind != "warm-up":
                out[kind] = [[b.decode() for b in take] for take in takes]
            del takes[:]
    finally:
        conn.close()
    return out


def worker(package_dir: str, takes_file: str, kind: str, passes: int, rounds: int) -> None:
    """One package: ``rounds`` timings of ``passes`` passes over the kind's takes; prints a JSON list of us/event."""
    sys.path.insert(0, package_dir)
    from quantum_butler import rpc

    with open(takes_file) as f:
        takes = [[b.encode() for b in take] for take in json.load(f)[kind]]
    conn = rpc.Connection.__new__(rpc.Connection)  # only what the dispatcher's path reads
    conn._listeners, conn._any_listeners, conn._inline_listeners = {}, (), {}
    seen = [0]

    def cb(_event: Any) -> None:
        seen[0] += 1

    conn._listeners[rpc.PROVENANCE] = (cb,)
    decode = rpc.message_decoder()
    out = []
    for _ in range(rounds):
        seen[0] = 0
        t0 = time.thread_time_ns()
        for _ in range(passes):
            for take in takes:
                conn._deliver_raw_batches(decode, take)
        out.append((time.thread_time_ns() - t0) / 1000 / max(1, seen[0]))
    print(json.dumps(out))


def main(argv: List[str]) -> None:
    if argv and argv[0] == "--worker":
        worker(argv[1], argv[2], argv[3], int(argv[4]), int(argv[5]))
        return
    cli = os.path.abspath(_option(argv, "cli", os.path.join(ROOT, "dist", "src", "cli.js")))
    rounds, passes = int(_option(argv, "rounds", "9")), _option(argv, "passes", "10")
    takes_file = _option(argv, "takes", "")
    dirs = [os.path.abspath(a) for a in argv if not a.startswith("--")] or [os.path.join(ROOT, "clients", "python")]
    print("load average at start %.2f" % os.getloadavg()[0], flush=True)
    if takes_file and os.path.exists(takes_file):
        path = takes_file
    else:
        captured = capture(cli)
        path = takes_file or os.path.join(os.environ.get("TMPDIR", "/tmp"), "python-event-replay-%d.json" % os.getpid())
        with open(path, "w") as f:
            json.dump(captured, f)
    with open(path) as f:
        shape = {k: (len(v), sum(len(t) for t in v)) for k, v in json.load(f).items()}
    res = {k: [[] for _ in dirs] for k in KINDS}
    for r in range(rounds):
        for i in range(len(dirs)) if r % 2 == 0 else reversed(range(len(dirs))):
            for kind in KINDS:
                run = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", dirs[i], path, kind, passes, "1"], check=True, capture_output=True, text=True)
                res[kind][i] += json.loads(run.stdout)
    for kind in KINDS:
        print("%s (%d takes of %d bodies), us per event:" % (kind, *shape[kind]))
        for i, d in enumerate(dirs):
            ratio = "" if i == 0 else "  / %s, paired by round: %s" % (chr(65), _stat([b / a for a, b in zip(res[kind][0], res[kind][i])], 3))
            print("  %s:%s %s%s" % (chr(65 + i), d, _stat(res[kind][i], 3), ratio))
    if not takes_file:
        os.unlink(path)
    print("load average at end %.2f" % os.getloadavg()[0])


if __name__ == "__main__":
    main(sys.argv[1:])
