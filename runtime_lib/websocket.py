"""Websocket endpoints: the protocol chain code is typed with, and the session it gets.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports the standard library only; Starlette on first use where it is
installed (never required), aiohttp in `connect`. Never imports `compiler`.

A websocket endpoint is `async def run_remote(self, websocket: chains.WebSocketProtocol)
-> None` on the entrypoint, as in Truss Chains: the Chainlet talks to its caller for as
long as `run_remote` runs. The server accepts the connection, calls the endpoint with a
`WebSocketSession`, and closes the connection (code 1000) when `run_remote` returns, or
with 1011 when it raises.

- `WebSocketProtocol`: Truss Chains' protocol, method for method.
- `WebSocketSession`: that protocol over an ASGI websocket connection, given as its
  `receive()` and `send(message)` callables after the handshake: the raw ASGI ones of
  chainsc's `server.py` (`app.py`), or those of the Starlette `WebSocket` Truss's
  server hands the generated `Model.websocket` (the same ASGI messages, with Starlette's
  state checks). So a Chainlet behaves the same under either server.
- `connect`: a session with a websocket endpoint from outside (aiohttp's client, the
  same `WebSocketSession` on the caller's side); the generated `client.py` of a
  websocket Chainlet uses it.
- `WebSocketDisconnect`: what `receive*` (and `send*`) raise once the client has gone,
  with its close `code` and `reason`. Where Starlette is installed (always under Truss's
  server, and wherever FastAPI is), the class raised also derives from Starlette's
  `WebSocketDisconnect`, which is `fastapi.WebSocketDisconnect`: chain code written for
  Truss (`except fastapi.WebSocketDisconnect:`) catches it, as does
  `except chainsc_runtime.websocket.WebSocketDisconnect:`.

As in Truss (`WebsocketWrapperFastAPI`, over Starlette), `iter_text`, `iter_bytes` and
`iter_json` are coroutines that give an async iterator (`async for m in await
websocket.iter_text()`); here the result is also iterable without the `await`, as
Starlette's own. `is_connected()` is a bool for the protocol's `def` and awaitable for
Truss's `async def`. Iterators end when the client disconnects.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from typing import Any, Protocol, TypeVar, cast

__all__ = [
    "WEBSOCKET_PATH",
    "WebSocketDisconnect",
    "WebSocketProtocol",
    "WebSocketSession",
    "asgi_headers",
    "connect",
    "is_disconnect",
]

#: Where servers take websocket sessions: Truss's route (chainsc's `server.py` also
#: takes them at `/run_remote`).
WEBSOCKET_PATH = "/v1/websocket"

#: The normal closure (RFC 6455): `close()` and the end of `run_remote`.
NORMAL_CLOSURE = 1000
#: The connection dropped without a closing handshake (RFC 6455).
ABNORMAL_CLOSURE = 1006

_T = TypeVar("_T")
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class WebSocketProtocol(Protocol):
    """The websocket a websocket endpoint gets (Truss Chains' `WebSocketProtocol`).

    The subset of Starlette's and FastAPI's websocket interface Truss Chains exposes.
    """

    headers: Mapping[str, str]

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the connection."""
        ...

    async def receive(self) -> str | bytes:
        """The next message, text or bytes."""
        ...

    async def receive_text(self) -> str:
        """The next message, which must be text."""
        ...

    async def receive_bytes(self) -> bytes:
        """The next message, which must be bytes."""
        ...

    async def receive_json(self) -> Any:
        """The next message, parsed as JSON."""
        ...

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        ...

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        ...

    async def send_json(self, data: Any) -> None:
        """Send `data` as a JSON text message."""
        ...

    async def iter_text(self) -> AsyncIterator[str]:
        """The text messages until the client disconnects."""
        ...

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """The binary messages until the client disconnects."""
        ...

    async def iter_json(self) -> AsyncIterator[Any]:
        """The JSON messages until the client disconnects."""
        ...

    def is_connected(self) -> bool:
        """Whether messages can still be sent (a heuristic: pings tell for sure)."""
        ...


class WebSocketDisconnect(Exception):  # noqa: N818 - Starlette's and Truss's name
    """The client closed the websocket (or the connection dropped).

    Attributes:
        code: the close code (1000 normal, 1001 going away, 1006 dropped, ...).
        reason: the close reason the client gave, if any.
    """

    def __init__(self, code: int = NORMAL_CLOSURE, reason: str | None = None) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        reason = f": {self.reason}" if self.reason else ""
        return f"the websocket was closed (code {self.code}{reason})"


@functools.cache
def _starlette_disconnect() -> type[BaseException] | None:
    """Starlette's `WebSocketDisconnect` (FastAPI's), or None without Starlette."""
    try:
        from starlette.websockets import (  # noqa: PLC0415 - optional, on first use
            WebSocketDisconnect as StarletteDisconnect,
        )
    except ImportError:
        return None
    return StarletteDisconnect


@functools.cache
def _raised_class() -> type[WebSocketDisconnect]:
    """The class a disconnect is raised as: ours, and Starlette's too where installed."""
    starlette = _starlette_disconnect()
    if starlette is None:
        return WebSocketDisconnect
    # Both bases take `(code, reason)` and keep them as attributes; ours come first.
    combined = type(
        "WebSocketDisconnect",
        (WebSocketDisconnect, starlette),
        {"__module__": __name__, "__doc__": WebSocketDisconnect.__doc__},
    )
    return cast("type[WebSocketDisconnect]", combined)


def _disconnect(code: int, reason: str | None) -> WebSocketDisconnect:
    return _raised_class()(code, reason)


def is_disconnect(exc: BaseException) -> bool:
    """Whether `exc` says the client went away: ours, or Starlette's (FastAPI's)."""
    if isinstance(exc, WebSocketDisconnect):
        return True
    starlette = _starlette_disconnect()
    return starlette is not None and isinstance(exc, starlette)


class _CaseInsensitive(Mapping[str, str]):
    """Request headers (lower-cased names, latin-1 values), looked up in any case."""

    def __init__(self, raw: list[tuple[bytes, bytes]] | tuple[Any, ...]) -> None:
        self._items: dict[str, str] = {}
        for name, value in raw:
            key = bytes(name).decode("latin-1").lower()
            text = bytes(value).decode("latin-1")
            # Repeated headers: comma-joined (RFC 9110), as most readers expect.
            self._items[key] = (
                f"{self._items[key]}, {text}" if key in self._items else text
            )

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def __iter__(self) -> Any:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


def asgi_headers(raw: list[tuple[bytes, bytes]] | tuple[Any, ...]) -> Mapping[str, str]:
    """The headers of an ASGI scope as a case-insensitive mapping (as Starlette's)."""
    return _CaseInsensitive(raw)


async def _ready(value: _T) -> _T:
    """`value`, as a coroutine that returns at once."""
    return value


class _Connected:
    """`is_connected()`: a bool (the protocol's `def`) that can be awaited (Truss's `async def`)."""

    def __init__(self, value: bool) -> None:
        self._value = value

    def __bool__(self) -> bool:
        return self._value

    def __await__(self) -> Generator[Any, None, bool]:
        return _ready(self._value).__await__()

    def __repr__(self) -> str:
        return repr(self._value)


class _Messages(AsyncIterator[Any]):
    """The messages of a session until the client disconnects, one `receive_*` each.

    An async iterator that is also awaitable (to itself): `async for m in await
    websocket.iter_text()` (Truss) and `async for m in websocket.iter_text()`
    (Starlette) both work.
    """

    def __init__(self, receive: Callable[[], Awaitable[Any]]) -> None:
        self._receive = receive

    def __aiter__(self) -> _Messages:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self._receive()
        except Exception as exc:
            if is_disconnect(exc):
                raise StopAsyncIteration from None
            raise

    def __await__(self) -> Generator[Any, None, _Messages]:
        return _ready(self).__await__()


class WebSocketSession:
    """`WebSocketProtocol` over an accepted ASGI websocket connection (see the module).

    Attributes:
        headers: the handshake request's headers (names in any case).
    """

    def __init__(
        self, receive: Receive, send: Send, headers: Mapping[str, str]
    ) -> None:
        """Wrap a connection whose handshake is done (`websocket.accept` was sent).

        Args:
            receive: the ASGI `receive` of the connection (or Starlette's `receive`).
            send: the ASGI `send` of the connection (or Starlette's `send`).
            headers: the handshake's headers.
        """
        self._receive = receive
        self._send = send
        self.headers = headers
        #: (code, reason) once the client is gone.
        self._gone: tuple[int, str | None] | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """This side sent its close (`close()`): nothing more is sent."""
        return self._closed

    @property
    def client_gone(self) -> bool:
        """The client disconnected (or the connection dropped)."""
        return self._gone is not None

    # Receiving ##########################################################################

    async def _message(self) -> Message:
        """The next `websocket.receive` message; `WebSocketDisconnect` once the client is gone."""
        if self._gone is not None:
            raise _disconnect(*self._gone)
        try:
            message = await self._receive()
        except BaseException as exc:
            if is_disconnect(exc):  # Starlette raises its own on a dropped connection
                self._gone = (getattr(exc, "code", ABNORMAL_CLOSURE), None)
            raise
        kind = message["type"]
        if kind == "websocket.disconnect":
            self._gone = (
                int(message.get("code") or NORMAL_CLOSURE),
                message.get("reason") or None,
            )
            raise _disconnect(*self._gone)
        if kind != "websocket.receive":
            raise RuntimeError(f"unexpected ASGI message {kind!r} on an open websocket")
        return message

    async def receive(self) -> str | bytes:
        """The next message: `str` for a text message, `bytes` for a binary one."""
        message = await self._message()
        text = message.get("text")
        if text is not None:
            return str(text)
        return bytes(message.get("bytes") or b"")

    async def receive_text(self) -> str:
        """The next message, which must be text.

        Raises:
            TypeError: it is a binary message (it is consumed).
        """
        message = await self._message()
        text = message.get("text")
        if text is None:
            raise TypeError(
                "expected a text message, got a binary one: use `receive_bytes()` or `receive()`"
            )
        return str(text)

    async def receive_bytes(self) -> bytes:
        """The next message, which must be binary.

        Raises:
            TypeError: it is a text message (it is consumed).
        """
        message = await self._message()
        data = message.get("bytes")
        if data is None:
            raise TypeError(
                "expected a binary message, got a text one: use `receive_text()` or `receive()`"
            )
        return bytes(data)

    async def receive_json(self) -> Any:
        """The next message (text, or UTF-8 bytes) parsed as JSON.

        Raises:
            ValueError: it is not JSON (`json.JSONDecodeError`).
        """
        return json.loads(await self.receive())

    def iter_text(self) -> _Messages:
        """The text messages until the client disconnects (awaitable, as in Truss)."""
        return _Messages(self.receive_text)

    def iter_bytes(self) -> _Messages:
        """The binary messages until the client disconnects (awaitable, as in Truss)."""
        return _Messages(self.receive_bytes)

    def iter_json(self) -> _Messages:
        """The JSON messages until the client disconnects (awaitable, as in Truss)."""
        return _Messages(self.receive_json)

    # Sending ############################################################################

    async def _deliver(self, message: dict[str, Any]) -> None:
        if self._closed:
            raise RuntimeError("the websocket is closed: nothing more can be sent")
        if self._gone is not None:
            raise _disconnect(*self._gone)
        try:
            await self._send(message)
        except OSError as exc:  # uvicorn: the connection is gone (`ClientDisconnected`)
            self._gone = (ABNORMAL_CLOSURE, None)
            raise _disconnect(*self._gone) from exc
        except BaseException as exc:
            if is_disconnect(exc):  # Starlette translates the OSError itself
                self._gone = (getattr(exc, "code", ABNORMAL_CLOSURE), None)
            raise

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        if not isinstance(data, str):
            raise TypeError(
                f"send_text takes a str, got {type(data).__name__}: use send_bytes for bytes"
            )
        await self._deliver({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(
                f"send_bytes takes bytes, got {type(data).__name__}: use send_text for str"
            )
        await self._deliver({"type": "websocket.send", "bytes": bytes(data)})

    async def send_json(self, data: Any) -> None:
        """Send `data` as one JSON text message (compact, as Starlette writes it)."""
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        await self._deliver({"type": "websocket.send", "text": text})

    async def close(
        self, code: int = NORMAL_CLOSURE, reason: str | None = None
    ) -> None:
        """Close the connection (again, or after the client left: nothing happens)."""
        if self._closed or self._gone is not None:
            return
        self._closed = True
        try:
            await self._send(
                {"type": "websocket.close", "code": code, "reason": reason or ""}
            )
        except OSError:
            self._gone = (ABNORMAL_CLOSURE, None)
        except BaseException as exc:
            if not is_disconnect(exc):
                raise
            self._gone = (getattr(exc, "code", ABNORMAL_CLOSURE), None)

    def is_connected(self) -> _Connected:
        """Whether messages can still be sent: neither side closed (a bool, also awaitable)."""
        return _Connected(not self._closed and self._gone is None)


# The caller's side ######################################################################


@contextlib.asynccontextmanager
async def connect(
    url: str,
    *,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    open_timeout_sec: float = 60.0,
) -> AsyncIterator[WebSocketSession]:
    """A session with the websocket endpoint served at `url`; closed (1000) on exit.

    `async with websocket.connect("http://127.0.0.1:8000") as session: ...`; the
    session has the methods of `WebSocketProtocol`, and raises `WebSocketDisconnect`
    once the server closed it.

    Args:
        url: a server's base URL (the session goes to `/v1/websocket`), or the URL of
            the websocket itself (`ws://`, `wss://`, or an `http(s)://` URL whose path
            is given); `http` becomes `ws`.
        api_key: sent as `Authorization: Api-Key <key>`.
        headers: more headers for the handshake.
        open_timeout_sec: the longest wait for the handshake.

    Raises:
        aiohttp.WSServerHandshakeError: the server refused the session (its status).
    """
    import aiohttp  # noqa: PLC0415 - only callers need the client

    sent = dict(headers or {})
    if api_key:
        sent["Authorization"] = f"Api-Key {api_key}"
    timeout = aiohttp.ClientWSTimeout(ws_receive=None, ws_close=10.0)
    async with (
        aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, connect=open_timeout_sec)
        ) as client,
        client.ws_connect(
            websocket_url(url), headers=sent, timeout=timeout, max_msg_size=0
        ) as socket,
    ):
        session = WebSocketSession(
            _aiohttp_receive(socket, aiohttp),
            _aiohttp_send(socket),
            # The handshake's request headers, as on the server's side.
            asgi_headers(
                [
                    (name.encode("latin-1"), value.encode("latin-1"))
                    for name, value in sent.items()
                ]
            ),
        )
        try:
            yield session
        finally:
            await session.close()


def websocket_url(url: str) -> str:
    """The `ws(s)://` URL of a websocket endpoint: `/v1/websocket` of a base URL."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a URL: {url!r}")
    scheme = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme.lower())
    host, slash, path = rest.partition("/")
    if not slash or not path.strip("/"):
        return f"{scheme}://{host}{WEBSOCKET_PATH}"
    return f"{scheme}://{rest}"


def _aiohttp_receive(socket: Any, aiohttp: Any) -> Receive:
    """ASGI `receive` messages from an aiohttp client websocket."""

    async def receive() -> Message:
        message = await socket.receive()
        if message.type == aiohttp.WSMsgType.TEXT:
            return {"type": "websocket.receive", "text": message.data}
        if message.type == aiohttp.WSMsgType.BINARY:
            return {"type": "websocket.receive", "bytes": message.data}
        code = socket.close_code or (
            message.data if message.type == aiohttp.WSMsgType.CLOSE else None
        )
        reason = message.extra if message.type == aiohttp.WSMsgType.CLOSE else None
        return {
            "type": "websocket.disconnect",
            "code": int(code) if isinstance(code, int) else ABNORMAL_CLOSURE,
            "reason": reason or None,
        }

    return receive


def _aiohttp_send(socket: Any) -> Send:
    """ASGI `send` messages to an aiohttp client websocket."""

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.close":
            await socket.close(
                code=message.get("code", NORMAL_CLOSURE),
                message=(message.get("reason") or "").encode("utf-8"),
            )
        elif message.get("text") is not None:
            await socket.send_str(message["text"])
        else:
            await socket.send_bytes(message["bytes"])

    return send
