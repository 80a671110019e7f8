"""Validate stage: the rules, a table of small functions, each with its codes.

Stage: after extract. Each rule is a function over what extraction saw
(`observations.Observations`: classes, endpoint signatures, `__init__`s, modules)
or over the IR of a chain that has one, and yields the diagnostics of one kind of
mistake; `RULES` and `CHAIN_RULES` list every rule with the codes it reports (documented in
`chainsc.codes`), as a linter's registry.
What extraction cannot represent at all (an annotation that is no type, a
configuration value that is not static, a dependency that is no Chainlet) it
reports itself, where it meets it. Imports: ir, observations, graph, diagnostics,
codes, and resolve's rules for module names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from chainsc import ir
from chainsc.codes import CODES
from chainsc.diagnostics import Diagnostic, Note, error, warning
from chainsc.graph import find_cycles, reachable
from chainsc.kinds import check_kinds
from chainsc.observations import (
    ChainletSeen,
    MethodSeen,
    Observations,
    ParamSeen,
    choose_entrypoint,
    takes_self,
)
from chainsc.resolve import is_module_name, suggested_module_name
from chainsc.source import Span
from chainsc.websocket_rules import (
    check_websocket_dependencies,
    check_websocket_endpoints,
    check_websocket_fields,
    check_websocket_transport,
)

#: Top-level module names of the generated packages (`chainsc.emit.slice`, and the Truss
#: entry `model/model.py`); a user module with one of them would shadow the generated code
#: or be shadowed by it (Truss's `utils.py` trap; Truss reserves `model.py` too).
RESERVED_MODULES = frozenset({"chainsc_runtime", "chainsc_generated", "model"})
_DEPENDS_CONTEXT = "chains.depends_context"
_DEPENDS = "chains.depends"
#: The name Truss passes the deployment context by.
_CONTEXT = "context"
_HEALTH_CHECK = "is_healthy"

#: What a rule checks: what extraction saw, or the IR.
Subject = TypeVar("Subject", Observations, ir.Chain)

_DISPLAY_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
#: The longest Chainlet display name: its package directory's name (snake_case, at most
#: 1.5 times as long, `package_dir_name`) stays far below the 255 bytes file systems allow.
MAX_DISPLAY_NAME = 100


#: The directory of a Chainlet whose display name has no letter or digit (`_`, `__`).
NAMELESS_PACKAGE_DIR = "chainlet"


def package_dir_name(display_name: str) -> str:
    """The output directory of a Chainlet: its display name in snake_case.

    Never empty: a name of underscores and dashes alone (a class named `_` is a valid
    Chainlet) gets `NAMELESS_PACKAGE_DIR`; two such names meet CSC108.
    """
    spaced = re.sub(
        r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", display_name
    )
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_") or NAMELESS_PACKAGE_DIR


def check_cycles(chain: ir.Chain) -> Iterator[Diagnostic]:
    """CSC308: a dependency cycle, named in order."""
    edges = {c.id: [d.target for d in c.dependencies] for c in chain.chainlets}
    by_id = {c.id: c for c in chain.chainlets}
    for cycle in find_cycles(edges):
        names = [by_id[node].name for node in cycle]
        first = by_id[cycle[0]]
        following = cycle[1] if len(cycle) > 1 else cycle[0]
        dependency = next(d for d in first.dependencies if d.target == following)
        yield error(
            "CSC308",
            f"dependency cycle: {' -> '.join([*names, names[0]])}",
            dependency.span,
            help="Chainlets must form a directed acyclic graph",
        )


def check_reachability(chain: ir.Chain) -> Iterator[Diagnostic]:
    """CSC105: a Chainlet of the chain file the entrypoint cannot reach."""
    edges = {c.id: [d.target for d in c.dependencies] for c in chain.chainlets}
    reached = reachable(edges, chain.entrypoint)
    entry = next(c for c in chain.chainlets if c.id == chain.entrypoint)
    for chainlet in chain.chainlets:
        if chainlet.id not in reached:
            yield warning(
                "CSC105",
                f"Chainlet `{chainlet.name}` is not reachable from the entrypoint `{entry.name}` and will not be deployed with it",
                chainlet.span,
            )


def check_display_names(seen: Observations) -> Iterator[Diagnostic]:
    """CSC106, CSC107, CSC108, CSC113: valid, unique display names and output directories.

    Each is reported at the `name=` value that gives it (else at the class name); the
    second of two uses, with a note at the first.
    """
    named: dict[str, ChainletSeen] = {}
    dirs: dict[str, ChainletSeen] = {}
    chainlets = seen.chainlets
    names = [c.display_name for c in chainlets]
    directories = [package_dir_name(name) for name in names]
    if len(set(names)) < len(names) or len(set(directories)) < len(directories):
        # Which of two is reported depends on where they are: the first in the sources is kept.
        chainlets = tuple(sorted(chainlets, key=lambda c: _position(_name_at(c))))
    for chainlet in chainlets:
        name = chainlet.display_name
        at = _name_at(chainlet)
        # A ModelBase may have any name (Truss checks only Chainlets'): its directory is made valid.
        if not chainlet.is_model and not _DISPLAY_NAME.match(name):
            yield error(
                "CSC106",
                f"Chainlet name `{name}` may only contain letters, digits, `_` and `-`",
                at,
                help="set `remote_config=chains.RemoteConfig(name=...)` to a valid name"
                if chainlet.display_span is None
                else None,
            )
            continue
        if len(name) > MAX_DISPLAY_NAME:
            # A `RemoteConfig(name=...)` that long is reported at the name (config); a class name here.
            if chainlet.display_span is None:
                yield error(
                    "CSC113",
                    f"Chainlet name `{name[:20]}...` of {len(name)} characters is too long: at most {MAX_DISPLAY_NAME}",
                    at,
                    help="the name is the package's directory name: set `remote_config=chains.RemoteConfig(name=...)` to a shorter one",
                )
            continue
        if name in named:
            first = named[name]
            yield error(
                "CSC107",
                f"Chainlet name `{name}` is already used by `{first.id}`",
                at,
                notes=(Note(f"`{name}` is first used here", _name_at(first)),),
            )
            continue
        named[name] = chainlet
        directory = package_dir_name(name)
        if directory in dirs:
            first = dirs[directory]
            yield error(
                "CSC108",
                f"Chainlets `{first.display_name}` and `{name}` would both be written to `{directory}/`",
                at,
                help="give one of them a distinct `RemoteConfig(name=...)`",
                notes=(Note(f"`{first.display_name}` is named here", _name_at(first)),),
            )
            continue
        dirs[directory] = chainlet


def _name_at(chainlet: ChainletSeen) -> Span:
    """Where a Chainlet's display name is written: its `name=` value, else its class name."""
    return chainlet.display_span or chainlet.name_span


