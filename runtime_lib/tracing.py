"""The trace context and request id of a request, forwarded on every hop and logged.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports only the standard library; never imports `compiler`.

A server (`app.py`, or `serving.ChainletModel` under Truss's server) makes the
`RequestContext` of each request to its endpoint current while the endpoint runs
(`activate_asgi`: read from the headers on first use; `activate`); every dependency
call the endpoint makes (`transport.ChainletClient`, in that task or in a thread that
copied its context) sends `outgoing_headers()`:

- `traceparent` (W3C Trace Context, version `00`): the trace id received, this hop's
  own span id (`span_id`, new for each request a server handles: its span) as the
  parent-id, and the flags received. A request without a valid `traceparent` starts a
  trace (a random trace id, sampled flag set); an invalid one is ignored, and its
  `tracestate` with it, as W3C says. The span ids chain hop to hop: a dependency's
  `parent_id` is its caller's `span_id`, and each server's request line logs both.
- `tracestate`: forwarded as received.
- the request id: `x-request-id` received, else `x-baseten-request-id` (what Baseten's
  gateway and Truss Chains send), else a new one (a random 32-digit hex): the
  entrypoint of a request that came without one makes it. It is sent as both headers,
  so Truss's server, which logs `x-baseten-request-id`, names it too.
- `x-baseten-chain-request-id`: forwarded when received (Truss Chains forwards it).

Truss Chains forwards `traceparent` as it received it (the same span id on every hop)
and no `tracestate`; chainsc makes a span id per hop, as W3C's "parent-id" is the
caller's span. The ids are made with `random` (as OpenTelemetry makes them), and the
headers of a request's calls are made once, on its first call.

`LogContextFilter` adds `[request_id=... trace_id=...]` to every log record made while
a request is current (the server's log lines, the user's own, the error lines).
"""

from __future__ import annotations

import contextvars
import logging
import random
import re
import threading
from collections.abc import Callable, Iterable
from typing import TypeAlias

__all__ = [
    "BASETEN_REQUEST_ID_HEADER",
    "CHAIN_REQUEST_ID_HEADER",
    "REQUEST_ID_HEADER",
    "TRACEPARENT_HEADER",
    "TRACESTATE_HEADER",
    "LogContextFilter",
    "RequestContext",
    "Token",
    "activate",
    "activate_asgi",
    "current",
    "deactivate",
]

TRACEPARENT_HEADER = "traceparent"
TRACESTATE_HEADER = "tracestate"
#: The request id a caller sends (and chainsc forwards).
REQUEST_ID_HEADER = "x-request-id"
#: The request id Baseten's gateway sets and Truss Chains forwards (Truss's server logs it).
BASETEN_REQUEST_ID_HEADER = "x-baseten-request-id"
#: The id of a whole chain request on Baseten (forwarded when received, as Truss does).
CHAIN_REQUEST_ID_HEADER = "x-baseten-chain-request-id"

#: version-traceid-parentid-flags, lowercase hex; later versions may append fields.
_TRACEPARENT = re.compile(
    r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?"
)
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
#: A request id received is kept when it is printable ASCII without spaces, up to 200.
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,200}")
#: Flags of a trace started here: sampled, so Truss's tracer downstream records it.
_NEW_TRACE_FLAGS = "01"
#: The headers `from_asgi` reads, as ASGI spells them (lowercase bytes).
_ASGI_NAMES = frozenset(
    name.encode()
    for name in (
        TRACEPARENT_HEADER,
        TRACESTATE_HEADER,
        REQUEST_ID_HEADER,
        BASETEN_REQUEST_ID_HEADER,
        CHAIN_REQUEST_ID_HEADER,
    )
)


def _new_span_id() -> str:
    """16 hex digits, never all zeros (as OpenTelemetry's ids: `random`, no syscall)."""
    return f"{random.getrandbits(64) or 1:016x}"


def _new_id() -> str:
    """32 hex digits, never all zeros: a trace id, or a request id made here."""
    return f"{random.getrandbits(128) or 1:032x}"


