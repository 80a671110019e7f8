"""The serving adapter: Chainlets written with the authoring API, configured like the
generated `model/model.py`, loaded and called, with dependencies on real local servers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import pytest

import chainsc_runtime as chains
from chainsc_runtime.dispatch import InvalidRequestError
from chainsc_runtime.errors import MissingDependencyError
from chainsc_runtime.serving import (
    ChainletModel,
    DependencySpec,
    EndpointSpec,
    error_detail,
    secret_env_var,
    validation_error_body,
)
from chainsc_runtime.transport import ChainletClient
from tests.runtime.httpserver import ModelServer

# The chain, as a user writes it ##########################################################


class Item(pydantic.BaseModel):
    text: str
    repeat: int = 1


def check_positive(value: int) -> None:
    if value < 0:
        raise ValueError(f"negative: {value}")


class Doubler(chains.ChainletBase):
    def run_remote(self, value: int, factor: int = 2) -> int:
        check_positive(value)
        return value * factor


class AsyncDoubler(chains.ChainletBase):
    async def run_remote(self, value: int) -> int:
        await asyncio.sleep(0)
        return value * 2


@chains.mark_entrypoint
class Pipeline(chains.ChainletBase):
    remote_config = chains.RemoteConfig(assets=chains.Assets(secret_keys=["token"]))

    def __init__(
        self,
        doubler: Doubler = chains.depends(Doubler, retries=2),  # noqa: B008
        context: chains.DeploymentContext = chains.depends_context(),  # noqa: B008
    ) -> None:
        self._doubler = doubler
        self._context = context

    def run_remote(self, item: Item, values: list[int]) -> list[str]:
        doubled = [self._doubler.run_remote(value) for value in values]
        return [
            f"{item.text * item.repeat}:{d}:{self._context.secrets['token']}"
            for d in doubled
        ]


class AsyncPipeline(chains.ChainletBase):
    def __init__(
        self,
        doubler: AsyncDoubler = chains.depends(AsyncDoubler),  # noqa: B008
    ) -> None:
        self._doubler = doubler

    async def run_remote(self, values: list[int]) -> int:
        results = await asyncio.gather(*(self._doubler.run_remote(v) for v in values))
        return sum(results)


class Streamer(chains.ChainletBase):
    def run_remote(self, n: int) -> Iterator[str]:
        for i in range(n):
            yield f"{i};"


class AsyncStreamer(chains.ChainletBase):
    async def run_remote(self, n: int) -> AsyncIterator[bytes]:
        for i in range(n):
            yield bytes([i])


# What the compiler generates for it #######################################################


class DoublerClient(ChainletClient):
    def run_remote(self, value: int, factor: int = 2) -> int:
        return self.call({"value": value, "factor": factor}, pydantic.TypeAdapter(int))


class AsyncDoublerClient(ChainletClient):
    async def run_remote(self, value: int) -> int:
        return await self.acall({"value": value}, pydantic.TypeAdapter(int))


class DoublerInput(pydantic.BaseModel):
    value: int
    factor: int = 2


class DoublerModel(ChainletModel):
    chainlet_cls = Doubler
    endpoint = EndpointSpec(
        "run_remote", False, False, DoublerInput, pydantic.TypeAdapter(int)
    )

    def predict(self, inputs: dict[str, object]) -> object:
        return self.dispatcher.handle(inputs)


class AsyncDoublerInput(pydantic.BaseModel):
    value: int


class AsyncDoublerModel(ChainletModel):
    chainlet_cls = AsyncDoubler
    endpoint = EndpointSpec(
        "run_remote", True, False, AsyncDoublerInput, pydantic.TypeAdapter(int)
    )


class PipelineInput(pydantic.BaseModel):
    item: Item
    values: list[int]


class PipelineModel(ChainletModel):
    chainlet_cls = Pipeline
    endpoint = EndpointSpec(
        "run_remote", False, False, PipelineInput, pydantic.TypeAdapter(list[str])
    )
    dependencies = (
        DependencySpec(
            "doubler", DoublerClient, "Doubler", chains.RPCOptions(retries=2)
        ),
    )
    context_param = "context"
    secret_keys = ("token",)

    def predict(self, inputs: dict[str, object]) -> object:
        return self.dispatcher.handle(inputs)


class AsyncPipelineInput(pydantic.BaseModel):
    values: list[int]


class AsyncPipelineModel(ChainletModel):
    chainlet_cls = AsyncPipeline
    endpoint = EndpointSpec(
        "run_remote", True, False, AsyncPipelineInput, pydantic.TypeAdapter(int)
    )
    dependencies = (DependencySpec("doubler", AsyncDoublerClient, "Async-Doubler"),)

    async def predict(self, inputs: dict[str, object]) -> object:
        return await self.dispatcher.ahandle(inputs)


class StreamInput(pydantic.BaseModel):
    n: int


class StreamerModel(ChainletModel):
    chainlet_cls = Streamer
    endpoint = EndpointSpec(
        "run_remote", False, True, StreamInput, pydantic.TypeAdapter(str)
    )


class AsyncStreamerModel(ChainletModel):
    chainlet_cls = AsyncStreamer
    endpoint = EndpointSpec(
        "run_remote", True, True, StreamInput, pydantic.TypeAdapter(bytes)
    )


class NoInput(pydantic.BaseModel):
    pass


# Tests ##################################################################################


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "CHAINSC_SERVICES",
        "CHAINSC_API_KEY",
        "CHAINSC_SECRET_TOKEN",
        "CHAINSC_SECRET_BASETEN_CHAIN_API_KEY",
        "CHAINSC_SERVICE_URL_DOUBLER",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHAINSC_SECRETS_DIR", str(tmp_path / "no-secrets"))
    monkeypatch.setenv(
        "CHAINSC_DYNAMIC_CONFIG_DIR", str(tmp_path / "no-dynamic-config")
    )


@pytest.fixture
def doubler_server() -> Iterator[ModelServer]:
    model = DoublerModel()
    model.load()
    with ModelServer(model) as server:
        yield server


ModelT = TypeVar("ModelT", bound=ChainletModel)
_LOADED: list[ChainletModel] = []


@pytest.fixture(autouse=True)
def close_loaded_models() -> Iterator[None]:
    yield
    while _LOADED:
        _LOADED.pop().close()


def loaded(model: ModelT) -> ModelT:
    """Load `model`; its clients are closed after the test."""
    model.load()
    _LOADED.append(model)
    return model


def test_serving_sync_endpoint_with_dependency_and_env_secret(
    doubler_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAINSC_SERVICES", json.dumps({"Doubler": doubler_server.url}))
    monkeypatch.setenv("CHAINSC_SECRET_TOKEN", "t0k")
    monkeypatch.setenv("CHAINSC_API_KEY", "k")
    model = loaded(PipelineModel(config={}, data_dir="/data", lazy_data_resolver=None))
    result = model.predict({"item": {"text": "ab", "repeat": 2}, "values": [1, 5]})
    assert result == ["abab:2:t0k", "abab:10:t0k"]
    assert [r.json() for r in doubler_server.requests] == [
        {"value": 1, "factor": 2},
        {"value": 5, "factor": 2},
    ]
    assert doubler_server.requests[0].headers["authorization"] == "Api-Key k"
    context = model._chainlet._context
    assert context.data_dir == Path("/data")
    assert (
        context.chainlet_to_service["DoublerClient"].predict_url
        == doubler_server.url + "/run_remote"
    )
    assert context.chainlet_to_service["DoublerClient"].options.retries == 2
    model.close()


def test_serving_secret_from_directory_and_truss_kwarg(
    doubler_server: ModelServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHAINSC_SERVICE_URL_DOUBLER", doubler_server.url)
    (tmp_path / "token").write_text("from-file\n")
    model = loaded(PipelineModel(secrets_dir=tmp_path))
    assert model.dispatcher.handle(b'{"item": {"text": "x"}, "values": [2]}') == [
        "x:4:from-file"
    ]

    class TrussSecrets(Mapping[str, str]):
        """Like Truss's: a missing key raises its own exception; unset values are `***`."""

        def __getitem__(self, key: str) -> str:
            if key != "token":
                raise RuntimeError(f"Secret '{key}' not found.")
            return "from-truss"

        def __iter__(self) -> Iterator[str]:
            raise NotImplementedError

        def __len__(self) -> int:
            return 1

    model = loaded(PipelineModel(secrets=TrussSecrets()))
    assert model.dispatcher.handle({"item": {"text": "y"}, "values": [1]}) == [
        "y:2:from-truss"
    ]


