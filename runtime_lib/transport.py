"""HTTP transport: the base of generated dependency clients, and service discovery.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports the standard library, aiohttp (async calls), httpx (sync calls),
pydantic and `.binary`/`.definitions`/`.errors`/`.frames`/`.queueing`/`.replicas`/`.retry`/
`.tracing`; never imports `compiler`.

Wire protocol (one call): `POST {url}/run_remote` to a chainsc server (or, under Truss's
server, to the URL its `dynamic_chainlet_config` gives, as it is: Truss's predict route or
Baseten's gateway with a `Host` header; see `find_services`), body = a JSON object of the
endpoint's arguments by name, reply = the JSON of the return value (or, for a streaming endpoint, the
raw chunks of a chunked reply). Errors: 422 with `{"detail": [pydantic field errors]}`
when the arguments do not validate; 500 with `{"error": RemoteErrorDetail}` when user
code raised. `Authorization: Api-Key <key>` is sent when an API key is set.
With `RPCOptions(use_binary=True)` the body is msgpack instead (`.binary`, Truss's
format, `Content-Type: application/octet-stream`), and so is the reply of both servers
(with that `Content-Type`); error replies stay JSON.

A call made while a request is handled (`.tracing.current()`) carries its trace context
and request id (`traceparent` with this hop's span id, `tracestate`, `x-request-id`, ...). A
stream asks for a framed reply (`.frames`): an error the endpoint raises after the first
chunk then arrives in band and is raised here as a 500 of a plain call is.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
import os
import re
import threading
import typing
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

import aiohttp
import httpx
import pydantic
import pydantic_core

from . import binary, frames, tracing
from .definitions import RPCOptions, ServiceDescriptorUrls
from .errors import (
    ChainletCallError,
    ChainletTimeoutError,
    ChainletUnavailableError,
    ChainsRuntimeError,
    GenericRemoteException,
    MissingDependencyError,
    RemoteErrorDetail,
    RemoteValidationError,
    remote_exception,
)
from .queueing import QueueStats
from .replicas import spreading_transport
from .retry import RETRY_STATUSES, Failure, RetryPolicy

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "DEFAULT_DYNAMIC_CONFIG_DIR",
    "DYNAMIC_CHAINLET_CONFIG_KEY",
    "DYNAMIC_CONFIG_DIR_ENV_VAR",
    "ENDPOINT_PATH",
    "RETRY_STATUSES",
    "SERVICES_ENV_VAR",
    "ChainletClient",
    "ServiceTarget",
    "dynamic_chainlet_config_path",
    "encode_arguments",
    "find_service",
    "find_services",
    "read_dynamic_chainlet_config",
    "service_env_var",
    "upper_snake",
]

_T = TypeVar("_T")
_LOG = logging.getLogger(__name__)

#: JSON map of Chainlet display name -> base URL.
SERVICES_ENV_VAR = "CHAINSC_SERVICES"
#: The directory of the platform's dynamic config (default: where Baseten mounts it).
DYNAMIC_CONFIG_DIR_ENV_VAR = "CHAINSC_DYNAMIC_CONFIG_DIR"
DEFAULT_DYNAMIC_CONFIG_DIR = "/etc/b10_dynamic_config"
#: The file in it that maps each Chainlet of the chain to its URLs (as Truss names it).
DYNAMIC_CHAINLET_CONFIG_KEY = "dynamic_chainlet_config"
#: The path of a chainsc server's endpoint, appended to its base URL.
ENDPOINT_PATH = "/run_remote"
_ENTRY_SHAPE = (
    '{"predict_url": URL} or '
    '{"internal_url": {"gateway_run_remote_url": URL, "hostname": HOST}}'
)
_ERROR_SNIPPET_CHARS = 500
#: Seconds an idle pooled connection is kept: below the 5 s after which uvicorn (the
#: generated `server.py`) closes an idle keep-alive connection, so that a request is
#: not sent on a connection the server is closing.
_KEEPALIVE_SEC = 4.0
#: What a failed async attempt raises: connection errors, broken replies, timeouts.
_ASYNC_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


def upper_snake(name: str) -> str:
    """`TextToNum` -> `TEXT_TO_NUM`, `my-chainlet` -> `MY_CHAINLET` (for variable names)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return re.sub(r"[^A-Za-z0-9]+", "_", spaced).strip("_").upper()


def service_env_var(name: str) -> str:
    """The variable that overrides one service's URL: `CHAINSC_SERVICE_URL_<NAME>`."""
    return f"CHAINSC_SERVICE_URL_{upper_snake(name)}"


