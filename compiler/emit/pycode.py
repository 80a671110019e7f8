"""Python source pieces for generated code: imports, annotations, defaults.

Stage: back end, used by `emit.plan`. Decisions (names, aliases, import
order) are made here in Python so templates only loop. Where a name comes from
is the resolver's answer (`ModuleInfo.name_use`), never worked out here.
Imports: ir, resolve.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from compiler import ir
from compiler.resolve import ModuleInfo, NameKind


@dataclass(slots=True)
class Imports:
    """Imports of one generated module; every name gets one local spelling."""

    #: (module, name) -> local name.
    _from: dict[tuple[str, str], str] = field(default_factory=dict)
    #: module -> local alias for `import module as alias` (alias == module for plain imports).
    _modules: dict[str, str] = field(default_factory=dict)
    #: Names the generated module defines itself (its classes, functions): never imported as.
    _reserved: set[str] = field(default_factory=set)

    def reserve(self, *names: str) -> None:
        """Keep `names` for the module's own definitions: an import of one gets an alias."""
        self._reserved.update(names)

    def name(self, module: str, name: str) -> str:
        """Import `name` from `module`; return how generated code spells it."""
        key = (module, name)
        if key in self._from:
            return self._from[key]
        local = name
        if local in self._reserved or local in self._from.values() or local in self._modules.values():
            local = f"{module.replace('.', '_')}_{name}"
        self._from[key] = local
        return local

    def module(self, module: str, alias: str | None = None) -> str:
        """`import module` (or `import module as alias`); returns the spelling."""
        if module not in self._modules:
            self._modules[module] = alias or module
        return self._modules[module]

    def lines(self) -> list[str]:
        """Import statements, sorted (isort style: plain imports, then from-imports)."""
        out = [
            f"import {module}" if alias == module else f"import {module} as {alias}"
            for module, alias in sorted(self._modules.items())
        ]
        grouped: dict[str, list[tuple[str, str]]] = {}
        for (module, name), local in self._from.items():
            grouped.setdefault(module, []).append((name, local))
        for module in sorted(grouped):
            names = sorted(grouped[module])
            parts = [name if name == local else f"{name} as {local}" for name, local in names]
            if len(parts) == 1:
                out.append(f"from {module} import {parts[0]}")
            else:
                body = "".join(f"    {part},\n" for part in parts)
                out.append(f"from {module} import (\n{body})")
        return out


def render_annotation(
    ref: ir.TypeRef,
    types: dict[str, ir.TypeDef],
    imports: Imports,
    owner: ModuleInfo | None = None,
    keep: set[tuple[str, str]] | None = None,
) -> str:
    """A TypeRef as an annotation for generated code, importing what it needs.

    `owner` is the module the annotation is written in: an inline constrained type
    (`Annotated[str, Field(min_length=1)]`) is spelled as written there, its names
    imported from where the owner got them, and the owner's own names it uses are
    added to `keep` (the slice must carry them). Without an owner it is its bare type.
    """
    kind = ref.kind
    if kind is ir.TypeKind.BUILTIN:
        return ref.name
    if kind is ir.TypeKind.NONE:
        return "None"
    if kind is ir.TypeKind.ANY:
        return f"{imports.module('typing')}.Any"
    if kind is ir.TypeKind.USER:
        typedef = types[ref.name]
        top, _, rest = typedef.qualname.partition(".")
        local = imports.name(typedef.module, top)
        return f"{local}.{rest}" if rest else local
    if kind is ir.TypeKind.ALIAS:
        # The user's own alias (kept in the slice) or pydantic's: its constraints apply.
        alias = types.get(ref.name)
        if alias is not None:
            return imports.name(alias.module, alias.qualname)
        module, _, name = ref.name.rpartition(".")
        return imports.name(module, name)
    if kind is ir.TypeKind.CONSTRAINED:
        if owner is None:
            return render_annotation(ref.args[0], types, imports)
        text, needed = default_expression(ref.name, owner, imports)
        if keep is not None:
            keep.update((owner.name, name) for name in needed)
        return text
    if kind is ir.TypeKind.NUMPY_ARRAY:
        return imports.name("chainsc_runtime.pydantic_numpy", "NumpyArrayField")
    if kind is ir.TypeKind.STDLIB:
        module, _, name = ref.name.rpartition(".")
        return f"{imports.module(module)}.{name}"
    if kind is ir.TypeKind.LITERAL:
        values = ", ".join(repr(value) for value in ref.literals)
        return f"{imports.module('typing')}.Literal[{values}]"
    args = [render_annotation(arg, types, imports, owner, keep) for arg in ref.args]
    if kind is ir.TypeKind.UNION:
        return " | ".join(args)
    if kind is ir.TypeKind.LIST:
        return f"list[{args[0]}]"
    if kind is ir.TypeKind.DICT:
        return f"dict[{args[0]}, {args[1]}]"
    if kind is ir.TypeKind.TUPLE:
        return f"tuple[{args[0]}, ...]" if ref.is_variadic else f"tuple[{', '.join(args)}]"
    if kind is ir.TypeKind.ITERATOR:
        return f"{imports.module('collections.abc')}.Iterator[{args[0]}]"
    if kind is ir.TypeKind.ASYNC_ITERATOR:
        return f"{imports.module('collections.abc')}.AsyncIterator[{args[0]}]"
    raise AssertionError(kind)


def default_expression(source: str, owner: ModuleInfo, imports: Imports) -> tuple[str, set[str]]:
    """A default as written, with the names it uses imported from where the owner got them.

    Returns the expression and the owner-module names the slice must keep.
    """
    tree = ast.parse(source.strip(), mode="eval")
    needed: set[str] = set()
    renames: dict[str, str] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name) or node.id in renames:
            continue
        use = owner.name_use(node.id)  # the resolver's answer: where the owner got the name
        if use.kind is NameKind.FREE:
            renames[node.id] = node.id  # a builtin, or nothing: spelled as written
        elif use.kind is NameKind.IMPORTED:
            renames[node.id] = imports.name(use.module, use.name)
        elif use.kind is NameKind.MODULE:
            renames[node.id] = imports.module(use.module, node.id if node.id != use.module else None)
        else:
            renames[node.id] = imports.name(owner.name, node.id)
            needed.add(node.id)
    text = " ".join(source.split()) if "\n" in source else source.strip()
    if any(local != name for name, local in renames.items()):
        text = _rename(text, renames)
    return text, needed


def _rename(source: str, renames: dict[str, str]) -> str:
    class Renamer(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            return ast.copy_location(ast.Name(renames.get(node.id, node.id), node.ctx), node)

    tree = Renamer().visit(ast.parse(source, mode="eval"))
    return ast.unparse(tree)
