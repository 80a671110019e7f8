"""How long calls to a dependency wait for a slot of its `concurrency_limit`, logged now and then.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). A `ChainletClient` lets at most `concurrency_limit` calls of each kind (sync,
async) be in flight; the others wait. As Truss's dependency clients do, it keeps the waits
of the last 1,000 calls and, at most once per `_log_interval_sec` (300 s), logs a warning
when calls had to queue (a median or 90th percentile wait of a millisecond or more), else
a debug line. A chain may shorten the interval as Truss's own test chains do,
`dependency._async_semaphore_wrapper._log_interval_sec = 0.0`: the client keeps one
`QueueStats` per kind under the attribute names Truss's clients use.
Imports only the standard library; never imports `compiler`.
"""

from __future__ import annotations

import collections
import logging
import statistics
import threading
import time

__all__ = ["LOG_INTERVAL_SEC", "QueueStats"]

#: Truss's interval between two reports of one client's queueing.
LOG_INTERVAL_SEC = 300.0
#: How many of the latest waits a report is made of.
_KEPT_WAITS = 1000
#: A wait shorter than this is no wait.
_WAITED_SEC = 0.001


class QueueStats:
    """The waits for one client's slots of one kind, and when they were last reported."""

    def __init__(
        self,
        service: str,
        limit: int,
        log: logging.Logger,
        log_interval_sec: float = LOG_INTERVAL_SEC,
    ) -> None:
        self._service = service
        self._limit = limit
        self._log = log
        #: Seconds between two reports (a chain may set it, as on Truss's clients).
        self._log_interval_sec = log_interval_sec
        self._last_log = time.monotonic()
        self._waits: collections.deque[float] = collections.deque(maxlen=_KEPT_WAITS)
        self._lock = threading.Lock()
        #: Calls waiting for a slot now.
        self.waiting = 0
        #: Calls holding a slot now.
        self.in_flight = 0

    def queued(self) -> float:
        """A call starts waiting for a slot; its start time, for `acquired`."""
        with self._lock:
            self.waiting += 1
        return time.perf_counter()

    def acquired(self, since: float) -> None:
        """The call that started waiting at `since` holds a slot; report if it is time."""
        waited = time.perf_counter() - since
        with self._lock:
            self.waiting -= 1
            self.in_flight += 1
            self._waits.append(waited)
            now = time.monotonic()
            if now - self._last_log < self._log_interval_sec:
                return
            self._last_log = now
            waits = list(self._waits)
            waiting, in_flight = self.waiting, self.in_flight
        self._report(waits, waiting, in_flight)

    def abandoned(self) -> None:
        """A call that was waiting gave up (cancelled) without a slot."""
        with self._lock:
            self.waiting -= 1

    def released(self) -> None:
        """A call gave its slot back."""
        with self._lock:
            self.in_flight -= 1

    def _report(self, waits: list[float], waiting: int, in_flight: int) -> None:
        median = statistics.median(waits)
        p90 = statistics.quantiles(waits, n=10)[8] if len(waits) >= 10 else max(waits)
        if median < _WAITED_SEC and p90 < _WAITED_SEC:
            self._log.debug("Calls to `%s` do not queue.", self._service)
            return
        queued = sum(1 for wait in waits if wait >= _WAITED_SEC)
        self._log.warning(
            "Calls to `%s` queue for its concurrency_limit (%d): %d in flight, %d "
            "waiting; %d of the last %d calls waited (median %.3f s, p90 %.3f s). "
            "Raise `concurrency_limit` in `chains.depends(...)` if `%s` can take more "
            "at once, or spread the calls over time.",
            self._service,
            self._limit,
            in_flight,
            waiting,
            queued,
            len(waits),
            median,
            p90,
            self._service,
        )
