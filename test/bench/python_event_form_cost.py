"""What the Python client's dispatcher spends per provenance event, by event form, without pipes or a sidecar.

    python3 test/bench/python_event_form_cost.py [--rounds=15] [--events=60000] [--perTurn=28] [--take=8] [PACKAGE_DIR ...]

Bodies are made as the sidecar writes them: a turn's ``--perTurn`` ``inputCheckedAvailable`` events
as one ``butler/provenanceBatch`` (``batch``) or one ``butler/provenanceRuns`` (``runs``, the compact
form); the dispatcher takes ``--take`` bodies at a time. Per event: CPU time of
``Connection._deliver_raw_batches`` (the dispatcher's path for them: parse, rebuild, one callback
per event) over ``--events`` events. For every PACKAGE_DIR (a folder holding a ``quantum_butler``
package, each in its own process; default this checkout's clients/python) the forms it reads take
turns in every round, in the reverse order on odd rounds; ``runs`` is measured twice (``runs'``: an
A/A check). Prints the median and range over rounds of the microseconds per event.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

WORKER = r'''
import json, sys, time, importlib
sys.path.insert(0, sys.argv[1])
rpc = importlib.import_module("quantum_butler.rpc")
rounds, events, per_turn, take = (int(x) for x in sys.argv[2:6])
sid, did, t = "0b7c9a52-3f1e-4d2a-9c8b-7a6f5e4d3c2b", "5d4c2f5e-1b9b-4c3e-9d0a-2a1f0e3c4b5a", "2026-12-04T05:40:01.007Z"
dumps = lambda o: json.dumps(o, separators=(",", ":"), ensure_ascii=False)
def bodies(form):
    out, seq = [], 1
    for _ in range(events // per_turn):
        if form == "batch":
            params = {"events": [{"sessionId": sid, "seq": seq + i, "event": "inputCheckedAvailable", "datasetId": did, "datasetType": "raw", "time": t} for i in range(per_turn)]}
        else:
            params = {"runs": [{"sessionId": sid, "seq": seq, "time": t, "events": [["inputCheckedAvailable", did, "raw"]] * per_turn}]}
        out.append(('{"jsonrpc":"2.0","method":"butler/provenance%s","params":%s}' % ("Batch" if form == "batch" else "Runs", dumps(params))).encode())
        seq += per_turn
    return out
forms = ["batch"] + (["runs", "runs'"] if hasattr(rpc, "PROVENANCE_RUNS") else [])
made = {f: bodies(f.rstrip("'")) for f in forms}
conn = rpc.Connection.__new__(rpc.Connection)
conn._listeners, conn._any_listeners, conn._inline_listeners = {}, (), {}
seen = [0]
def cb(e): seen[0] += 1
conn._listeners[rpc.PROVENANCE] = (cb,)
decode = rpc.message_decoder()
def run(form):
    b = made[form]
    seen[0] = 0
    t0 = time.thread_time_ns()
    for i in range(0, len(b), take):
        conn._deliver_raw_batches(decode, b[i : i + take])
    dt = time.thread_time_ns() - t0
    assert seen[0] == len(b) * per_turn, (form, seen[0])
    return dt / 1000 / seen[0]
for f in forms: run(f)
res = {f: [] for f in forms}
for r in range(rounds):
    for f in (forms if r % 2 == 0 else forms[::-1]):
        res[f].append(run(f))
print(json.dumps(res))
'''


def main() -> None:
    opts = {a[2:].split("=")[0]: a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--")}
    dirs = [a for a in sys.argv[1:] if not a.startswith("--")] or [os.path.join(ROOT, "clients", "python")]
    args = [opts.get("rounds", "15"), opts.get("events", "60000"), opts.get("perTurn", "28"), opts.get("take", "8")]
    print("load average %.2f; %s events a chunk, %s a turn, %s bodies a take" % (os.getloadavg()[0], args[1], args[2], args[3]))
    for d in dirs:
        res = json.loads(subprocess.run([sys.executable, "-c", WORKER, os.path.abspath(d), *args], check=True, capture_output=True, text=True).stdout)
        print(d)
        for form, xs in res.items():
            print("  %-6s %.3f [%.3f..%.3f] us/event" % (form, statistics.median(xs), min(xs), max(xs)))
        if "runs" in res:
            ratio = lambda a, b: [x / y for x, y in zip(res[a], res[b])]
            for a, b in (("runs", "batch"), ("runs'", "runs")):
                xs = ratio(a, b)
                print("  %s / %s, paired by round: %.3f [%.3f..%.3f]" % (a, b, statistics.median(xs), min(xs), max(xs)))
    print("load average at end %.2f" % os.getloadavg()[0])


if __name__ == "__main__":
    main()
