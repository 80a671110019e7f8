"""`chainsc run` of chains with an engine builder or a TrussChainlet, as a user runs it.

The TrussChainlet's Truss directory (a CPU-only model that echoes) is served by the
runtime's Truss host, and its dependent calls it through its `TrussHandle`. An engine
builder cannot run here: `run` says so, and with `--service NAME=URL` it runs the rest
of the chain against an engine the user serves; a scripted server on 127.0.0.1 stands
for that engine (an external service), and the entrypoint streams what it answers.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from chainsc import api
from chainsc.write import WriteRefused, write_tree
from tests.conftest import REPO, run_cli
from tests.kinds_chains import write_engine_chain, write_truss_chain
from tests.runtime.httpserver import Reply, Request, ScriptedServer

pytestmark = pytest.mark.slow

PREDICT = "/v1/models/model:predict"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _build(chain: Path, out: Path) -> None:
    result = api.build_file(chain)
    assert result.files is not None, result.diagnostics
    assert not isinstance(write_tree(out, result.files), WriteRefused)


def _start_run(out: Path, port: int, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chainsc",
            "run",
            str(out),
            "--port",
            str(port),
            *options,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(
    process: subprocess.Popen[str], needle: str, timeout: float = 90.0
) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if needle in line:
            return lines
    raise AssertionError(f"`{needle}` not seen; output:\n" + "\n".join(lines))


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=60)
    assert process.stdout is not None
    log = process.stdout.read()
    assert code == 0, log
    return log


def test_run_serves_a_truss_chainlet_and_its_dependent_calls_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    _build(write_truss_chain(tmp_path / "src"), out)
    port = _free_port()
    with _start_run(out, port) as process:
        try:
            lines = _wait_for(process, "ready; entrypoint")
            assert any("Echo" in line and "Loaded" in line for line in lines), lines
            reply = httpx.post(
                f"http://127.0.0.1:{port}/run_remote", json={"text": "hi"}, timeout=60
            )
            assert reply.status_code == 200, reply.text
            # Shout -> its TrussHandle's URL -> the Truss model's predict -> back.
            assert reply.json() == "ECHO: HI"
        finally:
            _stop(process)


def test_run_refuses_an_engine_builder_and_says_what_to_do(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _build(write_engine_chain(tmp_path / "src"), out)
    refused = run_cli("run", str(out), "--port", str(_free_port()))
    assert refused.returncode == 1
    assert "`Llama` is a TensorRT-LLM engine (`EngineBuilderLLMChainlet`)" in (
        refused.stderr
    )
    assert f"`--service Llama=http://HOST:PORT{PREDICT}`" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
    unknown = run_cli("run", str(out), "--service", "Nope=http://127.0.0.1:1/x")
    assert unknown.returncode == 1
    assert "`--service Nope=...` names no Chainlet" in unknown.stderr
    malformed = run_cli("run", str(out), "--service", "Llama")
    assert malformed.returncode == 2
    assert "expected NAME=URL" in malformed.stderr


def sse(text: str) -> bytes:
    event = {"choices": [{"delta": {"content": text}}]}
    return f"data: {json.dumps(event)}\n\n".encode()


def test_run_streams_from_the_engine_a_service_option_names(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _build(write_engine_chain(tmp_path / "src"), out)
    gate = threading.Event()
    chunks = [sse("Hello"), sse(" world"), b"data: [DONE]\n\n"]

    def engine(request: Request) -> Reply:
        return Reply(chunks=chunks, gate=gate)

    port = _free_port()
    with (
        ScriptedServer(engine) as server,
        _start_run(out, port, "--service", f"Llama={server.url}{PREDICT}") as process,
    ):
        try:
            _wait_for(process, "ready; entrypoint")
            received: list[bytes] = []
            with httpx.stream(
                "POST",
                f"http://127.0.0.1:{port}/run_remote",
                json={"question": "Say hello"},
                timeout=60,
            ) as reply:
                assert reply.status_code == 200
                for chunk in reply.iter_raw():
                    received.append(chunk)
                    gate.set()  # the engine sends the rest after the first arrived
        finally:
            _stop(process)
    # The engine's stream, passed on by its client and the entrypoint, as it came.
    assert b"".join(received) == b"".join(chunks)
    assert received[0] == sse("Hello")
    (request,) = server.requests
    assert request.path == PREDICT
    body = request.json()
    assert body["messages"] == [{"role": "user", "content": "Say hello"}]
    assert body["stream"] is True
    assert "llm_input" not in body  # the request itself, as Truss Chains sends it
