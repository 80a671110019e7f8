"""Real HTTP servers on 127.0.0.1 for the runtime tests (stdlib only).

`ScriptedServer` answers each request with what a test's handler returns (status, JSON or
raw body, chunked stream, delay) and records requests and the most requests in flight.
`ModelServer` serves a `ChainletModel` over the runtime's wire protocol, the way the real
server will: 422 for invalid input, 500 with the error detail for user errors.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chainsc_runtime.dispatch import InvalidRequestError, error_detail
from chainsc_runtime.serving import ChainletModel


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    #: The caller's TCP port: one per connection.
    client_port: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    #: JSON-encoded unless bytes.
    body: object = None
    #: When set, sent chunked, one write per item; `gate` (if any) is awaited after the first.
    chunks: list[bytes] | None = None
    gate: threading.Event | None = None
    #: Before the reply starts.
    delay: float = 0.0
    #: Between two chunks.
    chunk_delay: float = 0.0
    #: Close the connection after the chunks, without the chunked body's end.
    cut: bool = False
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that time out close their sockets: not an error for these tests."""


class ScriptedServer:
    """A threaded HTTP/1.1 server whose replies come from `handler`."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        outer = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 5

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = Request(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    self.client_address[1],
                )
                with outer._lock:
                    outer.requests.append(request)
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    reply = outer.handler(request)
                    time.sleep(reply.delay)
                    self._send(reply)
                finally:
                    with outer._lock:
                        outer.in_flight -= 1

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.chunks is not None:
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for index, chunk in enumerate(reply.chunks):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                        if index == 0 and reply.gate is not None:
                            reply.gate.wait(5)
                        if index < len(reply.chunks) - 1:
                            time.sleep(reply.chunk_delay)
                    if reply.cut:
                        self.close_connection = True
                        return
                    self.wfile.write(b"0\r\n\r\n")
                    return
                if isinstance(reply.body, bytes):
                    data = reply.body
                else:
                    data = json.dumps(reply.body).encode()
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = _Server(("127.0.0.1", 0), _RequestHandler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class ModelServer(ScriptedServer):
    """Serves a loaded `ChainletModel` (`POST /run_remote`) through its dispatcher."""

    def __init__(self, model: ChainletModel) -> None:
        super().__init__(self._reply)
        self.model = model
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> ModelServer:
        self._loop_thread.start()
        super().__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        super().__exit__(*exc_info)
        asyncio.run_coroutine_threadsafe(self.model.aclose(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop_thread.join(5)
        self._loop.close()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def _reply(self, request: Request) -> Reply:
        try:
            result = self._run(self.model.dispatcher.ahandle(request.body))
            if isinstance(result, AsyncIterator):
                return Reply(chunks=list(self._drain(result)))
        except InvalidRequestError as exc:
            return Reply(422, exc.body())
        except Exception as exc:
            return Reply(500, error_detail(exc))
        return Reply(200, result)

    def _drain(self, chunks: AsyncIterator[Any]) -> Iterator[bytes]:
        async def collect() -> list[Any]:
            return [chunk async for chunk in chunks]

        for chunk in self._run(collect()):
            yield chunk.encode() if isinstance(chunk, str) else chunk
