"""What waking a Python thread costs that thread's CPU on this machine, by how it is woken.

    python3 test/bench/python_wake_cost.py [--n=300] [--interval=0.002]

The Python client's dispatcher lingers (``dispatch_linger``) with a timed lock acquire that, under a
stream of calls, runs out each time: its CPU per call is about (wakes per call) x (cost of a wake)
+ (cost of the events). This measures, for one thread, the CPU (``/proc/self/task/*/schedstat``)
per wake: a timed ``Lock.acquire`` that runs out, ``time.sleep``, ``select`` and ``poll`` timeouts,
and a timed acquire ended by another thread's ``release`` (the waker's own cost not counted).
Each figure is the mean of ``--n`` wakes ``--interval`` seconds apart. Standard library only; Linux.
"""
from __future__ import annotations

import os
import select
import sys
import threading
import time
from typing import Callable, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from python_event_cost import _option  # noqa: E402


def _cpu_ns(tid: int) -> int:
    with open("/proc/self/task/%d/schedstat" % tid) as f:
        return int(f.read().split()[0])


def _measure(n: int, wait: Callable[[], None], waker: Callable[[], None] = None, interval: float = 0.0) -> Tuple[float, float]:
    """(CPU us, wall us) per call of ``wait`` on a new thread; ``waker`` is called every ``interval`` s meanwhile."""
    out: List[float] = []
    done = threading.Event()

    def body() -> None:
        tid = threading.get_native_id()
        c0, w0 = _cpu_ns(tid), time.perf_counter()
        for _ in range(n):
            wait()
        out.extend(((_cpu_ns(tid) - c0) / n / 1e3, (time.perf_counter() - w0) / n * 1e6))
        done.set()

    t = threading.Thread(target=body)
    t.start()
    while waker is not None and not done.is_set():
        time.sleep(interval)
        waker()
    t.join()
    return out[0], out[1]


def main(argv: List[str]) -> None:
    n, interval = int(_option(argv, "n", "300")), float(_option(argv, "interval", "0.002"))
    lock = threading.Lock()
    lock.acquire()
    r, _w = os.pipe()
    poller = select.poll()
    poller.register(r, select.POLLIN)
    woken = threading.Lock()
    woken.acquire()

    def release() -> None:
        try:
            woken.release()
        except RuntimeError:  # not waiting yet: the next wait returns at once
            pass

    res: Dict[str, Tuple[float, float]] = {
        "Lock.acquire(timeout) runs out": _measure(n, lambda: lock.acquire(True, interval)),
        "time.sleep": _measure(n, lambda: time.sleep(interval)),
        "select timeout": _measure(n, lambda: select.select([r], [], [], interval)),
        "poll timeout": _measure(n, lambda: poller.poll(interval * 1e3)),
        "Lock.acquire(1 s) ended by a release": _measure(n, lambda: woken.acquire(True, 1.0), release, interval),
    }
    print("load average %s; %d wakes %.1f ms apart; per wake:" % (" ".join("%.2f" % x for x in os.getloadavg()), n, interval * 1e3))
    for name, (cpu, wall) in res.items():
        print("  %-40s CPU %6.1f us  wall %7.0f us" % (name, cpu, wall))


if __name__ == "__main__":
    main(sys.argv[1:])
