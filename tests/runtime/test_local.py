"""`run_local`: in-process chains, with the wire's serialization by default."""

from __future__ import annotations

import asyncio
import datetime
import inspect
import math
import types
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any, cast

import pydantic
import pytest

import chainsc_runtime as chains
from chainsc_runtime.definitions import ChainletDependencyMarker
from chainsc_runtime.errors import RemoteValidationError
from chainsc_runtime.local import WireRoundTripError

# The chain: Pipeline (async, context) -> Cleaner (sync), Tokenizer (async stream) -> Cleaner


class Document(pydantic.BaseModel):
    title: str
    body: str
    tags: list[str] = []


class Stats(pydantic.BaseModel):
    title: str
    words: int
    tokens: list[str]
    signed_by: str


class Cleaner(chains.ChainletBase):
    def run_remote(self, doc: Document, lower: bool = True) -> Document:
        body = doc.body.lower() if lower else doc.body
        return Document(
            title=doc.title.strip(),
            body=" ".join(body.split()),
            tags=sorted(set(doc.tags)),
        )


class Tokenizer(chains.ChainletBase):
    def __init__(
        self,
        cleaner: Cleaner = chains.depends(Cleaner),  # noqa: B008
    ) -> None:
        self._cleaner = cleaner

    async def run_remote(self, doc: Document) -> AsyncIterator[str]:
        for word in self._cleaner.run_remote(doc, lower=False).body.split():
            yield word + " "


@chains.mark_entrypoint
class Pipeline(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        assets=chains.Assets(secret_keys=["signing_key"])
    )

    def __init__(
        self,
        cleaner: Cleaner = chains.depends(Cleaner),  # noqa: B008
        tokenizer: Tokenizer = chains.depends(Tokenizer, retries=2),  # noqa: B008
        context: chains.DeploymentContext = chains.depends_context(),  # noqa: B008
    ) -> None:
        self._cleaner = cleaner
        self._tokenizer = tokenizer
        self._context = context
        self._key = context.secrets["signing_key"]

    async def run_remote(self, doc: Document) -> Stats:
        clean = self._cleaner.run_remote(doc)
        tokens = [chunk.strip() async for chunk in self._tokenizer.run_remote(clean)]
        return Stats(
            title=clean.title, words=len(tokens), tokens=tokens, signed_by=self._key[:3]
        )


DOC = Document(title=" Hello ", body="The  quick\nBrown fox", tags=["b", "a", "b"])
EXPECTED = Stats(
    title="Hello",
    words=4,
    tokens=["the", "quick", "brown", "fox"],
    signed_by="key",
)
SECRETS = {"signing_key": "key-123"}

# Dependencies whose values would not survive the wire


class LooseReturn(chains.ChainletBase):
    def run_remote(self, title: str) -> Document:
        return {"title": title, "body": "", "handle": object()}  # type: ignore[return-value]


class Timestamp(chains.ChainletBase):
    def run_remote(self) -> str:
        return datetime.datetime(2024, 1, 2, 3, 4, 5)  # type: ignore[return-value]


class Positive(chains.ChainletBase):
    def run_remote(self, x: int) -> Annotated[int, pydantic.Field(gt=0)]:
        return x


class Letters(chains.ChainletBase):
    def run_remote(self, words: list[str], stop_at: int = 99) -> Iterator[str]:
        for index, word in enumerate(words):
            yield word if index < stop_at else index  # type: ignore[misc]


class Blob(chains.ChainletBase):
    async def run_remote(self, blob: bytes) -> int:
        return len(blob)


class Caller(chains.ChainletBase):
    def __init__(
        self,
        loose: LooseReturn = chains.depends(LooseReturn),  # noqa: B008
        timestamp: Timestamp = chains.depends(Timestamp),  # noqa: B008
        positive: Positive = chains.depends(Positive),  # noqa: B008
        letters: Letters = chains.depends(Letters),  # noqa: B008
        blob: Blob = chains.depends(Blob, use_binary=True),  # noqa: B008
    ) -> None:
        self.loose = loose
        self.timestamp = timestamp
        self.positive = positive
        self.letters = letters
        self.blob = blob

    def run_remote(self) -> None:
        return None


class CycleA(chains.ChainletBase):
    def __init__(self, other: Any = None) -> None:
        self.other = other

    def run_remote(self) -> int:
        return 1


