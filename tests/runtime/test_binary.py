"""`use_binary=True`: msgpack bodies between a client and a real `server.py`, and in run_local.

A small chain is built once; its `server.py` runs in a subprocess (`test_server.serve`).
The format is Truss's: `tests/truss_msgpack.py`, run in the truss venv, gives what
Truss's own codec and Truss Chains' own client write and read.
"""

from __future__ import annotations

import asyncio
import datetime
import enum
import json
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pydantic
import pydantic_core
import pytest

import chainsc_runtime as chains
from chainsc import api
from chainsc.write import WriteRefused, write_tree
from chainsc_runtime import binary
from chainsc_runtime.definitions import RPCOptions
from chainsc_runtime.errors import RemoteValidationError
from chainsc_runtime.local import WireRoundTripError
from chainsc_runtime.pydantic_numpy import NumpyArrayField
from chainsc_runtime.transport import ChainletClient
from tests.conftest import REPO, truss_python
from tests.runtime.test_server import Served, serve
from tests.truss_msgpack import BLOBS_CALL, same, values

TRUSS_MSGPACK = REPO / "tests" / "truss_msgpack.py"

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


class Colour(enum.Enum):
    RED = "red"


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


def test_codec_round_trips_what_truss_encodes_and_more() -> None:
    expected = values()
    assert same(expected, binary.unpackb(binary.packb(expected)))
    # Beyond Truss's codec: models, `NumpyArrayField`, int keys, datetime64 arrays, and
    # (as their JSON form) enums, sets and timezone-aware times.
    dates = np.array(["2024-01-02", "2024-03-04"], dtype="datetime64[D]")
    extra = {
        "tensor": Tensor(name="t", values=np.array([1.5, 2.5], dtype=np.float32)),
        "field": NumpyArrayField(np.arange(3, dtype=np.uint8)),
        3: (1, 2),
        "dates": dates,
        "colour": Colour.RED,
        "set": {4},
        "aware_time": datetime.time(1, 2, tzinfo=datetime.UTC),
    }
    decoded = binary.unpackb(binary.packb(extra))
    assert decoded["tensor"]["name"] == "t"
    assert decoded["tensor"]["values"].dtype == np.float32
    assert decoded["tensor"]["values"].tolist() == [1.5, 2.5]
    assert decoded["field"].tolist() == [0, 1, 2]
    assert decoded[3] == [1, 2]
    assert same(dates, decoded["dates"])
    assert (decoded["colour"], decoded["set"]) == ("red", [4])
    assert decoded["aware_time"] == "01:02:00Z"
    assert pydantic.TypeAdapter(datetime.time).validate_python(
        decoded["aware_time"]
    ) == datetime.time(1, 2, tzinfo=datetime.UTC)


def test_codec_never_unpickles(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="dtype `object`"):
        binary.packb(np.array([object()]))
    marker = tmp_path / "unpickled"
    # What msgpack_numpy sends for an object array: unpickling it would create `marker`.
    pickled = pickle.dumps(_Opens(str(marker)))
    body = msgpack.packb(
        {b"nd": True, b"type": "|O", b"kind": b"O", b"shape": [1], b"data": pickled}
    )
    with pytest.raises(binary.BinaryDecodeError, match=r"kind `O`.*never unpickles"):
        binary.unpackb(body)
    assert not marker.exists()
    # Object dtypes reached otherwise are refused as well.
    for forged in (
        {b"nd": True, b"type": "|O", b"kind": b"", b"shape": [1], b"data": b"\0" * 8},
        {
            b"nd": True,
            b"type": [["a", "|O"]],
            b"kind": b"V",
            b"shape": [1],
            b"data": b"\0" * 8,
        },
        {b"nd": False, b"type": "|O", b"data": b"\0" * 8},
    ):
        with pytest.raises(binary.BinaryDecodeError, match="never does"):
            binary.unpackb(msgpack.packb(forged))


