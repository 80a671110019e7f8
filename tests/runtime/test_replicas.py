"""Sync connections spread across the replicas behind one name (`chainsc_runtime.replicas`).

Two real HTTP servers on one port of two loopback addresses (127.0.0.1 and 127.0.0.2)
stand for two replicas; a name resolves to both through a resolver given to the backend
(nothing else here can make one name resolve to two loopback addresses).
tests/test_containers.py runs the same through a container network's DNS.
"""

from __future__ import annotations

import concurrent.futures
import socket
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from chainsc_runtime import replicas

NAME = "replicas.test"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = str(self.connection.getsockname()[0]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True


def _free_port_on_both() -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        try:
            with socket.socket() as other:
                other.bind(("127.0.0.2", port))
        except OSError:
            continue
        return port
    raise AssertionError("no port free on both loopback addresses")


@pytest.fixture
def port() -> Iterator[int]:
    """Two replicas: a server on 127.0.0.1 and one on 127.0.0.2, same port."""
    number = _free_port_on_both()
    servers = [_Server((address, number), _Handler) for address in REPLICAS]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield number
    for server in servers:
        server.shutdown()
        server.server_close()


REPLICAS = ("127.0.0.1", "127.0.0.2")


def _resolver(*addresses: str) -> replicas.Resolver:
    """`getaddrinfo` for `NAME`: the addresses, always in this order (as libc sorts them)."""

    def resolve(host: str, port: int, **_: Any) -> Sequence[tuple[Any, ...]]:
        if host != NAME:
            return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in addresses
        ]

    return resolve


def _client(backend: replicas.SpreadingBackend) -> httpx.Client:
    transport = replicas.spreading_transport(httpx.Limits(max_connections=8))
    transport._pool._network_backend = backend
    return httpx.Client(transport=transport, timeout=5)


def _calls(client: httpx.Client, port: int, count: int, workers: int) -> Counter[str]:
    def call(_: int) -> str:
        response = client.get(f"http://{NAME}:{port}/")
        response.raise_for_status()
        return response.text

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return Counter(pool.map(call, range(count)))


def test_concurrent_calls_spread_across_the_addresses_of_a_name(port: int) -> None:
    backend = replicas.SpreadingBackend(resolve=_resolver(*REPLICAS))
    with _client(backend) as client:
        answered = _calls(client, port, count=64, workers=8)
    assert set(answered) == set(REPLICAS), answered
    assert min(answered.values()) >= 8, answered


def test_a_pooled_connection_is_reused_until_it_is_old(port: int) -> None:
    """Serial calls: one connection (one replica) while it is young, then a new one."""
    young = replicas.SpreadingBackend(resolve=_resolver(*REPLICAS))
    with _client(young) as client:
        assert len(_calls(client, port, count=10, workers=1)) == 1
    old = replicas.SpreadingBackend(max_age=0.0, resolve=_resolver(*REPLICAS))
    with _client(old) as client:
        answered = _calls(client, port, count=10, workers=1)
    assert answered == Counter(dict.fromkeys(REPLICAS, 5)), answered


def test_an_address_that_refuses_costs_no_call(port: int) -> None:
    """A replica that is gone: each connection its turn would go to goes to the next."""
    backend = replicas.SpreadingBackend(
        max_age=0.0, resolve=_resolver("127.0.0.3", "127.0.0.1")
    )
    with _client(backend) as client:
        answered = _calls(client, port, count=20, workers=4)
    assert answered == Counter({"127.0.0.1": 20})


def test_a_name_that_resolves_to_nothing_is_a_connect_error(port: int) -> None:
    def fail(host: str, port: int, **_: Any) -> Sequence[tuple[Any, ...]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    backend = replicas.SpreadingBackend(resolve=fail)
    with _client(backend) as client, pytest.raises(httpx.ConnectError):
        client.get(f"http://no-such-host.invalid:{port}/")
