"""The one dispatcher of a Chainlet's endpoint: decode the request, call, encode the reply.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports the standard library, pydantic and `.binary`; never imports
`compiler`.

Every way an endpoint is called goes through a `Dispatcher`: the standalone server
(`app.py`, raw bodies in and out), Truss's model server (`serving.ChainletModel`'s
`truss_predict_sync` / `truss_predict_async`, which the generated `predict` calls:
Truss has decoded the body already, and encodes a JSON reply itself) and `run_local`
(`local.py`, which sends every dependency call through the wire's encodings). So a
request is validated, the endpoint called and its result serialised the same way
wherever the Chainlet runs:

- **decode**: a JSON body (bytes or text), a msgpack body (`binary=True`), or an object
  Truss decoded already, validated with `EndpointSpec.input_model`; only the arguments
  present are passed, so the endpoint's own defaults apply to the others (as in Truss
  Chains). A request that does not match is an `InvalidRequestError`, the server's 422.
- **call**: the endpoint method of the Chainlet instance; from async code a sync
  endpoint runs in a worker thread (a sync stream: each step).
- **websocket**: a websocket endpoint gets the session instead (`Dispatcher.websocket`):
  nothing to decode or encode; the endpoint talks over it.
- **encode**: the return value dumped with `EndpointSpec.output` (warnings are errors:
  a value that does not match the return annotation is a `TypeError`, the server's 500)
  as JSON bytes, msgpack bytes (Python mode: bytes stay bytes, arrays stay arrays), or
  JSON-able objects. A stream's chunks are passed on as they are (`encode_chunk` turns
  one into bytes for the wire).

`error_detail` and `validation_error_body` build the JSON bodies of the 500 and 422
replies, for every server.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import sysconfig
import traceback
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic
import pydantic_core

from . import binary
from .errors import ChainsRuntimeError, RemoteErrorDetail

if TYPE_CHECKING:
    from .websocket import WebSocketSession

__all__ = [
    "Dispatcher",
    "Encoding",
    "EndpointSpec",
    "InvalidRequestError",
    "error_detail",
    "validation_error_body",
]


@dataclass(frozen=True)
class EndpointSpec:
    """The Chainlet's endpoint, as the generated `Model` describes it.

    Attributes:
        name: the method: `"run_remote"`, or `"predict"` for a `ModelBase`.
        is_async: the method is `async def`.
        is_streaming: the method is a (async) generator of `str` or `bytes` chunks.
        input_model: one field per parameter, with the parameter's default; a field whose
            name differs from the parameter (e.g. one that would shadow a `BaseModel`
            attribute) carries the parameter name as its alias.
        output: validates/serialises the return value (for streams: the item type).
        is_websocket: the method takes the websocket of a session (`websocket`); it has
            no arguments on the wire (`input_model` has no field) and returns None.
    """

    name: str
    is_async: bool
    is_streaming: bool
    input_model: type[pydantic.BaseModel]
    output: pydantic.TypeAdapter[Any]
    is_websocket: bool = False

    @property
    def stream_media_type(self) -> str:
        """A stream reply's `Content-Type`: UTF-8 text for `str` chunks, else bytes."""
        if self.output.core_schema.get("type") == "str":
            return "text/plain; charset=utf-8"
        return "application/octet-stream"


class Encoding(enum.Enum):
    """What `Dispatcher.encode` makes of a return value."""

    #: The JSON bytes of a reply body (the standalone server, `run_local`).
    JSON = "json"
    #: The msgpack bytes of a reply body (`use_binary=True` callers, either server).
    MSGPACK = "msgpack"
    #: JSON-able Python objects (Truss's server encodes them itself).
    JSONABLE = "jsonable"


class InvalidRequestError(ValueError):
    """The request does not match the endpoint: the server's 422.

    Attributes:
        errors: the field errors, `{"loc": [...], "msg": ..., "type": ...}` each.
    """

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors

    @classmethod
    def of_validation(cls, exc: pydantic.ValidationError) -> InvalidRequestError:
        """The invalid request of a pydantic validation error (chained to it)."""
        errors = validation_error_body(exc)["detail"]
        invalid = cls(str(exc), errors)
        invalid.__cause__ = exc
        return invalid

    def body(self) -> dict[str, Any]:
        """The JSON body of the 422 reply: `{"detail": [field errors]}`."""
        return {"detail": self.errors}


_DONE = object()


async def _iterate_in_thread(chunks: Iterator[Any]) -> AsyncIterator[Any]:
    """Drive a sync generator from async code, each step in a worker thread."""
    while (chunk := await asyncio.to_thread(next, chunks, _DONE)) is not _DONE:
        yield chunk