class _Opens:
    """Unpickling it opens (creates) a file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


def test_codec_rejects_malformed_bodies() -> None:
    with pytest.raises(binary.BinaryDecodeError, match="Invalid msgpack body"):
        binary.unpackb(b"\xc1")
    short = {
        b"nd": True,
        b"type": "<i4",
        b"kind": b"",
        b"shape": [3],
        b"data": b"\0" * 8,
    }
    with pytest.raises(binary.BinaryDecodeError, match="Invalid msgpack body"):
        binary.unpackb(msgpack.packb(short))
    # A user's own map that has a tag's key but not its data stays a map (as in Truss).
    assert binary.unpackb(msgpack.packb({b"__uuid__": 1})) == {b"__uuid__": 1}


def test_numpy_is_imported_only_for_an_array() -> None:
    code = (
        "import datetime, sys\n"
        "from chainsc_runtime import binary, server, serving, transport\n"
        "value = {'b': b'x', 'd': datetime.date(2024, 1, 2), 'c': 1j}\n"
        "assert binary.unpackb(binary.packb(value)) == value\n"
        "assert 'numpy' not in sys.modules\n"
        "array = {b'nd': True, b'type': '<u1', b'kind': b'', b'shape': [1], b'data': b'7'}\n"
        "assert binary.unpackb(binary.msgpack.packb(array)).tolist() == [55]\n"
        "assert 'numpy' in sys.modules\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


def test_content_type_is_truss_s() -> None:
    assert binary.CONTENT_TYPE == "application/octet-stream"
    assert binary.is_binary_content_type("Application/Octet-Stream; charset=binary")
    assert binary.is_binary_content_type(b"application/octet-stream")
    assert not binary.is_binary_content_type("application/x-msgpack")
    assert not binary.is_binary_content_type(None)


# Truss's own codec (in the truss venv) ##################################################


def truss_msgpack(*args: str, stdin: str = "") -> str:
    """Run `tests/truss_msgpack.py` with the truss venv's Python; its stdout."""
    completed = subprocess.run(
        [str(truss_python()), str(TRUSS_MSGPACK), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@pytest.mark.slow
def test_chainsc_writes_the_bytes_truss_msgpack_serialize_writes() -> None:
    theirs = bytes.fromhex(truss_msgpack("serialize"))
    assert binary.packb(values()) == theirs
    assert same(values(), binary.unpackb(theirs))


@pytest.mark.slow
def test_truss_msgpack_deserialize_reads_what_chainsc_writes() -> None:
    report = json.loads(
        truss_msgpack("deserialize", stdin=binary.packb(values()).hex())
    )
    assert sorted(report) == sorted(values())
    assert {key for key, entry in report.items() if not entry["same"]} == set()
    assert report["float32"]["type"] == "ndarray"
    assert report["np_int64"]["type"] == "int64"


# chainsc's server.py ####################################################################


@pytest.mark.slow
def test_bytes_and_numpy_round_trip_over_msgpack(blobs: Served) -> None:
    tensor = Tensor(name="t-", values=np.array([[1, 2], [3, 4]], dtype=np.int16))
    with binary_client(blobs.url, "Blobs") as client:
        result = client.call({"blob": NOT_UTF8, "tensor": tensor, "scale": 3}, TENSOR)
        assert result.name == "t-ff00fe"
        assert result.values.array.dtype == np.int16
        assert result.values.array.tolist() == [[3, 6], [9, 12]]

    async def call() -> Tensor:
        async with binary_client(blobs.url, "Blobs") as client:
            return await client.acall({"blob": b"\x01", "tensor": tensor}, TENSOR)

    assert asyncio.run(call()).values.array.tolist() == [[2, 4], [6, 8]]
    response = blobs.post(
        binary.encode_arguments({"blob": NOT_UTF8, "tensor": tensor}),
        headers={"content-type": "application/octet-stream"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    reply = binary.unpackb(response.content)
    assert reply["values"].tolist() == [[2, 4], [6, 8]]
    assert response.content == binary.packb(
        {"name": "t-ff00fe", "values": np.array([[2, 4], [6, 8]], dtype=np.int16)}
    )


@pytest.mark.slow
def test_server_accepts_truss_chains_requests_and_its_client_reads_the_replies(
    blobs: Served,
) -> None:
    sent = json.loads(truss_msgpack("request"))
    assert sent["content_type"] == "application/octet-stream"
    body = bytes.fromhex(sent["body"])
    # Truss Chains' client and chainsc's encode the same arguments to the same bytes.
    tensor = BLOBS_CALL["tensor"]
    ours = {
        **BLOBS_CALL,
        "tensor": {
            "name": tensor["name"],
            "values": np.array(tensor["values"], dtype=np.int16),
        },
    }
    assert body == binary.encode_arguments(ours)
    response = blobs.post(body, headers={"content-type": sent["content_type"]})
    assert response.status_code == 200, response.text
    assert binary.unpackb(response.content)["values"].tolist() == [[3, 6], [9, 12]]
    # Truss Chains' own client, end to end: it decodes the reply with Truss's codec.
    reply = json.loads(truss_msgpack("call", blobs.url + "/run_remote"))
    assert reply == {
        "name": "t-ff00",
        "dtype": "<i2",
        "shape": [2, 2],
        "values": [[3, 6], [9, 12]],
    }


@pytest.mark.slow
def test_the_same_endpoint_still_speaks_json(blobs: Served) -> None:
    tensor = Tensor(name="t-", values=np.array([1.0, 2.0]))
    body = {"blob": "ab", "tensor": TENSOR.dump_python(tensor, mode="json")}
    response = blobs.post(body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert TENSOR.validate_json(response.content).values.array.tolist() == [2.0, 4.0]
    with ChainletClient(service="Blobs", url=blobs.url) as client:
        assert client.call(body, TENSOR).values.array.tolist() == [2.0, 4.0]
    # The old media type of chainsc's msgpack bodies is not msgpack any more: JSON, invalid.
    response = blobs.post(
        binary.encode_arguments({"blob": b"ab", "tensor": tensor}),
        headers={"content-type": "application/x-msgpack"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.slow
def test_msgpack_errors_stay_json(blobs: Served, raw: Served) -> None:
    response = blobs.post(b"\xc1", headers={"content-type": "application/octet-stream"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"][0]["type"] == "msgpack_invalid"
    pickled = msgpack.packb(
        {
            "blob": b"",
            "tensor": {
                b"nd": True,
                b"type": "|O",
                b"kind": b"O",
                b"shape": [1],
                b"data": b"x",
            },
        }
    )
    response = blobs.post(pickled, headers={"content-type": "application/octet-stream"})
    assert response.status_code == 422
    assert "never unpickles" in response.json()["detail"][0]["msg"]
    with (
        binary_client(blobs.url, "Blobs") as client,
        pytest.raises(RemoteValidationError, match=r"tensor: Field required"),
    ):
        client.call({"blob": b""}, TENSOR)
    # Bytes that are not UTF-8 cannot go through JSON, but they can through msgpack.
    with binary_client(raw.url, "Raw") as client:
        assert client.call({"blob": NOT_UTF8}, BYTES) == NOT_UTF8[::-1]
    with ChainletClient(service="Raw", url=raw.url) as client:
        assert client.call({"blob": b"abc"}, BYTES) == b"cba"
        with pytest.raises(pydantic_core.PydanticSerializationError):
            client.call({"blob": NOT_UTF8}, BYTES)


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