class CycleB(chains.ChainletBase):
    def __init__(
        self,
        other: CycleA = chains.depends(CycleA),  # noqa: B008
    ) -> None:
        self.other = other

    def run_remote(self) -> int:
        return 2


# A dependency cycle cannot be written with defaults evaluated in order: close it here.
cast(types.FunctionType, inspect.unwrap(CycleA.__init__)).__defaults__ = (
    chains.depends(CycleB),
)


class Model(chains.ModelBase):
    def __init__(
        self,
        context: chains.DeploymentContext = chains.depends_context(),  # noqa: B008
    ) -> None:
        self.context = context

    def predict(self, x: int) -> int:
        return x


# The chain ###############################################################################


@pytest.mark.parametrize("serialize", [True, False])
def test_local_runs_the_chain(serialize: bool) -> None:
    with chains.run_local(secrets=SECRETS, serialize=serialize):
        pipeline = Pipeline()
        result = asyncio.run(pipeline.run_remote(DOC))
    assert result == EXPECTED


def test_local_serialize_injects_proxies_with_the_endpoint_only() -> None:
    with chains.run_local(secrets=SECRETS):
        pipeline = Pipeline()
    cleaner: Any = pipeline._cleaner
    assert not isinstance(cleaner, Cleaner)
    assert list(inspect.signature(cleaner.run_remote).parameters) == ["doc", "lower"]
    assert not inspect.iscoroutinefunction(cleaner.run_remote)
    assert cleaner.run_remote(DOC, lower=False).body == "The quick Brown fox"
    with pytest.raises(AttributeError, match="only `run_remote`"):
        cleaner.tokenizer  # noqa: B018


def test_local_one_instance_per_class_per_block() -> None:
    with chains.run_local(secrets=SECRETS, serialize=False):
        first, second = Pipeline(), Pipeline()
    assert isinstance(first._cleaner, Cleaner)
    assert first._cleaner is second._cleaner
    assert first._tokenizer is second._tokenizer
    assert first._tokenizer._cleaner is first._cleaner


def test_local_keeps_explicit_arguments() -> None:
    mine = Cleaner()
    with chains.run_local(secrets=SECRETS, serialize=False):
        pipeline = Pipeline(cleaner=mine)
    assert pipeline._cleaner is mine
    assert pipeline._tokenizer._cleaner is not mine


def test_local_context(tmp_path: Path) -> None:
    service = chains.DeployedServiceDescriptor(
        name="Other",
        display_name="Other",
        options=chains.RPCOptions(),
        predict_url="http://127.0.0.1:1/run_remote",
    )
    with chains.run_local(
        secrets=SECRETS, data_dir=str(tmp_path), chainlet_to_service={"Other": service}
    ):
        context = Pipeline()._context
        model = Model()
    assert context.secrets == SECRETS
    assert context.data_dir == tmp_path
    assert context.get_service_descriptor("Other") == service
    assert model.context.secrets == SECRETS
    assert model.predict(3) == 3


def test_local_missing_secret_is_absent_as_in_truss() -> None:
    with chains.run_local(), pytest.raises(KeyError, match="signing_key"):
        Pipeline()
    with chains.run_local():
        context = Model().context
    assert context.secrets == {}
    with pytest.raises(chains.MissingDependencyError, match="baseten_chain_api_key"):
        context.get_baseten_api_key()


def test_local_outside_run_local_markers_stay() -> None:
    tokenizer = Tokenizer()
    assert isinstance(tokenizer._cleaner, ChainletDependencyMarker)
    with pytest.raises(chains.ChainsRuntimeError, match=r"depends\(Cleaner\)"):
        tokenizer._cleaner.run_remote(DOC)
    with chains.run_local():
        pass
    assert isinstance(Tokenizer()._cleaner, ChainletDependencyMarker)


def test_local_nested_blocks_are_independent() -> None:
    with chains.run_local(secrets={"signing_key": "outer"}, serialize=False):
        outer = Pipeline()
        with chains.run_local(secrets={"signing_key": "inner"}):
            inner = Pipeline()
        again = Pipeline()
    assert (outer._key, inner._key, again._key) == ("outer", "inner", "outer")
    assert not isinstance(cast(Any, inner._cleaner), Cleaner)
    assert again._cleaner is outer._cleaner
    assert asyncio.run(inner.run_remote(DOC)).tokens == EXPECTED.tokens