def test_serving_missing_secret_is_a_clear_error_at_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAINSC_SERVICE_URL_DOUBLER", "http://127.0.0.1:1")
    with pytest.raises(MissingDependencyError) as info:
        PipelineModel(secrets={"token": "***"}).load()
    message = str(info.value)
    assert "Chainlet `Pipeline` declares secrets that are not set" in message
    assert secret_env_var("token") == "CHAINSC_SECRET_TOKEN"
    assert "`token`: set `CHAINSC_SECRET_TOKEN` or write the file" in message


def test_serving_missing_dependency_url_is_a_clear_error_at_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAINSC_SECRET_TOKEN", "t")
    with pytest.raises(MissingDependencyError) as info:
        PipelineModel().load()
    message = str(info.value)
    assert message.startswith(
        "Chainlet `Pipeline` cannot find its dependencies. "
        "No URL for the Chainlet `Doubler`. Looked in:\n"
        "  - `CHAINSC_SERVICE_URL_DOUBLER`: not set\n"
        "  - `CHAINSC_SERVICES`: not set\n"
    )
    assert "no-dynamic-config/dynamic_chainlet_config`: no such file" in message


def _dynamic_config(tmp_path: Path, entries: dict[str, object]) -> str:
    """Write a `dynamic_chainlet_config` as Baseten mounts it; its directory."""
    directory = tmp_path / "b10_dynamic_config"
    directory.mkdir()
    (directory / "dynamic_chainlet_config").write_text(json.dumps(entries))
    return str(directory)


