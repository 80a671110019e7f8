"""What extraction saw, with spans: the syntax the rules of `validate` check.

Stage: produced by `extract` next to the IR, read by `validate`. Extraction
records what a chain's classes, methods and modules look like, including what the
IR cannot hold (a `@staticmethod` endpoint, a `*args` parameter, a second
entrypoint mark); each rule of `validate` is a small function over these records
(and the IR) that reports one kind of mistake with its code. Frozen dataclasses
with tuples, like the IR. Imports: source and ir only (no libcst).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chainsc import ir
from chainsc.source import Span


@dataclass(frozen=True, slots=True)
class ParamSeen:
    """A parameter of a method as written."""

    name: str
    #: The whole parameter (`x: int = 1`).
    span: Span
    #: Its name.
    name_span: Span
    #: Its annotation, None when it has none.
    annotation: Span | None = None
    #: The annotation as written (for messages).
    annotation_code: str = ""
    #: What the annotation converted to (None: none, or not converted).
    type_kind: ir.TypeKind | None = None
    #: The first standard-library type in it outside a pydantic model (`datetime.datetime`).
    stdlib_outside_models: str | None = None
    #: It is `chains.WebSocketProtocol` (through aliases): a websocket endpoint's parameter.
    is_websocket: bool = False
    #: `chains.WebSocketProtocol` is somewhere in it (itself included).
    has_websocket: bool = False


@dataclass(frozen=True, slots=True)
class DecoratorSeen:
    """A decorator that makes a method something other than an instance method."""

    #: `@staticmethod`, `@classmethod` or `@property`.
    kind: str
    span: Span


@dataclass(frozen=True, slots=True)
class MethodSeen:
    """An endpoint method (`run_remote`, `predict`, a stub's `run_remote`) as written."""

    #: Qualified name of the class that defines it.
    owner: str
    name: str
    name_span: Span
    is_async: bool
    #: A stub's method: the user's own code, whose types Truss does not check.
    is_stub: bool
    decorators: tuple[DecoratorSeen, ...]
    #: `*args` and `**kwargs`, with their stars.
    stars: tuple[tuple[str, ParamSeen], ...]
    positional_only: tuple[ParamSeen, ...]
    #: Positional-only, then positional-or-keyword parameters (`self` included).
    positional: tuple[ParamSeen, ...]
    keyword_only: tuple[ParamSeen, ...]
    #: The return annotation, None when it has none.
    returns: ParamSeen | None
    #: Whether its body yields.
    yields: bool


@dataclass(frozen=True, slots=True)
class HealthSeen:
    """An `is_healthy` method as written."""

    #: Its parameters after `self`, and its `*args`/`**kwargs`.
    extra: tuple[Span, ...]
    stars: tuple[Span, ...]
    #: Whether its return annotation is `bool`; where it is (else its name).
    returns_bool: bool
    returns: Span | None
    name_span: Span
    #: Its first parameter when it is not `self`, or its name when it has none.
    not_self: Span | None = None
    #: `@staticmethod`, `@classmethod`, `@property`: no instance method.
    decorators: tuple[DecoratorSeen, ...] = ()


@dataclass(frozen=True, slots=True)
class InitParamSeen:
    """An `__init__` parameter of a Chainlet and what its default is."""

    name: str
    span: Span
    name_span: Span
    #: `chains.depends`, `chains.depends_context`, or None for anything else.
    marker: str | None
    #: For a dependency that resolved to a Chainlet: its id; where its class is written.
    target: str | None = None
    target_span: Span | None = None
    #: Its default value and its annotation, where written (None: none).
    default: Span | None = None
    annotation: Span | None = None
    annotation_code: str = ""
    #: Whether the annotation is `chains.DeploymentContext` (or a subclass), or `None`
    #: (Truss allows both for the context); True when there is no annotation.
    annotation_is_context: bool = True


@dataclass(frozen=True, slots=True)
class InitSeen:
    """A Chainlet's `__init__` as written (checked once per class that defines it)."""

    #: Qualified name of the class that defines it.
    owner: str
    stars: tuple[tuple[str, ParamSeen], ...]
    #: Positional-only parameters other than `self`.
    positional_only: tuple[ParamSeen, ...]
    #: Every parameter after `self`.
    params: tuple[InitParamSeen, ...]
    #: Where `__init__` is named.
    name_span: Span | None = None
    #: The instance parameter when it is not called `self` (its first positional
    #: parameter), or the name when it has none; None when it is `self`.
    not_self: Span | None = None
    #: Whether what it constructs takes dependencies: a `ModelBase` takes only the context.
    supports_dependencies: bool = True
    #: What constructs it: "Chainlet", or "ModelBase" (for messages).
    entity: str = "Chainlet"


@dataclass(frozen=True, slots=True)
class DependencySeen:
    """A `depends(...)` default whose target is a Chainlet."""

    #: Qualified name of the Chainlet whose `__init__` it is.
    owner: str
    #: The target as written, its qualified name, and where it is written.
    written: str
    target: str
    target_span: Span
    #: Defined further down the same module than the Chainlet that uses it.
    is_defined_after: bool
    #: The `__init__` parameter.
    param: str = ""
    #: The parameter's annotation (where, as written), None when it has none.
    annotation: Span | None = None
    annotation_code: str = ""
    #: Whether the annotation names the Chainlet, one of its bases, a `typing.Protocol`,
    #: `ChainletBase` or `Any` (a string that is no name cannot be told: True).
    annotation_fits: bool = True


@dataclass(frozen=True, slots=True)
class ChainletSeen:
    """A Chainlet of the chain: its marks and whether it is deployed on its own."""

    id: str
    qualname: str
    name_span: Span
    #: `mark_entrypoint` decorators: their spans and the chain name given, if any.
    marks: tuple[tuple[Span, str | None], ...]
    #: Not only a base class of other Chainlets (or marked): deployed.
    is_concrete: bool
    #: The display names it answers to on the command line (`--entrypoint`).
    names: tuple[str, ...] = ()
    #: Its display name (`RemoteConfig(name=...)`, else the class name), and where that
    #: `name=` value is written (None: the class name is the display name).
    display_name: str = ""
    display_span: Span | None = None
    #: A `chains.ModelBase`: Truss allows it any display name.
    is_model: bool = False


@dataclass(frozen=True, slots=True)
class ModuleSeen:
    """A source module: its name and path, for the rules about module names."""

    name: str
    path: str
    is_package: bool


@dataclass(frozen=True, slots=True)
class HiddenClassSeen:
    """A Chainlet class defined inside a function, loop or `with` block."""

    name: str
    span: Span
    #: Where it is: "function `f`", "a `for` loop", ...
    where: str


@dataclass(frozen=True, slots=True)
class KindSeen:
    """An engine-builder Chainlet or a TrussChainlet: what its class declares (`chainsc.kinds`)."""

    id: str
    qualname: str
    kind: ir.ChainletKind
    name_span: Span
    #: Whether it declares what its kind needs (`engine_builder_config`, `truss_dir`).
    declares: bool = True
    #: A `run_remote` the class (or a user base) defines: an engine builder's is final.
    run_remote: Span | None = None
    #: `__init__` parameters that default to `depends(...)`/`depends_context()`:
    #: (the API name, the parameter's span).
    init_markers: tuple[tuple[str, Span], ...] = ()


@dataclass(frozen=True, slots=True)
class TransportSeen:
    """A Chainlet's `ChainletOptions(transport=...)`, when it sets one."""

    #: Qualified name of the Chainlet.
    chainlet: str
    #: `http`, `websocket` or `grpc`; None when it is none of Truss's (reported when read).
    kind: str | None
    #: The value's expression.
    span: Span
    #: The Chainlet's endpoint is a websocket endpoint.
    endpoint_is_websocket: bool


@dataclass(frozen=True, slots=True)
class Observations:
    """Everything extraction saw that a rule checks."""

    #: Display path of the chain file.
    main_path: str
    #: The `--entrypoint` option, if given.
    entrypoint_option: str | None
    #: Whether the chain file defines a Chainlet at all.
    has_chainlets: bool = False
    #: The Chainlets of the chain: those of the chain file that are deployed (in source
    #: order), then their dependencies, breadth first.
    chainlets: tuple[ChainletSeen, ...] = ()
    #: Classes of the chain file marked as the entrypoint that are no Chainlets.
    marked_non_chainlets: tuple[tuple[str, Span], ...] = ()
    #: Chainlets without an endpoint: (qualname, endpoint name, class name span).
    missing_endpoints: tuple[tuple[str, str, Span], ...] = ()
    methods: tuple[MethodSeen, ...] = ()
    health_checks: tuple[HealthSeen, ...] = ()
    inits: tuple[InitSeen, ...] = ()
    modules: tuple[ModuleSeen, ...] = ()
    hidden_classes: tuple[HiddenClassSeen, ...] = ()
    #: `depends(...)`/`depends_context()` calls anywhere but an `__init__` default:
    #: (the API name, the call's span).
    misplaced_markers: tuple[tuple[str, Span], ...] = ()
    dependencies: tuple[DependencySeen, ...] = ()
    #: Methods the framework calls (the endpoint, `is_healthy`) that are class attributes
    #: instead: (Chainlet qualname, name, the assignment's target, whether the value is a
    #: function: a method Python makes, but whose signature chainsc reads from a `def`).
    attribute_members: tuple[tuple[str, str, Span, bool], ...] = ()
    #: Chainlets constructed by hand where the chain runs (`Other()` in a method, a
    #: helper function, a class body): (the Chainlet's qualname, the call).
    constructions: tuple[tuple[str, Span], ...] = ()
    #: Tests of module-level `if`s around Chainlets that are not static: (the test, its
    #: text, why it is not static).
    conditions: tuple[tuple[Span, str, str], ...] = ()
    #: The engine-builder Chainlets and TrussChainlets of the chain.
    kinds: tuple[KindSeen, ...] = ()
    #: Ids of the Chainlets whose endpoint is a websocket endpoint.
    websocket_chainlets: tuple[str, ...] = ()
    transports: tuple[TransportSeen, ...] = ()


def choose_entrypoint(seen: Observations) -> tuple[str | None, str | None]:
    """(Chainlet id, chain name) of the entrypoint; (None, None) when the chain does not say.

    `--entrypoint`, else the one marked, else the only Chainlet deployed on its own.
    Extraction builds the chain around this choice; `validate.check_entrypoint` says
    why there is none.
    """
    if seen.entrypoint_option is not None:
        found = next(
            (c for c in seen.chainlets if seen.entrypoint_option in c.names), None
        )
        return (found.id, None) if found is not None else (None, None)
    marked = [
        (chainlet, name)
        for chainlet in seen.chainlets
        for _span, name in chainlet.marks
    ]
    if len(marked) == 1:
        return marked[0][0].id, marked[0][1]
    concrete = [chainlet for chainlet in seen.chainlets if chainlet.is_concrete]
    if not marked and len(concrete) == 1:
        return concrete[0].id, None
    return None, None


def takes_self(decorators: Sequence[DecoratorSeen], first: str | None) -> bool:
    """Whether a method's first positional parameter is the instance (or class): no parameter of the endpoint.

    `self` of an instance method, the first parameter of a `@classmethod`; a
    `@staticmethod` or `@property` endpoint (reported) has none.
    """
    kind = decorators[-1].kind if decorators else None
    return (kind == "@classmethod" and first is not None) or (
        kind is None and first == "self"
    )
