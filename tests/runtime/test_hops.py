"""What crosses a hop besides the arguments: framed streams, trace context, error details.

`frames.FrameDecoder` is fed every way a reply can be split; `tracing.RequestContext`
follows W3C's rules for `traceparent`; a real client (`ChainletClient`) against real
HTTP servers on 127.0.0.1 sends the current request's headers on every kind of call and
raises a stream's error frame as it raises a 500; `error_detail` names the user's files.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import types
from collections.abc import Iterator
from typing import Any, ClassVar

import pydantic
import pytest

from chainsc_runtime import dispatch, frames, tracing
from chainsc_runtime.definitions import RPCOptions
from chainsc_runtime.dispatch import error_detail
from chainsc_runtime.errors import (
    ChainletCallError,
    ChainletUnavailableError,
    GenericRemoteException,
    RemoteErrorDetail,
    remote_exception,
)
from chainsc_runtime.transport import ChainletClient
from tests.runtime.httpserver import Reply, Request, ScriptedServer

ANY: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Any)


class Client(ChainletClient):
    BACKOFF_BASE_SEC: ClassVar[float] = 0.01
    BACKOFF_MAX_SEC: ClassVar[float] = 0.05


def make(url: str, **options: Any) -> Client:
    return Client(service="Worker", url=url, options=RPCOptions(**options))


def user_error_body(message: str = "over quota") -> dict[str, Any]:
    try:
        raise LookupError(message)
    except LookupError as exc:
        return error_detail(exc)


# Frames ###############################################################################


def framed_body(*chunks: bytes, end: bytes = frames.END_FRAME) -> bytes:
    return frames.PREAMBLE + b"".join(frames.data_frame(c) for c in chunks) + end


def decode_in_pieces(body: bytes, sizes: Iterator[int]) -> tuple[bytes, object]:
    decoder = frames.FrameDecoder()
    data: list[bytes] = []
    at = 0
    while at < len(body):
        size = next(sizes)
        data.extend(decoder.feed(body[at : at + size]))
        at += size
    data.extend(decoder.close())
    return b"".join(data), decoder.error


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 24, 25, 1000])
def test_frames_decode_the_same_however_the_reply_is_split(size: int) -> None:
    error = frames.error_frame(user_error_body())
    body = framed_body(b"hello ", b"", b"\x00\x02wor", b"ld", end=error)
    data, found = decode_in_pieces(body, iter(lambda: size, None))
    assert data == b"hello \x00\x02world"
    assert isinstance(found, dict)
    assert found["error"]["exception_cls_name"] == "LookupError"
    data, found = decode_in_pieces(framed_body(b"x" * 100), iter(lambda: size, None))
    assert (data, found) == (b"x" * 100, None)


def test_frames_pass_each_data_byte_on_as_it_arrives() -> None:
    decoder = frames.FrameDecoder()
    header = frames.PREAMBLE + frames.data_frame(b"abcdef")[:7]
    assert decoder.feed(header) == [b"ab"]  # no waiting for the rest of the frame
    assert decoder.feed(b"cd") == [b"cd"]
    assert decoder.feed(b"ef" + frames.END_FRAME) == [b"ef"]
    assert decoder.ended
    assert decoder.chunks == 1


@pytest.mark.parametrize(
    "body",
    [b"plain text", b"{", b"\x00chain", b"", b"\x00chainsc-stream-frames/2\n..."],
    ids=["text", "short", "preamble-prefix", "empty", "other-version"],
)
def test_frames_a_plain_reply_is_passed_through_as_it_is(body: bytes) -> None:
    for size in (1, 4, 100):
        data, error = decode_in_pieces(body, iter(lambda: size, None))  # noqa: B023
        assert (data, error) == (body, None)


def test_frames_a_framed_reply_without_its_end_is_broken() -> None:
    decoder = frames.FrameDecoder()
    assert decoder.feed(framed_body(b"ab", end=b"")) == [b"ab"]
    with pytest.raises(frames.FramingError, match="after 1 chunk"):
        decoder.close()
    half_tag = frames.PREAMBLE + frames.END_FRAME[:3]
    decoder = frames.FrameDecoder()
    decoder.feed(half_tag)
    with pytest.raises(frames.FramingError):
        decoder.close()


def test_frames_refuse_what_is_not_the_format() -> None:
    with pytest.raises(frames.FramingError, match="unknown frame kind 9"):
        frames.FrameDecoder().feed(frames.PREAMBLE + b"\x09\x00\x00\x00\x00")
    with pytest.raises(frames.FramingError, match="after the end"):
        frames.FrameDecoder().feed(framed_body(b"a") + b"more")
    bad_error = frames.PREAMBLE + b"\x03\x00\x00\x00\x02{x"
    with pytest.raises(frames.FramingError, match="not JSON"):
        frames.FrameDecoder().feed(bad_error)


def test_frames_request_header() -> None:
    assert frames.wants_frames("frames/1")
    assert frames.wants_frames(b" frames/1 ")
    assert not frames.wants_frames("frames/2")
    assert not frames.wants_frames(None)
    assert frames.PREAMBLE.startswith(b"\x00")
    assert len(frames.PREAMBLE) == 25


# Trace context ########################################################################

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def context_of(**headers: str) -> tracing.RequestContext:
    lowered = {name.lower().replace("_", "-"): value for name, value in headers.items()}
    return tracing.RequestContext.from_headers(lowered.get)


def test_tracing_a_valid_traceparent_is_continued_with_a_span_of_this_hop() -> None:
    context = context_of(
        traceparent=f"00-{TRACE}-{SPAN}-01", tracestate="a=1", x_request_id="r-1"
    )
    assert (context.trace_id, context.parent_id, context.flags) == (TRACE, SPAN, "01")
    assert re.fullmatch(r"[0-9a-f]{16}", context.span_id)
    assert context.span_id != SPAN
    # Another request with the same headers is another span.
    again = context_of(traceparent=f"00-{TRACE}-{SPAN}-01")
    assert again.span_id != context.span_id
    first = context.outgoing_headers()
    assert first["traceparent"] == f"00-{TRACE}-{context.span_id}-01"
    assert context.outgoing_headers() == first  # every call of the request: its span
    assert first["tracestate"] == "a=1"
    assert first["x-request-id"] == first["x-baseten-request-id"] == "r-1"
    assert "x-baseten-chain-request-id" not in first


@pytest.mark.parametrize(
    "traceparent",
    [
        f"ff-{TRACE}-{SPAN}-01",  # version ff is invalid
        f"00-{'0' * 32}-{SPAN}-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE.upper()}-{SPAN}-01",  # uppercase
        f"00-{TRACE}-{SPAN}-01-extra",  # version 00 has four fields
        f"00-{TRACE}-{SPAN}",
        "garbage",
        f"00-{TRACE}-{SPAN}-01,00-{TRACE}-{SPAN}-01",  # sent twice
    ],
)
def test_tracing_an_invalid_traceparent_starts_a_trace_and_drops_tracestate(
    traceparent: str,
) -> None:
    context = context_of(traceparent=traceparent, tracestate="a=1")
    assert context.parent_id is None
    assert context.trace_id != TRACE
    assert re.fullmatch(r"[0-9a-f]{32}", context.trace_id)
    assert context.flags == "01"
    assert "tracestate" not in context.outgoing_headers()


def test_tracing_a_later_version_is_read_by_its_first_four_fields() -> None:
    context = context_of(traceparent=f"01-{TRACE}-{SPAN}-00-what-comes-later")
    assert (context.trace_id, context.parent_id, context.flags) == (TRACE, SPAN, "00")
    assert context.traceparent() == f"00-{TRACE}-{context.span_id}-00"


def test_tracing_the_request_id_received_or_one_made_here() -> None:
    assert context_of(x_request_id="a", x_baseten_request_id="b").request_id == "a"
    assert context_of(x_baseten_request_id="b").request_id == "b"
    made = {context_of().request_id for _ in range(3)}
    assert len(made) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", made_id) for made_id in made)
    # Not printable ASCII without spaces, or too long: not kept (it goes into logs).
    assert context_of(x_request_id="a b").request_id != "a b"
    assert context_of(x_request_id="x" * 201).request_id != "x" * 201
    chained = context_of(x_baseten_chain_request_id="chain-1")
    assert chained.outgoing_headers()["x-baseten-chain-request-id"] == "chain-1"


def test_tracing_the_headers_of_an_asgi_request_are_read_when_first_needed() -> None:
    headers: list[tuple[bytes, bytes]] = [(b"x-request-id", b"first")]
    token = tracing.activate_asgi(headers)
    try:
        headers[0] = (b"x-request-id", b"read-now")
        context = tracing.current()
        assert context is not None
        assert context.request_id == "read-now"
        assert tracing.current() is context  # read once
    finally:
        tracing.deactivate(token)
    assert tracing.current() is None


def test_tracing_from_asgi_headers_joins_repeated_tracestate() -> None:
    context = tracing.RequestContext.from_asgi(
        [
            (b"traceparent", f"00-{TRACE}-{SPAN}-01".encode()),
            (b"tracestate", b"a=1"),
            (b"tracestate", b"b=2"),
            (b"content-type", b"application/json"),
        ]
    )
    assert context.tracestate == "a=1,b=2"
    assert context.log_prefix == f"[request_id={context.request_id} trace_id={TRACE}] "


def echo_headers(request: Request) -> Reply:
    if request.headers.get("x-chainsc-stream") == "frames/1":
        return Reply(chunks=[framed_body(b"ok")])
    return Reply(200, 1)


def test_tracing_every_kind_of_call_sends_the_current_request_headers() -> None:
    context = context_of(traceparent=f"00-{TRACE}-{SPAN}-01", tracestate="v=1")

    async def asynchronous(client: Client) -> None:
        try:
            assert await client.acall({}, ANY) == 1
            assert [c async for c in client.astream({})] == [b"ok"]
        finally:
            await client.aclose()

    with ScriptedServer(echo_headers) as server, make(server.url) as client:
        assert client.call({}, ANY) == 1  # nothing is current: no trace headers
        token = tracing.activate(context)
        try:
            assert client.call({}, ANY) == 1
            assert list(client.stream({})) == [b"ok"]
            asyncio.run(asynchronous(client))
        finally:
            tracing.deactivate(token)
    outside, *inside = server.requests
    assert "traceparent" not in outside.headers
    assert "x-request-id" not in outside.headers
    for request in inside:
        assert request.headers["traceparent"] == f"00-{TRACE}-{context.span_id}-01"
        assert request.headers["tracestate"] == "v=1"
        assert request.headers["x-request-id"] == context.request_id
        assert request.headers["x-baseten-request-id"] == context.request_id
    assert [r.headers.get("x-chainsc-stream") for r in inside] == [
        None,
        "frames/1",
        None,
        "frames/1",
    ]


# A stream's error, in band ##############################################################


def read(client: Client, *, asynchronous: bool, into: list[bytes]) -> None:
    if not asynchronous:
        into.extend(client.stream({}))
        return

    async def main() -> None:
        try:
            async for chunk in client.astream({}):
                into.append(chunk)
        finally:
            await client.aclose()

    asyncio.run(main())


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_streams_error_frame_is_raised_as_a_500_is(asynchronous: bool) -> None:
    body = framed_body(b"a", b"b", end=frames.error_frame(user_error_body()))
    # Split mid-frame, as a network may.
    chunks = [body[:30], body[30:31], body[31:]]
    received: list[bytes] = []
    with ScriptedServer(lambda request: Reply(chunks=chunks)) as server:
        client = make(server.url, retries=3)
        with pytest.raises(LookupError) as info:
            read(client, asynchronous=asynchronous, into=received)
        client.close()
    assert received == [b"a", b"b"]
    message = str(info.value)
    assert (
        f"Error calling dependency Chainlet `Worker` ({server.url}/run_remote)"
        in message
    )
    assert "in its stream after 2 chunks." in message
    assert "raise LookupError(message)" in message
    assert message.endswith("╰   LookupError: over quota")
    assert len(server.requests) == 1  # never retried


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_framed_stream_that_ends_without_its_end_frame_is_broken(
    asynchronous: bool,
) -> None:
    """As Truss's server ends a reply whose generator failed: cleanly, but short."""
    body = framed_body(b"a", end=b"")
    received: list[bytes] = []
    with ScriptedServer(lambda request: Reply(chunks=[body])) as server:
        client = make(server.url)
        with pytest.raises(ChainletUnavailableError, match="without its end frame"):
            read(client, asynchronous=asynchronous, into=received)
        client.close()
    assert received == [b"a"]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_reply_without_the_preamble_is_read_as_it_is(asynchronous: bool) -> None:
    """A server that does not know the header (Truss Chains, an older chainsc)."""
    received: list[bytes] = []
    with ScriptedServer(lambda request: Reply(chunks=[b"\x00ch", b"unk"])) as server:
        client = make(server.url)
        read(client, asynchronous=asynchronous, into=received)
        client.close()
    assert b"".join(received) == b"\x00chunk"


