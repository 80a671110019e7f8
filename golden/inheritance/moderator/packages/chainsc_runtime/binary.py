"""The msgpack body of `RPCOptions(use_binary=True)` calls, shared by client and server.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports the standard library, msgpack and pydantic; numpy only when an array
is decoded (an array that is encoded was made by a numpy already imported). Never
imports `compiler`.

The format is Truss's (`truss_msgpack_serialize` / `truss_msgpack_deserialize` of
`truss/templates/shared/serialization.py`, msgpack with the `msgpack_numpy` hooks), so
one body works with chainsc's `server.py`, Truss's model server and Truss Chains'
clients, in either direction; `Content-Type: application/octet-stream` marks it, as Truss
expects. Encoding (`packb`) gives the same bytes as Truss's for every value Truss can
encode:

- msgpack's own types as they are: `bytes` stay binary, `str` UTF-8, lists, tuples,
  dicts (subclasses of `str`, `int`, `float` such as `StrEnum` too);
- a numpy array (or a `NumpyArrayField`) as msgpack_numpy's map `{b"nd": True,
  b"type": dtype.str, b"kind": b"", b"shape": [...], b"data": raw C-order bytes}`
  (a structured dtype: `b"kind": b"V"` and its `descr` as `b"type"`); a numpy bool or
  number as `{b"nd": False, b"type": dtype.str, b"data": raw bytes}`; a `complex` as
  `{b"complex": True, b"data": repr}`;
- `datetime`, `date`, naive `time`, `timedelta`, `Decimal`, `UUID` as Truss's tagged
  maps (`{b"__dt_datetime_iso__": True, b"data": ISO text}`, ...);
- a pydantic model as its `model_dump(mode="python", by_alias=True)`;
- anything else (an `Enum`, a timezone-aware `time`, a set, a path, ...) as its
  JSON-able form (`pydantic_core.to_jsonable_python`), which pydantic validates back in
  Python mode. Truss cannot encode these at all.

Decoding (`unpackb`) turns those maps back into arrays, numpy scalars, complex numbers,
dates, decimals and UUIDs. An array of Python objects (`kind` `O`, or any dtype holding
objects) is refused: msgpack_numpy would unpickle it, and chainsc never unpickles.
"""

from __future__ import annotations

import datetime
import decimal
import importlib
import sys
import uuid
from collections.abc import Mapping
from typing import Any

import msgpack
import pydantic
import pydantic_core

__all__ = [
    "CONTENT_TYPE",
    "BinaryDecodeError",
    "encode_arguments",
    "is_binary_content_type",
    "packb",
    "unpackb",
]

#: The media type of a msgpack body, both ways (what Truss's server and clients use).
CONTENT_TYPE = "application/octet-stream"

# Keys of msgpack_numpy's maps and Truss's tagged maps (msgpack binary, not str).
_ND = b"nd"
_TYPE = b"type"
_KIND = b"kind"
_SHAPE = b"shape"
_DATA = b"data"
_COMPLEX = b"complex"
_DATETIME = b"__dt_datetime_iso__"
_DATE = b"__dt_date_iso__"
_TIME = b"__dt_time_iso__"
_TIMEDELTA = b"__dt_timedelta__"
_DECIMAL = b"__decimal__"
_UUID = b"__uuid__"


class BinaryDecodeError(ValueError):
    """A body that is not valid msgpack (or holds a malformed or refused numpy array)."""


def is_binary_content_type(value: str | bytes | None) -> bool:
    """Whether a `Content-Type` header marks a msgpack body (as Truss decides it)."""
    if value is None:
        return False
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return text.partition(";")[0].strip().lower() == CONTENT_TYPE


# Encoding ###############################################################################


def _numpy() -> Any:
    """numpy, if it is imported (no value can be a numpy object otherwise)."""
    return sys.modules.get("numpy")


def _encode_array(np: Any, array: Any) -> dict[bytes, object]:
    if array.dtype.hasobject:
        raise TypeError(
            "a numpy array of dtype `object` cannot be sent as msgpack (it would "
            "need pickling)"
        )
    contiguous = np.ascontiguousarray(array)
    try:  # the raw bytes without a copy where numpy can view them as bytes
        data: object = contiguous.reshape(-1).view(np.uint8).data
    except (TypeError, ValueError):
        data = contiguous.tobytes()
    kind = array.dtype.kind
    if kind == "V":
        return {
            _ND: True,
            _TYPE: array.dtype.descr,
            _KIND: b"V",
            _SHAPE: list(array.shape),
            _DATA: data,
        }
    return {
        _ND: True,
        _TYPE: array.dtype.str,
        _KIND: b"",
        _SHAPE: list(array.shape),
        _DATA: data,
    }


