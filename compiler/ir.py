"""The intermediate representation: what a chain *is*, independent of syntax.

Stage: produced by `extract`, checked by `validate`, consumed by the back end.
Frozen, slotted dataclasses with tuples, so the IR is immutable, hashable and
JSON-serialisable (`chainsc.ir_dump`). Imports: the standard library and
`chainsc.source` only (no libcst, no jinja).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from chainsc.source import Span

#: A JSON scalar as it appears in configuration.
JsonScalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class JsonObject:
    """A JSON object with its keys in source order (a dict, kept immutable)."""

    items: tuple[tuple[str, JsonValue], ...] = ()

    def get(self, key: str) -> JsonValue:
        """The value under `key`, or None."""
        for name, value in self.items:
            if name == key:
                return value
        return None


#: A JSON value: arrays are tuples, objects are `JsonObject`.
JsonValue = JsonScalar | tuple["JsonValue", ...] | JsonObject


class TypeKind(enum.Enum):
    """What a `TypeRef` denotes."""

    #: `str`, `int`, `float`, `bool`, `bytes`.
    BUILTIN = "builtin"
    NONE = "none"
    ANY = "any"
    #: `list[T]`, `typing.List[T]`, `typing.Sequence[T]`.
    LIST = "list"
    #: `dict[str, T]`, `typing.Dict`, `typing.Mapping`.
    DICT = "dict"
    #: `tuple[A, B]`, or `tuple[T, ...]` when `is_variadic`.
    TUPLE = "tuple"
    #: `Union[A, B]`, `Optional[A]`, `A | B`; members flattened, in source order.
    UNION = "union"
    #: `Literal["a", 1]`.
    LITERAL = "literal"
    #: A user-defined pydantic model or enum; `name` is its `TypeDef.id`.
    USER = "user"
    #: `Iterator[T]`, `Generator[T, ...]`: a streamed (sync) return.
    ITERATOR = "iterator"
    #: `AsyncIterator[T]`, `AsyncGenerator[T, ...]`: a streamed (async) return.
    ASYNC_ITERATOR = "async_iterator"
    #: `pydantic_numpy.NumpyArrayField` (a numpy array on the wire).
    NUMPY_ARRAY = "numpy_array"
    #: A named alias of a type, imported by name wherever generated code needs it, so
    #: its constraints apply at run time. `name` is `module.Name`: a user alias (the id
    #: of its `TypeDef`, of kind ALIAS) or one of pydantic's (`pydantic.PositiveFloat`,
    #: which has no `TypeDef`). Its one arg is the aliased type: what it is on the wire.
    ALIAS = "alias"
    #: A constrained type written inline: `Annotated[T, ...]` or a pydantic
    #: `constr(...)`-style call. `name` is the expression as written in the module of the
    #: annotation (generated code re-spells it there); its one arg is `T`.
    CONSTRAINED = "constrained"
    #: A standard-library type pydantic validates and writes as JSON (`datetime.datetime`,
    #: `decimal.Decimal`, `uuid.UUID`, `pathlib.Path`, ...); `name` is its dotted path.
    #: Truss Chains takes one only inside a pydantic model, never as an endpoint's own type.
    STDLIB = "stdlib"
    #: `chains.WebSocketProtocol`: the one parameter of a websocket endpoint (the session,
    #: not data on the wire). Anywhere else it is reported (`chainsc.websocket_rules`).
    WEBSOCKET = "websocket"


@dataclass(frozen=True, slots=True)
class TypeRef:
    """A structured type expression; never evaluated, only read."""

    kind: TypeKind
    #: Builtin name, construct name, the `TypeDef.id` of a user type, the `module.Name`
    #: of an alias, or the expression of a constrained type.
    name: str
    args: tuple[TypeRef, ...] = ()
    #: Values of a `Literal[...]`.
    literals: tuple[JsonScalar, ...] = ()
    #: True for `tuple[T, ...]`.
    is_variadic: bool = False


def unaliased(ref: TypeRef) -> TypeRef:
    """`ref` with named aliases looked through: what it is on the wire."""
    while ref.kind is TypeKind.ALIAS and ref.args:
        ref = ref.args[0]
    return ref


class TypeDefKind(enum.Enum):
    """The kinds of user type an I/O signature may use."""

    PYDANTIC = "pydantic"
    ENUM = "enum"
    #: `Name = <type expression>` (`TypeAlias`, `constr(...)`, `NewType` included).
    ALIAS = "alias"


@dataclass(frozen=True, slots=True)
class Field:
    """A field of a pydantic model (its own, not inherited)."""

    name: str
    type: TypeRef
    #: The default as written in source (`Field(...)` calls included), or None.
    default_source: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class EnumMember:
    """One member of an `enum.Enum` subclass."""

    name: str
    #: The value as written in source.
    value_source: str


@dataclass(frozen=True, slots=True)
class TypeDef:
    """A user-defined I/O type: a pydantic model, an enum or a type alias."""

    #: `module.Qual.Name`, unique within a chain.
    id: str
    module: str
    #: Dotted path inside the module: `Outer.Inner` for nested classes.
    qualname: str
    kind: TypeDefKind
    span: Span
    #: `TypeDef.id`s of user pydantic bases, in MRO order of the class statement.
    bases: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    members: tuple[EnumMember, ...] = ()
    #: For an ALIAS: the aliased type (the same as the one arg of its `TypeRef`s).
    aliased: TypeRef | None = None


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of an endpoint (never `self`)."""

    name: str
    type: TypeRef
    #: The default as written in source, or None when required.
    default_source: str | None
    span: Span


