"""The Python client's share of `npm run bench`: small calls through quantum_butler.rpc.Connection,
against the raw vscode-jsonrpc echo driven by the same Connection class (so the ratio is like for
like: same framing, reader thread and futures on both sides).

    python3 test/bench/python_bench.py SPEC.json   (written by run.ts; prints one JSON object)

SPEC: cli, echo (paths of the built CLI and echo server), pairs, seq, par, value, input (a ref
stored by the runner's seed step is not shared: this script seeds its own), outputs (refs).
Chunks of the ceiling and of each call alternate; the runner computes the ratios.
"""
import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from quantum_butler.rpc import Connection  # noqa: E402

LANES = 64


def sequential(n, call):
    t = time.perf_counter()
    for i in range(n):
        call(i).result()
    return n / (time.perf_counter() - t)


def pipelined(n, call):
    window = collections.deque()
    t = time.perf_counter()
    for i in range(n):
        if len(window) == LANES:
            window.popleft().result()
        window.append(call(i))
    while window:
        window.popleft().result()
    return n / (time.perf_counter() - t)


def main():
    spec = json.load(open(sys.argv[1]))
    pairs, seq, par, value = spec["pairs"], spec["seq"], spec["par"], spec["value"]
    echo = Connection(spec["echo"], initialize=False, watch_parent=False)
    conn = Connection(spec["cli"], watch_parent=False)
    # No listener, as a host that never subscribed (the events still arrive: frames are counted).
    requests = [0]

    def counted(method, params):
        requests[0] += 1
        return conn.request_async(method, params)
    try:
        inp, outputs = spec["input"], spec["outputs"]
        seed = conn.request("session/open", {"predicted": {"inputs": [], "outputs": [inp]}, "datastore": {"kind": "memory", "name": "py"}, "notifications": []})
        conn.request("butler/put", {"sessionId": seed["sessionId"], "ref": {"id": inp["id"]}, "payload": {"encoding": "json", "value": value}})
        conn.request("session/close", {"sessionId": seed["sessionId"]})
        sid = conn.request("session/open", {"predicted": {"inputs": [inp], "outputs": outputs}, "datastore": {"kind": "memory", "name": "py"}})["sessionId"]
        quiet = conn.request("session/open", {"predicted": {"inputs": [inp], "outputs": []}, "datastore": {"kind": "memory", "name": "py"}, "notifications": []})["sessionId"]
        in_ref = {"id": inp["id"]}
        next_out = iter(outputs)
        calls = {
            "stored": lambda i: counted("butler/stored", {"sessionId": sid, "ref": in_ref}),
            "stored, no event stream": lambda i: counted("butler/stored", {"sessionId": quiet, "ref": in_ref}),
            "get": lambda i: counted("butler/get", {"sessionId": sid, "ref": in_ref}),
            "put": lambda i: counted("butler/put", {"sessionId": sid, "ref": {"id": next(next_out)["id"]}, "payload": {"encoding": "json", "value": value}}),
        }
        echo_call = lambda i: echo.request_async("test/echo", {"value": value, "i": i})  # noqa: E731
        sequential(300, echo_call)
        out = {}
        frames_start, requests_start = conn.frames_received, requests[0]
        for name, call in calls.items():
            sequential(300, call)  # warm-up
            m = out[name] = {"seq": [], "seqEcho": [], "par": [], "parEcho": []}
            for _ in range(pairs):
                m["seqEcho"].append(sequential(seq, echo_call))
                m["seq"].append(sequential(seq, call))
                m["parEcho"].append(pipelined(par, echo_call))
                m["par"].append(pipelined(par, call))
        conn.request("server/ping")  # its answer comes after every event of the calls before it
        out["provenanceEvents"] = conn.frames_received - frames_start - (requests[0] - requests_start) - 1
        json.dump(out, sys.stdout)
    finally:
        echo.kill()
        echo.close(0.5)
        conn.close()


if __name__ == "__main__":
    main()
