"""The retry policy of dependency calls: one for sync calls, async calls and streams.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports only the standard library; never imports `compiler`.

The policy decides what is retried, how long to wait, and when to give up; the caller
gives it `send_once`, a callable that makes one attempt and answers either the final
response (whatever it is: the policy never looks at it) or a `Failure` worth retrying:
a connection error, a broken reply or a timeout (`Failure.of_error`), or a reply whose
status says "try again" (`Failure.of_status`, for `RETRY_STATUSES` only). Anything else
`send_once` raises goes through at once: an error reply of user code (500), a
validation error (422) and every other status are final responses, never retried.
`send_once` releases whatever it holds (a concurrency slot, the connection) before it
answers a `Failure`.

Waits: after failed attempt `k` (1-based), a random time between half and all of
`min(backoff_max_sec, backoff_base_sec * 2 ** (k - 1))` (exponential backoff with
jitter), but at least the reply's `Retry-After` (a number of seconds), itself capped at
`backoff_max_sec`. Each retry is logged at info level.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["RETRY_STATUSES", "Failure", "RetryPolicy"]

_T = TypeVar("_T")

#: HTTP statuses that mean "try again": the service is (re)starting or overloaded.
RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed attempt worth retrying: an exception, or a reply with a retry status.

    Attributes:
        error: the connection error, broken reply or timeout; None for a reply.
        status: the reply's HTTP status (one of `RETRY_STATUSES`); None for an error.
        reason: the reply's reason phrase.
        retry_after: the reply's `Retry-After`, in seconds, if it gave a number.
    """

    error: BaseException | None = None
    status: int | None = None
    reason: str = ""
    retry_after: float | None = None

    @classmethod
    def of_error(cls, error: BaseException) -> Failure:
        """An attempt that raised (connection error, broken reply, timeout)."""
        return cls(error=error)

    @classmethod
    def of_status(
        cls, status: int, reason: str, headers: Mapping[str, str]
    ) -> Failure | None:
        """The failure of a reply with a retry status; None for any other (final) reply.

        Args:
            status: the reply's HTTP status.
            reason: its reason phrase.
            headers: its headers (case-insensitive, as httpx's and aiohttp's are).
        """
        if status not in RETRY_STATUSES:
            return None
        try:
            retry_after: float | None = max(0.0, float(headers.get("retry-after", "")))
        except ValueError:
            retry_after = None
        return cls(status=status, reason=reason, retry_after=retry_after)

    def __str__(self) -> str:
        if self.error is None:
            return f"HTTP {self.status}"
        return f"{type(self.error).__name__}: {self.error}"


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a call gets and how long it waits between them.

    Attributes:
        attempts: the total number of attempts (`RPCOptions.retries`, at least 1).
        backoff_base_sec: the longest wait after the first failed attempt.
        backoff_max_sec: the longest wait after any attempt (and for `Retry-After`).
        name: what is called, for the log line of a retry (service and URL).
        log: the logger of those lines.
    """

    attempts: int
    backoff_base_sec: float
    backoff_max_sec: float
    name: str
    log: logging.Logger

    def delay(self, attempt: int, failure: Failure) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based); logged."""
        ceiling = min(self.backoff_max_sec, self.backoff_base_sec * 2 ** (attempt - 1))
        delay = random.uniform(ceiling / 2, ceiling)
        if failure.retry_after is not None:
            delay = max(delay, min(failure.retry_after, self.backoff_max_sec))
        self.log.info(
            "Retrying %s in %.2f s after attempt %d of %d failed: %s",
            self.name,
            delay,
            attempt,
            self.attempts,
            failure,
        )
        return delay

    def run(
        self,
        send_once: Callable[[], _T | Failure],
        exhausted: Callable[[Failure], Exception],
    ) -> _T:
        """Call `send_once` until it answers a response; block while waiting.

        Raises:
            Exception: `exhausted(last failure)` when every attempt failed (chained
                to the failure's exception, if any).
        """
        failure: Failure | None = None
        for attempt in range(1, self.attempts + 1):
            if failure is not None:
                time.sleep(self.delay(attempt - 1, failure))
            outcome = send_once()
            if not isinstance(outcome, Failure):
                return outcome
            failure = outcome
        assert failure is not None  # at least one attempt ran
        raise exhausted(failure) from failure.error

    async def arun(
        self,
        send_once: Callable[[], Awaitable[_T | Failure]],
        exhausted: Callable[[Failure], Exception],
    ) -> _T:
        """`run` for async code: awaits `send_once` and sleeps without blocking."""
        failure: Failure | None = None
        for attempt in range(1, self.attempts + 1):
            if failure is not None:
                await asyncio.sleep(self.delay(attempt - 1, failure))
            outcome = await send_once()
            if not isinstance(outcome, Failure):
                return outcome
            failure = outcome
        assert failure is not None  # at least one attempt ran
        raise exhausted(failure) from failure.error
