"""Truss's side of the msgpack wire, for tests that check chainsc speaks it byte for byte.

Run with the Python of the truss venv (`make truss-venv`); it uses truss's own codec
(`truss.templates.shared.serialization`) and Truss Chains' own client (`StubBase`):

    truss-venv/bin/python tests/truss_msgpack.py serialize      # hex of VALUES, on stdout
    truss-venv/bin/python tests/truss_msgpack.py deserialize    # hex on stdin -> JSON report
    truss-venv/bin/python tests/truss_msgpack.py request        # Truss Chains' request -> JSON
    truss-venv/bin/python tests/truss_msgpack.py call URL       # Truss Chains' client -> JSON

`request` and `call` are for a `Blobs` Chainlet (`run_remote(self, blob: bytes, tensor:
Tensor, scale: int = 2) -> Tensor`, `Tensor` a model of `name: str` and `values:
NumpyArrayField`): the body and headers Truss Chains' client builds for `BLOBS_CALL`,
and the reply its client decodes from a server at URL.

`values()` is imported by chainsc's tests too (it needs only numpy and the standard
library), so both sides encode the very same values.
"""

from __future__ import annotations

import datetime
import decimal
import json
import sys
import uuid
from typing import Any


def values() -> dict[str, Any]:
    """Every kind of value Truss's codec encodes (numpy arrays in several layouts)."""
    import numpy as np  # noqa: PLC0415 - chainsc's runtime tests import this module too

    return {
        "bytes": b"\xff\x00\xfe",
        "str": "h\u00e9llo",
        "int": -3,
        "uint64": 2**63,
        "float": 1.25,
        "none": None,
        "bool": True,
        "list": [1, "a", [2.5]],
        "nested": {"a": {"b": b"x"}},
        "float32": np.array([[1.5, 2.5], [3.5, 4.5]], dtype=np.float32),
        "big_endian": np.arange(6, dtype=">i4").reshape(2, 3),
        "fortran_order": np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
        "strided": np.arange(10, dtype=np.int64)[::3],
        "zero_d": np.array(7, dtype=np.uint8),
        "empty": np.zeros((0, 3), dtype=np.float64),
        "bool_array": np.array([True, False]),
        "unicode_array": np.array(["ab", "c"]),
        "structured": np.array(
            [(1, 2.0), (3, 4.0)], dtype=[("a", "<i4"), ("b", "<f8")]
        ),
        "np_int64": np.int64(5),
        "np_float32": np.float32(0.5),
        "np_bool": np.bool_(True),
        "complex": 1 + 2j,
        "datetime": datetime.datetime(2024, 5, 6, 7, 8, 9, 10),
        "datetime_utc": datetime.datetime(2024, 5, 6, tzinfo=datetime.UTC),
        "datetime_plus2": datetime.datetime(
            2024, 5, 6, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
        ),
        "date": datetime.date(2024, 2, 29),
        "time": datetime.time(1, 2, 3, 4),
        "timedelta": datetime.timedelta(days=-1, seconds=5, microseconds=6),
        "decimal": decimal.Decimal("1.10"),
        "uuid": uuid.UUID(int=12345),
    }


def same(expected: object, actual: object) -> bool:
    """Equal values of the same type (arrays: dtype, shape and items)."""
    import numpy as np  # noqa: PLC0415

    if isinstance(expected, np.ndarray):
        return (
            isinstance(actual, np.ndarray)
            and expected.dtype == actual.dtype
            and expected.shape == actual.shape
            and bool((expected == actual).all())
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(same(expected[key], actual[key]) for key in expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(same(a, b) for a, b in zip(expected, actual, strict=True))
        )
    return type(expected) is type(actual) and bool(expected == actual)


def _serialization() -> Any:
    from truss.templates.shared import serialization  # type: ignore[import-not-found]  # noqa: PLC0415 - truss venv only

    return serialization


def _serialize() -> None:
    sys.stdout.write(_serialization().truss_msgpack_serialize(values()).hex() + "\n")


def _deserialize() -> None:
    """Decode chainsc's bytes (hex on stdin) with Truss; which keys match `values()`."""
    decoded = _serialization().truss_msgpack_deserialize(
        bytes.fromhex(sys.stdin.read().strip())
    )
    report = {
        key: {
            "type": type(decoded.get(key)).__name__,
            "same": same(value, decoded.get(key)),
        }
        for key, value in values().items()
    }
    sys.stdout.write(json.dumps(report, sort_keys=True) + "\n")


#: The arguments of the `Blobs` call (`tensor.values` as a nested list, int16).
BLOBS_CALL: dict[str, Any] = {
    "blob": b"\xff\x00",
    "tensor": {"name": "t-", "values": [[1, 2], [3, 4]]},
    "scale": 3,
}


def _blobs_stub(url: str) -> tuple[Any, Any, Any]:
    """Truss Chains' client (`use_binary=True`), its input model and `Tensor`."""
    import numpy as np  # noqa: PLC0415
    import pydantic  # noqa: PLC0415
    import truss_chains as chains  # type: ignore[import-not-found]  # noqa: PLC0415
    from truss_chains.pydantic_numpy import NumpyArrayField  # type: ignore[import-not-found]  # noqa: PLC0415
    from truss_chains.remote_chainlet.stub import StubBase  # type: ignore[import-not-found]  # noqa: PLC0415

    class Tensor(pydantic.BaseModel):
        name: str
        values: NumpyArrayField

    class Inputs(pydantic.BaseModel):
        blob: bytes
        tensor: Tensor
        scale: int

    stub = StubBase.from_url(
        url, "unused-key", options=chains.RPCOptions(use_binary=True)
    )
    tensor = BLOBS_CALL["tensor"]
    inputs = Inputs(
        blob=BLOBS_CALL["blob"],
        tensor=Tensor(
            name=tensor["name"], values=np.array(tensor["values"], dtype=np.int16)
        ),
        scale=BLOBS_CALL["scale"],
    )
    return stub, inputs, Tensor


def _request() -> None:
    """The body and `Content-Type` Truss Chains' client sends for `BLOBS_CALL`."""
    stub, inputs, _ = _blobs_stub("http://127.0.0.1:9/unused")
    params = stub._make_request_params(inputs, for_httpx=True)
    sys.stdout.write(
        json.dumps(
            {
                "content_type": params["headers"]["Content-Type"],
                "body": params["content"].hex(),
            }
        )
        + "\n"
    )


def _call(url: str) -> None:
    """Call a `Blobs` Chainlet at `url` with Truss Chains' own client, `use_binary=True`."""
    stub, inputs, tensor_model = _blobs_stub(url)
    result = stub.predict_sync(inputs, tensor_model)
    array = result.values.array
    sys.stdout.write(
        json.dumps(
            {
                "name": result.name,
                "dtype": array.dtype.str,
                "shape": list(array.shape),
                "values": array.tolist(),
            }
        )
        + "\n"
    )


def main(argv: list[str]) -> int:
    if argv == ["serialize"]:
        _serialize()
    elif argv == ["deserialize"]:
        _deserialize()
    elif argv == ["request"]:
        _request()
    elif len(argv) == 2 and argv[0] == "call":
        _call(argv[1])
    else:
        sys.stderr.write(__doc__ or "")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