def _position(span: Span) -> tuple[str, int, int]:
    return (span.path, span.line, span.col)


# ---------------------------------------------------------------- rules over what was seen


def check_entrypoint(seen: Observations) -> Iterator[Diagnostic]:
    """CSC101, CSC102, CSC103, CSC104, CSC110: one Chainlet is the entrypoint, and only Chainlets are marked."""
    for qualname, span in seen.marked_non_chainlets:
        yield error(
            "CSC110",
            f"`{qualname}` is marked as the entrypoint but is not a Chainlet",
            span,
        )
    if not seen.has_chainlets:
        yield error(
            "CSC101",
            f"no Chainlet in `{seen.main_path}`",
            Span.whole_file(seen.main_path),
            help="a Chainlet is a class deriving from `chains.ChainletBase` with a typed `run_remote`",
        )
        return
    if choose_entrypoint(seen)[0] is not None:
        return
    if seen.entrypoint_option is not None:
        known = ", ".join(sorted(c.qualname for c in seen.chainlets))
        yield error(
            "CSC104",
            f"`--entrypoint {seen.entrypoint_option}` names no Chainlet of the chain",
            Span.whole_file(seen.main_path),
            help=f"Chainlets: {known}",
        )
        return
    marked = [
        (chainlet, span)
        for chainlet in seen.chainlets
        for span, _name in chainlet.marks
    ]
    if len(marked) > 1:
        first = marked[0][0].qualname
        for chainlet, span in marked[1:]:
            yield error(
                "CSC103",
                f"`{chainlet.qualname}` is marked as the entrypoint, but so is `{first}`",
                span,
                help="a chain has exactly one entrypoint",
            )
        return
    concrete = [chainlet for chainlet in seen.chainlets if chainlet.is_concrete]
    yield error(
        "CSC102",
        f"the chain has {len(concrete)} Chainlets and none is marked as the entrypoint",
        concrete[0].name_span,
        help="decorate one with `@chains.mark_entrypoint` or pass `--entrypoint NAME` (or set `entrypoint` in its [[tool.chainsc.chain]] table in pyproject.toml)",
    )


