"""The bound on notifications read from the sidecar and not yet delivered.

The reader hands notifications to the dispatcher thread (:mod:`.handover`) and reads on. A host
callback slower than the sidecar's stream would let them pile up without end (a callback taking
2 ms an event held 27,000 events after 30,000 calls, and growing): so the reader counts the bytes
it queues (``added``) and the dispatcher those it takes (``taken``), each the only writer of its
count, and before the reader reads the pipe again it waits while more than ``limit`` bytes wait to
be taken. It then reads nothing, so the sidecar's output fills and it stops taking requests: the
host's calls slow to its callback's pace, and nothing is dropped. The dispatcher holds what it took
until it has delivered it, so at most about twice ``limit`` (and a chunk read) is held.

Waiting must not deadlock a host, so the reader reads on when:

* a request made on the dispatcher thread (from a callback) waits for its answer;
* the dispatcher has delivered nothing for ``stall`` seconds: a callback waiting for something
  only a response can bring (another thread's call). Counted in ``stalls``; the reader does not
  wait again until the dispatcher delivers something.
* the connection closes.
"""
from __future__ import annotations

import threading
from typing import Callable

__all__ = ["Backlog"]


class Backlog:
    __slots__ = ("limit", "added", "taken", "progress", "stalls", "_room", "_waiting", "_closed", "_stalled_at")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        #: Bytes queued by the reader, and taken by the dispatcher (each written by one thread only).
        self.added = 0
        self.taken = 0
        #: Bumped by the dispatcher as it delivers: what tells a slow callback from a stuck one.
        self.progress = 0
        #: Times the reader read on because the dispatcher had delivered nothing for ``stall`` seconds.
        self.stalls = 0
        self._room = threading.Event()
        self._waiting = False  # the reader waits on _room: only then is it set (2 us a take otherwise)
        self._closed = False
        self._stalled_at = -1

    def took(self, n: int) -> None:
        """The dispatcher took ``n`` bytes off the queue."""
        self.taken += n  # before _waiting is read: a reader that sets it after sees this count
        self.progress += 1
        if self._waiting:
            self._room.set()

    def close(self) -> None:
        """Never wait again (the connection is closing)."""
        self._closed = True
        self._room.set()

    def wait_for_room(self, read_on: Callable[[], bool], stall: float = 1.0, step: float = 0.05) -> None:
        """Called by the reader before it reads: returns once at most ``limit`` bytes wait, or when
        it must read on (see the module docstring); ``read_on()`` is true while a request made on
        the dispatcher thread waits for its answer."""
        if self.added - self.taken <= self.limit or self.progress == self._stalled_at:
            return
        room, waited, progress = self._room, 0.0, self.progress
        self._waiting = True
        try:
            while self.added - self.taken > self.limit and not self._closed and not read_on():
                room.clear()
                if self.added - self.taken <= self.limit or self._closed:
                    return  # taken between the test and the clear
                if room.wait(step):
                    continue
                if self.progress != progress:
                    waited, progress = 0.0, self.progress
                    continue
                waited += step
                if waited >= stall:
                    self.stalls += 1
                    self._stalled_at = progress
                    return
        finally:
            self._waiting = False
