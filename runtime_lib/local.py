"""`run_local`: run a chain in one process, from its source, as it would run deployed.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Imports the standard library, pydantic, `.binary`, `.definitions`,
`.dispatch`, `.errors` and `.transport`; never imports `compiler`.

Inside `with run_local(...):` constructing a Chainlet fills every `__init__` parameter
left at its `depends(X, ...)` default with a local instance of `X` (one per class per
block, built on demand, dependencies first) and every `depends_context()` parameter with
a `DeploymentContext` holding the given secrets, data directory and services. The
entrypoint is constructed by the caller, as with Truss; `definitions` calls the hook this
module sets in `LOCAL_INIT_HOOK` from every Chainlet `__init__`.

With `serialize=True` (the default) a dependency is not the instance itself but a proxy
whose endpoint (`run_remote`, or `predict` for a `ModelBase`) does what the deployed
client and server do with each call: the arguments are encoded as the client encodes
them (the transport's `encode_arguments`), then the target's `Dispatcher` (`.dispatch`,
the one the servers use) decodes and validates them into its parameter types, calls the
real method and encodes its result with the return annotation (warnings are errors), and
the caller validates that reply back, as the client does. Stream chunks are passed
through after a check of their type. A value that would not survive the wire raises
here, naming the dependency, the parameter or return value and the reason. A
`use_binary=True` dependency goes through the msgpack codec of `.binary` instead, as its
deployed client and server do: arguments with `binary.encode_arguments`, decoded and
validated in Python mode; the result dumped in Python mode, packed, unpacked and
validated back (bytes stay bytes, numpy arrays stay arrays). `serialize=False` injects
the plain instances (Truss's behaviour).
"""

from __future__ import annotations

import collections.abc
import contextlib
import dataclasses
import inspect
import os
import pathlib
import typing
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from typing import Any

import pydantic
import pydantic_core

from . import binary
from .definitions import (
    LOCAL_INIT_HOOK,
    ChainletDependencyMarker,
    ContextDependencyMarker,
    DeployedServiceDescriptor,
    DeploymentContext,
    ModelBase,
    TrussChainlet,
)
from .dispatch import Dispatcher, Encoding, EndpointSpec, InvalidRequestError
from .errors import ChainletCallError, ChainsUsageError, RemoteValidationError
from .transport import encode_arguments

__all__ = ["WireRoundTripError", "run_local"]

_SYNC_STREAMS = frozenset(
    {collections.abc.Iterator, collections.abc.Iterable, collections.abc.Generator}
)
_ASYNC_STREAMS = frozenset(
    {
        collections.abc.AsyncIterator,
        collections.abc.AsyncIterable,
        collections.abc.AsyncGenerator,
    }
)
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
#: What encoding a value that has no wire form raises (pydantic, json, msgpack).
_ENCODE_ERRORS = (pydantic_core.PydanticSerializationError, TypeError, ValueError)


class WireRoundTripError(ChainletCallError, TypeError):
    """Under `run_local(serialize=True)`: a value would not survive the wire.

    Raised for an argument that cannot be encoded (as JSON, or msgpack for `use_binary`),
    a return value that does not match its annotation or does not validate back, and a stream chunk of
    the wrong type. (Arguments the target rejects raise `RemoteValidationError`, as a
    deployed caller gets on HTTP 422.)
    """


def _local_url(service: str, endpoint: str) -> str:
    return f"local://{service}/{endpoint}"


