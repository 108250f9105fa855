"""daf_butler's ``ButlerMetrics``, filled from a session's counters.

The sidecar counts a session's gets and puts (``butler/metrics``). daf_butler code records
them into a ``ButlerMetrics`` it owns: ``with butler.record_metrics() as m`` (pipe_base's
executor stores ``m.model_dump()`` in a quantum's metadata) or ``metrics=`` at construction.
A :class:`MetricsRecorder` gives such an object what the session counted while it was the
one recording: the counters are read when recording starts and stops, and the difference
is added to it.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Mapping, Optional

__all__ = ["ButlerMetrics", "MetricsRecorder"]

#: daf_butler's ButlerMetrics fields, all kept by the sidecar under the same names.
FIELDS = ("time_in_put", "time_in_get", "time_in_ingest", "n_get", "n_put", "n_ingest")


class ButlerMetrics:
    """daf_butler's ``ButlerMetrics`` fields (seconds in and counts of gets, puts and ingests).

    A daf_butler ``ButlerMetrics`` may be used instead wherever one is taken: only the fields
    it has are added to.
    """

    time_in_put: float
    time_in_get: float
    time_in_ingest: float
    n_get: int
    n_put: int
    n_ingest: int

    def __init__(self, **values: Any):
        unknown = set(values) - set(FIELDS)
        if unknown:
            raise TypeError("ButlerMetrics has no field(s) %s" % ", ".join(sorted(unknown)))
        self.reset()
        for name, value in values.items():
            setattr(self, name, value)

    def reset(self) -> None:
        for name in FIELDS:
            setattr(self, name, 0.0 if name.startswith("time_") else 0)

    def model_dump(self, **_: Any) -> Dict[str, Any]:
        """The fields as a dict, as pydantic's ``model_dump`` gives them."""
        return {name: getattr(self, name) for name in FIELDS}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ButlerMetrics):
            return self.model_dump() == other.model_dump()
        return NotImplemented

    def __repr__(self) -> str:
        return "ButlerMetrics(%s)" % ", ".join("%s=%r" % item for item in self.model_dump().items())


class MetricsRecorder:
    """Which ``ButlerMetrics`` records a session's counters now, and from which reading on.

    ``read`` returns the session's counters (``butler/metrics``). A session starts at zero, so
    the first recorder needs no reading. The client's ``metrics(reset=True)`` hands its reading
    over before the counters restart; a counter lower than at the last reading was reset by
    another client of the session: all of it is new.
    """

    def __init__(self, read: Callable[[], Mapping[str, Any]], metrics: Optional[Any] = None):
        self._read = read
        self._lock = threading.Lock()
        self._mark: Dict[str, Any] = {name: 0 for name in FIELDS}
        #: Given by the caller (``metrics=``): it is brought up to date when the session closes.
        self.given = metrics is not None
        self.current: Any = metrics if metrics is not None else ButlerMetrics()

    def flush(self, now: Optional[Mapping[str, Any]] = None, reset: bool = False) -> None:
        """Add what the session counted since the last reading to the current metrics: ``now`` is a
        reading taken already (by ``metrics()``), ``reset`` says the counters were zeroed after it."""
        with self._lock:
            if now is None:
                now = self._read()
            for name in FIELDS:
                value = now.get(name, 0)
                before = self._mark.get(name, 0)
                delta = value - before if value >= before else value
                if delta and hasattr(self.current, name):
                    setattr(self.current, name, getattr(self.current, name) + delta)
                self._mark[name] = 0 if reset else value

    def swap(self, metrics: Any) -> Any:
        """Flush into the current metrics, then make ``metrics`` current; returns the one before."""
        self.flush()
        before, self.current = self.current, metrics
        return before