def test_an_error_frame_that_is_no_error_detail_is_a_call_error() -> None:
    body = framed_body(b"a", end=frames.error_frame({"what": "no detail"}))
    with (
        ScriptedServer(lambda request: Reply(chunks=[body])) as server,
        make(server.url) as client,
        pytest.raises(ChainletCallError, match="no detail"),
    ):
        list(client.stream({}))


# Error details ##########################################################################


def test_a_users_own_exception_class_is_raised_again_where_it_is_loaded() -> None:
    module = types.ModuleType("hops_user_module")
    exec("class QuotaExceeded(Exception):\n    pass\n", module.__dict__)
    detail = RemoteErrorDetail(
        exception_cls_name="QuotaExceeded",
        exception_module_name="hops_user_module",
        exception_message="over",
        user_stack_trace=[],
    )
    # Not loaded here: generic, but it remembers the class for the next caller.
    generic = remote_exception(detail, "base")
    assert type(generic) is GenericRemoteException
    assert generic.remote_class == ("QuotaExceeded", "hops_user_module")
    try:
        raise generic
    except GenericRemoteException as exc:
        passed_on = error_detail(exc)["error"]
    assert passed_on["exception_cls_name"] == "QuotaExceeded"
    assert passed_on["exception_module_name"] == "hops_user_module"
    # Loaded here (a module this process imported): that very class.
    sys.modules["hops_user_module"] = module
    try:
        assert type(remote_exception(detail, "base")) is module.QuotaExceeded
    finally:
        del sys.modules["hops_user_module"]
    # Never a class that is not an exception, nor pydantic's ValidationError.
    for name, where in (("path", "os"), ("ValidationError", "pydantic")):
        odd = detail.model_copy(
            update={"exception_cls_name": name, "exception_module_name": where}
        )
        assert type(remote_exception(odd, "base")) is GenericRemoteException


