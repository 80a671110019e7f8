"""The msgpack body of `RPCOptions(use_binary=True)` calls, shared by client and server.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports the standard library, msgpack and pydantic; numpy only when an array is
decoded. Never imports `compiler`.

Encoding (`packb`): msgpack's own types as they are (`bytes` stay binary, `str` UTF-8,
lists, tuples, dicts with any msgpack keys); a numpy array (or `NumpyArrayField`) as the
ext type `NUMPY_EXT_CODE` holding the msgpack array `[dtype.str, shape, raw bytes]` (C
order); a pydantic model as its `model_dump(mode="python", by_alias=True)`; a numpy
scalar as its Python value; anything else (enums, datetimes, UUIDs, sets, ...) as its
JSON-able form (`pydantic_core.to_jsonable_python`), which pydantic validates back in
Python mode. Decoding (`unpackb`) turns the ext type back into a numpy array, which
`NumpyArrayField` accepts.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import msgpack
import pydantic
import pydantic_core

__all__ = [
    "MSGPACK_CONTENT_TYPE",
    "NUMPY_EXT_CODE",
    "BinaryDecodeError",
    "encode_arguments",
    "packb",
    "unpackb",
]

#: The media type of a msgpack body (`Content-Type` and `Accept`).
MSGPACK_CONTENT_TYPE = "application/x-msgpack"
#: The msgpack ext type code of a numpy array.
NUMPY_EXT_CODE = 1


class BinaryDecodeError(ValueError):
    """A body that is not valid msgpack (or holds a malformed numpy array)."""


def _is_numpy_array(value: object) -> bool:
    cls = type(value)
    return cls.__name__ == "ndarray" and cls.__module__ == "numpy"


def _numpy_ext(array: Any) -> msgpack.ExtType:
    if array.dtype.hasobject:
        raise TypeError("a numpy array of dtype `object` cannot be sent as msgpack")
    np = importlib.import_module("numpy")
    payload = [
        array.dtype.str,
        list(array.shape),
        np.ascontiguousarray(array).tobytes(),
    ]
    return msgpack.ExtType(NUMPY_EXT_CODE, msgpack.packb(payload, use_bin_type=True))


def _default(value: object) -> object:
    """The hook msgpack calls for a value it does not know (see the module docstring)."""
    if _is_numpy_array(value):
        return _numpy_ext(value)
    array = getattr(value, "array", None)
    if type(value).__name__ == "NumpyArrayField" and _is_numpy_array(array):
        return _numpy_ext(array)
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="python", by_alias=True)
    if type(value).__module__ == "numpy" and callable(getattr(value, "item", None)):
        return value.item()  # type: ignore[attr-defined]
    try:
        return pydantic_core.to_jsonable_python(value, by_alias=True)
    except pydantic_core.PydanticSerializationError as exc:
        raise TypeError(
            f"a `{type(value).__name__}` cannot be encoded as msgpack: {exc}"
        ) from exc


def _ext_hook(code: int, data: bytes) -> object:
    if code != NUMPY_EXT_CODE:
        return msgpack.ExtType(code, data)
    np = importlib.import_module("numpy")
    dtype, shape, raw = msgpack.unpackb(data, raw=False)
    return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape)


def packb(value: object) -> bytes:
    """`value` as msgpack (see the module docstring for the types).

    Raises:
        TypeError: a value that has no msgpack form.
        ValueError: a value out of msgpack's range (an int beyond 64 bits).
    """
    try:
        body: bytes = msgpack.packb(value, default=_default, use_bin_type=True)
    except OverflowError as exc:
        raise ValueError(f"a value is out of msgpack's range: {exc}") from exc
    return body


def unpackb(body: bytes) -> Any:
    """The value of a msgpack body (numpy arrays for the numpy ext type).

    Raises:
        BinaryDecodeError: not one valid msgpack value.
    """
    try:
        return msgpack.unpackb(
            body, raw=False, strict_map_key=False, ext_hook=_ext_hook
        )
    except Exception as exc:  # msgpack raises several unrelated exception types
        raise BinaryDecodeError(f"Invalid msgpack body: {exc}") from exc


def encode_arguments(arguments: Mapping[str, object]) -> bytes:
    """The msgpack request body: a map of the arguments by name (models by alias)."""
    return packb(dict(arguments))
