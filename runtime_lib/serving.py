"""Serving adapter: the Truss model contract around one Chainlet.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). `model/model.py` subclasses `ChainletModel`, sets `chainlet_cls`, `endpoint`,
`dependencies`, `context_param` and `secret_keys`, and defines `predict(inputs, request)`
returning `self.truss_predict_sync(inputs, request)` (sync endpoint) or `async
predict(inputs, request)` returning `await self.truss_predict_async(inputs, request)`
(async endpoint), or, for a websocket endpoint, `async websocket(websocket)` awaiting
`self.truss_websocket(websocket)` and no `predict` (Truss's server refuses a model with
both). Truss calls a coroutine function `predict` on its event loop and a
plain one in a worker thread, and passes the request because `request` is annotated with
Starlette's `Request` (`TrussRequest`), as in Truss Chains' generated models.

`load()` resolves secrets and dependencies, constructs the Chainlet and its
`dispatcher` (`.dispatch.Dispatcher`: decode → call → encode), which every caller of the
endpoint uses: Truss's `predict` here, the standalone server (`app.py`) and
`run_local`. The Truss adapter turns a bad request and a user exception into the same
422 and 500 replies as the standalone server, and replies to a msgpack request
(`Content-Type: application/octet-stream`, which Truss's server has already decoded)
with the msgpack bytes of the return value, which Truss's server sends as they are: the
same bytes as the standalone server sends.

A request's trace context and request id (`.tracing`) are current while its endpoint
runs, each step of a stream included, so the dependency calls it makes forward them. A
stream's first chunk is taken in `predict`, so an error before it is the 500 reply, as
on the standalone server; a client that asks for frames (`.frames`) gets them, and an
error after the first chunk in band (Truss's server would end the reply as if complete).

Imports `.definitions`, `.dispatch`, `.errors`, `.frames`, `.tracing`, `.transport`,
`.websocket`, and Starlette where it is
installed (Truss's server has it; without it `TrussRequest` is a placeholder and errors
propagate); never imports `compiler`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pydantic

from . import binary, frames, tracing
from .definitions import (
    CHAIN_API_KEY_SECRET_NAME,
    SECRET_DUMMY,
    DeployedServiceDescriptor,
    DeploymentContext,
    Environment,
    RPCOptions,
)
from .dispatch import (
    Dispatcher,
    Encoding,
    EndpointSpec,
    InvalidRequestError,
    SourceMap,
    error_detail,
    validation_error_body,
)
from .errors import ChainsRuntimeError, MissingDependencyError
from .transport import ChainletClient, ServiceTarget, find_services, upper_snake
from .websocket import WebSocketSession

if TYPE_CHECKING:
    from starlette.requests import Request as TrussRequest

__all__ = [
    "API_KEY_ENV_VAR",
    "DATA_DIR_ENV_VAR",
    "ENVIRONMENT_ENV_VAR",
    "SECRETS_DIR_ENV_VAR",
    "ChainletModel",
    "DependencySpec",
    "EndpointSpec",
    "TrussRequest",
    "error_detail",
    "secret_env_var",
    "validation_error_body",
]

_LOG = logging.getLogger(__name__)

#: The API key this Chainlet sends to its dependencies (else the secret
#: `baseten_chain_api_key`, as on Baseten).
API_KEY_ENV_VAR = "CHAINSC_API_KEY"
#: Directory with one file per secret, named by the secret (default `/secrets`, as Truss).
SECRETS_DIR_ENV_VAR = "CHAINSC_SECRETS_DIR"
DEFAULT_SECRETS_DIR = "/secrets"
#: `DeploymentContext.data_dir` when Truss does not pass `data_dir`.
DATA_DIR_ENV_VAR = "CHAINSC_DATA_DIR"
#: `DeploymentContext.environment.name` when Truss does not pass `environment`.
ENVIRONMENT_ENV_VAR = "CHAINSC_ENVIRONMENT"


class _NoRequest:
    """`TrussRequest` without Starlette: no Truss server, so `predict` gets no request."""


def _truss_request_class() -> type[Any]:
    """Starlette's `Request`, by which Truss's server decides to pass the request.

    Truss inspects `predict`'s signature (`ArgConfig.from_method`): a second parameter
    annotated with a subclass of `starlette.requests.Request` gets the request. Truss's
    server always has Starlette; `server.py` needs none and never calls `predict`.
    """
    try:
        from starlette.requests import Request  # noqa: PLC0415 - optional
    except ImportError:
        return _NoRequest
    return Request


if not TYPE_CHECKING:
    #: The annotation of `predict`'s `request` parameter in `model/model.py`.
    TrussRequest = _truss_request_class()


def secret_env_var(name: str) -> str:
    """The variable that provides a secret: `CHAINSC_SECRET_<NAME_UPPER_SNAKE>`."""
    return f"CHAINSC_SECRET_{upper_snake(name)}"


@dataclass(frozen=True)
class DependencySpec:
    """One `depends(...)` parameter of the Chainlet's `__init__`.

    Attributes:
        param: the `__init__` parameter name.
        client_cls: the generated client class (named like the target Chainlet).
        service: the target's display name (the key for service discovery).
        options: the `depends(...)` options.
    """

    param: str
    client_cls: type[ChainletClient]
    service: str
    options: RPCOptions = field(default_factory=RPCOptions)


def _lookup_secret(
    name: str,
    environ: Mapping[str, str],
    truss_secrets: Mapping[str, str] | None,
    secrets_dir: Path | None,
) -> str | None:
    """A secret from, in order: the env var, Truss's `secrets`, the secrets directory."""
    value: object = environ.get(secret_env_var(name))
    if value:
        return str(value)
    if truss_secrets is not None:
        try:
            value = truss_secrets[name]
        except Exception:  # Truss raises its own `SecretNotFound`, not a KeyError
            value = None
        if isinstance(value, str) and value and value != SECRET_DUMMY:
            return value
    if secrets_dir is not None and (secrets_dir / name).is_file():
        # A trailing newline is an artefact of `echo value > file`, never part of a key.
        text = (secrets_dir / name).read_text(encoding="utf-8").rstrip("\r\n")
        if text:
            return text
    return None


