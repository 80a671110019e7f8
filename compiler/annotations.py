"""Annotations: type expressions in the CST to `ir.TypeRef`, never evaluated.

Stage: used by extract. Resolves names through `resolve.Program` and collects
the user types (pydantic models, enums, type aliases) a signature needs, with
their fields, transitively. Imports: libcst, ir, resolve, diagnostics.

Type aliases are resolved statically: `Name = <type expression>` (with or
without `: TypeAlias`, `NewType`, `TypeAliasType` and pydantic's `constr(...)`
family included) is an `ALIAS` of what it names, so generated code imports the
user's `Name` and its constraints apply at run time; the schema on the wire is
the aliased type's. Inline `Annotated[T, ...]` and `constr(...)` are
`CONSTRAINED` T: generated code spells them as written.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from chainsc import ir
from chainsc.diagnostics import Diagnostic, error
from chainsc.parse import parse_expression_text
from chainsc.resolve import (
    ApiRef,
    Binding,
    ClassRef,
    ExternalRef,
    FunctionRef,
    ModuleInfo,
    ModuleRef,
    Program,
    Target,
    Undefined,
    ValueRef,
    string_value,
)
from chainsc.source import Span

_BUILTINS = frozenset({"str", "int", "float", "bool", "bytes"})
#: The websocket of a websocket endpoint, as the resolver names it.
WEBSOCKET_PROTOCOL = "chains.WebSocketProtocol"
_LIST_NAMES = frozenset(
    {"builtins.list", "typing.List", "typing.Sequence", "typing.MutableSequence"}
)
_DICT_NAMES = frozenset(
    {"builtins.dict", "typing.Dict", "typing.Mapping", "typing.MutableMapping"}
)
_TUPLE_NAMES = frozenset({"builtins.tuple", "typing.Tuple"})
_ITERATOR_NAMES = frozenset({"typing.Iterator", "typing.Generator", "typing.Iterable"})
_ASYNC_ITERATOR_NAMES = frozenset(
    {"typing.AsyncIterator", "typing.AsyncGenerator", "typing.AsyncIterable"}
)
#: `chains.StrEnum` is `truss_chains.utils.StrEnum` (the runtime's `utils` has it too).
_ENUM_BASES = frozenset(
    {
        "enum.Enum",
        "enum.IntEnum",
        "enum.StrEnum",
        "enum.Flag",
        "enum.IntFlag",
        "chains.StrEnum",
    }
)
#: Standard-library types pydantic validates and writes as JSON (an ISO 8601 string, a
#: decimal string, a UUID, path or IP address string): I/O types inside pydantic models,
#: as in Truss Chains, which refuses them as an endpoint's own parameter or return types.
STDLIB_TYPES = frozenset(
    {
        "datetime.date",
        "datetime.datetime",
        "datetime.time",
        "datetime.timedelta",
        "decimal.Decimal",
        "ipaddress.IPv4Address",
        "ipaddress.IPv4Interface",
        "ipaddress.IPv4Network",
        "ipaddress.IPv6Address",
        "ipaddress.IPv6Interface",
        "ipaddress.IPv6Network",
        "pathlib.Path",
        "pathlib.PurePath",
        "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath",
        "uuid.UUID",
    }
)
#: pydantic's constrained scalar types (`pydantic.PositiveFloat`), by the type they constrain.
_PYDANTIC_SCALARS = {
    **dict.fromkeys(
        ("StrictInt", "PositiveInt", "NegativeInt", "NonNegativeInt", "NonPositiveInt"),
        "int",
    ),
    **dict.fromkeys(
        (
            "StrictFloat",
            "PositiveFloat",
            "NegativeFloat",
            "NonNegativeFloat",
            "NonPositiveFloat",
            "FiniteFloat",
        ),
        "float",
    ),
    "StrictStr": "str",
    "StrictBool": "bool",
    "StrictBytes": "bytes",
    **dict.fromkeys(
        ("AwareDatetime", "NaiveDatetime", "PastDatetime", "FutureDatetime"),
        "datetime.datetime",
    ),
    **dict.fromkeys(("PastDate", "FutureDate"), "datetime.date"),
    **dict.fromkeys(("UUID1", "UUID3", "UUID4", "UUID5"), "uuid.UUID"),
    **dict.fromkeys(("FilePath", "DirectoryPath", "NewPath"), "pathlib.Path"),
}
#: pydantic's constrained-type functions (`constr(min_length=1)`), by the type they return.
_PYDANTIC_CONSTRAINERS = {
    "constr": "str",
    "conint": "int",
    "confloat": "float",
    "conbytes": "bytes",
    "conlist": "list",
    "condecimal": "decimal.Decimal",
    "condate": "datetime.date",
}
#: Constrained-type functions whose type is not JSON-compatible, and why.
_PYDANTIC_UNSUPPORTED = {
    "conset": "a set is not JSON-compatible; use `conlist(...)`",
    "confrozenset": "a frozenset is not JSON-compatible; use `conlist(...)`",
}
#: Calls that name a type by their second argument: `NewType("UserId", int)`.
_TYPE_NAMING_CALLS = frozenset({"typing.NewType", "typing.TypeAliasType"})
_ITERATOR_KINDS = (ir.TypeKind.ITERATOR, ir.TypeKind.ASYNC_ITERATOR)
_ALLOWED_HELP = (
    "use str, int, float, bool, bytes, None, Any, list/dict/tuple/Optional/Union/Literal "
    "of those, pydantic models, enum.Enum subclasses, or aliases of those (and, inside "
    "pydantic models, datetime, date, time, timedelta, Decimal, UUID, Path, IP addresses)"
)


@dataclass(slots=True)
class TypeCollector:
    """Converts annotations and accumulates the user types they reach."""

    program: Program
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: Every user type converted so far, by id.
    types: dict[str, ir.TypeDef] = field(default_factory=dict)
    #: User types queued or being defined (`_define`).
    _in_progress: set[str] = field(default_factory=set)
    _pending: list[tuple[ClassRef, ir.TypeDefKind]] = field(default_factory=list)
    _defining: bool = False
    #: `user_type_kind` of each class asked about, by id.
    _kinds: dict[str, ir.TypeDefKind | None] = field(default_factory=dict)
    #: Local modules reported missing (CSC004): names from them are not reported again.
    missing_modules: set[str] = field(default_factory=set)
    _anchor: cst.CSTNode | None = None

    # -- public ---------------------------------------------------------------

    def convert(
        self,
        module: ModuleInfo,
        node: cst.BaseExpression,
        scope: ClassRef | None = None,
    ) -> ir.TypeRef:
        """Convert one annotation expression; problems become diagnostics."""
        return self._convert(module, node, scope)

    def closure(self, refs: Iterator[ir.TypeRef] | list[ir.TypeRef]) -> tuple[str, ...]:
        """Sorted ids of every user type reachable from `refs` (fields and bases)."""
        seen: set[str] = set()
        stack = [r for ref in refs for r in _walk(ref)]
        while stack:
            ref = stack.pop()
            if ref.name in seen or ref.kind not in (
                ir.TypeKind.USER,
                ir.TypeKind.ALIAS,
            ):
                continue
            typedef = self.types.get(ref.name)
            if ref.kind is ir.TypeKind.ALIAS and typedef is None:
                continue  # one of pydantic's (`PositiveFloat`): nothing of the user's to carry
            seen.add(ref.name)
            if typedef is None:
                continue
            for base in typedef.bases:
                stack.append(ir.TypeRef(ir.TypeKind.USER, base))
            for fld in typedef.fields:
                stack.extend(_walk(fld.type))
        return tuple(sorted(seen))

    # -- conversion -----------------------------------------------------------

    def from_missing_module(self, target: Target) -> bool:
        """Whether `target` is a name imported from a local module reported missing (CSC004)."""
        if isinstance(target, Undefined):
            path = target.name
        elif isinstance(target, ExternalRef):
            path = target.path
        else:
            return False
        parts = path.split(".")
        return any(
            ".".join(parts[:cut]) in self.missing_modules
            for cut in range(1, len(parts) + 1)
        )

    def _fail(
        self,
        code: str,
        message: str,
        module: ModuleInfo,
        node: cst.CSTNode,
        help_text: str | None = None,
    ) -> ir.TypeRef:
        if help_text is None and code == "CSC206":
            help_text = _ALLOWED_HELP
        self.diagnostics.append(
            error(code, message, self._span(module, node), help=help_text)
        )
        return ir.TypeRef(ir.TypeKind.ANY, "Any")

    def _resolve(
        self, module: ModuleInfo, node: cst.BaseExpression, scope: ClassRef | None
    ) -> Target:
        if scope is not None and isinstance(node, cst.Name):
            # Names inside a class body see the class's nested classes first.
            nested = self.program.attribute(scope, node.value)
            if isinstance(nested, ClassRef):
                return nested
        return self.program.resolve_expr(module, node)

    def _convert(
        self, module: ModuleInfo, node: cst.BaseExpression, scope: ClassRef | None
    ) -> ir.TypeRef:
        if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
            return self._convert_string(module, node, scope)
        if isinstance(node, cst.Name) and node.value == "None":
            return ir.TypeRef(ir.TypeKind.NONE, "None")
        if isinstance(node, cst.BinaryOperation) and isinstance(
            node.operator, cst.BitOr
        ):
            members = [
                self._convert(module, node.left, scope),
                self._convert(module, node.right, scope),
            ]
            return _union(members)
        if isinstance(node, cst.Subscript):
            return self._convert_subscript(module, node, scope)
        if isinstance(node, cst.Name | cst.Attribute):
            return self._convert_named(module, node, scope)
        if isinstance(node, cst.Call):
            return self._convert_call(module, node, scope)
        written = module.code(node)
        return self._fail(
            "CSC206",
            f"`{written}` is not a supported I/O type annotation",
            module,
            node,
        )

    def _convert_string(
        self,
        module: ModuleInfo,
        node: cst.SimpleString | cst.ConcatenatedString,
        scope: ClassRef | None,
    ) -> ir.TypeRef:
        value = string_value(node)
        if not isinstance(value, str):
            return self._fail(
                "CSC212", "a bytes literal is not a type annotation", module, node
            )
        inner = parse_expression_text(value.strip())
        if isinstance(inner, str):
            return self._fail(
                "CSC212", f"string annotation `{_shorten(value)}` {inner}", module, node
            )
        # Positions inside the string are not in the module's tree: report at the string.
        return self._convert_detached(module, inner, scope, node)

    def _convert_detached(
        self,
        module: ModuleInfo,
        node: cst.BaseExpression,
        scope: ClassRef | None,
        anchor: cst.CSTNode,
    ) -> ir.TypeRef:
        """Convert an expression parsed from a string; findings point at `anchor`."""
        outer = self._anchor
        self._anchor = anchor if outer is None else outer
        try:
            return self._convert(module, node, scope)
        finally:
            self._anchor = outer

    def _span(self, module: ModuleInfo, node: cst.CSTNode) -> Span:
        # Nodes parsed from a string annotation have no position of their own.
        return module.span(self._anchor if self._anchor is not None else node)

    def _convert_named(
        self, module: ModuleInfo, node: cst.Name | cst.Attribute, scope: ClassRef | None
    ) -> ir.TypeRef:
        target = self._resolve(module, node, scope)
        written = module.code(node)
        return self._convert_target(module, node, target, written)

    def _convert_target(
        self, module: ModuleInfo, node: cst.CSTNode, target: Target, written: str
    ) -> ir.TypeRef:
        if isinstance(target, ApiRef):
            path = target.path
            short = path.rpartition(".")[2]
            if path.startswith("builtins.") and short in _BUILTINS:
                return ir.TypeRef(ir.TypeKind.BUILTIN, short)
            if path == "typing.Any":
                return ir.TypeRef(ir.TypeKind.ANY, "Any")
            if path in _LIST_NAMES:
                return ir.TypeRef(
                    ir.TypeKind.LIST, "list", (ir.TypeRef(ir.TypeKind.ANY, "Any"),)
                )
            if path in _DICT_NAMES:
                any_ = ir.TypeRef(ir.TypeKind.ANY, "Any")
                return ir.TypeRef(
                    ir.TypeKind.DICT,
                    "dict",
                    (ir.TypeRef(ir.TypeKind.BUILTIN, "str"), any_),
                )
            if path == "chains.pydantic_numpy.NumpyArrayField":
                return ir.TypeRef(ir.TypeKind.NUMPY_ARRAY, "NumpyArrayField")
            if path == WEBSOCKET_PROTOCOL:
                # Where it may stand (a websocket endpoint's one parameter) is a rule's.
                return ir.TypeRef(ir.TypeKind.WEBSOCKET, "WebSocketProtocol")
            if _is_pydantic(path) and short in _PYDANTIC_SCALARS:
                # Imported from pydantic by generated code: the constraint is the type's.
                return ir.TypeRef(
                    ir.TypeKind.ALIAS,
                    f"pydantic.{short}",
                    (_scalar(_PYDANTIC_SCALARS[short]),),
                )
            if path in _ITERATOR_NAMES | _ASYNC_ITERATOR_NAMES:
                self._fail(
                    "CSC210",
                    f"`{written}` must say what it yields: `{short}[str]` or `{short}[bytes]`",
                    module,
                    node,
                )
                # Still an iterator: `yield` in the body is right and must not be reported too.
                kind = (
                    ir.TypeKind.ITERATOR
                    if path in _ITERATOR_NAMES
                    else ir.TypeKind.ASYNC_ITERATOR
                )
                return ir.TypeRef(kind, short, (ir.TypeRef(ir.TypeKind.ANY, "Any"),))
            return self._fail(
                "CSC206", f"`{written}` is not a supported I/O type", module, node
            )
        if isinstance(target, ClassRef):
            return self._convert_class(module, node, target, written)
        if isinstance(target, ValueRef):
            return self._convert_alias(module, node, target, written)
        if self.from_missing_module(target):
            return ir.TypeRef(ir.TypeKind.ANY, "Any")  # its import already has CSC004
        if isinstance(target, Undefined):
            return self._fail(
                "CSC207", f"I/O type `{written}` is not defined", module, node
            )
        if isinstance(target, FunctionRef | ModuleRef):
            return self._fail("CSC206", f"`{written}` is not a type", module, node)
        assert isinstance(target, ExternalRef)
        if target.path in STDLIB_TYPES:
            return ir.TypeRef(ir.TypeKind.STDLIB, target.path)
        if target.path.partition(".")[0] in sys.stdlib_module_names:
            return self._fail(
                "CSC206",
                f"`{written}` is `{target.path}` of the standard library, which is not a supported I/O type",
                module,
                node,
            )
        return self._fail(
            "CSC206",
            f"`{written}` is not defined in the chain's sources (`{self.program.first_missing_module(target.path)}` is not a module under the chain root)",
            module,
            node,
            "define I/O types in the chain file or a local module; pass `--root` if the package root is higher up",
        )

    def _convert_class(
        self, module: ModuleInfo, node: cst.CSTNode, cls: ClassRef, written: str
    ) -> ir.TypeRef:
        kind = self.user_type_kind(cls)
        if kind is None:
            return self._fail(
                "CSC206",
                f"`{written}` is a plain class; I/O types must be pydantic models or enums",
                module,
                node,
            )
        self._define(cls, kind)
        return ir.TypeRef(ir.TypeKind.USER, cls.id)

    def _convert_subscript(
        self, module: ModuleInfo, node: cst.Subscript, scope: ClassRef | None
    ) -> ir.TypeRef:
        head = node.value
        written = module.code(head)
        target = (
            self._resolve(module, head, scope)
            if isinstance(head, cst.Name | cst.Attribute)
            else ExternalRef("?")
        )
        path = target.path if isinstance(target, ApiRef) else ""
        elements = [element.slice for element in node.slice]
        values = [e.value for e in elements if isinstance(e, cst.Index)]
        if len(values) != len(elements):
            return self._fail(
                "CSC206",
                f"`{module.code(node)}` uses a slice, not a type",
                module,
                node,
            )

        def args() -> list[ir.TypeRef]:
            return [self._convert(module, v, scope) for v in values]

        if path in _LIST_NAMES or path in (
            "builtins.set",
            "builtins.frozenset",
            "typing.Set",
            "typing.FrozenSet",
        ):
            if path.endswith(("set", "Set", "FrozenSet")):
                return self._fail(
                    "CSC206",
                    f"`{written}` is not JSON-compatible; use `list[...]`",
                    module,
                    head,
                )
            if len(values) != 1:
                return self._fail(
                    "CSC206", f"`{written}[...]` takes exactly one type", module, node
                )
            return ir.TypeRef(ir.TypeKind.LIST, "list", tuple(args()))
        if path in _DICT_NAMES:
            if len(values) != 2:
                return self._fail(
                    "CSC206",
                    f"`{written}[...]` takes a key and a value type",
                    module,
                    node,
                )
            key, value = args()
            if key != ir.TypeRef(ir.TypeKind.BUILTIN, "str"):
                return self._fail(
                    "CSC206",
                    "dictionary keys must be `str` to be JSON-compatible",
                    module,
                    values[0],
                )
            return ir.TypeRef(ir.TypeKind.DICT, "dict", (key, value))
        if path in _TUPLE_NAMES:
            if len(values) == 2 and isinstance(values[1], cst.Ellipsis):
                return ir.TypeRef(
                    ir.TypeKind.TUPLE,
                    "tuple",
                    (self._convert(module, values[0], scope),),
                    is_variadic=True,
                )
            return ir.TypeRef(ir.TypeKind.TUPLE, "tuple", tuple(args()))
        if path == "typing.Optional":
            if len(values) != 1:
                return self._fail(
                    "CSC206", "`Optional[...]` takes exactly one type", module, node
                )
            return _union([*args(), ir.TypeRef(ir.TypeKind.NONE, "None")])
        if path == "typing.Union":
            return _union(args())
        if path == "typing.Literal":
            return self._convert_literal(module, values)
        if path == "typing.Annotated":
            # `Annotated[T, Field(...)]`: T, with metadata that only pydantic reads.
            if len(values) < 2:
                return self._fail(
                    "CSC206",
                    "`Annotated[...]` takes a type and at least one annotation",
                    module,
                    node,
                )
            inner = self._convert(module, values[0], scope)
            if inner.kind in _ITERATOR_KINDS:
                return inner  # a stream is not validated: the metadata has nothing to apply to
            return ir.TypeRef(
                ir.TypeKind.CONSTRAINED, _expression_text(module, node), (inner,)
            )
        if path in _ITERATOR_NAMES or path in _ASYNC_ITERATOR_NAMES:
            kind = (
                ir.TypeKind.ITERATOR
                if path in _ITERATOR_NAMES
                else ir.TypeKind.ASYNC_ITERATOR
            )
            # Streamed chunks are not validated: an alias of `str` streams `str`.
            item = base_type(self._convert(module, values[0], scope))
            if item.kind is not ir.TypeKind.BUILTIN or item.name not in (
                "str",
                "bytes",
            ):
                self.diagnostics.append(
                    error(
                        "CSC210",
                        f"streamed items must be `str` or `bytes`, not `{module.code(values[0])}`",
                        self._span(module, values[0]),
                        help="to stream structured data, yield bytes from `chains.streaming.stream_writer`",
                    )
                )
            return ir.TypeRef(kind, path.rpartition(".")[2], (item,))
        if isinstance(target, Undefined):
            return self._fail(
                "CSC207", f"I/O type `{written}` is not defined", module, head
            )
        if isinstance(target, ApiRef) and target.path in (
            "typing.Callable",
            "collections.abc.Callable",
        ):
            return self._fail(
                "CSC206", "`Callable` is not a supported I/O type", module, node
            )
        return self._fail(
            "CSC206", f"`{module.code(node)}` is not a supported I/O type", module, node
        )

    def _convert_call(
        self, module: ModuleInfo, node: cst.Call, scope: ClassRef | None
    ) -> ir.TypeRef:
        """`type(None)`, pydantic's `constr(...)` family, `NewType(...)`/`TypeAliasType(...)`."""
        written = module.code(node)
        func = node.func
        target = (
            self._resolve(module, func, scope)
            if isinstance(func, cst.Name | cst.Attribute)
            else ExternalRef("?")
        )
        path = target.path if isinstance(target, ApiRef) else ""
        short = path.rpartition(".")[2]
        positional = [
            arg.value for arg in node.args if arg.keyword is None and not arg.star
        ]
        keywords = {
            arg.keyword.value: arg.value for arg in node.args if arg.keyword is not None
        }
        if path == "builtins.type":
            argument = positional[0] if len(node.args) == 1 and positional else None
            if isinstance(argument, cst.Name) and argument.value == "None":
                return ir.TypeRef(
                    ir.TypeKind.NONE, "None"
                )  # `type(None)` is NoneType, which pydantic reads as None
            return self._fail(
                "CSC206",
                f"`{written}` is not a supported I/O type annotation",
                module,
                node,
            )
        if path in _TYPE_NAMING_CALLS:
            aliased = (
                positional[1]
                if len(positional) >= 2
                else keywords.get("tp", keywords.get("value"))
            )
            if aliased is None:
                return self._fail(
                    "CSC206",
                    f"`{written}` does not say which type it names",
                    module,
                    node,
                )
            return self._convert(module, aliased, scope)
        if _is_pydantic(path) and short in _PYDANTIC_UNSUPPORTED:
            return self._fail(
                "CSC206",
                f"`{written}` is not a supported I/O type: {_PYDANTIC_UNSUPPORTED[short]}",
                module,
                node,
            )
        if not (_is_pydantic(path) and short in _PYDANTIC_CONSTRAINERS):
            return self._fail(
                "CSC206",
                f"`{written}` is not a supported I/O type annotation",
                module,
                node,
            )
        base = _PYDANTIC_CONSTRAINERS[short]
        if base != "list":
            return ir.TypeRef(
                ir.TypeKind.CONSTRAINED,
                _expression_text(module, node),
                (_scalar(base),),
            )
        item_node = positional[0] if positional else keywords.get("item_type")
        if item_node is None:
            return self._fail(
                "CSC206",
                f"`{written}` does not say the type of its items",
                module,
                node,
            )
        item = self._convert(module, item_node, scope)
        inner = ir.TypeRef(ir.TypeKind.LIST, "list", (item,))
        return ir.TypeRef(
            ir.TypeKind.CONSTRAINED, _expression_text(module, node), (inner,)
        )

    def _convert_alias(
        self, module: ModuleInfo, node: cst.CSTNode, value: ValueRef, written: str
    ) -> ir.TypeRef:
        """A module-level `Name = <type expression>`: an ALIAS of that type, converted once."""
        binding = value.binding
        owner = value.module
        alias_id = f"{owner.name}.{binding.name}"
        known = self.types.get(alias_id)
        if known is not None:
            assert known.aliased is not None
            return _alias_ref(alias_id, known.aliased)
        expression = binding.node
        if not _is_type_shaped(expression):
            return self._fail("CSC206", f"`{written}` is not a type", module, node)
        assert isinstance(expression, cst.BaseExpression)
        if alias_id in self._in_progress:
            return self._fail(
                "CSC206",
                f"type alias `{written}` refers to itself",
                module,
                node,
                "pydantic cannot validate a recursive alias; use a pydantic model with a field of its own type",
            )
        self._in_progress.add(alias_id)
        outer_anchor, self._anchor = self._anchor, None
        try:
            # Names in the definition are the alias's module's; findings point there.
            aliased = self._convert(owner, expression, None)
        finally:
            self._anchor = outer_anchor
            self._in_progress.discard(alias_id)
        if aliased.kind in _ITERATOR_KINDS:
            return aliased  # `Stream = Iterator[str]`: generated code spells the stream itself
        self.types[alias_id] = ir.TypeDef(
            id=alias_id,
            module=owner.name,
            qualname=binding.name,
            kind=ir.TypeDefKind.ALIAS,
            span=owner.span(_alias_name(binding) or expression),
            aliased=aliased,
        )
        return _alias_ref(alias_id, aliased)

    def _convert_literal(
        self, module: ModuleInfo, values: list[cst.BaseExpression]
    ) -> ir.TypeRef:
        literals: list[ir.JsonScalar] = []
        for value in values:
            literal = _literal_value(value)
            if literal is _NOT_LITERAL:
                self._fail(
                    "CSC206",
                    f"`{module.code(value)}` is not a literal value",
                    module,
                    value,
                )
                continue
            assert not isinstance(literal, _NotLiteral)
            literals.append(literal)
        return ir.TypeRef(ir.TypeKind.LITERAL, "Literal", literals=tuple(literals))

    # -- user types -------------------------------------------------------------

    def user_type_kind(self, cls: ClassRef) -> ir.TypeDefKind | None:
        """PYDANTIC or ENUM when `cls` derives (transitively) from BaseModel or Enum.

        The bases are searched depth first, in order, with a stack of their own (a
        chain of base classes is as long as the input makes it); each class's answer
        is kept, so asking about every class of a long chain stays linear.
        """
        if cls.id in self._kinds:
            return self._kinds[cls.id]
        visited = {cls.id}
        path: list[
            str
        ] = []  # ids of the user bases from `cls` to the class whose bases are searched
        frames: list[Iterator[Target]] = [self.program.chainlet_bases(cls)]
        found: ir.TypeDefKind | None = None
        while frames and found is None:
            base = next(frames[-1], None)
            if base is None:
                frames.pop()
                if path:
                    self._kinds[path.pop()] = None
            elif isinstance(base, ApiRef):
                if base.path == "pydantic.BaseModel":
                    found = ir.TypeDefKind.PYDANTIC
                elif base.path in _ENUM_BASES:
                    found = ir.TypeDefKind.ENUM
            elif isinstance(base, ClassRef) and base.id not in visited:
                visited.add(base.id)
                if base.id in self._kinds:
                    found = self._kinds[base.id]
                else:
                    path.append(base.id)
                    frames.append(self.program.chainlet_bases(base))
        for class_id in (*path, cls.id):
            self._kinds[class_id] = found
        return found

    def _define(self, cls: ClassRef, kind: ir.TypeDefKind) -> None:
        """Define `cls` and every user type its bases and fields reach.

        A worklist, not recursion: a model whose field is a model whose field is a
        model... nests as deep as the input makes it.
        """
        if cls.id in self.types or cls.id in self._in_progress:
            return
        self._in_progress.add(cls.id)
        self._pending.append((cls, kind))
        if self._defining:
            return  # the loop below, further up the stack, defines it
        self._defining = True
        outer_anchor, self._anchor = self._anchor, None
        try:
            while self._pending:
                self._define_fields(*self._pending.pop())
        finally:
            self._defining = False
            self._anchor = outer_anchor
            self._in_progress.clear()
            self._pending.clear()

    def _define_fields(self, cls: ClassRef, kind: ir.TypeDefKind) -> None:
        bases: list[str] = []
        for base in self.program.chainlet_bases(cls):
            if isinstance(base, ClassRef) and self.user_type_kind(base) is not None:
                self._define(base, kind)
                bases.append(base.id)
        fields: list[ir.Field] = []
        members: list[ir.EnumMember] = []
        module = cls.module
        for statement in cls.node.body.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if kind is ir.TypeDefKind.PYDANTIC and isinstance(small, cst.AnnAssign):
                    if not isinstance(small.target, cst.Name) or _is_classvar(
                        self.program, module, small.annotation.annotation
                    ):
                        continue
                    name = small.target.value
                    type_ref = self._convert(module, small.annotation.annotation, cls)
                    default = (
                        module.code(small.value) if small.value is not None else None
                    )
                    fields.append(
                        ir.Field(name, type_ref, default, module.span(small.target))
                    )
                elif kind is ir.TypeDefKind.ENUM and isinstance(small, cst.Assign):
                    for assign_target in small.targets:
                        if isinstance(
                            assign_target.target, cst.Name
                        ) and not assign_target.target.value.startswith("_"):
                            members.append(
                                ir.EnumMember(
                                    assign_target.target.value, module.code(small.value)
                                )
                            )
        self.types[cls.id] = ir.TypeDef(
            id=cls.id,
            module=module.name,
            qualname=cls.qualname,
            kind=kind,
            span=module.span(cls.node.name),
            bases=tuple(bases),
            fields=tuple(fields),
            members=tuple(members),
        )