@dataclasses.dataclass(frozen=True)
class _Endpoint:
    """The wire types of one dependency's endpoint, derived from its source.

    Attributes:
        service: the target's display name (`remote_config.name` or the class name).
        name: `"run_remote"`, or `"predict"` for a `ModelBase`.
        signature: the endpoint's signature without `self`.
        is_async: an `async def` (coroutine or async generator).
        stream: `"sync"` / `"async"` for a streaming endpoint, else None.
        item_type: the chunk type of a stream (`str`, `bytes`), None when unchecked.
        input_model: one field per parameter (by alias = parameter name), with defaults.
        output: the return annotation's adapter (unused for streams).
        returns: the return annotation, for messages.
    """

    service: str
    name: str
    signature: inspect.Signature
    is_async: bool
    stream: str | None
    item_type: type[Any] | None
    input_model: type[pydantic.BaseModel]
    output: pydantic.TypeAdapter[Any]
    returns: str

    @property
    def qualname(self) -> str:
        return f"{self.service}.{self.name}"

    def spec(self) -> EndpointSpec:
        """The endpoint as a server's dispatcher takes it."""
        return EndpointSpec(
            name=self.name,
            is_async=self.is_async,
            is_streaming=self.stream is not None,
            input_model=self.input_model,
            output=self.output,
        )

    @property
    def url(self) -> str:
        return _local_url(self.service, self.name)


def _display_name(cls: type[Any]) -> str:
    remote_config = getattr(cls, "remote_config", None)
    name = getattr(remote_config, "name", None)
    return name if isinstance(name, str) and name else cls.__name__


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return repr(annotation).replace("typing.", "")


def _field_name(name: str, index: int) -> str:
    """A model field for parameter `name` (aliased when the name is unusable as field)."""
    if name.startswith("_") or hasattr(pydantic.BaseModel, name):
        return f"arg{index}_"
    return name


def _stream_kind(returns: Any) -> tuple[str | None, Any]:
    """`("sync" | "async" | None, item type)` of a return annotation."""
    if typing.get_origin(returns) is typing.Annotated:
        returns = typing.get_args(returns)[0]
    origin = typing.get_origin(returns)
    args = typing.get_args(returns)
    item = args[0] if args else Any
    if origin in _SYNC_STREAMS:
        return "sync", item
    if origin in _ASYNC_STREAMS:
        return "async", item
    return None, None


def _endpoint_of(target: type[Any]) -> _Endpoint:
    """Build the wire types of `target`'s endpoint from its signature and annotations.

    Raises:
        ChainsUsageError: no endpoint, unresolvable annotations, a parameter that is not
            named, or a type pydantic cannot serialise.
    """
    service = _display_name(target)
    name = "predict" if issubclass(target, ModelBase) else "run_remote"
    func = inspect.getattr_static(target, name, None)
    if not inspect.isfunction(func):
        raise ChainsUsageError(
            f"run_local: dependency `{service}` has no `{name}` method to call."
        )
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:
        raise ChainsUsageError(
            f"run_local: cannot resolve the annotations of `{service}.{name}` in its "
            f"module `{func.__module__}` ({type(exc).__name__}: {exc}). Define the types "
            "it uses at module level."
        ) from exc
    full = inspect.signature(func)
    params = list(full.parameters.values())[1:]
    fields: dict[str, Any] = {}
    for index, param in enumerate(params):
        if param.kind not in _NAMED:
            raise ChainsUsageError(
                f"run_local: `{service}.{name}` has the parameter `{param}`; an endpoint "
                "takes named parameters only (they are sent as a JSON object)."
            )
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[_field_name(param.name, index)] = (
            hints.get(param.name, Any),
            pydantic.Field(default, alias=param.name),
        )
    returns = hints.get("return", Any)
    stream, item = _stream_kind(returns)
    if stream is not None and item not in (str, bytes, Any):
        raise ChainsUsageError(
            f"run_local: `{service}.{name}` streams `{item}`; a stream carries `str` or "
            "`bytes` chunks."
        )
    try:
        input_model = pydantic.create_model(
            f"{target.__name__}_{name}_Input",
            __config__=pydantic.ConfigDict(protected_namespaces=()),
            **fields,
        )
        output: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(
            Any if stream is not None else returns
        )
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError) as exc:
        raise ChainsUsageError(
            f"run_local: the types of `{service}.{name}` cannot go over the wire: {exc}"
        ) from exc
    return _Endpoint(
        service=service,
        name=name,
        signature=full.replace(parameters=params),
        is_async=inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func),
        stream=stream,
        item_type=None if item is Any else item,
        input_model=input_model,
        output=output,
        returns=_type_name(returns),
    )


