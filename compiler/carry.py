"""What each package carries of the user's modules: per-statement facts and their closure.

Stage: front end, after resolve. Every top-level statement of every module gets
its facts once: what it binds (the resolver's bindings, `resolve.Binding`, so names
are resolved in one place), what it reads, the classes it defines, the path
literals it holds and the chains API imports in it. A package's slice is then a
closure over these facts (`carry`): the statements its Chainlet needs,
transitively, across local modules. The checks that depend on what a package
carries (`data_files`, `requirements_check`) and the back end's slice
(`emit.slice`, which renders the carried statements) all ask this module.

What a statement reads comes from CPython's tree of it (`parse`: function bodies
are in no other tree); statements are grouped as libcst groups them (`a = 1; b = 2`
is one), so each is one entry of the resolver's bindings (`Binding.group`).
Imports: ast, parse, resolve.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst

from chainsc.parse import group_statements
from chainsc.resolve import (
    Binding,
    BindingKind,
    ModuleInfo,
    dotted_name,
    rewritten_to_runtime,
)


@dataclass(frozen=True, slots=True)
class ModuleSource:
    """One user module: its name, where a package carries it, its text and its statements' facts."""

    name: str
    #: Where the module's text goes (a package's layout, or its display path).
    path: str
    is_package: bool
    text: str
    #: Its top-level statements, grouped as libcst groups them (`a = 1; b = 2` is one).
    statements: tuple[tuple[ast.stmt, ...], ...]
    #: The resolver's bindings of each top-level statement, by its index.
    bindings: Mapping[int, Sequence[Binding]] = field(default_factory=dict)

    @classmethod
    def of(cls, module: ModuleInfo, path: str | None = None) -> ModuleSource:
        """The facts source of a resolved module, carried at `path` (default: its display path)."""
        bindings: dict[int, list[Binding]] = {}
        for binding in (
            *(b for found in module.bindings.values() for b in found),
            *module.script_bindings,
        ):
            bindings.setdefault(binding.group, []).append(binding)
        parsed = module.parsed
        return cls(
            module.name,
            module.path if path is None else path,
            module.is_package,
            parsed.source.text,
            tuple(tuple(group) for group in group_statements(parsed.tree)),
            bindings,
        )


#: The name every carried module binds with its docstring and `from __future__` imports.
PACKAGE_NAME = "__chainsc_package__"


@dataclass(frozen=True, slots=True)
class ClientCode:
    """The client class that replaces another Chainlet's class statement where it stands."""

    #: The class statement, from `class` to its last line (ends with a newline).
    text: str
    #: Import lines it needs before it, besides the runtime's (`RUNTIME_IMPORT`).
    imports: tuple[str, ...]
    #: (module, top-level name) its signature reads: kept with the client.
    uses: frozenset[tuple[str, str]]


class ClientsOnDemand(Mapping[tuple[str, str], ClientCode]):
    """(module, top-level class) of each Chainlet -> its `ClientCode`, made when first asked.

    A package's slice asks only for the Chainlets it meets, so each client is made once
    per build and only if some package needs it.
    """

    def __init__(
        self,
        keys: Iterable[tuple[str, str]],
        make: Callable[[tuple[str, str]], ClientCode],
    ) -> None:
        self._keys = frozenset(keys)
        self._make = make
        self._made: dict[tuple[str, str], ClientCode] = {}

    def __getitem__(self, key: tuple[str, str]) -> ClientCode:
        made = self._made.get(key)
        if made is None:
            if key not in self._keys:
                raise KeyError(key)
            made = self._made[key] = self._make(key)
        return made

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(sorted(self._keys))

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True, slots=True)
class SliceRequest:
    """What one package needs from the user's sources."""

    #: (module name, top-level class name) of the Chainlet and its user base classes.
    own_classes: frozenset[tuple[str, str]]
    #: (module name, top-level class name) of Chainlets -> their in-place client,
    #: used unless the class is in `own_classes`.
    client_classes: Mapping[tuple[str, str], ClientCode]
    #: (module name, top-level name) that generated code imports: kept with what they use.
    extra_names: frozenset[tuple[str, str]] = frozenset()


