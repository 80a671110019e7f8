"""Serving adapter: the Truss model contract around one Chainlet.

`__init__(**kwargs)`, `load()`, `predict(inputs)`, configured by the class attributes of
the generated `Model`.
Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). `model/model.py` subclasses `ChainletModel`, sets `chainlet_cls`, `endpoint`,
`dependencies`, `context_param` and `secret_keys`, and defines `predict(inputs, request)`
(sync endpoint) or `async predict(inputs, request)` (async endpoint) calling
`_truss_predict_sync` / `_truss_predict_async`: Truss calls a coroutine function
`predict` on its event loop and a plain one in a worker thread, and passes the request
because `request` is annotated with Starlette's `Request` (`TrussRequest`), as in Truss
Chains' generated models. Those turn a bad request and a user exception into the same
422 and 500 replies as the standalone `server.py`, and reply to a msgpack request
(`Content-Type: application/octet-stream`, which Truss's server has already decoded)
with the msgpack bytes of `.binary`, which Truss's server sends as they are: the same
bytes as `server.py` sends.

Imports `.binary`, `.definitions`, `.errors`, `.transport`, and Starlette's `Request`
where Starlette is installed (Truss's server has it; without it `TrussRequest` is a
placeholder); never imports `compiler`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sysconfig
import traceback
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pydantic
import pydantic_core

from . import binary
from .definitions import (
    CHAIN_API_KEY_SECRET_NAME,
    SECRET_DUMMY,
    DeployedServiceDescriptor,
    DeploymentContext,
    Environment,
    RPCOptions,
)
from .errors import ChainsRuntimeError, MissingDependencyError, RemoteErrorDetail
from .transport import ChainletClient, ServiceTarget, find_services, upper_snake

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
class EndpointSpec:
    """The Chainlet's endpoint, as the generated `Model` describes it.

    Attributes:
        name: the method: `"run_remote"`, or `"predict"` for a `ModelBase`.
        is_async: the method is `async def`.
        is_streaming: the method is a (async) generator of `str` or `bytes` chunks.
        input_model: one field per parameter, with the parameter's default; a field whose
            name differs from the parameter (e.g. one that would shadow a `BaseModel`
            attribute) carries the parameter name as its alias.
        output: validates/serialises the return value (for streams: the item type).
    """

    name: str
    is_async: bool
    is_streaming: bool
    input_model: type[pydantic.BaseModel]
    output: pydantic.TypeAdapter[Any]


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


async def _iterate_in_thread(chunks: Iterator[Any]) -> AsyncIterator[Any]:
    """Drive a sync generator from async code, each step in a worker thread."""
    done = object()
    while (chunk := await asyncio.to_thread(next, chunks, done)) is not done:
        yield chunk


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
            services[dep.client_cls.__name__] = DeployedServiceDescriptor.model_validate(
                {
                    "name": dep.client_cls.__name__,
                    "display_name": dep.service,
                    "options": dep.options,
                    **target.descriptor_urls(),
                }
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

    def _dependency_targets(self, environ: Mapping[str, str]) -> dict[str, ServiceTarget]:
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
        platform = sorted(name for name, target in targets.items() if target.from_platform)
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

    def _is_healthy(self) -> bool:
        """Ready: loaded, and the Chainlet's own `is_healthy()` (if any) says so."""
        if self._chainlet is None:
            return False
        check = getattr(self._chainlet, "is_healthy", None)
        return bool(check()) if callable(check) else True

    def close(self) -> None:
        """Close the dependency clients' sync connection pools."""
        for client in self._clients:
            client.close()

    async def aclose(self) -> None:
        """Close all the dependency clients' connection pools."""
        for client in self._clients:
            await client.aclose()

    # Predicting #########################################################################

    def _loaded(self) -> Any:
        if self._chainlet is None:
            raise ChainsRuntimeError(
                f"Chainlet `{self._name()}` is not loaded: call load()."
            )
        return self._chainlet

    def _arguments(self, inputs: Mapping[str, object] | bytes | str) -> dict[str, Any]:
        """Validate the request; the endpoint's keyword arguments.

        Only the arguments present in the request are passed, so the endpoint's own
        defaults apply to the others (as in Truss Chains).

        Raises:
            pydantic.ValidationError: the request does not match (the server's 422).
        """
        model = self.endpoint.input_model
        if isinstance(inputs, bytes | str):
            instance = model.model_validate_json(inputs or "{}")
        else:
            instance = model.model_validate(inputs)
        fields = model.model_fields
        return {
            fields[name].alias or name: getattr(instance, name)
            for name in instance.model_fields_set
        }

    def _dump(self, result: object) -> Any:
        try:
            return self.endpoint.output.dump_python(
                result, mode="json", warnings="error"
            )
        except pydantic_core.PydanticSerializationError as exc:
            raise self._mismatch(result, exc) from exc

    def _encode(self, result: object) -> bytes:
        """The JSON reply body of a return value (as `_dump`, straight to bytes)."""
        try:
            return self.endpoint.output.dump_json(result, warnings="error")
        except pydantic_core.PydanticSerializationError as exc:
            raise self._mismatch(result, exc) from exc

    def _encode_binary(self, result: object) -> bytes:
        """The msgpack reply body of a return value (`use_binary` callers).

        The return value is dumped in Python mode, so bytes stay bytes and numpy arrays
        stay arrays (`.binary` encodes them).
        """
        try:
            dumped = self.endpoint.output.dump_python(
                result, mode="python", warnings="error"
            )
        except pydantic_core.PydanticSerializationError as exc:
            raise self._mismatch(result, exc) from exc
        return binary.packb(dumped)

    def _mismatch(
        self, result: object, exc: pydantic_core.PydanticSerializationError
    ) -> TypeError:
        return TypeError(
            f"`{self._name()}.{self.endpoint.name}` returned a "
            f"`{type(result).__name__}`, which does not match its return annotation: {exc}"
        )

    def _truss_predict_sync(
        self, inputs: Mapping[str, object] | bytes | str, request: object = None
    ) -> Any:
        """`predict` on a Truss server: `_predict_sync`, with failures as error replies.

        The reply to a msgpack request (`request`'s `Content-Type` is
        `application/octet-stream`; Truss's server decoded `inputs` from msgpack) is the
        msgpack `bytes` of the return value, which Truss's server sends as they are,
        with that `Content-Type`; to a JSON request, the JSON-able return value. A
        request that does not match the endpoint gets `server.py`'s 422 body and an
        exception in user code its 500 body (`{"error": RemoteErrorDetail}`), both
        JSON, so a chainsc client reads them the same way from either server. Outside
        a Truss server (no Starlette), the exception propagates.
        """
        try:
            arguments = self._arguments(inputs)
        except pydantic.ValidationError as exc:
            if (reply := _json_reply(422, validation_error_body(exc))) is None:
                raise
            return reply
        try:
            return self._call_sync(arguments, binary_reply=_is_binary_request(request))
        except Exception as exc:
            if (reply := self._user_error_reply(exc)) is None:
                raise
            return reply

    async def _truss_predict_async(
        self, inputs: Mapping[str, object] | bytes | str, request: object = None
    ) -> Any:
        """`predict` on a Truss server, async: as `_truss_predict_sync`."""
        try:
            arguments = self._arguments(inputs)
        except pydantic.ValidationError as exc:
            if (reply := _json_reply(422, validation_error_body(exc))) is None:
                raise
            return reply
        try:
            return await self._call_async(
                arguments, binary_reply=_is_binary_request(request)
            )
        except Exception as exc:
            if (reply := self._user_error_reply(exc)) is None:
                raise
            return reply

    def _user_error_reply(self, exc: Exception) -> Any:
        """The 500 reply for an exception in user code (logged), or None without Starlette."""
        reply = _json_reply(500, error_detail(exc))
        if reply is not None:
            _LOG.error("`%s.%s` failed", self._name(), self.endpoint.name, exc_info=exc)
        return reply

    def _predict_sync(self, inputs: Mapping[str, object] | bytes | str) -> Any:
        """Run a sync endpoint: the JSON-able result, or the iterator of chunks.

        Args:
            inputs: the request: parsed JSON (from Truss) or the raw JSON body.
        """
        return self._call_sync(self._arguments(inputs))

    def _call_sync(
        self, arguments: Mapping[str, Any], *, binary_reply: bool = False
    ) -> Any:
        """Call a sync endpoint with validated arguments (see `_predict_sync`).

        With `binary_reply`, a result is the msgpack `bytes` of the return value.
        """
        chainlet = self._loaded()
        if self.endpoint.is_async:
            raise ChainsRuntimeError(
                f"`{self._name()}.{self.endpoint.name}` is async: use `_predict_async`."
            )
        result = getattr(chainlet, self.endpoint.name)(**arguments)
        if self.endpoint.is_streaming:
            return result
        return self._encode_binary(result) if binary_reply else self._dump(result)

    async def _predict_async(self, inputs: Mapping[str, object] | bytes | str) -> Any:
        """Run the endpoint from async code: the JSON-able result, or the chunks.

        Streams are returned as async iterators. A sync endpoint runs in a worker thread
        (a sync stream: each step).
        """
        return await self._call_async(self._arguments(inputs))

    async def _call_async(
        self, arguments: Mapping[str, Any], *, binary_reply: bool = False
    ) -> Any:
        """Call the endpoint with validated arguments from async code (see `_predict_async`).

        With `binary_reply`, a result is the msgpack `bytes` of the return value.
        """
        chainlet = self._loaded()
        method = getattr(chainlet, self.endpoint.name)
        if self.endpoint.is_streaming:
            chunks = method(**arguments)
            return chunks if self.endpoint.is_async else _iterate_in_thread(chunks)
        if self.endpoint.is_async:
            result = await method(**arguments)
        else:
            result = await asyncio.to_thread(method, **arguments)
        return self._encode_binary(result) if binary_reply else self._dump(result)


