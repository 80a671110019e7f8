"""`chainsc run` / `chainsc call`: every package as its own process on loopback."""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from chainsc import api
from chainsc.run import plan_services
from chainsc.write import WriteRefused, write_tree
from tests.conftest import EXAMPLES, REPO, run_cli

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _build(chain: Path, out: Path) -> None:
    result = api.build_file(chain)
    assert result.files is not None, result.diagnostics
    assert not isinstance(write_tree(out, result.files), WriteRefused)


def _processes_in(directory: Path) -> list[int]:
    """Pids of processes whose working directory is inside `directory` (orphan check)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = (entry / "cwd").readlink()
        except OSError:
            continue
        if cwd == directory or directory in cwd.parents:
            found.append(int(entry.name))
    return found


def _start_run(out: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "chainsc", "run", str(out), "--port", str(port)],
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


def test_run_serves_the_chain_and_call_gets_the_answer_and_nothing_is_left(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    _build(EXAMPLES / "text_pipeline" / "chain.py", out)
    port = _free_port()
    with _start_run(out, port) as process:
        try:
            _check_serving(process, port, out)
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
            # Drain what the run printed while stopping, so the pipe closes cleanly.
            assert process.stdout is not None
            process.stdout.read()
    assert code == 0
    assert _processes_in(out) == []


def _check_serving(process: subprocess.Popen[str], port: int, out: Path) -> None:
    lines = _wait_for(process, "ready; entrypoint")
    assert any(f"http://127.0.0.1:{port}" in line for line in lines)
    # The printed example works as printed: its body is a valid request.
    hint = _wait_for(process, "chainsc: try  curl")[-1]
    example = shlex.split(hint.partition("try  ")[2])
    assert example[:3] == ["curl", "-s", f"http://127.0.0.1:{port}/run_remote"]
    assert json.loads(example[example.index("-d") + 1]) == {
        "documents": [{"doc_id": "text", "text": "text"}]
    }
    tried = run_cli(
        "call",
        "--url",
        f"http://127.0.0.1:{port}",
        "--json",
        example[example.index("-d") + 1],
    )
    assert tried.returncode == 0, tried.stdout + tried.stderr
    assert json.loads(tried.stdout)["results"][0]["doc_id"] == "text"
    body = json.dumps(
        {
            "documents": [
                {
                    "doc_id": "a",
                    "text": "Chains compose models. Each Chainlet is a service.",
                }
            ]
        }
    )
    called = run_cli("call", "--url", f"http://127.0.0.1:{port}", "--json", body)
    assert called.returncode == 0, called.stdout + called.stderr
    result = json.loads(called.stdout)
    assert [document["doc_id"] for document in result["results"]] == ["a"]
    assert result["results"][0]["chunks"]
    assert _processes_in(out)


def test_run_reports_a_chainlet_that_dies_and_stops_the_rest(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    shutil.copytree(EXAMPLES / "text_pipeline", project)
    chain = project / "chain.py"
    chain.write_text(
        chain.read_text().replace(
            '    """Builds an extractive summary from the enriched chunks of one document."""\n',
            '    """Builds an extractive summary from the enriched chunks of one document."""\n\n'
            '    def __init__(self) -> None:\n        raise RuntimeError("no model weights here")\n',
            1,
        )
    )
    out = tmp_path / "out"
    _build(chain, out)
    with _start_run(out, _free_port()) as process:
        output, _ = process.communicate(timeout=120)
    assert process.returncode == 1
    assert "no model weights here" in output
    assert "`Summarizer`" in output
    assert _processes_in(out) == []


def test_run_and_call_give_clear_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    no_manifest = run_cli("run", str(empty))
    assert no_manifest.returncode == 1
    assert "has no chain.json" in no_manifest.stderr
    bad_json = run_cli("call", "--json", "{nope")
    assert bad_json.returncode == 2  # a usage error
    assert "not valid JSON" in bad_json.stderr
    unreachable = run_cli(
        "call", "--url", f"http://127.0.0.1:{_free_port()}", "--json", "{}"
    )
    assert unreachable.returncode == 1
    assert "cannot reach" in unreachable.stderr


def test_200_concurrent_requests_through_the_chain_all_answer_correctly(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    _build(EXAMPLES / "text_pipeline" / "chain.py", out)
    port = _free_port()

    async def fire() -> list[tuple[str, dict[str, object]]]:
        async with httpx.AsyncClient(timeout=120) as client:

            async def one(index: int) -> tuple[str, dict[str, object]]:
                doc_id = f"doc-{index}"
                body = {
                    "documents": [
                        {
                            "doc_id": doc_id,
                            "text": f"Request {index} arrives. It is answered.",
                        }
                    ]
                }
                response = await client.post(
                    f"http://127.0.0.1:{port}/run_remote", json=body
                )
                response.raise_for_status()
                return doc_id, response.json()

            return await asyncio.gather(*(one(index) for index in range(200)))

    with _start_run(out, port) as process:
        try:
            _wait_for(process, "ready; entrypoint")
            results = asyncio.run(fire())
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
            assert process.stdout is not None
            log = process.stdout.read()
    assert code == 0
    assert len(results) == 200
    # The 200 requests made 800 dependency calls (sync and async): none is logged at the
    # default level, by the runtime or by an HTTP client.
    assert "HTTP Request" not in log, log  # httpx's line
    assert len(log.splitlines()) < 50, log
    for doc_id, result in results:
        documents = result["results"]
        assert isinstance(documents, list)
        assert [document["doc_id"] for document in documents] == [doc_id]
        number = doc_id.split("-")[1]
        assert documents[0]["chunks"][0]["text"].startswith(
            f"Request {number} arrives."
        )


def test_every_package_gets_a_port_of_its_own(tmp_path: Path) -> None:
    """Ports chosen one at a time could repeat (two servers, one port: `address already in use`)."""
    chainlets: dict[str, dict[str, object]] = {}
    for i in range(40):
        chainlets[f"C{i}"] = {"name": f"C{i}", "package": f"c{i}", "dependencies": []}
        (tmp_path / f"c{i}").mkdir()
        (tmp_path / f"c{i}" / "server.py").write_text("")
    (tmp_path / "chain.json").write_text(
        json.dumps({"entrypoint": "C0", "chainlets": chainlets})
    )
    for _ in range(5):
        ports = [service.port for service in plan_services(tmp_path, 8123)]
        assert ports[0] == 8123
        assert len(set(ports)) == len(ports) == 40