def test_error_detail_names_the_users_file_and_line_and_no_server_path() -> None:
    """A frame of a carried module is named through the source map; unmapped: generated."""
    packages = dispatch._packages_dir()
    code = compile(
        "def helper():\n    pass\n\ndef fail():\n    raise ValueError(PATH)\n",
        str(packages / "app" / "chain.py"),
        "exec",
    )
    namespace: dict[str, Any] = {"PATH": f"cannot read {packages}/app/data.txt"}
    exec(code, namespace)
    try:
        namespace["fail"]()
    except ValueError as exc:
        plain = error_detail(exc)["error"]
        mapped = error_detail(exc, {"app/chain.py": ("src/chain.py", ((4, 40, 2),))})
        generated = error_detail(exc, {"app/chain.py": ("src/chain.py", ((1, 1, 2),))})
    assert plain["exception_message"] == "cannot read app/data.txt"
    assert plain["user_stack_trace"][-1]["filename"] == "app/chain.py"
    assert plain["user_stack_trace"][-1]["lineno"] == 5
    last = mapped["error"]["user_stack_trace"][-1]
    assert (last["filename"], last["lineno"], last["name"]) == (
        "src/chain.py",
        41,
        "fail",
    )
    assert all(
        frame["filename"] not in ("app/chain.py", "src/chain.py")
        for frame in generated["error"]["user_stack_trace"]
    )
    for detail in (plain, mapped["error"]):
        assert all(
            not frame["filename"].startswith("/")
            for frame in detail["user_stack_trace"]
        )
    json.dumps(mapped)