def _is_binary_request(request: object) -> bool:
    """A msgpack request to Truss's server (a Starlette request; None: not under Truss)."""
    headers = getattr(request, "headers", None)
    if headers is None:
        return False
    content_type: str | None = headers.get("content-type")
    return binary.is_binary_content_type(content_type)


# Error bodies ###########################################################################


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


def _user_frames(
    frames: Sequence[traceback.FrameSummary],
) -> list[traceback.FrameSummary]:
    """The frames of user code: after the runtime called it, before it called the runtime.

    Frames of the runtime and of the generated code (`chainsc_generated`, next to it) are
    "ours". Leading frames up to the first user frame after our first frame (server,
    thread pool, `model.py`) and trailing frames from the next one of ours (a failed
    dependency call in the transport) are dropped.
    """
    runtime_dir = Path(__file__).absolute().parent
    generated_dir = runtime_dir.parent / "chainsc_generated"
    library_dirs = [
        Path(p)
        for p in {sysconfig.get_path(k) for k in ("stdlib", "purelib", "platlib")}
    ]

    def is_ours(frame: traceback.FrameSummary) -> bool:
        path = Path(frame.filename).absolute()
        return path.is_relative_to(runtime_dir) or path.is_relative_to(generated_dir)

    def is_library(frame: traceback.FrameSummary) -> bool:
        path = Path(frame.filename).absolute()
        return any(path.is_relative_to(lib) for lib in library_dirs)

    ours = [i for i, frame in enumerate(frames) if is_ours(frame)]
    start = 0
    if ours:
        start = next(
            (
                i
                for i in range(ours[0], len(frames))
                if not (is_ours(frames[i]) or is_library(frames[i]))
            ),
            len(frames),
        )
    end = next(
        (i for i in range(start, len(frames)) if is_ours(frames[i])), len(frames)
    )
    return list(frames[start:end])


def error_detail(exc: BaseException) -> dict[str, Any]:
    """The JSON body of an HTTP 500 for an exception raised by user code.

    Returns:
        `{"error": RemoteErrorDetail}` as JSON-able dict, with the user's stack frames.
    """
    frames = _user_frames(traceback.extract_tb(exc.__traceback__))
    detail = RemoteErrorDetail(
        exception_cls_name=type(exc).__name__,
        exception_module_name=type(exc).__module__,
        exception_message=str(exc),
        user_stack_trace=[
            RemoteErrorDetail.StackFrame.from_frame_summary(f) for f in frames
        ],
    )
    return {"error": detail.model_dump(mode="json")}


def validation_error_body(exc: pydantic.ValidationError) -> dict[str, Any]:
    """The JSON body of an HTTP 422: `{"detail": [{"loc", "msg", "type"}, ...]}`."""
    return {
        "detail": [
            {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
            for error in exc.errors(
                include_url=False, include_context=False, include_input=False
            )
        ]
    }
