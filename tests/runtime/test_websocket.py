"""Websocket endpoints under the standalone server (`server.py`), with a real client.

A chain of websocket Chainlets is built once; each test runs `python server.py --port 0`
of a package in a subprocess on 127.0.0.1 and talks to it with the `websockets`
package's client (and the generated `client.py`, aiohttp's client underneath): every
method of the session the endpoint gets, the close codes, the refusals before the
handshake, the drain, and which classes the disconnect is (Starlette's, so FastAPI's).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from chainsc import api
from chainsc.write import WriteRefused, write_tree
from tests.runtime.test_server import Served, serve

pytestmark = pytest.mark.slow
T = TypeVar("T")

CHAIN = '''\
"""Websocket Chainlets that exercise the session's methods."""

import os
from pathlib import Path

import truss_chains as chains
from truss.base import truss_config


class Commands(chains.ChainletBase):
    """Runs what each text message says, until the client leaves."""

    remote_config = chains.RemoteConfig(
        options=chains.ChainletOptions(
            transport=truss_config.WebsocketOptions(ping_interval_seconds=7.5)
        )
    )

    async def run_remote(self, websocket: chains.WebSocketProtocol) -> None:
        await websocket.send_json({"x-test": websocket.headers.get("X-Test")})
        try:
            while True:
                command = await websocket.receive_text()
                if command == "bytes":
                    await websocket.send_bytes((await websocket.receive_bytes())[::-1])
                elif command == "json":
                    await websocket.send_json({"got": await websocket.receive_json()})
                elif command == "any":
                    message = await websocket.receive()
                    await websocket.send_text(f"{type(message).__name__}:{message!r}")
                elif command == "connected":
                    now = bool(websocket.is_connected())
                    awaited = await websocket.is_connected()
                    await websocket.send_text(f"{now} {awaited}")
                elif command == "iterate":
                    async for text in websocket.iter_text():
                        if text == "end":
                            break
                        await websocket.send_text(text.upper())
                    await websocket.send_text("iterated")
                elif command == "iterate-awaited":
                    async for text in await websocket.iter_text():
                        await websocket.send_text(text.upper())
                elif command == "wrong-kind":
                    await websocket.receive_text()
                elif command == "raise":
                    raise ValueError("no such command")
                elif command == "close":
                    await websocket.close(4000, "bye")
                    return
                elif command == "return":
                    return
                else:
                    await websocket.send_text(f"echo {command}")
        except Exception as exc:
            # Where the test can read which classes the disconnect is (and its code).
            marker = os.environ.get("TEST_MARKER")
            if marker and type(exc).__name__ == "WebSocketDisconnect":
                Path(marker).write_text(
                    " ".join(
                        [str(exc.code)]
                        + [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__]
                    )
                )
            raise


class Entry(chains.ChainletBase):
    async def run_remote(self, text: str) -> str:
        return text