@dataclass(frozen=True)
class ServiceTarget:
    """Where a client posts one Chainlet's endpoint, and where that was found.

    Attributes:
        url: the URL the request goes to, endpoint path included (a chainsc server's
            `<base>/run_remote`, a Truss server's `.../v1/models/model:predict`, or
            Baseten's gateway URL).
        host: the `Host` header to send (Baseten's in-cluster gateway routes by it),
            or None for the URL's own host.
        origin: where it was found, for messages: a variable name or a file path.
        from_platform: found in the platform's `dynamic_chainlet_config` (Baseten,
            Truss's server), whose gateways need the chain API key.
        urls: the entry it was made from (`of_urls`), both of its URLs kept: a
            `TrussHandle` chooses between them per call, as Truss's does.
    """

    url: str
    host: str | None = None
    origin: str = ""
    from_platform: bool = False
    urls: ServiceDescriptorUrls | None = field(default=None, compare=False)

    @classmethod
    def at_base_url(cls, base_url: str, origin: str = "") -> ServiceTarget:
        """A chainsc server (`server.py`) at `base_url`: posts to `<base_url>/run_remote`."""
        return cls(url=base_url.rstrip("/") + ENDPOINT_PATH, origin=origin)

    @classmethod
    def of_urls(
        cls,
        urls: ServiceDescriptorUrls,
        origin: str = "",
        *,
        from_platform: bool = False,
    ) -> ServiceTarget:
        """The target of a `dynamic_chainlet_config` entry or a service descriptor.

        `internal_url` wins over `predict_url`, as in Truss.
        """
        if urls.internal_url is not None:
            return cls(
                url=urls.internal_url.gateway_run_remote_url,
                host=urls.internal_url.hostname,
                origin=origin,
                from_platform=from_platform,
                urls=urls,
            )
        assert urls.predict_url  # the descriptor's validator requires one of the two
        return cls(
            url=urls.predict_url, origin=origin, from_platform=from_platform, urls=urls
        )

    def descriptor_urls(self) -> dict[str, object]:
        """`predict_url=` or `internal_url=` for a `DeployedServiceDescriptor`."""
        if self.host is not None:
            return {
                "internal_url": ServiceDescriptorUrls.InternalURL(
                    gateway_run_remote_url=self.url, hostname=self.host
                )
            }
        return {"predict_url": self.url}


def dynamic_chainlet_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The path of the `dynamic_chainlet_config` file.

    It is in `$CHAINSC_DYNAMIC_CONFIG_DIR`, else in `/etc/b10_dynamic_config` (where
    Baseten mounts it).
    """
    env = os.environ if environ is None else environ
    directory = env.get(DYNAMIC_CONFIG_DIR_ENV_VAR) or DEFAULT_DYNAMIC_CONFIG_DIR
    return Path(directory) / DYNAMIC_CHAINLET_CONFIG_KEY


def read_dynamic_chainlet_config(path: Path) -> dict[str, ServiceTarget] | None:
    """The services a `dynamic_chainlet_config` file names (display name -> target).

    The file is a JSON object of Chainlet display name -> `{"predict_url": ...}` or
    `{"internal_url": {"gateway_run_remote_url": ..., "hostname": ...}}`. Returns None
    when there is no such file. As in Truss, a JSON value that is not an object names
    no service.

    Raises:
        MissingDependencyError: the file is not JSON, or an entry has no usable URL.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MissingDependencyError(f"Cannot read `{path}`: {exc}") from exc
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MissingDependencyError(f"`{path}` is not valid JSON ({exc}).") from exc
    if not isinstance(data, dict):
        return {}
    targets: dict[str, ServiceTarget] = {}
    for name, entry in data.items():
        try:
            urls = ServiceDescriptorUrls.model_validate(entry)
        except pydantic.ValidationError as exc:
            raise MissingDependencyError(
                f"The entry for `{name}` in `{path}` has no usable URL (expected "
                f"{_ENTRY_SHAPE}):\n{exc}"
            ) from exc
        targets[name] = ServiceTarget.of_urls(urls, str(path), from_platform=True)
    return targets


def _services_map(env: Mapping[str, str]) -> dict[str, object] | None:
    """The JSON object in `CHAINSC_SERVICES`, or None when it is not set."""
    raw = env.get(SERVICES_ENV_VAR)
    if not raw:
        return None
    try:
        services = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise MissingDependencyError(
            f"`{SERVICES_ENV_VAR}` is not valid JSON ({exc}); expected an object of "
            'Chainlet name -> base URL, e.g. {"TextToNum": "http://127.0.0.1:8001"}.'
        ) from exc
    if not isinstance(services, dict):
        raise MissingDependencyError(
            f"`{SERVICES_ENV_VAR}` must be a JSON object of Chainlet name -> base URL."
        )
    return services


