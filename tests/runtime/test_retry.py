"""The retry policy of the transport, for sync calls, async calls and both streams.

Each behaviour is checked on every path that sends (sync call, async call, sync stream,
async stream), against real servers on 127.0.0.1: what is retried (connection errors,
broken replies, timeouts, 502/503/504), what never is (user errors, 4xx, a stream that
started), the wait between attempts (backoff, `Retry-After`), the error raised when
every attempt failed, and the concurrency slot, which no failure may leak.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from typing import Any, ClassVar

import pydantic
import pytest

from chainsc_runtime import RPCOptions
from chainsc_runtime.errors import ChainletTimeoutError, ChainletUnavailableError
from chainsc_runtime.serving import error_detail
from chainsc_runtime.transport import ChainletClient
from tests.runtime.httpserver import Reply, Request, ScriptedServer

ANY: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Any)
PATHS = ["call", "acall", "stream", "astream"]


class Client(ChainletClient):
    """Test-sized backoff; `Retry-After` may stretch a wait up to 1 s."""

    BACKOFF_BASE_SEC: ClassVar[float] = 0.01
    BACKOFF_MAX_SEC: ClassVar[float] = 1.0


class StreamClient(Client):
    """A stream's read timeout (0.4 s) below its `timeout_sec`."""

    STREAMING_READ_TIMEOUT_SEC: ClassVar[float | None] = 0.4


def make(url: str, cls: type[Client] = Client, **options: Any) -> Client:
    return cls(service="Worker", url=url, options=RPCOptions(**options))


def send(client: Client, path: str) -> Any:
    """One request on `path`: the reply, or the stream's chunks joined (bytes)."""
    if path == "call":
        with client:
            return client.call({"n": 1}, ANY)
    if path == "stream":
        with client:
            return b"".join(client.stream({"n": 1}))

    async def main() -> Any:
        async with client:
            if path == "acall":
                return await client.acall({"n": 1}, ANY)
            return b"".join([chunk async for chunk in client.astream({"n": 1})])

    return asyncio.run(main())


def ok(path: str) -> Reply:
    """A successful reply for `path` (`send` returns `7` or `b"ab"`)."""
    return Reply(chunks=[b"a", b"b"]) if "stream" in path else Reply(200, 7)


def expected(path: str) -> object:
    return b"ab" if "stream" in path else 7


def after(
    failures: int, failure: Callable[[], Reply], path: str
) -> Callable[[Request], Reply]:
    """A handler: `failure()` for the first `failures` requests, then success."""
    count = 0

    def handler(request: Request) -> Reply:
        nonlocal count
        count += 1
        return failure() if count <= failures else ok(path)

    return handler


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("status", [502, 503, 504])
def test_retry_gateway_statuses_then_succeeds(path: str, status: int) -> None:
    handler = after(2, lambda: Reply(status, {"error": "warming up"}), path)
    with ScriptedServer(handler) as server:
        assert send(make(server.url, retries=3), path) == expected(path)
    assert len(server.requests) == 3


@pytest.mark.parametrize("path", PATHS)
def test_retry_exhausted_names_status_and_attempts(path: str) -> None:
    with (
        ScriptedServer(lambda request: Reply(503, b"")) as server,
        pytest.raises(ChainletUnavailableError) as info,
    ):
        send(make(server.url, retries=2), path)
    assert str(info.value) == (
        f"Chainlet `Worker` ({server.url}/run_remote) answered HTTP 503 "
        "Service Unavailable on 2 attempts."
    )
    assert info.value.status_code == 503
    assert info.value.service == "Worker"
    assert info.value.url == f"{server.url}/run_remote"
    assert len(server.requests) == 2


@pytest.mark.parametrize("path", PATHS)
def test_retry_connection_refused_names_service_url_and_attempts(path: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainletUnavailableError) as info:
        send(make(url, retries=2), path)
    assert str(info.value).startswith(
        f"Cannot reach Chainlet `Worker` ({url}/run_remote) (2 attempts): "
    )
    assert isinstance(info.value, ConnectionError)
    assert info.value.status_code is None


@pytest.mark.parametrize("path", ["call", "acall"])
def test_retry_reply_cut_before_its_end_is_retried(path: str) -> None:
    """A call whose reply broke off (connection closed mid-body) is sent again."""
    handler = after(1, lambda: Reply(chunks=[b"[1,"], cut=True), path)
    with ScriptedServer(handler) as server:
        assert send(make(server.url, retries=2), path) == 7
    assert len(server.requests) == 2


@pytest.mark.parametrize("path", PATHS)
def test_retry_timeouts_are_retried_then_named(path: str) -> None:
    cls = StreamClient if "stream" in path else Client
    with (
        ScriptedServer(lambda request: Reply(200, 1, delay=1.0)) as server,
        pytest.raises(ChainletTimeoutError) as info,
    ):
        send(make(server.url, cls, timeout_sec=0.3, retries=2), path)
    # A stream's reply must start within the shorter of `timeout_sec` and the read timeout.
    assert str(info.value) == (
        f"Timeout calling Chainlet `Worker` ({server.url}/run_remote): no reply within "
        "0.3 s (2 attempts)."
    )
    assert isinstance(info.value, TimeoutError)
    assert len(server.requests) == 2


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_retry_stream_start_timeout_names_the_read_timeout_when_shorter(
    path: str,
) -> None:
    with (
        ScriptedServer(lambda request: Reply(chunks=[b"a"], delay=1.2)) as server,
        pytest.raises(ChainletTimeoutError) as info,
    ):
        send(make(server.url, StreamClient, timeout_sec=5.0), path)
    assert str(info.value).endswith(": no reply within 0.4 s (1 attempt).")


