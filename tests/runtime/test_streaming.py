"""Typed streams (`streaming`) and numpy fields (`pydantic_numpy`)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Iterable
from typing import Any

import numpy as np
import pydantic
import pytest

from chainsc_runtime import streaming
from chainsc_runtime.pydantic_numpy import NumpyArrayField


class Header(pydantic.BaseModel):
    title: str


class Item(pydantic.BaseModel):
    word: str


class Footer(pydantic.BaseModel):
    count: int


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def frames(parts: Iterable[bytes]) -> bytes:
    return b"".join(parts)


def test_streaming_round_trip_with_header_and_footer_across_any_chunking() -> None:
    types = streaming.stream_types(Item, header_type=Header, footer_type=Footer)
    writer = streaming.stream_writer(types)
    data = frames(
        [
            writer.yield_header(Header(title="t")),
            writer.yield_item(Item(word="a")),
            writer.yield_item(Item(word="é")),
            writer.yield_footer(Footer(count=2)),
        ]
    )

    async def read(size: int) -> tuple[Header, list[Item], Footer]:
        reader = streaming.stream_reader(types, chunked(data, size))
        header = await reader.read_header()
        items = [item async for item in reader.read_items()]
        return header, items, await reader.read_footer()

    for size in (1, 3, 7, len(data)):
        header, items, footer = asyncio.run(read(size))
        assert header.title == "t"
        assert [item.word for item in items] == ["a", "é"]
        assert footer.count == 2


def test_streaming_wire_format_is_truss_framing() -> None:
    writer = streaming.stream_writer(streaming.stream_types(Item))
    payload = b'{"word":"a"}'
    assert (
        writer.yield_item(Item(word="a"))
        == struct.pack(">BI", 3, len(payload)) + payload
    )


def test_streaming_items_only_and_empty_stream() -> None:
    types = streaming.stream_types(Item)
    writer = streaming.stream_writer(types)
    data = writer.yield_item(Item(word="x"))

    async def read(raw: bytes) -> list[str]:
        reader = streaming.stream_reader(types, chunked(raw, 2))
        return [item.word async for item in reader.read_items()]

    assert asyncio.run(read(data)) == ["x"]
    assert asyncio.run(read(b"")) == []


def test_streaming_misuse_is_reported() -> None:
    types = streaming.stream_types(Item, header_type=Header)
    writer = streaming.stream_writer(types)
    item = writer.yield_item(Item(word="x"))
    with pytest.raises(ValueError, match="Cannot yield header after"):
        writer.yield_header(Header(title="late"))
    # As in Truss, a writer has only the methods its stream types allow.
    assert isinstance(writer, streaming.StreamWriterWithHeader)
    assert not hasattr(writer, "yield_footer")

    async def read_items_first() -> None:
        header = streaming.stream_writer(types).yield_header(Header(title="t"))
        reader = streaming.stream_reader(types, chunked(header + item, 4))
        async for _ in reader.read_items():
            pass

    with pytest.raises(ValueError, match="Call `read_header` first"):
        asyncio.run(read_items_first())

    async def truncated() -> None:
        reader = streaming.stream_reader(types, chunked(item[:-1], 4))
        async for _ in reader.read_items():
            pass

    with pytest.raises(ValueError, match="ended inside a item frame"):
        asyncio.run(truncated())


@pytest.mark.parametrize(
    ("header", "footer", "writer_cls", "reader_cls"),
    [
        (False, False, streaming.StreamWriter, streaming.StreamReader),
        (
            True,
            False,
            streaming.StreamWriterWithHeader,
            streaming.StreamReaderWithHeader,
        ),
        (
            False,
            True,
            streaming.StreamWriterWithFooter,
            streaming.StreamReaderWithFooter,
        ),
        (True, True, streaming.StreamWriterFull, streaming.StreamReaderFull),
    ],
)
def test_writer_and_reader_have_exactly_the_methods_their_types_allow(
    header: bool, footer: bool, writer_cls: type, reader_cls: type
) -> None:
    types: streaming.StreamTypes[Item, Any, Any] = streaming.StreamTypes(
        Item, Header if header else None, Footer if footer else None
    )
    writer = streaming.stream_writer(types)
    reader = streaming.stream_reader(types, chunked(b"", 1))
    # The exact class, as Truss returns it (user code annotates with these names).
    assert type(writer) is writer_cls
    assert type(reader) is reader_cls
    assert (hasattr(writer, "yield_header"), hasattr(writer, "yield_footer")) == (
        header,
        footer,
    )
    assert (hasattr(reader, "read_header"), hasattr(reader, "read_footer")) == (
        header,
        footer,
    )
    # As in Truss, the full forms are not the one-sided ones.
    assert not isinstance(
        streaming.stream_writer(
            streaming.stream_types(Item, header_type=Header, footer_type=Footer)
        ),
        streaming.StreamWriterWithHeader,
    )


def test_header_only_and_footer_only_streams_round_trip() -> None:
    with_header = streaming.stream_types(Item, header_type=Header)
    header_writer = streaming.stream_writer(with_header)
    header_data = header_writer.yield_header(
        Header(title="h")
    ) + header_writer.yield_item(Item(word="a"))

    with_footer = streaming.stream_types(Item, footer_type=Footer)
    footer_writer = streaming.stream_writer(with_footer)
    footer_data = footer_writer.yield_item(Item(word="b")) + footer_writer.yield_footer(
        Footer(count=1)
    )

    async def read() -> tuple[Header, list[str], list[str], Footer]:
        header_reader = streaming.stream_reader(with_header, chunked(header_data, 3))
        header = await header_reader.read_header()
        first = [item.word async for item in header_reader.read_items()]
        footer_reader = streaming.stream_reader(with_footer, chunked(footer_data, 3))
        second = [item.word async for item in footer_reader.read_items()]
        return header, first, second, await footer_reader.read_footer()

    header, first, second, footer = asyncio.run(read())
    assert (header.title, first, second, footer.count) == ("h", ["a"], ["b"], 1)

    with pytest.raises(ValueError, match="Cannot yield item after sending footer"):
        footer_writer.yield_item(Item(word="late"))
    with pytest.raises(ValueError, match="Cannot yield footer twice"):
        footer_writer.yield_footer(Footer(count=2))

    async def footer_without_items() -> Footer:
        reader = streaming.stream_reader(
            with_footer,
            chunked(
                streaming.stream_writer(with_footer).yield_footer(Footer(count=0)), 2
            ),
        )
        assert [item async for item in reader.read_items()] == []
        return await reader.read_footer()

    assert asyncio.run(footer_without_items()).count == 0


class Arrays(pydantic.BaseModel):
    matrix: NumpyArrayField


def test_pydantic_numpy_json_round_trip() -> None:
    model = Arrays(matrix=np.arange(6, dtype=np.int32).reshape(2, 3))
    dumped = model.model_dump(mode="json")
    assert (dumped["matrix"]["shape"], dumped["matrix"]["dtype"]) == ([2, 3], "int32")
    again = Arrays.model_validate_json(model.model_dump_json())
    assert np.array_equal(again.matrix.array, model.matrix.array)
    assert isinstance(model.model_dump()["matrix"], np.ndarray)
    with pytest.raises(pydantic.ValidationError, match="numpy array"):
        Arrays(matrix=[1, 2])