def _encode_known(value: object) -> object:
    """Truss's tagged maps (its `_truss_msgpack_encoder`), or `value` unchanged."""
    if isinstance(value, datetime.datetime):
        text = value.isoformat()
        if text.endswith("+00:00"):
            text = text[:-6] + "Z"
        return {_DATETIME: True, _DATA: text}
    if isinstance(value, datetime.date):
        return {_DATE: True, _DATA: value.isoformat()}
    if isinstance(value, datetime.time) and value.utcoffset() is None:
        return {_TIME: True, _DATA: value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {
            _TIMEDELTA: True,
            _DATA: (value.days, value.seconds, value.microseconds),
        }
    if isinstance(value, decimal.Decimal):
        return {_DECIMAL: True, _DATA: str(value)}
    if isinstance(value, uuid.UUID):
        return {_UUID: True, _DATA: str(value)}
    if isinstance(value, complex):
        return {_COMPLEX: True, _DATA: repr(value)}
    return value


def _default(value: object) -> object:
    """The hook msgpack calls for a value it does not know (see the module docstring)."""
    np = _numpy()
    if np is not None:
        if isinstance(value, np.ndarray):
            return _encode_array(np, value)
        array = getattr(value, "array", None)
        if type(value).__name__ == "NumpyArrayField" and isinstance(array, np.ndarray):
            return _encode_array(np, array)
        if isinstance(value, np.bool_ | np.number):
            return {_ND: False, _TYPE: value.dtype.str, _DATA: value.tobytes()}
    known = _encode_known(value)
    if known is not value:
        return known
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="python", by_alias=True)
    try:
        return pydantic_core.to_jsonable_python(value, by_alias=True)
    except pydantic_core.PydanticSerializationError as exc:
        raise TypeError(
            f"a `{type(value).__name__}` cannot be encoded as msgpack: {exc}"
        ) from exc


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


def encode_arguments(arguments: Mapping[str, object]) -> bytes:
    """The msgpack request body: a map of the arguments by name (models by alias)."""
    return packb(dict(arguments))


# Decoding ###############################################################################


def _dtype(np: Any, descr: object) -> Any:
    """A dtype from msgpack_numpy's `type` (nested lists for a structured dtype)."""
    if isinstance(descr, list):
        descr = [
            (
                field[0].decode() if isinstance(field[0], bytes) else field[0],
                _dtype(np, field[1]),
                *field[2:],
            )
            for field in descr
        ]
    dtype = np.dtype(descr)
    if dtype.hasobject:
        raise BinaryDecodeError(
            f"a numpy array or scalar of dtype {dtype} (Python objects) is refused: "
            "decoding it would mean unpickling, which chainsc never does"
        )
    return dtype


def _decode_numpy(obj: dict[Any, Any]) -> object:
    np = importlib.import_module("numpy")
    if obj[_ND] is not True:
        return np.frombuffer(obj[_DATA], dtype=_dtype(np, obj[_TYPE]))[0]
    kind = obj.get(_KIND, b"")
    if kind == b"O":
        raise BinaryDecodeError(
            "a numpy array of kind `O` (pickled Python objects) is refused: "
            "chainsc never unpickles"
        )
    dtype = _dtype(np, obj[_TYPE])
    return np.frombuffer(obj[_DATA], dtype=dtype).reshape(obj[_SHAPE])


def _fromisoformat(text: str) -> datetime.datetime:
    # Python 3.10 reads only what `isoformat()` writes, not Truss's `Z` for UTC.
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.datetime.fromisoformat(text)


def _object_hook(obj: dict[Any, Any]) -> object:
    """Every decoded map: Truss's and msgpack_numpy's tagged maps become their values."""
    try:
        if _ND in obj:
            return _decode_numpy(obj)
        if obj.get(_COMPLEX) is True:
            return complex(obj[_DATA])
        if _DATETIME in obj:
            return _fromisoformat(obj[_DATA])
        if _DATE in obj:
            return datetime.date.fromisoformat(obj[_DATA])
        if _TIME in obj:
            return datetime.time.fromisoformat(obj[_DATA])
        if _TIMEDELTA in obj:
            days, seconds, microseconds = obj[_DATA]
            return datetime.timedelta(
                days=days, seconds=seconds, microseconds=microseconds
            )
        if _DECIMAL in obj:
            return decimal.Decimal(obj[_DATA])
        if _UUID in obj:
            return uuid.UUID(obj[_DATA])
    except KeyError:  # a user's map that merely has one of the keys (as Truss)
        return obj
    return obj


def unpackb(body: bytes) -> Any:
    """The value of a msgpack body (see the module docstring for the types).

    Raises:
        BinaryDecodeError: not one valid msgpack value, a malformed tagged map, or a
            numpy array of Python objects.
    """
    try:
        return msgpack.unpackb(
            body, raw=False, strict_map_key=False, object_hook=_object_hook
        )
    except BinaryDecodeError:
        raise
    except Exception as exc:  # msgpack and numpy raise several unrelated types
        raise BinaryDecodeError(f"Invalid msgpack body: {exc}") from exc
