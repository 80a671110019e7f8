"""Sync connections that spread across the replicas behind one name.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports the standard library, httpx and httpcore (httpx's own transport);
never imports `compiler`.

Several replicas of a Chainlet can stand behind one name: a Kubernetes Service (one
address, which the node spreads per connection), or a name that resolves to several
addresses (a container network alias, a headless Service, DNS round robin). httpx
connects to the first address `getaddrinfo` answers, and the C library sorts them the
same way every time (RFC 6724), so every connection went to one replica; and a pooled
connection that is never idle for long is reused forever, so even the Service's spread
happened only once. `spreading_transport` fixes both for the sync client
(`transport.ChainletClient`); aiohttp, which the async client uses, already connects to
the resolved addresses in turn (its DNS cache's round robin) and tries the next one when
one fails.

- Each new connection resolves the name again and starts at the next of its addresses
  in turn (round robin per client), falling back to the others when one refuses or
  times out: a replica that is gone costs a connection attempt, not the request.
- A pooled connection is given up once it is `MAX_CONNECTION_AGE_SEC` old, when it is
  next idle: the connections are made again, against what the name resolves to then
  and spread anew, so replicas that appear get their share.
"""

from __future__ import annotations

import itertools
import socket
import time
import typing
from collections.abc import Callable, Iterable, Sequence

import httpcore
import httpx

__all__ = ["MAX_CONNECTION_AGE_SEC", "SpreadingBackend", "spreading_transport"]

#: How long a pooled connection is reused before the next request makes a new one.
MAX_CONNECTION_AGE_SEC = 30.0

#: `socket.getaddrinfo`'s signature, as far as it is used here.
Resolver = Callable[..., Sequence[tuple[typing.Any, ...]]]


class _AgingStream(httpcore.NetworkStream):
    """A connection's stream that reads as closed by the server once it is too old.

    httpcore drops an idle pooled connection whose socket is readable (the server
    closed it); an old one is dropped the same way, only when idle, never mid-request.
    """

    def __init__(self, stream: httpcore.NetworkStream, expires_at: float) -> None:
        self._stream = stream
        self._expires_at = expires_at

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _AgingStream(
            self._stream.start_tls(ssl_context, server_hostname, timeout),
            self._expires_at,
        )

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable" and time.monotonic() >= self._expires_at:
            return True
        return self._stream.get_extra_info(info)


class SpreadingBackend(httpcore.SyncBackend):
    """httpcore's sync network backend, connecting to a name's addresses in turn.

    Args:
        max_age: seconds a connection is reused (see the module docstring).
        resolve: `socket.getaddrinfo`, or a stand-in with its signature.
    """

    def __init__(
        self,
        max_age: float = MAX_CONNECTION_AGE_SEC,
        resolve: Resolver = socket.getaddrinfo,
    ) -> None:
        self._turn = itertools.count()
        self._max_age = max_age
        self._resolve = resolve

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses `host` resolves to, each once, in the resolver's order.

        Raises:
            httpcore.ConnectError: the name does not resolve (httpx's `ConnectError`,
                as when httpx resolves it itself).
        """
        try:
            found = self._resolve(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return list(dict.fromkeys(str(info[4][0]) for info in found)) or [host]

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to the next address of `host` in turn, else to each other one."""
        addresses = self.addresses(host, port)
        start = next(self._turn) % len(addresses)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in (*addresses[start:], *addresses[:start]):
            try:
                stream = super().connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _AgingStream(stream, time.monotonic() + self._max_age)
        assert failure is not None  # at least one address was tried
        raise failure


def spreading_transport(limits: httpx.Limits) -> httpx.HTTPTransport:
    """The transport of httpx (the same TLS and pool settings) over a `SpreadingBackend`."""
    transport = httpx.HTTPTransport(limits=limits)
    # httpx builds its connection pool without a way to name the network backend;
    # this is the pool it would build, with ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=SpreadingBackend(),
    )
    return transport
