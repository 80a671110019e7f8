"""The HTTP transport against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import enum
import gc
import json
import socket
import threading
import time
from collections.abc import AsyncGenerator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, cast

import pydantic
import pytest

from chainsc_runtime import (
    DeployedServiceDescriptor,
    GenericRemoteException,
    RPCOptions,
)
from chainsc_runtime.errors import (
    ChainletCallError,
    ChainletTimeoutError,
    ChainletUnavailableError,
    MissingDependencyError,
    RemoteValidationError,
)
from chainsc_runtime.serving import error_detail
from chainsc_runtime.transport import (
    ChainletClient,
    ServiceTarget,
    dynamic_chainlet_config_path,
    encode_arguments,
    find_service,
    find_services,
    service_env_var,
    upper_snake,
)
from tests.runtime.httpserver import Reply, Request, ScriptedServer

INT = pydantic.TypeAdapter(int)
ANY: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Any)


class Client(ChainletClient):
    """A client with test-sized backoff (the generated ones keep the defaults)."""

    BACKOFF_BASE_SEC: ClassVar[float] = 0.01
    BACKOFF_MAX_SEC: ClassVar[float] = 0.05


class Color(enum.Enum):
    RED = "red"


class Point(pydantic.BaseModel):
    x: int
    label: str = pydantic.Field(alias="name")
    color: Color = Color.RED


def make(url: str, **options: Any) -> Client:
    return Client(
        service="Worker", url=url, options=RPCOptions(**options), api_key=None
    )


@pytest.fixture
def echo() -> Iterator[ScriptedServer]:
    with ScriptedServer(lambda request: Reply(200, request.json())) as server:
        yield server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_transport_call_sync_posts_arguments_by_name(echo: ScriptedServer) -> None:
    with make(echo.url) as client:
        assert client.call({"a": 1, "b": [1, 2]}, ANY) == {"a": 1, "b": [1, 2]}
    request = echo.requests[0]
    assert request.path == "/run_remote"
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers


def test_transport_call_async(echo: ScriptedServer) -> None:
    async def main() -> Any:
        async with make(echo.url) as client:
            return await client.acall({"a": "é"}, ANY)

    assert asyncio.run(main()) == {"a": "é"}


def test_transport_pydantic_in_and_out(echo: ScriptedServer) -> None:
    point = Point(x=1, name="p")
    with make(echo.url) as client:
        reply = client.call({"point": point}, pydantic.TypeAdapter(dict[str, Point]))
    assert echo.requests[0].json() == {"point": {"x": 1, "name": "p", "color": "red"}}
    assert reply == {"point": point}


def test_transport_encode_arguments_is_compact_json() -> None:
    assert json.loads(encode_arguments({"p": (1, 2), "c": Color.RED})) == {
        "p": [1, 2],
        "c": "red",
    }


def test_transport_sends_the_api_key(echo: ScriptedServer) -> None:
    with Client(service="Worker", url=echo.url + "/", api_key="s3cret") as client:
        client.call({}, ANY)
    assert echo.requests[0].headers["authorization"] == "Api-Key s3cret"
    assert echo.requests[0].path == "/run_remote"


def test_transport_retries_503_then_succeeds() -> None:
    def handler(request: Request) -> Reply:
        return (
            Reply(503, {"error": "warming up"})
            if len(server.requests) < 3
            else Reply(200, 7)
        )

    with ScriptedServer(handler) as server, make(server.url, retries=3) as client:
        assert client.call({}, INT) == 7
    assert len(server.requests) == 3


def test_transport_retries_502_then_succeeds_async() -> None:
    def handler(request: Request) -> Reply:
        return Reply(502, b"bad gateway") if len(server.requests) < 2 else Reply(200, 8)

    async def main() -> int:
        async with make(server.url, retries=2) as client:
            return await client.acall({}, INT)

    with ScriptedServer(handler) as server:
        assert asyncio.run(main()) == 8
    assert len(server.requests) == 2


def test_transport_retries_is_the_total_number_of_attempts() -> None:
    with (
        ScriptedServer(lambda request: Reply(504, b"")) as server,
        make(server.url, retries=2) as client,
        pytest.raises(
            ChainletUnavailableError,
            match=r"Chainlet `Worker` .* HTTP 504 .* 2 attempts",
        ) as info,
    ):
        client.call({}, INT)
    assert len(server.requests) == 2
    assert info.value.status_code == 504
    assert info.value.service == "Worker"


def test_transport_single_attempt_by_default() -> None:
    with (
        ScriptedServer(lambda request: Reply(503, b"")) as server,
        make(server.url) as client,
        pytest.raises(ChainletUnavailableError, match="1 attempt"),
    ):
        client.call({}, INT)
    assert len(server.requests) == 1


def raise_user_error() -> None:
    data: dict[str, int] = {}
    if "n" not in data:
        raise ValueError("n is missing")


def user_error_reply(exc_factory: Any = raise_user_error) -> Reply:
    try:
        exc_factory()
    except Exception as exc:
        return Reply(500, error_detail(exc))
    raise AssertionError("no error")


def test_transport_user_error_is_reraised_with_remote_traceback_and_never_retried() -> (
    None
):
    with (
        ScriptedServer(lambda request: user_error_reply()) as server,
        make(server.url, retries=3) as client,
        pytest.raises(ValueError, match="n is missing") as info,
    ):
        client.call({}, INT)
    assert len(server.requests) == 1
    message = str(info.value)
    assert type(info.value) is ValueError
    assert "Error calling dependency Chainlet `Worker`" in message
    assert "HTTP status=500" in message
    assert "Chainlet-Traceback (most recent call last):" in message
    assert 'raise ValueError("n is missing")' in message
    assert "in raise_user_error" in message
    assert "╰   ValueError: n is missing" in message


def test_transport_key_error_keeps_its_class_and_readable_message() -> None:
    def fail() -> None:
        raise KeyError("token")

    with (
        ScriptedServer(lambda request: user_error_reply(fail)) as server,
        make(server.url) as client,
        pytest.raises(KeyError) as info,
    ):
        client.call({}, INT)
    assert "\n" in str(info.value)  # the traceback is readable, not a repr
    assert type(info.value).__name__ == "KeyError"


def test_transport_unknown_exception_class_becomes_generic_remote_exception() -> None:
    class QuotaError(Exception):
        pass

    def fail() -> None:
        raise QuotaError("over quota")

    with (
        ScriptedServer(lambda request: user_error_reply(fail)) as server,
        make(server.url) as client,
        pytest.raises(GenericRemoteException, match="over quota") as info,
    ):
        client.call({}, INT)
    assert "QuotaError: over quota" in str(info.value)
    assert "Exception class defined in `tests.runtime.test_transport`" in str(
        info.value
    )


def test_transport_422_names_the_service_and_the_fields() -> None:
    body = {
        "detail": [{"loc": ["point", "x"], "msg": "Field required", "type": "missing"}]
    }
    with (
        ScriptedServer(lambda request: Reply(422, body)) as server,
        make(server.url, retries=3) as client,
        pytest.raises(RemoteValidationError) as info,
    ):
        client.call({"point": {}}, INT)
    assert isinstance(info.value, ValueError)
    assert len(server.requests) == 1
    assert "Chainlet `Worker`" in str(info.value)
    assert "rejected the arguments (HTTP 422)" in str(info.value)
    assert "  - point.x: Field required" in str(info.value)
    assert info.value.errors == body["detail"]


def test_transport_other_status_is_a_call_error() -> None:
    with (
        ScriptedServer(lambda request: Reply(401, b"bad key")) as server,
        make(server.url, retries=3) as client,
        pytest.raises(ChainletCallError, match=r"HTTP status=401\. bad key"),
    ):
        client.call({}, INT)
    assert len(server.requests) == 1


def test_transport_reply_of_the_wrong_type_is_a_call_error(
    echo: ScriptedServer,
) -> None:
    with (
        make(echo.url) as client,
        pytest.raises(ChainletCallError, match="does not match its return type"),
    ):
        client.call({"a": 1}, INT)


def test_transport_timeout_per_attempt_names_the_service() -> None:
    with ScriptedServer(lambda request: Reply(200, 1, delay=1.0)) as server:
        client = make(server.url, timeout_sec=0.2, retries=2)
        started = time.monotonic()
        with pytest.raises(
            ChainletTimeoutError,
            match=r"Timeout calling Chainlet `Worker` .*0\.2 s \(2 attempts\)",
        ):
            client.call({}, INT)
        assert time.monotonic() - started < 0.9
        assert len(server.requests) == 2
        client.close()


def test_transport_timeout_async_is_a_timeout_error() -> None:
    async def main() -> None:
        async with make(server.url, timeout_sec=0.2) as client:
            await client.acall({}, INT)

    with (
        ScriptedServer(lambda request: Reply(200, 1, delay=0.6)) as server,
        pytest.raises(TimeoutError, match="Worker"),
    ):
        asyncio.run(main())


def test_transport_connection_refused_retries_then_names_service_and_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with (
        make(url, retries=3) as client,
        pytest.raises(ChainletUnavailableError) as info,
    ):
        client.call({}, INT)
    message = str(info.value)
    assert f"Cannot reach Chainlet `Worker` ({url}/run_remote) (3 attempts)" in message
    assert isinstance(info.value, ConnectionError)
    assert info.value.url == f"{url}/run_remote"


def test_transport_connection_refused_async() -> None:
    async def main() -> None:
        async with make(f"http://127.0.0.1:{free_port()}", retries=2) as client:
            await client.acall({}, INT)

    with pytest.raises(ChainletUnavailableError, match="2 attempts"):
        asyncio.run(main())


def test_transport_concurrency_limit_sync() -> None:
    with ScriptedServer(lambda request: Reply(200, 1, delay=0.15)) as server:
        client = make(server.url, concurrency_limit=2)
        with ThreadPoolExecutor(6) as pool:
            assert list(pool.map(lambda _: client.call({}, INT), range(6))) == [1] * 6
        client.close()
    assert server.max_in_flight == 2


def test_transport_concurrency_limit_async() -> None:
    async def main() -> list[int]:
        async with make(server.url, concurrency_limit=3) as client:
            return await asyncio.gather(*(client.acall({}, INT) for _ in range(9)))

    with ScriptedServer(lambda request: Reply(200, 1, delay=0.15)) as server:
        assert asyncio.run(main()) == [1] * 9
    assert server.max_in_flight == 3


EURO = "€".encode()  # three bytes


def test_transport_stream_str_decodes_characters_split_across_chunks() -> None:
    gate = threading.Event()
    chunks = [b"ab" + EURO[:1], EURO[1:2], EURO[2:] + b"c", "ü".encode()]
    with (
        ScriptedServer(lambda request: Reply(chunks=chunks, gate=gate)) as server,
        make(server.url) as client,
    ):
        received: list[str] = []
        for text in client.stream({"n": 1}, str):
            received.append(text)
            gate.set()  # the server sends the rest only after the first chunk arrived
    assert received[0] == "ab"
    assert "".join(received) == "ab€cü"
    assert server.requests[0].json() == {"n": 1}


def test_transport_stream_holds_the_slot_until_the_stream_ends() -> None:
    with ScriptedServer(lambda request: Reply(chunks=[b"a", b"b"])) as server:
        client = make(server.url, concurrency_limit=1)
        stream = client.stream({})
        assert next(stream) == b"a"
        assert not client._sync_slots.acquire(blocking=False)
        assert list(stream) == [b"b"]
        assert client._sync_slots.acquire(blocking=False)
        client._sync_slots.release()
        client.close()


def test_transport_astream_holds_the_slot_until_the_stream_ends() -> None:
    async def main() -> None:
        async with make(server.url, concurrency_limit=1) as client:
            stream = client.astream({})
            assert await anext(stream) == b"a"
            assert client._async_slots.locked()
            assert [chunk async for chunk in stream] == [b"b"]
            assert not client._async_slots.locked()
            # Left early: the slot is released, the connection is not reused.
            left = cast(AsyncGenerator[bytes, None], client.astream({}))
            assert await anext(left) == b"a"
            await left.aclose()
            assert not client._async_slots.locked()
            assert [chunk async for chunk in client.astream({})] == [b"a", b"b"]

    with ScriptedServer(lambda request: Reply(chunks=[b"a", b"b"])) as server:
        asyncio.run(main())
    assert len(server.requests) == 3


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_transport_stream_cut_after_it_started_is_a_clear_error(
    asynchronous: bool,
) -> None:
    received: list[bytes] = []
    with ScriptedServer(lambda request: Reply(chunks=[b"a"], cut=True)) as server:
        client = make(server.url, retries=3)
        with pytest.raises(ChainletUnavailableError) as info:
            read_stream(client, asynchronous=asynchronous, into=received)
    assert received == [b"a"]
    assert str(info.value).startswith(
        f"The stream of Chainlet `Worker` ({server.url}/run_remote) broke: "
    )
    assert len(server.requests) == 1


def test_transport_async_calls_reuse_pooled_connections(echo: ScriptedServer) -> None:
    async def main() -> None:
        async with make(echo.url) as client:
            for n in range(5):
                assert await client.acall({"n": n}, ANY) == {"n": n}
            assert await asyncio.gather(
                *(client.acall({"n": n}, ANY) for n in range(4))
            ) == [{"n": n} for n in range(4)]

    asyncio.run(main())
    ports = [request.client_port for request in echo.requests]
    assert len(set(ports[:5])) == 1  # one keep-alive connection, one call at a time
    assert len(set(ports)) <= 4


def test_transport_astream_str_and_bytes() -> None:
    gate = threading.Event()
    chunks = [b"x" + EURO[:2], EURO[2:], b"!"]

    async def main() -> tuple[list[str], list[bytes]]:
        async with make(server.url) as client:
            texts = []
            async for text in client.astream({}, str):
                texts.append(text)
                gate.set()
            raw = [chunk async for chunk in client.astream({})]
            return texts, raw

    with ScriptedServer(lambda request: Reply(chunks=chunks, gate=gate)) as server:
        texts, raw = asyncio.run(main())
    assert texts == ["x", "€", "!"]
    assert b"".join(raw) == b"x" + EURO + b"!"


def test_transport_stream_error_before_first_chunk_is_raised() -> None:
    with (
        ScriptedServer(lambda request: user_error_reply()) as server,
        make(server.url) as client,
        pytest.raises(ValueError, match="n is missing"),
    ):
        list(client.stream({}, str))


def read_stream(
    client: Client, *, asynchronous: bool, into: list[bytes] | None = None
) -> list[bytes]:
    """The chunks of a `stream` / `astream` of `client`, appended as they arrive."""
    received = [] if into is None else into
    if not asynchronous:
        with client:
            for chunk in client.stream({}):
                received.append(chunk)
        return received

    async def main() -> None:
        async with client:
            async for chunk in client.astream({}):
                received.append(chunk)

    asyncio.run(main())
    return received


class PatientClient(Client):
    """Waits up to 1.5 s for each chunk: longer than its `timeout_sec` in these tests."""

    STREAMING_READ_TIMEOUT_SEC: ClassVar[float | None] = 1.5


class ImpatientClient(Client):
    STREAMING_READ_TIMEOUT_SEC: ClassVar[float | None] = 0.4


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_transport_stream_read_timeout_is_per_chunk_not_total(
    asynchronous: bool,
) -> None:
    # Each gap (0.8 s) is above `timeout_sec` and below the read timeout; the whole
    # stream (2.4 s) is above both.
    chunks = [b"a", b"b", b"c", b"d"]
    with ScriptedServer(
        lambda request: Reply(chunks=chunks, chunk_delay=0.8)
    ) as server:
        client = PatientClient(
            service="Worker", url=server.url, options=RPCOptions(timeout_sec=0.5)
        )
        assert read_stream(client, asynchronous=asynchronous) == chunks


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_transport_stream_gap_above_read_timeout_names_the_service(
    asynchronous: bool,
) -> None:
    received: list[bytes] = []
    with ScriptedServer(
        lambda request: Reply(chunks=[b"first", b"late"], chunk_delay=3.0)
    ) as server:
        client = ImpatientClient(
            service="Worker", url=server.url, options=RPCOptions(retries=3)
        )
        with pytest.raises(ChainletTimeoutError) as info:
            read_stream(client, asynchronous=asynchronous, into=received)
    assert received == [b"first"]
    assert isinstance(info.value, TimeoutError)
    assert info.value.service == "Worker"
    assert str(info.value) == (
        f"Timeout reading the stream of Chainlet `Worker` ({server.url}/run_remote): "
        "no chunk within 0.4 s (the stream read timeout)."
    )
    assert len(server.requests) == 1  # a stream that started is never retried


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_transport_stream_reply_must_start_within_timeout_sec(
    asynchronous: bool,
) -> None:
    with ScriptedServer(lambda request: Reply(chunks=[b"a"], delay=1.5)) as server:
        client = PatientClient(
            service="Worker",
            url=server.url,
            options=RPCOptions(timeout_sec=0.3, retries=2),
        )
        with pytest.raises(
            ChainletTimeoutError,
            match=r"Timeout calling Chainlet `Worker` .*: no reply within 0\.3 s "
            r"\(2 attempts\)",
        ):
            read_stream(client, asynchronous=asynchronous)


def _no_file(tmp_path: Path) -> dict[str, str]:
    """An environment whose dynamic config directory holds nothing."""
    return {"CHAINSC_DYNAMIC_CONFIG_DIR": str(tmp_path / "empty")}


def _write_dynamic_config(tmp_path: Path, data: object) -> dict[str, str]:
    """Write `dynamic_chainlet_config` (JSON) and point the environment at it."""
    directory = tmp_path / "b10_dynamic_config"
    directory.mkdir(exist_ok=True)
    text = data if isinstance(data, str) else json.dumps(data)
    (directory / "dynamic_chainlet_config").write_text(text)
    return {"CHAINSC_DYNAMIC_CONFIG_DIR": str(directory)}


def test_transport_find_services_from_map_and_override(tmp_path: Path) -> None:
    services = json.dumps({"TextToNum": "http://a:1/", "Other": "http://b:2"})
    env = {"CHAINSC_SERVICES": services, **_no_file(tmp_path)}
    assert find_service("TextToNum", env) == ServiceTarget(
        url="http://a:1/run_remote", origin="CHAINSC_SERVICES"
    )
    env["CHAINSC_SERVICE_URL_TEXT_TO_NUM"] = "http://override:3"
    assert find_services(["TextToNum", "Other"], env) == {
        "TextToNum": ServiceTarget(
            url="http://override:3/run_remote", origin="CHAINSC_SERVICE_URL_TEXT_TO_NUM"
        ),
        "Other": ServiceTarget(url="http://b:2/run_remote", origin="CHAINSC_SERVICES"),
    }
    assert service_env_var("my-chainlet") == "CHAINSC_SERVICE_URL_MY_CHAINLET"
    assert upper_snake("HTTPServer2Go") == "HTTP_SERVER2_GO"


def test_transport_find_services_from_the_dynamic_chainlet_config(
    tmp_path: Path,
) -> None:
    env = _write_dynamic_config(
        tmp_path,
        {
            "Leaf": {"predict_url": "http://leaf:8080/v1/models/model:predict"},
            "Middle": {
                "internal_url": {
                    "gateway_run_remote_url": "http://gateway/run_remote",
                    "hostname": "middle.internal",
                },
                # `internal_url` wins, as in Truss.
                "predict_url": "http://ignored/predict",
            },
            "Both": {"predict_url": "http://file/predict", "unknown_key": 1},
        },
    )
    path = str(tmp_path / "b10_dynamic_config" / "dynamic_chainlet_config")
    env["CHAINSC_SERVICE_URL_BOTH"] = "http://variable:1"
    assert find_services(["Leaf", "Middle", "Both"], env) == {
        # As given: no `/run_remote` appended.
        "Leaf": ServiceTarget(
            url="http://leaf:8080/v1/models/model:predict",
            origin=path,
            from_platform=True,
        ),
        "Middle": ServiceTarget(
            url="http://gateway/run_remote",
            host="middle.internal",
            origin=path,
            from_platform=True,
        ),
        # chainsc's variables win over the file.
        "Both": ServiceTarget(
            url="http://variable:1/run_remote", origin="CHAINSC_SERVICE_URL_BOTH"
        ),
    }
    target = find_service("Middle", env)
    assert target.descriptor_urls() == {
        "internal_url": DeployedServiceDescriptor.InternalURL(
            gateway_run_remote_url="http://gateway/run_remote",
            hostname="middle.internal",
        )
    }
    assert find_service("Leaf", env).descriptor_urls() == {
        "predict_url": "http://leaf:8080/v1/models/model:predict"
    }


def test_transport_find_services_default_directory_is_where_baseten_mounts_it() -> None:
    assert dynamic_chainlet_config_path({}) == Path(
        "/etc/b10_dynamic_config/dynamic_chainlet_config"
    )


def test_transport_not_found_names_every_place_looked(tmp_path: Path) -> None:
    env = _no_file(tmp_path)
    path = tmp_path / "empty" / "dynamic_chainlet_config"
    with pytest.raises(MissingDependencyError) as info:
        find_services(["TextToNum", "Other"], env)
    assert str(info.value) == (
        "No URL for the Chainlets `TextToNum`, `Other`. Looked in:\n"
        "  - `CHAINSC_SERVICE_URL_TEXT_TO_NUM`, `CHAINSC_SERVICE_URL_OTHER`: not set\n"
        "  - `CHAINSC_SERVICES`: not set\n"
        f"  - `{path}`: no such file\n"
        "Set `CHAINSC_SERVICE_URL_TEXT_TO_NUM` to the base URL of a chainsc server, or "
        "list them all in `CHAINSC_SERVICES` (a JSON object of Chainlet name -> base "
        "URL; `chainsc run` sets it). Under Truss's server the file names them "
        "(Baseten mounts it when the Chainlets are deployed together as one chain); "
        "`CHAINSC_DYNAMIC_CONFIG_DIR` points to another directory than "
        "`/etc/b10_dynamic_config`."
    )
    env = {
        "CHAINSC_SERVICES": json.dumps({"B": "http://b", "A": "http://a"}),
        **_write_dynamic_config(tmp_path, {"Leaf": {"predict_url": "http://l"}}),
    }
    with pytest.raises(MissingDependencyError) as info:
        find_service("TextToNum", env)
    message = str(info.value)
    assert "No URL for the Chainlet `TextToNum`. Looked in:" in message
    assert "`CHAINSC_SERVICES`: no entry for them (it names `A`, `B`)" in message
    assert "dynamic_chainlet_config`: no entry for them (it names `Leaf`)" in message


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("{", "is not valid JSON"),
        (
            {"Leaf": {"hostname": "x"}},
            "The entry for `Leaf` in `.*` has no usable URL",
        ),
        (
            {"Leaf": {"internal_url": {"hostname": "x"}}},
            "gateway_run_remote_url",
        ),
    ],
)
def test_transport_bad_dynamic_chainlet_config_is_a_clear_error(
    tmp_path: Path, content: object, error: str
) -> None:
    env = _write_dynamic_config(tmp_path, content)
    with pytest.raises(MissingDependencyError, match=error):
        find_service("Leaf", env)


@pytest.mark.parametrize("content", ["", "[]", '"text"'])
def test_transport_dynamic_chainlet_config_of_no_object_names_no_service(
    tmp_path: Path, content: str
) -> None:
    env = _write_dynamic_config(tmp_path, content)
    with pytest.raises(MissingDependencyError, match="it names no Chainlet"):
        find_service("Leaf", env)


def test_transport_bad_services_variable_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MissingDependencyError, match="not valid JSON"):
        find_service("TextToNum", {"CHAINSC_SERVICES": "{", **_no_file(tmp_path)})
    with pytest.raises(MissingDependencyError, match="must be a JSON object"):
        find_service("TextToNum", {"CHAINSC_SERVICES": "[]", **_no_file(tmp_path)})


def test_transport_find_service_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAINSC_SERVICES", json.dumps({"A": "http://x:9"}))
    assert find_service("A").url == "http://x:9/run_remote"


@pytest.mark.parametrize("asynchronous", [False, True])
def test_transport_target_is_posted_to_as_given_with_its_host_header(
    echo: ScriptedServer, asynchronous: bool
) -> None:
    target = ServiceTarget(url=echo.url + "/gateway/run_remote", host="leaf.internal")
    client = Client(service="Leaf", target=target, api_key="secret")
    if asynchronous:
        result = asyncio.run(_acall_and_close(client, {"value": 3}))
    else:
        with client:
            result = client.call({"value": 3}, ANY)
    assert result == {"value": 3}
    (request,) = echo.requests
    assert request.path == "/gateway/run_remote"
    assert request.headers["host"] == "leaf.internal"
    assert request.headers["authorization"] == "Api-Key secret"
    assert "host='leaf.internal'" in repr(client)


def test_transport_target_without_host_sends_the_url_host(echo: ScriptedServer) -> None:
    with Client(
        service="Leaf", target=ServiceTarget(url=echo.url + "/v1/models/model:predict")
    ) as client:
        assert client.call({"value": 1}, ANY) == {"value": 1}
    (request,) = echo.requests
    assert request.path == "/v1/models/model:predict"
    assert request.headers["host"] == echo.url.removeprefix("http://")


def test_transport_client_takes_url_or_target() -> None:
    with pytest.raises(TypeError, match="needs `url` or `target`"):
        ChainletClient(service="Leaf")
    with pytest.raises(TypeError, match="not both"):
        ChainletClient(
            service="Leaf", url="http://a", target=ServiceTarget(url="http://b")
        )


async def _acall_and_close(client: ChainletClient, arguments: dict[str, object]) -> Any:
    async with client:
        return await client.acall(arguments, ANY)


#: The connections of an ended loop are collected with Python's "unclosed transport"
#: ResourceWarning (hidden outside development mode): the loop that owned them is gone.
_ENDED_LOOP_WARNINGS = (
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
)


@_ENDED_LOOP_WARNINGS[0]
@_ENDED_LOOP_WARNINGS[1]
def test_transport_one_client_across_successive_event_loops(
    echo: ScriptedServer,
) -> None:
    """A script that calls `asyncio.run` once per request reuses one client."""
    client = make(echo.url, concurrency_limit=2)
    answers = [asyncio.run(client.acall({"n": n}, ANY)) for n in range(3)]
    assert answers == [{"n": 0}, {"n": 1}, {"n": 2}]

    async def streamed() -> list[bytes]:
        return [chunk async for chunk in client.astream({"n": 3}, bytes)]

    assert json.loads(b"".join(asyncio.run(streamed()))) == {"n": 3}
    asyncio.run(client.aclose())
    gc.collect()  # the ended loops' connections go now, under this test's warning filter


UNCLOSED_SCRIPT = """
import asyncio, sys
import pydantic
from chainsc_runtime.transport import ChainletClient

