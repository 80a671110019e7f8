"""A websocket chain end to end: `chainsc run`, and Truss's own model server.

The chain is written the way Truss's own websocket test chain is (truss's
`truss-chains/tests/websocket_chain`): `import fastapi` at the top, a dependency with an
async `run_remote(name: str) -> str`, bound without an annotation, and an entrypoint
whose `async def run_remote(self, websocket: chains.WebSocketProtocol) -> None` loops on
the websocket, calls the dependency on a given message, and ends in `except
fastapi.WebSocketDisconnect:`. A real websocket client (the `websockets` package)
exchanges text and bytes messages with it, the dependency's message included:

- through `chainsc run` (the real CLI in a subprocess), at Truss's path `/v1/websocket`
  and chainsc's own `/run_remote` on the entrypoint's port;
- through Truss's model server (truss 0.18.36, in its own venv: `tests/truss_serve.py`),
  which routes `/v1/websocket` to the generated `Model.websocket`.

Either way the user's `except fastapi.WebSocketDisconnect:` runs when the client leaves
(its `print` is in the server's output).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import websockets

from chainsc import api
from chainsc.write import WriteRefused, write_tree
from tests.conftest import REPO, truss_python
from tests.test_truss_server import (
    API_KEY,
    Chain,
    TrussProcess,
    _check_truss_server_requirements,
    write_dynamic_config,
)

pytestmark = pytest.mark.slow
T = TypeVar("T")

#: The chain, in the corpus (`tests/test_corpus.py` also builds it, imports every package,
#: and has Truss's own importer validate it).
CHAIN = Path(__file__).parent / "corpus" / "websocket_style" / "websocket_chain.py"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


async def exchange(url: str) -> list[str | bytes]:
    """Text, the dependency's message and bytes (not UTF-8), then a normal close."""
    answers: list[str | bytes] = []
    async with websockets.connect(url) as socket:
        for message in ("Test", "dep", b"\x00\xff\x80", "again"):
            await socket.send(message)
            answers.append(await socket.recv())
    return answers


EXPECTED: list[str | bytes] = [
    "You said: Test.",
    "Hello from the dependency, Socket.",
    b"\x80\xff\x00",
    "You said: again.",
]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("websocket-chain")
    (source / "websocket_chain.py").write_text(CHAIN.read_text(encoding="utf-8"))
    built = api.build_file(source / "websocket_chain.py")
    assert built.files is not None, built.diagnostics
    # Truss's server image has fastapi; chainsc adds Truss's line (CSC461), so the
    # package installs it anywhere else too.
    assert [d.code for d in built.diagnostics] == ["CSC461"]
    assert not isinstance(write_tree(source / "out", built.files), WriteRefused)
    return source / "out"


def test_the_built_chain_is_a_websocket_chain_for_truss(out: Path) -> None:
    assert (
        "fastapi>=0.114,<0.125.0" in (out / "socket" / "requirements.txt").read_text()
    )
    config = (out / "socket" / "config.yaml").read_text()
    assert "  transport:\n    kind: websocket\n" in config
    assert "transport" not in (out / "greeter" / "config.yaml").read_text()
    manifest = json.loads((out / "chain.json").read_text())
    assert manifest["chainlets"]["websocket_chain.Socket"]["endpoint"] == "websocket"
    assert "endpoint" not in manifest["chainlets"]["websocket_chain.Greeter"]


# chainsc run ###########################################################################