class _NotLiteral:
    pass


_NOT_LITERAL = _NotLiteral()


def _literal_value(node: cst.BaseExpression) -> ir.JsonScalar | _NotLiteral:
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        value = string_value(node)
        return value if isinstance(value, str) else _NOT_LITERAL
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
    ):
        return -int(node.expression.value, 0)
    return _NOT_LITERAL


def _is_pydantic(path: str) -> bool:
    """`pydantic.X` or `pydantic.types.X`, not the v1 API (`pydantic.v1.X`)."""
    return path.startswith("pydantic.") and not path.startswith("pydantic.v1.")


def _is_type_shaped(node: cst.CSTNode) -> bool:
    """Whether an assigned value can be a type expression (`list[float]`, `A | B`, `constr()`)."""
    if isinstance(node, cst.BinaryOperation):
        return isinstance(node.operator, cst.BitOr)
    return isinstance(node, cst.Subscript | cst.Call | cst.Name | cst.Attribute)


def _scalar(name: str) -> ir.TypeRef:
    """`str` (a builtin) or `datetime.date` (a standard-library type) as a TypeRef."""
    return ir.TypeRef(ir.TypeKind.STDLIB if "." in name else ir.TypeKind.BUILTIN, name)


def stdlib_outside_models(ref: ir.TypeRef) -> str | None:
    """The first standard-library type in `ref` that is not inside a pydantic model.

    Truss Chains takes `datetime.datetime` and the like only as fields of pydantic
    models: as an endpoint's own type, alone or in a container, it refuses them.
    User aliases and constraints are looked through; user models and enums are not.
    """
    for inner in _walk(ref):
        if inner.kind is ir.TypeKind.STDLIB:
            return inner.name
    return None