def check_endpoint_exists(seen: Observations) -> Iterator[Diagnostic]:
    """CSC109: a Chainlet has its endpoint (`run_remote`, or `predict` for a ModelBase)."""
    for qualname, name, span in seen.missing_endpoints:
        yield error(
            "CSC109",
            f"Chainlet `{qualname}` has no `{name}` method",
            span,
            help=f"add `def {name}(self, ...) -> ...:` with typed parameters and return",
        )


def check_endpoint_method(seen: Observations) -> Iterator[Diagnostic]:
    """CSC201, CSC202, CSC203: the endpoint is an instance method taking named, not positional-only, parameters."""
    for _owner, name, span, is_function in seen.attribute_members:
        if name != _HEALTH_CHECK:
            yield error(
                "CSC201",
                _attribute_message(name, is_function),
                span,
                help=f"define `def {name}(self, ...) -> ...:` in the class, with typed parameters and return",
            )
    for method in seen.methods:
        name = method.name
        for decorator in method.decorators:
            yield error(
                "CSC201",
                f"`{name}` must be an instance method, not a {decorator.kind}",
                decorator.span,
                help="remove the decorator and take `self` as the first parameter",
            )
        for stars, param in method.stars:
            yield error(
                "CSC202",
                f"`{name}` cannot take `{stars}{param.name}`; list every parameter by name",
                param.span,
            )
        if not method.decorators and not takes_self(
            method.decorators, method.positional[0].name if method.positional else None
        ):
            yield error(
                "CSC201",
                f"`{name}` must take `self` as its first parameter",
                method.name_span,
            )
        positional_only = method.positional_only
        if positional_only and positional_only[0].name == "self":
            positional_only = positional_only[1:]
        for param in positional_only:
            if param.is_websocket:
                continue  # Truss passes the websocket positionally
            yield error(
                "CSC203",
                f"parameter `{param.name}` of `{name}` is positional-only; callers pass arguments by name",
                param.span,
            )


def check_endpoint_types(seen: Observations) -> Iterator[Diagnostic]:
    """CSC204, CSC205, CSC206: every endpoint parameter and the return are annotated, with types Truss takes there."""
    for method in seen.methods:
        name = method.name
        for param in _endpoint_parameters(method):
            if param.annotation is None:
                yield error(
                    "CSC204",
                    f"parameter `{param.name}` of `{name}` has no type annotation",
                    param.name_span,
                )
            elif param.type_kind in (ir.TypeKind.ITERATOR, ir.TypeKind.ASYNC_ITERATOR):
                yield error(
                    "CSC206",
                    f"parameter `{param.name}` cannot be an iterator; only returns stream",
                    param.annotation,
                )
            elif not method.is_stub and param.stdlib_outside_models is not None:
                yield _stdlib_outside_models(
                    f"parameter `{param.name}`",
                    param.annotation_code,
                    param.stdlib_outside_models,
                    param.annotation,
                )
        returns = method.returns
        if returns is None:
            yield error(
                "CSC205",
                f"`{name}` has no return annotation",
                method.name_span,
                help="annotate the return, e.g. `-> str` (or `-> None`)",
            )
        elif not method.is_stub and returns.stdlib_outside_models is not None:
            yield _stdlib_outside_models(
                f"the return of `{name}`",
                returns.annotation_code,
                returns.stdlib_outside_models,
                returns.span,
            )


