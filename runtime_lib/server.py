"""HTTP server of one Chainlet: the entry of each package's generated `server.py`.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Serves one `ChainletModel` subclass (the package's `model.model.Model`) with a
small raw ASGI app on uvicorn (httptools parser and uvloop where installed):

- `POST /run_remote`: a JSON object of the arguments by name; the reply is the JSON of
  the return value. A streaming endpoint replies chunked, each chunk sent as it is
  produced (`text/plain; charset=utf-8` for `str` chunks, `application/octet-stream` for
  `bytes`). Invalid body: 422 with the field errors. Exception in user code: 500 with
  `{"error": RemoteErrorDetail}` (see `serving.error_detail`) and an error log line.
  503 while `load()` has not finished (callers retry 503). A body with
  `Content-Type: application/octet-stream` is msgpack (`.binary`, Truss's format) and
  gets a msgpack reply of that type, as on Truss's server; error bodies stay JSON.
- `GET /healthz`: 200 while the process is up (also during `load()`).
- `GET /readyz`: 200 once `load()` finished and the Chainlet's `is_healthy()` (if any)
  returns True; 503 before, otherwise, and while draining.
- `GET /openapi.json`: an OpenAPI 3.1 document of the one operation, built from the live
  `EndpointSpec` schemas.

`load()` runs in a thread at startup, so `/healthz` answers during a slow `__init__`; if
it raises, the error is logged and the process exits with code 1. Sync endpoints run in
a thread pool of `predict_concurrency` threads, async ones on the event loop; either way
at most `predict_concurrency` requests run at once per process (more wait their turn).
When `CHAINSC_API_KEY` is set, every request except the probes (`/healthz`, `/readyz`)
must carry `Authorization: Api-Key <key>` (else 401): probes come from a kubelet or a
supervisor that has no key, and Truss's server checks none on its own liveness and
readiness routes. SIGTERM/SIGINT: stop accepting, let in-flight requests finish
(including the calls they make to dependencies) for up to `CHAINSC_DRAIN_TIMEOUT`
seconds (default 30), exit 0. With `CHAINSC_SUPERVISOR_FD` (set by `chainsc run`), the
server also stops that way when the supervisor is gone: the variable names the read end
of a pipe whose write end only the supervisor holds, so end of file means it died,
however it died. Logs go to stdout, prefixed with the Chainlet name: one line per
request at debug level (`CHAINSC_LOG_LEVEL=debug`), errors at error level.

Imports the standard library, pydantic, `.binary` and `.serving` at import time; `uvicorn` only in
`serve()` (see `SERVER_REQUIREMENTS` in the package `__init__`), so the rest of the
runtime never needs it. Never imports `compiler`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hmac
import inspect
import json
import logging
import math
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    MutableMapping,
    Sequence,
)
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TypeVar

import pydantic

from . import binary
from .dispatch import (
    Dispatcher,
    Encoding,
    EndpointSpec,
    InvalidRequestError,
    error_detail,
)
from .errors import RemoteErrorDetail
from .serving import API_KEY_ENV_VAR, DATA_DIR_ENV_VAR, ChainletModel

__all__ = [
    "DEFAULT_DRAIN_TIMEOUT_SEC",
    "DRAIN_TIMEOUT_ENV_VAR",
    "LOG_LEVEL_ENV_VAR",
    "SUPERVISOR_FD_ENV_VAR",
    "ChainletApp",
    "main",
    "openapi_document",
    "serve",
]

#: Seconds that in-flight requests get to finish after SIGTERM/SIGINT.
DRAIN_TIMEOUT_ENV_VAR = "CHAINSC_DRAIN_TIMEOUT"
DEFAULT_DRAIN_TIMEOUT_SEC = 30.0
#: `debug` logs one line per request; default `info`.
LOG_LEVEL_ENV_VAR = "CHAINSC_LOG_LEVEL"
#: The read end of a pipe from the supervisor (`chainsc run`): end of file = it is gone.
SUPERVISOR_FD_ENV_VAR = "CHAINSC_SUPERVISOR_FD"
#: Routes that answer without the API key: the probes.
_OPEN_PATHS = frozenset({"/healthz", "/readyz"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = b"application/json"
_BINARY = binary.CONTENT_TYPE.encode()
_TEXT_STREAM = b"text/plain; charset=utf-8"
_BYTES_STREAM = b"application/octet-stream"
_DONE = object()
_LOGGER = "chainsc.server"
_T = TypeVar("_T")


class _Stoppable(Protocol):
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


# OpenAPI ###############################################################################


def _is_text_stream(endpoint: EndpointSpec) -> bool:
    return bool(endpoint.output.core_schema.get("type") == "str")


def openapi_document(
    endpoint: EndpointSpec,
    *,
    title: str,
    description: str | None = None,
    api_key: bool = False,
) -> dict[str, Any]:
    """An OpenAPI 3.1 document with the endpoint's one operation, `POST /run_remote`.

    Args:
        endpoint: the Chainlet's endpoint; its input model and output adapter give the
            request and reply schemas (definitions under `components.schemas`).
        title: `info.title` (the Chainlet's display name).
        description: the endpoint's docstring, if any.
        api_key: declare the `Authorization: Api-Key <key>` security scheme.
    """
    ref_template = "#/components/schemas/{model}"
    inputs: list[tuple[str, Any, pydantic.TypeAdapter[Any]]] = [
        ("input", "validation", pydantic.TypeAdapter(endpoint.input_model)),
        ("error", "serialization", pydantic.TypeAdapter(RemoteErrorDetail)),
    ]
    if not endpoint.is_streaming:
        inputs.append(("output", "serialization", endpoint.output))
    schemas, definitions = pydantic.TypeAdapter.json_schemas(
        inputs, ref_template=ref_template
    )
    if endpoint.is_streaming:
        media = _TEXT_STREAM if _is_text_stream(endpoint) else _BYTES_STREAM
        reply = {media.decode(): {"schema": {"type": "string"}}}
    else:
        reply = {"application/json": {"schema": schemas["output", "serialization"]}}
    field_error = {
        "type": "object",
        "properties": {
            "loc": {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            },
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
        "required": ["loc", "msg", "type"],
    }
    operation: dict[str, Any] = {
        "operationId": endpoint.name,
        "summary": (description or f"Call `{title}`.").strip().splitlines()[0],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schemas["input", "validation"]}},
        },
        "responses": {
            "200": {"description": "The return value.", "content": reply},
            "422": {
                "description": "The arguments do not validate.",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "detail": {"type": "array", "items": field_error}
                            },
                            "required": ["detail"],
                        }
                    }
                },
            },
            "500": {
                "description": "The Chainlet's code raised an exception.",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"error": schemas["error", "serialization"]},
                            "required": ["error"],
                        }
                    }
                },
            },
            "503": {"description": "Not loaded yet: retry."},
        },
    }
    if description:
        operation["description"] = description
    components: dict[str, Any] = {"schemas": definitions.get("$defs", {})}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": {"/run_remote": {"post": operation}},
        "components": components,
    }
    if api_key:
        operation["responses"]["401"] = {"description": "Missing or wrong API key."}
        components["securitySchemes"] = {
            "ApiKey": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Api-Key <key>`",
            }
        }
        document["security"] = [{"ApiKey": []}]
    return document


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
        self._stream_type = (
            _TEXT_STREAM if _is_text_stream(self.endpoint) else _BYTES_STREAM
        )
        self._server: _Stoppable | None = None
        self._loader: threading.Thread | None = None
        self.loaded = False
        self.load_failed = False
        #: Worker threads running user code (a drain timeout leaves them behind).
        self.busy_threads = 0
        self._busy_lock = threading.Lock()
        self._openapi: bytes | None = None

    def attach(self, server: _Stoppable) -> None:
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
        status = await self._route(scope, path, method, receive, send)
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug(
                "%s %s %d %.1f ms",
                method,
                path,
                status,
                (time.perf_counter() - started) * 1000,
            )

    async def _route(
        self, scope: Scope, path: str, method: str, receive: Receive, send: Send
    ) -> int:
        if path == "/healthz":
            if method not in ("GET", "HEAD"):
                return await _not_allowed(send, "GET")
            return await _reply(send, 200, b'{"status":"ok"}')
        if self._authorization is not None and path not in _OPEN_PATHS:
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
            return await self._run_remote(scope, receive, send)
        if path == "/readyz":
            if method not in ("GET", "HEAD"):
                return await _not_allowed(send, "GET")
            return await self._readyz(send)
        if path == "/openapi.json":
            if method not in ("GET", "HEAD"):
                return await _not_allowed(send, "GET")
            return await self._openapi_json(send)
        return await _reply(send, 404, b'{"detail":"Not Found"}')

    # Routes #############################################################################

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
            self._openapi = _json(
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
            async with self._slots:
                return await self._stream(dispatcher, arguments, receive, send)
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
            return await self._user_error(send, exc)
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
        """Run `function(*args)` in the predict thread pool."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._counted, function, *args
        )

    def _counted(self, function: Callable[..., _T], *args: Any) -> _T:
        with self._busy_lock:
            self.busy_threads += 1
        try:
            return function(*args)
        finally:
            with self._busy_lock:
                self.busy_threads -= 1

    async def _user_error(self, send: Send, exc: Exception) -> int:
        self.log.error(
            "`%s.%s` raised %s: %s",
            self.display_name,
            self.endpoint.name,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        return await _reply(send, 500, _json(error_detail(exc)))

    async def _stream(
        self,
        dispatcher: Dispatcher,
        arguments: dict[str, Any],
        receive: Receive,
        send: Send,
    ) -> int:
        """Reply chunked; an error before the first chunk is a 500, after it a cut."""
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
            return await self._user_error(send, exc)
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_watch_disconnect(receive, gone))
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", self._stream_type)],
                }
            )
            while chunk is not _DONE and not gone.is_set():
                if data:
                    await send(
                        {"type": "http.response.body", "body": data, "more_body": True}
                    )
                if async_chunks is not None:
                    chunk = await anext(async_chunks, _DONE)
                else:
                    assert sync_chunks is not None
                    chunk = await self._in_thread(next, sync_chunks, _DONE)
                data = b"" if chunk is _DONE else dispatcher.encode_chunk(chunk)
            if gone.is_set():
                self.log.info("The client closed the stream before its end.")
            else:
                await send({"type": "http.response.body", "body": b""})
        except Exception as exc:
            # The status is sent: returning without the end of the body makes uvicorn
            # cut the connection, so the client sees a broken stream.
            self.log.error(
                "`%s.%s` failed while streaming: %s: %s",
                self.display_name,
                self.endpoint.name,
                type(exc).__name__,
                exc,
                exc_info=exc,
            )
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