client = ChainletClient(service="Worker", url=sys.argv[1])
for n in range(2):
    print(asyncio.run(client.acall({"n": n}, pydantic.TypeAdapter(dict))))
"""


def test_transport_a_client_never_closed_after_asyncio_run_exits_quietly(
    echo: ScriptedServer,
) -> None:
    import subprocess  # noqa: PLC0415 - only this test
    import sys  # noqa: PLC0415

    completed = subprocess.run(
        [sys.executable, "-c", UNCLOSED_SCRIPT, echo.url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["{'n': 0}", "{'n': 1}"]
    assert completed.stderr == ""  # no "Unclosed client session" through an ended loop


@_ENDED_LOOP_WARNINGS[0]
@_ENDED_LOOP_WARNINGS[1]
def test_transport_one_client_in_two_running_loops_is_refused(
    echo: ScriptedServer,
) -> None:
    client = make(echo.url)
    started = threading.Event()
    release = threading.Event()

    def hold_a_loop() -> None:
        async def main() -> None:
            await client.acall({}, ANY)
            started.set()
            while not release.is_set():
                await asyncio.sleep(0.01)

        asyncio.run(main())

    thread = threading.Thread(target=hold_a_loop)
    thread.start()
    try:
        assert started.wait(30)
        with pytest.raises(Exception, match="in use by another running event loop"):
            asyncio.run(client.acall({}, ANY))
    finally:
        release.set()
        thread.join(30)
    asyncio.run(client.aclose())  # the pool of the thread's ended loop
    gc.collect()
