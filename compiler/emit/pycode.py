"""Python source pieces for generated code: imports, annotations, defaults.

Stage: back end, used by `emit.plan`. Decisions (names, aliases, import
order) are made here in Python so templates only loop. Types are rendered by the one
renderer, `typetext.render_type`, spelled for generated code (`ImportSpelling`). Where a
name comes from is the resolver's answer (`ModuleInfo.name_use`), never worked out here.
Imports: ir, resolve, typetext.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field

from chainsc import ir
from chainsc.resolve import ModuleInfo, NameKind
from chainsc.typetext import render_type


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
        if (
            local in self._reserved
            or local in self._from.values()
            or local in self._modules.values()
        ):
            local = f"{module.replace('.', '_')}_{name}"
        self._from[key] = local
        return local

    def module(self, module: str, alias: str | None = None) -> str:
        """`import module` (or `import module as alias`); returns the spelling."""
        if module not in self._modules:
            self._modules[module] = alias or module
        return self._modules[module]

    def references(self, package: str) -> list[str]:
        """What these imports take from `package`, as dotted paths inside it (`serving`, `x.Name`).

        The planner vendors the runtime modules its generated code imports from this data.
        """
        found: list[str] = []
        for module, name in self._from:
            if module == package:
                found.append(name)
            elif module.startswith(f"{package}."):
                found.append(f"{module[len(package) + 1 :]}.{name}")
        for module in self._modules:
            if module == package:
                found.append("")
            elif module.startswith(f"{package}."):
                found.append(module[len(package) + 1 :])
        return sorted(found)

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
            parts = [
                name if name == local else f"{name} as {local}" for name, local in names
            ]
            if len(parts) == 1:
                out.append(f"from {module} import {parts[0]}")
            else:
                body = "".join(f"    {part},\n" for part in parts)
                out.append(f"from {module} import (\n{body})")
        return out


class ImportSpelling:
    """Names as generated code writes them: imported into its module (`Imports`).

    `owner` is the module the annotation is written in: an inline constrained type
    (`Annotated[str, Field(min_length=1)]`) is spelled as written there, its names
    imported from where the owner got them, and the owner's own names it uses are
    added to `keep` (the slice must carry them). Without an owner it is its bare type.
    """

    def __init__(
        self,
        imports: Imports,
        owner: ModuleInfo | None = None,
        keep: set[tuple[str, str]] | None = None,
    ) -> None:
        self.imports = imports
        self.owner = owner
        self.keep = keep

    def user(self, typedef: ir.TypeDef) -> str:
        """Imported by its top-level class: `Outer.Inner` after `from m import Outer`."""
        top, _, rest = typedef.qualname.partition(".")
        local = self.imports.name(typedef.module, top)
        return f"{local}.{rest}" if rest else local

    def alias(self, ref: ir.TypeRef, typedef: ir.TypeDef | None) -> str:
        """Imported by name. The user's alias is kept in the slice; a library's is its own."""
        # The user's own alias (kept in the slice) or pydantic's: its constraints apply.
        if typedef is not None:
            return self.imports.name(typedef.module, typedef.qualname)
        module, _, name = ref.name.rpartition(".")
        return self.imports.name(module, name)

    def constrained(self, ref: ir.TypeRef) -> str | None:
        """As written in `owner`, its names imported; None (the bare type) without owner."""
        if self.owner is None:
            return None
        text, needed = default_expression(ref.name, self.owner, self.imports)
        if self.keep is not None:
            self.keep.update((self.owner.name, name) for name in needed)
        return text

    def qualified(self, module: str, name: str) -> str:
        """`module.name` after `import module`; runtime names by a from-import."""
        if module.startswith("chainsc_runtime."):
            return self.imports.name(module, name)
        return f"{self.imports.module(module)}.{name}"


def render_annotation(
    ref: ir.TypeRef,
    types: Mapping[str, ir.TypeDef],
    imports: Imports,
    owner: ModuleInfo | None = None,
    keep: set[tuple[str, str]] | None = None,
) -> str:
    """A TypeRef as an annotation for generated code, importing what it needs.

    The one renderer (`typetext.render_type`) with generated code's spelling
    (`ImportSpelling`: `owner` and `keep` are its).
    """
    return render_type(ref, types, ImportSpelling(imports, owner, keep))


def default_expression(
    source: str, owner: ModuleInfo, imports: Imports
) -> tuple[str, set[str]]:
    """A default as written, with the names it uses imported from where the owner got them.

    Returns the expression and the owner-module names the slice must keep.
    """
    tree = ast.parse(source.strip(), mode="eval")
    needed: set[str] = set()
    renames: dict[str, str] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name) or node.id in renames:
            continue
        use = owner.name_use(
            node.id
        )  # the resolver's answer: where the owner got the name
        if use.kind is NameKind.FREE:
            renames[node.id] = node.id  # a builtin, or nothing: spelled as written
        elif use.kind is NameKind.IMPORTED:
            renames[node.id] = imports.name(use.module, use.name)
        elif use.kind is NameKind.MODULE:
            renames[node.id] = imports.module(
                use.module, node.id if node.id != use.module else None
            )
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
            return ast.copy_location(
                ast.Name(renames.get(node.id, node.id), node.ctx), node
            )

    tree = Renamer().visit(ast.parse(source, mode="eval"))
    return ast.unparse(tree)