@dataclasses.dataclass(frozen=True)
class _WireCall:
    """Calls of one dependency parameter (`caller`) on its target, through the wire codec."""

    endpoint: _Endpoint
    #: The target's dispatcher: what a server does with the call.
    dispatcher: Dispatcher
    caller: str
    #: `use_binary=True`: msgpack (`.binary`) instead of JSON.
    use_binary: bool = False

    @property
    def _format(self) -> str:
        return "msgpack" if self.use_binary else "JSON"

    def _encode(self, arguments: Mapping[str, object]) -> bytes:
        if self.use_binary:
            return binary.encode_arguments(arguments)
        return encode_arguments(arguments)

    def _where(self) -> str:
        return f"run_local: dependency `{self.caller}` -> `{self.endpoint.qualname}`"

    def _fail(self, what: str, reason: object) -> WireRoundTripError:
        return WireRoundTripError(
            f"{self._where()}: {what}: {reason}\n(Deployed, this call would fail; "
            "`run_local(serialize=False)` skips the check.)",
            service=self.endpoint.service,
            url=self.endpoint.url,
        )

    def send(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The target's keyword arguments after the wire: encode, then decode there."""
        bound = self.endpoint.signature.bind(*args, **kwargs)
        bound.apply_defaults()  # a generated client sends every argument
        arguments = dict(bound.arguments)
        try:
            body = self._encode(arguments)
        except _ENCODE_ERRORS as exc:
            raise self._encoding_error(arguments, exc) from exc
        try:
            return self.dispatcher.decode(body, binary=self.use_binary)
        except InvalidRequestError as exc:
            lines = "\n".join(
                f"  - {'.'.join(str(part) for part in error['loc']) or '(body)'}: "
                f"{error['msg']}"
                for error in exc.errors
            )
            raise RemoteValidationError(
                f"{self._where()} rejects the arguments (deployed: HTTP 422):\n{lines}",
                service=self.endpoint.service,
                url=self.endpoint.url,
                # pydantic's own error dicts (`loc` a tuple), as before the wire.
                errors=[{**error, "loc": tuple(error["loc"])} for error in exc.errors],
            ) from exc.__cause__

    def _encoding_error(
        self, arguments: Mapping[str, object], exc: Exception
    ) -> WireRoundTripError:
        for name, value in arguments.items():
            try:
                self._encode({name: value})
            except _ENCODE_ERRORS as single:
                return self._fail(
                    f"argument `{name}` (a `{type(value).__name__}`) cannot be encoded "
                    f"as {self._format}",
                    single,
                )
        return self._fail(f"the arguments cannot be encoded as {self._format}", exc)

    def receive(self, result: object) -> Any:
        """The result after the wire: encoded there, validated back here."""
        encoding = Encoding.MSGPACK if self.use_binary else Encoding.JSON
        try:
            body: bytes = self.dispatcher.encode(result, encoding)
        except _ENCODE_ERRORS as exc:
            mismatch = exc.__cause__
            raise self._fail(
                f"the return value (a `{type(result).__name__}`) does not match the "
                f"return annotation `{self.endpoint.returns}` or is not {self._format}",
                mismatch
                if isinstance(mismatch, pydantic_core.PydanticSerializationError)
                else exc,
            ) from exc
        output = self.endpoint.output
        try:
            if self.use_binary:
                return output.validate_python(binary.unpackb(body))
            return output.validate_json(body)
        except pydantic.ValidationError as exc:
            raise self._fail(
                f"the return value does not validate as `{self.endpoint.returns}` "
                f"from its {self._format} on the caller's side",
                exc,
            ) from exc

    def check_chunk(self, chunk: object) -> None:
        """Raise unless `chunk` has the stream's declared item type."""
        item_type = self.endpoint.item_type
        allowed = (item_type,) if item_type is not None else (str, bytes)
        if not isinstance(chunk, allowed):
            declared = item_type.__name__ if item_type is not None else "str | bytes"
            raise self._fail(
                "a stream chunk does not match the stream's item type",
                f"got a `{type(chunk).__name__}`, expected `{declared}`",
            )

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """A sync endpoint."""
        return self.receive(self.dispatcher.call(self.send(args, kwargs)))

    async def acall(self, *args: Any, **kwargs: Any) -> Any:
        """An async endpoint."""
        return self.receive(await self.dispatcher.acall(self.send(args, kwargs)))

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """A sync stream (the arguments are checked at the call)."""
        return self._chunks(self.dispatcher.call(self.send(args, kwargs)))

    def _chunks(self, chunks: Iterator[Any]) -> Iterator[Any]:
        for chunk in chunks:
            self.check_chunk(chunk)
            yield chunk

    def astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """An async stream (the arguments are checked at the call)."""
        return self._achunks(self.dispatcher.invoke(self.send(args, kwargs)))

    async def _achunks(self, chunks: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for chunk in chunks:
            self.check_chunk(chunk)
            yield chunk

    def entry(self) -> Callable[..., Any]:
        """The proxy's endpoint function, with the target's name and signature."""
        stream = self.endpoint.stream
        if stream is None and self.endpoint.is_async:
            endpoint = _async_function(self.acall)
        elif stream is None:
            endpoint = _sync_function(self.call)
        else:
            endpoint = _sync_function(self.stream if stream == "sync" else self.astream)
        endpoint.__name__ = endpoint.__qualname__ = self.endpoint.name
        endpoint.__signature__ = self.endpoint.signature  # type: ignore[attr-defined]
        return endpoint


def _sync_function(call: Callable[..., Any]) -> Callable[..., Any]:
    """A plain function calling `call` (a bound method cannot carry a signature)."""

    def endpoint(*args: Any, **kwargs: Any) -> Any:
        return call(*args, **kwargs)

    return endpoint


def _async_function(
    call: Callable[..., Coroutine[Any, Any, Any]],
) -> Callable[..., Coroutine[Any, Any, Any]]:
    """An `async def` awaiting `call`, so `inspect.iscoroutinefunction` holds."""

    async def endpoint(*args: Any, **kwargs: Any) -> Any:
        return await call(*args, **kwargs)

    return endpoint


class _DependencyProxy:
    """What a Chainlet gets for `depends(X)` under `run_local(serialize=True)`.

    Like the deployed client, it has only the endpoint; other attributes raise.
    """

    def __init__(self, call: _WireCall) -> None:
        self._call = call
        setattr(self, call.endpoint.name, call.entry())

    def __repr__(self) -> str:
        return f"<run_local proxy of `{self._call.endpoint.service}` for `{self._call.caller}`>"

    def __getattr__(self, item: str) -> Any:
        if item.startswith("__"):
            raise AttributeError(item)
        endpoint = self._call.endpoint
        raise AttributeError(
            f"run_local: dependency `{self._call.caller}` has no attribute `{item}`: "
            f"deployed, a dependency is a client with only `{endpoint.name}`. Call "
            f"`{endpoint.name}`, or use `run_local(serialize=False)` for the instance."
        )


class _LocalRun:
    """The state of one `run_local` block: instances, wire codecs, the build stack."""

    def __init__(
        self,
        secrets: Mapping[str, str],
        data_dir: pathlib.Path | None,
        chainlet_to_service: Mapping[str, DeployedServiceDescriptor],
        serialize: bool,
    ) -> None:
        self._secrets = dict(secrets)
        self._data_dir = data_dir
        self._services = dict(chainlet_to_service)
        self._serialize = serialize
        self._instances: dict[type[Any], Any] = {}
        self._endpoints: dict[type[Any], _Endpoint] = {}
        self._building: list[type[Any]] = []

    def fill(
        self,
        init: Callable[..., None],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        """`LOCAL_INIT_HOOK`: `kwargs` plus the unset markers of `init`, filled in."""
        signature = inspect.signature(init)
        try:
            bound = signature.bind_partial(instance, *args, **kwargs)
        except TypeError:
            return kwargs  # the original `__init__` reports the bad call
        unset = [
            param
            for param in signature.parameters.values()
            if param.kind in _NAMED
            and param.name not in bound.arguments
            and isinstance(
                param.default, ChainletDependencyMarker | ContextDependencyMarker
            )
        ]
        if not unset:
            return kwargs
        owner = type(instance)
        filled = dict(kwargs)
        self._building.append(owner)
        try:
            for param in unset:
                marker = param.default
                if isinstance(marker, ChainletDependencyMarker):
                    filled[param.name] = self._dependency(
                        f"{owner.__name__}.{param.name}",
                        marker.chainlet_cls,
                        use_binary=marker.options.use_binary,
                    )
                else:
                    filled[param.name] = self._context()
        finally:
            self._building.pop()
        return filled

    def _context(self) -> DeploymentContext:
        return DeploymentContext(
            secrets=dict(self._secrets),
            data_dir=self._data_dir,
            chainlet_to_service=dict(self._services),
        )

    def _dependency(
        self, caller: str, target: type[Any], *, use_binary: bool = False
    ) -> Any:
        if issubclass(target, TrussChainlet):
            # A Truss directory is no class to run here (Truss's `run_local` refuses too).
            raise ChainsUsageError(
                f"run_local cannot make `{caller}`: `{target.__name__}` is a "
                "TrussChainlet, a Truss directory that runs only deployed (or under "
                f"`chainsc run`). Pass a stand-in as the argument (`{caller.rpartition('.')[2]}"
                "=...`, e.g. a `truss_chainlet.TrussHandle` of a server you run)."
            )
        if target not in self._instances:
            if target in self._building:
                cycle = [*self._building[self._building.index(target) :], target]
                raise ChainsUsageError(
                    "run_local: the Chainlets depend on each other in a cycle: "
                    + " -> ".join(cls.__name__ for cls in cycle)
                    + ". A chain's dependencies must form a DAG."
                )
            self._instances[target] = target()
        instance = self._instances[target]
        if not self._serialize:
            return instance
        if target not in self._endpoints:
            self._endpoints[target] = _endpoint_of(target)
        endpoint = self._endpoints[target]
        dispatcher = Dispatcher(endpoint.spec(), instance, endpoint.service)
        return _DependencyProxy(_WireCall(endpoint, dispatcher, caller, use_binary))


@contextlib.contextmanager
def run_local(
    secrets: Mapping[str, str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    chainlet_to_service: Mapping[str, DeployedServiceDescriptor] | None = None,
    *,
    serialize: bool = True,
) -> Iterator[None]:
    """Run Chainlets in this process with their dependencies injected (as Truss's).

    Inside the block, constructing a Chainlet (`Entry()`) fills each `__init__` parameter
    left at a `depends(X)` default with a local `X` (one per class per block, created on
    demand, recursively) and each `depends_context()` parameter with a
    `DeploymentContext`. Arguments given explicitly are kept. Blocks nest; each has its
    own instances. Outside a block, construction leaves the markers in place.

    Args:
        secrets: `DeploymentContext.secrets` (only these: a secret not given is absent,
            as with Truss, even if `remote_config.assets` declares it).
        data_dir: `DeploymentContext.data_dir`.
        chainlet_to_service: `DeploymentContext.chainlet_to_service`.
        serialize: send every dependency call's arguments, result and stream chunks
            through the wire's encoding (JSON, or msgpack for `use_binary=True`) and
            validation, so what would fail
            deployed fails here (`WireRoundTripError`, `RemoteValidationError`).
            `False` injects the plain instances.

    Yields:
        Nothing; construct the entrypoint inside the block.

    Raises:
        ChainsUsageError: (at construction) the dependencies form a cycle, or an
            endpoint's types cannot go over the wire.
    """
    run = _LocalRun(
        secrets or {},
        pathlib.Path(data_dir) if data_dir else None,
        chainlet_to_service or {},
        serialize,
    )
    token = LOCAL_INIT_HOOK.set(run.fill)
    try:
        yield
    finally:
        LOCAL_INIT_HOOK.reset(token)