class Dispatcher:
    """Decode → call → encode for one loaded Chainlet's endpoint (see the module).

    The steps are public so that a server can put its own concerns between them (the
    server decodes on its event loop, then calls and encodes in its thread pool);
    `handle` / `ahandle` chain all three.
    """

    def __init__(self, endpoint: EndpointSpec, instance: object, name: str) -> None:
        """Dispatch to `instance` (the Chainlet object) through `endpoint`.

        Args:
            endpoint: the endpoint's wire types and kind.
            instance: the loaded Chainlet, whose method `endpoint.name` is called.
            name: the Chainlet's display name, for messages.
        """
        self.endpoint = endpoint
        self.name = name
        self.method: Callable[..., Any] = getattr(instance, endpoint.name)
        self._model = endpoint.input_model
        self._fields = endpoint.input_model.model_fields
        self._output = endpoint.output

    @property
    def qualname(self) -> str:
        """`Name.run_remote`, for messages."""
        return f"{self.name}.{self.endpoint.name}"

    # Decode ###########################################################################

    def decode(
        self, inputs: Mapping[str, object] | bytes | str, *, binary: bool = False
    ) -> dict[str, Any]:
        """The endpoint's keyword arguments from a request.

        Args:
            inputs: a JSON body (bytes or text; empty means `{}`), a msgpack body
                (`binary=True`), or the object Truss decoded from either.
            binary: `inputs` is a msgpack body.

        Raises:
            InvalidRequestError: the request does not validate, or is not msgpack.
        """
        model = self._model
        try:
            if isinstance(inputs, bytes | str):
                if binary:
                    instance = model.model_validate(_unpack(inputs))
                else:
                    instance = model.model_validate_json(inputs or "{}")
            else:
                instance = model.model_validate(inputs)
        except pydantic.ValidationError as exc:
            raise InvalidRequestError.of_validation(exc) from exc
        fields = self._fields
        return {
            fields[name].alias or name: getattr(instance, name)
            for name in instance.model_fields_set
        }

    # Call #############################################################################

    def invoke(self, arguments: Mapping[str, Any]) -> Any:
        """The endpoint method's own answer, neither awaited nor iterated.

        A value, a coroutine (async endpoint), or a (async) iterator (a stream).
        """
        return self.method(**arguments)

    def call(self, arguments: Mapping[str, Any]) -> Any:
        """Call a sync endpoint: its return value, or its iterator of chunks.

        Raises:
            ChainsRuntimeError: the endpoint is async (use `acall`).
        """
        if self.endpoint.is_async:
            raise ChainsRuntimeError(
                f"`{self.qualname}` is async: call it from async code (`acall`)."
            )
        return self.method(**arguments)

    async def acall(self, arguments: Mapping[str, Any]) -> Any:
        """Call the endpoint from async code: its return value, or its chunks.

        A sync endpoint runs in a worker thread; its stream is iterated one step per
        thread hop. A stream is an async iterator either way.
        """
        method = self.method
        if self.endpoint.is_streaming:
            chunks = method(**arguments)
            if self.endpoint.is_async:  # an async generator, or a coroutine giving one
                return await chunks if inspect.isawaitable(chunks) else chunks
            return _iterate_in_thread(iter(chunks))
        if self.endpoint.is_async:
            return await method(**arguments)
        return await asyncio.to_thread(method, **arguments)

    async def websocket(self, websocket: WebSocketSession) -> None:
        """Serve one websocket session: the endpoint runs with it, as long as it likes.

        The websocket is passed positionally, as Truss passes it. What the endpoint
        raises propagates (the server closes the connection with 1011 and logs it; a
        disconnect it lets through is the client's leaving).

        Raises:
            ChainsRuntimeError: the endpoint is not a websocket endpoint.
        """
        if not self.endpoint.is_websocket:
            raise ChainsRuntimeError(
                f"`{self.qualname}` is not a websocket endpoint: call it over HTTP."
            )
        await self.method(websocket)

    # Encode ###########################################################################

    def encode(self, result: object, encoding: Encoding = Encoding.JSONABLE) -> Any:
        """The reply of a return value: JSON bytes, msgpack bytes or JSON-able objects.

        Raises:
            TypeError: the value does not match the endpoint's return annotation (its
                cause is pydantic's serialization error).
        """
        output = self._output
        try:
            if encoding is Encoding.JSON:
                return output.dump_json(result, warnings="error")
            if encoding is Encoding.MSGPACK:
                # Python mode: bytes stay bytes and arrays stay arrays (`.binary`).
                dumped = output.dump_python(result, mode="python", warnings="error")
            else:
                return output.dump_python(result, mode="json", warnings="error")
        except pydantic_core.PydanticSerializationError as exc:
            raise TypeError(
                f"`{self.qualname}` returned a `{type(result).__name__}`, which does "
                f"not match its return annotation: {exc}"
            ) from exc
        return binary.packb(dumped)

    @staticmethod
    def encode_chunk(chunk: object) -> bytes:
        """A stream chunk as the bytes to send (`str` as UTF-8).

        Raises:
            TypeError: the chunk is neither `str` nor bytes.
        """
        if isinstance(chunk, str):
            return chunk.encode("utf-8")
        if isinstance(chunk, bytes):
            return chunk
        if isinstance(chunk, bytearray | memoryview):
            return bytes(chunk)
        raise TypeError(
            f"a streaming endpoint yielded a `{type(chunk).__name__}`; "
            "expected `str` or `bytes` chunks"
        )

    # All three ########################################################################

    def reply(self, arguments: Mapping[str, Any], encoding: Encoding) -> Any:
        """Call a sync endpoint and encode its result (a stream's chunks as they are)."""
        result = self.call(arguments)
        if self.endpoint.is_streaming:
            return result
        return self.encode(result, encoding)

    async def areply(self, arguments: Mapping[str, Any], encoding: Encoding) -> Any:
        """`reply` from async code (see `acall`)."""
        result = await self.acall(arguments)
        if self.endpoint.is_streaming:
            return result
        return self.encode(result, encoding)

    def handle(
        self,
        inputs: Mapping[str, object] | bytes | str,
        encoding: Encoding = Encoding.JSONABLE,
        *,
        binary: bool = False,
    ) -> Any:
        """Decode, call a sync endpoint, encode: the reply (or the chunks of a stream)."""
        return self.reply(self.decode(inputs, binary=binary), encoding)

    async def ahandle(
        self,
        inputs: Mapping[str, object] | bytes | str,
        encoding: Encoding = Encoding.JSONABLE,
        *,
        binary: bool = False,
    ) -> Any:
        """`handle` from async code: any endpoint (see `acall`)."""
        return await self.areply(self.decode(inputs, binary=binary), encoding)