# Process ###############################################################################


class _Formatter(logging.Formatter):
    def __init__(self, display_name: str) -> None:
        name = display_name.replace("%", "%%")
        super().__init__(
            f"%(asctime)s %(levelname)s [{name}] %(message)s",
            datefmt="%Y-%m-%dT%H:%M:%S",
        )


def _configure_logging(display_name: str, level: str) -> None:
    """Every log record (ours, uvicorn's, the user's) to stdout, with the name."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_Formatter(display_name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's "Uvicorn running on ..." and drain messages stay at info.
    logging.getLogger("uvicorn").setLevel(max(root.level, logging.INFO))
    # httpx logs every dependency call at info: one line per hop would drown the log.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))


def serve(
    model_cls: type[ChainletModel],
    *,
    host: str,
    port: int,
    predict_concurrency: int,
    display_name: str,
    data_dir: str | os.PathLike[str] | None = None,
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT_SEC,
    log_level: str = "info",
) -> int:
    """Serve `model_cls` on `host:port` until SIGTERM/SIGINT; the process exit code.

    Args:
        model_cls: the package's `Model` (a `ChainletModel` subclass).
        host: the bind address.
        port: the TCP port (0: any free port).
        predict_concurrency: the most requests that run at once.
        display_name: the Chainlet's name (logs, OpenAPI title).
        data_dir: `DeploymentContext.data_dir` (`$CHAINSC_DATA_DIR` wins when set).
        drain_timeout: seconds in-flight requests get after SIGTERM/SIGINT.
        log_level: `debug` logs a line per request.

    Returns:
        0 after a graceful stop, 1 when `load()` failed.
    """
    try:
        import uvicorn  # noqa: PLC0415  # only the server needs it
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit(
            f"chainsc: server.py needs uvicorn: pip install 'uvicorn[standard]' ({exc})"
        ) from exc
    _configure_logging(display_name, log_level)
    model = model_cls(data_dir=os.environ.get(DATA_DIR_ENV_VAR) or data_dir)
    app = ChainletApp(
        model,
        display_name=display_name,
        predict_concurrency=predict_concurrency,
        api_key=os.environ.get(API_KEY_ENV_VAR) or None,
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="auto",  # uvloop when installed
        http="auto",  # httptools when installed
        ws="none",
        lifespan="on",
        interface="asgi3",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=math.ceil(drain_timeout),
    )
    server = uvicorn.Server(config)
    app.attach(server)
    _watch_supervisor(server, app.log)

    # uvicorn handles SIGTERM/SIGINT while serving and re-raises the signal afterwards
    # with the handler it found: this one, so the process ends with our exit code.
    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    server.run()
    if app.load_failed:
        return 1
    if app.busy_threads:
        app.log.error(
            "%d request(s) still running after the %g s drain timeout; exiting",
            app.busy_threads,
            drain_timeout,
        )
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)  # the worker threads of the cut requests would block a normal exit
    app.log.info("Stopped")
    return 0


def _watch_supervisor(server: _Stoppable, log: logging.Logger) -> None:
    """Stop `server` as on SIGTERM once the supervisor that started it is gone.

    Only when `$CHAINSC_SUPERVISOR_FD` names an inherited pipe (`chainsc run` sets it;
    Truss's server and a user running `server.py` do not). Nothing is ever written to
    the pipe: a read returns end of file when the last write end closes, which the
    kernel does when the supervisor exits, even by SIGKILL. A thread blocked on that
    read notices at once, without polling and without a parent-death signal (Linux
    only, and tied to the thread that forked). The variable is removed and the fd made
    non-inheritable, so processes the Chainlet starts do not take it along.
    """
    raw = os.environ.pop(SUPERVISOR_FD_ENV_VAR, None)
    if not raw:
        return
    try:
        fd = int(raw)
        is_pipe = stat.S_ISFIFO(os.fstat(fd).st_mode)
    except (ValueError, OSError):
        is_pipe = False
    if not is_pipe:
        log.warning(
            "`%s=%s` is not an inherited pipe: not watching the supervisor",
            SUPERVISOR_FD_ENV_VAR,
            raw,
        )
        return
    os.set_inheritable(fd, False)

    def watch() -> None:
        try:
            while os.read(fd, 512):
                pass
        except OSError:
            pass
        if not server.should_exit:
            log.warning("The supervisor (chainsc run) is gone: stopping")
            server.should_exit = True

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"chainsc: `{name}` must be a number, got {raw!r}") from None


def main(
    model_cls: type[ChainletModel],
    argv: Sequence[str] | None = None,
    *,
    display_name: str,
    predict_concurrency: int,
    data_dir: str | os.PathLike[str] | None = None,
) -> int:
    """The command line of a package's `server.py`; the process exit code.

    Args:
        model_cls: the package's `Model`.
        argv: the arguments (default `sys.argv[1:]`).
        display_name: the Chainlet's name.
        predict_concurrency: `remote_config.compute.predict_concurrency` (the default
            of `--predict-concurrency`).
        data_dir: the package's `data/` directory.
    """
    parser = argparse.ArgumentParser(
        prog="server.py",
        description=f"Serve the `{display_name}` Chainlet over HTTP.",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("HOST") or "127.0.0.1",
        help="bind address (default: $HOST or 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or 8000),
        help="TCP port (default: $PORT or 8000)",
    )
    parser.add_argument(
        "--predict-concurrency",
        type=int,
        default=predict_concurrency,
        help=f"requests run at once (default: {predict_concurrency}, from remote_config)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=_env_float(DRAIN_TIMEOUT_ENV_VAR, DEFAULT_DRAIN_TIMEOUT_SEC),
        help=f"seconds in-flight requests get on SIGTERM (default: "
        f"${DRAIN_TIMEOUT_ENV_VAR} or {DEFAULT_DRAIN_TIMEOUT_SEC:.0f})",
    )
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default=(os.environ.get(LOG_LEVEL_ENV_VAR) or "info").lower(),
        help=f"debug logs every request (default: ${LOG_LEVEL_ENV_VAR} or info)",
    )
    args = parser.parse_args(argv)
    if args.log_level not in ("debug", "info", "warning", "error"):
        parser.error(f"${LOG_LEVEL_ENV_VAR} must be debug, info, warning or error")
    if args.predict_concurrency < 1:
        parser.error("--predict-concurrency must be at least 1")
    return serve(
        model_cls,
        host=args.host,
        port=args.port,
        predict_concurrency=args.predict_concurrency,
        display_name=display_name,
        data_dir=Path(data_dir) if data_dir is not None else None,
        drain_timeout=max(0.0, args.drain_timeout),
        log_level=args.log_level,
    )