class EndpointKind(enum.Enum):
    """How an endpoint is called: one HTTP request, or a websocket session."""

    #: A request with the arguments, a reply (or a stream of chunks).
    HTTP = "http"
    #: `async def run_remote(self, websocket: chains.WebSocketProtocol) -> None`: the
    #: endpoint talks to its caller over the websocket for as long as it runs.
    WEBSOCKET = "websocket"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The one remote method of a Chainlet (`run_remote`, or `predict`)."""

    name: str
    is_async: bool
    #: True when the return is an (async) iterator of `str` or `bytes`.
    is_streaming: bool
    params: tuple[Param, ...]
    returns: TypeRef
    span: Span

    @property
    def kind(self) -> EndpointKind:
        """WEBSOCKET when a parameter is the websocket (as Truss decides), else HTTP.

        Derived, not stored: a websocket endpoint is one whose parameters say so, so the
        two can never disagree.
        """
        if any(unaliased(p.type).kind is TypeKind.WEBSOCKET for p in self.params):
            return EndpointKind.WEBSOCKET
        return EndpointKind.HTTP

    @property
    def is_websocket(self) -> bool:
        """The endpoint serves a websocket session (`kind` is WEBSOCKET)."""
        return self.kind is EndpointKind.WEBSOCKET


@dataclass(frozen=True, slots=True)
class RPCOptions:
    """How a client calls a dependency; defaults are Truss Chains'."""

    #: Total number of attempts, as in Truss Chains (1 = no retry).
    retries: int = 1
    #: Timeout per attempt, in seconds.
    timeout_sec: float = 600.0
    #: msgpack instead of JSON on the wire.
    use_binary: bool = False
    #: Maximum concurrent requests from one caller process.
    concurrency_limit: int = 300


@dataclass(frozen=True, slots=True)
class Dependency:
    """An `__init__` parameter bound with `depends(Target, ...)`."""

    param: str
    #: `Chainlet.id` of the target.
    target: str
    options: RPCOptions
    span: Span


class BaseImageKind(enum.Enum):
    """A curated Baseten image or a custom one."""

    BASETEN = "baseten"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class BaseImage:
    """The image a package is built on."""

    kind: BaseImageKind = BaseImageKind.BASETEN
    #: `py311` style for Baseten images; the image reference for custom ones.
    image: str = "py311"
    #: Python version as Truss spells it (`py311`); None when unknown (custom).
    python_version: str | None = "py311"
    python_executable_path: str | None = None
    docker_auth: JsonObject | None = None


@dataclass(frozen=True, slots=True)
class DockerImage:
    """Software environment of a Chainlet."""

    base_image: BaseImage = BaseImage()
    pip_requirements: tuple[str, ...] = ()
    apt_requirements: tuple[str, ...] = ()
    #: Paths are relative to the chain root, POSIX style.
    requirements_file: str | None = None
    data_dir: str | None = None
    external_package_dirs: tuple[str, ...] = ()
    truss_server_version_override: str | None = None


@dataclass(frozen=True, slots=True)
class Compute:
    """Resources of one replica."""

    cpu_count: int = 1
    #: A Kubernetes quantity such as `2Gi`.
    memory: str = "2Gi"
    #: An accelerator name such as `H100`, or None.
    gpu: str | None = None
    gpu_count: int = 1
    #: Concurrent requests per replica (`"cpu_count"` already resolved).
    predict_concurrency: int = 1
    instance_type: str | None = None