def _attribute_message(name: str, is_function: bool) -> str:
    if is_function:
        # A function assigned in the class body is a method to Python (and Truss), but
        # its signature is read statically only from a `def` in the class.
        return f"`{name}` must be defined with `def` in the class, where chainsc reads its signature, not assigned"
    return f"`{name}` must be a method, not a class attribute"


def _endpoint_parameters(method: MethodSeen) -> list[ParamSeen]:
    positional = list(method.positional)
    if takes_self(method.decorators, positional[0].name if positional else None):
        positional = positional[1:]
    return [
        param for param in (*positional, *method.keyword_only) if param.name != "self"
    ]


def _stdlib_outside_models(
    what: str, written: str, found: str, span: Span
) -> Diagnostic:
    """CSC206 for `datetime.datetime` & co. as an endpoint's own type: Truss refuses them there."""
    return error(
        "CSC206",
        f"{what} is typed `{written}`: Truss Chains takes `{found}` only inside a pydantic model, not as an endpoint's own type",
        span,
        help=f"make it a field of a pydantic model (`class Request(pydantic.BaseModel): value: {found}`) and take or return that model",
    )


def check_streaming(seen: Observations) -> Iterator[Diagnostic]:
    """CSC208, CSC209: an endpoint yields exactly when its return type is an iterator of the right kind."""
    for method in seen.methods:
        name = method.name
        returns = method.returns
        kind = returns.type_kind if returns is not None else None
        is_streaming = kind in (ir.TypeKind.ITERATOR, ir.TypeKind.ASYNC_ITERATOR)
        at = returns.span if returns is not None else method.name_span
        if is_streaming and not method.yields:
            yield error(
                "CSC208",
                f"`{name}` returns an iterator but never yields",
                at,
                help="stream with `yield`, or return a plain type",
            )
        elif method.yields and not is_streaming and returns is not None:
            iterator = "AsyncIterator" if method.is_async else "Iterator"
            yield error(
                "CSC209",
                f"`{name}` yields, so its return type must be `{iterator}[str]` or `{iterator}[bytes]`",
                returns.span,
            )
        elif is_streaming and kind is ir.TypeKind.ITERATOR and method.is_async:
            yield error(
                "CSC209",
                f"async `{name}` yields, so its return type must be `AsyncIterator[...]`",
                at,
            )
        elif (
            is_streaming and kind is ir.TypeKind.ASYNC_ITERATOR and not method.is_async
        ):
            yield error(
                "CSC209",
                f"`{name}` is not async, so its return type must be `Iterator[...]`",
                at,
            )


def check_health_check(seen: Observations) -> Iterator[Diagnostic]:
    """CSC211: `is_healthy` is a method `def is_healthy(self) -> bool` (sync or async)."""
    for _owner, name, span, is_function in seen.attribute_members:
        if name == _HEALTH_CHECK:
            yield error(
                "CSC211",
                _attribute_message(name, is_function),
                span,
                help="define `def is_healthy(self) -> bool:` in the class",
            )
    for health in seen.health_checks:
        for decorator in health.decorators:
            yield error(
                "CSC211",
                f"`is_healthy` must be an instance method, not a {decorator.kind}",
                decorator.span,
                help="remove the decorator and take `self` as the only parameter",
            )
        if health.not_self is not None and not health.decorators:
            yield error(
                "CSC211",
                "`is_healthy` must take `self` as its first parameter",
                health.not_self,
            )
        bad_params = health.extra or health.stars
        if bad_params:
            yield error(
                "CSC211",
                "`is_healthy` must be `def is_healthy(self) -> bool`",
                bad_params[0],
            )
        if not health.returns_bool:
            yield error(
                "CSC211",
                "`is_healthy` must be `def is_healthy(self) -> bool`",
                health.returns or health.name_span,
            )


