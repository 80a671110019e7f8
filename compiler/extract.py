"""Extract stage: resolved modules to `ir.Chain`, plus diagnostics.

The diagnostics cover everything the IR cannot represent (signatures,
dependencies, configuration).

Stage: after resolve, before validate. Reads the CST only; never executes it.
Imports: libcst, ir, resolve, annotations, evaluate, config, graph, diagnostics.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import libcst as cst

from chainsc import bodies, ir, kinds
from chainsc.annotations import (
    TypeCollector,
    contains_websocket,
    is_websocket,
    stdlib_outside_models,
    walk_type,
)
from chainsc.config import ConfigBuilder, transport_written
from chainsc.diagnostics import Diagnostic, error, warning
from chainsc.evaluate import ApiCall, Evaluator, Located, Value, truthy
from chainsc.graph import stable_toposort
from chainsc.observations import (
    ChainletSeen,
    DecoratorSeen,
    DependencySeen,
    HealthSeen,
    HiddenClassSeen,
    InitParamSeen,
    InitSeen,
    KindSeen,
    MethodSeen,
    ModuleSeen,
    Observations,
    ParamSeen,
    TransportSeen,
    choose_entrypoint,
    takes_self,
)
from chainsc.parse import parse_expression_text
from chainsc.resolve import (
    ApiRef,
    BindingKind,
    Branch,
    ClassRef,
    Conditional,
    ExternalRef,
    FunctionRef,
    ModuleInfo,
    Program,
    Target,
    link_problem_errors,
    missing_module_errors,
    side_effect_warnings,
    string_value,
)
from chainsc.schema import DEPENDS
from chainsc.source import Span
from chainsc.surface import SURFACE_CODES, surface_errors

#: Top-level module names of the generated packages (`chainsc.emit.slice`, and the Truss
#: entry `model/model.py`); a user module with one of them would shadow the generated code
#: or be shadowed by it (Truss's `utils.py` trap; Truss reserves `model.py` too).
_CHAINLET_BASE = "chains.ChainletBase"
_MODEL_BASE = "chains.ModelBase"
_ENGINE_BASE = "chains.EngineBuilderLLMChainlet"
_TRUSS_BASE = "chains.TrussChainlet"
_STUB_BASE = "chains.StubBase"
_DEPENDS = "chains.depends"
_DEPENDS_CONTEXT = "chains.depends_context"
_MARK_ENTRYPOINT = "chains.mark_entrypoint"
_DEPLOYMENT_CONTEXT = "chains.DeploymentContext"


class ClassKind:
    """Classification of a user class by what it derives from."""

    CHAINLET = "chainlet"
    MODEL = "model"
    STUB = "stub"
    ENGINE_BUILDER = "engine_builder"
    TRUSS = "truss"


#: The kinds of class that are Chainlets of a chain (a stub is a client, no Chainlet).
_CHAINLET_KINDS = (
    ClassKind.CHAINLET,
    ClassKind.MODEL,
    ClassKind.ENGINE_BUILDER,
    ClassKind.TRUSS,
)
#: Each kind's IR kind.
_IR_KINDS = {
    ClassKind.CHAINLET: ir.ChainletKind.CHAINLET,
    ClassKind.MODEL: ir.ChainletKind.MODEL,
    ClassKind.ENGINE_BUILDER: ir.ChainletKind.ENGINE_BUILDER,
    ClassKind.TRUSS: ir.ChainletKind.TRUSS,
}
#: API classes a dependency's annotation may name besides the target's own classes, by
#: the target's kind (what Truss's `issubclass` checks accept, and a TrussChainlet's handle).
_FITTING_API_CLASSES = {
    ClassKind.CHAINLET: (_CHAINLET_BASE, "typing.Any"),
    ClassKind.MODEL: (_CHAINLET_BASE, "typing.Any"),
    ClassKind.ENGINE_BUILDER: (_ENGINE_BASE, "typing.Any"),
    ClassKind.TRUSS: (_TRUSS_BASE, "chains.truss_chainlet.TrussHandle", "typing.Any"),
}


@dataclass(slots=True)
class _Candidate:
    """A Chainlet class found in the sources, before it becomes IR."""

    cls: ClassRef
    kind: str
    #: User Chainlet base classes, nearest first.
    bases: list[ClassRef]
    entrypoint_marks: list[tuple[cst.Decorator, str | None]] = field(
        default_factory=list
    )


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """Choices the user makes on the command line."""

    #: Class or display name of the entrypoint, for files that mark none.
    entrypoint: str | None = None


@dataclass(slots=True)
class ExtractResult:
    """The IR (None when the chain has no usable structure), what was seen, and findings.

    The findings are what extraction cannot represent (an annotation that is no
    type, a configuration value that is not static, a dependency that is no
    Chainlet); every other rule is `validate`'s, over `observations`.
    """

    chain: ir.Chain | None
    diagnostics: list[Diagnostic]
    observations: Observations


@dataclass(slots=True)
class _Seen:
    """What extraction records for the rules, as it goes."""

    has_chainlets: bool = False
    chainlets: list[ChainletSeen] = field(default_factory=list)
    marked_non_chainlets: list[tuple[str, Span]] = field(default_factory=list)
    missing_endpoints: list[tuple[str, str, Span]] = field(default_factory=list)
    methods: list[MethodSeen] = field(default_factory=list)
    health_checks: list[HealthSeen] = field(default_factory=list)
    #: By `id` of the `__init__` (an inherited one is seen once).
    inits: dict[int, InitSeen] = field(default_factory=dict)
    hidden_classes: list[HiddenClassSeen] = field(default_factory=list)
    misplaced_markers: list[tuple[str, Span]] = field(default_factory=list)
    dependencies: list[DependencySeen] = field(default_factory=list)
    attribute_members: list[tuple[str, str, Span, bool]] = field(default_factory=list)
    constructions: list[tuple[str, Span]] = field(default_factory=list)
    conditions: list[tuple[Span, str, str]] = field(default_factory=list)
    kinds: list[KindSeen] = field(default_factory=list)
    websocket_chainlets: list[str] = field(default_factory=list)
    transports: list[TransportSeen] = field(default_factory=list)


@dataclass(slots=True)
class _Extractor:
    program: Program
    main: ModuleInfo
    options: ExtractOptions
    diagnostics: list[Diagnostic] = field(default_factory=list)
    types: TypeCollector = field(init=False)
    evaluator: Evaluator = field(init=False)
    configs: ConfigBuilder = field(default_factory=ConfigBuilder)
    candidates: dict[str, _Candidate] = field(default_factory=dict)
    #: Call nodes that are legitimate `depends(...)`/`depends_context()` defaults.
    allowed_markers: set[int] = field(default_factory=set)
    #: The same calls by file (a file imported under two names is one text), to compare with where `depends(` is spelled.
    allowed_calls: dict[str, list[cst.Call]] = field(default_factory=dict)
    #: CSC004 of every import of a missing local module, with the module's name.
    missing_imports: list[tuple[str, Diagnostic]] = field(default_factory=list)
    #: `classify` of each class seen, by id.
    _kinds: dict[str, tuple[str | None, list[ClassRef]]] = field(default_factory=dict)
    seen: _Seen = field(default_factory=_Seen)
    #: Where a Chainlet's `RemoteConfig(name=...)` value is written, by Chainlet id.
    display_spans: dict[str, Span] = field(default_factory=dict)
    #: Methods recorded for the rules already (by `id`): a base's, once for all its subclasses.
    _checked: set[int] = field(default_factory=set)
    #: `_definition` of each (class id, member name) asked.
    _definitions: dict[tuple[str, str], tuple[ClassRef, _Member] | None] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        self.types = TypeCollector(self.program)
        self.evaluator = Evaluator(self.program)
        self.configs.root = self.program.fs
        # Requirements files the configuration reads are shown like sources in diagnostics.
        self.configs.sources = self.program.sources
        # CSC004 first: a name imported from a missing local module is reported once, there.
        self.missing_imports = [
            found
            for module in list(self.program.modules.values())
            for found in missing_module_errors(self.program, module)
        ]
        self.types.missing_modules = {name for name, _ in self.missing_imports}

    # -- classification -----------------------------------------------------------

    def classify(self, cls: ClassRef) -> tuple[str | None, list[ClassRef]]:
        """(kind, user chainlet bases) of a class, following user base classes.

        Depth first, in order, with a stack of its own (a chain of base classes is
        as long as the input makes it); each class's answer is kept, so classifying
        every class of a long chain stays linear.
        """
        if cls.id in self._kinds:
            return self._kinds[cls.id]
        found = self._classify_bases(self.program.chainlet_bases(cls), {cls.id})
        self._kinds[cls.id] = found
        return found

    def _classify_bases(
        self, bases: Iterator[Target], visited: set[str]
    ) -> tuple[str | None, list[ClassRef]]:
        """(kind, user chainlet bases) of a class whose bases resolve to `bases`."""
        kinds = {
            _CHAINLET_BASE: ClassKind.CHAINLET,
            _MODEL_BASE: ClassKind.MODEL,
            _STUB_BASE: ClassKind.STUB,
            _ENGINE_BASE: ClassKind.ENGINE_BUILDER,
            _TRUSS_BASE: ClassKind.TRUSS,
        }
        path: list[
            ClassRef
        ] = []  # the user bases from the class to the class whose bases are searched
        frames: list[Iterator[Target]] = [bases]
        found: tuple[str | None, list[ClassRef]] = (None, [])
        while frames:
            base = next(frames[-1], None)
            if base is None:
                frames.pop()
                if path:
                    self._kinds[path.pop().id] = (None, [])
            elif isinstance(base, ApiRef):
                if base.path in kinds:
                    found = (kinds[base.path], path)
                    break
            elif isinstance(base, ClassRef) and base.id not in visited:
                visited.add(base.id)
                known = self._kinds.get(base.id)
                if known is not None and known[0] is not None:
                    found = (known[0], [*path, base, *known[1]])
                    break
                if known is None:
                    path.append(base)
                    frames.append(self.program.chainlet_bases(base))
        kind, chain = found
        if kind is not None:
            for index, on_path in enumerate(
                path
            ):  # the rest of `chain` is known already
                self._kinds.setdefault(on_path.id, (kind, chain[index + 1 :]))
        return found

    def candidate(self, cls: ClassRef) -> _Candidate | None:
        """The Chainlet candidate for a class (registered on first sight)."""
        if cls.id in self.candidates:
            return self.candidates[cls.id]
        kind, bases = self.classify(cls)
        if kind not in _CHAINLET_KINDS:
            return None
        found = _Candidate(cls, kind, bases)
        self.candidates[cls.id] = found
        return found

    # -- the run --------------------------------------------------------------------

    def run(self) -> ExtractResult:
        main = self.main
        stubs: list[ir.Stub] = []
        chain_name: str | None = None
        self._take_branches()
        for order, node in main.classes:
            cls = ClassRef(main, node.name.value, node, order)
            found = self.candidate(cls)
            marks = self._entrypoint_marks(cls)
            if found is None:
                kind, _ = self.classify(cls)
                if kind == ClassKind.STUB:
                    stubs.append(self._stub(cls))
                self.seen.marked_non_chainlets.extend(
                    (cls.qualname, main.span(decorator)) for decorator, _name in marks
                )
                continue
            found.entrypoint_marks = marks

        main_ids = list(self.candidates)
        self.seen.has_chainlets = bool(main_ids)
        if not main_ids:
            self._check_modules()
            return self._finish(
                None
            )  # no Chainlet: `validate.check_entrypoint` says so

        # Chainlets used only as base classes of others are abstract: not deployed.
        base_ids = {
            base.id for cand in list(self.candidates.values()) for base in cand.bases
        }
        concrete = [
            cid
            for cid in main_ids
            if cid not in base_ids or self.candidates[cid].entrypoint_marks
        ]

        built: dict[str, ir.Chainlet] = {}
        edges: dict[str, list[str]] = {}
        queue = list(concrete)
        while queue:
            chainlet_id = queue.pop(0)
            if chainlet_id in built:
                continue
            chainlet = self._chainlet(self.candidates[chainlet_id])
            built[chainlet_id] = chainlet
            edges[chainlet_id] = [dep.target for dep in chainlet.dependencies]
            queue.extend(
                dep.target for dep in chainlet.dependencies if dep.target not in built
            )

        self.seen.websocket_chainlets = [
            cid for cid, chainlet in built.items() if chainlet.endpoint.is_websocket
        ]
        self.seen.chainlets = [
            ChainletSeen(
                cid,
                chainlet.name,
                chainlet.span,
                tuple(
                    (self.candidates[cid].cls.module.span(decorator), name)
                    for decorator, name in self.candidates[cid].entrypoint_marks
                ),
                cid in concrete,
                (chainlet.name, chainlet.display_name, cid),
                display_name=chainlet.display_name,
                display_span=self.display_spans.get(cid),
                is_model=chainlet.kind is ir.ChainletKind.MODEL,
            )
            for cid, chainlet in built.items()
        ]
        entrypoint_id, chain_name = choose_entrypoint(self._observations())
        for cid, cand in list(self.candidates.items()):
            if cid not in built:
                # Abstract bases: Truss validates every subclass of its bases, so their
                # `__init__` (and its markers), endpoint and health check are checked too.
                self._init(cand)
                self._endpoint(cand, _endpoint_name(cand), abstract=True)
                self._health_check(cand)
        self._misplaced_markers()
        self._constructions()
        self._check_modules()
        if entrypoint_id is None:
            return self._finish(None)

        ordered = [cid for cid in stable_toposort(edges) if cid in built]
        chainlets = tuple(
            replace(
                built[cid],
                is_entrypoint=cid == entrypoint_id,
                types=self.types.closure(_endpoint_types(built[cid].endpoint)),
            )
            for cid in ordered
        )
        entry = built[entrypoint_id]
        stub_types = {
            tid
            for s in stubs
            if s.endpoint
            for tid in self.types.closure(_endpoint_types(s.endpoint))
        }
        type_ids = sorted({tid for c in chainlets for tid in c.types} | stub_types)
        chain = ir.Chain(
            name=chain_name or entry.display_name,
            source=main.path,
            entrypoint=entrypoint_id,
            chainlets=chainlets,
            types=tuple(
                self.types.types[tid] for tid in type_ids if tid in self.types.types
            ),
            stubs=tuple(stubs),
            modules=tuple(
                ir.Module(m.name, m.path, m.is_package)
                # A file imported under two names (`helpers`, `app.helpers`) is two modules.
                for m in sorted(
                    self.program.modules.values(), key=lambda m: (m.path, m.name)
                )
            ),
        )
        return self._finish(chain)

    def _finish(self, chain: ir.Chain | None) -> ExtractResult:
        diagnostics = [
            *self.diagnostics,
            *self.types.diagnostics,
            *self.configs.diagnostics,
        ]
        return ExtractResult(chain, diagnostics, self._observations())

    def _observations(self) -> Observations:
        seen = self.seen
        return Observations(
            main_path=self.main.path,
            entrypoint_option=self.options.entrypoint,
            has_chainlets=seen.has_chainlets,
            chainlets=tuple(seen.chainlets),
            marked_non_chainlets=tuple(seen.marked_non_chainlets),
            missing_endpoints=tuple(seen.missing_endpoints),
            methods=tuple(seen.methods),
            health_checks=tuple(seen.health_checks),
            inits=tuple(seen.inits.values()),
            modules=tuple(
                ModuleSeen(m.name, m.path, m.is_package)
                for m in self.program.modules.values()
            ),
            hidden_classes=tuple(seen.hidden_classes),
            misplaced_markers=tuple(seen.misplaced_markers),
            dependencies=tuple(seen.dependencies),
            attribute_members=tuple(seen.attribute_members),
            constructions=tuple(seen.constructions),
            conditions=tuple(seen.conditions),
            kinds=tuple(seen.kinds),
            websocket_chainlets=tuple(seen.websocket_chainlets),
            transports=tuple(seen.transports),
        )

    # -- `if`/`else` around Chainlets -------------------------------------------------

    def _take_branches(self) -> None:
        """Keep, of each module-level `if` that defines Chainlets, only the branch Python takes.

        Its tests are evaluated statically (module constants, comparisons, `and`/`or`);
        one that is not static is recorded (`validate.check_conditional_chainlets`) and
        its branches are kept as they are.
        """
        for module in list(self.program.modules.values()):
            dropped: set[int] = set()
            for conditional in sorted(module.conditionals, key=lambda c: c.order):
                if any(id(branch) in dropped for branch in conditional.within):
                    continue
                if not any(
                    self.classify(ClassRef(module, node.name.value, node, order))[0]
                    in _CHAINLET_KINDS
                    for branch in conditional.branches
                    for order, node in branch.classes
                ):
                    continue
                taken = self._taken_branch(module, conditional)
                if taken is None:
                    continue
                for branch in conditional.branches:
                    if branch is not taken:
                        module.drop(branch)
                        dropped.add(id(branch))
        # What was classified before may have been a class of a dropped branch.
        self._kinds.clear()
        self._definitions.clear()

    def _taken_branch(
        self, module: ModuleInfo, conditional: Conditional
    ) -> Branch | None:
        """The branch whose test is the first true one (the `else`, or none); None when a test is not static."""
        for branch in conditional.branches:
            if branch.test is None:
                return branch
            value = self.evaluator.evaluate(
                module, branch.test, scope=None, before=conditional.order
            )
            if isinstance(value, Diagnostic):
                # At the part of the test that is not static, else (a name whose value
                # is not) at the test, saying where that value is.
                test = module.span(branch.test)
                inside = value.span.path == test.path and (
                    test.coordinates[:2] <= value.span.coordinates[:2]
                    and value.span.coordinates[2:] <= test.coordinates[2:]
                )
                self.seen.conditions.append(
                    (
                        value.span if inside else test,
                        module.code(branch.test),
                        value.message
                        if inside
                        else f"{value.message} (line {value.span.line})",
                    )
                )
                return None
            if truthy(value.data):
                return branch
        return _NO_BRANCH  # no branch runs: each is dropped

    # -- entrypoint -----------------------------------------------------------------

    def _entrypoint_marks(
        self, cls: ClassRef
    ) -> list[tuple[cst.Decorator, str | None]]:
        marks: list[tuple[cst.Decorator, str | None]] = []
        for decorator in cls.node.decorators:
            expr = decorator.decorator
            call_name: str | None = None
            if isinstance(expr, cst.Call):
                if expr.args and isinstance(expr.args[0].value, cst.SimpleString):
                    value = string_value(expr.args[0].value)
                    call_name = value if isinstance(value, str) else None
                expr = expr.func
            target = self.program.resolve_expr(cls.module, expr, cls.order)
            if isinstance(target, ApiRef) and target.path == _MARK_ENTRYPOINT:
                marks.append((decorator, call_name))
        return marks

    # -- one chainlet -----------------------------------------------------------------

    def _member(
        self, cand: _Candidate, name: str
    ) -> tuple[ClassRef, cst.FunctionDef] | None:
        found = self._definition(cand, name)
        if found is None or not isinstance(found[1], cst.FunctionDef):
            return None
        return found[0], found[1]

    def _definition(
        self, cand: _Candidate, name: str
    ) -> tuple[ClassRef, cst.FunctionDef | tuple[cst.Name, cst.BaseExpression]] | None:
        """The method `name` of a Chainlet, or a plain class attribute `name = ...` (target, value).

        In the class, else in its user bases, nearest first, as Python finds it. Each
        class's answer is kept: along a chain of single bases (3,000 deep) the walk is a
        loop that stops at the first class answered before.
        """
        path: list[ClassRef] = []
        current = cand.cls
        found: tuple[ClassRef, _Member] | None = None
        while True:
            key = (current.id, name)
            if key in self._definitions:
                found = self._definitions[key]
                break
            path.append(current)
            own = _own_member(current, name)
            if own is not None:
                found = (current, own)
                break
            direct = [
                base
                for base in self.program.chainlet_bases(current)
                if isinstance(base, ClassRef) and self.classify(base)[0] is not None
            ]
            if len(direct) != 1:
                # Several bases (or none): in the order the class's user bases have.
                found = next(
                    (
                        (owner, member)
                        for owner in self.classify(current)[1]
                        if (member := _own_member(owner, name)) is not None
                    ),
                    None,
                )
                break
            current = direct[0]
        for owner in path:
            self._definitions[(owner.id, name)] = found
        return found

    def _remote_config_value(
        self, cand: _Candidate
    ) -> tuple[ClassRef, cst.BaseExpression] | None:
        for owner in (cand.cls, *cand.bases):
            for statement in owner.node.body.body:
                if not isinstance(statement, cst.SimpleStatementLine):
                    continue
                for small in statement.body:
                    if isinstance(small, cst.Assign) and any(
                        isinstance(t.target, cst.Name)
                        and t.target.value == "remote_config"
                        for t in small.targets
                    ):
                        return owner, small.value
                    if (
                        isinstance(small, cst.AnnAssign)
                        and isinstance(small.target, cst.Name)
                        and small.target.value == "remote_config"
                        and small.value is not None
                    ):
                        return owner, small.value
        return None

    def _chainlet(self, cand: _Candidate) -> ir.Chainlet:
        cls = cand.cls
        module = cls.module
        remote_config = ir.RemoteConfig()
        written_config: Value | None = None
        found_config = self._remote_config_value(cand)
        transport = None
        if found_config is not None:
            owner, expr = found_config
            value = self.evaluator.evaluate_all(
                owner.module, expr, scope=owner, before=owner.order
            )
            if isinstance(value, list):
                self.diagnostics.extend(value)
            else:
                written_config = value
                remote_config = self.configs.remote_config(
                    value, Located(owner.module, expr)
                )
                call = value.data
                name_arg = (
                    next((arg for key, _v, arg in call.kwargs if key == "name"), None)
                    if isinstance(call, ApiCall)
                    else None
                )
                if remote_config.name is not None and name_arg is not None:
                    assert isinstance(call, ApiCall)
                    self.display_spans[cls.id] = call.at.module.span(name_arg.value)
                transport = transport_written(value)
        if cand.kind in (ClassKind.ENGINE_BUILDER, ClassKind.TRUSS):
            return self._kind_chainlet(cand, remote_config, written_config)
        endpoint = self._endpoint(cand, _endpoint_name(cand))
        if transport is not None:
            # Which transport an endpoint needs is `websocket_rules`'.
            self.seen.transports.append(
                TransportSeen(
                    cls.qualname,
                    transport.kind,
                    transport.span,
                    endpoint.is_websocket,
                )
            )
        dependencies, context_param = self._init(cand)
        has_health_check = self._health_check(cand)
        display_name = remote_config.name or cls.qualname
        return ir.Chainlet(
            id=cls.id,
            name=cls.qualname,
            display_name=display_name,
            module=module.name,
            span=module.span(cls.node.name),
            kind=ir.ChainletKind.MODEL
            if cand.kind == ClassKind.MODEL
            else ir.ChainletKind.CHAINLET,
            bases=tuple(base.id for base in cand.bases),
            remote_config=remote_config,
            dependencies=dependencies,
            context_param=context_param,
            endpoint=endpoint,
            has_health_check=has_health_check,
            is_entrypoint=False,
        )

    def _health_check(self, cand: _Candidate) -> bool:
        """Record `is_healthy` for the rules; whether the Chainlet has one (a method)."""
        health = self._definition(cand, "is_healthy")
        if health is None:
            return False
        owner, found = health
        if isinstance(found, cst.FunctionDef):
            self._health(owner.module, found)
            return True
        self._attribute_member(cand, owner, found)
        return False

    def _class_attribute(
        self, cand: _Candidate, name: str
    ) -> tuple[ClassRef, cst.BaseExpression] | None:
        """The value of the class attribute `name`, in the class or its nearest user base that sets it."""
        for owner in (cand.cls, *cand.bases):
            for statement in owner.node.body.body:
                if not isinstance(statement, cst.SimpleStatementLine):
                    continue
                for small in statement.body:
                    if isinstance(small, cst.Assign) and any(
                        isinstance(t.target, cst.Name) and t.target.value == name
                        for t in small.targets
                    ):
                        return owner, small.value
                    if (
                        isinstance(small, cst.AnnAssign)
                        and isinstance(small.target, cst.Name)
                        and small.target.value == name
                        and small.value is not None
                    ):
                        return owner, small.value
        return None

    def _kind_chainlet(
        self,
        cand: _Candidate,
        remote_config: ir.RemoteConfig,
        written_config: Value | None,
    ) -> ir.Chainlet:
        """An engine builder or a TrussChainlet: its configuration, no code (`chainsc.kinds`).

        Its `__init__` is still read (its markers are allowed, its dependencies
        reported by CSC344), but it gets none in the IR; its endpoint is the one its
        kind has (the engine's `run_remote`, the Truss's `predict`).
        """
        cls = cand.cls
        module = cls.module
        name_span = module.span(cls.node.name)
        is_engine = cand.kind == ClassKind.ENGINE_BUILDER
        attribute = (
            kinds.ENGINE_CONFIG_ATTRIBUTE if is_engine else kinds.TRUSS_DIR_ATTRIBUTE
        )
        found = self._class_attribute(cand, attribute)
        engine_config: ir.JsonObject | None = None
        truss_dir: str | None = None
        if found is not None:
            owner, expr = found
            value = self.evaluator.evaluate(
                owner.module, expr, scope=owner, before=owner.order
            )
            if isinstance(value, Diagnostic):
                self.diagnostics.append(value)
            elif is_engine:
                engine_config = self.configs.engine_builder_config(value)
                if engine_config is not None:
                    self.diagnostics.extend(
                        kinds.engine_config_errors(
                            engine_config,
                            value,
                            remote_config.compute,
                            written_config,
                        )
                    )
            else:
                truss_dir, problems = kinds.truss_dir_path(
                    self.program.fs, owner.module.path, value
                )
                self.diagnostics.extend(problems)
        if is_engine:
            self.diagnostics.extend(
                kinds.engine_remote_config_errors(remote_config, written_config)
            )
        else:
            self.diagnostics.extend(
                kinds.truss_remote_config_warnings(remote_config, written_config)
            )
        self._init(cand)
        init = self._member(cand, "__init__")
        seen_init = self.seen.inits.get(id(init[1])) if init is not None else None
        run_remote = self._member(cand, "run_remote")
        self.seen.kinds.append(
            KindSeen(
                cls.id,
                cls.qualname,
                _IR_KINDS[cand.kind],
                name_span,
                declares=found is not None,
                run_remote=run_remote[0].module.span(run_remote[1].name)
                if run_remote is not None
                else None,
                init_markers=tuple(
                    (param.marker, param.span)
                    for param in (seen_init.params if seen_init is not None else ())
                    if param.marker is not None
                ),
            )
        )
        return ir.Chainlet(
            id=cls.id,
            name=cls.qualname,
            display_name=remote_config.name or cls.qualname,
            module=module.name,
            span=name_span,
            kind=_IR_KINDS[cand.kind],
            bases=tuple(base.id for base in cand.bases),
            remote_config=remote_config,
            dependencies=(),
            context_param=None,
            endpoint=kinds.engine_endpoint(name_span)
            if is_engine
            else kinds.truss_endpoint(name_span),
            has_health_check=False,
            is_entrypoint=False,
            engine_builder_config=engine_config,
            truss_dir=truss_dir,
        )

    def _stub(self, cls: ClassRef) -> ir.Stub:
        endpoint: ir.Endpoint | None = None
        for statement in cls.node.body.body:
            if (
                isinstance(statement, cst.FunctionDef)
                and statement.name.value == "run_remote"
            ):
                # A stub's method is the user's own code: Truss checks no types there.
                endpoint = self._signature(cls, statement, is_stub=True)
        return ir.Stub(
            cls.id,
            cls.qualname,
            cls.module.name,
            cls.module.span(cls.node.name),
            endpoint,
        )

    def _attribute_member(
        self,
        cand: _Candidate,
        owner: ClassRef,
        attribute: tuple[cst.Name, cst.BaseExpression],
    ) -> None:
        """Record a method the framework calls that is a class attribute (`is_healthy = 3`, `run_remote = f`)."""
        name, value = attribute
        target = (
            self.program.resolve_expr(owner.module, value, owner.order)
            if isinstance(value, cst.Name | cst.Attribute)
            else None
        )
        is_function = isinstance(value, cst.Lambda) or isinstance(target, FunctionRef)
        self.seen.attribute_members.append(
            (cand.cls.qualname, name.value, owner.module.span(name), is_function)
        )

    def _endpoint(
        self, cand: _Candidate, name: str, *, abstract: bool = False
    ) -> ir.Endpoint:
        """The endpoint of a Chainlet, recorded for the rules (a base's only when not yet seen)."""
        found = self._definition(cand, name)
        member = (
            (found[0], found[1])
            if found is not None and isinstance(found[1], cst.FunctionDef)
            else None
        )
        cls = cand.cls
        if member is None:
            if found is not None and isinstance(found[1], tuple):
                self._attribute_member(cand, found[0], found[1])
            else:
                self.seen.missing_endpoints.append(
                    (cls.qualname, name, cls.module.span(cls.node.name))
                )
            return ir.Endpoint(
                name,
                False,
                False,
                (),
                ir.TypeRef(ir.TypeKind.NONE, "None"),
                cls.module.span(cls.node.name),
            )
        owner, func = member
        if abstract and id(func) in self._checked:
            return ir.Endpoint(
                name,
                False,
                False,
                (),
                ir.TypeRef(ir.TypeKind.NONE, "None"),
                owner.module.span(func.name),
            )
        self._checked.add(id(func))
        return self._signature(owner, func)

    def _decorators(
        self, module: ModuleInfo, func: cst.FunctionDef
    ) -> tuple[DecoratorSeen, ...]:
        """The decorators that make `func` no instance method (`@staticmethod`, `@classmethod`, `@property`)."""
        found: list[DecoratorSeen] = []
        for decorator in func.decorators:
            target = self.program.resolve_expr(
                module,
                decorator.decorator
                if not isinstance(decorator.decorator, cst.Call)
                else decorator.decorator.func,
            )
            kind = _decorator_kind(target)
            if kind is not None:
                found.append(DecoratorSeen(kind, module.span(decorator)))
        return tuple(found)

    def _param(self, module: ModuleInfo, param: cst.Param) -> ParamSeen:
        annotation = (
            param.annotation.annotation if param.annotation is not None else None
        )
        return ParamSeen(
            param.name.value,
            module.span(param),
            module.span(param.name),
            module.span(annotation) if annotation is not None else None,
            module.code(annotation) if annotation is not None else "",
        )

    def _signature(
        self, owner: ClassRef, func: cst.FunctionDef, *, is_stub: bool = False
    ) -> ir.Endpoint:
        """The endpoint of `func`; what it looks like is recorded for the rules (`MethodSeen`)."""
        module = owner.module
        name = func.name.value
        decorators = self._decorators(module, func)
        params = func.params
        stars = tuple(
            ("*" if star is params.star_arg else "**", self._param(module, star))
            for star in (params.star_arg, params.star_kwarg)
            if isinstance(star, cst.Param)
        )
        positional = [*params.posonly_params, *params.params]
        seen_positional = [self._param(module, param) for param in positional]
        if takes_self(decorators, positional[0].name.value if positional else None):
            positional = positional[
                1:
            ]  # `self` (`cls`): not a parameter of the endpoint
        ir_params: list[ir.Param] = []
        seen_params: dict[int, ParamSeen] = {}
        for param in [
            p for p in (*positional, *params.kwonly_params) if p.name.value != "self"
        ]:
            if param.annotation is None:
                type_ref = ir.TypeRef(
                    ir.TypeKind.ANY, "Any"
                )  # `validate.check_endpoint_parameters` reports it
            else:
                type_ref = self.types.convert(module, param.annotation.annotation)
                seen_params[id(param)] = replace(
                    self._param(module, param),
                    type_kind=type_ref.kind,
                    stdlib_outside_models=stdlib_outside_models(type_ref),
                    is_websocket=is_websocket(type_ref),
                    has_websocket=contains_websocket(type_ref),
                )
            default = module.code(param.default) if param.default is not None else None
            ir_params.append(
                ir.Param(param.name.value, type_ref, default, module.span(param.name))
            )
        is_async = func.asynchronous is not None
        if func.returns is None:
            returns = ir.TypeRef(ir.TypeKind.ANY, "Any")
            seen_returns = None
        else:
            returns = self.types.convert(module, func.returns.annotation)
            annotation = func.returns.annotation
            seen_returns = ParamSeen(
                "return",
                module.span(annotation),
                module.span(func.name),
                module.span(annotation),
                module.code(annotation),
                returns.kind,
                stdlib_outside_models(returns),
                is_websocket=is_websocket(returns),
                has_websocket=contains_websocket(returns),
            )
        self.seen.methods.append(
            MethodSeen(
                owner=owner.qualname,
                name=name,
                name_span=module.span(func.name),
                is_async=is_async,
                is_stub=is_stub,
                decorators=decorators,
                stars=stars,
                positional_only=tuple(
                    seen_params.get(id(param), seen)
                    for param, seen in zip(
                        params.posonly_params, seen_positional, strict=False
                    )
                ),
                positional=tuple(
                    seen_params.get(id(param), seen)
                    for param, seen in zip(
                        [*params.posonly_params, *params.params],
                        seen_positional,
                        strict=True,
                    )
                ),
                keyword_only=tuple(
                    seen_params.get(id(param)) or self._param(module, param)
                    for param in params.kwonly_params
                ),
                returns=seen_returns,
                yields=module.parsed.function_yields(func),
            )
        )
        is_streaming = returns.kind in (
            ir.TypeKind.ITERATOR,
            ir.TypeKind.ASYNC_ITERATOR,
        )
        return ir.Endpoint(
            name,
            is_async,
            is_streaming,
            tuple(ir_params),
            returns,
            module.span(func.name),
        )

    def _health(self, module: ModuleInfo, func: cst.FunctionDef) -> None:
        """Record what `is_healthy` looks like (`validate.check_health_check`), once per method."""
        if id(func) in self._checked:
            return
        self._checked.add(id(func))
        params = func.params
        positional = [*params.posonly_params, *params.params]
        not_self: Span | None = None
        if not positional:
            not_self = module.span(func.name)
        elif positional[0].name.value != "self":
            not_self = module.span(positional[0])
        extra = (
            [*positional, *params.kwonly_params][1:]
            if positional
            else list(params.kwonly_params)
        )
        stars = [
            p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)
        ]
        returns_bool = False
        if func.returns is not None:
            target = (
                self.program.resolve_expr(module, func.returns.annotation, None)
                if isinstance(func.returns.annotation, cst.Name | cst.Attribute)
                else None
            )
            returns_bool = isinstance(target, ApiRef) and target.path == "builtins.bool"
        self.seen.health_checks.append(
            HealthSeen(
                tuple(module.span(p) for p in extra),
                tuple(module.span(p) for p in stars),
                returns_bool,
                module.span(func.returns.annotation)
                if func.returns is not None
                else None,
                module.span(func.name),
                not_self,
                self._decorators(module, func),
            )
        )

    # -- __init__ and dependencies --------------------------------------------------------

    def _init(self, cand: _Candidate) -> tuple[tuple[ir.Dependency, ...], str | None]:
        """The dependencies and context parameter of a Chainlet; what `__init__` looks like is recorded."""
        member = self._member(cand, "__init__")
        if member is None:
            return (), None
        owner, func = member
        module = owner.module
        params = func.params
        positional = [*params.posonly_params, *params.params]
        # The first positional parameter is the instance, whatever its name (CSC316 if not `self`).
        not_self: Span | None = None
        if not positional:
            not_self = module.span(func.name)
        elif positional[0].name.value != "self":
            not_self = module.span(positional[0])
        all_params = [*positional[1:], *params.kwonly_params]
        supports_dependencies = cand.kind != ClassKind.MODEL
        dependencies: list[ir.Dependency] = []
        context_param: str | None = None
        seen_params: list[InitParamSeen] = []
        for param in all_params:
            default = param.default
            call_target = self._marker(module, default, owner.order)
            seen = InitParamSeen(
                param.name.value,
                module.span(param),
                module.span(param.name),
                call_target,
                default=module.span(default) if default is not None else None,
            )
            if param.annotation is not None and (
                call_target == _DEPENDS_CONTEXT or param.name.value == "context"
            ):
                annotation = param.annotation.annotation
                seen = replace(
                    seen,
                    annotation=module.span(annotation),
                    annotation_code=module.code(annotation),
                    annotation_is_context=self._is_context_type(owner, annotation),
                )
            if call_target == _DEPENDS_CONTEXT:
                assert isinstance(default, cst.Call)
                self._allow(module, default)
                context_param = param.name.value
            elif call_target == _DEPENDS and not supports_dependencies:
                assert isinstance(default, cst.Call)
                self._allow(module, default)  # CSC315, from `validate.check_model_init`
            elif call_target == _DEPENDS:
                assert isinstance(default, cst.Call)
                self._allow(module, default)
                dependency = self._dependency(owner, param, default)
                if dependency is not None:
                    at = (
                        module.span(default.args[0].value)
                        if default.args
                        else module.span(default)
                    )
                    seen = replace(seen, target=dependency.target, target_span=at)
                    # Each Chainlet is bound once (`validate.check_init_parameters`): the first binding.
                    if all(dependency.target != d.target for d in dependencies):
                        dependencies.append(dependency)
            seen_params.append(seen)
        self.seen.inits.setdefault(
            id(func),
            InitSeen(
                owner.qualname,
                tuple(
                    (
                        "*" if star is params.star_arg else "**",
                        self._param(module, star),
                    )
                    for star in (params.star_arg, params.star_kwarg)
                    if isinstance(star, cst.Param)
                ),
                tuple(
                    self._param(module, p)
                    for p in params.posonly_params
                    if p.name.value != "self"
                ),
                tuple(seen_params),
                name_span=module.span(func.name),
                not_self=not_self,
                supports_dependencies=supports_dependencies,
                entity="ModelBase" if cand.kind == ClassKind.MODEL else "Chainlet",
            ),
        )
        return tuple(dependencies), context_param

    def _is_context_type(self, owner: ClassRef, annotation: cst.BaseExpression) -> bool:
        """Whether an annotation is `chains.DeploymentContext`, a subclass of it, or `None`.

        As Truss checks the context's annotation; a string is read as the name it holds.
        """
        module = owner.module
        node: cst.BaseExpression | str = annotation
        if isinstance(annotation, cst.SimpleString):
            value = string_value(annotation)
            node = parse_expression_text(value) if isinstance(value, str) else ""
        if isinstance(node, cst.Name) and node.value == "None":
            return True
        if not isinstance(node, cst.Name | cst.Attribute):
            return isinstance(node, str)  # a string that is no expression: CSC212
        target: Target | None = self.program.resolve_expr(module, node)
        seen: set[str] = set()
        while isinstance(target, ClassRef) and target.id not in seen:
            seen.add(target.id)
            bases = list(self.program.chainlet_bases(target))
            if any(
                isinstance(base, ApiRef) and base.path == _DEPLOYMENT_CONTEXT
                for base in bases
            ):
                return True
            target = next((b for b in bases if isinstance(b, ClassRef)), None)
        return isinstance(target, ApiRef) and target.path == _DEPLOYMENT_CONTEXT

    def _allow(self, module: ModuleInfo, call: cst.Call) -> None:
        self.allowed_markers.add(id(call))
        self.allowed_calls.setdefault(module.path, []).append(call)

    def _marker(
        self, module: ModuleInfo, node: cst.BaseExpression | None, before: int | None
    ) -> str | None:
        if not isinstance(node, cst.Call) or not isinstance(
            node.func, cst.Name | cst.Attribute
        ):
            return None
        target = self.program.resolve_expr(module, node.func, before)
        if isinstance(target, ApiRef) and target.path in (_DEPENDS, _DEPENDS_CONTEXT):
            return target.path
        return None

    def _dependency(
        self, owner: ClassRef, param: cst.Param, call: cst.Call
    ) -> ir.Dependency | None:
        module = owner.module
        if not call.args or (
            call.args[0].keyword is not None
            and call.args[0].keyword.value != "chainlet_cls"
        ):
            self.diagnostics.append(
                error(
                    "CSC301",
                    "`depends(...)` needs the Chainlet class as its first argument",
                    module.span(call),
                )
            )
            return None
        target_node = call.args[0].value
        written = module.code(target_node)
        target: Target = (
            self.program.resolve_expr(module, target_node)
            if isinstance(target_node, cst.Name | cst.Attribute)
            else ApiRef("<expression>")
        )
        if not isinstance(target, ClassRef):
            from chainsc.resolve import Undefined  # noqa: PLC0415 - local to this error path

            if self.types.from_missing_module(target):
                pass  # its import already has CSC004
            elif isinstance(target, Undefined):
                self.diagnostics.append(
                    error(
                        "CSC301",
                        f"dependency `{written}` is not defined",
                        module.span(target_node),
                    )
                )
            elif isinstance(target, ExternalRef):
                self.diagnostics.append(
                    error(
                        "CSC301",
                        f"dependency `{written}` is not defined in the chain's sources (`{self.program.first_missing_module(target.path)}` is not a module under the chain root)",
                        module.span(target_node),
                        help="Chainlets must be defined in the chain file or a local module; pass `--root` if the package root is higher up",
                    )
                )
            else:
                self.diagnostics.append(
                    error(
                        "CSC302",
                        f"dependency `{written}` is not a Chainlet class",
                        module.span(target_node),
                    )
                )
            return None
        candidate = self.candidate(target)
        if candidate is None:
            kind, _ = self.classify(target)
            hint = (
                "stubs are created with `Stub.from_url(...)` in `__init__`, not with `depends`"
                if kind == ClassKind.STUB
                else "derive it from `chains.ChainletBase`"
            )
            self.diagnostics.append(
                error(
                    "CSC302",
                    f"dependency `{written}` is not a Chainlet",
                    module.span(target_node),
                    help=hint,
                )
            )
            return None
        seen = DependencySeen(
            owner.qualname,
            written,
            target.qualname,
            module.span(target_node),
            is_defined_after=target.module is module
            and target.order >= owner.order
            and target.id != owner.id,
        )
        options: dict[str, Value] = {}
        positional_names = DEPENDS.names  # after the class, as `RPCOptions` takes them
        for index, arg in enumerate(call.args[1:]):
            if arg.keyword is None:
                key = positional_names[index] if index < len(positional_names) else None
            else:
                key = arg.keyword.value
            if key not in positional_names:
                node = arg.keyword if arg.keyword is not None else arg.value
                self.diagnostics.append(
                    error(
                        "CSC402",
                        f"`depends` has no parameter `{key or module.code(arg.value)}`",
                        module.span(node),
                        help=f"known parameters: {', '.join(positional_names)}",
                    )
                )
                continue
            value = self.evaluator.evaluate(
                module, arg.value, scope=None, before=owner.order
            )
            if isinstance(value, Diagnostic):
                self.diagnostics.append(value)
                continue
            options[key] = value
        rpc = self.configs.rpc_options(options)
        if param.annotation is not None:
            annotation = param.annotation.annotation
            seen = replace(
                seen,
                annotation=module.span(annotation),
                annotation_code=module.code(annotation),
                annotation_fits=self._annotation_fits(owner, annotation, candidate),
            )
        self.seen.dependencies.append(replace(seen, param=param.name.value))
        return ir.Dependency(param.name.value, target.id, rpc, module.span(param.name))

    def _annotation_fits(
        self, owner: ClassRef, annotation: cst.BaseExpression, target: _Candidate
    ) -> bool:
        """Whether a dependency's annotation names its Chainlet, a base of it, a Protocol, `ChainletBase` or `Any`.

        A string annotation that is no name cannot be told (True).
        """
        module = owner.module
        if isinstance(annotation, cst.SimpleString):
            value = string_value(annotation)
            if not isinstance(value, str):
                return True
            parsed = parse_expression_text(value)
            if isinstance(parsed, str):
                return True  # CSC212, from the annotation's conversion
            resolved = (
                self.program.resolve_expr(module, parsed)
                if isinstance(parsed, cst.Name | cst.Attribute)
                else None
            )
        elif isinstance(annotation, cst.Name | cst.Attribute):
            resolved = self.program.resolve_expr(module, annotation)
        else:
            resolved = None
        if isinstance(resolved, ClassRef):
            allowed = {target.cls.id, *(base.id for base in target.bases)}
            return resolved.id in allowed or self._is_protocol(resolved)
        return (
            isinstance(resolved, ApiRef)
            and resolved.path in _FITTING_API_CLASSES[target.kind]
        )

    def _is_protocol(self, cls: ClassRef) -> bool:
        for base in self.program.chainlet_bases(cls):
            if isinstance(base, ApiRef) and base.path == "typing.Protocol":
                return True
            if isinstance(base, cst.Subscript):
                return False
        for arg in cls.node.bases:
            head = (
                arg.value.value if isinstance(arg.value, cst.Subscript) else arg.value
            )
            target = self.program.resolve_expr(cls.module, head)
            if isinstance(target, ApiRef) and target.path == "typing.Protocol":
                return True
        return False

    # -- misuse anywhere in the sources ------------------------------------------------------

    def _check_modules(self) -> None:
        """Per-module findings of the resolver, and the Chainlets hidden in functions.

        The resolver's: side effects, missing or unreadable local modules, API names the
        runtime lacks.
        """
        self.diagnostics.extend(diagnostic for _, diagnostic in self.missing_imports)
        for module in list(self.program.modules.values()):
            self.diagnostics.extend(side_effect_warnings(module))
            self.diagnostics.extend(link_problem_errors(self.program, module))
            self.diagnostics.extend(surface_errors(module))
            self._hidden_chainlets(module)

    def _hidden_chainlets(self, module: ModuleInfo) -> None:
        """Record each Chainlet class inside a function, loop or `with` block (`validate.check_hidden_chainlets`)."""
        parsed = module.parsed
        program = self.program
        for node, where in bodies.hidden_classes(parsed.tree):
            # Classified by its bases as written, resolved against the module's final
            # bindings (the class is not in the outline); a base that is no dotted name
            # (`Generic[T]`, a call) is nothing the chains API defines.
            bases = (
                program.resolve_dotted(module, dotted)
                if (dotted := bodies.dotted_name(base)) is not None
                else ExternalRef("?")
                for base in node.bases
            )
            kind, _ = self._classify_bases(bases, set())
            if kind not in _CHAINLET_KINDS:
                continue
            line_text = parsed.source.line_text(node.lineno)
            name_col = (
                line_text.find(
                    node.name, parsed.char_column(node.lineno, node.col_offset) - 1
                )
                + 1
            )
            span = Span(
                module.path,
                node.lineno,
                name_col,
                node.lineno,
                name_col + len(node.name),
            )
            self.seen.hidden_classes.append(HiddenClassSeen(node.name, span, where))

    def _constructions(self) -> None:
        """Record each Chainlet constructed by hand (`Other()`) where the chain runs it (`validate`).

        Only the files whose text calls a Chainlet's name are walked (`bodies.spells_call`);
        a construction in `run_local` or under `if __name__ == "__main__":` is allowed.
        """
        program = self.program
        names: set[str] = set()
        for module in program.modules.values():
            for order, node in module.classes:
                kind, _ = self.classify(ClassRef(module, node.name.value, node, order))
                if kind in _CHAINLET_KINDS:
                    names.add(node.name.value)
        if not names:
            return
        for module in program.modules.values():
            names.update(
                name
                for name, bindings in module.bindings.items()
                if any(
                    b.kind is BindingKind.IMPORT
                    and b.target.rpartition(".")[2] in names
                    for b in bindings
                )
            )
        called = frozenset(names)
        for module in program.modules.values():
            parsed = module.parsed
            if not bodies.spells_call(parsed.source.text, called):
                continue
            for call in bodies.constructions(parsed.tree, called):
                dotted = bodies.dotted_name(call.func)
                target = (
                    program.resolve_dotted(module, dotted)
                    if dotted is not None
                    else None
                )
                if not isinstance(target, ClassRef):
                    continue
                kind, _ = self.classify(target)
                if kind in _CHAINLET_KINDS:
                    self.seen.constructions.append(
                        (target.qualname, parsed.ast_span(call))
                    )

    def _misplaced_markers(self) -> None:
        """Record `depends(...)`/`depends_context()` anywhere but as an `__init__` default (`validate`).

        Positions are read only when the counts cannot tell: when every `depends(`
        spelled in the file is one of the allowed calls, nothing is walked or located.
        """
        for module in self.program.modules.values():
            parsed = module.parsed
            allowed = list(
                {
                    id(call): call for call in self.allowed_calls.get(module.path, ())
                }.values()
            )
            by_name = [
                call
                for call in allowed
                if _callee_name(call).value in bodies.MARKER_NAMES
            ]
            spelled = sum(1 for _ in bodies.MARKER_TEXT.finditer(parsed.source.text))
            if spelled == len(allowed) and all(_spelled_once(call) for call in allowed):
                continue  # each `depends(` written here is an allowed call's, once each
            calls = list(bodies.marker_calls(parsed.tree))
            outline_calls = [call for call, in_body in calls if not in_body]
            # Every allowed call is a marker call of the outline: as many means the same ones.
            all_allowed = len(outline_calls) == len(by_name)
            positions = (
                set()
                if all_allowed
                else {parsed.start_position(_callee_name(call)) for call in allowed}
            )
            for call, in_body in calls:
                if not in_body and all_allowed:
                    continue
                line, byte_col = bodies.callee_position(call)
                if (line, parsed.char_column(line, byte_col)) in positions:
                    continue
                dotted = bodies.dotted_name(call.func)
                target = (
                    self.program.resolve_dotted(module, dotted)
                    if dotted is not None
                    else None
                )
                if not isinstance(target, ApiRef) or target.path not in (
                    _DEPENDS,
                    _DEPENDS_CONTEXT,
                ):
                    continue
                self.seen.misplaced_markers.append((target.path, parsed.ast_span(call)))


