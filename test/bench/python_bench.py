"""The Python client's share of `npm run bench`: small calls through quantum_butler.rpc.Connection,
against the raw vscode-jsonrpc echo driven by the same Connection class (so the ratio is like for
like: same framing, reader thread and futures on both sides).

    python3 test/bench/python_bench.py SPEC.json   (written by run.ts; prints one JSON object)

SPEC: cli, echo (paths of the built CLI and echo server), pairs, seq, par, warmup, putWarmup, cost
(seq and par: calls per block and schedule, the kinds of every block round by round), value, input (a ref
stored by the runner's seed step is not shared: this script seeds its own), outputs (refs).
Chunks of the ceiling and of each call alternate; the runner computes the ratios. Beside the calls/s
of each chunk, "cpu" holds this process's CPU microseconds per call of each chunk. The event cost is
timed apart: `butler/stored` on a session with the default streams ("events") and on two opened
with `notifications: []` ("quiet", "quiet2") in short interleaved blocks in the order the runner's
schedule gives (test/bench/interleaved.ts, which also computes the figures); "interleaved" holds
every block's calls, seconds and CPU microseconds (this process's, and the sidecar's from /proc,
null where unknown), as rounds of blocks, for "seq" and "par".

So that a chunk is charged with its own work only: a call chunk ends once its events have reached
the host's callback (flush_notifications, timed), instead of leaving up to a dispatch linger's worth
to be delivered during the next chunk (often an echo chunk); the order within a pair alternates
(echo first, then the call first), so that whatever one chunk leaves behind (the sidecar's garbage,
undelivered events, a burst of load) does not always fall on the same side; and every kind is
warmed up first (the echo and each call, sequentially and 64 in flight, as the Node side does), then
the kinds take turns, one pair of each per round, in the reverse order on odd rounds, so that they are
measured over the same minutes: run one kind after another, the
first ran against a colder echo and sidecar, and a drift of the machine's load over the run fell
on one kind and not on the next ("stored" and "stored, no event stream", whose ratio is the event
cost, swapped places in two runs each at load 2.5-5.6, and the 64-in-flight event cost went from
0.23-0.37 to -0.03-0.04).
"""
import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from quantum_butler.rpc import Connection  # noqa: E402

LANES = 64


# CPU time of this process (all its threads) per call of the last chunk, in microseconds:
# a figure a busy machine disturbs far less than calls/s.
last_cpu = [0.0]


def sequential(n, call, settle=None):
    c, t = time.process_time(), time.perf_counter()
    for i in range(n):
        call(i).result()
    if settle is not None:
        settle()
    t, last_cpu[0] = time.perf_counter() - t, (time.process_time() - c) / n * 1e6
    return n / t


def pipelined(n, call, settle=None):
    window = collections.deque()
    c, t = time.process_time(), time.perf_counter()
    for i in range(n):
        if len(window) == LANES:
            window.popleft().result()
        window.append(call(i))
    while window:
        window.popleft().result()
    if settle is not None:
        settle()
    t, last_cpu[0] = time.perf_counter() - t, (time.process_time() - c) / n * 1e6
    return n / t


def sidecar_cpu_us(pid):
    """CPU microseconds so far of process pid, all its threads (/proc schedstat, ns); None where unknown."""
    try:
        ns = 0
        for task in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, task)) as f:
                    ns += int(f.read().split()[0])
            except OSError:
                pass  # a thread that ended meanwhile
        return ns / 1000
    except OSError:
        return None


def interleaved(schedule, run, n, calls, settle, pid):
    """Every block of the schedule (rounds of kinds), each n calls of its kind ended by settle."""
    rounds = []
    for kinds in schedule:
        rounds.append([])
        for kind in kinds:
            before = sidecar_cpu_us(pid)
            rate = run(n, calls[kind], settle)
            after = sidecar_cpu_us(pid)
            rounds[-1].append({
                "kind": kind, "calls": n, "seconds": n / rate,
                "sidecarCpu": None if before is None or after is None else after - before,
                "clientCpu": last_cpu[0] * n,
            })
    return rounds