'''


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chain built twice: `Commands` (a websocket) and `Entry` (HTTP) as entrypoints."""
    root = tmp_path_factory.mktemp("websocket")
    chain = root / "chain.py"
    chain.write_text(CHAIN)
    for entrypoint in ("Commands", "Entry"):
        built = api.build_file(chain, api.CheckOptions(entrypoint=entrypoint))
        assert built.files is not None, built.diagnostics
        written = write_tree(root / "out" / entrypoint.lower(), built.files)
        assert not isinstance(written, WriteRefused)
    return root / "out"


@pytest.fixture(scope="module")
def commands(out: Path) -> Iterator[Served]:
    with serve(out / "commands" / "commands") as served:
        yield served


def ws_url(served: Served, path: str = "/v1/websocket") -> str:
    return served.url.replace("http://", "ws://") + path


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


async def _opened(socket: ClientConnection) -> object:
    """The endpoint's first message: the `X-Test` header it saw."""
    return json.loads(await socket.recv())


def test_the_generated_package_is_a_websocket_package(out: Path) -> None:
    manifest = json.loads((out / "commands" / "chain.json").read_text())
    assert manifest["chainlets"]["chain.Commands"]["endpoint"] == "websocket"
    model = (out / "commands" / "commands" / "model" / "model.py").read_text()
    # Truss's contract: `websocket(ws)` and no `predict` (its server refuses both).
    assert "async def websocket(self, websocket: object) -> None:" in model
    assert "def predict" not in model
    # The pings of `WebsocketOptions`, as Truss's server hands them to uvicorn.
    assert (
        "websocket_ping_interval=7.5,"
        in (out / "commands" / "commands" / "server.py").read_text()
    )
    config = (out / "commands" / "commands" / "config.yaml").read_text()
    assert "transport:\n    kind: websocket\n    ping_interval_seconds: 7.5\n" in config


def test_every_method_of_the_session(commands: Served) -> None:
    async def talk() -> list[object]:
        async with websockets.connect(
            ws_url(commands), additional_headers={"x-test": "yes"}
        ) as socket:
            seen: list[object] = [await _opened(socket)]
            await socket.send("hello")
            seen.append(await socket.recv())
            await socket.send("bytes")
            await socket.send(b"\x00\x01\xff")
            seen.append(await socket.recv())
            await socket.send("json")
            await socket.send(json.dumps({"a": [1, "é"]}))
            seen.append(await socket.recv())
            for message in ("text", b"\x80"):
                await socket.send("any")
                await socket.send(message)
                seen.append(await socket.recv())
            await socket.send("connected")
            seen.append(await socket.recv())
            await socket.send("iterate")
            for text in ("a", "b", "end"):
                await socket.send(text)
            seen.extend([await socket.recv(), await socket.recv(), await socket.recv()])
            await socket.send("return")
            await socket.wait_closed()
            seen.append((socket.close_code, socket.close_reason))
            return seen

    assert run(talk()) == [
        {"x-test": "yes"},  # header names in any case
        "echo hello",
        b"\xff\x01\x00",
        '{"got":{"a":[1,"é"]}}',  # compact, as Starlette's send_json
        "str:'text'",
        "bytes:b'\\x80'",
        "True True",  # a bool, and awaitable (Truss's wrapper is `async def`)
        "A",
        "B",
        "iterated",
        (1000, ""),  # `run_remote` returned: a normal closure
    ]


def test_chainscs_own_path_serves_the_same_endpoint(commands: Served) -> None:
    async def talk() -> object:
        async with websockets.connect(ws_url(commands, "/run_remote")) as socket:
            await _opened(socket)
            await socket.send("ping")
            return await socket.recv()

    assert run(talk()) == "echo ping"


def test_close_codes_say_how_the_endpoint_ended(commands: Served) -> None:
    async def ending(command: str) -> tuple[int | None, str | None]:
        async with websockets.connect(ws_url(commands)) as socket:
            await _opened(socket)
            await socket.send(command)
            if command == "wrong-kind":
                await socket.send(b"not text")
            await socket.wait_closed()
            return socket.close_code, socket.close_reason

    assert run(ending("close")) == (4000, "bye")
    # An exception in user code: 1011 (as Truss's server), its class and message.
    assert run(ending("raise")) == (1011, "ValueError: no such command")
    code, reason = run(ending("wrong-kind"))
    assert code == 1011
    assert reason is not None
    assert reason.startswith("TypeError: expected a text message, got a binary one")
    assert "`Commands.run_remote` raised ValueError: no such command" in (
        commands.log.read_text()
    )


def test_iterating_the_awaited_iterator_ends_when_the_client_leaves(
    out: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "disconnect"
    with serve(
        out / "commands" / "commands", env={"TEST_MARKER": str(marker)}
    ) as served:

        async def talk() -> object:
            async with websockets.connect(ws_url(served)) as socket:
                await _opened(socket)
                await socket.send("iterate-awaited")
                await socket.send("x")
                answer = await socket.recv()
                await socket.close(4001, "done")
                return answer

        assert run(talk()) == "X"
        # The loop ended, so the next receive raised the disconnect: the endpoint
        # recorded its classes, and the server logged the client's leaving.
        deadline = asyncio.run(_until(marker.exists))
        assert deadline, served.log.read_text()
        code, *classes = marker.read_text().split()
        assert code == "4001"
        assert classes[0] == "chainsc_runtime.websocket.WebSocketDisconnect"
        # Starlette's class (`fastapi.WebSocketDisconnect` is it) and ours.
        assert "starlette.websockets.WebSocketDisconnect" in classes
        assert classes.count("chainsc_runtime.websocket.WebSocketDisconnect") == 2
        assert "The client left the websocket of `Commands.run_remote`" in (
            served.log.read_text()
        )


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return False


def test_http_requests_to_a_websocket_endpoint(commands: Served) -> None:
    reply = httpx.post(commands.url + "/run_remote", json={}, timeout=10)
    assert reply.status_code == 426
    assert reply.headers["upgrade"] == "websocket"
    assert "/v1/websocket" in reply.json()["detail"]
    assert httpx.get(commands.url + "/openapi.json", timeout=10).status_code == 404
    assert httpx.get(commands.url + "/readyz", timeout=10).status_code == 200


def test_handshakes_refused_before_the_session(out: Path) -> None:
    env = {"CHAINSC_API_KEY": "sesame"}
    with serve(out / "commands" / "commands", env=env) as served:

        async def status(path: str, headers: dict[str, str]) -> int:
            try:
                async with websockets.connect(
                    ws_url(served, path), additional_headers=headers
                ) as socket:
                    await _opened(socket)
                    return 101
            except websockets.InvalidStatus as exc:
                return exc.response.status_code

        assert run(status("/v1/websocket", {})) == 401
        assert run(status("/v1/websocket", {"Authorization": "Api-Key nope"})) == 401
        assert run(status("/elsewhere", {"Authorization": "Api-Key sesame"})) == 404
        assert run(status("/v1/websocket", {"Authorization": "Api-Key sesame"})) == 101


def test_an_http_chainlet_serves_no_websocket(out: Path) -> None:
    with serve(out / "entry" / "entry") as served:

        async def connect() -> int:
            try:
                async with websockets.connect(ws_url(served)):
                    return 101
            except websockets.InvalidStatus as exc:
                return exc.response.status_code

        assert run(connect()) == 404


def test_generated_client_py_opens_a_session(commands: Served, out: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, json, sys
        sys.path.insert(0, {str(out / "commands" / "commands")!r})
        import client

        async def main():
            async with client.connect({commands.url!r}) as websocket:
                first = await websocket.receive_json()
                await websocket.send_text("bytes")
                await websocket.send_bytes(b"ab")
                back = await websocket.receive_bytes()
                await websocket.send_text("close")
                try:
                    await websocket.receive()
                except Exception as exc:
                    left = (type(exc).__name__, exc.code, exc.reason)
            print(json.dumps([first, back.decode(), left]))

        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"x-test": None},
        "ba",
        ["WebSocketDisconnect", 4000, "bye"],
    ]


def test_sigterm_closes_open_sessions_then_exits_0(out: Path) -> None:
    with serve(out / "commands" / "commands") as served:

        async def session() -> tuple[int | None, int | None]:
            async with websockets.connect(ws_url(served)) as socket:
                await _opened(socket)
                served.process.send_signal(signal.SIGTERM)
                await socket.wait_closed()
                return socket.close_code, served.process.wait(30)

        # 1012: "service restart", uvicorn's close of a session when the server stops.
        assert run(session()) == (1012, 0)


def test_without_starlette_the_disconnect_is_the_runtimes_own() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["starlette"] = None  # as if it were not installed
        from chainsc_runtime import websocket
        exc = websocket._raised_class()(1001, "away")
        print(type(exc) is websocket.WebSocketDisconnect, exc.code, exc.reason, exc)
        print(websocket.is_disconnect(exc))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "True 1001 away the websocket was closed (code 1001: away)",
        "True",
    ]