@dataclass(slots=True)
class ClassParts:
    """A class a statement defines (itself, or inside its `if`/`try` branches).

    Branches may each define it (`if GPU: class X ... else: class X ...`): the parts
    are those of all its definitions.
    """

    nodes: list[ast.ClassDef]
    #: Names and path literals the whole class reads.
    uses: set[str]
    literals: frozenset[str]
    #: The same without its `remote_config` (cut from the package's own Chainlet).
    uses_without_config: set[str]
    literals_without_config: frozenset[str]
    #: The other identifiers it spells (`Carried.spelled`), whole and without its `remote_config`.
    words: set[str] = field(default_factory=set)
    words_without_config: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Statement:
    """The facts of one top-level statement."""

    #: Its index among the module's top-level statements (as libcst groups them).
    index: int
    #: CPython's tree of it: one node, or several on one line (`a = 1; b = 2`).
    nodes: tuple[ast.stmt, ...]
    binds: set[str] = field(default_factory=set)
    #: Everything the statement reads.
    uses: set[str] = field(default_factory=set)
    #: Classes it defines, by name: each may be the package's own (config cut), a
    #: client (replaced), or neither (kept whole).
    classes: dict[str, ClassParts] = field(default_factory=dict)
    #: What it reads outside those classes, and its path literals there.
    outer_uses: set[str] = field(default_factory=set)
    outer_literals: frozenset[str] = frozenset()
    #: The other identifiers it spells there: attribute names, imported names (`Carried.spelled`).
    outer_words: set[str] = field(default_factory=set)
    #: Attribute paths read per name (`alias.X.y` -> {"alias": {("X", "y")}}).
    attributes: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    #: Names read other than as `name.attr`.
    bare: set[str] = field(default_factory=set)
    #: For imports of local modules: alias -> local module name (or namespace package).
    module_aliases: dict[str, str] = field(default_factory=dict)
    #: Local modules an `import a.b.c` loads (all of them must be carried when it is kept).
    imported_modules: set[str] = field(default_factory=set)
    #: The chains API imports in it, at any depth (rewritten to the runtime).
    api_imports: list[ast.Import | ast.ImportFrom] = field(default_factory=list)
    #: For `from local import name`: local name -> (module, imported name).
    from_imports: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: String constants that could name a file next to the module (`HERE / "prompts"`).
    path_literals: frozenset[str] = frozenset()

    @property
    def node(self) -> ast.stmt:
        """Its first (for a compound statement, its only) node."""
        return self.nodes[0]


@dataclass(frozen=True, slots=True)
class Analysis:
    """Per-module facts the slice needs, computed once for every package of a build."""

    modules: Mapping[str, ModuleSource]
    statements: Mapping[str, list[Statement]]
    #: module -> name -> the statements that bind it.
    binders: Mapping[str, Mapping[str, list[Statement]]]
    #: module -> alias -> local module, over all its imports.
    module_aliases: Mapping[str, Mapping[str, str]]
    #: Every local module and package name, and every dotted prefix of one (namespace
    #: packages have no module of their own).
    prefixes: frozenset[str] = frozenset()


def analyse_modules(modules: Mapping[str, ModuleSource]) -> Analysis:
    """Analyse every module once (the slices of all packages share it)."""
    prefixes = frozenset(
        ".".join(name.split(".")[:cut])
        for name in modules
        for cut in range(1, name.count(".") + 2)
    )
    statements = {
        name: _analyse(module, modules, prefixes) for name, module in modules.items()
    }
    binders: dict[str, dict[str, list[Statement]]] = {}
    aliases: dict[str, dict[str, str]] = {}
    for name, module_statements in statements.items():
        index: dict[str, list[Statement]] = {}
        for statement in module_statements:
            for bound in statement.binds:
                index.setdefault(bound, []).append(statement)
            aliases.setdefault(name, {}).update(statement.module_aliases)
        binders[name] = index
    return Analysis(modules, statements, binders, aliases, prefixes)


