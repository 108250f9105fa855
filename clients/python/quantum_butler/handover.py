"""The queue between the reader thread and the dispatcher thread.

A first-in first-out queue whose consumer (the dispatcher) takes everything queued at
once, and is woken by the reader as rarely as the delivery latency allows:

* The reader adds items with :meth:`add` and calls :meth:`wake` just before it waits for
  the pipe, so one chunk read from the sidecar costs at most one wake however many
  notifications it holds, and the wake comes after the responses of that chunk have been
  resolved (the caller waiting on a response is not queued behind the dispatcher for the
  interpreter lock).
* :meth:`wake` wakes the consumer only from its idle sleep. Once woken, the consumer may
  *linger* (``take(linger)``): before taking again it pauses up to ``linger`` seconds while
  the reader's items gather, and the reader does not wake it meanwhile. Under a steady
  stream of calls the consumer then wakes about once per ``linger`` however many calls
  and batches arrive, instead of once per call (a thread wake costs a small call's worth of
  CPU); the first item after an idle spell is still delivered at once.
* Other threads use :meth:`put` (add and wake at once): a put ends a linger too, so a
  barrier (``flush_notifications``), a deferred call or the stop item never waits for it.

Order is the order of :meth:`add`/:meth:`put` calls: a barrier put after a notification was
added is taken after it.
"""
from __future__ import annotations

import collections
import threading
from typing import Any, Deque, List

__all__ = ["HandOver"]

_AWAKE, _SLEEPING, _LINGERING = 0, 1, 2


class HandOver:
    __slots__ = ("_items", "_lock", "_wake", "_state", "_urgent")

    def __init__(self) -> None:
        self._items: Deque[Any] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Lock()  # held while nobody is to be woken
        self._wake.acquire()
        self._state = _AWAKE
        self._urgent = False  # a put() since the last take: do not linger

    def add(self, item: Any) -> None:
        """Queue an item without waking the consumer (call :meth:`wake` later)."""
        self._items.append(item)

    def wake(self) -> None:
        """Wake the consumer if it sleeps idle and something is queued (not while it lingers)."""
        if self._state == _SLEEPING and self._items:
            with self._lock:
                if self._state == _SLEEPING:
                    self._state = _AWAKE
                    self._wake.release()

    def put(self, item: Any) -> None:
        """Queue an item and wake the consumer, from its idle sleep or its linger."""
        self._items.append(item)
        self._urgent = True  # written before _state is read: see _pause
        if self._state != _AWAKE:
            with self._lock:
                if self._state != _AWAKE:
                    self._state = _AWAKE
                    self._wake.release()

    def take(self, linger: float = 0.0) -> List[Any]:
        """Everything queued, oldest first; sleeps until there is something.

        With ``linger`` > 0, first pause up to that many seconds (unless something was put)
        so that what the reader adds meanwhile is taken in one go.
        """
        if linger > 0:
            self._pause(linger)
        items = self._items
        while True:
            if items:
                self._urgent = False
                out = list(items)
                for _ in range(len(out)):
                    items.popleft()
                return out
            with self._lock:
                if items:
                    continue
                self._state = _SLEEPING
            if items:  # added while we went to sleep: its wake() may have seen us awake
                with self._lock:
                    if self._state == _SLEEPING:
                        self._state = _AWAKE
                        continue
                # else a wake() has released the lock: the acquire below returns at once
            self._wake.acquire()

    def _pause(self, linger: float) -> None:
        with self._lock:
            self._state = _LINGERING  # written before _urgent is read: a racing put() sees one or the other
            if self._urgent:
                self._state = _AWAKE
                return
        if self._wake.acquire(True, linger):
            return  # a put() woke us (it set _AWAKE)
        with self._lock:
            if self._state == _LINGERING:
                self._state = _AWAKE
                return
            # A put() released the lock just as the pause ran out: take that release back.
            self._wake.acquire()