class RequestContext:
    """What a request carries across hops: its request id and W3C trace context.

    A plain class with slots: one is made for every request that needs it, so it is
    kept cheap (the log prefix and the outgoing headers are made on first use).

    Attributes:
        request_id: the request id (received, or made at the entrypoint).
        trace_id: 32 lowercase hex digits (received, or a new trace).
        span_id: this hop's span (16 hex digits, new): the parent-id of its calls.
        parent_id: the span id the caller sent (16 hex digits); None for a trace
            started here.
        flags: the trace flags (2 hex digits).
        tracestate: the `tracestate` received (several headers joined by commas).
        chain_request_id: `x-baseten-chain-request-id`, when received.
    """

    __slots__ = (
        "_headers",
        "_log_prefix",
        "chain_request_id",
        "flags",
        "parent_id",
        "request_id",
        "span_id",
        "trace_id",
        "tracestate",
    )

    def __init__(
        self,
        request_id: str,
        trace_id: str,
        *,
        parent_id: str | None = None,
        flags: str = _NEW_TRACE_FLAGS,
        tracestate: str | None = None,
        chain_request_id: str | None = None,
    ) -> None:
        self.request_id = request_id
        self.trace_id = trace_id
        self.parent_id = parent_id
        self.flags = flags
        self.tracestate = tracestate
        self.chain_request_id = chain_request_id
        self.span_id = _new_span_id()
        self._log_prefix: str | None = None
        self._headers: dict[str, str] | None = None

    def __repr__(self) -> str:
        return (
            f"RequestContext(request_id={self.request_id!r}, "
            f"trace_id={self.trace_id!r}, span_id={self.span_id!r}, "
            f"parent_id={self.parent_id!r})"
        )

    @property
    def log_prefix(self) -> str:
        """`[request_id=... trace_id=...] `: what `LogContextFilter` adds."""
        if self._log_prefix is None:
            self._log_prefix = (
                f"[request_id={self.request_id} trace_id={self.trace_id}] "
            )
        return self._log_prefix

    @classmethod
    def from_headers(cls, get: Callable[[str], str | None]) -> RequestContext:
        """The context of a request, from its headers (`get(lowercase name)`).

        Missing or invalid parts are made here: a request id, a new trace.
        """
        request_id = _valid_request_id(get(REQUEST_ID_HEADER)) or _valid_request_id(
            get(BASETEN_REQUEST_ID_HEADER)
        )
        parsed = _parse_traceparent(get(TRACEPARENT_HEADER))
        chain_request_id = _valid_request_id(get(CHAIN_REQUEST_ID_HEADER))
        if parsed is None:
            return cls(
                request_id=request_id or _new_id(),
                trace_id=_new_id(),
                chain_request_id=chain_request_id,
            )
        trace_id, parent_id, flags = parsed
        return cls(
            request_id=request_id or _new_id(),
            trace_id=trace_id,
            parent_id=parent_id,
            flags=flags,
            tracestate=(get(TRACESTATE_HEADER) or "").strip() or None,
            chain_request_id=chain_request_id,
        )

    @classmethod
    def from_asgi(cls, headers: Iterable[tuple[bytes, bytes]]) -> RequestContext:
        """The context of an ASGI request (`scope["headers"]`: lowercase names)."""
        found: dict[str, str] = {}
        for name, value in headers:
            if name in _ASGI_NAMES:
                key = name.decode("latin-1")
                text = value.decode("latin-1")
                # Repeated `tracestate` headers are one list (RFC 9110 field lines).
                found[key] = f"{found[key]},{text}" if key in found else text
        if not found:  # the common case at an entrypoint: a new trace, a new id
            return cls(request_id=_new_id(), trace_id=_new_id())
        return cls.from_headers(found.get)

    def traceparent(self) -> str:
        """The `traceparent` of a call from this request: this hop's span as parent."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def outgoing_headers(self) -> dict[str, str]:
        """The headers of the dependency calls made while handling this request.

        The same dict for every call (made on the first): do not change it.
        """
        headers = self._headers
        if headers is None:
            headers = {
                TRACEPARENT_HEADER: self.traceparent(),
                REQUEST_ID_HEADER: self.request_id,
                BASETEN_REQUEST_ID_HEADER: self.request_id,
            }
            if self.tracestate is not None:
                headers[TRACESTATE_HEADER] = self.tracestate
            if self.chain_request_id is not None:
                headers[CHAIN_REQUEST_ID_HEADER] = self.chain_request_id
            self._headers = headers
        return headers

    def describe(self) -> str:
        """`request_id=... trace_id=... span_id=... parent_id=...`, for a log line."""
        return (
            f"request_id={self.request_id} trace_id={self.trace_id} "
            f"span_id={self.span_id} parent_id={self.parent_id or '-'}"
        )


def _valid_request_id(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value if _REQUEST_ID.fullmatch(value) else None


def _parse_traceparent(value: str | None) -> tuple[str, str, str] | None:
    """(trace id, parent id, flags) of a valid `traceparent`, else None (W3C rules)."""
    if not value:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_id, parent_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    return trace_id, parent_id, flags


class _Incoming:
    """The headers of a request, read into its `RequestContext` on first use.

    Most requests never need it (a Chainlet that calls nothing and logs nothing at
    info level), so a server makes this instead: a reference to the headers it has.
    """

    __slots__ = ("context", "headers")

    def __init__(self, headers: Iterable[tuple[bytes, bytes]]) -> None:
        self.headers = headers
        self.context: RequestContext | None = None

    def read(self) -> RequestContext:
        context = self.context
        if context is None:
            with _READING:  # threads of one request share the ids made for it
                context = self.context
                if context is None:
                    context = self.context = RequestContext.from_asgi(self.headers)
        return context


_READING = threading.Lock()
_Current: TypeAlias = "RequestContext | _Incoming | None"
_CURRENT: contextvars.ContextVar[_Current] = contextvars.ContextVar(
    "chainsc_request_context", default=None
)
#: What `activate` gives back, for `deactivate`.
Token: TypeAlias = "contextvars.Token[_Current]"


def current() -> RequestContext | None:
    """The context of the request being handled here, if any."""
    value = _CURRENT.get()
    if value is None or type(value) is RequestContext:
        return value
    assert isinstance(value, _Incoming)
    return value.read()


def activate(context: RequestContext | None) -> Token:
    """Make `context` current (in this task or thread); `deactivate` the token after."""
    return _CURRENT.set(context)


def activate_asgi(headers: Iterable[tuple[bytes, bytes]]) -> Token:
    """Make current the context of an ASGI request (`scope["headers"]`), read lazily.

    The headers are read (and missing ids made) when the context is first needed: a
    dependency call, a log line. Keep `headers` unchanged until `deactivate`.
    """
    return _CURRENT.set(_Incoming(headers))


def deactivate(token: Token) -> None:
    """Restore what was current before `activate`."""
    _CURRENT.reset(token)


class LogContextFilter(logging.Filter):
    """Sets `record.chainsc_request`: the current request's log prefix, or "".

    Attach it to a handler whose format spells `%(chainsc_request)s`.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the prefix; never drops a record."""
        context = current()
        record.chainsc_request = context.log_prefix if context is not None else ""
        return True
