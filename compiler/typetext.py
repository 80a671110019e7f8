"""The one renderer of IR types as Python annotations.

Stage: shared by the front end's dumps (`inspect`, `graph`: `ir_dump`) and the back end
(the generated clients and `endpoint.py`, the chain's README: `emit`). Imports: ir.

Every place chainsc writes a type spells it through `render_type`, so a type reads the
same in a package's client, its `endpoint.py`, the chain's README and `chainsc inspect`
(`PipelineResult.DocumentResult`, never `DocumentResult` in one place and the qualified
name in another). The structure (unions, containers, iterators, literals) is rendered
here once; a `Spelling` says only how a name is written where the text goes: generated
code imports what it names (`emit.pycode.ImportSpelling`), documentation writes names
as a reader knows them (`DOCS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from chainsc import ir

__all__ = ["DOCS", "DocSpelling", "Spelling", "render_type"]


class Spelling(Protocol):
    """How the names inside a type are written (the structure is `render_type`'s)."""

    def user(self, typedef: ir.TypeDef) -> str:
        """A user's pydantic model or enum (`Outer.Inner` for a nested class)."""
        ...

    def alias(self, ref: ir.TypeRef, typedef: ir.TypeDef | None) -> str:
        """A type alias: the user's own (`typedef`), or a library's (`ref.name` dotted)."""
        ...

    def constrained(self, ref: ir.TypeRef) -> str | None:
        """An inline constrained type as written, or None to write its bare type."""
        ...

    def qualified(self, module: str, name: str) -> str:
        """A name of a module: `typing.Any`, `collections.abc.Iterator`, `datetime.date`."""
        ...


class DocSpelling:
    """Names as a reader knows them: qualified class names, `Any`, `Iterator`."""

    #: Modules whose names documentation writes bare (`Any`, `Iterator`, ...).
    BARE_MODULES = frozenset(
        {
            "typing",
            "collections.abc",
            "chainsc_runtime.pydantic_numpy",
            "chainsc_runtime.websocket",
        }
    )

    def user(self, typedef: ir.TypeDef) -> str:
        """Its qualified name in its module: `Outer.Inner`."""
        return typedef.qualname

    def alias(self, ref: ir.TypeRef, typedef: ir.TypeDef | None) -> str:
        """The user's alias by its name; a library's (`pydantic.PositiveInt`) bare."""
        return typedef.qualname if typedef is not None else ref.name.rpartition(".")[2]

    def constrained(self, ref: ir.TypeRef) -> str | None:
        """As written."""
        return ref.name

    def qualified(self, module: str, name: str) -> str:
        """Bare for `typing` and `collections.abc`, else `module.name`."""
        return name if module in self.BARE_MODULES else f"{module}.{name}"


#: The spelling of documentation: the README, `chainsc inspect`, `chainsc graph`.
DOCS = DocSpelling()


def render_type(
    ref: ir.TypeRef, types: Mapping[str, ir.TypeDef], spelling: Spelling = DOCS
) -> str:
    """`ref` as a Python annotation, its names written by `spelling`.

    Args:
        ref: the type.
        types: the chain's user types by `TypeDef.id` (`ir.Chain.types`).
        spelling: how names are written (default: documentation's).
    """
    kind = ref.kind
    if kind is ir.TypeKind.BUILTIN:
        return ref.name
    if kind is ir.TypeKind.NONE:
        return "None"
    if kind is ir.TypeKind.ANY:
        return spelling.qualified("typing", "Any")
    if kind is ir.TypeKind.USER:
        return spelling.user(types[ref.name])
    if kind is ir.TypeKind.ALIAS:
        return spelling.alias(ref, types.get(ref.name))
    if kind is ir.TypeKind.CONSTRAINED:
        text = spelling.constrained(ref)
        return text if text is not None else render_type(ref.args[0], types, spelling)
    if kind is ir.TypeKind.NUMPY_ARRAY:
        return spelling.qualified("chainsc_runtime.pydantic_numpy", "NumpyArrayField")
    if kind is ir.TypeKind.WEBSOCKET:
        return spelling.qualified("chainsc_runtime.websocket", "WebSocketProtocol")
    if kind is ir.TypeKind.STDLIB:
        module, _, name = ref.name.rpartition(".")
        return spelling.qualified(module, name)
    if kind is ir.TypeKind.LITERAL:
        values = ", ".join(repr(value) for value in ref.literals)
        return f"{spelling.qualified('typing', 'Literal')}[{values}]"
    args = [render_type(arg, types, spelling) for arg in ref.args]
    if kind is ir.TypeKind.UNION:
        return " | ".join(args)
    if kind is ir.TypeKind.LIST:
        return f"list[{args[0]}]"
    if kind is ir.TypeKind.DICT:
        return f"dict[{args[0]}, {args[1]}]"
    if kind is ir.TypeKind.TUPLE:
        return (
            f"tuple[{args[0]}, ...]" if ref.is_variadic else f"tuple[{', '.join(args)}]"
        )
    if kind is ir.TypeKind.ITERATOR:
        return f"{spelling.qualified('collections.abc', 'Iterator')}[{args[0]}]"
    if kind is ir.TypeKind.ASYNC_ITERATOR:
        return f"{spelling.qualified('collections.abc', 'AsyncIterator')}[{args[0]}]"
    raise AssertionError(kind)
