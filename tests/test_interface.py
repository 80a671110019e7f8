"""Interface files at build time: each package's `openapi.json` is what its live server answers.

The compiler computes the document from the IR (`chainsc.interface`), the server from the
live pydantic types (`chainsc_runtime.openapi`): each chain is built with the real CLI,
served with `chainsc run` on 127.0.0.1, and every Chainlet's `GET /openapi.json` is
compared with its package's file byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO, run_cli
from tests.interface_chains import write_typed_chain
from tests.kinds_chains import write_engine_chain, write_truss_chain
from tests.realworld_chains import write_project
from tests.test_run import _free_port, _processes_in

pytestmark = pytest.mark.slow

_RUNNING = re.compile(r"^(\S+)\s*\|.*Uvicorn running on (http://127\.0\.0\.1:\d+)")


def _build(chain: Path, out: Path, *options: str) -> dict[str, Any]:
    built = run_cli("build", str(chain), "-o", str(out), *options)
    assert built.returncode == 0, built.stdout + built.stderr
    manifest: dict[str, Any] = json.loads((out / "chain.json").read_text())
    return manifest


def _served_documents(out: Path) -> dict[str, tuple[int, bytes]]:
    """`chainsc run out`: each Chainlet's (status, body) of `GET /openapi.json`, by name."""
    manifest = json.loads((out / "chain.json").read_text())
    names = {entry["name"] for entry in manifest["chainlets"].values()}
    ready = False
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "chainsc", "run", str(out), "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # The rag example's Embedder declares a secret its load() requires.
        env={**os.environ, "CHAINSC_SECRET_HF_ACCESS_TOKEN": "test"},
    )
    urls: dict[str, str] = {}
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            found = _RUNNING.match(line)
            if found:
                urls[found.group(1)] = found.group(2)
            # The servers' lines are relayed by threads: "ready" may come before the
            # last "Uvicorn running" line.
            if re.search(r"Chainlets? ready", line):
                ready = True
            if ready and set(urls) >= names:
                break
        else:
            pytest.fail("chainsc run stopped:\n" + "".join(lines))
        with httpx.Client(timeout=30) as client:
            return {
                name: (response.status_code, response.content)
                for name, url in urls.items()
                for response in [client.get(f"{url}/openapi.json")]
            }
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        assert process.stdout is not None
        process.stdout.read()
        process.stdout.close()
        assert _processes_in(out) == []


def _chains(tmp_path: Path) -> list[tuple[str, Path, tuple[str, ...]]]:
    return [
        ("text_pipeline", REPO / "examples" / "text_pipeline" / "chain.py", ()),
        ("streaming", REPO / "examples" / "streaming" / "chain.py", ()),
        ("rag", REPO / "examples" / "rag" / "chain.py", ()),
        # Endpoints inherited, and docstrings found on a base (as `inspect.getdoc`).
        ("inheritance", REPO / "examples" / "inheritance" / "chain.py", ()),
        ("typed", write_typed_chain(tmp_path / "src"), ()),
        (
            "numpy_binary",
            REPO / "tests" / "corpus" / "numpy_binary" / "chain.py",
            ("--entrypoint", "HostBinary"),
        ),
        ("aliases", write_project("aliases", tmp_path / "src"), ()),
    ]


@pytest.mark.parametrize(
    "name",
    [
        "text_pipeline",
        "streaming",
        "rag",
        "inheritance",
        "typed",
        "numpy_binary",
        "aliases",
    ],
)
def test_openapi_json_is_what_the_live_server_serves(tmp_path: Path, name: str) -> None:
    (chain, options) = next(
        (path, options) for key, path, options in _chains(tmp_path) if key == name
    )
    out = tmp_path / "out"
    manifest = _build(chain, out, *options)
    served = _served_documents(out)
    names = {entry["name"] for entry in manifest["chainlets"].values()}
    assert set(served) == names
    for entry in manifest["chainlets"].values():
        status, body = served[entry["name"]]
        assert status == 200, body
        packaged = (out / entry["package"] / "openapi.json").read_bytes()
        assert body == packaged, (entry["name"], body.decode(), packaged.decode())
        assert (
            entry["interface"]["name"]
            == json.loads(packaged)["paths"]["/run_remote"]["post"]["operationId"]
        )


