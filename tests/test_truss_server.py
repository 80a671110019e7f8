"""A built chain served by Truss's own model server (`TrussServer` of truss 0.18.36).

Each package runs in the truss venv through `tests/truss_serve.py` (the image's `/app`
layout, `TrussServer(port, "config.yaml").start()`) on 127.0.0.1, and finds its
dependencies as on Baseten: in a `dynamic_chainlet_config` file (in a temporary
directory, `CHAINSC_DYNAMIC_CONFIG_DIR`), with the chain API key as the secret
`baseten_chain_api_key` (Truss's `TRUSS_SECRET_<name>` form; Baseten mounts the same
secret as a file in `/secrets`). The entrypoint is called on Truss's route,
`POST /v1/models/model:predict`, and the answer shows every hop ran.

Two ways to reach a dependency, as `dynamic_chainlet_config` has them:

- `predict_url`: the dependency's own Truss server, directly;
- `internal_url`: a gateway that routes by the `Host` header (a loopback stand-in for
  Baseten's, which also checks the API key), so a request without the right `Host`
  or key cannot reach the dependency.

A second chain calls its dependencies with `use_binary=True` (bytes, a numpy array, a
stream) through Truss's servers, and the msgpack bytes Truss's server sends are compared
with those of chainsc's `server.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pydantic
import pytest

from chainsc_runtime import binary, tracing
from chainsc_runtime.definitions import RPCOptions
from chainsc_runtime.errors import GenericRemoteException
from chainsc_runtime.pydantic_numpy import NumpyArrayField
from chainsc_runtime.transport import ChainletClient, ServiceTarget
from tests.conftest import REPO, run_cli, skip_or_fail, truss_python
from tests.runtime.httpserver import Reply, Request, ScriptedServer
from tests.runtime.test_server import serve
from tests.test_run_hops import CHAIN as HOPS_CHAIN
from tests.test_run_hops import line_of

pytestmark = pytest.mark.slow

TRUSS_SERVE = REPO / "tests" / "truss_serve.py"
PREDICT_ROUTE = "/v1/models/model:predict"
READY_ROUTE = "/v1/models/model"
API_KEY = "test-chain-api-key"
START_TIMEOUT_SEC = 90.0
PORT_LINE = re.compile(r'^\{"port": (\d+)\}$', re.MULTILINE)

#: Named `app.py`: until the generated clients move into the user's modules, a chain
#: file that sorts after `chainsc_generated` cannot import them (see COMMON.md).
CHAIN = '''\
"""Entry awaits Middle (an async hop); Middle calls Leaf, a sync endpoint, in a thread."""

import asyncio

import pydantic
import truss_chains as chains


class Shout(pydantic.BaseModel):
    text: str
    hops: list[str]


class Leaf(chains.ChainletBase):
    def run_remote(self, text: str) -> Shout:
        if not text:
            raise ValueError("nothing to shout")
        return Shout(text=text.upper(), hops=["Leaf"])


class Middle(chains.ChainletBase):
    def __init__(
        self,
        leaf: Leaf = chains.depends(Leaf),
        context: chains.DeploymentContext = chains.depends_context(),
    ) -> None:
        self._leaf = leaf
        self._context = context

    async def run_remote(self, text: str) -> Shout:
        shout = await asyncio.to_thread(self._leaf.run_remote, text + "!" if text else "")
        # Where the platform says Leaf is (as Truss's DeploymentContext has it).
        leaf = self._context.get_service_descriptor("Leaf")
        where = leaf.internal_url.hostname if leaf.internal_url else leaf.predict_url
        return Shout(text=shout.text, hops=["Middle", *shout.hops, f"leaf@{where}"])


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(self, middle: Middle = chains.depends(Middle)) -> None:
        self._middle = middle

    async def run_remote(self, text: str) -> Shout:
        shout = await self._middle.run_remote(text)
        return Shout(text=shout.text, hops=["Entry", *shout.hops])
'''


@dataclass
class TrussProcess:
    """One package under `TrussServer`, in a subprocess of the truss venv."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def predict_url(self) -> str:
        return self.url + PREDICT_ROUTE

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@dataclass
class Chain:
    """A built chain and the Truss servers started on its packages."""

    out: Path
    python: Path
    scratch: Path
    processes: list[TrussProcess] = field(default_factory=list)

    def start(
        self, package: str, dynamic_config_dir: Path, **extra_env: str
    ) -> TrussProcess:
        """Start `package` under Truss's server (its port known, not yet ready)."""
        scratch = self.scratch / f"{package}-{len(self.processes)}"
        scratch.mkdir()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("CHAINSC_", "TRUSS_SECRET_", "PYTHON"))
        }
        env.update(
            # Truss's server touches `~/inference_server_crashed.txt`.
            HOME=str(scratch),
            CHAINSC_DYNAMIC_CONFIG_DIR=str(dynamic_config_dir),
            **extra_env,
        )
        log = scratch / "server.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [
                    str(self.python),
                    str(TRUSS_SERVE),
                    str(self.out / package),
                    "--port",
                    "0",
                    "--app-dir",
                    str(scratch / "app"),
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=scratch,
            )
        server = TrussProcess(package, process, log)
        self.processes.append(server)
        deadline = time.monotonic() + START_TIMEOUT_SEC
        while not server.port:
            # The launcher's first line on stdout (a warning on stderr may come before).
            if announced := PORT_LINE.search(server.output()):
                server.port = int(announced.group(1))
            elif process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{package}: no port announced:\n{server.output()}")
            else:
                time.sleep(0.05)
        return server

    def wait_ready(self, server: TrussProcess) -> None:
        """Until Truss's readiness route answers 200 (`load()` finished)."""
        deadline = time.monotonic() + START_TIMEOUT_SEC
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                pytest.fail(
                    f"{server.name} exited ({server.process.returncode}):\n{server.output()}"
                )
            try:
                if httpx.get(server.url + READY_ROUTE, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(
            f"{server.name} not ready after {START_TIMEOUT_SEC} s:\n{server.output()}"
        )

    def serve(
        self, package: str, dynamic_config_dir: Path, **extra_env: str
    ) -> TrussProcess:
        server = self.start(package, dynamic_config_dir, **extra_env)
        self.wait_ready(server)
        return server


def write_dynamic_config(directory: Path, entries: Mapping[str, object]) -> Path:
    """`dynamic_chainlet_config` as Baseten mounts it: display name -> URLs."""
    directory.mkdir(exist_ok=True)
    (directory / "dynamic_chainlet_config").write_text(json.dumps(entries))
    return directory


def _check_truss_server_requirements(python: Path) -> None:
    """The truss venv must have what Baseten's image installs for Truss's server."""
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import aiohttp, fastapi, msgpack, opentelemetry.sdk, prometheus_client, uvicorn, uvloop",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        skip_or_fail(
            f"{python} lacks Truss's server requirements ({probe.stderr.strip().splitlines()[-1]}): "
            "run `make truss-venv` (it installs them)"
        )


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    python = truss_python()
    _check_truss_server_requirements(python)
    source = tmp_path_factory.mktemp("source")
    (source / "app.py").write_text(CHAIN)
    out = source / "out"
    built = run_cli("build", str(source / "app.py"), "-o", str(out))
    assert built.returncode == 0, built.stderr
    chain = Chain(out, python, tmp_path_factory.mktemp("truss"))
    try:
        yield chain
    finally:
        for server in chain.processes:
            server.stop()