def main():
    spec = json.load(open(sys.argv[1]))
    pairs, seq, par, value = spec["pairs"], spec["seq"], spec["par"], spec["value"]
    warmup = spec["warmup"]  # untimed calls of each kind first, sequentially and again 64 in flight
    put_warmup = spec["putWarmup"]  # put reaches its steady state later (see sidecar-bench.ts)
    echo = Connection(spec["echo"], initialize=False, watch_parent=False)
    conn = Connection(spec["cli"], watch_parent=False)
    # A host that listens: every event is handed to a callback on the dispatcher thread
    # (one hand-over per butler/provenanceBatch, which this client asks for).
    events = [0]

    def on_event(_event):
        events[0] += 1
    conn.on_notification("butler/provenance", on_event)

    try:
        inp, outputs = spec["input"], spec["outputs"]
        seed = conn.request("session/open", {"predicted": {"inputs": [], "outputs": [inp]}, "datastore": {"kind": "memory", "name": "py"}, "notifications": []})
        conn.request("butler/put", {"sessionId": seed["sessionId"], "ref": {"id": inp["id"]}, "payload": {"encoding": "json", "value": value}})
        conn.request("session/close", {"sessionId": seed["sessionId"]})
        sid = conn.request("session/open", {"predicted": {"inputs": [inp], "outputs": outputs}, "datastore": {"kind": "memory", "name": "py"}})["sessionId"]
        quiet = conn.request("session/open", {"predicted": {"inputs": [inp], "outputs": []}, "datastore": {"kind": "memory", "name": "py"}, "notifications": []})["sessionId"]
        quiet2 = conn.request("session/open", {"predicted": {"inputs": [inp], "outputs": []}, "datastore": {"kind": "memory", "name": "py"}, "notifications": []})["sessionId"]
        in_ref = {"id": inp["id"]}
        next_out = iter(outputs)
        calls = {
            "stored": lambda i: conn.request_async("butler/stored", {"sessionId": sid, "ref": in_ref}),
            "stored, no event stream": lambda i: conn.request_async("butler/stored", {"sessionId": quiet, "ref": in_ref}),
            "get": lambda i: conn.request_async("butler/get", {"sessionId": sid, "ref": in_ref}),
            "put": lambda i: conn.request_async("butler/put", {"sessionId": sid, "ref": {"id": next(next_out)["id"]}, "payload": {"encoding": "json", "value": value}}),
        }
        echo_call = lambda i: echo.request_async("test/echo", {"value": value, "i": i})  # noqa: E731
        out = {}
        cpu = out["cpu"] = {}
        events_start = events[0]
        settle = conn.flush_notifications  # the call's events have reached the callback
        sequential(warmup, echo_call)
        pipelined(warmup, echo_call)
        for name, call in calls.items():
            n = put_warmup if name == "put" else warmup
            sequential(n, call)
            pipelined(n, call)
            settle()
            out[name] = {"seq": [], "seqEcho": [], "par": [], "parEcho": []}
            cpu[name] = {"seq": [], "seqEcho": [], "par": [], "parEcho": []}
        for r in range(pairs):
            kinds = list(calls.items())
            for name, call in kinds if r % 2 == 0 else kinds[::-1]:
                m, u = out[name], cpu[name]
                for mode, run, n in (("seq", sequential, seq), ("par", pipelined, par)):
                    chunks = ((mode + "Echo", echo_call, None), (mode, call, settle))
                    for key, c, st in chunks if r % 2 == 0 else chunks[::-1]:
                        m[key].append(run(n, c, st))
                        u[key].append(last_cpu[0])
        # The event cost (see the docstring): every block, quiet ones too, ends with settle, so
        # that the blocks differ only in their session.
        cost = spec["cost"]
        stored = {
            "events": calls["stored"],
            "quiet": calls["stored, no event stream"],
            "quiet2": lambda i: conn.request_async("butler/stored", {"sessionId": quiet2, "ref": in_ref}),
        }
        sequential(warmup, stored["quiet2"])
        pipelined(warmup, stored["quiet2"])
        out["interleaved"] = {
            "seq": interleaved(cost["seq"]["schedule"], sequential, cost["seq"]["calls"], stored, settle, conn.pid),
            "par": interleaved(cost["par"]["schedule"], pipelined, cost["par"]["calls"], stored, settle, conn.pid),
        }
        conn.flush_notifications()  # every event read so far has reached the callback
        out["provenanceEvents"] = events[0] - events_start
        json.dump(out, sys.stdout)
    finally:
        echo.kill()
        echo.close(0.5)
        conn.close()


if __name__ == "__main__":
    main()