def check_init_parameters(seen: Observations) -> Iterator[Diagnostic]:
    """CSC305, CSC306, CSC310: every `__init__` parameter is a dependency (each Chainlet once) or the context."""
    for init in seen.inits:
        for stars, param in init.stars:
            yield error(
                "CSC310",
                f"`__init__` of a Chainlet cannot take `{stars}{param.name}`",
                param.span,
            )
        for param in init.positional_only:
            yield error(
                "CSC310",
                f"`__init__` parameter `{param.name}` cannot be positional-only",
                param.span,
            )
        bound: dict[str, str] = {}
        last = init.params[-1] if init.params else None
        for init_param in init.params:
            if init_param.name == _CONTEXT and init_param.marker is None:
                if init_param is last:  # not last: CSC311 says both
                    yield error(
                        "CSC305",
                        f"`{_CONTEXT}` must default to `chains.depends_context()`",
                        init_param.default or init_param.name_span,
                        help="the framework passes the deployment context to the `__init__` parameter `context=chains.depends_context()`",
                    )
            elif init_param.marker is None and init.supports_dependencies:
                yield error(
                    "CSC305",
                    f"`__init__` parameter `{init_param.name}` must default to `chains.depends(...)` or `chains.depends_context()`",
                    init_param.name_span,
                    help="Chainlets are constructed by the framework; other settings belong in `remote_config` or module constants",
                )
            elif init_param.target is not None and init_param.target_span is not None:
                if init_param.target in bound:
                    yield error(
                        "CSC306",
                        f"`{init_param.target.rpartition('.')[2]}` is already bound to `{bound[init_param.target]}`; bind each Chainlet once",
                        init_param.target_span,
                    )
                else:
                    bound[init_param.target] = init_param.name


def check_context_parameter(seen: Observations) -> Iterator[Diagnostic]:
    """CSC311, CSC312, CSC313: the context is the last `__init__` parameter, `context=chains.depends_context()`, typed `chains.DeploymentContext`.

    Truss finds the context by its name and place: a parameter `context` anywhere
    else, or `depends_context()` under another name, is not the context to Truss.
    """
    for init in seen.inits:
        last = init.params[-1] if init.params else None
        for param in init.params:
            is_context = param.marker == _DEPENDS_CONTEXT
            if param.name != _CONTEXT and is_context:
                yield error(
                    "CSC312",
                    f"the context parameter must be named `{_CONTEXT}`, not `{param.name}`",
                    param.name_span,
                    help="Truss passes the deployment context by that name: `context: chains.DeploymentContext = chains.depends_context()`",
                )
            elif param.name == _CONTEXT and param.marker == _DEPENDS:
                yield error(
                    "CSC312",
                    f"`{_CONTEXT}` is the name of the context parameter; name this dependency otherwise",
                    param.name_span,
                    help="Truss passes the deployment context to the parameter `context`",
                )
            elif param.name == _CONTEXT and param is not last:
                also = (
                    "" if is_context else ", defaulting to `chains.depends_context()`"
                )
                yield error(
                    "CSC311",
                    f"`{_CONTEXT}` must be the last `__init__` parameter{also}",
                    param.span,
                    help="move it after the dependencies: `def __init__(self, dep=chains.depends(Dep), context=chains.depends_context())`",
                )
            if (
                (is_context or param.name == _CONTEXT)
                and param.annotation is not None
                and not param.annotation_is_context
            ):
                yield error(
                    "CSC313",
                    f"the context parameter is annotated `{param.annotation_code}`; it is a `chains.DeploymentContext`",
                    param.annotation,
                    help="annotate it `chains.DeploymentContext`, or leave it unannotated",
                )


def check_init_self(seen: Observations) -> Iterator[Diagnostic]:
    """CSC316: `__init__` takes the instance first, as `self`."""
    for init in seen.inits:
        if init.not_self is not None:
            yield error(
                "CSC316",
                "`__init__` must take `self` as its first parameter",
                init.not_self,
            )