@dataclass(frozen=True, slots=True)
class Assets:
    """Secrets, cached model repos, external data and weights."""

    secret_keys: tuple[str, ...] = ()
    cached: tuple[JsonObject, ...] = ()
    external_data: tuple[JsonObject, ...] = ()
    weights: tuple[JsonObject, ...] = ()


@dataclass(frozen=True, slots=True)
class ChainletOptions:
    """Serving options."""

    enable_b10_tracing: bool = False
    enable_debug_logs: bool = False
    env_variables: tuple[tuple[str, str], ...] = ()
    health_checks: JsonObject = JsonObject()
    metadata: JsonValue = None
    #: Seconds allowed between two streamed chunks.
    streaming_read_timeout: int = 60
    transport: JsonObject | None = None


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    """`remote_config`, evaluated statically."""

    docker_image: DockerImage = DockerImage()
    compute: Compute = Compute()
    assets: Assets = Assets()
    name: str | None = None
    options: ChainletOptions = ChainletOptions()
    build_commands: tuple[str, ...] = ()


class ChainletKind(enum.Enum):
    """What a Chainlet derives from, so what its package is.

    A `ChainletBase` (endpoint `run_remote`) or a `ModelBase` (`predict`) is the user's
    code in a generated package. The two others have no code of their own: an
    `EngineBuilderLLMChainlet` is a TensorRT-LLM engine Baseten builds from its
    `engine_builder_config` (its package is only `config.yaml`; its `run_remote` is
    Truss's, final), and a `TrussChainlet` is an existing Truss directory (`truss_dir`),
    carried as it is.
    """

    CHAINLET = "chainlet"
    MODEL = "model"
    ENGINE_BUILDER = "engine_builder"
    TRUSS = "truss"


@dataclass(frozen=True, slots=True)
class Chainlet:
    """One deployable service of the chain."""

    #: `module.ClassName`, unique within a chain.
    id: str
    #: The class name.
    name: str
    #: `remote_config.name` or the class name: the deployed service's name.
    display_name: str
    module: str
    span: Span
    kind: ChainletKind
    #: `Chainlet.id`s of user Chainlet base classes, nearest first.
    bases: tuple[str, ...]
    remote_config: RemoteConfig
    dependencies: tuple[Dependency, ...]
    #: Name of the `depends_context()` parameter, if any.
    context_param: str | None
    endpoint: Endpoint
    has_health_check: bool
    is_entrypoint: bool
    #: `TypeDef.id`s of every user type its endpoint needs (fields, bases and aliases too), sorted.
    types: tuple[str, ...] = ()
    #: ENGINE_BUILDER: `engine_builder_config`, the TensorRT-LLM configuration as JSON
    #: (what `config.yaml` holds under `trt_llm`: the arguments given, enums by value).
    engine_builder_config: JsonObject | None = None
    #: TRUSS: the Truss directory (`truss_dir`), relative to the chain root, POSIX.
    truss_dir: str | None = None

    @property
    def has_code(self) -> bool:
        """Whether its package is generated from the user's code (a `ChainletBase`, a `ModelBase`).

        An engine builder's package is its `config.yaml`; a TrussChainlet's, its Truss
        directory: neither carries a slice, a runtime or a server of chainsc's.
        """
        return self.kind in (ChainletKind.CHAINLET, ChainletKind.MODEL)


@dataclass(frozen=True, slots=True)
class Stub:
    """A `StubBase` subclass: a client for an already deployed model."""

    id: str
    name: str
    module: str
    span: Span
    #: Its typed `run_remote`, when it declares one.
    endpoint: Endpoint | None


@dataclass(frozen=True, slots=True)
class Module:
    """A source module of the chain (the chain file or a local module it imports)."""

    #: Dotted module name, as imported (the chain file's: its path under the chain root).
    name: str
    #: Display path relative to the chain root.
    path: str
    is_package: bool


@dataclass(frozen=True, slots=True)
class Chain:
    """A whole chain, as the back end needs it."""

    #: `mark_entrypoint("Name")`, else the entrypoint's display name.
    name: str
    #: Display path of the chain file.
    source: str
    #: `Chainlet.id` of the entrypoint.
    entrypoint: str
    #: Dependencies before dependents; source order breaks ties.
    chainlets: tuple[Chainlet, ...]
    #: Every user I/O type some endpoint needs, sorted by id.
    types: tuple[TypeDef, ...]
    stubs: tuple[Stub, ...]
    modules: tuple[Module, ...]
