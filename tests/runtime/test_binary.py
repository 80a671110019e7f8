"""`use_binary=True`: msgpack bodies between a client and a real `server.py`, and in run_local.

A small chain is built once; its `server.py` runs in a subprocess (`test_server.serve`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydantic
import pydantic_core
import pytest

import runtime_lib as chains
from compiler import api
from compiler.write import WriteRefused, write_tree
from runtime_lib import binary
from runtime_lib.definitions import RPCOptions
from runtime_lib.errors import RemoteValidationError
from runtime_lib.local import WireRoundTripError
from runtime_lib.pydantic_numpy import NumpyArrayField
from runtime_lib.transport import ChainletClient
from tests.runtime.test_server import Served, serve

CHAIN = '''\
"""A Chainlet with bytes and a numpy array in and out."""

import pydantic
import truss_chains as chains


class Tensor(pydantic.BaseModel):
    name: str
    values: chains.pydantic_numpy.NumpyArrayField


class Blobs(chains.ChainletBase):
    async def run_remote(self, blob: bytes, tensor: Tensor, scale: int = 2) -> Tensor:
        doubled = tensor.values.array * scale
        return Tensor(name=tensor.name + blob.hex(), values=doubled)


class Raw(chains.ChainletBase):
    def run_remote(self, blob: bytes) -> bytes:
        return blob[::-1]


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(
        self,
        blobs: Blobs = chains.depends(Blobs, use_binary=True),
        raw: Raw = chains.depends(Raw, use_binary=True),
    ) -> None:
        self._raw = raw

    def run_remote(self, blob: bytes) -> bytes:
        return self._raw.run_remote(blob)
'''


class Tensor(pydantic.BaseModel):
    name: str
    values: NumpyArrayField


TENSOR = pydantic.TypeAdapter(Tensor)
BYTES = pydantic.TypeAdapter(bytes)
NOT_UTF8 = b"\xff\x00\xfe"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("binary_chain")
    (root / "chain.py").write_text(CHAIN)
    result = api.build_file(root / "chain.py")
    assert result.files is not None, result.diagnostics
    assert not isinstance(write_tree(root / "out", result.files), WriteRefused)
    return root / "out"


@pytest.fixture(scope="module")
def blobs(out: Path) -> Iterator[Served]:
    with serve(out / "blobs") as served:
        yield served


@pytest.fixture(scope="module")
def raw(out: Path) -> Iterator[Served]:
    with serve(out / "raw") as served:
        yield served


def binary_client(url: str, service: str) -> ChainletClient:
    return ChainletClient(service=service, url=url, options=RPCOptions(use_binary=True))


def test_codec_round_trips_bytes_arrays_and_models() -> None:
    array = np.arange(6, dtype=">i4").reshape(2, 3)
    value = {
        "blob": NOT_UTF8,
        "array": array,
        "tensor": Tensor(name="t", values=np.array([1.5, 2.5], dtype=np.float32)),
        "scalar": np.float64(0.5),
        3: (1, 2),
    }
    decoded = binary.unpackb(binary.packb(value))
    assert decoded["blob"] == NOT_UTF8
    assert decoded["array"].dtype == array.dtype
    assert (decoded["array"] == array).all()
    assert decoded["tensor"]["name"] == "t"
    assert decoded["tensor"]["values"].tolist() == [1.5, 2.5]
    assert decoded["scalar"] == 0.5
    assert decoded[3] == [1, 2]
    with pytest.raises(TypeError, match="dtype `object`"):
        binary.packb(np.array([object()]))
    with pytest.raises(binary.BinaryDecodeError):
        binary.unpackb(b"\xc1")


@pytest.mark.slow
def test_bytes_and_numpy_round_trip_over_msgpack(blobs: Served) -> None:
    tensor = Tensor(name="t-", values=np.array([[1, 2], [3, 4]], dtype=np.int16))
    with binary_client(blobs.url, "Blobs") as client:
        result = client._call({"blob": NOT_UTF8, "tensor": tensor, "scale": 3}, TENSOR)
        assert result.name == "t-ff00fe"
        assert result.values.array.dtype == np.int16
        assert result.values.array.tolist() == [[3, 6], [9, 12]]

    async def call() -> Tensor:
        async with binary_client(blobs.url, "Blobs") as client:
            return await client._acall({"blob": b"\x01", "tensor": tensor}, TENSOR)

    assert asyncio.run(call()).values.array.tolist() == [[2, 4], [6, 8]]
    response = blobs.post(
        binary.encode_arguments({"blob": NOT_UTF8, "tensor": tensor}),
        headers={
            "content-type": binary.MSGPACK_CONTENT_TYPE,
            "accept": binary.MSGPACK_CONTENT_TYPE,
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == binary.MSGPACK_CONTENT_TYPE
    assert binary.unpackb(response.content)["values"].tolist() == [[2, 4], [6, 8]]


@pytest.mark.slow
def test_the_same_endpoint_still_speaks_json(blobs: Served) -> None:
    tensor = Tensor(name="t-", values=np.array([1.0, 2.0]))
    body = {"blob": "ab", "tensor": TENSOR.dump_python(tensor, mode="json")}
    response = blobs.post(body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert TENSOR.validate_json(response.content).values.array.tolist() == [2.0, 4.0]
    # A msgpack body may ask for a JSON reply, and the other way round.
    response = blobs.post(
        binary.encode_arguments({"blob": b"ab", "tensor": tensor}),
        headers={"content-type": binary.MSGPACK_CONTENT_TYPE},
    )
    assert response.headers["content-type"] == "application/json"
    assert TENSOR.validate_json(response.content).name == "t-6162"
    response = blobs.post(body, headers={"accept": binary.MSGPACK_CONTENT_TYPE})
    assert binary.unpackb(response.content)["name"] == "t-6162"
    with ChainletClient(service="Blobs", url=blobs.url) as client:
        assert client._call(body, TENSOR).values.array.tolist() == [2.0, 4.0]


@pytest.mark.slow
def test_msgpack_errors_stay_json(blobs: Served, raw: Served) -> None:
    response = blobs.post(
        b"\xc1", headers={"content-type": binary.MSGPACK_CONTENT_TYPE}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "msgpack_invalid"
    with (
        binary_client(blobs.url, "Blobs") as client,
        pytest.raises(RemoteValidationError, match=r"tensor: Field required"),
    ):
        client._call({"blob": b""}, TENSOR)
    # Bytes that are not UTF-8 cannot go through JSON, but they can through msgpack.
    with binary_client(raw.url, "Raw") as client:
        assert client._call({"blob": NOT_UTF8}, BYTES) == NOT_UTF8[::-1]
    with ChainletClient(service="Raw", url=raw.url) as client:
        assert client._call({"blob": b"abc"}, BYTES) == b"cba"
        with pytest.raises(pydantic_core.PydanticSerializationError):
            client._call({"blob": NOT_UTF8}, BYTES)


# run_local ############################################################################


class Reverse(chains.ChainletBase):
    def run_remote(self, blob: bytes, values: NumpyArrayField) -> dict[str, Any]:
        return {"blob": blob[::-1], "values": NumpyArrayField(values.array + 1)}


class LocalCaller(chains.ChainletBase):
    def __init__(
        self,
        binary_dep: Reverse = chains.depends(Reverse, use_binary=True),  # noqa: B008
        json_dep: Reverse = chains.depends(Reverse),  # noqa: B008
    ) -> None:
        self.binary_dep = binary_dep
        self.json_dep = json_dep

    def run_remote(self) -> None:
        return None


def test_run_local_binary_dependency_round_trips_bytes_that_are_not_utf8() -> None:
    with chains.run_local():
        caller = LocalCaller()
    values = NumpyArrayField(np.array([1, 2], dtype=np.uint8))
    result = caller.binary_dep.run_remote(NOT_UTF8, values)
    assert result["blob"] == NOT_UTF8[::-1]
    # `dict[str, Any]` carries the array itself over msgpack.
    assert result["values"].tolist() == [2, 3]
    with pytest.raises(
        WireRoundTripError, match=r"argument `blob` \(a `bytes`\) cannot be encoded"
    ):
        caller.json_dep.run_remote(NOT_UTF8, values)