@pytest.fixture(scope="module")
def leaf(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> TrussProcess:
    """Leaf has no dependencies: one server for every test."""
    return chain.serve("leaf", tmp_path_factory.mktemp("leaf-config"))


def predict(server: TrussProcess, body: object) -> httpx.Response:
    return httpx.post(server.predict_url, json=body, timeout=30)


def test_truss_servers_call_each_other_through_predict_urls(
    chain: Chain, leaf: TrussProcess, tmp_path: Path
) -> None:
    config = write_dynamic_config(
        tmp_path / "config", {"Leaf": {"predict_url": leaf.predict_url}}
    )
    middle = chain.serve("middle", config, TRUSS_SECRET_baseten_chain_api_key=API_KEY)
    write_dynamic_config(
        config,
        {
            "Leaf": {"predict_url": leaf.predict_url},
            "Middle": {"predict_url": middle.predict_url},
        },
    )
    entry = chain.serve("entry", config, TRUSS_SECRET_baseten_chain_api_key=API_KEY)

    reply = predict(entry, {"text": "hi"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "text": "HI!",
        "hops": ["Entry", "Middle", "Leaf", f"leaf@{leaf.predict_url}"],
    }

    # A request that does not match the endpoint: the 422 of chainsc's wire, through Truss.
    reply = predict(entry, {"txt": "hi"})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["text"]

    # An exception two hops down comes back as a 500 naming every hop.
    reply = predict(entry, {"text": ""})
    assert reply.status_code == 500
    error = reply.json()["error"]
    assert error["exception_cls_name"] == "ValueError"
    message = error["exception_message"]
    assert "nothing to shout" in message
    assert message.index("Chainlet `Middle`") < message.index("Chainlet `Leaf`")
    assert leaf.predict_url in message


@dataclass
class Gateway:
    """A loopback stand-in for Baseten's gateway: routes by `Host`, checks the API key."""

    routes: dict[str, str] = field(default_factory=dict)
    seen: list[tuple[str, str, str]] = field(default_factory=list)

    def handle(self, request: Request) -> Reply:
        host = request.headers.get("host", "")
        self.seen.append((request.path, host, request.headers.get("authorization", "")))
        if request.headers.get("authorization") != f"Api-Key {API_KEY}":
            return Reply(401, {"error": "bad API key"})
        upstream = self.routes.get(host)
        if upstream is None:
            return Reply(404, {"error": f"no route for Host {host!r}"})
        forwarded = httpx.post(
            upstream,
            content=request.body,
            headers={
                "Content-Type": request.headers.get("content-type", "application/json")
            },
            timeout=30,
        )
        return Reply(
            forwarded.status_code,
            forwarded.content,
            headers={
                "Content-Type": forwarded.headers.get(
                    "content-type", "application/json"
                )
            },
        )


def test_truss_servers_call_each_other_through_the_internal_gateway(
    chain: Chain, leaf: TrussProcess, tmp_path: Path
) -> None:
    gateway = Gateway()
    with ScriptedServer(gateway.handle) as gateway_server:
        gateway_url = gateway_server.url + "/run_remote"
        leaf_entry = {
            "internal_url": {
                "gateway_run_remote_url": gateway_url,
                "hostname": "leaf.chain.internal",
            }
        }
        config = write_dynamic_config(tmp_path / "config", {"Leaf": leaf_entry})
        middle = chain.serve(
            "middle", config, TRUSS_SECRET_baseten_chain_api_key=API_KEY
        )
        write_dynamic_config(
            config,
            {
                "Leaf": leaf_entry,
                "Middle": {
                    "internal_url": {
                        "gateway_run_remote_url": gateway_url,
                        "hostname": "middle.chain.internal",
                    }
                },
            },
        )
        entry = chain.serve("entry", config, TRUSS_SECRET_baseten_chain_api_key=API_KEY)
        gateway.routes.update(
            {
                "leaf.chain.internal": leaf.predict_url,
                "middle.chain.internal": middle.predict_url,
            }
        )

        reply = predict(entry, {"text": "hey"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "text": "HEY!",
        "hops": ["Entry", "Middle", "Leaf", "leaf@leaf.chain.internal"],
    }
    assert gateway.seen == [
        ("/run_remote", "middle.chain.internal", f"Api-Key {API_KEY}"),
        ("/run_remote", "leaf.chain.internal", f"Api-Key {API_KEY}"),
    ]


def test_truss_server_without_the_chain_api_key_fails_at_load(
    chain: Chain, leaf: TrussProcess, tmp_path: Path
) -> None:
    """Declared in config.yaml but not set: Truss hands the model `***`; load() says what to set."""
    config = write_dynamic_config(
        tmp_path / "config", {"Leaf": {"predict_url": leaf.predict_url}}
    )
    middle = chain.start("middle", config)
    try:
        middle.process.wait(START_TIMEOUT_SEC)
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"Truss's server kept running after a failed load:\n{middle.output()}"
        )
    output = middle.output()
    assert "Chainlet `Middle` calls `Leaf` through the platform" in output
    assert "Set the secret `baseten_chain_api_key`" in output
    assert "`TRUSS_SECRET_baseten_chain_api_key`" in output


# `use_binary=True` through Truss's server ##############################################

#: Entry calls Scaler (bytes and a numpy array in and out) and Ticker (a sync stream of
#: bytes) with `use_binary=True`; the test calls Entry with JSON.
BINARY_CHAIN = '''\
"""Entry -> Scaler and Ticker, both `use_binary=True`."""

from collections.abc import Iterator

import numpy as np
import pydantic
import truss_chains as chains


class Tensor(pydantic.BaseModel):
    blob: bytes
    values: chains.pydantic_numpy.NumpyArrayField


class Scaler(chains.ChainletBase):
    def run_remote(self, blob: bytes, tensor: Tensor, factor: int = 2) -> Tensor:
        return Tensor(blob=blob[::-1] + tensor.blob, values=tensor.values.array * factor)


class Ticker(chains.ChainletBase):
    def run_remote(self, blob: bytes, count: int) -> Iterator[bytes]:
        for tick in range(count):
            yield blob + bytes([tick])


class Report(pydantic.BaseModel):
    blob_hex: str
    dtype: str
    shape: list[int]
    values: list[float]
    ticks_hex: str


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(
        self,
        scaler: Scaler = chains.depends(Scaler, use_binary=True),
        ticker: Ticker = chains.depends(Ticker, use_binary=True),
    ) -> None:
        self._scaler = scaler
        self._ticker = ticker

    def run_remote(self, blob_hex: str, values: list[float]) -> Report:
        blob = bytes.fromhex(blob_hex)
        array = np.array(values, dtype=np.float32).reshape(2, -1)
        scaled = self._scaler.run_remote(blob, Tensor(blob=blob, values=array), factor=3)
        ticks = b"".join(self._ticker.run_remote(blob, 3))
        return Report(
            blob_hex=scaled.blob.hex(),
            dtype=scaled.values.array.dtype.str,
            shape=list(scaled.values.array.shape),
            values=scaled.values.array.ravel().tolist(),
            ticks_hex=ticks.hex(),
        )
'''


class Tensor(pydantic.BaseModel):
    """`Tensor` of BINARY_CHAIN, on the test's side."""

    blob: bytes
    values: NumpyArrayField


@pytest.fixture(scope="module")
def binary_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    python = truss_python()
    _check_truss_server_requirements(python)
    source = tmp_path_factory.mktemp("binary-source")
    (source / "app.py").write_text(BINARY_CHAIN)
    out = source / "out"
    built = run_cli("build", str(source / "app.py"), "-o", str(out))
    assert built.returncode == 0, built.stderr
    chain = Chain(out, python, tmp_path_factory.mktemp("binary-truss"))
    try:
        yield chain
    finally:
        for server in chain.processes:
            server.stop()


def test_use_binary_calls_go_through_truss_servers(
    binary_chain: Chain, tmp_path: Path
) -> None:
    """Bytes that are not UTF-8 and a float32 array cross a hop and a stream, as msgpack."""
    empty = write_dynamic_config(tmp_path / "leaves", {})
    scaler = binary_chain.start("scaler", empty)
    ticker = binary_chain.start("ticker", empty)
    binary_chain.wait_ready(scaler)
    binary_chain.wait_ready(ticker)
    config = write_dynamic_config(
        tmp_path / "config",
        {
            "Scaler": {"predict_url": scaler.predict_url},
            "Ticker": {"predict_url": ticker.predict_url},
        },
    )
    entry = binary_chain.serve(
        "entry", config, TRUSS_SECRET_baseten_chain_api_key=API_KEY
    )

    reply = predict(entry, {"blob_hex": "ff00fe", "values": [1.5, 2, -3, 4.25]})
    assert reply.status_code == 200, reply.text + entry.output() + scaler.output()
    assert reply.json() == {
        "blob_hex": "fe00ffff00fe",
        "dtype": "<f4",
        "shape": [2, 2],
        "values": [4.5, 6.0, -9.0, 12.75],
        "ticks_hex": "ff00fe00" + "ff00fe01" + "ff00fe02",
    }


def test_truss_server_and_server_py_send_the_same_msgpack_bytes(
    binary_chain: Chain, tmp_path: Path
) -> None:
    """The wire of one hop, seen from outside: Truss's server and chainsc's `server.py`."""
    scaler = binary_chain.serve("scaler", write_dynamic_config(tmp_path / "config", {}))
    arguments = {
        "blob": b"\x80\x81",
        "tensor": Tensor(blob=b"\xff", values=np.arange(4, dtype=">i2")),
        "factor": 5,
    }
    body = binary.encode_arguments(arguments)
    headers = {"Content-Type": "application/octet-stream"}
    reply = httpx.post(scaler.predict_url, content=body, headers=headers, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/octet-stream"
    product = np.arange(4, dtype=">i2") * 5  # numpy's product is in native byte order
    assert reply.content == binary.packb({"blob": b"\x81\x80\xff", "values": product})
    with serve(binary_chain.out / "scaler") as served:
        assert served.post(body, headers=headers).content == reply.content

    # chainsc's client of the Truss-served Chainlet, sync and async.
    target = ServiceTarget(url=scaler.predict_url)
    options = RPCOptions(use_binary=True)
    adapter = pydantic.TypeAdapter(Tensor)
    with ChainletClient(service="Scaler", target=target, options=options) as client:
        result = client.call(arguments, adapter)
    assert result.blob == b"\x81\x80\xff"
    assert result.values.array.dtype == product.dtype
    assert result.values.array.tolist() == [0, 5, 10, 15]

    async def call() -> Tensor:
        async with ChainletClient(
            service="Scaler", target=target, options=options
        ) as client:
            return await client.acall({**arguments, "factor": 1}, adapter)

    assert asyncio.run(call()).values.array.tolist() == [0, 1, 2, 3]

    # Error replies stay JSON for a binary request; JSON requests still work.
    reply = httpx.post(
        scaler.predict_url,
        content=binary.encode_arguments({"blob": b""}),
        headers=headers,
        timeout=30,
    )
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["detail"][0]["loc"] == ["tensor"]
    json_tensor = pydantic.TypeAdapter(Tensor).dump_python(
        Tensor(blob=b"b", values=np.array([1.0])), mode="json"
    )
    reply = predict(scaler, {"blob": "a", "tensor": json_tensor})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    assert pydantic.TypeAdapter(Tensor).validate_json(
        reply.content
    ).values.array.tolist() == [2.0]


# Errors inside streams, and the trace context, through Truss's servers ###############


@pytest.fixture(scope="module")
def hops_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    python = truss_python()
    _check_truss_server_requirements(python)
    source = tmp_path_factory.mktemp("hops-source")
    (source / "chain.py").write_text(HOPS_CHAIN)
    out = source / "out"
    built = run_cli("build", str(source / "chain.py"), "-o", str(out))
    assert built.returncode == 0, built.stderr
    chain = Chain(out, python, tmp_path_factory.mktemp("hops-truss"))
    try:
        yield chain
    finally:
        for server in chain.processes:
            server.stop()


def test_stream_errors_and_trace_context_cross_truss_servers(
    hops_chain: Chain, tmp_path: Path
) -> None:
    empty = write_dynamic_config(tmp_path / "leaves", {})
    sync_tokens = hops_chain.start("sync_tokens", empty)
    async_tokens = hops_chain.start("async_tokens", empty)
    hops_chain.wait_ready(sync_tokens)
    hops_chain.wait_ready(async_tokens)
    config = write_dynamic_config(
        tmp_path / "config", {"SyncTokens": {"predict_url": sync_tokens.predict_url}}
    )
    relay = hops_chain.serve(
        "relay", config, TRUSS_SECRET_baseten_chain_api_key=API_KEY
    )
    arguments = {"count": 4, "fail_at": 2}

    # A sync stream (JSON) and an async one (msgpack request): the error after the
    # second chunk reaches chainsc's client in band, with the user's file and line.
    sync_client = ChainletClient(
        service="SyncTokens", target=ServiceTarget(url=sync_tokens.predict_url)
    )
    received: list[str] = []
    with sync_client, pytest.raises(GenericRemoteException) as caught:
        received.extend(sync_client.stream(arguments, str))
    assert received == ["s0 ", "s1 "]
    assert caught.value.remote_class == ("QuotaExceeded", "chain")
    message = str(caught.value)
    assert "Chainlet `SyncTokens`" in message
    assert "in its stream after 2 chunks." in message
    assert f'File "chain.py", line {line_of("# sync raise")}, in run_remote' in message

    async def read_async(url: str, service: str, use_binary: bool) -> list[bytes]:
        chunks: list[bytes] = []
        async with ChainletClient(
            service=service,
            target=ServiceTarget(url=url),
            options=RPCOptions(use_binary=use_binary),
        ) as client:
            try:
                async for chunk in client.astream(arguments):
                    chunks.append(chunk)
            except GenericRemoteException as exc:
                errors.append(exc)
        return chunks

    errors: list[GenericRemoteException] = []
    chunks = asyncio.run(read_async(async_tokens.predict_url, "AsyncTokens", True))
    assert chunks == [b"a0 ", b"a1 "]
    assert f'File "chain.py", line {line_of("# async raise")}' in str(errors[-1])

    # Two hops: Relay (async, JSON) under Truss's server streams on from SyncTokens
    # (msgpack) under Truss's server; the trace context of the caller goes along.
    trace_id, request_id = os.urandom(16).hex(), f"truss-{os.urandom(4).hex()}"
    context = tracing.RequestContext(
        request_id=request_id, trace_id=trace_id, parent_id=os.urandom(8).hex()
    )
    token = tracing.activate(context)
    try:
        texts = asyncio.run(read_async(relay.predict_url, "Relay", False))
    finally:
        tracing.deactivate(token)
    assert texts == [b"S0 ", b"S1 "]
    relayed = str(errors[-1])
    assert errors[-1].remote_class == ("QuotaExceeded", "chain")
    assert relayed.index("Chainlet `Relay`") < relayed.index("Chainlet `SyncTokens`")
    assert f'File "chain.py", line {line_of("# relay")}' in relayed
    assert f'File "chain.py", line {line_of("# sync raise")}' in relayed
    assert "/tmp/" not in relayed
    assert str(hops_chain.out) not in relayed
    # Truss's own log of each hop names the request id chainsc forwarded.
    for server in (relay, sync_tokens):
        assert any(
            json.loads(line).get("request_id") == request_id
            for line in server.output().splitlines()
            if line.startswith("{")
        ), server.output()

    # An error before the first chunk: a 500 with the detail, as on chainsc's server.
    with sync_client, pytest.raises(GenericRemoteException, match="HTTP status=500"):
        list(sync_client.stream({"count": 4, "fail_at": 0}, str))
    # A client that does not ask for frames: Truss's server ends the reply as if the
    # stream were complete (what Truss Chains' own clients get).
    plain = httpx.post(sync_tokens.predict_url, json=arguments, timeout=30)
    assert (plain.status_code, plain.content) == (200, b"s0 s1 ")