def find_services(
    names: Iterable[str], environ: Mapping[str, str] | None = None
) -> dict[str, ServiceTarget]:
    """Where each Chainlet of `names` (display names) is served.

    Looked up in this order, the first that names it wins:

    1. `CHAINSC_SERVICE_URL_<NAME_UPPER_SNAKE>`: a chainsc server's base URL;
    2. `CHAINSC_SERVICES`: a JSON object of display name -> base URL (`chainsc run`), or
       -> `{"predict_url": URL}`, a URL posted to as it is (an engine `chainsc run`
       cannot serve, `--service NAME=URL`);
    3. the `dynamic_chainlet_config` file (`dynamic_chainlet_config_path`): what Baseten
       mounts, and what a chain under Truss's server is given; its URLs are used as
       they are (Truss's predict route, or the gateway and its `Host`).

    The file is read only when a name is in neither variable.

    Raises:
        MissingDependencyError: a name is found nowhere (every place looked is named),
            or a place holds something unusable.
    """
    env = os.environ if environ is None else environ
    services = _services_map(env)
    found: dict[str, ServiceTarget] = {}
    wanted: list[str] = []
    for name in names:
        override = env.get(service_env_var(name))
        base = override or (services or {}).get(name)
        if isinstance(base, str) and base:
            origin = service_env_var(name) if override else SERVICES_ENV_VAR
            found[name] = ServiceTarget.at_base_url(base, origin)
        elif isinstance(base, dict):
            # `{"predict_url": URL}`: posted to as it is (`chainsc run --service`), as
            # the dynamic config's entries are, but no platform: no API key required.
            try:
                urls = ServiceDescriptorUrls.model_validate(base)
            except pydantic.ValidationError as exc:
                raise MissingDependencyError(
                    f"The entry for `{name}` in `{SERVICES_ENV_VAR}` has no usable URL "
                    f"(expected a base URL, or {_ENTRY_SHAPE}):\n{exc}"
                ) from exc
            found[name] = ServiceTarget.of_urls(urls, SERVICES_ENV_VAR)
        else:
            wanted.append(name)
    if not wanted:
        return found
    path = dynamic_chainlet_config_path(env)
    platform = read_dynamic_chainlet_config(path)
    missing = [name for name in wanted if platform is None or name not in platform]
    if missing:
        raise MissingDependencyError(
            _not_found_message(missing, services, path, platform)
        )
    assert platform is not None
    found.update((name, platform[name]) for name in wanted)
    return found


def find_service(name: str, environ: Mapping[str, str] | None = None) -> ServiceTarget:
    """Where the Chainlet with display name `name` is served (see `find_services`)."""
    return find_services([name], environ)[name]


def _not_found_message(
    missing: list[str],
    services: Mapping[str, object] | None,
    path: Path,
    platform: Mapping[str, ServiceTarget] | None,
) -> str:
    """Which Chainlets were not found, and what each place looked in holds."""

    def names(found: Iterable[str]) -> str:
        listed = ", ".join(f"`{name}`" for name in sorted(found))
        return f"it names {listed}" if listed else "it names no Chainlet"

    variables = ", ".join(f"`{service_env_var(name)}`" for name in missing)
    in_map = "not set" if services is None else f"no entry for them ({names(services)})"
    in_file = (
        "no such file" if platform is None else f"no entry for them ({names(platform)})"
    )
    return (
        f"No URL for the Chainlet{'s' if len(missing) > 1 else ''} "
        f"{', '.join(f'`{name}`' for name in missing)}. Looked in:\n"
        f"  - {variables}: not set\n"
        f"  - `{SERVICES_ENV_VAR}`: {in_map}\n"
        f"  - `{path}`: {in_file}\n"
        f"Set `{service_env_var(missing[0])}` to the base URL of a chainsc server, or "
        f"list them all in `{SERVICES_ENV_VAR}` (a JSON object of Chainlet name -> base "
        "URL; `chainsc run` sets it). Under Truss's server the file names them "
        "(Baseten mounts it when the Chainlets are deployed together as one chain); "
        f"`{DYNAMIC_CONFIG_DIR_ENV_VAR}` points to another directory than "
        f"`{DEFAULT_DYNAMIC_CONFIG_DIR}`."
    )


#: The headers of a stream request made outside any request (no trace context).
_STREAM_HEADERS: Mapping[str, str] = {frames.REQUEST_HEADER: frames.REQUEST_VALUE}


def _call_headers(*, stream: bool) -> Mapping[str, str] | None:
    """The headers of one call besides the client's own: trace context, stream framing."""
    context = tracing.current()
    if context is None:
        return _STREAM_HEADERS if stream else None
    headers = context.outgoing_headers()  # shared by the request's calls: copied
    if stream:
        return {**headers, frames.REQUEST_HEADER: frames.REQUEST_VALUE}
    return headers


def encode_arguments(arguments: Mapping[str, object]) -> bytes:
    """The JSON request body: pydantic models by alias, enums by value, bytes as UTF-8."""
    return pydantic_core.to_json(dict(arguments), by_alias=True)


