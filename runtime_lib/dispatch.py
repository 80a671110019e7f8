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
replies, for every server. The error detail names the user's own files and lines: a
frame in a module the package carries is named by the module's path under the chain
root and its line in the user's file (`SourceMap`, which the generated
`chainsc_generated/sources.py` holds and `model/model.py` passes as `source_map`), a
frame in a library by its path under `<stdlib>/` or `<site-packages>/`; no absolute
path of the server is sent (the package's directory is also cut from the message).
"""

from __future__ import annotations

import asyncio
import bisect
import enum
import functools
import inspect
import os
import sysconfig
import traceback
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pydantic
import pydantic_core

from . import binary
from .errors import ChainsRuntimeError, GenericRemoteException, RemoteErrorDetail

if TYPE_CHECKING:
    from .websocket import WebSocketSession

__all__ = [
    "Dispatcher",
    "Encoding",
    "EndpointSpec",
    "InvalidRequestError",
    "SourceMap",
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


#: Where the user's modules a package carries come from: path under `packages/` ->
#: (the user's file, relative to the chain root; runs of lines `(first line in the
#: package, first line in the user's file, number of lines)`, in order). A line of a
#: carried module in no run is generated code (an in-place client, its import).
SourceMap: TypeAlias = Mapping[str, tuple[str, Sequence[tuple[int, int, int]]]]

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

    def __init__(
        self,
        endpoint: EndpointSpec,
        instance: object,
        name: str,
        sources: SourceMap | None = None,
    ) -> None:
        """Dispatch to `instance` (the Chainlet object) through `endpoint`.

        Args:
            endpoint: the endpoint's wire types and kind.
            instance: the loaded Chainlet, whose method `endpoint.name` is called.
            name: the Chainlet's display name, for messages.
            sources: where the package's user modules come from (error details).
        """
        self.endpoint = endpoint
        self.name = name
        self.sources: SourceMap = sources or {}
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

    def error_detail(self, exc: BaseException) -> dict[str, Any]:
        """The JSON body of the 500 for `exc`, naming the user's files (`error_detail`)."""
        return error_detail(exc, self.sources)

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
    dependency call in the transport) are dropped, with the library frames just before
    that one (the thread or executor user code called the client through).
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
    if end < len(frames):
        # Cut at a call into the runtime (a dependency call): the library frames that
        # led there from the user's code (`asyncio.to_thread`, an executor) say nothing.
        while end > start + 1 and is_library(frames[end - 1]):
            end -= 1
    return list(frames[start:end])


@functools.cache
def _packages_dir() -> Path:
    """Where the package's modules are: the directory the runtime is vendored in."""
    return Path(__file__).absolute().parent.parent


@functools.cache
def _library_dirs() -> tuple[tuple[Path, str], ...]:
    """The interpreter's library directories and how a reply names them."""
    found: dict[Path, str] = {}
    for key, label in (
        ("purelib", "<site-packages>"),
        ("platlib", "<site-packages>"),
        ("stdlib", "<stdlib>"),
        ("platstdlib", "<stdlib>"),
    ):
        found.setdefault(Path(sysconfig.get_path(key)).absolute(), label)
    # The deepest first: a venv's site-packages may lie under another directory.
    return tuple(sorted(found.items(), key=lambda item: -len(item[0].parts)))


@functools.cache
def _server_prefixes() -> tuple[str, ...]:
    """Absolute paths of the package that a reply must not show (the longest first)."""
    packages = _packages_dir()
    prefixes = [str(packages) + os.sep]
    root = packages.parent
    if root != root.parent and (root / "config.yaml").is_file():  # a built package
        prefixes.append(str(root) + os.sep)
    return tuple(prefixes)


def _source_line(runs: Sequence[tuple[int, int, int]], lineno: int) -> int | None:
    """The user's line of line `lineno` of a carried module; None for generated code."""
    index = bisect.bisect_right(runs, lineno, key=lambda run: run[0]) - 1
    if index < 0:
        return None
    first, source_first, count = runs[index]
    if lineno >= first + count:
        return None
    return source_first + (lineno - first)


def _reply_frame(
    frame: traceback.FrameSummary, sources: SourceMap
) -> RemoteErrorDetail.StackFrame | None:
    """A user frame as a reply names it (no absolute path); None for generated code."""
    path = Path(frame.filename).absolute()
    packages = _packages_dir()
    filename = path.name
    lineno = frame.lineno
    if path.is_relative_to(packages):
        filename = path.relative_to(packages).as_posix()
        source = sources.get(filename)
        if source is not None:
            filename = source[0]
            lineno = _source_line(source[1], lineno) if lineno is not None else None
            if lineno is None:
                return None
    else:
        for directory, label in _library_dirs():
            if path.is_relative_to(directory):
                filename = f"{label}/{path.relative_to(directory).as_posix()}"
                break
    return RemoteErrorDetail.StackFrame(
        filename=filename, lineno=lineno, name=frame.name, line=frame.line
    )


def _scrub(message: str) -> str:
    """`message` without the absolute paths of the package (`<packages>/x` -> `x`)."""
    for prefix in _server_prefixes():
        message = message.replace(prefix, "")
    return message


def error_detail(
    exc: BaseException, sources: SourceMap | None = None
) -> dict[str, Any]:
    """The JSON body of an HTTP 500 for an exception raised by user code.

    Args:
        exc: what the endpoint raised.
        sources: where the package's user modules come from: their frames name the
            user's file (relative to the chain root) and line. Without it, a frame in
            the package is named by its path under `packages/`.

    Returns:
        `{"error": RemoteErrorDetail}` as JSON-able dict, with the user's stack frames
        (none of the generated code, no absolute path).
    """
    frames = _user_frames(traceback.extract_tb(exc.__traceback__))
    stack = [
        located
        for frame in frames
        if (located := _reply_frame(frame, sources or {})) is not None
    ]
    name: str = type(exc).__name__
    module: str | None = type(exc).__module__
    if isinstance(exc, GenericRemoteException) and exc.remote_class is not None:
        # A dependency's error whose class this package lacks: the caller may have it.
        name, module = exc.remote_class
    detail = RemoteErrorDetail(
        exception_cls_name=name,
        exception_module_name=module,
        exception_message=_scrub(str(exc)),
        user_stack_trace=stack,
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