def check_model_init(seen: Observations) -> Iterator[Diagnostic]:
    """CSC315: a `chains.ModelBase` takes no dependencies: its `__init__` may take only the context."""
    for init in seen.inits:
        if init.supports_dependencies:
            continue
        for param in init.params:
            if param.marker == _DEPENDS_CONTEXT or param.name == _CONTEXT:
                continue
            what = "dependencies" if param.marker == _DEPENDS else "parameters"
            yield error(
                "CSC315",
                f"`__init__` of a `chains.ModelBase` takes no {what} but the context: `{param.name}` is not allowed",
                param.span,
                help="a model is deployed on its own; make it a `chains.ChainletBase` to call other Chainlets",
            )


def check_dependencies(seen: Observations) -> Iterator[Diagnostic]:
    """CSC303, CSC307: a dependency is defined above its user and annotated as what it is bound to."""
    for dependency in seen.dependencies:
        if dependency.is_defined_after:
            yield error(
                "CSC303",
                f"dependency `{dependency.written}` is defined after `{dependency.owner}`, which uses it",
                dependency.target_span,
                help=f"move `{dependency.target}` above `{dependency.owner}`",
            )
        if dependency.annotation is not None and not dependency.annotation_fits:
            yield error(
                "CSC307",
                f"dependency `{dependency.param}` is annotated `{dependency.annotation_code}`, but is bound to `{dependency.target}`",
                dependency.annotation,
                help=f"annotate it as `{dependency.target}`, one of its bases, or a `typing.Protocol`",
            )


def check_markers_placed(seen: Observations) -> Iterator[Diagnostic]:
    """CSC304: `depends(...)`/`depends_context()` only as `__init__` parameter defaults."""
    for path, span in seen.misplaced_markers:
        name = path.rpartition(".")[2]
        example = (
            "context=chains.depends_context()"
            if path == _DEPENDS_CONTEXT
            else "dep=chains.depends(...)"
        )
        yield error(
            "CSC304",
            f"`{name}(...)` can only be the default of a Chainlet `__init__` parameter",
            span,
            help=f"write `def __init__(self, {example})` in the Chainlet that needs it",
        )


def check_constructions(seen: Observations) -> Iterator[Diagnostic]:
    """CSC314: Chainlets are injected (`chains.depends`), never constructed by hand where the chain runs."""
    for qualname, span in seen.constructions:
        name = qualname.rpartition(".")[2]
        yield error(
            "CSC314",
            f"Chainlet `{name}` is constructed directly; Chainlets are deployed on their own and injected",
            span,
            help=f"take it as an `__init__` parameter: `{_snake(name)}: {name} = chains.depends({name})` (build Chainlets by hand only inside `with chains.run_local():`)",
        )


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[: limit - 4]} ..."


def _snake(name: str) -> str:
    return package_dir_name(name) if name.strip("_") else "dependency"


def check_conditional_chainlets(seen: Observations) -> Iterator[Diagnostic]:
    """CSC114: Chainlets defined under `if`/`else` are chosen by a static test."""
    for span, written, why in seen.conditions:
        yield error(
            "CSC114",
            f"which Chainlets `if {_shorten(written)}` defines cannot be known without running the code: {why}",
            span,
            help='choose between Chainlets with a module constant (`if USE_GPU:`, `if MODE == "fast":`)',
        )


def check_hidden_chainlets(seen: Observations) -> Iterator[Diagnostic]:
    """CSC111: Chainlets are defined where they can be found without running code."""
    for hidden in seen.hidden_classes:
        yield error(
            "CSC111",
            f"Chainlet `{hidden.name}` is defined inside {hidden.where}, so it cannot be found without running the code",
            hidden.span,
            help="define Chainlets at the top level of a module (an `if` or `try` block is fine)",
        )


