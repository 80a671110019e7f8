"""Endpoint signatures as written, and where the names they read come from.

Stage: front end, used by the back end's in-place clients (`emit.clients`,
`emit.plan`) and by the checks of what a package carries (`requirements_check`,
`data_files`). A package carries its own Chainlet; every other Chainlet its code
names is called over HTTP. The class statement of such a Chainlet is replaced,
*where it stands in the user's module*, by a client class with the same name and
the same endpoint signature. The client is therefore evaluated in the very scope,
and at the very point, where Truss evaluated the original class: every name its
annotations and defaults use resolves as it did there, and no user module ever
imports generated code (the layout's guarantee, see LAYOUT.md). When the endpoint
is inherited from a base class in another module, the names its signature uses
are imported from that module next to the client (`reach_names`, asking the
resolver). Imports: ast, ir, resolve.
"""

from __future__ import annotations

import ast
import copy
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from chainsc import ir
from chainsc.diagnostics import InternalError
from chainsc.resolve import (
    ApiRef,
    ClassRef,
    ExternalRef,
    FunctionRef,
    ModuleInfo,
    ModuleRef,
    NameKind,
    Program,
    Target,
    Undefined,
    ValueRef,
)


@dataclass(frozen=True, slots=True)
class ParamView:
    """One parameter as generated code spells it."""

    name: str
    annotation: str
    default: str | None
    #: Declared after `*` (keyword-only), as in the endpoint's signature.
    is_keyword_only: bool = False


@dataclass(frozen=True, slots=True)
class SignatureText:
    """An endpoint's signature as its source spells it, in its own module's scope."""

    #: The module that defines the endpoint method (a base class's module when inherited).
    module: str
    params: tuple[ParamView, ...]
    returns: str
    #: Top-level names the annotations and defaults read (string annotations included).
    names: frozenset[str]
    #: The dotted references they read (`data_types.SegmentList`, `Inp`).
    references: frozenset[str] = frozenset()


def endpoint_signature(
    chainlet: ir.Chainlet,
    modules: Mapping[str, ModuleInfo],
    renames: Mapping[str, str] | None = None,
) -> SignatureText:
    """The text of `chainlet`'s endpoint signature, read from the module that defines it.

    `renames` respells names (an alias under which a client's module imports them);
    `names` are always the names as the source spells them.
    """
    renames = renames or {}
    if not chainlet.has_code:
        # An engine builder's or a TrussChainlet's client is the runtime's own
        # (`emit.plan`): it reads nothing of the user's modules.
        return SignatureText(chainlet.module, (), "", frozenset())
    endpoint = chainlet.endpoint
    owner = module_at_path(modules, endpoint.span.path, chainlet.module)
    function = _endpoint_function(owner, chainlet)
    text = owner.parsed.source.text
    arguments = function.args
    positional = arguments.args[1:]  # `self` is not a parameter of the endpoint
    defaults: list[ast.expr | None] = [None] * (
        len(arguments.args) - len(arguments.defaults)
    )
    defaults += arguments.defaults
    references: set[str] = set()
    params: list[ParamView] = []
    pairs = [
        (arg, default, False)
        for arg, default in zip(positional, defaults[1:], strict=True)
    ]
    pairs += [
        (arg, default, True)
        for arg, default in zip(
            arguments.kwonlyargs, arguments.kw_defaults, strict=True
        )
    ]
    for arg, default, keyword_only in pairs:
        if arg.annotation is None:
            raise InternalError(
                f"endpoint parameter `{arg.arg}` has no annotation after validation"
            )
        references |= _annotation_references(arg.annotation)
        if default is not None:
            references |= _references(default)
        params.append(
            ParamView(
                name=arg.arg,
                annotation=_source(text, arg.annotation, renames, is_annotation=True),
                default=None if default is None else _source(text, default, renames),
                is_keyword_only=keyword_only,
            )
        )
    if function.returns is None:
        raise InternalError(
            f"endpoint of `{chainlet.id}` has no return annotation after validation"
        )
    references |= _annotation_references(function.returns)
    returns = _source(text, function.returns, renames, is_annotation=True)
    names = frozenset(reference.partition(".")[0] for reference in references)
    return SignatureText(
        owner.name, tuple(params), returns, names, frozenset(references)
    )


