"""Annotations: type expressions in the CST to `ir.TypeRef`, never evaluated.

Stage: used by extract. Resolves names through `resolve.Program` and collects
the user types (pydantic models, enums) a signature needs, with their fields,
transitively. Imports: libcst, ir, resolve, diagnostics.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from compiler import ir
from compiler.diagnostics import Diagnostic, error
from compiler.resolve import (
    ApiRef,
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
from compiler.source import Span

_BUILTINS = frozenset({"str", "int", "float", "bool", "bytes"})
_LIST_NAMES = frozenset({"builtins.list", "typing.List", "typing.Sequence", "typing.MutableSequence"})
_DICT_NAMES = frozenset({"builtins.dict", "typing.Dict", "typing.Mapping", "typing.MutableMapping"})
_TUPLE_NAMES = frozenset({"builtins.tuple", "typing.Tuple"})
_ITERATOR_NAMES = frozenset({"typing.Iterator", "typing.Generator", "typing.Iterable"})
_ASYNC_ITERATOR_NAMES = frozenset({"typing.AsyncIterator", "typing.AsyncGenerator", "typing.AsyncIterable"})
#: `chains.StrEnum` is `truss_chains.utils.StrEnum` (the runtime's `utils` has it too).
_ENUM_BASES = frozenset({"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag", "chains.StrEnum"})
_ALLOWED_HELP = (
    "use str, int, float, bool, bytes, None, Any, list/dict/tuple/Optional/Union/Literal "
    "of those, pydantic models or enum.Enum subclasses"
)


@dataclass(slots=True)
class TypeCollector:
    """Converts annotations and accumulates the user types they reach."""

    program: Program
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: Every user type converted so far, by id.
    types: dict[str, ir.TypeDef] = field(default_factory=dict)
    _in_progress: set[str] = field(default_factory=set)
    #: Local modules reported missing (CSC004): names from them are not reported again.
    missing_modules: set[str] = field(default_factory=set)
    _anchor: cst.CSTNode | None = None

    # -- public ---------------------------------------------------------------

    def convert(self, module: ModuleInfo, node: cst.BaseExpression, scope: ClassRef | None = None) -> ir.TypeRef:
        """Convert one annotation expression; problems become diagnostics."""
        return self._convert(module, node, scope)

    def closure(self, refs: Iterator[ir.TypeRef] | list[ir.TypeRef]) -> tuple[str, ...]:
        """Sorted ids of every user type reachable from `refs` (fields and bases)."""
        seen: set[str] = set()
        stack = [r for ref in refs for r in _walk(ref)]
        while stack:
            ref = stack.pop()
            if ref.kind is not ir.TypeKind.USER or ref.name in seen:
                continue
            seen.add(ref.name)
            typedef = self.types.get(ref.name)
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
        return any(".".join(parts[:cut]) in self.missing_modules for cut in range(1, len(parts) + 1))

    def _fail(self, code: str, message: str, module: ModuleInfo, node: cst.CSTNode, help_text: str | None = None) -> ir.TypeRef:
        if help_text is None and code == "CSC206":
            help_text = _ALLOWED_HELP
        self.diagnostics.append(error(code, message, self._span(module, node), help=help_text))
        return ir.TypeRef(ir.TypeKind.ANY, "Any")

    def _resolve(self, module: ModuleInfo, node: cst.BaseExpression, scope: ClassRef | None) -> Target:
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
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            members = [self._convert(module, node.left, scope), self._convert(module, node.right, scope)]
            return _union(members)
        if isinstance(node, cst.Subscript):
            return self._convert_subscript(module, node, scope)
        if isinstance(node, cst.Name | cst.Attribute):
            return self._convert_named(module, node, scope)
        written = module.code(node)
        return self._fail("CSC206", f"`{written}` is not a supported I/O type annotation", module, node)

    def _convert_string(self, module: ModuleInfo, node: cst.SimpleString | cst.ConcatenatedString, scope: ClassRef | None) -> ir.TypeRef:
        value = string_value(node)
        if not isinstance(value, str):
            return self._fail("CSC212", "a bytes literal is not a type annotation", module, node)
        try:
            inner = cst.parse_expression(value.strip())
        except cst.ParserSyntaxError:
            return self._fail("CSC212", f"string annotation `{value}` is not a valid expression", module, node)
        # Positions inside the string are not in the module's tree: report at the string.
        return self._convert_detached(module, inner, scope, node)

    def _convert_detached(self, module: ModuleInfo, node: cst.BaseExpression, scope: ClassRef | None, anchor: cst.CSTNode) -> ir.TypeRef:
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

    def _convert_named(self, module: ModuleInfo, node: cst.Name | cst.Attribute, scope: ClassRef | None) -> ir.TypeRef:
        target = self._resolve(module, node, scope)
        written = module.code(node)
        return self._convert_target(module, node, target, written)

    def _convert_target(self, module: ModuleInfo, node: cst.CSTNode, target: Target, written: str) -> ir.TypeRef:
        if isinstance(target, ApiRef):
            path = target.path
            short = path.rpartition(".")[2]
            if path.startswith("builtins.") and short in _BUILTINS:
                return ir.TypeRef(ir.TypeKind.BUILTIN, short)
            if path == "typing.Any":
                return ir.TypeRef(ir.TypeKind.ANY, "Any")
            if path in _LIST_NAMES:
                return ir.TypeRef(ir.TypeKind.LIST, "list", (ir.TypeRef(ir.TypeKind.ANY, "Any"),))
            if path in _DICT_NAMES:
                any_ = ir.TypeRef(ir.TypeKind.ANY, "Any")
                return ir.TypeRef(ir.TypeKind.DICT, "dict", (ir.TypeRef(ir.TypeKind.BUILTIN, "str"), any_))
            if path == "chains.pydantic_numpy.NumpyArrayField":
                return ir.TypeRef(ir.TypeKind.NUMPY_ARRAY, "NumpyArrayField")
            if path in _ITERATOR_NAMES | _ASYNC_ITERATOR_NAMES:
                self._fail("CSC210", f"`{written}` must say what it yields: `{short}[str]` or `{short}[bytes]`", module, node)
                # Still an iterator: `yield` in the body is right and must not be reported too.
                kind = ir.TypeKind.ITERATOR if path in _ITERATOR_NAMES else ir.TypeKind.ASYNC_ITERATOR
                return ir.TypeRef(kind, short, (ir.TypeRef(ir.TypeKind.ANY, "Any"),))
            return self._fail("CSC206", f"`{written}` is not a supported I/O type", module, node)
        if isinstance(target, ClassRef):
            return self._convert_class(module, node, target, written)
        if self.from_missing_module(target):
            return ir.TypeRef(ir.TypeKind.ANY, "Any")  # its import already has CSC004
        if isinstance(target, Undefined):
            return self._fail("CSC207", f"I/O type `{written}` is not defined", module, node)
        if isinstance(target, ValueRef | FunctionRef | ModuleRef):
            return self._fail("CSC206", f"`{written}` is not a type", module, node)
        assert isinstance(target, ExternalRef)
        return self._fail(
            "CSC206",
            f"`{written}` is not defined in the chain's sources (`{target.path.partition('.')[0]}` is not a module under the chain root)",
            module,
            node,
            "define I/O types in the chain file or a local module; pass `--root` if the package root is higher up",
        )

    def _convert_class(self, module: ModuleInfo, node: cst.CSTNode, cls: ClassRef, written: str) -> ir.TypeRef:
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

    def _convert_subscript(self, module: ModuleInfo, node: cst.Subscript, scope: ClassRef | None) -> ir.TypeRef:
        head = node.value
        written = module.code(head)
        target = self._resolve(module, head, scope) if isinstance(head, cst.Name | cst.Attribute) else ExternalRef("?")
        path = target.path if isinstance(target, ApiRef) else ""
        elements = [element.slice for element in node.slice]
        values = [e.value for e in elements if isinstance(e, cst.Index)]
        if len(values) != len(elements):
            return self._fail("CSC206", f"`{module.code(node)}` uses a slice, not a type", module, node)
        def args() -> list[ir.TypeRef]:
            return [self._convert(module, v, scope) for v in values]

        if path in _LIST_NAMES or path in ("builtins.set", "builtins.frozenset", "typing.Set", "typing.FrozenSet"):
            if path.endswith(("set", "Set", "FrozenSet")):
                return self._fail("CSC206", f"`{written}` is not JSON-compatible; use `list[...]`", module, head)
            if len(values) != 1:
                return self._fail("CSC206", f"`{written}[...]` takes exactly one type", module, node)
            return ir.TypeRef(ir.TypeKind.LIST, "list", tuple(args()))
        if path in _DICT_NAMES:
            if len(values) != 2:
                return self._fail("CSC206", f"`{written}[...]` takes a key and a value type", module, node)
            key, value = args()
            if key != ir.TypeRef(ir.TypeKind.BUILTIN, "str"):
                return self._fail("CSC206", "dictionary keys must be `str` to be JSON-compatible", module, values[0])
            return ir.TypeRef(ir.TypeKind.DICT, "dict", (key, value))
        if path in _TUPLE_NAMES:
            if len(values) == 2 and isinstance(values[1], cst.Ellipsis):
                return ir.TypeRef(ir.TypeKind.TUPLE, "tuple", (self._convert(module, values[0], scope),), is_variadic=True)
            return ir.TypeRef(ir.TypeKind.TUPLE, "tuple", tuple(args()))
        if path == "typing.Optional":
            if len(values) != 1:
                return self._fail("CSC206", "`Optional[...]` takes exactly one type", module, node)
            return _union([*args(), ir.TypeRef(ir.TypeKind.NONE, "None")])
        if path == "typing.Union":
            return _union(args())
        if path == "typing.Literal":
            return self._convert_literal(module, values)
        if path == "typing.Annotated":
            # `Annotated[T, Field(...)]`: the metadata is pydantic's business.
            return self._convert(module, values[0], scope)
        if path in _ITERATOR_NAMES or path in _ASYNC_ITERATOR_NAMES:
            kind = ir.TypeKind.ITERATOR if path in _ITERATOR_NAMES else ir.TypeKind.ASYNC_ITERATOR
            item = self._convert(module, values[0], scope)
            if item.kind is not ir.TypeKind.BUILTIN or item.name not in ("str", "bytes"):
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
            return self._fail("CSC207", f"I/O type `{written}` is not defined", module, head)
        if isinstance(target, ApiRef) and target.path in ("typing.Callable", "collections.abc.Callable"):
            return self._fail("CSC206", "`Callable` is not a supported I/O type", module, node)
        return self._fail("CSC206", f"`{module.code(node)}` is not a supported I/O type", module, node)

    def _convert_literal(self, module: ModuleInfo, values: list[cst.BaseExpression]) -> ir.TypeRef:
        literals: list[ir.JsonScalar] = []
        for value in values:
            literal = _literal_value(value)
            if literal is _NOT_LITERAL:
                self._fail("CSC206", f"`{module.code(value)}` is not a literal value", module, value)
                continue
            assert not isinstance(literal, _NotLiteral)
            literals.append(literal)
        return ir.TypeRef(ir.TypeKind.LITERAL, "Literal", literals=tuple(literals))

    # -- user types -------------------------------------------------------------

    def user_type_kind(self, cls: ClassRef, _seen: frozenset[str] = frozenset()) -> ir.TypeDefKind | None:
        """PYDANTIC or ENUM when `cls` derives (transitively) from BaseModel or Enum."""
        if cls.id in _seen:
            return None
        for base in self.program.chainlet_bases(cls):
            if isinstance(base, ApiRef):
                if base.path == "pydantic.BaseModel":
                    return ir.TypeDefKind.PYDANTIC
                if base.path in _ENUM_BASES:
                    return ir.TypeDefKind.ENUM
            elif isinstance(base, ClassRef):
                kind = self.user_type_kind(base, _seen | {cls.id})
                if kind is not None:
                    return kind
        return None

    def _define(self, cls: ClassRef, kind: ir.TypeDefKind) -> None:
        if cls.id in self.types or cls.id in self._in_progress:
            return
        self._in_progress.add(cls.id)
        outer_anchor, self._anchor = self._anchor, None
        try:
            self._define_fields(cls, kind)
        finally:
            self._anchor = outer_anchor
            self._in_progress.discard(cls.id)

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
                    if not isinstance(small.target, cst.Name) or _is_classvar(self.program, module, small.annotation.annotation):
                        continue
                    name = small.target.value
                    type_ref = self._convert(module, small.annotation.annotation, cls)
                    default = module.code(small.value) if small.value is not None else None
                    fields.append(ir.Field(name, type_ref, default, module.span(small.target)))
                elif kind is ir.TypeDefKind.ENUM and isinstance(small, cst.Assign):
                    for assign_target in small.targets:
                        if isinstance(assign_target.target, cst.Name) and not assign_target.target.value.startswith("_"):
                            members.append(ir.EnumMember(assign_target.target.value, module.code(small.value)))
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
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) and isinstance(node.expression, cst.Integer):
        return -int(node.expression.value, 0)
    return _NOT_LITERAL


def _is_classvar(program: Program, module: ModuleInfo, node: cst.BaseExpression) -> bool:
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
