"""The queue from the reader thread to the dispatcher thread.

The reader ``add``\ s items (the deque's own ``append``) and calls :meth:`wake` before it waits for the pipe: at most
one wake per chunk read, after that chunk's responses are resolved. ``take(linger)`` takes
everything queued; it first pauses up to ``linger`` seconds, during which :meth:`wake` does
not wake it, so a stream of calls costs about one wake per linger (a thread wake costs a
small call's worth of CPU). :meth:`put` (other threads: barriers, deferred calls, stop)
adds and wakes, ending a linger too. Items are taken in the order added.
"""
from __future__ import annotations

import collections
import threading
from typing import Any, Callable, Deque, List

__all__ = ["HandOver"]

_AWAKE, _SLEEPING, _LINGERING = 0, 1, 2


class HandOver:
    __slots__ = ("_items", "_lock", "_wake", "_state", "_urgent", "add")

    def __init__(self) -> None:
        self._items: Deque[Any] = collections.deque()
        #: ``add(item)`` queues an item without waking the consumer (call :meth:`wake` later):
        #: the deque's own ``append``, so the reader pays no Python call per item.
        self.add: Callable[[Any], None] = self._items.append
        self._lock = threading.Lock()
        self._wake = threading.Lock()  # held while nobody is to be woken
        self._wake.acquire()
        self._state = _AWAKE
        self._urgent = False  # a put() since the last take: do not linger

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
        """Everything queued, oldest first; sleeps until there is something (after the linger)."""
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