@dataclass(frozen=True, slots=True)
class ForeignNames:
    """How a client placed in one module reaches names its signature takes from another."""

    #: `from module import name` lines the client needs before it.
    imports: tuple[str, ...]
    #: (module, name) the slice must keep for the client.
    uses: frozenset[tuple[str, str]]
    #: Name -> the alias it is imported under, where the client's module binds it to
    #: something else.
    renames: Mapping[str, str]


def reach_names(
    program: Program, signature: SignatureText, placed_in: str
) -> ForeignNames:
    """Make the names of `signature` resolve in module `placed_in` as in their own module.

    A name bound to the same thing in both modules is used as it is; a name the
    client's module does not bind is imported from the signature's module; a name
    it binds to something else is imported under an alias, and the signature is
    respelled with it.
    """
    home = program.modules[signature.module]
    # What `module.Name` references reach in other modules is kept there too.
    uses = _referenced_definitions(program, home, signature.references)
    if signature.module == placed_in:
        uses |= {(placed_in, name) for name in signature.names}
        return ForeignNames((), frozenset(uses), {})
    here = program.modules[placed_in]
    imports: list[str] = []
    renames: dict[str, str] = {}
    for name in sorted(signature.names):
        there = program.resolve_name(home, name)
        if isinstance(there, Undefined) or (
            isinstance(there, ApiRef) and there.path.startswith("builtins.")
        ):
            continue  # a builtin, or a name the annotation only spells (never bound)
        local = program.resolve_name(here, name)
        if _identity(local) == _identity(there):
            uses.add((placed_in, name))
        elif here.lookup(name) is None:
            imports.append(f"from {signature.module} import {name}")
            uses.add((signature.module, name))
        else:
            alias = f"_{signature.module.replace('.', '_')}_{name}"
            imports.append(f"from {signature.module} import {name} as {alias}")
            uses.add((signature.module, name))
            renames[name] = alias
    return ForeignNames(tuple(imports), frozenset(uses), renames)


@dataclass(frozen=True, slots=True)
class InPlaceSignature:
    """The signature of a Chainlet's in-place client, resolved in the module its class stands in.

    Computed before planning (`emit.inputs`), where the resolver may still look
    modules up on disk; the planner only renders it.
    """

    #: Spelled for the client's module (`ForeignNames.renames` applied).
    signature: SignatureText
    #: What the client takes from the signature's module, and what the slice keeps for it.
    reach: ForeignNames


def in_place_signature(chainlet: ir.Chainlet, program: Program) -> InPlaceSignature:
    """The signature of `chainlet`'s in-place client, placed where its class stands (`chainlet.module`)."""
    signature = endpoint_signature(chainlet, program.modules)
    reach = reach_names(program, signature, chainlet.module)
    if reach.renames:
        signature = endpoint_signature(chainlet, program.modules, reach.renames)
    return InPlaceSignature(signature, reach)


def _referenced_definitions(
    program: Program, module: ModuleInfo, references: frozenset[str]
) -> set[tuple[str, str]]:
    """(module, top-level name) of the user definitions that dotted references reach."""
    found: set[tuple[str, str]] = set()
    for reference in references:
        first, *attributes = reference.split(".")
        if not attributes:
            continue
        target = program.resolve_name(module, first)
        for attribute in attributes:
            target = program.attribute(target, attribute)
            match target:
                case ClassRef():
                    found.add((target.module.name, target.qualname.split(".")[0]))
                case ValueRef():
                    found.add((target.module.name, target.binding.name))
                case FunctionRef():
                    found.add((target.module.name, target.node.name.value))
                case ModuleRef():
                    found.add((target.module.name, "__chainsc_package__"))
                case _:
                    pass
    return found


