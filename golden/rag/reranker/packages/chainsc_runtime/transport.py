"""HTTP transport: the base of generated dependency clients, and service discovery.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports the standard library, httpx, pydantic and `.definitions`/`.errors`;
never imports `compiler`.

Wire protocol (one call): `POST {url}/run_remote`, body = a JSON object of the endpoint's
arguments by name, reply = the JSON of the return value (or, for a streaming endpoint, the
raw chunks of a chunked reply). Errors: 422 with `{"detail": [pydantic field errors]}`
when the arguments do not validate; 500 with `{"error": RemoteErrorDetail}` when user
code raised. `Authorization: Api-Key <key>` is sent when an API key is set.
With `RPCOptions(use_binary=True)` the body is msgpack instead (`.binary`;
`Content-Type` and `Accept: application/x-msgpack`), and so is a reply whose
`Content-Type` says so; error replies stay JSON.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, ClassVar, TypeVar, overload

import httpx
import pydantic
import pydantic_core

from . import binary
from .definitions import RPCOptions
from .errors import (
    ChainletCallError,
    ChainletTimeoutError,
    ChainletUnavailableError,
    GenericRemoteException,
    MissingDependencyError,
    RemoteErrorDetail,
    RemoteValidationError,
    remote_exception,
)

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "RETRY_STATUSES",
    "SERVICES_ENV_VAR",
    "ChainletClient",
    "encode_arguments",
    "service_env_var",
    "service_url",
    "upper_snake",
]

_T = TypeVar("_T")

#: JSON map of Chainlet display name -> base URL.
SERVICES_ENV_VAR = "CHAINSC_SERVICES"
#: HTTP statuses that mean "try again": the service is (re)starting or overloaded.
RETRY_STATUSES = frozenset({502, 503, 504})
_ERROR_SNIPPET_CHARS = 500


def upper_snake(name: str) -> str:
    """`TextToNum` -> `TEXT_TO_NUM`, `my-chainlet` -> `MY_CHAINLET` (for variable names)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return re.sub(r"[^A-Za-z0-9]+", "_", spaced).strip("_").upper()


def service_env_var(name: str) -> str:
    """The variable that overrides one service's URL: `CHAINSC_SERVICE_URL_<NAME>`."""
    return f"CHAINSC_SERVICE_URL_{upper_snake(name)}"