@dataclass(frozen=True, slots=True)
class Carried:
    """What one package carries of the user's modules."""

    #: Module name -> the top-level statements it carries, in source order (a module
    #: whose name is a key is carried, if only for its docstring).
    statements: Mapping[str, Sequence[Statement]]
    #: Module name -> string constants in the carried code that could name a file next
    #: to the module (collected by the analysis, so no package re-parses its text).
    path_literals: Mapping[str, frozenset[str]]
    #: Every identifier the carried code spells (as the slice renders it): names, attribute
    #: names, imported modules and names (`*` for a star import). What of the runtime the
    #: package's user code can reach is among them, however it got there (an alias
    #: imported from another module, `chains.streaming.x`, a string annotation), so the
    #: planner vendors the runtime modules they name without reading the generated text.
    spelled: frozenset[str] = frozenset()


def carry(analysis: Analysis, request: SliceRequest) -> Carried:
    """The statements of every user module a package needs: a closure over the analysis."""
    modules = analysis.modules
    wanted: dict[str, set[str]] = {}
    whole: set[str] = set()
    done: set[int] = set()
    queue: list[tuple[str, str]] = [
        *sorted(request.own_classes),
        *sorted(request.extra_names),
    ]
    while queue:
        module_name, symbol = queue.pop()
        if module_name not in analysis.statements:
            continue
        if symbol == "*":
            if module_name in whole:
                continue
            whole.add(module_name)
            symbols = set(analysis.binders[module_name])
        else:
            if symbol in wanted.setdefault(module_name, set()):
                continue
            symbols = {symbol}
        # A carried module always keeps its docstring and `from __future__` imports.
        wanted.setdefault(module_name, set()).update(symbols | {PACKAGE_NAME})
        for parent in _parents_of(module_name, modules):
            queue.append((parent, PACKAGE_NAME))
        aliases = analysis.module_aliases.get(module_name, {})
        for bound in sorted(symbols):
            for statement in analysis.binders[module_name].get(bound, ()):
                if id(statement) in done:
                    continue
                done.add(id(statement))
                uses, _ = kept_parts(module_name, statement, request, queue)
                if uses is None:
                    continue  # a class replaced by its client: its body's references do not matter
                for name in uses:
                    queue.append((module_name, name))
                    local = aliases.get(name)
                    if local is not None:
                        # `alias.X` pulls only X from a local module (`alias.sub.X`: X from
                        # its submodule `sub`); a bare use pulls all of it.
                        for path in statement.attributes.get(name, ()):
                            queue.append(_reach(local, path, analysis.prefixes))
                        if name in statement.bare:
                            queue.append((local, "*"))
                # A kept `from local import a, b` is kept whole, so every name it imports must exist.
                for source_module, imported in statement.from_imports.values():
                    queue.append((source_module, imported))
                for local in (
                    *statement.module_aliases.values(),
                    *statement.imported_modules,
                ):
                    queue.append((local, PACKAGE_NAME))

    statements: dict[str, list[Statement]] = {}
    literals: dict[str, frozenset[str]] = {}
    spelled: set[str] = set()
    for module_name in sorted(wanted):
        keep = wanted[module_name]
        # The statements binding a kept name, in source order. Looked up by name, not by
        # scanning the module: a slice costs what it keeps, not the size of the file.
        binders = analysis.binders[module_name]
        kept = sorted(
            {
                id(statement): statement
                for name in keep
                for statement in binders.get(name, ())
            }.values(),
            key=lambda statement: statement.index,
        )
        statements[module_name] = kept
        literals[module_name] = _kept_literals(module_name, kept, request)
        for statement in kept:
            _add_spelled(module_name, statement, request, spelled)
    return Carried(statements, literals, frozenset(spelled))


def _add_spelled(
    module_name: str, statement: Statement, request: SliceRequest, spelled: set[str]
) -> None:
    """Add the identifiers a carried statement spells, as the slice renders it (`Carried.spelled`)."""
    spelled |= statement.outer_uses
    spelled |= statement.outer_words
    for name, parts in statement.classes.items():
        key = (module_name, name)
        if key in request.own_classes:
            spelled |= parts.uses_without_config
            spelled |= parts.words_without_config
        elif key not in request.client_classes:
            spelled |= parts.uses
            spelled |= parts.words