def local_names(source: str, owner: ModuleInfo) -> set[str]:
    """The names an expression written in `owner` (a default) reads that `owner` itself defines.

    A package that spells the expression elsewhere imports them from `owner`, so its
    slice keeps them (`emit.pycode.default_expression` spells it).
    """
    names = {
        node.id
        for node in ast.walk(ast.parse(source.strip(), mode="eval"))
        if isinstance(node, ast.Name)
    }
    return {name for name in names if owner.name_use(name).kind is NameKind.LOCAL}


def module_at_path(
    modules: Mapping[str, ModuleInfo], path: str, prefer: str | None = None
) -> ModuleInfo:
    """The module whose display path is `path`: the one named `prefer` if the file has several names."""
    found = [module for module in modules.values() if module.path == path]
    if not found:
        raise InternalError(f"no module at {path}")
    return next((module for module in found if module.name == prefer), found[0])


def _identity(target: Target) -> tuple[str, str]:
    """What a resolved name denotes, comparable across modules."""
    match target:
        case ClassRef():
            return ("class", target.id)
        case ValueRef():
            return ("value", f"{target.module.name}.{target.binding.name}")
        case FunctionRef():
            return ("function", f"{target.module.name}.{target.node.name.value}")
        case ModuleRef():
            return ("module", target.module.name)
        case ApiRef() | ExternalRef():
            return ("path", target.path)
        case Undefined():
            return ("undefined", target.name)


def _endpoint_function(
    owner: ModuleInfo, chainlet: ir.Chainlet
) -> ast.FunctionDef | ast.AsyncFunctionDef:
    """The `def` of `chainlet`'s endpoint in `owner`, the module that defines it.

    Found by name, in the Chainlet's class or its nearest base in that module that
    defines it, so no position is computed (locating a class statement costs more
    than the rest of its build); by the endpoint's line only when a class is
    defined more than once (`if`/`else` branches).
    """
    endpoint = chainlet.endpoint
    tree = owner.parsed.tree
    for class_id in (chainlet.id, *chainlet.bases):
        module, _, name = class_id.rpartition(".")
        if module != owner.name:
            continue
        found = [
            node
            for cls in _classes_named(tree.body, name)
            for node in cls.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name == endpoint.name
        ]
        if len(found) == 1:
            return found[0]
        if found:
            break
    return _find_function(tree, endpoint)


def _classes_named(body: list[ast.stmt], name: str) -> Iterator[ast.ClassDef]:
    """The top-level classes called `name`, in `if`/`try` branches too (as Chainlets may be)."""
    for node in body:
        if isinstance(node, ast.ClassDef):
            if node.name == name:
                yield node
        elif isinstance(node, ast.If | ast.Try | ast.TryStar):
            handlers = [
                statement
                for handler in getattr(node, "handlers", [])
                for statement in handler.body
            ]
            yield from _classes_named(
                [
                    *node.body,
                    *handlers,
                    *node.orelse,
                    *getattr(node, "finalbody", []),
                ],
                name,
            )


def _find_function(
    tree: ast.Module, endpoint: ir.Endpoint
) -> ast.FunctionDef | ast.AsyncFunctionDef:
    """The endpoint's `def` in its module: the method named like it, on its line."""
    found = _function_index(tree).get((endpoint.name, endpoint.span.line))
    if found is None:  # a name on a line of its own (`def \\` + newline): look wider
        found = next(
            (
                node
                for node in _functions(tree.body)
                if node.name == endpoint.name
                and node.lineno
                <= endpoint.span.line
                <= (node.end_lineno or node.lineno)
            ),
            None,
        )
    if found is None:
        raise InternalError(
            f"no `def {endpoint.name}` at {endpoint.span.path}:{endpoint.span.line}"
        )
    return found