@pytest.fixture
def chainsc_run(out: Path) -> Iterator[tuple[subprocess.Popen[str], int, list[str]]]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "chainsc", "run", str(out), "--port", str(port)],
        cwd=REPO,
        # Every request and session logged, with its request id and trace id.
        env={**os.environ, "CHAINSC_LOG_LEVEL": "debug", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        _read_until(process, lines, "ready; entrypoint")
        _read_until(process, lines, "chainsc: ")  # what it says next
        yield process, port, lines
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _read_until(
    process: subprocess.Popen[str], lines: list[str], needle: str, timeout: float = 90
) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if needle in line:
            return
    raise AssertionError(f"`{needle}` not seen; output:\n" + "\n".join(lines))


def test_chainsc_run_serves_the_websocket_on_the_entrypoints_port(
    chainsc_run: tuple[subprocess.Popen[str], int, list[str]],
) -> None:
    process, port, lines = chainsc_run
    # What `chainsc run` says: where to connect, not a curl command.
    hint = next(line for line in lines if "serves a websocket" in line)
    assert f"ws://127.0.0.1:{port}/v1/websocket" in hint
    assert "curl" not in "\n".join(lines)

    assert run(exchange(f"ws://127.0.0.1:{port}/v1/websocket")) == EXPECTED
    assert run(exchange(f"ws://127.0.0.1:{port}/run_remote")) == EXPECTED
    # The user's `except fastapi.WebSocketDisconnect:` ran once per session.
    _read_until(process, lines, "Socket: the client left.")
    _read_until(process, lines, "Socket: the client left.")
    assert any("Hello from the dependency, Socket." in line for line in lines)

    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0


def test_a_sessions_trace_context_and_request_id_reach_its_dependency(
    chainsc_run: tuple[subprocess.Popen[str], int, list[str]],
) -> None:
    process, port, lines = chainsc_run
    trace_id = os.urandom(16).hex()
    span_id = os.urandom(8).hex()
    request_id = f"ws-{os.urandom(4).hex()}"

    async def ask_the_dependency() -> str | bytes:
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/v1/websocket",
            additional_headers={
                "traceparent": f"00-{trace_id}-{span_id}-01",
                "x-request-id": request_id,
            },
        ) as socket:
            await socket.send("dep")
            return await socket.recv()

    assert run(ask_the_dependency()) == "Hello from the dependency, Socket."
    ids = f"[request_id={request_id} trace_id={trace_id}]"
    # The dependency call the session made carried them (a span of the session's).
    _read_until(process, lines, f"{ids} POST /run_remote 200")
    found = re.search(r"parent_id=([0-9a-f]{16})\)$", lines[-1])
    assert found is not None, lines[-1]
    assert found.group(1) != span_id
    assert lines[-1].startswith("Greeter")
    # The session's own log line names them too.
    _read_until(process, lines, f"{ids} WEBSOCKET /v1/websocket 1000")


# Truss's model server #####################################################################


@pytest.fixture(scope="module")
def truss_chain(out: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    python = truss_python()
    _check_truss_server_requirements(python)
    chain = Chain(out, python, tmp_path_factory.mktemp("websocket-truss"))
    try:
        yield chain
    finally:
        for server in chain.processes:
            server.stop()


def test_truss_server_serves_the_websocket_through_the_generated_model(
    truss_chain: Chain, tmp_path: Path
) -> None:
    # Unbuffered: the user's `print`s reach the log as they happen.
    greeter = truss_chain.serve(
        "greeter", write_dynamic_config(tmp_path / "leaf", {}), PYTHONUNBUFFERED="1"
    )
    config = write_dynamic_config(
        tmp_path / "config", {"Greeter": {"predict_url": greeter.predict_url}}
    )
    socket: TrussProcess = truss_chain.serve(
        "socket",
        config,
        TRUSS_SECRET_baseten_chain_api_key=API_KEY,
        PYTHONUNBUFFERED="1",
    )
    url = socket.url.replace("http://", "ws://") + "/v1/websocket"

    assert run(exchange(url)) == EXPECTED
    # Truss's server closed the session after `run_remote` returned: the user's handler
    # of the client's leaving ran, and Truss logged no error.
    deadline = time.monotonic() + 10
    while "Socket: the client left." not in socket.output():
        assert time.monotonic() < deadline, socket.output()
        time.sleep(0.05)
    assert "Hello from the dependency, Socket." in greeter.output()
    assert '"levelname": "ERROR"' not in socket.output()