def is_only_a_client(
    module_name: str, statement: Statement, request: SliceRequest
) -> bool:
    """Whether a carried statement is another Chainlet's class, which its client replaces."""
    node = statement.node
    key = (module_name, node.name) if isinstance(node, ast.ClassDef) else None
    return (
        key is not None
        and key in request.client_classes
        and key not in request.own_classes
    )


def kept_parts(
    module_name: str,
    statement: Statement,
    request: SliceRequest,
    queue: list[tuple[str, str]] | None = None,
) -> tuple[set[str] | None, frozenset[str]]:
    """What a kept statement reads, and its path literals, as the slice renders it.

    A class replaced by its client reads what the client's signature reads (added
    to `queue`); the package's own Chainlet class reads what it reads without its
    `remote_config`. Uses are None for a statement that is only a client.
    """
    if not statement.classes:
        return statement.uses, statement.path_literals
    uses = set(statement.outer_uses)
    literals = set(statement.outer_literals)
    only_clients = isinstance(statement.node, ast.ClassDef)
    for name, parts in statement.classes.items():
        key = (module_name, name)
        if key in request.own_classes:
            uses |= parts.uses_without_config
            literals |= parts.literals_without_config
            only_clients = False
        elif key in request.client_classes:
            if queue is not None:
                queue.extend(request.client_classes[key].uses)
        else:
            uses |= parts.uses
            literals |= parts.literals
            only_clients = False
    return (None if only_clients else uses), frozenset(literals)


def _kept_literals(
    module_name: str, kept: Sequence[Statement], request: SliceRequest
) -> frozenset[str]:
    """The path literals of the kept statements, as the slice renders them."""
    found: set[str] = set()
    for statement in kept:
        found |= kept_parts(module_name, statement, request)[1]
    return frozenset(found)


def _reach(
    module: str, path: tuple[str, ...], prefixes: frozenset[str]
) -> tuple[str, str]:
    """(module, name) that `module.a.b...` reaches: through submodules, then a name."""
    for index, attr in enumerate(path):
        if f"{module}.{attr}" not in prefixes:
            return module, attr
        module = f"{module}.{attr}"
        if index == len(path) - 1:
            break
    return module, "*"


def _parents_of(module_name: str, modules: Mapping[str, ModuleSource]) -> list[str]:
    """The packages of `module_name` that are modules of the chain (carried with it)."""
    parts = module_name.split(".")
    return [
        ".".join(parts[:cut])
        for cut in range(1, len(parts))
        if ".".join(parts[:cut]) in modules
    ]


# ---------------------------------------------------------------- analysis


def _analyse(
    module: ModuleSource, modules: Mapping[str, ModuleSource], prefixes: frozenset[str]
) -> list[Statement]:
    statements: list[Statement] = []
    for index, nodes in enumerate(module.statements):
        statement = Statement(index, nodes)
        _record_bindings(statement, module.bindings.get(index, ()), modules, prefixes)
        # Each class the statement defines (itself, or in its `if`/`try` branches) is
        # scanned apart from the rest: a package keeps it whole, without its
        # `remote_config` (its own Chainlet), or not at all (another Chainlet's
        # class, replaced by its client). Every part is scanned once.
        tracker = _NameTracker()
        outer_names: set[str] = set()
        outer_literals: set[str] = set()
        for node in nodes:
            for part in _outer_parts(node):
                tracker.scan(part, outer_names, outer_literals, statement.outer_words)
        for cls in (cls for node in nodes for cls in _defined_classes(node)):
            kept_names: set[str] = set()
            kept_literals: set[str] = set()
            kept_words: set[str] = set()
            config_names: set[str] = set()
            config_literals: set[str] = set()
            config_words: set[str] = set()
            for part in [
                *cls.bases,
                *cls.keywords,
                *cls.decorator_list,
                *getattr(cls, "type_params", []),
            ]:
                tracker.scan(part, kept_names, kept_literals, kept_words)
            for item in cls.body:
                if is_remote_config(item):
                    tracker.scan(item, config_names, config_literals, config_words)
                else:
                    tracker.scan(item, kept_names, kept_literals, kept_words)
            known = statement.classes.get(cls.name)
            if known is not None:
                known.nodes.append(cls)
                known.uses |= kept_names | config_names
                known.literals |= kept_literals | config_literals
                known.uses_without_config |= kept_names
                known.literals_without_config |= kept_literals
                known.words |= kept_words | config_words
                known.words_without_config |= kept_words
                continue
            statement.classes[cls.name] = ClassParts(
                nodes=[cls],
                uses=kept_names | config_names,
                literals=frozenset(kept_literals | config_literals),
                uses_without_config=kept_names,
                literals_without_config=frozenset(kept_literals),
                words=kept_words | config_words,
                words_without_config=kept_words,
            )
        tracker.finish(statement)
        statement.outer_uses = outer_names
        statement.outer_literals = frozenset(outer_literals)
        statement.uses = set(outer_names)
        literals = set(outer_literals)
        for parts in statement.classes.values():
            statement.uses |= parts.uses
            literals |= parts.literals
        statement.path_literals = frozenset(literals)
        if _is_docstring(nodes[0], index) or any(
            _is_future_import(node) for node in nodes
        ):
            statement.binds.add(PACKAGE_NAME)
        statements.append(statement)
    return statements