def service_url(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The base URL of the Chainlet with display name `name`, from the environment.

    `CHAINSC_SERVICE_URL_<NAME_UPPER_SNAKE>` wins over the entry in `CHAINSC_SERVICES`
    (a JSON object of display name -> base URL).

    Raises:
        MissingDependencyError: neither is set, or `CHAINSC_SERVICES` is not a JSON object.
    """
    env = os.environ if environ is None else environ
    override = env.get(service_env_var(name))
    if override:
        return override.rstrip("/")
    raw = env.get(SERVICES_ENV_VAR)
    if raw:
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
        url = services.get(name)
        if isinstance(url, str) and url:
            return url.rstrip("/")
    raise MissingDependencyError(
        f"No URL for the Chainlet `{name}`: set `{service_env_var(name)}` to its base URL "
        f'or add "{name}" to the JSON object in `{SERVICES_ENV_VAR}`.'
    )


def encode_arguments(arguments: Mapping[str, object]) -> bytes:
    """The JSON request body: pydantic models by alias, enums by value, bytes as UTF-8."""
    return pydantic_core.to_json(dict(arguments), by_alias=True)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


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


class ChainletClient:
    """An HTTP client of one Chainlet; generated typed clients derive from it.

    A generated client adds the target's `run_remote` with the target's signature and
    calls `_call` / `_acall` / `_stream` / `_astream` with the arguments by name. Each
    instance keeps one pooled `httpx.Client` and one `httpx.AsyncClient` (created on
    first use; the async one belongs to the event loop that first uses it), and limits
    the requests in flight to `options.concurrency_limit`, separately for sync and async
    calls. `close()` / `aclose()` release the connections.

    Calls are retried per `options` (see `RPCOptions`): up to `retries` attempts in all,
    each with `timeout_sec`, on connection errors, timeouts and HTTP 502/503/504, with
    exponential backoff and jitter (`BACKOFF_BASE_SEC` doubled per attempt, capped at
    `BACKOFF_MAX_SEC`, at least `Retry-After`). No other status is retried.
    """

    #: Appended to the base URL; the path of the endpoint.
    ENDPOINT_PATH: ClassVar[str] = "/run_remote"
    BACKOFF_BASE_SEC: ClassVar[float] = 0.25
    BACKOFF_MAX_SEC: ClassVar[float] = 8.0

    def __init__(
        self,
        *,
        service: str,
        url: str,
        options: RPCOptions | None = None,
        api_key: str | None = None,
    ) -> None:
        """Create a client.

        Args:
            service: the target's display name (used in every error message).
            url: the target's base URL, e.g. `http://127.0.0.1:8001`.
            options: retries, timeout and concurrency; `RPCOptions()` if omitted.
                `use_binary` sends msgpack bodies and asks for msgpack replies.
            api_key: sent as `Authorization: Api-Key <key>` when set.
        """
        self._service = service
        self._url = url.rstrip("/")
        self._target = self._url + self.ENDPOINT_PATH
        self._options = options or RPCOptions()
        self._attempts = max(1, self._options.retries)
        self._limit = max(1, self._options.concurrency_limit)
        self._binary = self._options.use_binary
        self._encode_body: Callable[[Mapping[str, object]], bytes] = encode_arguments
        if self._binary:
            self._encode_body = binary.encode_arguments
            self._headers = {
                "Content-Type": binary.MSGPACK_CONTENT_TYPE,
                "Accept": binary.MSGPACK_CONTENT_TYPE,
            }
        else:
            self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Api-Key {api_key}"
        self._sync_slots = threading.BoundedSemaphore(self._limit)
        self._async_slots = asyncio.Semaphore(self._limit)
        self._lock = threading.Lock()
        self._sync_client: httpx.Client | None = None
        self._async_client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(service={self._service!r}, url={self._url!r})"

    # Lifecycle ##########################################################################

    def close(self) -> None:
        """Close the sync connection pool (a later call opens a new one)."""
        with self._lock:
            client, self._sync_client = self._sync_client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close both connection pools."""
        client, self._async_client = self._async_client, None
        if client is not None:
            await client.aclose()
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
                    self._sync_client = httpx.Client(
                        headers=self._headers,
                        timeout=self._timeout(),
                        limits=self._limits(),
                    )
                client = self._sync_client
        return client

    def _async(self) -> httpx.AsyncClient:
        if self._async_client is None:
            self._async_client = httpx.AsyncClient(
                headers=self._headers, timeout=self._timeout(), limits=self._limits()
            )
        return self._async_client

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self._options.timeout_sec)

    def _limits(self) -> httpx.Limits:
        return httpx.Limits(
            max_connections=self._limit, max_keepalive_connections=self._limit
        )

    # Calls ##############################################################################

    def _call(
        self, arguments: Mapping[str, object], output: pydantic.TypeAdapter[_T]
    ) -> _T:
        """Call the endpoint and validate the reply with `output` (blocking)."""
        response = self._send_sync(self._encode_body(arguments), stream=False)
        self._sync_slots.release()
        return self._result(response, output)

    async def _acall(
        self, arguments: Mapping[str, object], output: pydantic.TypeAdapter[_T]
    ) -> _T:
        """Call the endpoint and validate the reply with `output`."""
        response = await self._send_async(self._encode_body(arguments), stream=False)
        self._async_slots.release()
        return self._result(response, output)

    @overload
    def _stream(
        self, arguments: Mapping[str, object], item_type: type[bytes] = ...
    ) -> Iterator[bytes]: ...

    @overload
    def _stream(
        self, arguments: Mapping[str, object], item_type: type[str]
    ) -> Iterator[str]: ...

    def _stream(
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

    def _stream_bytes(self, arguments: Mapping[str, object]) -> Iterator[bytes]:
        response = self._send_sync(self._encode_body(arguments), stream=True)
        try:
            if response.is_error:
                response.read()
                raise self._error(response)
            try:
                yield from response.iter_bytes()
            except httpx.TransportError as exc:
                raise self._broken(exc) from exc
        finally:
            response.close()
            self._sync_slots.release()

    def _stream_text(self, arguments: Mapping[str, object]) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")()
        for chunk in self._stream_bytes(arguments):
            if text := decoder.decode(chunk):
                yield text
        if tail := decoder.decode(b"", final=True):
            yield tail

    @overload
    def _astream(
        self, arguments: Mapping[str, object], item_type: type[bytes] = ...
    ) -> AsyncIterator[bytes]: ...

    @overload
    def _astream(
        self, arguments: Mapping[str, object], item_type: type[str]
    ) -> AsyncIterator[str]: ...

    def _astream(
        self,
        arguments: Mapping[str, object],
        item_type: type[str] | type[bytes] = bytes,
    ) -> AsyncIterator[str] | AsyncIterator[bytes]:
        """Async `_stream`: an async iterator of the chunks as they arrive."""
        if item_type is str:
            return self._astream_text(arguments)
        return self._astream_bytes(arguments)

    async def _astream_bytes(
        self, arguments: Mapping[str, object]
    ) -> AsyncIterator[bytes]:
        response = await self._send_async(self._encode_body(arguments), stream=True)
        try:
            if response.is_error:
                await response.aread()
                raise self._error(response)
            try:
                async for chunk in response.aiter_bytes():
                    yield chunk
            except httpx.TransportError as exc:
                raise self._broken(exc) from exc
        finally:
            await response.aclose()
            self._async_slots.release()

    async def _astream_text(
        self, arguments: Mapping[str, object]
    ) -> AsyncIterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")()
        async for chunk in self._astream_bytes(arguments):
            if text := decoder.decode(chunk):
                yield text
        if tail := decoder.decode(b"", final=True):
            yield tail

    # Attempts ###########################################################################

    def _send_sync(self, body: bytes, *, stream: bool) -> httpx.Response:
        """POST with retries. Returns a final response *holding a sync slot*."""
        client = self._sync()
        request = client.build_request("POST", self._target, content=body)
        failure: httpx.TransportError | httpx.Response | None = None
        for attempt in range(1, self._attempts + 1):
            if failure is not None:
                time.sleep(self._backoff(attempt - 1, failure))
            self._sync_slots.acquire()
            try:
                response = client.send(request, stream=stream)
            except httpx.TransportError as exc:
                self._sync_slots.release()
                failure = exc
                continue
            except BaseException:
                self._sync_slots.release()
                raise
            if response.status_code not in RETRY_STATUSES:
                return response
            response.close()
            self._sync_slots.release()
            failure = response
        assert failure is not None  # at least one attempt ran
        raise self._exhausted(failure) from (
            failure if isinstance(failure, Exception) else None
        )

    async def _send_async(self, body: bytes, *, stream: bool) -> httpx.Response:
        """Async `_send_sync`. Returns a final response *holding an async slot*."""
        client = self._async()
        request = client.build_request("POST", self._target, content=body)
        failure: httpx.TransportError | httpx.Response | None = None
        for attempt in range(1, self._attempts + 1):
            if failure is not None:
                await asyncio.sleep(self._backoff(attempt - 1, failure))
            await self._async_slots.acquire()
            try:
                response = await client.send(request, stream=stream)
            except httpx.TransportError as exc:
                self._async_slots.release()
                failure = exc
                continue
            except BaseException:
                self._async_slots.release()
                raise
            if response.status_code not in RETRY_STATUSES:
                return response
            await response.aclose()
            self._async_slots.release()
            failure = response
        assert failure is not None  # at least one attempt ran
        raise self._exhausted(failure) from (
            failure if isinstance(failure, Exception) else None
        )

    def _backoff(
        self, attempt: int, failure: httpx.TransportError | httpx.Response
    ) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.BACKOFF_MAX_SEC, self.BACKOFF_BASE_SEC * 2 ** (attempt - 1))
        delay = random.uniform(ceiling / 2, ceiling)
        if isinstance(failure, httpx.Response):
            retry_after = _retry_after(failure)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.BACKOFF_MAX_SEC))
        logging.getLogger(__name__).info(
            "Retrying `%s` (%s) in %.2f s after attempt %d of %d failed: %s",
            self._service,
            self._target,
            delay,
            attempt,
            self._attempts,
            (
                f"HTTP {failure.status_code}"
                if isinstance(failure, httpx.Response)
                else repr(failure)
            ),
        )
        return delay

    # Replies ############################################################################

    def _where(self) -> str:
        return f"Chainlet `{self._service}` ({self._target})"

    def _exhausted(
        self, failure: httpx.TransportError | httpx.Response
    ) -> ChainletCallError:
        tries = f"{self._attempts} attempt{'s' if self._attempts > 1 else ''}"
        if isinstance(failure, httpx.Response):
            return ChainletUnavailableError(
                f"{self._where()} answered HTTP {failure.status_code} "
                f"{failure.reason_phrase} on {tries}.",
                service=self._service,
                url=self._target,
                status_code=failure.status_code,
            )
        if isinstance(failure, httpx.TimeoutException):
            return ChainletTimeoutError(
                f"Timeout calling {self._where()}: no reply within "
                f"{self._options.timeout_sec} s ({tries}).",
                service=self._service,
                url=self._target,
            )
        return ChainletUnavailableError(
            f"Cannot reach {self._where()} ({tries}): {type(failure).__name__}: {failure}",
            service=self._service,
            url=self._target,
        )

    def _broken(self, exc: httpx.TransportError) -> ChainletCallError:
        """A stream that failed after it started (never retried)."""
        if isinstance(exc, httpx.TimeoutException):
            return ChainletTimeoutError(
                f"Timeout reading the stream of {self._where()}: no chunk within "
                f"{self._options.timeout_sec} s.",
                service=self._service,
                url=self._target,
            )
        return ChainletUnavailableError(
            f"The stream of {self._where()} broke: {type(exc).__name__}: {exc}",
            service=self._service,
            url=self._target,
        )

    def _result(self, response: httpx.Response, output: pydantic.TypeAdapter[_T]) -> _T:
        if response.is_error:
            raise self._error(response)
        try:
            if self._binary and response.headers.get("content-type", "").startswith(
                binary.MSGPACK_CONTENT_TYPE
            ):
                return output.validate_python(binary.unpackb(response.content))
            return output.validate_json(response.content)
        except (pydantic.ValidationError, binary.BinaryDecodeError) as exc:
            raise ChainletCallError(
                f"{self._where()} replied with a value that does not match its return "
                f"type (are both packages built from the same chain?):\n{exc}",
                service=self._service,
                url=self._target,
                status_code=response.status_code,
            ) from exc

    def _error(self, response: httpx.Response) -> Exception:
        """The exception for an error reply (its body has been read)."""
        status = response.status_code
        try:
            body: object = response.json()
        except ValueError:
            body = None
        if status == 422:
            errors = _field_errors(body)
            lines = [_format_field_error(error) for error in errors] or [
                "  " + response.text[:_ERROR_SNIPPET_CHARS]
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
            f"{base} {response.text[:_ERROR_SNIPPET_CHARS]}".rstrip(),
            service=self._service,
            url=self._target,
            status_code=status,
        )
