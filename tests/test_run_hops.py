"""Errors, trace context and request ids across hops, through `chainsc run`.

A chain of our own is built with the real CLI and served with `chainsc run` (one real
server per Chainlet on 127.0.0.1, every request logged: `CHAINSC_LOG_LEVEL=debug`); the
test calls the entrypoint over HTTP. `Entry` reads three streams: `SyncTokens` (a sync
stream of `str`, JSON request), `AsyncTokens` (an async stream of `bytes`,
`use_binary=True`) and `Relay` (an async stream, JSON), which streams on what
`SyncTokens` streams to it (`use_binary=True`): three hops. The token streams raise the
user's own `QuotaExceeded` after two chunks when asked to.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import CHAINSC, REPO, run_cli

pytestmark = pytest.mark.slow

CHAIN = '''\
"""Errors, trace context and request ids across hops (tests/test_run_hops.py)."""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator

import pydantic
import truss_chains as chains


class QuotaExceeded(Exception):
    """The user's own exception class, raised inside a stream."""


class Report(pydantic.BaseModel):
    chunks: list[str]
    caught: str = ""
    message: str = ""


class SyncTokens(chains.ChainletBase):
    """A sync stream of text."""

    def run_remote(self, count: int, fail_at: int = -1) -> Iterator[str]:
        for index in range(count):
            if index == fail_at:
                raise QuotaExceeded(f"quota exceeded at token {index}")  # sync raise
            yield f"s{index} "


class AsyncTokens(chains.ChainletBase):
    """An async stream of bytes."""

    async def run_remote(self, count: int, fail_at: int = -1) -> AsyncIterator[bytes]:
        for index in range(count):
            await asyncio.sleep(0)
            if index == fail_at:
                raise QuotaExceeded(f"quota exceeded at token {index}")  # async raise
            yield f"a{index} ".encode()


class Relay(chains.ChainletBase):
    """The middle hop: streams on what SyncTokens streams (msgpack requests)."""

    def __init__(
        self, tokens: SyncTokens = chains.depends(SyncTokens, use_binary=True)
    ) -> None:
        self._tokens = tokens

    async def run_remote(self, count: int, fail_at: int = -1) -> AsyncIterator[str]:
        tokens = self._tokens.run_remote(count, fail_at)
        while (token := await asyncio.to_thread(next, tokens, None)) is not None:  # relay
            yield token.upper()


def collect(stream: Iterator[str], into: list[str]) -> None:
    for chunk in stream:  # collect
        into.append(chunk)


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(
        self,
        sync_tokens: SyncTokens = chains.depends(SyncTokens),
        async_tokens: AsyncTokens = chains.depends(AsyncTokens, use_binary=True),
        relay: Relay = chains.depends(Relay),
    ) -> None:
        self._sync_tokens = sync_tokens
        self._async_tokens = async_tokens
        self._relay = relay

    async def run_remote(
        self, source: str, count: int, fail_at: int = -1, catch: bool = True
    ) -> Report:
        received: list[str] = []
        try:
            if source == "sync":
                stream = self._sync_tokens.run_remote(count, fail_at)
                await asyncio.to_thread(collect, stream, received)  # entry sync
            elif source == "async":
                async for chunk in self._async_tokens.run_remote(count, fail_at):
                    received.append(chunk.decode())
            elif source == "file":
                with open(os.path.join(os.path.dirname(__file__), "missing.txt")) as file:
                    received.append(file.read())
            else:
                async for text in self._relay.run_remote(count, fail_at):  # entry relay
                    received.append(text)
        except QuotaExceeded as exc:
            if not catch:
                raise
            return Report(chunks=received, caught=type(exc).__name__, message=str(exc))
        return Report(chunks=received)