def check_module_names(seen: Observations) -> Iterator[Diagnostic]:
    """CSC010, CSC112: generated code imports every module by its dotted name, and never a reserved one."""
    for module in seen.modules:
        parts = module.name.split(".")
        bad = next((part for part in parts if not is_module_name(part)), None)
        if bad is not None:
            is_file_name = bad == parts[-1] and not module.is_package
            what = "file" if is_file_name else "directory"
            fixed = suggested_module_name(bad)
            remedy = f"rename the {what} to `{fixed}{'.py' if is_file_name else ''}`"
            if is_file_name:
                # A file name that is not a module name gets a generated one (`resolve`), unless
                # that name is taken next to it: only then is it an error.
                remedy = f"rename the file: chainsc would import it as `{fixed}`, but `{fixed}.py` or `{fixed}/` is next to it"
            if not is_file_name:
                below = module.path.split("/")[: parts.index(bad) + 1]
                remedy += f", or pass `--root {'/'.join(below)}` so that module names start below it"
            yield error(
                "CSC010",
                f"`{module.path}` would be the module `{module.name}`, which cannot be imported: `{bad}` is not a valid Python name",
                Span.whole_file(module.path),
                help=remedy,
            )
        top = parts[0]
        if top in RESERVED_MODULES:
            yield error(
                "CSC112",
                f"module `{module.name}` uses the name `{top}`, which chainsc reserves for the code it generates",
                Span.whole_file(module.path),
                help=f"rename `{top}` (the generated packages import their own `{top}`)",
            )


# ---------------------------------------------------------------- the table


@dataclass(frozen=True, slots=True)
class Rule(Generic[Subject]):
    """One rule: the codes it reports and the function that checks it."""

    codes: tuple[str, ...]
    check: Callable[[Subject], Iterator[Diagnostic]]

    @property
    def summaries(self) -> tuple[str, ...]:
        """What each code means (`chainsc.codes`)."""
        return tuple(CODES[code].summary for code in self.codes)


#: The rules over what extraction saw: codes -> check, as a linter's registry.
RULES: tuple[Rule[Observations], ...] = (
    Rule(("CSC010", "CSC112"), check_module_names),
    Rule(("CSC101", "CSC102", "CSC103", "CSC104", "CSC110"), check_entrypoint),
    Rule(("CSC111",), check_hidden_chainlets),
    Rule(("CSC114",), check_conditional_chainlets),
    Rule(("CSC106", "CSC107", "CSC108", "CSC113"), check_display_names),
    Rule(("CSC109",), check_endpoint_exists),
    Rule(("CSC201", "CSC202", "CSC203"), check_endpoint_method),
    Rule(("CSC204", "CSC205", "CSC206"), check_endpoint_types),
    Rule(("CSC208", "CSC209"), check_streaming),
    Rule(("CSC211",), check_health_check),
    Rule(("CSC303", "CSC307"), check_dependencies),
    Rule(("CSC304",), check_markers_placed),
    Rule(("CSC314",), check_constructions),
    Rule(("CSC305", "CSC306", "CSC310"), check_init_parameters),
    Rule(("CSC311", "CSC312", "CSC313"), check_context_parameter),
    Rule(("CSC315",), check_model_init),
    Rule(("CSC316",), check_init_self),
    Rule(("CSC340", "CSC343", "CSC344", "CSC345", "CSC349"), check_kinds),
    Rule(
        ("CSC330", "CSC331", "CSC332", "CSC333", "CSC337", "CSC338"),
        check_websocket_endpoints,
    ),
    Rule(("CSC334",), check_websocket_dependencies),
    Rule(("CSC335", "CSC336"), check_websocket_transport),
)

#: The rules over the IR of a chain (the whole graph), run only when there is one.
CHAIN_RULES: tuple[Rule[ir.Chain], ...] = (
    Rule(("CSC308",), check_cycles),
    Rule(("CSC105",), check_reachability),
    Rule(("CSC339",), check_websocket_fields),
)


def check_observations(seen: Observations) -> list[Diagnostic]:
    """Run every rule over what extraction saw and collect all findings."""
    return [diagnostic for rule in RULES for diagnostic in rule.check(seen)]


def validate_chain(chain: ir.Chain) -> list[Diagnostic]:
    """Run every rule over the IR of a chain and collect all findings."""
    return [diagnostic for rule in CHAIN_RULES for diagnostic in rule.check(chain)]
