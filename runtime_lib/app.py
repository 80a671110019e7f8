"""The ASGI app of one Chainlet: routing, probes, the API key, and the endpoint's route.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). A small raw ASGI 3 app (uvicorn runs it: `server.py`); it imports the
standard library, `.binary`, `.dispatch`, `.openapi`, `.serving` and `.websocket`;
never `compiler`.

- `POST /run_remote`: a JSON object of the arguments by name; the reply is the JSON of
  the return value. A streaming endpoint replies chunked, each chunk sent as it is
  produced (`text/plain; charset=utf-8` for `str` chunks, `application/octet-stream` for
  `bytes`). Invalid body: 422 with the field errors. Exception in user code: 500 with
  `{"error": RemoteErrorDetail}` (see `dispatch.error_detail`) and an error log line.
  503 while `load()` has not finished (callers retry 503). A body with
  `Content-Type: application/octet-stream` is msgpack (`.binary`, Truss's format) and
  gets a msgpack reply of that type, as on Truss's server; error bodies stay JSON.
  Decoding, calling and encoding are the model's `dispatcher`'s, the same as under
  Truss's server and `run_local`; the app adds the HTTP around them: where each step
  runs (decode on the event loop, a sync endpoint in the predict thread pool), the
  concurrency limit, streaming, and the 503 for a request cut by the drain timeout.
  A request with `X-Chainsc-Stream: frames/1` gets a framed stream reply (`.frames`):
  an error after the first chunk then ends it with an error frame instead of a cut.
  The request's trace context and request id (`.tracing`) are current while it runs (in
  the predict threads too), so the dependency calls it makes forward them, and every log
  line made meanwhile names them.
- `GET /healthz`: 200 while the process is up (also during `load()`).
- `GET /readyz`: 200 once `load()` finished and the model `is_ready()` (the Chainlet's
  `is_healthy()`, if any, returns True); 503 before, otherwise, and while draining.
- `GET /openapi.json`: `openapi.openapi_document` of the endpoint.
- A websocket endpoint (`async def run_remote(self, websocket: chains.WebSocketProtocol)
  -> None`) is served at `/v1/websocket` (Truss's route) and `/run_remote` (chainsc's),
  as websocket connections: the handshake is accepted, `run_remote` gets a
  `websocket.WebSocketSession` through the dispatcher and talks over it; when it returns
  the connection is closed with code 1000, when it raises with 1011 (and an error log
  line). A client that leaves (the `WebSocketDisconnect` the session raises, whether the
  endpoint catches it or not) is logged at info level. Before the handshake, a refusal
  is an HTTP reply (ASGI's `websocket.http.response`, else uvicorn's 403): 401 without
  the API key, 503 while loading or draining, 404 on another path or when the endpoint
  is not a websocket. Sessions do not count against `predict_concurrency` (as on Truss's
  server). Over plain HTTP, such an endpoint answers `POST /run_remote` with 426 and has
  no OpenAPI operation (404).

Sync endpoints run in a thread pool of `predict_concurrency` threads, async ones on the
event loop; either way at most `predict_concurrency` requests run at once per process
(more wait their turn). When an API key is given, every request except the probes
(`/healthz`, `/readyz`) must carry `Authorization: Api-Key <key>` (else 401): probes come
from a kubelet or a supervisor that has no key, and Truss's server checks none on its
own liveness and readiness routes. Each request gets one log line at debug level, with
its request id, trace id and the caller's span id.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import hmac
import inspect
import json
import logging
import threading
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from . import binary, frames, tracing
from .dispatch import (
    Dispatcher,
    Encoding,
    EndpointSpec,
    InvalidRequestError,
)
from .openapi import document_bytes, openapi_document
from .serving import ChainletModel
from .websocket import WebSocketSession, asgi_headers, is_disconnect

__all__ = ["OPEN_PATHS", "WEBSOCKET_PATHS", "ChainletApp", "Stoppable"]

#: Routes that answer without the API key: the probes.
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
#: Where a websocket endpoint is served: Truss's route, and chainsc's own endpoint path.
WEBSOCKET_PATHS = frozenset({"/v1/websocket", "/run_remote"})
#: The close code of a session whose endpoint raised (RFC 6455 "internal error", as Truss).
_INTERNAL_ERROR = 1011
#: The longest close reason a frame can carry (RFC 6455: 125 bytes of payload, 2 for the code).
_MAX_REASON = 123

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = b"application/json"
_BINARY = binary.CONTENT_TYPE.encode()
_FRAMES_HEADER = frames.REQUEST_HEADER.encode()
_FRAMED_TYPE = frames.CONTENT_TYPE.encode()
_DONE = object()
_LOGGER = "chainsc.server"
_T = TypeVar("_T")


class Stoppable(Protocol):
    """What the app needs of the server: uvicorn's `Server.should_exit`."""

    should_exit: bool


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _is_binary(scope: Scope) -> bool:
    """A msgpack request (and reply): its `Content-Type` says so, as Truss's server decides."""
    return binary.is_binary_content_type(_header(scope, b"content-type"))


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body; None when the client went away first."""
    message = await receive()
    if message["type"] != "http.request":
        return None
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    parts = [body]
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _start_sync_stream(
    dispatcher: Dispatcher, arguments: dict[str, Any]
) -> tuple[Iterator[Any], object]:
    """Call a sync streaming endpoint and take its first chunk (in a worker thread)."""
    chunks = iter(dispatcher.call(arguments))
    return chunks, next(chunks, _DONE)


async def _start_async_stream(
    dispatcher: Dispatcher, arguments: dict[str, Any]
) -> tuple[AsyncIterator[Any], object]:
    chunks: AsyncIterator[Any] = aiter(await dispatcher.acall(arguments))
    return chunks, await anext(chunks, _DONE)


def _close_sync(chunks: Iterator[Any]) -> None:
    close = getattr(chunks, "close", None)
    if callable(close):
        close()


# The app ###############################################################################


class ChainletApp:
    """The ASGI app of one Chainlet (routes and behaviour: see the module docstring).

    `start_loading()` (called on ASGI lifespan startup) runs `model.load()` in a thread.
    """

    def __init__(
        self,
        model: ChainletModel,
        *,
        display_name: str,
        predict_concurrency: int,
        api_key: str | None = None,
    ) -> None:
        """Create the app; nothing is loaded yet.

        Args:
            model: the package's `Model`, not loaded.
            display_name: the Chainlet's name, for logs and the OpenAPI title.
            predict_concurrency: the most requests that run at once.
            api_key: when set, required as `Authorization: Api-Key <key>`.
        """
        if predict_concurrency < 1:
            raise ValueError(
                f"predict_concurrency must be at least 1, got {predict_concurrency}"
            )
        self.model = model
        self.display_name = display_name
        self.predict_concurrency = predict_concurrency
        self.endpoint: EndpointSpec = type(model).endpoint
        self.log = logging.getLogger(_LOGGER)
        self._authorization = f"Api-Key {api_key}".encode() if api_key else None
        self._executor = ThreadPoolExecutor(
            max_workers=predict_concurrency, thread_name_prefix="predict"
        )
        self._slots = asyncio.Semaphore(predict_concurrency)
        self._stream_type = self.endpoint.stream_media_type.encode()
        self._server: Stoppable | None = None
        self._loader: threading.Thread | None = None
        self.loaded = False
        self.load_failed = False
        #: Worker threads running user code (a drain timeout leaves them behind).
        self.busy_threads = 0
        self._busy_lock = threading.Lock()
        self._openapi: bytes | None = None

    def attach(self, server: Stoppable) -> None:
        """The server whose `should_exit` means draining (and that a failed load stops)."""
        self._server = server

    @property
    def draining(self) -> bool:
        """True once the server was told to stop."""
        return self._server is not None and self._server.should_exit

    # Lifecycle ##########################################################################

    def start_loading(self) -> None:
        """Run `model.load()` in a daemon thread (idempotent)."""
        if self._loader is None:
            self._loader = threading.Thread(target=self._load, name="load", daemon=True)
            self._loader.start()

    def _load(self) -> None:
        started = time.perf_counter()
        self.log.info("Loading (predict_concurrency=%d)", self.predict_concurrency)
        try:
            self.model.load()
        except BaseException as exc:
            self.log.error(
                "load() failed: %s: %s", type(exc).__name__, exc, exc_info=exc
            )
            self.load_failed = True
            if self._server is not None:
                self._server.should_exit = True
            return
        # The loaded model lives as long as the process: move it out of the collector's
        # sight so that full collections stay short (p99).
        gc.collect()
        gc.freeze()
        self.loaded = True
        self.log.info("Loaded in %.2f s", time.perf_counter() - started)

    async def aclose(self) -> None:
        """Release the dependency clients and the thread pool."""
        try:
            await self.model.aclose()
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)

    # ASGI ###############################################################################

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI 3 entry."""
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start_loading()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path: str = scope["path"]
        method: str = scope["method"]
        token = None
        if path == "/run_remote":
            # Each request runs in a task of its own: what is set here stays in it. The
            # headers are read when first needed (a dependency call, a log line).
            token = tracing.activate_asgi(scope["headers"])
        try:
            status = await self._route(scope, path, method, receive, send)
            if self.log.isEnabledFor(logging.DEBUG):
                context = tracing.current()
                self.log.debug(
                    "%s %s %d %.1f ms%s",
                    method,
                    path,
                    status,
                    (time.perf_counter() - started) * 1000,
                    f" (span_id={context.span_id} parent_id={context.parent_id or '-'})"
                    if context is not None
                    else "",
                )
        finally:
            if token is not None:
                tracing.deactivate(token)

    async def _route(
        self, scope: Scope, path: str, method: str, receive: Receive, send: Send
    ) -> int:
        if path == "/healthz":
            if method not in ("GET", "HEAD"):
                return await _not_allowed(send, "GET")
            return await _reply(send, 200, b'{"status":"ok"}')
        if self._authorization is not None and path not in OPEN_PATHS:
            given = _header(scope, b"authorization") or b""
            if not hmac.compare_digest(given, self._authorization):
                return await _reply(
                    send,
                    401,
                    _json(
                        {
                            "detail": "Missing or wrong API key: send "
                            "`Authorization: Api-Key <key>`."
                        }
                    ),
                    headers=[(b"www-authenticate", b"Api-Key")],
                )
        if path == "/run_remote":
            if method != "POST":
                return await _not_allowed(send, "POST")
            if self.endpoint.is_websocket:
                return await self._upgrade_required(send)
            return await self._run_remote(scope, receive, send)
        if path == "/readyz":
            if method not in ("GET", "HEAD"):
                return await _not_allowed(send, "GET")
            return await self._readyz(send)
        if path == "/openapi.json":
            if method not in ("GET", "HEAD"):
                return await _not_allowed(send, "GET")
            if self.endpoint.is_websocket:
                return await _reply(
                    send,
                    404,
                    _json(
                        {
                            "detail": f"`{self.display_name}` serves a websocket at "
                            "/v1/websocket (and /run_remote), which OpenAPI does not "
                            "describe."
                        }
                    ),
                )
            return await self._openapi_json(send)
        return await _reply(send, 404, b'{"detail":"Not Found"}')

    # Routes #############################################################################

    async def _upgrade_required(self, send: Send) -> int:
        return await _reply(
            send,
            426,
            _json(
                {
                    "detail": f"`{self.display_name}` serves a websocket: connect to "
                    "ws://<host>/v1/websocket (or /run_remote)."
                }
            ),
            headers=[(b"upgrade", b"websocket"), (b"connection", b"upgrade")],
        )

    async def _readyz(self, send: Send) -> int:
        if self.draining:
            return await _reply(send, 503, b'{"status":"draining"}')
        if not self.loaded:
            state = "load failed" if self.load_failed else "loading"
            return await _reply(send, 503, _json({"status": state}))
        try:
            healthy = await self.model.is_ready()
        except Exception as exc:
            self.log.error(
                "is_healthy() raised %s: %s", type(exc).__name__, exc, exc_info=exc
            )
            return await _reply(send, 503, b'{"status":"unhealthy"}')
        if not healthy:
            return await _reply(send, 503, b'{"status":"unhealthy"}')
        return await _reply(send, 200, b'{"status":"ready"}')

    async def _openapi_json(self, send: Send) -> int:
        if self._openapi is None:
            method = getattr(self.model.chainlet_cls, self.endpoint.name, None)
            self._openapi = document_bytes(
                openapi_document(
                    self.endpoint,
                    title=self.display_name,
                    description=inspect.getdoc(method) if method else None,
                    api_key=self._authorization is not None,
                )
            )
        return await _reply(send, 200, self._openapi)

    async def _run_remote(self, scope: Scope, receive: Receive, send: Send) -> int:
        body = await _read_body(receive)
        if body is None:  # the client went away
            return 499
        if not self.loaded:
            state = "failed to load" if self.load_failed else "is loading"
            return await _reply(
                send,
                503,
                _json({"detail": f"Chainlet `{self.display_name}` {state}."}),
                headers=[(b"retry-after", b"1")],
            )
        binary_body = _is_binary(scope)
        dispatcher = self.model.dispatcher
        try:
            arguments = dispatcher.decode(body, binary=binary_body)
        except InvalidRequestError as exc:
            return await _reply(send, 422, _json(exc.body()))
        if self.endpoint.is_streaming:
            framed = frames.wants_frames(_header(scope, _FRAMES_HEADER))
            async with self._slots:
                return await self._stream(dispatcher, arguments, receive, send, framed)
        encoding = Encoding.MSGPACK if binary_body else Encoding.JSON
        try:
            async with self._slots:
                if self.endpoint.is_async:
                    result = await dispatcher.areply(arguments, encoding)
                else:
                    result = await self._in_thread(
                        dispatcher.reply, arguments, encoding
                    )
        except Exception as exc:
            return await self._user_error(send, dispatcher, exc)
        except asyncio.CancelledError:
            if not self.draining:
                raise
            # uvicorn cancels what still runs when the drain timeout is over: tell the
            # caller to retry elsewhere (503 is retried) rather than cut the connection.
            self.log.error("A request was cut by the drain timeout")
            return await _reply(
                send,
                503,
                _json({"detail": f"Chainlet `{self.display_name}` stopped."}),
                headers=[(b"connection", b"close")],
            )
        if binary_body:
            return await _reply(send, 200, result, content_type=_BINARY)
        return await _reply(send, 200, result)

    async def _in_thread(self, function: Callable[..., _T], *args: Any) -> _T:
        """Run `function(*args)` in the predict thread pool, in this task's context."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, context.run, self._counted, function, *args
        )

    def _counted(self, function: Callable[..., _T], *args: Any) -> _T:
        with self._busy_lock:
            self.busy_threads += 1
        try:
            return function(*args)
        finally:
            with self._busy_lock:
                self.busy_threads -= 1

    async def _user_error(
        self, send: Send, dispatcher: Dispatcher, exc: Exception
    ) -> int:
        self.log.error(
            "`%s.%s` raised %s: %s",
            self.display_name,
            self.endpoint.name,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        return await _reply(send, 500, _json(dispatcher.error_detail(exc)))

    async def _stream(
        self,
        dispatcher: Dispatcher,
        arguments: dict[str, Any],
        receive: Receive,
        send: Send,
        framed: bool,
    ) -> int:
        """Reply chunked; an error before the first chunk is a 500, after it a cut.

        Framed (the client asked, `.frames`): the preamble, a frame per chunk, and an end
        frame, or after an error, an error frame (the 500's body), the reply complete.
        """
        sync_chunks: Iterator[Any] | None = None
        async_chunks: AsyncIterator[Any] | None = None
        try:
            if self.endpoint.is_async:
                async_chunks, chunk = await _start_async_stream(dispatcher, arguments)
            else:
                sync_chunks, chunk = await self._in_thread(
                    _start_sync_stream, dispatcher, arguments
                )
            data = b"" if chunk is _DONE else dispatcher.encode_chunk(chunk)
        except Exception as exc:
            return await self._user_error(send, dispatcher, exc)
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_watch_disconnect(receive, gone))
        #: Sent before the next body bytes: a framed reply's preamble, until it is sent.
        prefix = frames.PREAMBLE if framed else b""
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", _FRAMED_TYPE if framed else self._stream_type)
                    ],
                }
            )
            while chunk is not _DONE and not gone.is_set():
                if data:
                    body = frames.data_frame(data) if framed else data
                    await send(
                        {
                            "type": "http.response.body",
                            "body": prefix + body if prefix else body,
                            "more_body": True,
                        }
                    )
                    prefix = b""
                if async_chunks is not None:
                    chunk = await anext(async_chunks, _DONE)
                else:
                    assert sync_chunks is not None
                    chunk = await self._in_thread(next, sync_chunks, _DONE)
                data = b"" if chunk is _DONE else dispatcher.encode_chunk(chunk)
            if gone.is_set():
                self.log.info("The client closed the stream before its end.")
            else:
                end = prefix + frames.END_FRAME if framed else b""
                await send({"type": "http.response.body", "body": end})
        except Exception as exc:
            self.log.error(
                "`%s.%s` failed while streaming: %s: %s",
                self.display_name,
                self.endpoint.name,
                type(exc).__name__,
                exc,
                exc_info=exc,
            )
            if framed and not gone.is_set():
                # In band: the client raises it as it raises the body of a 500.
                error = prefix + frames.error_frame(dispatcher.error_detail(exc))
                with contextlib.suppress(Exception):  # the client went away meanwhile
                    await send({"type": "http.response.body", "body": error})
            # Otherwise the status is sent: returning without the end of the body makes
            # uvicorn cut the connection, so the client sees a broken stream.
            return 500
        finally:
            watcher.cancel()
            if async_chunks is not None:
                aclose = getattr(async_chunks, "aclose", None)
                if callable(aclose):
                    await aclose()
            elif sync_chunks is not None:
                await self._in_thread(_close_sync, sync_chunks)
        return 200

    # Websockets #########################################################################

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path: str = scope["path"]
        # The session's trace context and request id, as for an HTTP request: the
        # dependency calls the endpoint makes forward them, its log lines carry them.
        token = tracing.activate_asgi(scope["headers"])
        try:
            outcome = await self._websocket_route(scope, path, receive, send)
            if self.log.isEnabledFor(logging.DEBUG):
                self.log.debug(
                    "WEBSOCKET %s %s %.1f ms",
                    path,
                    outcome,
                    (time.perf_counter() - started) * 1000,
                )
        finally:
            tracing.deactivate(token)

    async def _websocket_route(
        self, scope: Scope, path: str, receive: Receive, send: Send
    ) -> str:
        """Refuse (an HTTP status) or serve a session; what happened, for the log line."""
        if (await receive())["type"] != "websocket.connect":
            return "gone"
        if path not in WEBSOCKET_PATHS or not self.endpoint.is_websocket:
            what = (
                f"`{self.display_name}` has no websocket endpoint"
                if path in WEBSOCKET_PATHS
                else "Not Found"
            )
            return await _refuse(scope, send, 404, {"detail": what})
        if self._authorization is not None:
            given = _header(scope, b"authorization") or b""
            if not hmac.compare_digest(given, self._authorization):
                return await _refuse(
                    scope,
                    send,
                    401,
                    {
                        "detail": "Missing or wrong API key: send "
                        "`Authorization: Api-Key <key>`."
                    },
                    headers=[(b"www-authenticate", b"Api-Key")],
                )
        if self.draining or not self.loaded:
            state = (
                "stopped"
                if self.draining
                else "failed to load"
                if self.load_failed
                else "is loading"
            )
            return await _refuse(
                scope,
                send,
                503,
                {"detail": f"Chainlet `{self.display_name}` {state}."},
                headers=[(b"retry-after", b"1")],
            )
        await send({"type": "websocket.accept"})
        session = WebSocketSession(receive, send, asgi_headers(scope["headers"]))
        try:
            await self.model.dispatcher.websocket(session)
        except Exception as exc:
            if is_disconnect(exc):
                self.log.info(
                    "The client left the websocket of `%s.%s`: %s",
                    self.display_name,
                    self.endpoint.name,
                    exc,
                )
                return "client left"
            self.log.error(
                "`%s.%s` raised %s: %s",
                self.display_name,
                self.endpoint.name,
                type(exc).__name__,
                exc,
                exc_info=exc,
            )
            reason = f"{type(exc).__name__}: {exc}"
            await session.close(_INTERNAL_ERROR, _truncated(reason, _MAX_REASON))
            return "1011"
        await session.close()
        return "1000"


def _truncated(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, on a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "..."


async def _refuse(
    scope: Scope,
    send: Send,
    status: int,
    body: Mapping[str, object],
    *,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> str:
    """Refuse a websocket handshake with an HTTP reply (uvicorn's 403 without the extension)."""
    if "websocket.http.response" in scope.get("extensions", {}):
        content = _json(body)
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", _JSON),
                    (b"content-length", b"%d" % len(content)),
                    *headers,
                ],
            }
        )
        await send({"type": "websocket.http.response.body", "body": content})
    else:
        await send({"type": "websocket.close", "code": 1008})
    return str(status)


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    """Set `gone` when the client disconnects (the body has been read)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


async def _reply(
    send: Send,
    status: int,
    body: bytes,
    *,
    headers: Sequence[tuple[bytes, bytes]] = (),
    content_type: bytes = _JSON,
) -> int:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", b"%d" % len(body)),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
    return status


async def _not_allowed(send: Send, allow: str) -> int:
    return await _reply(
        send,
        405,
        b'{"detail":"Method Not Allowed"}',
        headers=[(b"allow", allow.encode())],
    )