class DeclaredSecrets(Mapping[str, str]):
    """Like Truss's: declared secrets only; an unset one is its config value (`***`)."""

    def __init__(self, values: Mapping[str, str], declared: tuple[str, ...]) -> None:
        self._values = values
        self._declared = declared

    def __getitem__(self, key: str) -> str:
        if key not in self._declared:
            raise RuntimeError(f"Secret '{key}' not found.")
        return self._values.get(key, "***")

    def __iter__(self) -> Iterator[str]:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._declared)


_DECLARED = ("token", "baseten_chain_api_key")


def test_serving_dependency_from_the_dynamic_config_with_the_chain_api_key(
    doubler_server: ModelServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """As under Truss's server on Baseten: the predict URL as given, the key from the secret."""
    predict_url = doubler_server.url + "/v1/models/model:predict"
    monkeypatch.setenv(
        "CHAINSC_DYNAMIC_CONFIG_DIR",
        _dynamic_config(tmp_path, {"Doubler": {"predict_url": predict_url}}),
    )
    secrets = DeclaredSecrets({"token": "t", "baseten_chain_api_key": "bk"}, _DECLARED)
    model = loaded(PipelineModel(secrets=secrets))
    assert model.predict({"item": {"text": "a"}, "values": [4]}) == ["a:8:t"]
    (request,) = doubler_server.requests
    assert request.path == "/v1/models/model:predict"
    assert request.headers["authorization"] == "Api-Key bk"
    descriptor = model._chainlet._context.chainlet_to_service["DoublerClient"]
    assert descriptor.predict_url == predict_url
    assert descriptor.internal_url is None
    assert descriptor.display_name == "Doubler"


def test_serving_dependency_through_the_internal_gateway(
    doubler_server: ModelServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    internal = {
        "gateway_run_remote_url": doubler_server.url + "/gateway/run_remote",
        "hostname": "doubler.chain.internal",
    }
    monkeypatch.setenv(
        "CHAINSC_DYNAMIC_CONFIG_DIR",
        _dynamic_config(tmp_path, {"Doubler": {"internal_url": internal}}),
    )
    monkeypatch.setenv("CHAINSC_API_KEY", "from-env")
    model = loaded(PipelineModel(secrets=DeclaredSecrets({"token": "t"}, _DECLARED)))
    assert model.predict({"item": {"text": "b"}, "values": [1]}) == ["b:2:t"]
    (request,) = doubler_server.requests
    assert request.path == "/gateway/run_remote"
    assert request.headers["host"] == "doubler.chain.internal"
    assert request.headers["authorization"] == "Api-Key from-env"
    descriptor = model._chainlet._context.chainlet_to_service["DoublerClient"]
    assert descriptor.internal_url is not None
    assert descriptor.internal_url.model_dump() == internal
    assert descriptor.predict_url is None


def test_serving_platform_dependency_without_api_key_is_a_clear_error_at_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "CHAINSC_DYNAMIC_CONFIG_DIR",
        _dynamic_config(tmp_path, {"Doubler": {"predict_url": "http://127.0.0.1:1/p"}}),
    )
    # Declared in config.yaml, not set: Truss answers its config value, `***`.
    with pytest.raises(MissingDependencyError) as info:
        PipelineModel(secrets=DeclaredSecrets({"token": "t"}, _DECLARED)).load()
    message = str(info.value)
    assert message.startswith(
        "Chainlet `Pipeline` calls `Doubler` through the platform (found in "
    )
    assert "needs an API key, and none is set" in message
    assert "Set the secret `baseten_chain_api_key`" in message
    assert "`TRUSS_SECRET_baseten_chain_api_key`" in message
    assert "`CHAINSC_SECRET_BASETEN_CHAIN_API_KEY`" in message
    assert message.endswith("Or set `CHAINSC_API_KEY`.")


def test_serving_chainsc_variables_need_no_api_key_and_win_over_the_file(
    doubler_server: ModelServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`chainsc run` sets `CHAINSC_SERVICES` and no key: a stale mounted file is not used."""
    monkeypatch.setenv(
        "CHAINSC_DYNAMIC_CONFIG_DIR",
        _dynamic_config(tmp_path, {"Doubler": {"predict_url": "http://127.0.0.1:1/p"}}),
    )
    monkeypatch.setenv("CHAINSC_SERVICES", json.dumps({"Doubler": doubler_server.url}))
    model = loaded(PipelineModel(secrets=DeclaredSecrets({"token": "t"}, _DECLARED)))
    assert model.predict({"item": {"text": "c"}, "values": [2]}) == ["c:4:t"]
    (request,) = doubler_server.requests
    assert request.path == "/run_remote"
    assert "authorization" not in request.headers


def test_serving_async_endpoint_with_async_dependency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with ModelServer(loaded(AsyncDoublerModel())) as server:
        monkeypatch.setenv("CHAINSC_SERVICE_URL_ASYNC_DOUBLER", server.url)

        async def main() -> object:
            model = loaded(AsyncPipelineModel())
            try:
                return await model.predict({"values": [1, 2, 3]})
            finally:
                await model.aclose()

        assert asyncio.run(main()) == 12
        assert len(server.requests) == 3


def test_serving_sync_endpoint_from_async_code_runs_in_a_thread() -> None:
    model = loaded(DoublerModel())
    assert asyncio.run(model.dispatcher.ahandle({"value": 4})) == 8


def test_serving_only_given_arguments_are_passed_so_defaults_apply() -> None:
    model = loaded(DoublerModel())
    assert model.dispatcher.handle({"value": 3}) == 6
    assert model.dispatcher.handle({"value": 3, "factor": 3}) == 9


def test_serving_field_alias_maps_to_the_parameter_name() -> None:
    class Echo(chains.ChainletBase):
        def run_remote(self, json: str) -> str:
            return json.upper()

    class EchoInput(pydantic.BaseModel):
        json_: str = pydantic.Field(alias="json")

    class EchoModel(ChainletModel):
        chainlet_cls = Echo
        endpoint = EndpointSpec(
            "run_remote", False, False, EchoInput, pydantic.TypeAdapter(str)
        )

    assert loaded(EchoModel()).dispatcher.handle({"json": "hi"}) == "HI"


def test_serving_invalid_input_raises_invalid_request_with_422_body() -> None:
    model = loaded(DoublerModel())
    with pytest.raises(InvalidRequestError) as info:
        model.dispatcher.handle({"value": "many"})
    assert isinstance(info.value.__cause__, pydantic.ValidationError)
    body = validation_error_body(info.value.__cause__)
    assert info.value.body() == body
    assert body == {
        "detail": [
            {"loc": ["value"], "msg": body["detail"][0]["msg"], "type": "int_parsing"}
        ]
    }
    json.dumps(body)


def test_serving_result_of_the_wrong_type_is_an_error() -> None:
    class Liar(chains.ChainletBase):
        def run_remote(self) -> int:
            return "not an int"  # type: ignore[return-value]

    class LiarModel(ChainletModel):
        chainlet_cls = Liar
        endpoint = EndpointSpec(
            "run_remote", False, False, NoInput, pydantic.TypeAdapter(int)
        )

    with pytest.raises(
        TypeError, match=r"`Liar\.run_remote` returned a `str`, which does not match"
    ):
        loaded(LiarModel()).dispatcher.handle({})


def test_serving_streams_sync_and_async() -> None:
    streamer = loaded(StreamerModel())
    assert "".join(streamer.dispatcher.handle({"n": 3})) == "0;1;2;"

    async def collect(model: ChainletModel) -> list[Any]:
        return [chunk async for chunk in await model.dispatcher.ahandle({"n": 3})]

    assert asyncio.run(collect(streamer)) == ["0;", "1;", "2;"]
    assert asyncio.run(collect(loaded(AsyncStreamerModel()))) == [
        b"\x00",
        b"\x01",
        b"\x02",
    ]


def test_serving_not_loaded_and_wrong_mode_are_errors() -> None:
    with pytest.raises(chains.ChainsRuntimeError, match="not loaded"):
        DoublerModel().dispatcher.handle({"value": 1})
    with pytest.raises(chains.ChainsRuntimeError, match="is async"):
        loaded(AsyncDoublerModel()).dispatcher.handle({"value": 1})


def test_serving_health_check() -> None:
    class Picky(chains.ChainletBase):
        def __init__(self) -> None:
            self.ready = False

        def is_healthy(self) -> bool:
            return self.ready

        def run_remote(self) -> None:
            return None

    class PickyModel(ChainletModel):
        chainlet_cls = Picky
        endpoint = EndpointSpec(
            "run_remote", False, False, NoInput, pydantic.TypeAdapter(None)
        )

    model = PickyModel()
    assert not asyncio.run(model.is_ready())
    model.load()
    assert not asyncio.run(model.is_ready())
    model._chainlet.ready = True
    assert asyncio.run(model.is_ready())
    assert asyncio.run(loaded(DoublerModel()).is_ready())


def test_serving_error_detail_keeps_only_user_frames() -> None:
    model = loaded(DoublerModel())
    with pytest.raises(ValueError, match="negative") as info:
        model.dispatcher.handle({"value": -1})
    detail = error_detail(info.value)["error"]
    assert detail["exception_cls_name"] == "ValueError"
    assert detail["exception_module_name"] == "builtins"
    assert detail["exception_message"] == "negative: -1"
    names = [frame["name"] for frame in detail["user_stack_trace"]]
    assert names == ["run_remote", "check_positive"]
    # Named without the absolute path (relative to where the runtime is, or by name).
    assert all(
        Path(frame["filename"]).name == Path(__file__).name
        and not Path(frame["filename"]).is_absolute()
        for frame in detail["user_stack_trace"]
    )
    json.dumps(detail)


def test_serving_user_error_chains_across_two_hops(
    doubler_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Caller -> Pipeline (served) -> Doubler (served) raises: one message shows both hops."""
    monkeypatch.setenv("CHAINSC_SERVICE_URL_DOUBLER", doubler_server.url)
    monkeypatch.setenv("CHAINSC_SECRET_TOKEN", "t")
    with ModelServer(loaded(PipelineModel())) as pipeline_server:
        client = ChainletClient(service="Pipeline", url=pipeline_server.url)
        with pytest.raises(ValueError, match="negative: -3") as info:
            client.call(
                {"item": {"text": "a"}, "values": [-3]}, pydantic.TypeAdapter(list[str])
            )
        client.close()
    message = str(info.value)
    assert message.index("Chainlet `Pipeline`") < message.index("Chainlet `Doubler`")
    assert (
        "in run_remote\n│       doubled = [self._doubler.run_remote(value) for value in values]"
        in message
    )
    assert "│   ├─ Error calling dependency Chainlet `Doubler`" in message
    assert 'raise ValueError(f"negative: {value}")' in message
    assert "runtime_lib" not in message


def test_serving_validation_error_reaches_the_caller_as_422(
    doubler_server: ModelServer,
) -> None:
    client = ChainletClient(service="Doubler", url=doubler_server.url)
    with pytest.raises(ValueError, match=r"- value: Input should be a valid integer"):
        client.call({"value": "x"}, pydantic.TypeAdapter(int))
    client.close()


def test_serving_stub_base_calls_the_predict_url(doubler_server: ModelServer) -> None:
    class DeployedDoubler(chains.StubBase):
        def run_remote(self, value: int) -> int:
            return int(self.predict_sync({"value": value}))

    class Wrapped(pydantic.BaseModel):
        value: int

    stub = DeployedDoubler.from_url(
        doubler_server.url + "/run_remote",
        chains.DeploymentContext(secrets={"baseten_chain_api_key": "bk"}),
    )
    assert stub.name == "DeployedDoubler"
    assert stub.run_remote(21) == 42
    assert doubler_server.requests[-1].headers["authorization"] == "Api-Key bk"

    async def main() -> tuple[int, bytes]:
        value = await stub.predict_async(Wrapped(value=2), output_model=int)  # type: ignore[type-var]
        chunks = [c async for c in await stub.predict_async_stream({"value": 3})]
        await stub.aclose()
        return value, b"".join(chunks)

    assert asyncio.run(main()) == (4, b"6")


def test_serving_stub_base_of_an_internal_url_posts_to_the_gateway(
    doubler_server: ModelServer,
) -> None:
    """A stub made from a `chainlet_to_service` descriptor, as Baseten fills it."""

    class DeployedDoubler(chains.StubBase):
        def run_remote(self, value: int) -> int:
            return int(self.predict_sync({"value": value}))

    descriptor = chains.DeployedServiceDescriptor(
        name="DeployedDoubler",
        display_name="Doubler",
        options=chains.RPCOptions(),
        internal_url=chains.DeployedServiceDescriptor.InternalURL(
            gateway_run_remote_url=doubler_server.url + "/gateway",
            hostname="doubler.internal",
        ),
    )
    stub = DeployedDoubler(descriptor, api_key="bk")
    assert stub.run_remote(5) == 10
    (request,) = doubler_server.requests
    assert (request.path, request.headers["host"]) == ("/gateway", "doubler.internal")
    assert request.headers["authorization"] == "Api-Key bk"
    stub.close()