def is_websocket(ref: ir.TypeRef) -> bool:
    """Whether `ref` is `chains.WebSocketProtocol` itself (through aliases of it, as Truss compares)."""
    return ir.unaliased(ref).kind is ir.TypeKind.WEBSOCKET


def contains_websocket(ref: ir.TypeRef) -> bool:
    """Whether `chains.WebSocketProtocol` is in `ref`, at any depth."""
    return any(inner.kind is ir.TypeKind.WEBSOCKET for inner in _walk(ref))


def _alias_ref(alias_id: str, aliased: ir.TypeRef) -> ir.TypeRef:
    return ir.TypeRef(ir.TypeKind.ALIAS, alias_id, (aliased,))


def _alias_name(binding: Binding) -> cst.Name | None:
    """The `Name` an alias statement assigns (for the span of its `TypeDef`)."""
    statement = binding.statement
    targets: list[cst.BaseExpression] = []
    if isinstance(statement, cst.Assign):
        targets = [target.target for target in statement.targets]
    elif isinstance(statement, cst.AnnAssign):
        targets = [statement.target]
    return next(
        (t for t in targets if isinstance(t, cst.Name) and t.value == binding.name),
        None,
    )


def _expression_text(module: ModuleInfo, node: cst.CSTNode) -> str:
    """A type expression as written, on one line (re-spelled by `ast` when it spans lines)."""
    text = module.code(node)
    if "\n" in text:
        text = ast.unparse(ast.parse(text, mode="eval"))
    return text