def test_the_typed_chain_is_described_in_full(tmp_path: Path) -> None:
    """Not vacuous: constraints, defaults, nested names and docstrings are in the file."""
    out = tmp_path / "out"
    manifest = _build(write_typed_chain(tmp_path / "src"), out)
    document = json.loads((out / "worker" / "openapi.json").read_text())
    operation = document["paths"]["/run_remote"]["post"]
    assert operation["summary"] == "Scale some values."
    schemas = document["components"]["schemas"]
    depth = schemas["Options"]["properties"]["depth"]
    assert depth == {
        "default": 2,
        "description": "How deep.",
        "maximum": 10,
        "minimum": 1,
        "title": "Depth",
        "type": "integer",
    }
    assert schemas["Options"]["properties"]["window"] == {
        "$ref": "#/components/schemas/Options.Window",
        "default": {"start": 0, "end": None},
    }
    assert schemas["Color"] == {
        "description": "A colour, by number.",
        "enum": [1, 2],
        "title": "Color",
        "type": "integer",
    }
    streamer = manifest["chainlets"]["typed.Streamer"]["interface"]
    assert streamer["streaming"] is True
    assert streamer["params"][1] == {
        "default": 7,
        "default_known": True,
        "name": "limit",
        "required": False,
        "schema": {"type": "integer"},
    }
    entry = manifest["chainlets"]["typed.Entry"]["interface"]
    assert [p["name"] for p in entry["params"] if p["required"]] == ["items", "lookup"]
    assert entry["output"] == {
        "items": {"$ref": "#/components/schemas/Result"},
        "type": "array",
    }
    assert entry["file"] == "typed.py"
    lines = (tmp_path / "src" / "typed.py").read_text().splitlines()
    defs = [n for n, line in enumerate(lines, 1) if "def run_remote(" in line]
    assert entry["line"] == defs[-1]  # Entry's, the last
    # An override without a docstring is described by its base's, as `inspect.getdoc`
    # does; its line is the override's.
    echo = json.loads((out / "echo" / "openapi.json").read_text())
    assert echo["paths"]["/run_remote"]["post"]["summary"] == "Echo the text."
    echo_interface = manifest["chainlets"]["typed.Echo"]["interface"]
    assert echo_interface["docstring"].startswith("Echo the text.")
    assert echo_interface["line"] == defs[-2]


def test_websocket_endpoint_has_no_openapi_json(tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = _build(
        REPO / "tests" / "corpus" / "websocket_style" / "websocket_chain.py", out
    )
    served = _served_documents(out)
    for entry in manifest["chainlets"].values():
        has_file = (out / entry["package"] / "openapi.json").is_file()
        if entry["interface"]["websocket"]:
            assert not has_file
            assert served[entry["name"]][0] == 404
            assert entry["interface"]["params"] == []
        else:
            assert served[entry["name"]] == (
                200,
                (out / entry["package"] / "openapi.json").read_bytes(),
            )
    assert any(
        entry["interface"]["websocket"] for entry in manifest["chainlets"].values()
    )


@pytest.mark.parametrize("write", [write_engine_chain, write_truss_chain])
def test_chainlets_without_code_have_no_openapi_json(
    tmp_path: Path, write: Any
) -> None:
    out = tmp_path / "out"
    manifest = _build(write(tmp_path / "src"), out)
    kinds = [e for e in manifest["chainlets"].values() if "kind" in e]
    assert kinds
    for entry in kinds:
        assert not (out / entry["package"] / "openapi.json").exists()
        assert entry["interface"]["params"]  # still described in chain.json
