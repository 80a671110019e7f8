"""Chains for the interface tests (`tests/test_interface.py`), written to a temporary directory."""

from __future__ import annotations

from pathlib import Path

#: Every kind of type an endpoint may use.
TYPED_CHAIN = '''\
"""Every kind of type an endpoint may use, for the interface tests (`openapi.json`)."""

import datetime
import enum
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, Optional, Union

import pydantic
import truss_chains as chains

LIMIT = 7
GREETING = "hello"


class Color(enum.IntEnum):
    """A colour, by number."""

    RED = 1
    GREEN = 2


class Shape(enum.StrEnum):
    SQUARE = "square"
    ROUND = "round"


class Options(pydantic.BaseModel):
    """Knobs of a request."""

    class Window(pydantic.BaseModel):
        start: int = 0
        end: Optional[int] = None

    verbose: bool = False
    depth: int = pydantic.Field(default=2, ge=1, le=10, description="How deep.")
    name: str = pydantic.Field(GREETING, min_length=1, max_length=20)
    tags: list[str] = pydantic.Field(default_factory=list, max_length=5)
    weights: dict[str, float] = {}
    color: Color = Color.GREEN
    shape: Shape = Shape.ROUND
    window: Window = Window()
    mode: Literal["a", "b"] = "a"
    when: datetime.datetime | None = None
    ident: uuid.UUID | None = None
    ratio: pydantic.PositiveFloat = 1.5
    small: Annotated[int, pydantic.Field(ge=0, lt=100)] = 3
    code: pydantic.constr(pattern=r"^[a-z]+$") = "abc"


class Result(pydantic.BaseModel):
    values: list[float]
    pairs: tuple[int, str]
    rest: tuple[int, ...] = ()
    extra: dict[str, Any] = {}
    either: Union[int, str, None] = None
    options: Options | None = None
    best: Options.Window | None = None


class Worker(chains.ChainletBase):
    def run_remote(self, options: Options, scale: float = 1.0) -> Result:
        """Scale some values.

        The second paragraph of the description.
        """
        return Result(values=[scale], pairs=(1, "a"))


class Streamer(chains.ChainletBase):
    async def run_remote(self, prompt: str, limit: int = LIMIT) -> AsyncIterator[str]:
        for word in prompt.split()[:limit]:
            yield word


class BaseEcho(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        """Echo the text.

        `inspect.getdoc` finds this docstring for an override that has none.
        """
        return text


class Echo(BaseEcho):
    def run_remote(self, text: str) -> str:
        return text.upper()


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(
        self,
        worker: Worker = chains.depends(Worker),
        streamer: Streamer = chains.depends(Streamer),
        echo: Echo = chains.depends(Echo),
    ) -> None:
        self._worker = worker
        self._streamer = streamer

    async def run_remote(
        self,
        items: list[Options],
        lookup: dict[str, list[int]],
        blob: bytes = b"",
        note: str | None = None,
        color: Color = Color.RED,
        flags: Literal[1, 2, 3] = 1,
        anything: Any = None,
    ) -> list[Result]:
        return [self._worker.run_remote(item) for item in items]
'''


def write_typed_chain(directory: Path) -> Path:
    """`TYPED_CHAIN` as `typed.py` in `directory` (made if need be)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "typed.py"
    path.write_text(TYPED_CHAIN, encoding="utf-8")
    return path