def _shorten(text: str, limit: int = 80) -> str:
    """Source text for a message: long text is cut in the middle."""
    text = " ".join(text.split())
    return (
        text
        if len(text) <= limit
        else f"{text[: limit // 2 - 2]} ... {text[-(limit // 2 - 3) :]}"
    )


def base_type(ref: ir.TypeRef) -> ir.TypeRef:
    """The type under any aliases and constraints: what is on the wire."""
    while ref.kind in (ir.TypeKind.ALIAS, ir.TypeKind.CONSTRAINED):
        ref = ref.args[0]
    return ref


def _is_classvar(
    program: Program, module: ModuleInfo, node: cst.BaseExpression
) -> bool:
    head = node.value if isinstance(node, cst.Subscript) else node
    target = program.resolve_expr(module, head)
    return isinstance(target, ApiRef) and target.path == "typing.ClassVar"


def _union(members: list[ir.TypeRef]) -> ir.TypeRef:
    flat: list[ir.TypeRef] = []
    for member in members:
        for item in member.args if member.kind is ir.TypeKind.UNION else (member,):
            if item not in flat:
                flat.append(item)
    if len(flat) == 1:
        return flat[0]
    return ir.TypeRef(ir.TypeKind.UNION, "Union", tuple(flat))


def _walk(ref: ir.TypeRef) -> Iterator[ir.TypeRef]:
    yield ref
    for arg in ref.args:
        yield from _walk(arg)


def walk_type(ref: ir.TypeRef) -> Iterator[ir.TypeRef]:
    """Every TypeRef inside `ref`, itself included."""
    return _walk(ref)
