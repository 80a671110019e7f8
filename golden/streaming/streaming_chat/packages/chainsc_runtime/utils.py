"""Truss Chains' `truss_chains.utils` helpers, for chain code that calls them at run time.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages): `from truss_chains import utils` in a chain becomes `from chainsc_runtime
import utils`. Same names and behaviour as `truss_chains.utils` 0.18.36 (e.g. the
audio-transcription example's `utils.random_fail`). Imports only the standard library,
pydantic and the runtime's own modules; never imports `compiler`.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import random
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import pydantic
import pydantic_core

from .definitions import make_abs_path_here
from .errors import ChainsRuntimeError

__all__ = [
    "InjectedError",
    "StrEnum",
    "T",
    "expect_one",
    "get_pydantic_field_default_value",
    "issubclass_safe",
    "log_level",
    "make_abs_path_here",
    "make_optional_import_error",
    "random_fail",
    "setup_dev_logging",
]

T = TypeVar("T")

_DEV_LOG_FORMAT = "%(levelname)s %(asctime)s %(filename)s:%(lineno)d] %(message)s"
_DEV_DATE_FORMAT = "%m%d %H:%M:%S"


def setup_dev_logging(level: int | str = logging.INFO) -> None:
    """Set the root logger's level and give its handlers the compact development format.

    The root logger's existing handlers are reformatted; a stream handler is added when
    it has none.
    """
    root = logging.getLogger()
    root.setLevel(level)
    formatter = logging.Formatter(fmt=_DEV_LOG_FORMAT, datefmt=_DEV_DATE_FORMAT)
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(formatter)


@contextlib.contextmanager
def log_level(level: int) -> Iterator[None]:
    """Run the block with the root logger at `level`, then restore its effective level."""
    root = logging.getLogger()
    previous = root.getEffectiveLevel()
    root.setLevel(level)
    try:
        yield
    finally:
        root.setLevel(previous)


def expect_one(it: Iterable[T]) -> T:
    """The only element of `it`; `ValueError` if it has none or more than one."""
    iterator = iter(it)
    sentinel = object()
    first = next(iterator, sentinel)
    if first is sentinel:
        raise ValueError("Iterable is empty.")
    if next(iterator, sentinel) is not sentinel:
        raise ValueError("Iterable has more than one element.")
    return first  # type: ignore[return-value]  # not the sentinel: an element of `it`


class InjectedError(Exception):
    """The failure `random_fail` raises, to exercise error paths while developing."""


def random_fail(probability: float, msg: str) -> None:
    """With the given probability, print a note and raise `InjectedError(msg)`."""
    if random.random() < probability:
        print(f"Random failure: {msg}")  # noqa: T201 - Truss prints it to stdout too
        raise InjectedError(msg)


class StrEnum(str, enum.Enum):  # noqa: UP042 - enum.StrEnum is 3.11+; packages may run on 3.10
    """A `str` enum whose `auto()` value is the member's (upper-case) name.

    Pydantic (de)serialises an enum by value, so name and value being equal keeps the
    wire form readable: `class Color(StrEnum): RED = enum.auto()` has `Color.RED ==
    "RED"`. Values must be strings and names upper case.
    """

    def __new__(cls, value: object, *args: Any, **kwargs: Any) -> StrEnum:
        """Refuse non-string values (`TypeError`), as Truss does."""
        if not isinstance(value, str):
            raise TypeError(f"Values of StrEnums must be strings: Got `{value!r}`.")
        return super().__new__(cls, value, *args, **kwargs)

    def __str__(self) -> str:
        return str(self.value)

    @staticmethod
    def _generate_next_value_(
        name: str, start: int, count: int, last_values: list[Any]
    ) -> str:
        if name != name.upper():
            raise ValueError(f"Python enum members should be upper case. Got `{name}`.")
        return name


def issubclass_safe(x: Any, cls: type) -> bool:
    """`issubclass(x, cls)`, but False (instead of `TypeError`) when `x` is not a class."""
    return isinstance(x, type) and issubclass(x, cls)


def get_pydantic_field_default_value(
    model: type[pydantic.BaseModel], field_name: str
) -> Any:
    """A field's default: its `default`, else a fresh `default_factory()`, else None."""
    info = model.model_fields[field_name]
    if info.default is not pydantic_core.PydanticUndefined:
        return info.default
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]  # the no-argument form
    return None


def make_optional_import_error(module_name: str) -> ChainsRuntimeError:
    """The error to raise when an optional dependency cannot be imported."""
    return ChainsRuntimeError(
        f"Could not import `{module_name}`. It is an optional dependency of the chains "
        "CLI, and deployed Chainlets get it automatically. If you run into this error, "
        f"install `{module_name}` manually."
    )
