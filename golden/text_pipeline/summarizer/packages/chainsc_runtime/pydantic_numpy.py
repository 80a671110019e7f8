"""`NumpyArrayField`: numpy arrays as pydantic fields (Truss Chains' `pydantic_numpy`).

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). numpy is imported only when an array is validated, so the runtime does not
require it. JSON form: `{"data_b64": base64 of the raw bytes, "shape": [...], "dtype": "..."}`
(the same as Truss); in Python mode the array itself. Imports only the standard library
and pydantic.
"""

from __future__ import annotations

import base64
import importlib
from typing import Any, ClassVar

import pydantic
from pydantic_core import core_schema

__all__ = ["NumpyArrayField"]


class NumpyArrayField:
    """A numpy array field: `class M(pydantic.BaseModel): x: NumpyArrayField`.

    `m.x.array` is the array; construct with a numpy array or `NumpyArrayField(array)`.
    """

    data_key: ClassVar[str] = "data_b64"
    shape_key: ClassVar[str] = "shape"
    dtype_key: ClassVar[str] = "dtype"

    def __init__(self, array: Any) -> None:
        self.array = array

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(shape={self.array.shape}, "
            f"dtype={self.array.dtype}, data={self.array})"
        )

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: pydantic.GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls.validate_numpy_array,
            core_schema.any_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(
                cls.serialize_numpy_array, info_arg=True
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: pydantic.GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                cls.data_key: {"type": "string", "format": "byte"},
                cls.shape_key: {"type": "array", "items": {"type": "integer"}},
                cls.dtype_key: {"type": "string"},
            },
            "required": [cls.data_key, cls.shape_key, cls.dtype_key],
        }

    @classmethod
    def validate_numpy_array(cls, value: Any) -> NumpyArrayField:
        """Accept a field, a numpy array or the JSON form."""
        if isinstance(value, cls):
            return value
        np = importlib.import_module("numpy")
        if isinstance(value, np.ndarray):
            return cls(value)
        keys = {cls.data_key, cls.shape_key, cls.dtype_key}
        if isinstance(value, dict) and keys <= value.keys():
            try:
                data = base64.b64decode(value[cls.data_key])
                array = np.frombuffer(data, dtype=value[cls.dtype_key])
                return cls(array.reshape(value[cls.shape_key]))
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"Invalid data, shape or dtype for a numpy array: {exc}"
                ) from exc
        raise ValueError(
            f"Expected a numpy array or an object with keys {sorted(keys)}."
        )

    @classmethod
    def serialize_numpy_array(
        cls, obj: NumpyArrayField, info: core_schema.SerializationInfo
    ) -> Any:
        """The JSON form in JSON mode, else the array."""
        if info.mode == "json":
            return {
                cls.data_key: base64.b64encode(obj.array.tobytes()).decode("ascii"),
                cls.shape_key: list(obj.array.shape),
                cls.dtype_key: str(obj.array.dtype),
            }
        return obj.array
