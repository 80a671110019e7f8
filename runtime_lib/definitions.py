"""The Truss Chains authoring API: base classes, markers and configuration models.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). Same public names, fields, defaults and semantics as `truss_chains` 0.18, so a
chain file written for Truss imports and type-checks against this module unchanged. What
Truss does at deploy time (validation, code generation) is chainsc's compiler's job; here
the names only have to exist, hold their values and behave at run time.

Imports only the standard library, pydantic and `.errors`; never imports `compiler`.
"""

from __future__ import annotations

import contextvars
import enum
import functools
import logging
import os
import pathlib
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar, cast, overload

import pydantic

from .errors import ChainsRuntimeError, ChainsUsageError, MissingDependencyError

__all__ = [
    "CHAIN_API_KEY_NAME",
    "CHAIN_API_KEY_SECRET_NAME",
    "CPU_COUNT",
    "DEFAULT_CONCURRENCY_LIMIT",
    "DEFAULT_TIMEOUT_SEC",
    "SECRET_DUMMY",
    "AbsPath",
    "AssetSpec",
    "Assets",
    "BasetenImage",
    "ChainletBase",
    "ChainletDependencyMarker",
    "ChainletMetadata",
    "ChainletOptions",
    "Compute",
    "ComputeSpec",
    "ContextDependencyMarker",
    "CpuCountT",
    "CustomImage",
    "DeployedServiceDescriptor",
    "DeploymentContext",
    "DockerImage",
    "Environment",
    "HealthChecks",
    "JsonType",
    "ModelBase",
    "RPCOptions",
    "RemoteConfig",
    "ServiceDescriptorUrls",
    "TrussChainlet",
    "depends",
    "depends_context",
    "make_abs_path_here",
    "mark_entrypoint",
]

SECRET_DUMMY = "***"
DEFAULT_TIMEOUT_SEC = 600.0
DEFAULT_CONCURRENCY_LIMIT = 300
#: The secret holding the API key Chainlets send to each other on Baseten.
CHAIN_API_KEY_SECRET_NAME = "baseten_chain_api_key"
#: The name of that API key on Baseten.
CHAIN_API_KEY_NAME = "baseten-chain-api-key"
#: `Compute(predict_concurrency=CPU_COUNT)`: as many concurrent predictions as CPUs.
CpuCountT = Literal["cpu_count"]
CPU_COUNT: CpuCountT = "cpu_count"
#: The type of `ChainletOptions.metadata`: any JSON value.
JsonType = pydantic.JsonValue

_T = TypeVar("_T")
_ChainletT = TypeVar("_ChainletT", bound=type[Any])

#: `(original __init__, self, args, kwargs) -> kwargs` with the unset `depends(...)` and
#: `depends_context()` parameters filled in.
LocalInitHook = Callable[
    [Callable[..., None], Any, tuple[Any, ...], dict[str, Any]], dict[str, Any]
]
#: Set only inside `run_local` (`.local`); every Chainlet `__init__` consults it.
LOCAL_INIT_HOOK: contextvars.ContextVar[LocalInitHook | None] = contextvars.ContextVar(
    "chainsc_local_init_hook", default=None
)

# Truss's `SafeModel` and `SafeModelNonSerializable` configurations.
_SAFE = pydantic.ConfigDict(strict=True, validate_assignment=True)
_SAFE_NON_SERIALIZABLE = pydantic.ConfigDict(
    strict=True, validate_assignment=True, arbitrary_types_allowed=True, extra="forbid"
)


# Configuration #########################################################################


class AbsPath:
    """A path made absolute relative to the module that created it (`make_abs_path_here`)."""

    def __init__(
        self, abs_file_path: str, creating_module: str, original_path: str
    ) -> None:
        self._abs_file_path = abs_file_path
        self._creating_module = creating_module
        self._original_path = original_path

    def __repr__(self) -> str:
        return f"AbsPath({self._original_path!r} -> {self._abs_file_path!r})"

    @property
    def abs_path(self) -> str:
        """The absolute path; raises `MissingDependencyError` if nothing is there."""
        path = pathlib.Path(self._abs_file_path)
        if not (path.is_file() or (path.is_dir() and any(path.iterdir()))):
            raise MissingDependencyError(
                f"With the file path `{self._original_path}` an absolute path relative "
                f"to the calling module `{self._creating_module}` was created, "
                f"resulting `{self._abs_file_path}` - but no file was found."
            )
        return self._abs_file_path


