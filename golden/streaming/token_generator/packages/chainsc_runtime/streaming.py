"""Typed streams: an optional header, pydantic items, an optional footer, as bytes.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages); the Truss Chains `streaming` module's API: `stream_types`, `stream_writer`,
`stream_reader`, and the writer and reader classes they return (`StreamWriterWithHeader`,
`StreamReaderFull`, ...). Imports only the standard library and pydantic.

Wire format (the same framing as Truss Chains, so streams interoperate): a sequence of
frames, each a 5-byte tag — one byte kind (2 = header, 3 = item, 4 = footer) and a
big-endian uint32 payload length — followed by the payload, the model's JSON. At most
one header, first; at most one footer, last; the stream ends where the bytes end. Frames
may be split across or merged within transport chunks: the reader buffers.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

import pydantic

__all__ = [
    "FooterT",
    "FooterTT",
    "HeaderT",
    "HeaderTT",
    "ItemT",
    "StreamReader",
    "StreamReaderFull",
    "StreamReaderWithFooter",
    "StreamReaderWithHeader",
    "StreamTypes",
    "StreamWriter",
    "StreamWriterFull",
    "StreamWriterWithFooter",
    "StreamWriterWithHeader",
    "stream_reader",
    "stream_types",
    "stream_writer",
]

#: The model types of a stream's items, header and footer.
ItemT = TypeVar("ItemT", bound=pydantic.BaseModel)
HeaderT = TypeVar("HeaderT", bound=pydantic.BaseModel)
FooterT = TypeVar("FooterT", bound=pydantic.BaseModel)
#: The header / footer model type, or None when the stream has none (Truss's names).
HeaderTT = TypeVar("HeaderTT")
FooterTT = TypeVar("FooterTT")

_TAG = struct.Struct(">BI")
_HEADER, _ITEM, _FOOTER = 2, 3, 4
_NAMES = {_HEADER: "header", _ITEM: "item", _FOOTER: "footer"}


@dataclass
class StreamTypes(Generic[ItemT, HeaderTT, FooterTT]):
    """The item type and the optional header and footer types of a stream."""

    item_type: type[ItemT]
    header_type: type[HeaderTT] | None
    footer_type: type[FooterTT] | None


@overload
def stream_types(
    item_type: type[ItemT], *, header_type: type[HeaderT], footer_type: type[FooterT]
) -> StreamTypes[ItemT, HeaderT, FooterT]: ...


@overload
def stream_types(
    item_type: type[ItemT], *, header_type: type[HeaderT]
) -> StreamTypes[ItemT, HeaderT, None]: ...


@overload
def stream_types(
    item_type: type[ItemT], *, footer_type: type[FooterT]
) -> StreamTypes[ItemT, None, FooterT]: ...


@overload
def stream_types(item_type: type[ItemT]) -> StreamTypes[ItemT, None, None]: ...


def stream_types(
    item_type: type[ItemT],
    *,
    header_type: type[pydantic.BaseModel] | None = None,
    footer_type: type[pydantic.BaseModel] | None = None,
) -> StreamTypes[ItemT, Any, Any]:
    """Bundle the item type with optional header and footer types (pydantic models)."""
    return StreamTypes(item_type, header_type, footer_type)


# Writing ##############################################################################
#
# As in Truss, `stream_writer` returns the class that has exactly the methods the stream
# types allow: `yield_header` only with a header type, `yield_footer` only with a footer
# type (`StreamWriterFull` has both). The mixins below add one method each.


class StreamWriter(Generic[ItemT, HeaderTT, FooterTT]):
    """Serialises a stream's items to frames; yield each returned `bytes` from the endpoint.

    The writer of streams without header and footer; `stream_writer` picks the subclass.
    """

    def __init__(self, types: StreamTypes[ItemT, HeaderTT, FooterTT]) -> None:
        self._types = types
        self._last: int | None = None

    @staticmethod
    def _frame(kind: int, obj: object) -> bytes:
        if not isinstance(obj, pydantic.BaseModel):
            raise TypeError(
                f"A stream {_NAMES[kind]} must be a pydantic model, got {obj!r}."
            )
        payload = obj.model_dump_json().encode()
        return _TAG.pack(kind, len(payload)) + payload

    def yield_item(self, item: ItemT) -> bytes:
        """An item frame; not after the footer."""
        if self._last == _FOOTER:
            raise ValueError("Cannot yield item after sending footer / closing stream.")
        self._last = _ITEM
        return self._frame(_ITEM, item)


class _HeaderWriting(StreamWriter[ItemT, HeaderT, FooterTT]):
    def yield_header(self, header: HeaderT) -> bytes:
        """The header frame; only before anything else."""
        if self._last is not None:
            raise ValueError("Cannot yield header after other data has been sent.")
        self._last = _HEADER
        return self._frame(_HEADER, header)


class _FooterWriting(StreamWriter[ItemT, HeaderTT, FooterT]):
    def yield_footer(self, footer: FooterT) -> bytes:
        """The footer frame; last (a second footer is refused)."""
        if self._last == _FOOTER:
            raise ValueError("Cannot yield footer twice.")
        self._last = _FOOTER
        return self._frame(_FOOTER, footer)


class StreamWriterWithHeader(_HeaderWriting[ItemT, HeaderT, FooterTT]):
    """The writer of streams with a header and no footer: `yield_header`, `yield_item`."""


class StreamWriterWithFooter(_FooterWriting[ItemT, HeaderTT, FooterT]):
    """The writer of streams with a footer and no header: `yield_item`, `yield_footer`."""


class StreamWriterFull(
    _HeaderWriting[ItemT, HeaderT, FooterT], _FooterWriting[ItemT, HeaderT, FooterT]
):
    """The writer of streams with header and footer."""


@overload
def stream_writer(
    types: StreamTypes[ItemT, None, None],
) -> StreamWriter[ItemT, None, None]: ...


@overload
def stream_writer(
    types: StreamTypes[ItemT, HeaderT, None],
) -> StreamWriterWithHeader[ItemT, HeaderT, None]: ...


@overload
def stream_writer(
    types: StreamTypes[ItemT, None, FooterT],
) -> StreamWriterWithFooter[ItemT, None, FooterT]: ...


@overload
def stream_writer(
    types: StreamTypes[ItemT, HeaderT, FooterT],
) -> StreamWriterFull[ItemT, HeaderT, FooterT]: ...


def stream_writer(types: StreamTypes[ItemT, Any, Any]) -> StreamWriter[ItemT, Any, Any]:
    """A writer for streams of `types`, with the methods those types allow."""
    if types.header_type is None:
        if types.footer_type is None:
            return StreamWriter(types)
        return StreamWriterWithFooter(types)
    if types.footer_type is None:
        return StreamWriterWithHeader(types)
    return StreamWriterFull(types)


# Reading ##############################################################################


class StreamReader(Generic[ItemT, HeaderTT, FooterTT]):
    """Parses a stream's frames from an async iterator of byte chunks.

    The reader of streams without header and footer; `stream_reader` picks the subclass.
    """

    def __init__(
        self,
        types: StreamTypes[ItemT, HeaderTT, FooterTT],
        stream: AsyncIterator[bytes],
    ) -> None:
        self._types = types
        self._stream = stream
        self._buffer = bytearray()
        self._footer: bytes | None = None

    async def _fill(self, size: int) -> bool:
        """Buffer at least `size` bytes; False if the stream ends first."""
        while len(self._buffer) < size:
            try:
                self._buffer += await self._stream.__anext__()
            except StopAsyncIteration:
                return False
        return True

    async def _read(self) -> tuple[int, bytes] | None:
        """The next frame, or None at the end of the stream."""
        if not await self._fill(_TAG.size):
            if self._buffer:
                raise ValueError("The stream ended inside a frame tag.")
            return None
        kind, length = _TAG.unpack_from(self._buffer)
        if kind not in _NAMES:
            raise ValueError(f"Not a typed stream: unknown frame kind {kind}.")
        if not await self._fill(_TAG.size + length):
            raise ValueError(f"The stream ended inside a {_NAMES[kind]} frame.")
        payload = bytes(self._buffer[_TAG.size : _TAG.size + length])
        del self._buffer[: _TAG.size + length]
        return kind, payload

    async def read_items(self) -> AsyncIterator[ItemT]:
        """The items, until the footer or the end of the stream."""
        while (frame := await self._read()) is not None:
            kind, payload = frame
            if kind == _HEADER:
                raise ValueError(
                    "Called `read_items`, but the stream contains header data, which is "
                    "not consumed. Call `read_header` first or remove sending a header."
                )
            if kind == _FOOTER:
                self._footer = payload
                return
            yield self._types.item_type.model_validate_json(payload)


class _HeaderReading(StreamReader[ItemT, HeaderT, FooterTT]):
    async def read_header(self) -> HeaderT:
        """The header; call it first."""
        frame = await self._read()
        if frame is None or frame[0] != _HEADER or self._types.header_type is None:
            raise ValueError("Stream does not contain header.")
        return self._types.header_type.model_validate_json(frame[1])


class _FooterReading(StreamReader[ItemT, HeaderTT, FooterT]):
    async def read_footer(self) -> FooterT:
        """The footer; call it after `read_items`."""
        payload = self._footer
        if payload is None:
            frame = await self._read()
            if frame is None or frame[0] != _FOOTER:
                raise ValueError("Stream does not contain footer.")
            payload = frame[1]
        if self._types.footer_type is None:
            raise ValueError("The stream types have no footer type.")
        self._footer = None
        return self._types.footer_type.model_validate_json(payload)


class StreamReaderWithHeader(_HeaderReading[ItemT, HeaderT, FooterTT]):
    """The reader of streams with a header and no footer: `read_header`, `read_items`."""


class StreamReaderWithFooter(_FooterReading[ItemT, HeaderTT, FooterT]):
    """The reader of streams with a footer and no header: `read_items`, `read_footer`."""


class StreamReaderFull(
    _HeaderReading[ItemT, HeaderT, FooterT], _FooterReading[ItemT, HeaderT, FooterT]
):
    """The reader of streams with header and footer."""


@overload
def stream_reader(
    types: StreamTypes[ItemT, None, None], stream: AsyncIterator[bytes]
) -> StreamReader[ItemT, None, None]: ...


@overload
def stream_reader(
    types: StreamTypes[ItemT, HeaderT, None], stream: AsyncIterator[bytes]
) -> StreamReaderWithHeader[ItemT, HeaderT, None]: ...


@overload
def stream_reader(
    types: StreamTypes[ItemT, None, FooterT], stream: AsyncIterator[bytes]
) -> StreamReaderWithFooter[ItemT, None, FooterT]: ...


@overload
def stream_reader(
    types: StreamTypes[ItemT, HeaderT, FooterT], stream: AsyncIterator[bytes]
) -> StreamReaderFull[ItemT, HeaderT, FooterT]: ...


def stream_reader(
    types: StreamTypes[ItemT, Any, Any], stream: AsyncIterator[bytes]
) -> StreamReader[ItemT, Any, Any]:
    """A reader of `stream` (e.g. what a dependency's streaming `run_remote` returns)."""
    if types.header_type is None:
        if types.footer_type is None:
            return StreamReader(types, stream)
        return StreamReaderWithFooter(types, stream)
    if types.footer_type is None:
        return StreamReaderWithHeader(types, stream)
    return StreamReaderFull(types, stream)
