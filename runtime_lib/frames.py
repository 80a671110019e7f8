"""Framed stream replies: each chunk in a frame, and an in-band end or error at the end.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports only the standard library; never imports `compiler`.

A plain stream reply is the endpoint's chunks as they are: once its `200` is sent, a
server has no way left to say that the endpoint raised, so the connection is cut (and
Truss's server even ends the reply as if the stream were complete). A chainsc client
therefore asks for frames: it sends `X-Chainsc-Stream: frames/1` with a stream request.
A chainsc server (`app.py`, or `serving.ChainletModel` under Truss's server) then
replies with:

- `PREAMBLE`, once, first: 25 fixed bytes that say the reply is framed;
- frames, each a 5-byte tag (one byte kind, a big-endian uint32 payload length) and the
  payload: `DATA` (a chunk's bytes), then exactly one of `END` (empty: the stream is
  complete) or `ERROR` (the JSON error body of a 500 reply, `{"error":
  RemoteErrorDetail}`: what the endpoint raised, and its user frames).

The client (`FrameDecoder`) yields each data payload as its bytes arrive (no chunk
waits for the next), raises what an error frame holds as a non-streaming call raises
a 500, and reports a framed reply that ends without its `END` (a cut connection, Truss's
server ending the reply on its own) as a broken stream. A reply that does not start
with the preamble is passed through as it is: a server that ignored the request header
(an older chainsc, Truss Chains, any other model behind a `StubBase`). Clients that do
not send the header get the plain reply, as before: cut on an error after the first
chunk (Truss's server: ended), so they fail, never read a frame as data.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CONTENT_TYPE",
    "DATA",
    "END",
    "END_FRAME",
    "ERROR",
    "PREAMBLE",
    "REQUEST_HEADER",
    "REQUEST_VALUE",
    "FrameDecoder",
    "FramingError",
    "data_frame",
    "error_frame",
    "wants_frames",
]

#: The request header (and its value) by which a client asks for a framed reply.
REQUEST_HEADER = "x-chainsc-stream"
REQUEST_VALUE = "frames/1"
#: The `Content-Type` of a framed reply on chainsc's server (Truss's server sends
#: `application/octet-stream` for every stream).
CONTENT_TYPE = "application/octet-stream"
#: The first bytes of a framed reply: a NUL (never the start of a JSON or text chunk
#: a server would send plain), a name and a version.
PREAMBLE = b"\x00chainsc-stream-frames/1\n"
DATA, END, ERROR = 1, 2, 3
_TAG = struct.Struct(">BI")
_MAX_PAYLOAD = 0xFFFFFFFF
END_FRAME = _TAG.pack(END, 0)
_KINDS = frozenset({DATA, END, ERROR})


class FramingError(ValueError):
    """A framed reply that does not follow the format (or ended early)."""


def wants_frames(value: str | bytes | None) -> bool:
    """True when a request's `X-Chainsc-Stream` header asks for frames."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value is not None and value.strip() == REQUEST_VALUE


def data_frame(chunk: bytes) -> bytes:
    """The frame(s) of one chunk (a chunk over 4 GiB is split: frames are bytes, not items)."""
    if len(chunk) <= _MAX_PAYLOAD:
        return _TAG.pack(DATA, len(chunk)) + chunk
    view = memoryview(chunk)
    return b"".join(
        _TAG.pack(DATA, len(view[start : start + _MAX_PAYLOAD]))
        + view[start : start + _MAX_PAYLOAD]
        for start in range(0, len(chunk), _MAX_PAYLOAD)
    )


def error_frame(body: Mapping[str, Any]) -> bytes:
    """The error frame of a 500 body (`{"error": RemoteErrorDetail}`)."""
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return _TAG.pack(ERROR, len(payload)) + payload


class FrameDecoder:
    """Reads a stream reply that may be framed: `feed` each chunk, `close` at its end.

    Attributes:
        framed: True once the preamble was seen, False for a plain reply, None while
            the first bytes are still too few to tell.
        error: the JSON body of the error frame, once it arrived.
        ended: True once the end frame (or the error frame) arrived.
        chunks: the data chunks seen (a frame split over reads counts once).
    """

    __slots__ = ("_buffer", "_remaining", "chunks", "ended", "error", "framed")

    def __init__(self) -> None:
        self.framed: bool | None = None
        self.error: object = None
        self.ended = False
        self.chunks = 0
        self._buffer = b""
        #: Bytes still to come of the data frame being read (its payload is passed on
        #: as it arrives).
        self._remaining = 0

    def feed(self, data: bytes) -> list[bytes]:
        """The data bytes in `data` (the body's next bytes), in order.

        After an error or end frame, `ended` is set and nothing more is accepted.

        Raises:
            FramingError: bytes after the end, an unknown frame kind, a bad error body.
        """
        if self.framed is False:
            return [data] if data else []
        if self.ended:
            if data:
                raise FramingError("bytes after the end of a framed stream")
            return []
        buffer = self._buffer + data if self._buffer else data
        if self.framed is None:
            if len(buffer) < len(PREAMBLE) and PREAMBLE.startswith(buffer):
                self._buffer = buffer
                return []
            if not buffer.startswith(PREAMBLE):
                self.framed = False
                self._buffer = b""
                return [buffer] if buffer else []
            self.framed = True
            buffer = buffer[len(PREAMBLE) :]
        out: list[bytes] = []
        at, size = 0, len(buffer)
        while at < size:
            if self._remaining:
                take = min(self._remaining, size - at)
                out.append(buffer[at : at + take])
                self._remaining -= take
                at += take
                continue
            if self.ended:
                raise FramingError("bytes after the end of a framed stream")
            if size - at < _TAG.size:
                break
            kind, length = _TAG.unpack_from(buffer, at)
            if kind not in _KINDS:
                raise FramingError(f"unknown frame kind {kind}")
            if kind == DATA:
                at += _TAG.size
                self.chunks += 1
                self._remaining = length
                continue
            if size - at < _TAG.size + length:
                break  # an end or error frame is read whole
            payload = buffer[at + _TAG.size : at + _TAG.size + length]
            at += _TAG.size + length
            self.ended = True
            if kind == ERROR:
                try:
                    self.error = json.loads(payload)
                except ValueError as exc:
                    raise FramingError(
                        f"an error frame that is not JSON: {exc}"
                    ) from exc
        self._buffer = buffer[at:] if at < size else b""
        return out

    def close(self) -> list[bytes]:
        """The end of the body: what is left (a plain reply's first bytes).

        Raises:
            FramingError: a framed reply that ended before its end frame.
        """
        if self.framed is None:
            self.framed = False
            rest, self._buffer = self._buffer, b""
            return [rest] if rest else []
        if self.framed and not self.ended:
            raise FramingError(
                f"the framed stream ended after {self.chunks} chunk(s) without its end "
                "frame (the connection closed early)"
            )
        return []
