"""Instructions per call of each Python client thread for a butler/put against the echo, under callgrind.

    python3 test/bench/python_put_callgrind.py [--cli=dist/src/cli.js] [--kinds=echo,put,put-quiet,put-nocb]
        [--modes=par,seq] [--calls=400,1400] [--repeat=1] [PACKAGE_DIR ...]

Wall clock and /proc CPU times drift with the machine's load (other processes on 2 cores); instruction
counts do not. For each PACKAGE_DIR (a folder holding a ``quantum_butler`` package; default this
checkout's clients/python; the same folder twice is an A/A check), kind and mode, one Python process
runs under ``valgrind --tool=callgrind --separate-threads=yes`` with one ``Connection`` (to the built
CLI, or to the raw echo for ``echo``), 300 calls of warm-up, then N calls, for the two N of
``--calls``; the difference over the difference of N is the count per call of each thread: ``main``
(the caller: building and encoding the request, the future), ``reader`` (frames, responses, handing
event bodies over) and ``dispatch`` (parsing the events, the callback). Kinds as in
python_put_cost.py: ``echo`` (``test/echo`` of the bench's 1 KiB value), ``put`` (``butler/put`` of it
to a new output, a callback registered), ``put-quiet`` (a session opened with ``notifications: []``),
``put-nocb`` (no callback: the reader drops the event bodies). ``seq``: one call at a time; ``par``:
64 in flight; each run ends with ``flush_notifications()``.

Only the Python process runs under valgrind (the sidecar runs at full speed), so the sidecar answers
faster relative to the client than it does outside: the dispatcher's takes are smaller, and its count
per event higher, than in a real stream (python_event_replay_cost.py replays real takes). Threads are
told apart by their order of creation (the main thread, then the connection's stderr, dispatcher and
reader threads, as ``Connection.__init__`` starts them). Standard library only; needs valgrind.
"""
from __future__ import annotations

import collections
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from python_event_cost import _option, _stat  # noqa: E402

THREAD_NAMES = {1: "main", 2: "stderr", 3: "dispatch", 4: "reader"}
SHOWN = ("main", "reader", "dispatch")
WARMUP = 300


def worker(package_dir: str, cli: str, kind: str, mode: str, n: int) -> None:
    """One run: WARMUP calls, then n calls of the kind."""
    sys.path.insert(0, package_dir)
    from quantum_butler.rpc import Connection

    value = {"payload": "x" * 1000}
    if kind == "echo":
        conn = Connection(os.path.join(ROOT, "dist", "test", "bench", "echo-server.js"), initialize=False, watch_parent=False)
        call = lambda: conn.request_async("test/echo", {"value": value, "i": 1})  # noqa: E731
    else:
        conn = Connection(cli, watch_parent=False)
        if kind != "put-nocb":
            conn.on_notification("butler/provenance", lambda _event: None)
        dataset_type = {"name": "pyput", "storageClass": "StructuredDataDict", "dimensions": ["instrument", "detector"]}
        # As many outputs whatever n is, so that making them is no part of the difference.
        outputs = [{"id": str(uuid.uuid4()), "datasetType": dataset_type, "dataId": {"instrument": "Bench", "detector": i}, "run": "bench"} for i in range(4000)]
        if n + WARMUP > len(outputs):
            raise SystemExit("at most %d calls" % (len(outputs) - WARMUP))
        quiet = {"notifications": []} if kind == "put-quiet" else {}
        sid = conn.request("session/open", {"predicted": {"inputs": [], "outputs": outputs}, "datastore": {"kind": "memory", "name": "cg"}, **quiet})["sessionId"]
        ids = iter(outputs)
        call = lambda: conn.request_async("butler/put", {"sessionId": sid, "ref": {"id": next(ids)["id"]}, "payload": {"encoding": "json", "value": value}})  # noqa: E731

    def run(k: int) -> None:
        if mode == "seq":
            for _ in range(k):
                call().result()
        else:
            window: collections.deque = collections.deque()
            for _ in range(k):
                if len(window) == 64:
                    window.popleft().result()
                window.append(call())
            while window:
                window.popleft().result()
        conn.flush_notifications(60)

    run(WARMUP)
    run(n)
    if kind == "echo":
        conn.kill()
        conn.close(0.5)
    else:
        conn.close()


def _thread_totals(prefix: str) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for path in glob.glob(prefix + "-*"):
        name = THREAD_NAMES.get(int(path.rsplit("-", 1)[1]), "other")
        with open(path) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    out[name] = out.get(name, 0) + int(line.split()[1])
                    break
    return out


def measure(package_dir: str, cli: str, kind: str, mode: str, calls: List[int]) -> Dict[str, float]:
    """Instructions per call of each thread (the difference of two runs)."""
    tmp = tempfile.mkdtemp(prefix="qb-put-cg-")
    try:
        totals = []
        for n in calls:
            out = os.path.join(tmp, "cg.%d" % n)
            subprocess.run(
                ["valgrind", "--tool=callgrind", "--separate-threads=yes", "--callgrind-out-file=" + out,
                 sys.executable, os.path.abspath(__file__), "--worker", package_dir, cli, kind, mode, str(n)],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            totals.append(_thread_totals(out))
        per = {k: (totals[1].get(k, 0) - totals[0].get(k, 0)) / (calls[1] - calls[0]) for k in set(totals[0]) | set(totals[1])}
        per["total"] = sum(v for k, v in per.items())
        return per
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: List[str]) -> None:
    if argv and argv[0] == "--worker":
        worker(argv[1], argv[2], argv[3], argv[4], int(argv[5]))
        return
    cli = os.path.abspath(_option(argv, "cli", os.path.join(ROOT, "dist", "src", "cli.js")))
    kinds = _option(argv, "kinds", "echo,put,put-quiet,put-nocb").split(",")
    modes = _option(argv, "modes", "par,seq").split(",")
    calls = [int(x) for x in _option(argv, "calls", "400,1400").split(",")]
    repeat = int(_option(argv, "repeat", "1"))
    dirs = [os.path.abspath(a) for a in argv if not a.startswith("--")] or [os.path.join(ROOT, "clients", "python")]
    print("load average at start %.2f (instruction counts do not depend on it)" % os.getloadavg()[0], flush=True)
    res: Dict[Any, List[Dict[str, float]]] = collections.defaultdict(list)
    for r in range(repeat):
        for i in range(len(dirs)) if r % 2 == 0 else reversed(range(len(dirs))):
            for mode in modes:
                for kind in kinds:
                    got = res[i, mode, kind]
                    got.append(measure(dirs[i], cli, kind, mode, calls))
                    print("  %s %s %s: %s" % (chr(65 + i), mode, kind, " ".join("%s %.1f" % (f, got[-1].get(f, 0) / 1000) for f in SHOWN + ("total",))), flush=True)
    for mode in modes:
        print("\n== %s, instructions per call (thousands): %s ==" % (mode, "one at a time" if mode == "seq" else "64 in flight"))
        print("%-30s %-10s" % ("package", "kind") + "".join("%22s" % f for f in SHOWN + ("total",)))
        for i, d in enumerate(dirs):
            for kind in kinds:
                row = res[i, mode, kind]
                print("%-30s %-10s" % ("%s:%s" % (chr(65 + i), d[-28:]), kind) + "".join("%22s" % _stat([x.get(f, 0) / 1000 for x in row], 1) for f in SHOWN + ("total",)))
    print("\nload average at end %.2f" % os.getloadavg()[0])


if __name__ == "__main__":
    main(sys.argv[1:])