_COMPOUND = (ast.If, ast.Try, ast.TryStar, ast.With, ast.For, ast.While)


def _defined_classes(node: ast.stmt) -> list[ast.ClassDef]:
    """The classes a top-level statement defines: itself, or those in its branches."""
    if isinstance(node, ast.ClassDef):
        return [node]
    if not isinstance(node, _COMPOUND):
        return []
    return [
        cls for child in _branch_statements(node) for cls in _defined_classes(child)
    ]


def _branch_statements(node: ast.stmt) -> list[ast.stmt]:
    """The statements directly in a compound statement's branches."""
    body: list[ast.stmt] = [
        *getattr(node, "body", []),
        *getattr(node, "orelse", []),
        *getattr(node, "finalbody", []),
    ]
    for handler in getattr(node, "handlers", []):
        body.extend(handler.body)
    return body


def _outer_parts(node: ast.stmt) -> list[ast.AST]:
    """A statement's parts outside the classes it defines (all of it if none)."""
    if isinstance(node, ast.ClassDef):
        return []
    if not isinstance(node, _COMPOUND) or not _defined_classes(node):
        return [node]
    parts: list[ast.AST] = []
    for field_name, value in ast.iter_fields(node):
        if field_name in ("body", "orelse", "finalbody", "handlers"):
            continue
        if isinstance(value, ast.AST):
            parts.append(value)
        elif isinstance(value, list):
            parts.extend(item for item in value if isinstance(item, ast.AST))
    for handler in getattr(node, "handlers", []):
        if handler.type is not None:
            parts.append(handler.type)
    for child in _branch_statements(node):
        parts.extend(_outer_parts(child))
    return parts


def _record_bindings(
    statement: Statement,
    bindings: Iterable[Binding],
    modules: Mapping[str, ModuleSource],
    prefixes: frozenset[str],
) -> None:
    """What the statement binds, as the resolver found it, and which bindings are local modules.

    An import of a local module (`import pkg.mod as m`, `from pkg import mod`) makes an
    alias of it; `from local import name` a name from a local module; `import a.b.c`
    loads every local module on the way.
    """
    for binding in bindings:
        statement.binds.add(binding.name)
        if binding.kind is not BindingKind.IMPORT:
            continue
        target = binding.target
        if isinstance(binding.node, cst.Import):
            if target in prefixes:
                statement.module_aliases[binding.name] = target
            for alias in binding.node.names:
                imported = dotted_name(alias.name) or ""
                if imported in modules:
                    statement.imported_modules.add(imported)
        elif target in modules:
            statement.module_aliases[binding.name] = target
        else:
            base, _, imported = target.rpartition(".")
            if base in modules:
                statement.from_imports[binding.name] = (base, imported)


