"""The standalone server (`chainsc_runtime.server`), through each package's `server.py`.

A small chain is built once; each test runs `python server.py --port 0` of one package in a
subprocess on 127.0.0.1 (the port is read from its log) and talks HTTP to it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import black
import httpx
import pydantic
import pytest

import chainsc_runtime
from chainsc import api
from chainsc.write import WriteRefused, write_tree
from chainsc_runtime.errors import GenericRemoteException
from chainsc_runtime.transport import ChainletClient
from tests.conftest import REPO

pytestmark = pytest.mark.slow

CHAIN = '''\
"""Chainlets that exercise the standalone server."""

import asyncio
import os
import threading
import time
import tomllib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pydantic
import truss_chains as chains


class Point(pydantic.BaseModel):
    x: int
    y: int = 0


def wait_for(gate: str) -> None:
    deadline = time.monotonic() + 20
    while not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def check(point: Point) -> None:
    if point.x < 0:
        raise ValueError(f"negative x: {point.x}")


class Adder(chains.ChainletBase):
    """Adds the coordinates of a point.

    Sync, at most two at once.
    """

    remote_config = chains.RemoteConfig(compute=chains.Compute(predict_concurrency=2))

    def __init__(self) -> None:
        if os.environ.get("TEST_INIT_FAIL"):
            raise RuntimeError("no weights here")
        if gate := os.environ.get("TEST_INIT_GATE"):
            wait_for(gate)
        self._lock = threading.Lock()
        self._running = 0
        self._most = 0

    def is_healthy(self) -> bool:
        return not Path(os.environ.get("TEST_UNHEALTHY", "/nonexistent")).exists()

    def run_remote(self, point: Point, delay: float = 0.0) -> dict[str, int]:
        """Add x and y."""
        with self._lock:
            self._running += 1
            self._most = max(self._most, self._running)
        try:
            time.sleep(delay)
            check(point)
            return {"sum": point.x + point.y, "most_in_flight": self._most}
        finally:
            with self._lock:
                self._running -= 1


class AsyncAdder(chains.ChainletBase):
    remote_config = chains.RemoteConfig(compute=chains.Compute(predict_concurrency=3))

    def __init__(self) -> None:
        self._running = 0
        self._most = 0

    async def run_remote(self, point: Point, delay: float = 0.0, started: str = "") -> Point:
        self._running += 1
        self._most = max(self._most, self._running)
        try:
            if started:
                Path(started).touch()
            await asyncio.sleep(delay)
            check(point)
            return Point(x=point.x + point.y, y=self._most)
        finally:
            self._running -= 1


class TextStream(chains.ChainletBase):
    async def run_remote(self, parts: list[str], gate: str = "") -> AsyncIterator[str]:
        if not parts:
            raise ValueError("nothing to stream")
        for index, part in enumerate(parts):
            if index == 1 and gate:
                while not Path(gate).exists():
                    await asyncio.sleep(0.02)
            yield part


class ByteStream(chains.ChainletBase):
    def run_remote(self, parts: list[int], gate: str = "") -> Iterator[bytes]:
        for index, part in enumerate(parts):
            if index == 1 and gate:
                wait_for(gate)
            if part < 0:
                raise ValueError("negative byte")
            yield bytes([part]) * 3


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(
        self,
        adder: Adder = chains.depends(Adder),
        async_adder: AsyncAdder = chains.depends(AsyncAdder),
        text: TextStream = chains.depends(TextStream),
        data: ByteStream = chains.depends(ByteStream),
    ) -> None:
        self._adder = adder

    def run_remote(self, x: int) -> int:
        return self._adder.run_remote(Point(x=x))["sum"] * 2
'''

STARTUP_TIMEOUT = 20.0
ANY: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Any)
INT = pydantic.TypeAdapter(int)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("server_chain")
    (root / "chain.py").write_text(CHAIN)
    result = api.build_file(root / "chain.py")
    assert result.files is not None, result.diagnostics
    assert not isinstance(write_tree(root / "out", result.files), WriteRefused)
    return root / "out"


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kwargs)

    def post(self, body: object, **kwargs: Any) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.post(
            self.url + "/run_remote", content=content, timeout=10, **kwargs
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while self.get("/readyz").status_code != 200:
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, f"not ready:\n{self.output()}"
            time.sleep(0.02)


@contextmanager
def serve(
    package: Path,
    *,
    env: Mapping[str, str] | None = None,
    ready: bool = True,
) -> Iterator[Served]:
    """Run `server.py --port 0` of `package`; yield once it listens (and is ready)."""
    log = package.parent / f"{package.name}-{time.monotonic_ns()}.log"
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("CHAINSC_", "TEST_"))
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "server.py", "--port", "0"],
            cwd=package,
            env={**base, **(env or {})},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not (
            found := re.search(r"running on http://127\.0\.0\.1:(\d+)", log.read_text())
        ):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"no port:\n{log.read_text()}"
            time.sleep(0.02)
        served = Served(process, f"http://127.0.0.1:{found.group(1)}", log)
        if ready:
            served.wait_ready()
        yield served
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


@pytest.fixture(scope="module")
def adder(out: Path) -> Iterator[Served]:
    with serve(out / "adder") as served:
        yield served


@pytest.fixture(scope="module")
def async_adder(out: Path) -> Iterator[Served]:
    with serve(out / "async_adder") as served:
        yield served


def client(url: str, service: str = "Adder") -> ChainletClient:
    return ChainletClient(service=service, url=url)


# The generated server.py ###############################################################


def test_generated_server_py_is_black_stable_and_carries_the_config(out: Path) -> None:
    text = (out / "adder" / "server.py").read_text()
    mode = black.Mode(target_versions={black.mode.TargetVersion.PY311}, line_length=88)
    assert black.format_str(text, mode=mode) == text
    assert text.startswith("# Generated by chainsc from chain.py. Do not edit.\n")
    assert 'DISPLAY_NAME = "Adder"' in text
    assert "PREDICT_CONCURRENCY = 2\n" in text
    assert "PREDICT_CONCURRENCY = 1\n" in (out / "entry" / "server.py").read_text()


def test_server_requirements_are_in_chainscs_run_extra() -> None:
    # `chainsc run` runs server.py with chainsc's own interpreter, with `chainsc[run]` installed;
    # `check` and `build` need none of it.
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert set(chainsc_runtime.SERVER_REQUIREMENTS) <= set(
        pyproject["project"]["optional-dependencies"]["run"]
    )
    assert not set(chainsc_runtime.SERVER_REQUIREMENTS) & set(
        pyproject["project"]["dependencies"]
    )
    assert not set(chainsc_runtime.SERVER_REQUIREMENTS) & set(
        chainsc_runtime.REQUIREMENTS
    )


# Calls ################################################################################


def test_sync_endpoint_replies_with_the_json_of_the_return_value(adder: Served) -> None:
    response = adder.post({"point": {"x": 2, "y": 3}})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["sum"] == 5
    with client(adder.url) as adder_client:
        assert adder_client.call({"point": {"x": 1}}, ANY)["sum"] == 1


def test_async_endpoint_replies_with_the_json_of_the_return_value(
    async_adder: Served,
) -> None:
    response = async_adder.post({"point": {"x": 2, "y": 3}})
    assert response.status_code == 200
    assert response.json()["x"] == 5


def test_malformed_bodies_are_422_with_the_field_errors(adder: Served) -> None:
    response = adder.post({"point": {"y": "three"}, "delay": "soon"})
    assert response.status_code == 422
    errors = {tuple(e["loc"]): e["type"] for e in response.json()["detail"]}
    assert errors == {
        ("point", "x"): "missing",
        ("point", "y"): "int_parsing",
        ("delay",): "float_parsing",
    }
    assert adder.post(b"{not json").status_code == 422
    assert adder.post(b"[1, 2]").status_code == 422
    with (
        client(adder.url) as adder_client,
        pytest.raises(ValueError, match=r"point\.x: Field required"),
    ):
        adder_client.call({"point": {}}, ANY)


def test_user_exception_is_500_with_the_detail_and_reraised_by_the_client(
    adder: Served,
) -> None:
    response = adder.post({"point": {"x": -1}})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["exception_cls_name"] == "ValueError"
    assert error["exception_module_name"] == "builtins"
    assert error["exception_message"] == "negative x: -1"
    frames = [
        (f["filename"], f["lineno"], f["name"]) for f in error["user_stack_trace"]
    ]
    # The user's file and lines (the slice left some lines out), no server path.
    assert frames == [("chain.py", 58, "run_remote"), ("chain.py", 28, "check")]
    assert CHAIN.splitlines()[28 - 1].strip() == (
        'raise ValueError(f"negative x: {point.x}")'
    )
    with (
        client(adder.url) as adder_client,
        pytest.raises(ValueError, match="negative x: -3") as caught,
    ):
        adder_client.call({"point": {"x": -3}}, ANY)
    assert 'raise ValueError(f"negative x: {point.x}")' in str(caught.value)
    log = adder.output()
    assert re.search(
        r"ERROR \[Adder\] \[request_id=[0-9a-f]{32} trace_id=[0-9a-f]{32}\] "
        r"`Adder.run_remote` raised ValueError: negative x: -1",
        log,
    )


def test_async_user_exception_is_500(async_adder: Served) -> None:
    response = async_adder.post({"point": {"x": -5}})
    assert response.status_code == 500
    assert response.json()["error"]["exception_message"] == "negative x: -5"


def test_unknown_path_and_wrong_method(adder: Served) -> None:
    assert adder.get("/nope").status_code == 404
    wrong = adder.get("/run_remote")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"


# Streams ##############################################################################


def test_str_stream_arrives_chunk_by_chunk_and_decodes(
    out: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    parts = ["héllo ", "wörld ✓ ", "🎉"]
    with serve(out / "text_stream") as served, httpx.Client(timeout=10) as http:
        body = json.dumps({"parts": parts, "gate": str(gate)})
        with http.stream("POST", served.url + "/run_remote", content=body) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/plain; charset=utf-8"
            assert response.headers["transfer-encoding"] == "chunked"
            chunks = response.iter_raw()
            # The server holds the second part until the gate opens: the first is here.
            assert next(chunks) == parts[0].encode()
            gate.touch()
            assert b"".join(chunks) == "".join(parts[1:]).encode()
        with client(served.url, "TextStream") as text:
            assert "".join(text.stream({"parts": parts}, str)) == "".join(parts)
            # An error before the first chunk is still a 500 with the detail.
            with pytest.raises(ValueError, match="nothing to stream"):
                list(text.stream({"parts": []}, str))


def test_bytes_stream_from_a_sync_generator(out: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    with serve(out / "byte_stream") as served, httpx.Client(timeout=10) as http:
        body = json.dumps({"parts": [0, 255, 7], "gate": str(gate)})
        with http.stream("POST", served.url + "/run_remote", content=body) as response:
            assert response.headers["content-type"] == "application/octet-stream"
            chunks = response.iter_raw()
            assert next(chunks) == b"\x00\x00\x00"
            gate.touch()
            assert b"".join(chunks) == b"\xff\xff\xff\x07\x07\x07"
        # An error after the first chunk: a client that asks for frames (chainsc's)
        # raises it as a 500's error, after the chunks before it.
        received: list[bytes] = []
        with (
            client(served.url, "ByteStream") as data,
            pytest.raises(ValueError, match="negative byte") as caught,
        ):
            received.extend(data.stream({"parts": [1, 2, -1]}))
        assert received == [b"\x01\x01\x01", b"\x02\x02\x02"]
        message = str(caught.value)
        assert "Chainlet `ByteStream`" in message
        assert "in its stream after 2 chunks" in message
        assert 'File "chain.py", line 102, in run_remote' in message
        assert 'raise ValueError("negative byte")' in message
        assert "failed while streaming: ValueError: negative byte" in served.output()
        # Any other client gets the plain chunks, and a cut connection.
        body = json.dumps({"parts": [1, -1]})
        with http.stream("POST", served.url + "/run_remote", content=body) as response:
            assert response.headers["content-type"] == "application/octet-stream"
            with pytest.raises(httpx.RemoteProtocolError):
                response.read()


# Health, readiness, OpenAPI, API key ###################################################


def test_healthz_answers_during_load_readyz_after_it_and_is_healthy_counts(
    out: Path, tmp_path: Path
) -> None:
    gate, unhealthy = tmp_path / "gate", tmp_path / "unhealthy"
    env = {"TEST_INIT_GATE": str(gate), "TEST_UNHEALTHY": str(unhealthy)}
    with serve(out / "adder", env=env, ready=False) as served:
        assert served.get("/healthz").status_code == 200
        assert served.get("/readyz").status_code == 503
        assert served.get("/readyz").json() == {"status": "loading"}
        not_loaded = served.post({"point": {"x": 1}})
        assert not_loaded.status_code == 503
        assert not_loaded.headers["retry-after"] == "1"
        gate.touch()
        served.wait_ready()
        assert served.post({"point": {"x": 1}}).status_code == 200
        unhealthy.touch()
        assert served.get("/readyz").status_code == 503
        assert served.get("/readyz").json() == {"status": "unhealthy"}
        assert served.get("/healthz").status_code == 200
        unhealthy.unlink()
        assert served.get("/readyz").status_code == 200


def test_failing_load_logs_the_error_and_exits_1(out: Path) -> None:
    with serve(out / "adder", env={"TEST_INIT_FAIL": "1"}, ready=False) as served:
        assert served.process.wait(STARTUP_TIMEOUT) == 1
    log = served.output()
    assert "ERROR [Adder] load() failed: RuntimeError: no weights here" in log
    assert "Traceback" in log


def test_openapi_document_of_the_live_endpoint(adder: Served, out: Path) -> None:
    document = adder.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "Adder"
    assert list(document["paths"]) == ["/run_remote"]
    operation = document["paths"]["/run_remote"]["post"]
    assert operation["operationId"] == "run_remote"
    assert operation["summary"] == "Add x and y."
    schemas = document["components"]["schemas"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    assert request == {"$ref": "#/components/schemas/Input"}
    assert set(schemas["Input"]["properties"]) == {"point", "delay"}
    assert schemas["Input"]["required"] == ["point"]
    assert schemas["Point"]["required"] == ["x"]
    reply = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert reply == {"additionalProperties": {"type": "integer"}, "type": "object"}
    assert {"200", "422", "500", "503"} <= set(operation["responses"])
    assert "security" not in document
    with serve(out / "text_stream") as served:
        streamed = served.get("/openapi.json").json()["paths"]["/run_remote"]["post"]
        assert list(streamed["responses"]["200"]["content"]) == [
            "text/plain; charset=utf-8"
        ]


def test_api_key_is_required_everywhere_but_the_probes(out: Path) -> None:
    # Probes (a kubelet's, `chainsc run`'s) carry no key, as Truss's server expects none
    # on its liveness and readiness routes.
    with serve(out / "adder", env={"CHAINSC_API_KEY": "s3cret"}, ready=False) as served:
        assert served.get("/healthz").status_code == 200
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while served.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        for path in ("/openapi.json", "/nope"):
            assert served.get(path).status_code == 401, path
        assert served.post({"point": {"x": 1}}).status_code == 401
        wrong = served.post(
            {"point": {"x": 1}}, headers={"Authorization": "Api-Key nope"}
        )
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == "Api-Key"
        key = {"Authorization": "Api-Key s3cret"}
        assert served.get("/readyz", headers=key).status_code == 200
        assert served.get("/openapi.json", headers=key).json()["security"] == [
            {"ApiKey": []}
        ]
        with ChainletClient(service="Adder", url=served.url, api_key="s3cret") as keyed:
            assert keyed.call({"point": {"x": 4}}, ANY)["sum"] == 4


# Concurrency and shutdown #############################################################


def test_predict_concurrency_bounds_a_sync_endpoint(adder: Served) -> None:
    started = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        replies = list(
            pool.map(lambda _: adder.post({"point": {"x": 1}, "delay": 0.3}), range(6))
        )
    assert [r.status_code for r in replies] == [200] * 6
    assert max(r.json()["most_in_flight"] for r in replies) == 2
    assert time.monotonic() - started >= 0.85  # three rounds of two


def test_predict_concurrency_bounds_an_async_endpoint(async_adder: Served) -> None:
    with ThreadPoolExecutor(7) as pool:
        replies = list(
            pool.map(
                lambda _: async_adder.post({"point": {"x": 1}, "delay": 0.3}), range(7)
            )
        )
    assert [r.status_code for r in replies] == [200] * 7
    assert max(r.json()["y"] for r in replies) == 3


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(
    out: Path, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    with serve(out / "async_adder") as served:
        result: dict[str, httpx.Response] = {}
        request = threading.Thread(
            target=lambda: result.setdefault(
                "reply",
                served.post(
                    {"point": {"x": 1, "y": 1}, "delay": 1.5, "started": str(started)}
                ),
            )
        )
        request.start()
        deadline = time.monotonic() + 10
        while not started.exists():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        served.process.send_signal(signal.SIGTERM)
        time.sleep(0.4)
        with pytest.raises(httpx.ConnectError):  # no longer accepting
            served.get("/healthz")
        request.join(10)
        assert result["reply"].status_code == 200
        assert result["reply"].json()["x"] == 2
        assert served.process.wait(10) == 0


def test_drain_timeout_bounds_the_wait_for_a_stuck_request(out: Path) -> None:
    with serve(out / "adder", env={"CHAINSC_DRAIN_TIMEOUT": "0.5"}) as served:
        outcome: list[int | Exception] = []

        def call() -> None:
            try:
                outcome.append(
                    served.post({"point": {"x": 1}, "delay": 30}).status_code
                )
            except httpx.HTTPError as exc:
                outcome.append(exc)

        request = threading.Thread(target=call)
        request.start()
        time.sleep(0.3)
        stopped = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(10) == 0
        assert time.monotonic() - stopped < 5
        request.join(10)
        assert outcome == [503]  # cut: the caller's transport retries a 503
    assert "1 request(s) still running after the 0.5 s drain timeout" in served.output()


# Two hops #############################################################################


def test_an_error_two_hops_down_reaches_the_outside_caller_with_both_tracebacks(
    out: Path, adder: Served
) -> None:
    names = ("Adder", "AsyncAdder", "TextStream", "ByteStream")
    services = dict.fromkeys(names, adder.url)
    env = {"CHAINSC_SERVICES": json.dumps(services)}
    with serve(out / "entry", env=env) as entry, client(entry.url, "Entry") as outside:
        assert outside.call({"x": 4}, INT) == 8
        with pytest.raises(ValueError, match="negative x: -2") as caught:
            outside.call({"x": -2}, INT)
    message = str(caught.value)
    assert not isinstance(caught.value, GenericRemoteException)
    assert "Error calling dependency Chainlet `Entry`" in message
    assert "Error calling dependency Chainlet `Adder`" in message
    assert message.index("`Entry`") < message.index("`Adder`")
    # The entrypoint's frame, then the dependency's.
    assert "return self._adder.run_remote(Point(x=x))" in message
    assert 'raise ValueError(f"negative x: {point.x}")' in message
    assert message.rstrip().endswith("ValueError: negative x: -2")
