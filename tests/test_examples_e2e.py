"""Every bundled example: built, served with `chainsc run`, called over HTTP, answered."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from chainsc import api
from chainsc.write import WriteRefused, write_tree
from tests.conftest import EXAMPLES, REPO

pytestmark = pytest.mark.slow

Check = Callable[[bytes], None]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _FakeLLM(http.server.BaseHTTPRequestHandler):
    """Stands in for the already deployed LLM the RAG example calls through its stub."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        prompt = json.loads(body).get("prompt", "")
        reply = json.dumps(
            {"output": f"answer from {len(prompt)} prompt chars"}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def _fake_llm() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/predict"
    finally:
        server.shutdown()
        server.server_close()


def _check_inheritance(reply: bytes) -> None:
    result = json.loads(reply)
    assert isinstance(result["label"], str)
    assert result["label"]
    assert len(result["verdicts"]) == 3


def _check_rag(reply: bytes) -> None:
    result = json.loads(reply)
    assert result["answer"].startswith("answer from ")
    assert len(result["sources"]) == 3


def _check_realworld(reply: bytes) -> None:
    result = json.loads(reply)
    assert result["ticket_id"] == 7
    assert result["queue"]
    assert result["summary"]


def _check_split(reply: bytes) -> None:
    entries = json.loads(reply)
    assert {entry["sku"] for entry in entries} == {"s1"}
    assert all(entry["top_terms"] for entry in entries)


def _check_streaming(reply: bytes) -> None:
    text = reply.decode("utf-8")
    assert text.startswith("[context] ")
    assert "tokens" in text.splitlines()[-1]


def _check_text_pipeline(reply: bytes) -> None:
    result = json.loads(reply)
    assert [document["doc_id"] for document in result["results"]] == ["d"]


CASES: dict[str, tuple[dict[str, object], Check]] = {
    "inheritance": ({"text": "buy cheap pills now, call 555-0100"}, _check_inheritance),
    "rag": ({"question": "How are Chainlets deployed?"}, _check_rag),
    "realworld_style": (
        {
            "ticket": {
                "ticket_id": 7,
                "subject": "Refund",
                "body": "I was charged twice. Please refund me.",
            }
        },
        _check_realworld,
    ),
    "split_package": (
        {
            "items": [
                {
                    "sku": "s1",
                    "title": "Lamp",
                    "description": "A warm lamp for reading at night.",
                    "price_cents": 1299,
                }
            ]
        },
        _check_split,
    ),
    "streaming": (
        {"prompt": "Tell me about chains", "max_new_tokens": 8},
        _check_streaming,
    ),
    "text_pipeline": (
        {"documents": [{"doc_id": "d", "text": "One. Two sentences here."}]},
        _check_text_pipeline,
    ),
}


#: Calls the entrypoint through its package's generated `client.py`, as code outside the
#: chain would: argv = package dir, base URL, JSON arguments; prints the result as JSON
#: (a stream: its chunks joined).
CLIENT_SCRIPT = """
import asyncio, inspect, json, sys

import pydantic_core

sys.path.insert(0, sys.argv[1])
import client


async def drain(result):
    if inspect.isawaitable(result):
        return await result
    return "".join([chunk async for chunk in result])


result = client.connect(sys.argv[2]).run_remote(**json.loads(sys.argv[3]))
if inspect.isawaitable(result) or hasattr(result, "__aiter__"):
    result = asyncio.run(drain(result))
elif hasattr(result, "__next__"):
    result = "".join(result)
sys.stdout.buffer.write(result.encode() if isinstance(result, str) else pydantic_core.to_json(result))
"""


def _call_through_client_py(out: Path, port: int, request: dict[str, object]) -> bytes:
    manifest = json.loads((out / "chain.json").read_text())
    package = out / manifest["chainlets"][manifest["entrypoint"]]["package"]
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            CLIENT_SCRIPT,
            str(package),
            f"http://127.0.0.1:{port}",
            json.dumps(request),
        ],
        cwd=out.parent,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    return completed.stdout


def test_every_example_has_an_end_to_end_case() -> None:
    assert set(CASES) == {path.parent.name for path in EXAMPLES.glob("*/chain.py")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_served_and_called_end_to_end(name: str, tmp_path: Path) -> None:
    project = tmp_path / name
    shutil.copytree(EXAMPLES / name, project)
    request, check = CASES[name]
    with _fake_llm() as llm_url:
        chain = project / "chain.py"
        if name == "rag":
            text = chain.read_text()
            start = text.index('LLM_PREDICT_URL = "') + len('LLM_PREDICT_URL = "')
            chain.write_text(text[:start] + llm_url + text[text.index('"', start) :])
        result = api.build_file(chain)
        assert result.files is not None, result.diagnostics
        out = tmp_path / "out"
        assert not isinstance(write_tree(out, result.files), WriteRefused)
        port = _free_port()
        env = {
            **os.environ,
            "CHAINSC_SECRET_HF_ACCESS_TOKEN": "test-token",
            "CHAINSC_SECRET_ZENDESK_API_TOKEN": "test-token",
        }
        with subprocess.Popen(
            [sys.executable, "-m", "chainsc", "run", str(out), "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process:
            try:
                assert process.stdout is not None
                log: list[str] = []
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    line = process.stdout.readline()
                    if not line:
                        break
                    log.append(line)
                    if "ready; entrypoint" in line:
                        break
                else:
                    raise AssertionError("".join(log))
                assert any("ready; entrypoint" in line for line in log), "".join(log)
                call = urllib.request.Request(
                    f"http://127.0.0.1:{port}/run_remote",
                    data=json.dumps(request).encode(),
                    headers={"Content-Type": "application/json"},
                    method="POST",
                )
                with urllib.request.urlopen(call, timeout=60) as response:
                    assert response.status == 200
                    check(response.read())
                # The same call from outside the chain, through the typed `client.py`.
                check(_call_through_client_py(out, port, request))
            finally:
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=60) == 0
                assert process.stdout is not None
                process.stdout.read()