@pytest.mark.parametrize("path", PATHS)
def test_retry_never_retries_a_user_error(path: str) -> None:
    def fail() -> Reply:
        try:
            raise ValueError("n is missing")
        except ValueError as exc:
            return Reply(500, error_detail(exc))

    with (
        ScriptedServer(lambda request: fail()) as server,
        pytest.raises(ValueError, match="n is missing"),
    ):
        send(make(server.url, retries=3), path)
    assert len(server.requests) == 1


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("status", [400, 401, 404, 422, 500, 501])
def test_retry_never_retries_other_statuses(path: str, status: int) -> None:
    with (
        ScriptedServer(lambda request: Reply(status, {"detail": []})) as server,
        pytest.raises(Exception, match=str(status)),
    ):
        send(make(server.url, retries=3), path)
    assert len(server.requests) == 1


@pytest.mark.parametrize("path", PATHS)
def test_retry_waits_at_least_retry_after(path: str) -> None:
    handler = after(1, lambda: Reply(503, b"", headers={"Retry-After": "0.4"}), path)
    with ScriptedServer(handler) as server:
        started = time.monotonic()
        assert send(make(server.url, retries=2), path) == expected(path)
        assert time.monotonic() - started >= 0.4


@pytest.mark.parametrize("path", ["call", "astream"])
def test_retry_after_is_capped_by_the_longest_backoff(path: str) -> None:
    handler = after(1, lambda: Reply(503, b"", headers={"Retry-After": "60"}), path)
    with ScriptedServer(handler) as server:
        started = time.monotonic()
        assert send(make(server.url, retries=2), path) == expected(path)
        assert time.monotonic() - started < 5  # BACKOFF_MAX_SEC is 1 s


def test_retry_backoff_doubles_with_jitter_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Slow(Client):
        BACKOFF_BASE_SEC: ClassVar[float] = 0.1
        BACKOFF_MAX_SEC: ClassVar[float] = 0.3

    handler = after(3, lambda: Reply(503, b""), "call")
    with (
        caplog.at_level(logging.INFO, logger="chainsc_runtime.transport"),
        ScriptedServer(handler) as server,
    ):
        assert send(make(server.url, Slow, retries=4), "call") == 7
    lines = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("Retrying")
    ]
    assert len(lines) == 3
    waits = [float(line.split(" in ")[1].split(" s ")[0]) for line in lines]
    # Attempt k waits between half and all of min(max, base * 2 ** (k - 1)).
    for wait, ceiling in zip(waits, [0.1, 0.2, 0.3], strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert lines[0] == (
        f"Retrying `Worker` ({server.url}/run_remote) in {waits[0]:.2f} s after "
        "attempt 1 of 4 failed: HTTP 503"
    )


@pytest.mark.parametrize("path", ["call", "stream"])
def test_retry_releases_the_sync_slot_on_every_failure(path: str) -> None:
    handler = after(2, lambda: Reply(503, b""), path)
    with ScriptedServer(handler) as server:
        client = make(server.url, retries=2, concurrency_limit=1)
        with pytest.raises(ChainletUnavailableError):
            send(client, path)  # two 503s: exhausted
        assert client._sync_slots.acquire(blocking=False)
        client._sync_slots.release()
        assert send(client, path) == expected(path)
        assert client._sync_slots.acquire(blocking=False)
        client._sync_slots.release()
    url = f"http://127.0.0.1:{free_port()}"
    client = make(url, retries=2, concurrency_limit=1)
    with pytest.raises(ChainletUnavailableError):
        send(client, path)
    assert client._sync_slots.acquire(blocking=False)


@pytest.mark.parametrize("path", ["acall", "astream"])
def test_retry_releases_the_async_slot_on_every_failure(path: str) -> None:
    async def main(url: str, refused: str) -> None:
        async with make(url, retries=2, concurrency_limit=1) as client:
            with pytest.raises(ChainletUnavailableError):
                await one(client)  # two 503s: exhausted
            assert not client._async_slots.locked()
            assert await one(client) == expected(path)
            assert not client._async_slots.locked()
            # Cancelled while waiting for the reply.
            task = asyncio.ensure_future(one(client))
            await asyncio.sleep(0.2)
            assert client._async_slots.locked()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not client._async_slots.locked()
        async with make(refused, retries=2, concurrency_limit=1) as client:
            with pytest.raises(ChainletUnavailableError):
                await one(client)
            assert not client._async_slots.locked()

    async def one(client: Client) -> Any:
        if path == "acall":
            return await client.acall({}, ANY)
        return b"".join([chunk async for chunk in client.astream({})])

    count = 0

    def handler(request: Request) -> Reply:
        nonlocal count
        count += 1
        if count <= 2:
            return Reply(503, b"")
        reply = ok(path)
        reply.delay = 1.0 if count == 4 else 0.0  # the 4th is cancelled while waiting
        return reply

    with ScriptedServer(handler) as server:
        asyncio.run(main(server.url, f"http://127.0.0.1:{free_port()}"))