class _Reply:
    """A final HTTP reply whose body has been read (from httpx or aiohttp)."""

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(
        self, status: int, reason: str, headers: Mapping[str, str], body: bytes
    ) -> None:
        self.status = status
        self.reason = reason
        #: Case-insensitive (httpx's `Headers`, aiohttp's `CIMultiDictProxy`).
        self.headers = headers
        self.body = body

    @classmethod
    def of(cls, response: httpx.Response) -> _Reply:
        """The reply of an httpx response whose body has been read."""
        return cls(
            response.status_code,
            response.reason_phrase,
            response.headers,
            response.content,
        )

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


async def _read_reply(response: aiohttp.ClientResponse) -> _Reply:
    """Read an aiohttp response's body: the reply (the connection goes back to the pool)."""
    body = await response.read()
    return _Reply(response.status, response.reason or "", response.headers, body)


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TimeoutException | asyncio.TimeoutError)


def _field_errors(body: object) -> list[dict[str, object]]:
    """The pydantic field errors of a 422 body (`{"detail": [...]}`), as dicts."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, list):
        return []
    return [item for item in detail if isinstance(item, dict)]


def _format_field_error(error: Mapping[str, object]) -> str:
    loc = error.get("loc")
    where = ".".join(str(part) for part in loc) if isinstance(loc, list) else "?"
    return f"  - {where or '(body)'}: {error.get('msg', 'invalid')}"


def _forget_pool(
    session: aiohttp.ClientSession, loop: asyncio.AbstractEventLoop
) -> None:
    """When a client is collected: mark its pool closed if its event loop has ended.

    A script that calls `asyncio.run(client.run_remote(...))` never closes the pool, and
    aiohttp would report it as "unclosed" through the ended loop. A pool of a live loop
    is left to aiohttp's own warning: that one is a real leak.
    """
    if not session.closed and loop.is_closed():
        _drop_pool(session)


def _drop_pool(session: aiohttp.ClientSession) -> None:
    """Mark closed a pool whose event loop has ended, without scheduling on that loop.

    Its connections died with the loop; their sockets close when collected.
    """
    connector = session.connector
    session.detach()
    if connector is not None:
        # `close()` would schedule on the ended loop; `_close()` only marks it closed then.
        connector._close()


class ChainletClient:
    """An HTTP client of one Chainlet; generated typed clients derive from it.

    A generated client defines the target's endpoint method (`ENDPOINT_NAME`) with the
    target's signature and passes the arguments by name to `call` / `acall` (which
    validate the reply against that method's return annotation, resolved when first
    needed, in the module that defines the client) or `stream` / `astream`. Each
    instance keeps two connection pools, created on first use: an `httpx.Client` for
    sync calls and an `aiohttp.ClientSession` for async ones (one per event loop in
    turn: a client outlives `asyncio.run`, but serves one running loop at a time). The
    requests in flight are limited to `options.concurrency_limit`, separately for sync
    and async calls, and each pool keeps up to that many connections alive. `close()` / `aclose()` release them.

    Calls are retried per `options` (see `RPCOptions`), by one `retry.RetryPolicy` for
    every way the client sends (sync, async, streams): up to `retries` attempts in all,
    on connection errors, timeouts and HTTP 502/503/504, with exponential backoff and
    jitter (`BACKOFF_BASE_SEC` doubled per attempt, capped at `BACKOFF_MAX_SEC`, at
    least `Retry-After`). No other status is retried, and a stream only before its
    reply started.

    Timeouts: a call's attempt gets `timeout_sec` in all. A stream's reply must start
    within `timeout_sec` (and the read timeout); after that, each wait for the next
    chunk may last the read timeout, however long the whole stream takes. The read
    timeout is `STREAMING_READ_TIMEOUT_SEC`: the target's
    `ChainletOptions.streaming_read_timeout`, which the generated client sets
    (`timeout_sec` when None).
    """

    #: Appended to a chainsc server's base URL (`url=`); the path of the endpoint.
    ENDPOINT_PATH: ClassVar[str] = ENDPOINT_PATH
    #: The endpoint method a generated client defines: `run_remote`, or `predict` for
    #: a client of a `ModelBase`. Its return annotation types the reply of `call`.
    ENDPOINT_NAME: ClassVar[str] = "run_remote"
    BACKOFF_BASE_SEC: ClassVar[float] = 0.25
    BACKOFF_MAX_SEC: ClassVar[float] = 8.0
    #: The longest wait between two chunks of a stream (None: `timeout_sec`).
    STREAMING_READ_TIMEOUT_SEC: ClassVar[float | None] = None
    #: `_output()`'s cache, one per generated class.
    _output_adapter: ClassVar[pydantic.TypeAdapter[Any] | None] = None

    def __init__(
        self,
        *,
        service: str,
        url: str | None = None,
        options: RPCOptions | None = None,
        api_key: str | None = None,
        target: ServiceTarget | None = None,
    ) -> None:
        """Create a client of a chainsc server (`url`) or of any `target`.

        Args:
            service: the target's display name (used in every error message).
            url: the base URL of a chainsc server (`server.py`), e.g.
                `http://127.0.0.1:8001`; requests go to `<url>/run_remote`.
            options: retries, timeout and concurrency; `RPCOptions()` if omitted.
                `use_binary` sends msgpack bodies (and gets msgpack replies).
            api_key: sent as `Authorization: Api-Key <key>` when set.
            target: instead of `url`: the URL to post to as it is, and the `Host`
                header to send, if any (what `find_service` answers: a Truss
                server's predict route, Baseten's gateway).

        Raises:
            TypeError: neither or both of `url` and `target` are given.
        """
        if target is None:
            if url is None:
                raise TypeError(f"The client of `{service}` needs `url` or `target`.")
            target = ServiceTarget(url=url.rstrip("/") + self.ENDPOINT_PATH)
        elif url is not None:
            raise TypeError(
                f"The client of `{service}` takes `url` or `target`, not both."
            )
        self._service = service
        self._host = target.host
        #: The URL every request goes to.
        self._target = target.url
        self._options = options or RPCOptions()
        self._attempts = max(1, self._options.retries)
        self._retry = RetryPolicy(
            attempts=self._attempts,
            backoff_base_sec=self.BACKOFF_BASE_SEC,
            backoff_max_sec=self.BACKOFF_MAX_SEC,
            name=f"`{service}` ({target.url})",
            log=_LOG,
        )
        self._limit = max(1, self._options.concurrency_limit)
        self._binary = self._options.use_binary
        self._encode_body: Callable[[Mapping[str, object]], bytes] = encode_arguments
        timeout = self._options.timeout_sec
        self._read_timeout = self.STREAMING_READ_TIMEOUT_SEC or timeout
        if self._binary:
            self._encode_body = binary.encode_arguments
            self._headers = {"Content-Type": binary.CONTENT_TYPE}
        else:
            self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Api-Key {api_key}"
        if target.host:
            # Baseten's in-cluster gateway routes by it, as Truss's clients send it.
            self._headers["Host"] = target.host
        self._sync_slots = threading.BoundedSemaphore(self._limit)
        self._async_slots = asyncio.Semaphore(self._limit)
        # How long calls wait for those slots (`.queueing`), under the names Truss's
        # clients give theirs: chains set `_log_interval_sec` on them.
        self._sync_semaphore_wrapper = QueueStats(service, self._limit, _LOG)
        self._async_semaphore_wrapper = QueueStats(service, self._limit, _LOG)
        self._lock = threading.Lock()
        self._sync_client: httpx.Client | None = None
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        # A stream reads with the stream read timeout, and its reply must start within
        # `timeout_sec` (bounded separately when that is the shorter one).
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_read=self._read_timeout
        )
        self._stream_start_sec = timeout if timeout < self._read_timeout else None

    def __repr__(self) -> str:
        host = f", host={self._host!r}" if self._host else ""
        return f"{type(self).__name__}(service={self._service!r}, url={self._target!r}{host})"

    # Lifecycle ##########################################################################

    def close(self) -> None:
        """Close the sync connection pool (a later call opens a new one)."""
        with self._lock:
            client, self._sync_client = self._sync_client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close both connection pools."""
        session, self._session = self._session, None
        if session is not None:
            if self._session_loop is not None and self._session_loop.is_closed():
                _drop_pool(session)  # made in an event loop that has ended
            else:
                await session.close()
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _sync(self) -> httpx.Client:
        client = self._sync_client
        if client is None:
            with self._lock:
                if self._sync_client is None:
                    # Connections spread across the replicas behind the name
                    # (`replicas.py`); the pool's limits are the transport's.
                    self._sync_client = httpx.Client(
                        headers=self._headers,
                        timeout=httpx.Timeout(self._options.timeout_sec),
                        transport=spreading_transport(
                            httpx.Limits(
                                max_connections=self._limit,
                                max_keepalive_connections=self._limit,
                                keepalive_expiry=_KEEPALIVE_SEC,
                            )
                        ),
                    )
                client = self._sync_client
        return client

    async def _async(self) -> aiohttp.ClientSession:
        """The async pool of the running event loop (created on first use in it).

        A pool belongs to one event loop. When that loop has ended (a script that calls
        `asyncio.run` once per request), the next loop gets a new pool and new slots;
        the old connections died with their loop (their sockets close when collected).
        Using one client from two live loops at once is refused.
        """
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and self._session_loop is not loop:
            if self._session_loop is not None and not self._session_loop.is_closed():
                raise ChainsRuntimeError(
                    f"The client of `{self._service}` is in use by another running event "
                    "loop: create one client per event loop."
                )
            _drop_pool(session)
            session = self._session = None
            self._async_slots = asyncio.Semaphore(self._limit)
        if session is None or session.closed:
            self._session_loop = loop
            session = self._session = aiohttp.ClientSession(
                headers=self._headers,
                connector=aiohttp.TCPConnector(
                    limit=self._limit,
                    limit_per_host=0,
                    keepalive_timeout=_KEEPALIVE_SEC,
                ),
                timeout=aiohttp.ClientTimeout(total=self._options.timeout_sec),
                trust_env=False,
            )
            weakref.finalize(self, _forget_pool, session, loop)
        return session

    # Calls: the public API of generated clients #######################################

    @overload
    def call(self, arguments: Mapping[str, object]) -> Any: ...

    @overload
    def call(
        self, arguments: Mapping[str, object], output: pydantic.TypeAdapter[_T]
    ) -> _T: ...

    def call(
        self,
        arguments: Mapping[str, object],
        output: pydantic.TypeAdapter[Any] | None = None,
    ) -> Any:
        """Call the endpoint with `arguments` by name (blocking); the validated reply.

        Args:
            arguments: the endpoint's arguments by name (encoded as the wire says).
            output: validates the reply; default: the return annotation of the
                client's endpoint method (`ENDPOINT_NAME`, see `_output`).
        """
        response = self._send_sync(self._encode_body(arguments), stream=False)
        self._release_sync()
        return self._result(
            _Reply.of(response), output if output is not None else self._output()
        )

    @overload
    async def acall(self, arguments: Mapping[str, object]) -> Any: ...

    @overload
    async def acall(
        self, arguments: Mapping[str, object], output: pydantic.TypeAdapter[_T]
    ) -> _T: ...

    async def acall(
        self,
        arguments: Mapping[str, object],
        output: pydantic.TypeAdapter[Any] | None = None,
    ) -> Any:
        """Call the endpoint with `arguments` by name; the validated reply (see `call`)."""
        reply = await self._send_async(self._encode_body(arguments))
        return self._result(reply, output if output is not None else self._output())

    @overload
    def stream(
        self, arguments: Mapping[str, object], item_type: type[bytes] = ...
    ) -> Iterator[bytes]: ...

    @overload
    def stream(
        self, arguments: Mapping[str, object], item_type: type[str]
    ) -> Iterator[str]: ...

    def stream(
        self,
        arguments: Mapping[str, object],
        item_type: type[str] | type[bytes] = bytes,
    ) -> Iterator[str] | Iterator[bytes]:
        """Call a streaming endpoint; yield its chunks as they arrive.

        `item_type=str` decodes UTF-8 incrementally (a character split across chunks is
        yielded whole). The request is sent on the first `next()`; the concurrency slot
        is held until the stream ends or the iterator is closed.
        """
        if item_type is str:
            return self._stream_text(arguments)
        return self._stream_bytes(arguments)

    @overload
    def astream(
        self, arguments: Mapping[str, object], item_type: type[bytes] = ...
    ) -> AsyncIterator[bytes]: ...

    @overload
    def astream(
        self, arguments: Mapping[str, object], item_type: type[str]
    ) -> AsyncIterator[str]: ...

    def astream(
        self,
        arguments: Mapping[str, object],
        item_type: type[str] | type[bytes] = bytes,
    ) -> AsyncIterator[str] | AsyncIterator[bytes]:
        """`stream` for async code: an async iterator of the chunks as they arrive."""
        if item_type is str:
            return self._astream_text(arguments)
        return self._astream_bytes(arguments)

    @classmethod
    def _output(cls) -> pydantic.TypeAdapter[Any]:
        """The validator of the reply: the endpoint method's return annotation.

        Resolved on first use, not when the class is defined, so the annotation may
        name types that its module defines further down (a string annotation, or
        `from __future__ import annotations`), exactly as in the user's own module.
        Cached per class.
        """
        adapter = cls.__dict__.get("_output_adapter")
        if adapter is None:
            method = getattr(cls, cls.ENDPOINT_NAME)
            try:
                hints = typing.get_type_hints(method, include_extras=True)
            except Exception as exc:  # NameError, or any error evaluating a hint
                raise ChainsRuntimeError(
                    f"The return annotation of `{cls.__qualname__}.{cls.ENDPOINT_NAME}` "
                    f"cannot be resolved in `{cls.__module__}`: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            adapter = pydantic.TypeAdapter(hints.get("return", Any))
            cls._output_adapter = adapter
        return typing.cast("pydantic.TypeAdapter[Any]", adapter)

    # Streams: the transport #############################################################

    def _stream_bytes(self, arguments: Mapping[str, object]) -> Iterator[bytes]:
        response = self._send_sync(self._encode_body(arguments), stream=True)
        try:
            try:
                if response.is_error:
                    response.read()
                    raise self._error(_Reply.of(response))
                # The reply started: from now on, wait up to the stream read timeout
                # for each chunk (httpx reads the timeouts of a request when its body
                # is read).
                response.request.extensions["timeout"] = httpx.Timeout(
                    self._options.timeout_sec, read=self._read_timeout
                ).as_dict()
                decoder = frames.FrameDecoder()
                for chunk in response.iter_bytes():
                    yield from decoder.feed(chunk)
                yield from decoder.close()
            except (httpx.TransportError, frames.FramingError) as exc:
                raise self._broken(exc) from exc
            if decoder.error is not None:
                raise self._stream_error(decoder)
        finally:
            response.close()
            self._release_sync()

    def _stream_text(self, arguments: Mapping[str, object]) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")()
        for chunk in self._stream_bytes(arguments):
            if text := decoder.decode(chunk):
                yield text
        if tail := decoder.decode(b"", final=True):
            yield tail

    async def _astream_bytes(
        self, arguments: Mapping[str, object]
    ) -> AsyncIterator[bytes]:
        response = await self._open_async_stream(self._encode_body(arguments))
        finished = False
        try:
            try:
                if response.status >= 400:
                    raise self._error(await _read_reply(response))
                # One item per HTTP chunk (or per part of one, as its bytes arrive).
                decoder = frames.FrameDecoder()
                async for chunk, _ in response.content.iter_chunks():
                    for piece in decoder.feed(chunk):
                        yield piece
                for piece in decoder.close():
                    yield piece
            except (*_ASYNC_ERRORS, frames.FramingError) as exc:
                raise self._broken(exc) from exc
            finished = True
            if decoder.error is not None:
                raise self._stream_error(decoder)
        finally:
            # A stream left before its end cannot go back to the pool.
            if finished:
                response.release()
            else:
                response.close()
            self._release_async()

    async def _astream_text(
        self, arguments: Mapping[str, object]
    ) -> AsyncIterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")()
        async for chunk in self._astream_bytes(arguments):
            if text := decoder.decode(chunk):
                yield text
        if tail := decoder.decode(b"", final=True):
            yield tail

    # Attempts: one send each, retried by `self._retry` ###############################

    def _send_sync(self, body: bytes, *, stream: bool) -> httpx.Response:
        """POST with retries. Returns a final response *holding a sync slot*.

        A stream's reply must start within `timeout_sec` and the stream read timeout.
        """
        client = self._sync()
        timeout = self._options.timeout_sec
        request = client.build_request(
            "POST",
            self._target,
            content=body,
            headers=_call_headers(stream=stream),
            timeout=(
                httpx.Timeout(timeout, read=min(timeout, self._read_timeout))
                if stream
                else httpx.USE_CLIENT_DEFAULT
            ),
        )

        def send_once() -> httpx.Response | Failure:
            self._acquire_sync()
            try:
                response = client.send(request, stream=stream)
            except httpx.TransportError as exc:
                self._release_sync()
                return Failure.of_error(exc)
            except BaseException:
                self._release_sync()
                raise
            failure = Failure.of_status(
                response.status_code, response.reason_phrase, response.headers
            )
            if failure is None:
                return response
            response.close()
            self._release_sync()
            return failure

        return self._retry.run(send_once, self._exhausted(stream=stream))

    async def _send_async(self, body: bytes) -> _Reply:
        """POST with retries; the final reply (the slot is released)."""
        session = await self._async()
        headers = _call_headers(stream=False)

        async def send_once() -> _Reply | Failure:
            await self._acquire_async()
            try:
                async with session.post(
                    self._target, data=body, headers=headers
                ) as response:
                    reply = await _read_reply(response)
            except _ASYNC_ERRORS as exc:
                return Failure.of_error(exc)
            finally:
                self._release_async()
            return Failure.of_status(reply.status, reply.reason, reply.headers) or reply

        return await self._retry.arun(send_once, self._exhausted(stream=False))

    async def _open_async_stream(self, body: bytes) -> aiohttp.ClientResponse:
        """POST with retries until a reply starts: it *holds an async slot*."""
        session = await self._async()
        headers = _call_headers(stream=True)

        async def send_once() -> aiohttp.ClientResponse | Failure:
            await self._acquire_async()
            try:
                request = session.post(
                    self._target,
                    data=body,
                    headers=headers,
                    timeout=self._stream_timeout,
                )
                if self._stream_start_sec is None:
                    response = await request
                else:
                    response = await asyncio.wait_for(request, self._stream_start_sec)
            except _ASYNC_ERRORS as exc:
                self._release_async()
                return Failure.of_error(exc)
            except BaseException:
                self._release_async()
                raise
            failure = Failure.of_status(
                response.status, response.reason or "", response.headers
            )
            if failure is None:
                return response
            response.close()
            self._release_async()
            return failure

        return await self._retry.arun(send_once, self._exhausted(stream=True))

    # Slots ##############################################################################

    def _acquire_sync(self) -> None:
        """Wait for a sync slot (`concurrency_limit`), the wait counted."""
        stats = self._sync_semaphore_wrapper
        since = stats.queued()
        try:
            self._sync_slots.acquire()
        except BaseException:
            stats.abandoned()
            raise
        stats.acquired(since)

    def _release_sync(self) -> None:
        self._sync_slots.release()
        self._sync_semaphore_wrapper.released()

    async def _acquire_async(self) -> None:
        """Wait for an async slot, the wait counted (a cancelled wait is no call)."""
        stats = self._async_semaphore_wrapper
        since = stats.queued()
        try:
            await self._async_slots.acquire()
        except BaseException:
            stats.abandoned()
            raise
        stats.acquired(since)

    def _release_async(self) -> None:
        self._async_slots.release()
        self._async_semaphore_wrapper.released()

    # Replies ############################################################################

    def _where(self) -> str:
        return f"Chainlet `{self._service}` ({self._target})"

    def _exhausted(self, *, stream: bool) -> Callable[[Failure], ChainletCallError]:
        """The error raised when every attempt of a call (or a stream's start) failed."""

        def exhausted(failure: Failure) -> ChainletCallError:
            tries = f"{self._attempts} attempt{'s' if self._attempts > 1 else ''}"
            if failure.error is None:
                return ChainletUnavailableError(
                    f"{self._where()} answered HTTP {failure.status} "
                    f"{failure.reason} on {tries}.",
                    service=self._service,
                    url=self._target,
                    status_code=failure.status,
                )
            if _is_timeout(failure.error):
                timeout = self._options.timeout_sec
                if stream:
                    timeout = min(timeout, self._read_timeout)
                return ChainletTimeoutError(
                    f"Timeout calling {self._where()}: no reply within {timeout:g} s "
                    f"({tries}).",
                    service=self._service,
                    url=self._target,
                )
            return ChainletUnavailableError(
                f"Cannot reach {self._where()} ({tries}): {failure}",
                service=self._service,
                url=self._target,
            )

        return exhausted

    def _broken(self, exc: BaseException) -> ChainletCallError:
        """A stream that failed after its reply started (never retried)."""
        if _is_timeout(exc):
            return ChainletTimeoutError(
                f"Timeout reading the stream of {self._where()}: no chunk within "
                f"{self._read_timeout:g} s (the stream read timeout).",
                service=self._service,
                url=self._target,
            )
        return ChainletUnavailableError(
            f"The stream of {self._where()} broke: {type(exc).__name__}: {exc}",
            service=self._service,
            url=self._target,
        )

    def _stream_error(self, decoder: frames.FrameDecoder) -> Exception:
        """The exception for a stream's error frame: as for the 500 of a plain call."""
        base = (
            f"Error calling dependency {self._where()}, in its stream after "
            f"{decoder.chunks} chunk{'' if decoder.chunks == 1 else 's'}."
        )
        body = decoder.error
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            try:
                return remote_exception(RemoteErrorDetail.model_validate(error), base)
            except pydantic.ValidationError:
                pass
        return ChainletCallError(
            f"{base} {json.dumps(body)[:_ERROR_SNIPPET_CHARS]}",
            service=self._service,
            url=self._target,
            status_code=200,
        )

    def _result(self, reply: _Reply, output: pydantic.TypeAdapter[_T]) -> _T:
        if reply.status >= 400:
            raise self._error(reply)
        try:
            if self._binary and binary.is_binary_content_type(
                reply.headers.get("content-type")
            ):
                return output.validate_python(binary.unpackb(reply.body))
            return output.validate_json(reply.body)
        except (pydantic.ValidationError, binary.BinaryDecodeError) as exc:
            raise ChainletCallError(
                f"{self._where()} replied with a value that does not match its return "
                f"type (are both packages built from the same chain?):\n{exc}",
                service=self._service,
                url=self._target,
                status_code=reply.status,
            ) from exc

    def _error(self, reply: _Reply) -> Exception:
        """The exception for an error reply."""
        status = reply.status
        try:
            body: object = json.loads(reply.body)
        except ValueError:
            body = None
        if status == 422:
            errors = _field_errors(body)
            lines = [_format_field_error(error) for error in errors] or [
                "  " + reply.text()[:_ERROR_SNIPPET_CHARS]
            ]
            return RemoteValidationError(
                f"{self._where()} rejected the arguments (HTTP 422):\n"
                + "\n".join(lines),
                service=self._service,
                url=self._target,
                errors=errors,
            )
        base = f"Error calling dependency {self._where()}, HTTP status={status}."
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            try:
                return remote_exception(RemoteErrorDetail.model_validate(error), base)
            except pydantic.ValidationError:
                pass
        if isinstance(error, str):
            return GenericRemoteException(f"{base} {error}")
        return ChainletCallError(
            f"{base} {reply.text()[:_ERROR_SNIPPET_CHARS]}".rstrip(),
            service=self._service,
            url=self._target,
            status_code=status,
        )