def _unpack(body: bytes | str) -> Any:
    """A msgpack body, or an `InvalidRequestError` (`type: "msgpack_invalid"`)."""
    try:
        return binary.unpackb(body.encode() if isinstance(body, str) else body)
    except binary.BinaryDecodeError as exc:
        detail = {"loc": [], "msg": str(exc), "type": "msgpack_invalid"}
        raise InvalidRequestError(str(exc), [detail]) from exc


# Error bodies ###########################################################################


def _user_frames(
    frames: Sequence[traceback.FrameSummary],
) -> list[traceback.FrameSummary]:
    """The frames of user code: after the runtime called it, before it called the runtime.

    Frames of the runtime and of the generated code (`chainsc_generated`, next to it) are
    "ours". Leading frames up to the first user frame after our first frame (server,
    thread pool, `model.py`) and trailing frames from the next one of ours (a failed
    dependency call in the transport) are dropped.
    """
    runtime_dir = Path(__file__).absolute().parent
    generated_dir = runtime_dir.parent / "chainsc_generated"
    library_dirs = [
        Path(p)
        for p in {sysconfig.get_path(k) for k in ("stdlib", "purelib", "platlib")}
    ]

    def is_ours(frame: traceback.FrameSummary) -> bool:
        path = Path(frame.filename).absolute()
        return path.is_relative_to(runtime_dir) or path.is_relative_to(generated_dir)

    def is_library(frame: traceback.FrameSummary) -> bool:
        path = Path(frame.filename).absolute()
        return any(path.is_relative_to(lib) for lib in library_dirs)

    ours = [i for i, frame in enumerate(frames) if is_ours(frame)]
    start = 0
    if ours:
        start = next(
            (
                i
                for i in range(ours[0], len(frames))
                if not (is_ours(frames[i]) or is_library(frames[i]))
            ),
            len(frames),
        )
    end = next(
        (i for i in range(start, len(frames)) if is_ours(frames[i])), len(frames)
    )
    return list(frames[start:end])


def error_detail(exc: BaseException) -> dict[str, Any]:
    """The JSON body of an HTTP 500 for an exception raised by user code.

    Returns:
        `{"error": RemoteErrorDetail}` as JSON-able dict, with the user's stack frames.
    """
    frames = _user_frames(traceback.extract_tb(exc.__traceback__))
    detail = RemoteErrorDetail(
        exception_cls_name=type(exc).__name__,
        exception_module_name=type(exc).__module__,
        exception_message=str(exc),
        user_stack_trace=[
            RemoteErrorDetail.StackFrame.from_frame_summary(f) for f in frames
        ],
    )
    return {"error": detail.model_dump(mode="json")}


def validation_error_body(exc: pydantic.ValidationError) -> dict[str, Any]:
    """The JSON body of an HTTP 422: `{"detail": [{"loc", "msg", "type"}, ...]}`."""
    return {
        "detail": [
            {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
            for error in exc.errors(
                include_url=False, include_context=False, include_input=False
            )
        ]
    }