'''


def line_of(marker: str) -> int:
    """The line of CHAIN (1-based) that holds `marker`: what a traceback must name."""
    (number,) = [
        index for index, line in enumerate(CHAIN.splitlines(), 1) if marker in line
    ]
    return number


REQUEST_LINE = re.compile(
    r"^(?P<service>\w+)\s+\| \S+ DEBUG \[(?P=service)\] "
    r"\[request_id=(?P<request_id>\S+) trace_id=(?P<trace_id>[0-9a-f]{32})\] "
    r"POST /run_remote (?P<status>\d+) [\d.]+ ms "
    r"\(span_id=(?P<span_id>[0-9a-f]{16}) parent_id=(?P<parent_id>[0-9a-f]{16}|-)\)$"
)
SERVICES = ("Entry", "Relay", "SyncTokens", "AsyncTokens")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Running:
    """`chainsc run` of the built chain, its output read as it comes."""

    root: Path
    out: Path
    process: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def post(self, body: object, **headers: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/run_remote", json=body, headers=headers, timeout=60
        )

    def request_lines(self, since: int = 0) -> list[re.Match[str]]:
        return [
            match
            for line in self.lines[since:]
            if (match := REQUEST_LINE.match(line)) is not None
        ]

    def wait_for_requests(
        self, request_id: str | None, services: tuple[str, ...], since: int = 0
    ) -> dict[str, re.Match[str]]:
        """The request line of each of `services` for `request_id` (None: any new one)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = {
                match["service"]: match
                for match in self.request_lines(since)
                if request_id is None or match["request_id"] == request_id
            }
            if set(services) <= set(found):
                return found
            time.sleep(0.05)
        raise AssertionError(
            f"no request line of {services} for {request_id}:\n"
            + "\n".join(self.lines[since:])
        )

    def assert_no_server_path(self, text: str) -> None:
        """No absolute path of the servers in a reply."""
        for path in {str(self.root), str(self.root.resolve()), str(self.out.resolve())}:
            assert path not in text
        assert "/tmp/" not in text
        assert str(REPO) not in text
        assert not re.search(r'File "/', text), text


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("hops")
    (root / "chain.py").write_text(CHAIN)
    out = root / "out"
    built = run_cli("build", str(root / "chain.py"), "-o", str(out))
    assert built.returncode == 0, built.stderr
    port = _free_port()
    env = {**os.environ, "CHAINSC_LOG_LEVEL": "debug", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [str(CHAINSC), "run", str(out), "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Running(root, out, process, f"http://127.0.0.1:{port}")
    reader = threading.Thread(target=served.read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("ready; entrypoint" in line for line in served.lines):
            assert process.poll() is None, "\n".join(served.lines)
            assert time.monotonic() < deadline, "\n".join(served.lines)
            time.sleep(0.1)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        reader.join(10)
        assert process.stdout is not None
        process.stdout.close()


@pytest.mark.parametrize(
    ("source", "chunks", "raised_at"),
    [
        ("sync", ["s0 ", "s1 "], "# sync raise"),
        ("async", ["a0 ", "a1 "], "# async raise"),
    ],
)
def test_an_error_inside_a_stream_is_caught_by_its_class_at_the_entrypoint(
    running: Running, source: str, chunks: list[str], raised_at: str
) -> None:
    reply = running.post({"source": source, "count": 4, "fail_at": 2})
    assert reply.status_code == 200, reply.text
    report = reply.json()
    # The user's own class, after the chunks that came before it.
    assert report["chunks"] == chunks
    assert report["caught"] == "QuotaExceeded"
    message = report["message"]
    service = "SyncTokens" if source == "sync" else "AsyncTokens"
    assert f"Error calling dependency Chainlet `{service}`" in message
    assert "in its stream after 2 chunks." in message
    # The remote traceback names the user's file and line.
    assert f'File "chain.py", line {line_of(raised_at)}, in run_remote' in message
    assert 'raise QuotaExceeded(f"quota exceeded at token {index}")' in message
    assert message.rstrip().endswith("(Exception class defined in `chain`.)")
    assert "QuotaExceeded: quota exceeded at token 2" in message
    running.assert_no_server_path(reply.text)


def test_an_error_two_streams_down_is_caught_by_its_class_through_a_hop_without_it(
    running: Running,
) -> None:
    """`Relay`'s package does not carry `QuotaExceeded`; the class still reaches `Entry`."""
    assert "QuotaExceeded" not in (running.out / "relay/packages/chain.py").read_text()
    reply = running.post({"source": "relay", "count": 4, "fail_at": 2})
    assert reply.status_code == 200, reply.text
    report = reply.json()
    assert report["chunks"] == ["S0 ", "S1 "]
    assert report["caught"] == "QuotaExceeded"
    message = report["message"]
    assert message.index("Chainlet `Relay`") < message.index("Chainlet `SyncTokens`")
    assert f'File "chain.py", line {line_of("# relay")}, in run_remote' in message
    assert f'File "chain.py", line {line_of("# sync raise")}, in run_remote' in message
    running.assert_no_server_path(reply.text)


def test_an_uncaught_stream_error_reaches_the_http_caller_with_every_hop(
    running: Running,
) -> None:
    reply = running.post({"source": "relay", "count": 4, "fail_at": 2, "catch": False})
    assert reply.status_code == 500, reply.text
    running.assert_no_server_path(reply.text)
    error = reply.json()["error"]
    assert error["exception_cls_name"] == "QuotaExceeded"
    assert error["exception_module_name"] == "chain"
    # Entry's own frame: the user's file and line, nothing of the runtime.
    assert error["user_stack_trace"] == [
        {
            "filename": "chain.py",
            "lineno": line_of("# entry relay"),
            "name": "run_remote",
            "line": "async for text in self._relay.run_remote(count, fail_at):  # entry relay",
        }
    ]
    message = error["exception_message"]
    # Every hop, outermost first, each naming `chain.py` and the line.
    assert message.index("Chainlet `Relay`") < message.index("Chainlet `SyncTokens`")
    relay_frame = f'File "chain.py", line {line_of("# relay")}, in run_remote'
    root_frame = f'File "chain.py", line {line_of("# sync raise")}, in run_remote'
    assert message.index(relay_frame) < message.index(root_frame)
    # The thread the Relay read its stream through is not in its traceback.
    assert "<stdlib>" not in message
    assert message.rstrip().endswith("╰   (Exception class defined in `chain`.)")


def test_a_failed_sync_call_from_a_thread_names_the_users_frames(
    running: Running,
) -> None:
    reply = running.post({"source": "sync", "count": 3, "fail_at": 0, "catch": False})
    assert reply.status_code == 500, reply.text
    running.assert_no_server_path(reply.text)
    error = reply.json()["error"]
    # An error before the first chunk is a 500 of the dependency, as before.
    assert "HTTP status=500" in error["exception_message"]
    frames = [(f["filename"], f["lineno"]) for f in error["user_stack_trace"]]
    assert frames == [
        ("chain.py", line_of("# entry sync")),
        ("<stdlib>/asyncio/threads.py", frames[1][1]),
        ("<stdlib>/concurrent/futures/thread.py", frames[2][1]),
        ("chain.py", line_of("# collect")),
    ]


def test_the_packages_own_path_is_cut_from_an_error_message(running: Running) -> None:
    reply = running.post({"source": "file", "count": 0})
    assert reply.status_code == 500, reply.text
    error = reply.json()["error"]
    assert error["exception_cls_name"] == "FileNotFoundError"
    assert error["exception_message"] == (
        "[Errno 2] No such file or directory: 'missing.txt'"
    )
    running.assert_no_server_path(reply.text)


def test_trace_context_and_request_id_reach_every_hop_and_every_log(
    running: Running,
) -> None:
    trace_id = os.urandom(16).hex()
    span_id = os.urandom(8).hex()
    request_id = f"test-{os.urandom(4).hex()}"
    reply = running.post(
        {"source": "relay", "count": 3},
        traceparent=f"00-{trace_id}-{span_id}-01",
        tracestate="vendor=opaque",
        **{"x-request-id": request_id},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["chunks"] == ["S0 ", "S1 ", "S2 "]
    found = running.wait_for_requests(request_id, ("Entry", "Relay", "SyncTokens"))
    for match in found.values():
        assert match["trace_id"] == trace_id
        assert match["status"] == "200"
    # Each hop is a span of its own, whose parent is its caller's: the test's span, then
    # Entry's, then Relay's.
    entry, relay, tokens = (found[name] for name in ("Entry", "Relay", "SyncTokens"))
    assert entry["parent_id"] == span_id
    assert relay["parent_id"] == entry["span_id"]
    assert tokens["parent_id"] == relay["span_id"]
    assert len({span_id, entry["span_id"], relay["span_id"], tokens["span_id"]}) == 4


def test_a_request_without_ids_gets_one_at_the_entrypoint_for_every_hop(
    running: Running,
) -> None:
    since = len(running.lines)
    reply = running.post({"source": "relay", "count": 1})
    assert reply.status_code == 200, reply.text
    entry = running.wait_for_requests(None, ("Entry",), since)["Entry"]
    assert entry["parent_id"] == "-"  # the trace starts at the entrypoint
    assert re.fullmatch(r"[0-9a-f]{32}", entry["request_id"])
    found = running.wait_for_requests(
        entry["request_id"], ("Entry", "Relay", "SyncTokens"), since
    )
    assert {match["trace_id"] for match in found.values()} == {entry["trace_id"]}


def test_an_error_log_line_names_the_request(running: Running) -> None:
    request_id = f"test-{os.urandom(4).hex()}"
    reply = running.post(
        {"source": "async", "count": 3, "fail_at": 1}, **{"x-request-id": request_id}
    )
    assert reply.status_code == 200, reply.text
    running.wait_for_requests(request_id, ("Entry", "AsyncTokens"))
    assert any(
        line.startswith("AsyncTokens | ")
        and f"ERROR [AsyncTokens] [request_id={request_id} trace_id=" in line
        and "`AsyncTokens.run_remote` failed while streaming: QuotaExceeded" in line
        for line in running.lines
    ), "\n".join(running.lines)


def test_a_client_that_does_not_ask_for_frames_sees_a_cut_stream(
    running: Running,
) -> None:
    """curl, Truss Chains' stubs: plain chunks, then the connection is cut."""
    port = next(
        int(match.group(1))
        for line in running.lines
        if (
            match := re.search(
                r"\[SyncTokens\] Uvicorn running on http://127.0.0.1:(\d+)", line
            )
        )
    )
    body = {"count": 3, "fail_at": 1}
    with (
        httpx.Client(timeout=30) as http,
        http.stream(
            "POST", f"http://127.0.0.1:{port}/run_remote", json=body
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        received: list[bytes] = []
        with pytest.raises(httpx.RemoteProtocolError):
            received.extend(response.iter_raw())
    assert b"".join(received) == b"s0 "


def test_chainsc_call_reports_a_stream_that_broke_off(running: Running) -> None:
    port = next(
        int(match.group(1))
        for line in running.lines
        if (
            match := re.search(
                r"\[SyncTokens\] Uvicorn running on http://127.0.0.1:(\d+)", line
            )
        )
    )
    url = f"http://127.0.0.1:{port}"
    called = run_cli("call", "--url", url, "--json", '{"count": 3, "fail_at": 1}')
    assert called.returncode == 1
    assert called.stdout == "s0 "
    assert called.stderr == (
        f"chainsc: the stream of {url} broke off: the Chainlet raised while streaming "
        "(its error is in the `chainsc run` log)\n"
    )