def test_local_cycle_is_reported() -> None:
    with chains.run_local():
        with pytest.raises(chains.ChainsUsageError, match="CycleB -> CycleA -> CycleB"):
            CycleB()
        with pytest.raises(chains.ChainsUsageError, match="CycleA -> CycleB -> CycleA"):
            CycleA()
        assert Tokenizer()._cleaner.run_remote(DOC).title == "Hello"


# What would break on the wire ##########################################################


def _callers() -> tuple[Caller, Caller]:
    with chains.run_local():
        wired = Caller()
    with chains.run_local(serialize=False):
        plain = Caller()
    return wired, plain


def test_local_return_not_matching_its_model() -> None:
    wired, plain = _callers()
    with pytest.raises(WireRoundTripError) as info:
        wired.loose.run_remote("t")
    message = str(info.value)
    assert "`Caller.loose` -> `LooseReturn.run_remote`" in message
    assert "the return value (a `dict`) does not match" in message
    assert info.value.service == "LooseReturn"
    assert cast(Any, plain.loose.run_remote("t"))["title"] == "t"


def test_local_datetime_returned_for_str() -> None:
    wired, plain = _callers()
    with pytest.raises(WireRoundTripError, match=r"Timestamp\.run_remote.*datetime"):
        wired.timestamp.run_remote()
    assert isinstance(plain.timestamp.run_remote(), datetime.datetime)


def test_local_return_that_does_not_validate_back() -> None:
    wired, plain = _callers()
    assert wired.positive.run_remote(5) == 5
    with pytest.raises(
        WireRoundTripError, match=r"does not validate as .* from its JSON"
    ):
        wired.positive.run_remote(-1)
    assert plain.positive.run_remote(-1) == -1


def test_local_arguments_rejected_like_http_422() -> None:
    wired, plain = _callers()
    with pytest.raises(RemoteValidationError) as info:
        wired.positive.run_remote(2.5)  # type: ignore[arg-type]
    assert "`Caller.positive` -> `Positive.run_remote` rejects the arguments" in str(
        info.value
    )
    assert "  - x: " in str(info.value)
    assert info.value.errors[0]["loc"] == ("x",)
    assert plain.positive.run_remote(2.5) == 2.5  # type: ignore[arg-type]


def test_local_set_for_a_list_survives() -> None:
    wired, _ = _callers()
    assert list(wired.letters.run_remote({"only"})) == ["only"]  # type: ignore[arg-type]


def test_local_stream_chunk_of_the_wrong_type() -> None:
    wired, plain = _callers()
    chunks = wired.letters.run_remote(["a", "b"], stop_at=1)
    assert next(chunks) == "a"
    with pytest.raises(WireRoundTripError, match="got a `int`, expected `str`"):
        next(chunks)
    assert list(plain.letters.run_remote(["a", "b"], stop_at=1)) == ["a", 1]


def test_local_binary_dependency_uses_the_msgpack_wire() -> None:
    wired, plain = _callers()
    assert inspect.iscoroutinefunction(wired.blob.run_remote)
    assert asyncio.run(wired.blob.run_remote(b"text")) == 4
    # Bytes that are not UTF-8 cannot go through JSON, but they can through msgpack.
    assert asyncio.run(wired.blob.run_remote(b"\xff\x00")) == 2
    with pytest.raises(
        WireRoundTripError, match=r"argument `blob` \(a `object`\) cannot be encoded"
    ):
        asyncio.run(wired.blob.run_remote(object()))  # type: ignore[arg-type]
    assert asyncio.run(plain.blob.run_remote(b"\xff\x00")) == 2


class Root(chains.ChainletBase):
    def run_remote(self, x: float) -> float:
        return math.sqrt(x) if x >= 0 else math.nan


class RootCaller(chains.ChainletBase):
    def __init__(self, root: Root = chains.depends(Root)) -> None:  # noqa: B008
        self.root = root

    def run_remote(self) -> None:
        return None


def test_local_encodes_the_result_as_the_server_does() -> None:
    """The server's JSON (its dispatcher's) has `null` for NaN: a float does not read it."""
    with chains.run_local():
        wired = RootCaller()
    assert wired.root.run_remote(4.0) == 2.0
    with pytest.raises(
        WireRoundTripError, match=r"does not validate as `float` from its JSON"
    ):
        wired.root.run_remote(-1.0)