def make_abs_path_here(file_path: str) -> AbsPath:
    """A path relative to the *immediately calling* module's file, as in Truss Chains.

    Call it directly where the path is needed (not through a helper function): the
    caller's file is the reference point.
    """
    module_path = sys._getframe(1).f_code.co_filename
    abs_file_path = file_path
    if not pathlib.Path(file_path).is_absolute():
        module_dir = pathlib.Path(module_path).absolute().parent
        # normpath, not resolve(): `..` is applied lexically and symlinks are kept (Truss).
        abs_file_path = os.path.normpath(module_dir / file_path)
    return AbsPath(abs_file_path, module_path, file_path)


class BasetenImage(enum.Enum):
    """Default base images, by Python version."""

    PY39 = "py39"
    PY310 = "py310"
    PY311 = "py311"


class CustomImage(pydantic.BaseModel):
    """A custom base image from a registry."""

    model_config = _SAFE

    image: str
    python_executable_path: str | None = None
    #: A `truss_config.DockerAuthSettings` (kept as given; only the compiler reads it).
    docker_auth: Any = None


class DockerImage(pydantic.BaseModel):
    """The image a Chainlet runs in: base image, pip and apt requirements, data."""

    model_config = _SAFE_NON_SERIALIZABLE

    base_image: BasetenImage | CustomImage = BasetenImage.PY311
    pip_requirements_file: AbsPath | None = pydantic.Field(
        default=None, deprecated="Use `requirements_file` instead."
    )
    pip_requirements: list[str] = pydantic.Field(default_factory=list)
    apt_requirements: list[str] = pydantic.Field(default_factory=list)
    requirements_file: AbsPath | None = None
    data_dir: AbsPath | None = None
    external_package_dirs: list[AbsPath] | None = None
    truss_server_version_override: str | None = None

    @pydantic.model_validator(mode="before")
    @classmethod
    def _migrate_fields(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        if isinstance(values.get("base_image"), str):
            raise ChainsUsageError(
                "`DockerImage.base_image` as string is deprecated. Specify as "
                "`BasetenImage` or `CustomImage`."
            )
        if values.get("pip_requirements_file"):
            if values.get("requirements_file"):
                raise ChainsUsageError(
                    "Cannot specify both `pip_requirements_file` and `requirements_file`."
                    " Use `requirements_file` only — `pip_requirements_file` is deprecated."
                )
            logging.getLogger(__name__).warning(
                "`DockerImage.pip_requirements_file` is deprecated, use "
                "`requirements_file` instead."
            )
            values = {**values, "requirements_file": values["pip_requirements_file"]}
        return values


class ComputeSpec(pydantic.BaseModel):
    """The parsed `Compute` (Truss nests the GPU in an `AcceleratorSpec`; here it is flat)."""

    cpu_count: int = 1
    predict_concurrency: int = 1
    memory: str = "2Gi"
    gpu: str | None = None
    gpu_count: int = 1
    instance_type: str | None = None


class Compute:
    """The compute resources of a Chainlet (same constructor as Truss Chains).

    `predict_concurrency="cpu_count"` means the value of `cpu_count`.
    """

    def __init__(  # noqa: PLR0917  # Truss's signature takes them positionally
        self,
        cpu_count: int = 1,
        memory: str = "2Gi",
        gpu: str | enum.Enum | None = None,
        gpu_count: int = 1,
        predict_concurrency: int | CpuCountT = 1,
        instance_type: str | None = None,
    ) -> None:
        if predict_concurrency == CPU_COUNT:
            concurrency = cpu_count
        elif isinstance(predict_concurrency, int):
            concurrency = predict_concurrency
        else:
            raise ChainsUsageError(
                f"`predict_concurrency` must be an int or 'cpu_count', got {predict_concurrency!r}."
            )
        gpu_name = str(gpu.value) if isinstance(gpu, enum.Enum) else gpu
        self._spec = ComputeSpec(
            cpu_count=cpu_count,
            predict_concurrency=concurrency,
            memory=memory,
            gpu=gpu_name or None,
            gpu_count=gpu_count,
            instance_type=instance_type,
        )

    def __repr__(self) -> str:
        return f"Compute({self._spec!r})"

    def get_spec(self) -> ComputeSpec:
        """A copy of the parsed compute resources."""
        return self._spec.model_copy(deep=True)


class AssetSpec(pydantic.BaseModel):
    """The parsed `Assets`: secret names map to the placeholder `"***"`."""

    secrets: dict[str, str] = pydantic.Field(default_factory=dict)
    cached: list[Any] = pydantic.Field(default_factory=list)
    external_data: list[Any] = pydantic.Field(default_factory=list)
    weights: list[Any] = pydantic.Field(default_factory=list)


class Assets:
    """Secrets, cached models, external data and weights of a Chainlet (as Truss Chains).

    The items of `cached`, `external_data` and `weights` are Truss config objects; they
    are kept as given (the compiler evaluates them statically).
    """

    def __init__(
        self,
        cached: Iterable[Any] = (),
        secret_keys: Iterable[str] = (),
        external_data: Iterable[Any] = (),
        weights: Iterable[Any] = (),
    ) -> None:
        self._spec = AssetSpec(
            secrets=dict.fromkeys(secret_keys, SECRET_DUMMY),
            cached=list(cached),
            external_data=list(external_data),
            weights=list(weights),
        )

    def __repr__(self) -> str:
        return f"Assets({self._spec!r})"

    def get_spec(self) -> AssetSpec:
        """A copy of the parsed assets."""
        return self._spec.model_copy(deep=True)


class HealthChecks(pydantic.BaseModel):
    """Truss's health check settings (`truss_config.HealthChecks`)."""

    restart_check_delay_seconds: int | None = None
    restart_threshold_seconds: int | None = None
    stop_traffic_threshold_seconds: int | None = None
    startup_threshold_seconds: int | None = None


class ChainletOptions(pydantic.BaseModel):
    """Runtime options of a Chainlet's deployment."""

    model_config = _SAFE_NON_SERIALIZABLE

    enable_b10_tracing: bool = False
    enable_debug_logs: bool = False
    env_variables: Mapping[str, str] = pydantic.Field(default_factory=dict)
    #: A `HealthChecks` (this module's or `truss_config`'s).
    health_checks: Any = pydantic.Field(default_factory=HealthChecks)
    metadata: JsonType | None = None
    #: Seconds a caller waits for each chunk of this Chainlet's stream (per chunk, not
    #: for the whole stream).
    streaming_read_timeout: int = 60
    #: A `truss_config` transport (HTTP, websocket, gRPC options), kept as given.
    transport: Any = None


class RemoteConfig(pydantic.BaseModel):
    """Everything needed to deploy a Chainlet; set as the class variable `remote_config`."""

    model_config = _SAFE_NON_SERIALIZABLE

    docker_image: DockerImage = pydantic.Field(default_factory=DockerImage)
    compute: Compute = pydantic.Field(default_factory=Compute)
    assets: Assets = pydantic.Field(default_factory=Assets)
    name: str | None = None
    options: ChainletOptions = pydantic.Field(default_factory=ChainletOptions)
    build_commands: list[str] = pydantic.Field(default_factory=list)

    def get_compute_spec(self) -> ComputeSpec:
        """The parsed compute resources."""
        return self.compute.get_spec()

    def get_asset_spec(self) -> AssetSpec:
        """The parsed assets."""
        return self.assets.get_spec()


class RPCOptions(pydantic.BaseModel):
    """How a Chainlet calls a dependency (the arguments of `depends`).

    Attributes:
        retries: the **total number of attempts** (Truss semantics): 1 = a single
            attempt, 3 = up to three; values below 1 mean 1. Only connection errors,
            timeouts and HTTP 502/503/504 are retried; a stream only before its first
            chunk.
        timeout_sec: the timeout of each attempt, in seconds (for streams: until the
            reply starts; between two chunks, the target's
            `ChainletOptions.streaming_read_timeout` applies instead).
        use_binary: send msgpack instead of JSON (bytes and numpy arrays).
        concurrency_limit: the most requests in flight to the dependency from one
            client; more wait for a free slot.
    """

    model_config = _SAFE

    retries: int = 1
    timeout_sec: float = DEFAULT_TIMEOUT_SEC
    use_binary: bool = False
    concurrency_limit: int = DEFAULT_CONCURRENCY_LIMIT


class Environment(pydantic.BaseModel):
    """The environment a Chainlet is deployed in."""

    model_config = _SAFE

    name: str


class ServiceDescriptorUrls(pydantic.BaseModel):
    """Where a Chainlet is served: one entry of Baseten's `dynamic_chainlet_config`.

    `predict_url` is the full URL to post to. `internal_url` (it wins when both are
    given) is Baseten's in-cluster route: post to `gateway_run_remote_url` with the
    header `Host: <hostname>`.
    """

    model_config = _SAFE

    class InternalURL(pydantic.BaseModel):
        """A gateway URL (scheme and path included) and the Host it routes by."""

        model_config = _SAFE

        gateway_run_remote_url: str
        hostname: str

        def __str__(self) -> str:
            return f"{self.gateway_run_remote_url} (-> {self.hostname})"

    predict_url: str | None = None
    internal_url: InternalURL | None = None

    @pydantic.model_validator(mode="after")
    def _check_at_least_one_url(self) -> ServiceDescriptorUrls:
        if not self.predict_url and not self.internal_url:
            raise ValueError(
                "At least one of 'predict_url' or 'internal_url' must be provided."
            )
        return self


class DeployedServiceDescriptor(ServiceDescriptorUrls):
    """Where a dependency is served and how to call it."""

    name: str
    display_name: str
    options: RPCOptions


class DeploymentContext(pydantic.BaseModel):
    """What a Chainlet's `__init__` gets through `depends_context()`.

    Attributes:
        chainlet_to_service: dependency Chainlet name -> where it is served.
        secrets: secret name -> value, for the secrets in `remote_config.assets`.
        data_dir: the directory of the Chainlet's data files, if any.
        environment: the deployment environment, if any.
    """

    model_config = _SAFE_NON_SERIALIZABLE

    chainlet_to_service: Mapping[str, DeployedServiceDescriptor] = pydantic.Field(
        default_factory=dict
    )
    secrets: Mapping[str, str] = pydantic.Field(default_factory=dict, repr=False)
    data_dir: pathlib.Path | None = None
    environment: Environment | None = None

    def get_service_descriptor(self, chainlet_name: str) -> DeployedServiceDescriptor:
        """The descriptor of a dependency; `MissingDependencyError` if unknown."""
        if chainlet_name not in self.chainlet_to_service:
            raise MissingDependencyError(chainlet_name)
        return self.chainlet_to_service[chainlet_name]

    def get_baseten_api_key(self) -> str:
        """The API key Chainlets call each other with (the secret `baseten_chain_api_key`)."""
        value = self.secrets.get(CHAIN_API_KEY_SECRET_NAME)
        if not value or value == SECRET_DUMMY:
            raise MissingDependencyError(
                f"No API key: the secret `{CHAIN_API_KEY_SECRET_NAME}` is not set."
            )
        return value


# Chainlets and markers ###################################################################


@dataclass
class ChainletMetadata:
    """Per-class flags set by `mark_entrypoint` (each subclass has its own copy)."""

    is_entrypoint: bool = False
    chain_name: str | None = None


def _hook_init_for_local(cls: type[Any]) -> None:
    """Wrap the `__init__` that `cls` defines so `run_local` can fill its markers.

    Outside `run_local` the wrapper only calls the original `__init__`.
    """
    init = cls.__dict__.get("__init__")
    if init is None:
        return

    @functools.wraps(init)
    def init_for_local(self: Any, *args: Any, **kwargs: Any) -> None:
        hook = LOCAL_INIT_HOOK.get()
        if hook is not None:
            kwargs = hook(init, self, args, kwargs)
        init(self, *args, **kwargs)

    cls.__init__ = init_for_local


class ChainletBase:
    """Base class of Chainlets: the endpoint is `run_remote`."""

    remote_config: ClassVar[RemoteConfig] = RemoteConfig()
    meta_data: ClassVar[ChainletMetadata] = ChainletMetadata()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.meta_data = ChainletMetadata()
        _hook_init_for_local(cls)


class ModelBase:
    """Base class of standalone models: the endpoint is `predict`; always an entrypoint."""

    remote_config: ClassVar[RemoteConfig] = RemoteConfig()
    meta_data: ClassVar[ChainletMetadata] = ChainletMetadata(is_entrypoint=True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.meta_data = ChainletMetadata(is_entrypoint=True)
        _hook_init_for_local(cls)


class TrussChainlet:
    """An existing Truss directory (`truss_dir`) as a Chainlet that only receives calls.

    Never an entrypoint, no dependencies of its own, no `run_remote`: the Truss
    directory is deployed as it is, and a Chainlet that depends on it gets a
    `truss_chainlet.TrussHandle` (its URL and headers) to call it over HTTP.
    """

    remote_config: ClassVar[RemoteConfig] = RemoteConfig()
    meta_data: ClassVar[ChainletMetadata] = ChainletMetadata()
    #: The Truss directory, relative to the file that defines the class.
    truss_dir: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.meta_data = ChainletMetadata()


class _Marker:
    """A placeholder default the serving adapter replaces; any use of it is an error."""

    def _misuse(self) -> str:
        raise NotImplementedError

    def __getattr__(self, item: str) -> Any:
        if item.startswith("__"):
            raise AttributeError(item)
        raise ChainsRuntimeError(self._misuse())


class ContextDependencyMarker(_Marker):
    """The value of `depends_context()` before injection."""

    def __repr__(self) -> str:
        return "ContextDependencyMarker()"

    def _misuse(self) -> str:
        return (
            "`depends_context()` was used outside the default of a Chainlet `__init__` "
            "parameter, or the Chainlet was constructed without its context. Write "
            "`def __init__(self, context=chains.depends_context())`."
        )


class ChainletDependencyMarker(_Marker):
    """The value of `depends(X, ...)` before injection: the target and its RPC options."""

    def __init__(self, chainlet_cls: type[Any], options: RPCOptions) -> None:
        self.chainlet_cls = chainlet_cls
        self.options = options

    def __repr__(self) -> str:
        return f"ChainletDependencyMarker({self.chainlet_cls.__name__})"

    def _misuse(self) -> str:
        name = self.chainlet_cls.__name__
        return (
            f"`depends({name})` was used outside the default of a Chainlet `__init__` "
            f"parameter, or the Chainlet was constructed without its dependencies. Write "
            f"`def __init__(self, dep=chains.depends({name}))` and let the runtime build it."
        )


def depends_context() -> DeploymentContext:
    """Mark an `__init__` parameter as the `DeploymentContext` (injected at run time).

    Returns:
        A marker typed as `DeploymentContext`, so the Chainlet's code type-checks; the
        serving adapter passes the real context in its place.
    """
    return cast(DeploymentContext, ContextDependencyMarker())


def depends(
    chainlet_cls: type[_T],
    retries: int = 1,
    timeout_sec: float = DEFAULT_TIMEOUT_SEC,
    use_binary: bool = False,
    concurrency_limit: int = DEFAULT_CONCURRENCY_LIMIT,
) -> _T:
    """Mark an `__init__` parameter as a dependency on another Chainlet.

    Args:
        chainlet_cls: the dependency's Chainlet class.
        retries: the total number of attempts per call (1 = no retry).
        timeout_sec: the timeout of each attempt, in seconds.
        use_binary: send msgpack instead of JSON.
        concurrency_limit: the most requests in flight to the dependency.

    Returns:
        A marker typed as an instance of `chainlet_cls`, so calls on it type-check; the
        serving adapter passes a client of the dependency in its place.
    """
    options = RPCOptions(
        retries=retries,
        timeout_sec=timeout_sec,
        use_binary=use_binary,
        concurrency_limit=concurrency_limit,
    )
    return cast(_T, ChainletDependencyMarker(chainlet_cls, options))


@overload
def mark_entrypoint(cls_or_chain_name: _ChainletT) -> _ChainletT: ...


@overload
def mark_entrypoint(cls_or_chain_name: str) -> Callable[[_ChainletT], _ChainletT]: ...


def mark_entrypoint(
    cls_or_chain_name: _ChainletT | str,
) -> _ChainletT | Callable[[_ChainletT], _ChainletT]:
    """Mark the chain's entrypoint: `@mark_entrypoint` or `@mark_entrypoint("Chain name")`."""

    def decorate(cls: _ChainletT) -> _ChainletT:
        if not issubclass(cls, ChainletBase | ModelBase):
            raise ChainsUsageError("Only Chainlet classes can be marked as entrypoint.")
        cls.meta_data.is_entrypoint = True
        if isinstance(cls_or_chain_name, str):
            cls.meta_data.chain_name = cls_or_chain_name
        return cls

    if isinstance(cls_or_chain_name, str):
        return decorate
    return decorate(cls_or_chain_name)
