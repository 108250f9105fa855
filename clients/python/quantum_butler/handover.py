"""The queue between the reader thread and the dispatcher thread.

A first-in first-out queue whose consumer (the dispatcher) is woken only when it sleeps,
and takes everything queued when it wakes. The reader adds items with :meth:`add` and
wakes the dispatcher with :meth:`wake` just before it waits for the pipe, so one chunk
read from the sidecar costs at most one wake however many notifications it holds, and
the wake comes after the responses of that chunk have been resolved (the caller waiting
on a response is not queued behind the dispatcher for the interpreter lock). Other
threads use :meth:`put` (add and wake at once).

Order is the order of :meth:`add`/:meth:`put` calls: a barrier put after a notification was
added is taken after it.
"""
from __future__ import annotations

import collections
import threading
from typing import Any, Deque, List

__all__ = ["HandOver"]


class HandOver:
    __slots__ = ("_items", "_lock", "_wake", "_sleeping")

    def __init__(self) -> None:
        self._items: Deque[Any] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Lock()  # held while nobody is to be woken
        self._wake.acquire()
        self._sleeping = False

    def add(self, item: Any) -> None:
        """Queue an item without waking the consumer (call :meth:`wake` later)."""
        self._items.append(item)

    def wake(self) -> None:
        """Wake the consumer if it sleeps and something is queued."""
        if self._sleeping and self._items:
            with self._lock:
                if self._sleeping:
                    self._sleeping = False
                    self._wake.release()

    def put(self, item: Any) -> None:
        """Queue an item and wake the consumer."""
        self._items.append(item)
        self.wake()

    def take(self) -> List[Any]:
        """Everything queued, oldest first; sleeps until there is something."""
        items = self._items
        while True:
            if items:
                out = list(items)
                for _ in range(len(out)):
                    items.popleft()
                return out
            with self._lock:
                if items:
                    continue
                self._sleeping = True
            if items:  # added while we went to sleep: its wake() may have seen us awake
                with self._lock:
                    if self._sleeping:
                        self._sleeping = False
                        continue
                # else a wake() has released the lock: the acquire below returns at once
            self._wake.acquire()
