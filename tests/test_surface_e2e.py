"""A chain using `truss_chains.utils` and the typed-stream classes: built, served, called.

Before the runtime had them, such a chain built and then failed when its packages were
imported (`cannot import name 'utils' from 'chainsc_runtime'`). Here the real `chainsc`
CLI checks and builds it, `chainsc run` serves every package on loopback, and
`chainsc call` gets the answer, which only comes back if every name worked at run time.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.slow

CHAIN = '''\
"""Two typed streams (header first, footer last) merged by the entrypoint."""

import enum
from collections.abc import AsyncIterator

import pydantic
import truss_chains as chains
from truss_chains import streaming, utils
from truss_chains.public_types import DeploymentContext
from truss_chains.streaming import (
    StreamReaderWithFooter,
    StreamReaderWithHeader,
    StreamWriterWithFooter,
    StreamWriterWithHeader,
)


class Stage(utils.StrEnum):
    HEADER = enum.auto()
    FOOTER = enum.auto()


class Meta(pydantic.BaseModel):
    stage: Stage
    count: int


class Word(pydantic.BaseModel):
    text: str


HEADED = streaming.stream_types(Word, header_type=Meta)
FOOTED = streaming.stream_types(Word, footer_type=Meta)


class Headed(chains.ChainletBase):
    async def run_remote(self, words: list[str]) -> AsyncIterator[bytes]:
        writer: StreamWriterWithHeader[Word, Meta, None] = streaming.stream_writer(HEADED)
        assert isinstance(writer, StreamWriterWithHeader), type(writer)
        yield writer.yield_header(Meta(stage=Stage.HEADER, count=len(words)))
        for word in words:
            utils.random_fail(0.0, "never fails")
            yield writer.yield_item(Word(text=word))


class Footed(chains.ChainletBase):
    async def run_remote(self, words: list[str]) -> AsyncIterator[bytes]:
        writer = streaming.stream_writer(FOOTED)
        assert isinstance(writer, StreamWriterWithFooter), type(writer)
        for word in words:
            yield writer.yield_item(Word(text=word.upper()))
        yield writer.yield_footer(Meta(stage=Stage.FOOTER, count=len(words)))


class Report(pydantic.BaseModel):
    header: Meta
    headed: list[str]
    footed: list[str]
    footer: Meta
    readers: list[str]
    first: str
    injected: str


@chains.mark_entrypoint
class Merge(chains.ChainletBase):
    def __init__(
        self,
        headed: Headed = chains.depends(Headed),
        footed: Footed = chains.depends(Footed),
        context: DeploymentContext = chains.depends_context(),
    ) -> None:
        self._headed = headed
        self._footed = footed
        self._context = context

    async def run_remote(self, words: list[str]) -> Report:
        head = streaming.stream_reader(HEADED, self._headed.run_remote(words))
        foot = streaming.stream_reader(FOOTED, self._footed.run_remote(words))
        assert isinstance(head, StreamReaderWithHeader)
        assert isinstance(foot, StreamReaderWithFooter)
        header = await head.read_header()
        headed = [word.text async for word in head.read_items()]
        footed = [word.text async for word in foot.read_items()]
        footer = await foot.read_footer()
        try:
            utils.random_fail(1.0, "injected on purpose")
            injected = ""
        except utils.InjectedError as error:
            injected = str(error)
        return Report(
            header=header,
            headed=headed,
            footed=footed,
            footer=footer,
            readers=[type(head).__name__, type(foot).__name__],
            first=utils.expect_one(word for word in headed if word == words[0]),
            injected=injected,
        )
'''


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


def test_chain_using_utils_and_header_footer_streams_builds_runs_and_answers(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    chain = project / "app.py"
    chain.write_text(CHAIN)
    out = tmp_path / "out"

    checked = run_cli("check", str(chain))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    built = run_cli("build", str(chain), "-o", str(out))
    assert built.returncode == 0, built.stdout + built.stderr
    manifest = json.loads((out / "chain.json").read_text())
    for package in ("headed", "footed", "merge"):
        packages = out / package / "packages"
        assert (packages / "chainsc_runtime" / "utils.py").is_file()
        sliced = (packages / "app.py").read_text()
        assert "from chainsc_runtime import" in sliced
        assert "truss_chains" not in sliced
    assert manifest["entrypoint"] == "app.Merge"

    port = _free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "chainsc", "run", str(out), "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        try:
            _wait_for(process, "ready; entrypoint")
            body = json.dumps({"words": ["alpha", "beta", "gamma"]})
            called = run_cli(
                "call", "--url", f"http://127.0.0.1:{port}", "--json", body
            )
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
            assert process.stdout is not None
            log = process.stdout.read()
    assert code == 0, log
    assert called.returncode == 0, called.stdout + called.stderr + log
    assert json.loads(called.stdout) == {
        "header": {"stage": "HEADER", "count": 3},
        "headed": ["alpha", "beta", "gamma"],
        "footed": ["ALPHA", "BETA", "GAMMA"],
        "footer": {"stage": "FOOTER", "count": 3},
        "readers": ["StreamReaderWithHeader", "StreamReaderWithFooter"],
        "first": "alpha",
        "injected": "injected on purpose",
    }
    # `random_fail` prints its note to stdout, as in Truss; the supervisor prefixes it.
    assert "Random failure: injected on purpose" in log