#: A member the framework calls, as a class defines it: a method, or an attribute
#: (its target and value).
_Member = cst.FunctionDef | tuple[cst.Name, cst.BaseExpression]


def _own_member(cls: ClassRef, name: str) -> _Member | None:
    """`name` as the class's own body defines it: its first method, else its first assignment."""
    attribute: tuple[cst.Name, cst.BaseExpression] | None = None
    for statement in cls.node.body.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return statement
        if attribute is None and isinstance(statement, cst.SimpleStatementLine):
            attribute = _assigned_name(statement, name)
    return attribute


def _assigned_name(
    statement: cst.SimpleStatementLine, name: str
) -> tuple[cst.Name, cst.BaseExpression] | None:
    """The target `name` of a plain assignment in a class body (`name = ...`, `name: T = ...`), and its value."""
    for small in statement.body:
        targets: list[cst.BaseExpression] = []
        value: cst.BaseExpression | None = None
        if isinstance(small, cst.Assign):
            targets = [target.target for target in small.targets]
            value = small.value
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            targets = [small.target]
            value = small.value
        for target in targets:
            if isinstance(target, cst.Name) and target.value == name:
                assert value is not None
                return target, value
    return None


#: What an `if` without `else` runs when no test is true: no branch of its own.
_NO_BRANCH = Branch(None, cst.IndentedBlock(body=()))