class _NameTracker:
    """One walk over a statement's parts: the names read, `name.attr` reads, path literals."""

    __slots__ = ("api_imports", "as_base", "attributes", "inner", "loads")

    def __init__(self) -> None:
        self.attributes: dict[str, set[tuple[str, ...]]] = {}
        #: Attribute nodes inside a longer chain (`a.b` in `a.b.c`), seen through it.
        self.inner: set[int] = set()
        self.api_imports: list[ast.Import | ast.ImportFrom] = []
        self.loads: dict[str, int] = {}
        self.as_base: dict[str, int] = {}

    def scan(
        self, node: ast.AST, used: set[str], literals: set[str], words: set[str]
    ) -> None:
        """Add every name read in `node` (string annotations included) and its path literals.

        `words` gets the other identifiers it spells: attribute names, imported modules and names.
        """
        loads, as_base, attributes = self.loads, self.as_base, self.attributes
        for child in ast.walk(node):
            if isinstance(child, ast.Name):
                used.add(child.id)
                loads[child.id] = loads.get(child.id, 0) + 1
            elif isinstance(child, ast.Attribute) and id(child) not in self.inner:
                words.add(child.attr)
                path = [child.attr]
                base = child.value
                while isinstance(base, ast.Attribute):
                    self.inner.add(id(base))
                    words.add(base.attr)
                    path.append(base.attr)
                    base = base.value
                if isinstance(base, ast.Name):
                    as_base[base.id] = as_base.get(base.id, 0) + 1
                    attributes.setdefault(base.id, set()).add(tuple(reversed(path)))
            elif isinstance(child, ast.Import | ast.ImportFrom):
                if _imports_api(child):
                    self.api_imports.append(child)
                if isinstance(child, ast.ImportFrom) and child.module:
                    words.update(child.module.split("."))
                for alias in child.names:
                    words.update(alias.name.split("."))
            elif isinstance(child, ast.Constant) and isinstance(child.value, str):
                value = child.value
                if is_path_literal(value):
                    literals.add(value)
                if _looks_like_annotation(value):
                    try:
                        parsed = ast.parse(value, mode="eval")
                    except SyntaxError:
                        continue
                    for inner in ast.walk(parsed):
                        if isinstance(inner, ast.Name):
                            used.add(inner.id)
                        elif isinstance(inner, ast.Attribute):
                            words.add(inner.attr)

    def finish(self, statement: Statement) -> None:
        """Record the `name.attr` reads and the names read bare on `statement`."""
        statement.attributes = self.attributes
        statement.api_imports = sorted(
            self.api_imports, key=lambda node: (node.lineno, node.col_offset)
        )
        statement.bare = {
            name
            for name, count in self.loads.items()
            if count > self.as_base.get(name, 0)
        }


def is_path_literal(value: str) -> bool:
    """Could this string constant be a relative file or directory name?"""
    return (
        0 < len(value) < 200
        and "\n" not in value
        and "://" not in value
        and not value.startswith("/")
    )


_IDENTIFIER_EXPR = re.compile(r"^[A-Za-z_][\w.\[\], |]*$")


def _looks_like_annotation(text: str) -> bool:
    return len(text) < 200 and bool(_IDENTIFIER_EXPR.match(text))


def _is_docstring(node: ast.stmt, index: int) -> bool:
    return (
        index == 0
        and isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _is_future_import(node: ast.stmt) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


def _imports_api(node: ast.Import | ast.ImportFrom) -> bool:
    """Whether a package imports (some of) what `node` imports from the vendored runtime."""
    if isinstance(node, ast.Import):
        return any(rewritten_to_runtime(alias.name) for alias in node.names)
    if node.level:
        return False
    module = node.module or ""
    return rewritten_to_runtime(module) or any(
        rewritten_to_runtime(f"{module}.{alias.name}") for alias in node.names
    )


def is_remote_config(statement: ast.stmt) -> bool:
    """Whether a class body statement assigns `remote_config` (compiled into config.yaml, cut from packages)."""
    targets: Iterable[ast.expr] = ()
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign):
        targets = (statement.target,)
    return any(isinstance(t, ast.Name) and t.id == "remote_config" for t in targets)
