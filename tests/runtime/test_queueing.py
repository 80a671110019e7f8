"""Queueing for a dependency's `concurrency_limit` is measured and reported, as Truss's clients do.

Real calls to a real server on 127.0.0.1 whose replies take 0.2 s, through a client with a
limit of 2: the third and later concurrent calls wait, and the client reports it once its
report interval has passed (a chain shortens it as Truss's own test chains do).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pydantic
import pytest

from chainsc_runtime import RPCOptions
from chainsc_runtime.queueing import LOG_INTERVAL_SEC
from chainsc_runtime.transport import ChainletClient
from tests.runtime.httpserver import Reply, Request, ScriptedServer

ANY: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Any)


def slow(_request: Request) -> Reply:
    return Reply(200, 1, delay=0.2)


def _client(url: str) -> ChainletClient:
    return ChainletClient(
        service="Slow", url=url, options=RPCOptions(concurrency_limit=2)
    )


def _queueing_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and "queue" in record.getMessage()
    ]


def test_async_calls_that_wait_for_a_slot_are_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with ScriptedServer(slow) as server:
        client = _client(server.url)
        stats = client._async_semaphore_wrapper
        assert stats._log_interval_sec == LOG_INTERVAL_SEC
        stats._log_interval_sec = 0.0  # as Truss's throttling test chain sets it

        async def main() -> list[Any]:
            async with client:
                return await asyncio.gather(*(client.acall({}, ANY) for _ in range(6)))

        with caplog.at_level(logging.DEBUG, logger="chainsc_runtime.transport"):
            assert asyncio.run(main()) == [1] * 6
        assert server.max_in_flight <= 2
    lines = _queueing_lines(caplog)
    assert lines, caplog.text
    last = lines[-1]
    assert last.startswith("Calls to `Slow` queue for its concurrency_limit (2): ")
    assert "4 of the last 6 calls waited" in last
    assert "Raise `concurrency_limit` in `chains.depends(...)`" in last
    assert stats.waiting == 0
    assert stats.in_flight == 0


def test_sync_calls_from_threads_are_counted_apart_and_not_reported_before_the_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with ScriptedServer(slow) as server:
        client = _client(server.url)
        results: list[Any] = []

        def call() -> None:
            results.append(client.call({}, ANY))

        with (
            caplog.at_level(logging.DEBUG, logger="chainsc_runtime.transport"),
            client,
        ):
            threads = [threading.Thread(target=call) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert results == [1] * 4
    # The default interval (300 s) has not passed: nothing said yet, but counted.
    assert _queueing_lines(caplog) == []
    sync = client._sync_semaphore_wrapper
    assert len(sync._waits) == 4
    assert sorted(wait >= 0.1 for wait in sync._waits) == [False, False, True, True]
    assert sync.in_flight == 0
    assert sync.waiting == 0
    assert len(client._async_semaphore_wrapper._waits) == 0


def test_calls_that_never_wait_are_not_reported_as_queueing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with ScriptedServer(slow) as server:
        client = _client(server.url)
        client._async_semaphore_wrapper._log_interval_sec = 0.0

        async def main() -> None:
            async with client:
                for _ in range(3):
                    await client.acall({}, ANY)

        with caplog.at_level(logging.DEBUG, logger="chainsc_runtime.transport"):
            asyncio.run(main())
    assert _queueing_lines(caplog) == []
    assert "Calls to `Slow` do not queue." in caplog.text