class ChainletModel:
    """Base of the generated `model/model.py` `Model` (the Truss model contract)."""

    #: The user's Chainlet class.
    chainlet_cls: ClassVar[type[Any]]
    endpoint: ClassVar[EndpointSpec]
    dependencies: ClassVar[tuple[DependencySpec, ...]] = ()
    #: The `__init__` parameter that takes the `DeploymentContext`, if any.
    context_param: ClassVar[str | None] = None
    #: `remote_config.assets.secret_keys`: each must be found at `load()`.
    secret_keys: ClassVar[tuple[str, ...]] = ()
    #: The Chainlet's display name, for messages (default: the class name).
    display_name: ClassVar[str | None] = None
    #: Where the package's user modules come from (`chainsc_generated.sources.SOURCES`):
    #: error details name the user's files and lines.
    source_map: ClassVar[SourceMap] = {}

    def __init__(
        self,
        *,
        config: Mapping[str, Any] | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        secrets: Mapping[str, str] | None = None,
        environment: Mapping[str, Any] | None = None,
        lazy_data_resolver: object = None,
        secrets_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Keep Truss's keyword arguments; nothing is loaded yet.

        Args:
            config: the Truss config (unused: the generated code carries what it needs).
            data_dir: the package's data directory (`DeploymentContext.data_dir`).
            secrets: Truss's secrets mapping.
            environment: Truss's environment (`{"name": ...}`), if deployed into one.
            lazy_data_resolver: Truss's resolver of external data; awaited in `load()`.
            secrets_dir: directory of secret files (default `$CHAINSC_SECRETS_DIR`
                or `/secrets`).
            **kwargs: other Truss arguments, ignored.
        """
        self._config = config
        self._data_dir = data_dir
        self._truss_secrets = secrets
        self._environment = environment
        self._lazy_data_resolver = lazy_data_resolver
        self._secrets_dir = secrets_dir
        self._chainlet: Any = None
        self._dispatcher: Dispatcher | None = None
        self._clients: list[ChainletClient] = []

    @classmethod
    def _name(cls) -> str:
        return cls.display_name or cls.chainlet_cls.__name__

    # Loading ############################################################################

    def load(self) -> None:
        """Resolve secrets and where the dependencies are, then construct the Chainlet.

        Dependencies are found by `transport.find_services` (chainsc's variables, then
        the platform's `dynamic_chainlet_config`). The API key sent to them is
        `$CHAINSC_API_KEY`, else the secret `baseten_chain_api_key`; it is required
        only when a dependency was found in the platform's config (its gateway checks
        it, as Truss's `DeploymentContext.get_baseten_api_key` requires it there).

        Raises:
            MissingDependencyError: a declared secret, a dependency, or the API key a
                platform dependency needs is missing (all missing ones are listed).
        """
        environ = os.environ
        secrets = self._load_secrets(environ)
        targets = self._dependency_targets(environ)
        api_key = environ.get(API_KEY_ENV_VAR) or secrets.get(CHAIN_API_KEY_SECRET_NAME)
        if api_key is None:
            self._require_api_key(targets, environ)
        clients: dict[str, ChainletClient] = {}
        services: dict[str, DeployedServiceDescriptor] = {}
        for dep in self.dependencies:
            target = targets[dep.service]
            clients[dep.param] = dep.client_cls(
                service=dep.service, target=target, options=dep.options, api_key=api_key
            )
            services[dep.client_cls.__name__] = (
                DeployedServiceDescriptor.model_validate(
                    {
                        "name": dep.client_cls.__name__,
                        "display_name": dep.service,
                        "options": dep.options,
                        **target.descriptor_urls(),
                    }
                )
            )
            _LOG.info(
                "`%s` calls `%s` at %s%s (from %s)",
                self._name(),
                dep.service,
                target.url,
                f" with Host: {target.host}" if target.host else "",
                target.origin,
            )
        self._clients = list(clients.values())
        wait_for_data = getattr(
            self._lazy_data_resolver, "block_until_download_complete", None
        )
        if callable(wait_for_data):
            wait_for_data()
        kwargs: dict[str, Any] = dict(clients)
        if self.context_param is not None:
            kwargs[self.context_param] = DeploymentContext(
                chainlet_to_service=services,
                secrets=secrets,
                data_dir=self._resolve_data_dir(environ),
                environment=self._resolve_environment(environ),
            )
        self._chainlet = self.chainlet_cls(**kwargs)
        self._dispatcher = Dispatcher(
            self.endpoint, self._chainlet, self._name(), self.source_map
        )

    def _load_secrets(self, environ: Mapping[str, str]) -> dict[str, str]:
        secrets_dir = Path(
            self._secrets_dir or environ.get(SECRETS_DIR_ENV_VAR) or DEFAULT_SECRETS_DIR
        )
        found: dict[str, str] = {}
        missing: list[str] = []
        for name in self.secret_keys:
            value = _lookup_secret(name, environ, self._truss_secrets, secrets_dir)
            if value is None:
                missing.append(name)
            else:
                found[name] = value
        if missing:
            wanted = "\n".join(
                f"  - `{name}`: set `{secret_env_var(name)}` or write the file "
                f"`{secrets_dir / name}`"
                for name in missing
            )
            raise MissingDependencyError(
                f"Chainlet `{self._name()}` declares secrets that are not set:\n{wanted}\n"
                f"(the secrets directory is `${SECRETS_DIR_ENV_VAR}`, default "
                f"`{DEFAULT_SECRETS_DIR}`)."
            )
        if CHAIN_API_KEY_SECRET_NAME not in found:
            api_key = _lookup_secret(
                CHAIN_API_KEY_SECRET_NAME, environ, self._truss_secrets, secrets_dir
            )
            if api_key is not None:
                found[CHAIN_API_KEY_SECRET_NAME] = api_key
        return found

    def _dependency_targets(
        self, environ: Mapping[str, str]
    ) -> dict[str, ServiceTarget]:
        if not self.dependencies:
            return {}
        try:
            return find_services([dep.service for dep in self.dependencies], environ)
        except MissingDependencyError as exc:
            raise MissingDependencyError(
                f"Chainlet `{self._name()}` cannot find its dependencies. {exc}"
            ) from exc

    def _require_api_key(
        self, targets: Mapping[str, ServiceTarget], environ: Mapping[str, str]
    ) -> None:
        """Raise when a dependency found in the platform's config has no key to call it."""
        platform = sorted(
            name for name, target in targets.items() if target.from_platform
        )
        if not platform:
            return
        secrets_dir = Path(
            self._secrets_dir or environ.get(SECRETS_DIR_ENV_VAR) or DEFAULT_SECRETS_DIR
        )
        raise MissingDependencyError(
            f"Chainlet `{self._name()}` calls "
            f"{', '.join(f'`{name}`' for name in platform)} through the platform "
            f"(found in `{targets[platform[0]].origin}`), which needs an API key, and "
            f"none is set. Set the secret `{CHAIN_API_KEY_SECRET_NAME}` to a Baseten API "
            "key: on Baseten, in the workspace's secrets; under Truss's server, "
            f"`TRUSS_SECRET_{CHAIN_API_KEY_SECRET_NAME}` or the file "
            f"`/secrets/{CHAIN_API_KEY_SECRET_NAME}` (config.yaml declares it); "
            f"elsewhere `{secret_env_var(CHAIN_API_KEY_SECRET_NAME)}` or the file "
            f"`{secrets_dir / CHAIN_API_KEY_SECRET_NAME}`. Or set `{API_KEY_ENV_VAR}`."
        )

    def _resolve_data_dir(self, environ: Mapping[str, str]) -> Path | None:
        raw = self._data_dir or environ.get(DATA_DIR_ENV_VAR)
        return Path(raw) if raw else None

    def _resolve_environment(self, environ: Mapping[str, str]) -> Environment | None:
        if self._environment:
            return Environment.model_validate(dict(self._environment))
        name = environ.get(ENVIRONMENT_ENV_VAR)
        return Environment(name=name) if name else None

    async def is_ready(self) -> bool:
        """Ready: loaded, and the Chainlet's own `is_healthy()` (if any) says so.

        An async `is_healthy` is awaited, a sync one runs in a worker thread. What it
        raises propagates (the server logs it and answers "unhealthy").
        """
        if self._chainlet is None:
            return False
        check = getattr(self._chainlet, "is_healthy", None)
        if not callable(check):
            return True
        if inspect.iscoroutinefunction(check):
            return bool(await check())
        return bool(await asyncio.get_running_loop().run_in_executor(None, check))

    def close(self) -> None:
        """Close the dependency clients' sync connection pools."""
        for client in self._clients:
            client.close()

    async def aclose(self) -> None:
        """Close all the dependency clients' connection pools."""
        for client in self._clients:
            await client.aclose()

    # Predicting #########################################################################

    @property
    def dispatcher(self) -> Dispatcher:
        """The loaded Chainlet's dispatcher (decode → call → encode).

        Raises:
            ChainsRuntimeError: `load()` has not finished.
        """
        if self._dispatcher is None:
            raise ChainsRuntimeError(
                f"Chainlet `{self._name()}` is not loaded: call load()."
            )
        return self._dispatcher

    def truss_predict_sync(
        self, inputs: Mapping[str, object] | bytes | str, request: object = None
    ) -> Any:
        """`predict` of a sync endpoint on Truss's server (it runs it in a thread).

        Args:
            inputs: the request, decoded by Truss's server (from JSON or msgpack).
            request: Truss's Starlette request; its `Content-Type` tells a msgpack
                request, its headers the trace context and whether a stream is framed.
                None outside a Truss server.

        Returns:
            To a JSON request, the JSON-able return value (Truss's server encodes it);
            to a msgpack request, the msgpack bytes, which Truss's server sends as
            they are; a stream's chunks (or frames). A request that does not match the
            endpoint gets the standalone server's 422 reply, and an exception in user
            code (before a stream's first chunk) its 500 reply (`{"error":
            RemoteErrorDetail}`), both JSON, so a chainsc client reads them the same
            way from either server. Outside a Truss server (no Starlette), the
            exception propagates instead.
        """
        context = _request_context(request)
        token = tracing.activate(context)
        try:
            with _TrussReply(self, request) as reply:
                result = self.dispatcher.handle(inputs, reply.encoding)
                if self.endpoint.is_streaming:
                    chunks = iter(result)
                    first = next(chunks, _DONE)
                    result = self._sync_stream(chunks, first, context, reply.framed)
                reply.value = result
        finally:
            tracing.deactivate(token)
        return reply.value

    async def truss_predict_async(
        self, inputs: Mapping[str, object] | bytes | str, request: object = None
    ) -> Any:
        """`predict` of an async endpoint on Truss's server: as `truss_predict_sync`."""
        context = _request_context(request)
        token = tracing.activate(context)
        try:
            with _TrussReply(self, request) as reply:
                result = await self.dispatcher.ahandle(inputs, reply.encoding)
                if self.endpoint.is_streaming:
                    chunks: AsyncIterator[Any] = aiter(result)
                    first = await anext(chunks, _DONE)
                    result = self._async_stream(chunks, first, context, reply.framed)
                reply.value = result
        finally:
            tracing.deactivate(token)
        return reply.value

    async def truss_websocket(self, websocket: Any) -> None:
        """`websocket` of a websocket endpoint on Truss's server (the generated hook).

        Truss's server routes `/v1/websocket` to the model's `websocket(ws)` when the
        model has one (and then no `predict`), with the connection accepted: a Starlette
        `WebSocket`. The endpoint gets a `websocket.WebSocketSession` over that
        connection's `receive` and `send`, the same session as under `server.py`. Truss's
        server closes the connection when this returns (1000), or with 1011 when it
        raises; a `WebSocketDisconnect` (the client left) it logs at info level, and the
        one the session raises is Starlette's (FastAPI's) class too.

        Args:
            websocket: Truss's Starlette `WebSocket`, accepted.
        """
        session = WebSocketSession(websocket.receive, websocket.send, websocket.headers)
        # The session's trace context is current while the endpoint runs, as a request's.
        token = tracing.activate(_request_context(websocket))
        try:
            await self.dispatcher.websocket(session)
        finally:
            tracing.deactivate(token)

    def _stream_failed(self, exc: Exception) -> bytes:
        """Log an error after a stream's first chunk; its error frame."""
        _LOG.error(
            "`%s.%s` failed while streaming: %s: %s",
            self._name(),
            self.endpoint.name,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        return frames.error_frame(self.dispatcher.error_detail(exc))

    def _sync_stream(
        self,
        chunks: Iterator[Any],
        first: object,
        context: tracing.RequestContext | None,
        framed: bool,
    ) -> Iterator[Any]:
        """The rest of a sync stream, for Truss's server to send, framed if asked.

        Truss's server runs each step in a thread: the request's context is made
        current around each.
        """
        encode = self.dispatcher.encode_chunk
        chunk = first
        try:
            if framed:
                data = b"" if chunk is _DONE else frames.data_frame(encode(chunk))
                yield frames.PREAMBLE + data
            elif chunk is not _DONE:
                yield chunk
            while chunk is not _DONE:
                token = tracing.activate(context)
                try:
                    chunk = next(chunks, _DONE)
                finally:
                    tracing.deactivate(token)
                if chunk is not _DONE:
                    yield frames.data_frame(encode(chunk)) if framed else chunk
            if framed:
                yield frames.END_FRAME
        except Exception as exc:
            if not framed:
                raise  # Truss's server logs it and ends the reply
            yield self._stream_failed(exc)
        finally:
            close = getattr(chunks, "close", None)
            if callable(close):
                close()

    async def _async_stream(
        self,
        chunks: AsyncIterator[Any],
        first: object,
        context: tracing.RequestContext | None,
        framed: bool,
    ) -> AsyncIterator[Any]:
        """`_sync_stream` of an async stream."""
        encode = self.dispatcher.encode_chunk
        chunk = first
        try:
            if framed:
                data = b"" if chunk is _DONE else frames.data_frame(encode(chunk))
                yield frames.PREAMBLE + data
            elif chunk is not _DONE:
                yield chunk
            while chunk is not _DONE:
                token = tracing.activate(context)
                try:
                    chunk = await anext(chunks, _DONE)
                finally:
                    tracing.deactivate(token)
                if chunk is not _DONE:
                    yield frames.data_frame(encode(chunk)) if framed else chunk
            if framed:
                yield frames.END_FRAME
        except Exception as exc:
            if not framed:
                raise
            yield self._stream_failed(exc)
        finally:
            aclose = getattr(chunks, "aclose", None)
            if callable(aclose):
                await aclose()


_DONE = object()


def _request_context(request: object) -> tracing.RequestContext | None:
    """The trace context of a request to Truss's server (None: not under Truss)."""
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    context = tracing.RequestContext.from_headers(headers.get)
    if _LOG.isEnabledFor(logging.DEBUG):
        _LOG.debug("predict (%s)", context.describe())
    return context


class _TrussReply:
    """The reply of one `predict` on Truss's server, and the errors that become one.

    A context manager: inside it, `value` is set to the dispatcher's reply; an
    `InvalidRequestError` leaving it becomes the 422 reply, any other exception (user code)
    the 500 reply (and an error log line). Without Starlette (not under Truss's server)
    the exception propagates: the pydantic error itself for a bad request.
    """

    def __init__(self, model: ChainletModel, request: object) -> None:
        self.model = model
        binary_request = _is_binary_request(request)
        self.encoding = Encoding.MSGPACK if binary_request else Encoding.JSONABLE
        headers = getattr(request, "headers", None)
        #: The client asked for a framed stream reply (`.frames`).
        self.framed = headers is not None and frames.wants_frames(
            headers.get(frames.REQUEST_HEADER)
        )
        self.value: Any = None

    def __enter__(self) -> _TrussReply:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        if isinstance(exc, InvalidRequestError):
            reply = _json_reply(422, exc.body())
            if reply is None:
                cause = exc.__cause__
                if isinstance(cause, pydantic.ValidationError):
                    raise cause
                return False
        else:
            reply = _json_reply(500, error_detail(exc, type(self.model).source_map))
            if reply is None:
                return False
            name = f"{self.model._name()}.{self.model.endpoint.name}"
            _LOG.error("`%s` failed", name, exc_info=exc)
        self.value = reply
        return True


def _is_binary_request(request: object) -> bool:
    """A msgpack request to Truss's server (a Starlette request; None: not under Truss)."""
    headers = getattr(request, "headers", None)
    if headers is None:
        return False
    content_type: str | None = headers.get("content-type")
    return binary.is_binary_content_type(content_type)


def _json_reply(status: int, body: Mapping[str, Any]) -> Any:
    """A Starlette JSON response (a Truss server sends it as it is), or None without Starlette."""
    try:
        from starlette.responses import Response  # noqa: PLC0415 - only on a Truss server
    except ImportError:
        return None
    return Response(
        content=json.dumps(body).encode("utf-8"),
        status_code=status,
        media_type="application/json",
    )