def _endpoint_name(cand: _Candidate) -> str:
    """The method the framework calls: `predict` for a ModelBase, else `run_remote`."""
    return "predict" if cand.kind == ClassKind.MODEL else "run_remote"


def _decorator_kind(target: Target) -> str | None:
    if isinstance(target, ApiRef):
        return {
            "builtins.staticmethod": "@staticmethod",
            "builtins.classmethod": "@classmethod",
            "builtins.property": "@property",
        }.get(target.path)
    return None


def _callee_name(call: cst.Call) -> cst.Name:
    """The name token of a call's callee: `depends` in `chains.depends(...)`."""
    func = call.func
    name = func.attr if isinstance(func, cst.Attribute) else func
    assert isinstance(
        name, cst.Name
    )  # an allowed call's callee resolves, so it is a name
    return name


def _spelled_once(call: cst.Call) -> bool:
    """Whether the text of `call` holds exactly one `depends(` (`bodies.MARKER_TEXT`), at its callee.

    True for `chains.depends(X)`, `depends_context()`: the callee's name, then only
    spaces before the parenthesis (`dep(X)` through an alias, or a comment there, is not).
    """
    whitespace = call.whitespace_after_func
    return (
        _callee_name(call).value in bodies.MARKER_NAMES
        and isinstance(whitespace, cst.SimpleWhitespace)
        and not whitespace.value.strip(" \t")
    )


def _endpoint_types(endpoint: ir.Endpoint) -> list[ir.TypeRef]:
    return [ref for param in endpoint.params for ref in walk_type(param.type)] + list(
        walk_type(endpoint.returns)
    )


def _file_span(module: ModuleInfo) -> Span:
    return Span.whole_file(module.path)


def without_shadowed(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics without those a chains API name the runtime lacks shadows.

    Such a name is reported once, as that: not again where the same expression is also
    not a type (`run_remote(ws: chains.WebSocketProtocol)`).
    """
    surface = {d.span for d in diagnostics if d.code in SURFACE_CODES}
    return [d for d in diagnostics if d.code in SURFACE_CODES or d.span not in surface]


def extract_chain(
    program: Program, main: ModuleInfo, options: ExtractOptions
) -> ExtractResult:
    """Extract the chain defined by `main` (and the local modules it uses)."""
    return _Extractor(program, main, options).run()


__all__ = [
    "ExtractOptions",
    "ExtractResult",
    "extract_chain",
    "warning",
    "without_shadowed",
]