@functools.lru_cache(maxsize=16)
def _function_index(
    tree: ast.Module,
) -> dict[tuple[str, int], ast.FunctionDef | ast.AsyncFunctionDef]:
    """(name, line of its name) -> every method and function of a module, indexed once."""
    index: dict[tuple[str, int], ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in _functions(tree.body):
        # The name is on the `def` line; a decorated def starts there too (decorators apart).
        index.setdefault((node.name, node.lineno), node)
    return index


def _functions(
    body: list[ast.stmt],
) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node.body)
        elif isinstance(node, ast.If | ast.Try):
            yield from _functions(
                [*node.body, *node.orelse, *getattr(node, "finalbody", [])]
            )


def _source(
    text: str,
    node: ast.expr,
    renames: Mapping[str, str],
    *,
    is_annotation: bool = False,
) -> str:
    """The expression as written, on one line, with `renames` applied.

    Respelled by `ast.unparse` only when it must be: it spans lines or holds a
    comment, or it uses a renamed name.
    """
    references = _annotation_references(node) if is_annotation else _references(node)
    used = {reference.partition(".")[0] for reference in references}
    if renames and used & set(renames):
        return ast.unparse(_Rename(renames, is_annotation).visit(copy.deepcopy(node)))
    if node.end_lineno != node.lineno or node.end_col_offset is None:
        return ast.unparse(node)  # it spans lines
    # One line: sliced from the module's lines, split once per module (not per
    # annotation, as `ast.get_source_segment` would: a build of a 1,000-Chainlet
    # chain reads thousands of annotations).
    line = _lines(text)[node.lineno - 1].encode("utf-8")
    segment = line[node.col_offset : node.end_col_offset].decode("utf-8")
    return ast.unparse(node) if "#" in segment else segment


@functools.lru_cache(maxsize=16)
def _lines(text: str) -> tuple[str, ...]:
    """A module's lines as `ast` counts them (only CR, LF and CRLF end a line).

    Cached: the clients of one module read it many times.
    """
    return tuple(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


class _Rename(ast.NodeTransformer):
    """Respell names, inside string (forward) annotations too."""

    def __init__(self, renames: Mapping[str, str], in_annotation: bool) -> None:
        self.renames = renames
        self.in_annotation = in_annotation

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(
            ast.Name(self.renames.get(node.id, node.id), node.ctx), node
        )

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if (
            self.in_annotation
            and isinstance(node.value, str)
            and _ANNOTATION_TEXT.match(node.value)
        ):
            try:
                inner = ast.parse(node.value, mode="eval")
            except SyntaxError:
                return node
            respelled = ast.unparse(_Rename(self.renames, True).visit(inner))
            return ast.copy_location(ast.Constant(respelled), node)
        return node


#: A string constant that reads like an annotation (`"Passage"`, `"list[Later]"`).
_ANNOTATION_TEXT = re.compile(r"^[A-Za-z_][\w.\[\], |]*$")


def _references(node: ast.AST) -> set[str]:
    """The dotted names an expression reads: `a.b.c`, and `x` for a bare `x`."""
    found: set[str] = set()
    inner: set[int] = set()  # the Attribute/Name nodes inside a longer chain
    for child in ast.walk(node):
        if id(child) in inner or not isinstance(child, ast.Attribute | ast.Name):
            continue
        parts: list[str] = []
        current: ast.AST = child
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
            inner.add(id(current))
        if isinstance(current, ast.Name):
            found.add(".".join([current.id, *reversed(parts)]))
    return found


def _annotation_references(node: ast.expr) -> set[str]:
    """Dotted names an annotation reads, those inside string (forward) references included."""
    found = _references(node)
    for child in ast.walk(node):
        if (
            isinstance(child, ast.Constant)
            and isinstance(child.value, str)
            and _ANNOTATION_TEXT.match(child.value)
        ):
            try:
                found |= _references(ast.parse(child.value, mode="eval"))
            except SyntaxError:
                continue
    return found
