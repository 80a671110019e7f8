"""The slice: the part of the user's sources one Chainlet's package carries.

Stage: back end, called by `emit.plan`. Pure: text in, text out. Works on the
original text with the positions of CPython's `ast`, so everything kept is
byte-for-byte what the user wrote, comments included; only whole top-level
statements are kept or dropped, plus three rewrites: the chains API import
points at the vendored runtime, the class of every *other* Chainlet is replaced
in place by its generated client class (`emit.clients`), and
`remote_config = ...` assignments (compiled into config.yaml) are cut from the
Chainlet classes the package carries. User modules never import generated code.
Imports: ast only (the standard library).
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

#: Module the vendored runtime is imported as inside a package.
RUNTIME_MODULE = "chainsc_runtime"

#: Imported module paths that mean the Chains authoring API (as in compiler.resolve).
_API_ROOTS = ("truss_chains", "runtime_lib")
#: Where the Truss config helpers live, and where the runtime provides them.
_TRUSS_CONFIG_MODULES = ("truss.base.truss_config", "truss.truss_config")
_RUNTIME_TRUSS_CONFIG = f"{RUNTIME_MODULE}.truss_config"


@dataclass(frozen=True, slots=True)
class ModuleSource:
    """One user module: its dotted name, relative path, text and parsed tree."""

    name: str
    path: str
    is_package: bool
    text: str
    tree: ast.Module


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

    def __init__(self, keys: Iterable[tuple[str, str]], make: Callable[[tuple[str, str]], ClientCode]) -> None:
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


#: What a module with an in-place client imports, once, before its first client.
RUNTIME_IMPORT = f"import {RUNTIME_MODULE}.transport"


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
class _ClassParts:
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
    #: The other identifiers it spells (`Slice.spelled`), whole and without its `remote_config`.
    words: set[str] = field(default_factory=set)
    words_without_config: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Statement:
    index: int
    node: ast.stmt
    binds: set[str] = field(default_factory=set)
    #: Everything the statement reads.
    uses: set[str] = field(default_factory=set)
    #: Classes it defines, by name: each may be the package's own (config cut), a
    #: client (replaced), or neither (kept whole).
    classes: dict[str, _ClassParts] = field(default_factory=dict)
    #: What it reads outside those classes, and its path literals there.
    outer_uses: set[str] = field(default_factory=set)
    outer_literals: frozenset[str] = frozenset()
    #: The other identifiers it spells there: attribute names, imported names (`Slice.spelled`).
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


@dataclass(frozen=True, slots=True)
class Analysis:
    """Per-module facts the slice needs, computed once for every package of a build."""

    modules: Mapping[str, ModuleSource]
    statements: Mapping[str, list[_Statement]]
    #: module -> name -> the statements that bind it.
    binders: Mapping[str, Mapping[str, list[_Statement]]]
    #: module -> alias -> local module, over all its imports.
    module_aliases: Mapping[str, Mapping[str, str]]
    #: Every local module and package name, and every dotted prefix of one (namespace
    #: packages have no module of their own).
    prefixes: frozenset[str] = frozenset()


def analyse_modules(modules: Mapping[str, ModuleSource]) -> Analysis:
    """Analyse every module once (the slices of all packages share it)."""
    prefixes = frozenset(".".join(name.split(".")[:cut]) for name in modules for cut in range(1, name.count(".") + 2))
    statements = {name: _analyse(module, modules, prefixes) for name, module in modules.items()}
    binders: dict[str, dict[str, list[_Statement]]] = {}
    aliases: dict[str, dict[str, str]] = {}
    for name, module_statements in statements.items():
        index: dict[str, list[_Statement]] = {}
        for statement in module_statements:
            for bound in statement.binds:
                index.setdefault(bound, []).append(statement)
            aliases.setdefault(name, {}).update(statement.module_aliases)
        binders[name] = index
    return Analysis(modules, statements, binders, aliases, prefixes)


@dataclass(frozen=True, slots=True)
class Slice:
    """What one package carries of the user's modules."""

    #: Relative path -> the module's sliced text.
    texts: Mapping[str, str]
    #: Relative path -> string constants in the kept code that could name a file
    #: next to the module (collected by the analysis, so no package re-parses its text).
    path_literals: Mapping[str, frozenset[str]]
    #: Every identifier the kept code spells (as `_render` keeps it): names, attribute
    #: names, imported modules and names (`*` for a star import). What of the runtime the
    #: package's user code can reach is among them, however it got there (an alias
    #: imported from another module, `chains.streaming.x`, a string annotation), so the
    #: planner vendors the runtime modules they name without reading the generated text.
    spelled: frozenset[str] = frozenset()


def slice_modules(
    modules: Mapping[str, ModuleSource], request: SliceRequest, analysis: Analysis | None = None
) -> dict[str, str]:
    """Text of every user module the package needs, by relative path."""
    return dict(slice_package(modules, request, analysis).texts)


def slice_package(
    modules: Mapping[str, ModuleSource], request: SliceRequest, analysis: Analysis | None = None
) -> Slice:
    """The sliced text of every user module the package needs, and the path literals it keeps."""
    analysis = analysis or analyse_modules(modules)
    wanted: dict[str, set[str]] = {}
    whole: set[str] = set()
    done: set[int] = set()
    queue: list[tuple[str, str]] = [*sorted(request.own_classes), *sorted(request.extra_names)]
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
        wanted.setdefault(module_name, set()).update(symbols | {"__chainsc_package__"})
        for parent in _parents_of(module_name, modules):
            queue.append((parent, "__chainsc_package__"))
        aliases = analysis.module_aliases.get(module_name, {})
        for bound in sorted(symbols):
            for statement in analysis.binders[module_name].get(bound, ()):
                if id(statement) in done:
                    continue
                done.add(id(statement))
                uses, _ = _kept_parts(module_name, statement, request, queue)
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
                for local in (*statement.module_aliases.values(), *statement.imported_modules):
                    queue.append((local, "__chainsc_package__"))

    texts: dict[str, str] = {}
    literals: dict[str, frozenset[str]] = {}
    spelled: set[str] = set()
    for module_name in sorted(wanted):
        module = modules[module_name]
        keep = wanted[module_name]
        # The statements binding a kept name, in source order. Looked up by name, not by
        # scanning the module: a slice costs what it keeps, not the size of the file.
        binders = analysis.binders[module_name]
        kept = sorted(
            {id(statement): statement for name in keep for statement in binders.get(name, ())}.values(),
            key=lambda statement: statement.index,
        )
        texts[module.path] = _render(module, kept, request.client_classes, request.own_classes)
        literals[module.path] = _kept_literals(module.name, kept, request)
        for statement in kept:
            _add_spelled(module.name, statement, request, spelled)
    return Slice(texts, literals, frozenset(spelled))


def _add_spelled(module_name: str, statement: _Statement, request: SliceRequest, spelled: set[str]) -> None:
    """Add the identifiers a kept statement spells, as `_render` keeps it (see `Slice.spelled`)."""
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


def _kept_parts(
    module_name: str,
    statement: _Statement,
    request: SliceRequest,
    queue: list[tuple[str, str]] | None = None,
) -> tuple[set[str] | None, frozenset[str]]:
    """What a kept statement reads, and its path literals, as `_render` keeps it.

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


def _kept_literals(module_name: str, kept: Sequence[_Statement], request: SliceRequest) -> frozenset[str]:
    """The path literals of the kept statements, as `_render` keeps them."""
    found: set[str] = set()
    for statement in kept:
        found |= _kept_parts(module_name, statement, request)[1]
    return frozenset(found)


def _reach(module: str, path: tuple[str, ...], prefixes: frozenset[str]) -> tuple[str, str]:
    """(module, name) that `module.a.b...` reaches: through submodules, then a name."""
    for index, attr in enumerate(path):
        if f"{module}.{attr}" not in prefixes:
            return module, attr
        module = f"{module}.{attr}"
        if index == len(path) - 1:
            break
    return module, "*"


def _parents_of(module_name: str, modules: Mapping[str, ModuleSource]) -> list[str]:
    parts = module_name.split(".")
    return [".".join(parts[:cut]) for cut in range(1, len(parts)) if ".".join(parts[:cut]) in modules]


# ---------------------------------------------------------------- analysis


def _analyse(module: ModuleSource, modules: Mapping[str, ModuleSource], prefixes: frozenset[str]) -> list[_Statement]:
    statements: list[_Statement] = []
    for index, node in enumerate(module.tree.body):
        statement = _Statement(index, node)
        _collect_binds(node, statement, module, modules, prefixes)
        # Each class the statement defines (itself, or in its `if`/`try` branches) is
        # scanned apart from the rest: a package keeps it whole, without its
        # `remote_config` (its own Chainlet), or not at all (another Chainlet's
        # class, replaced by its client). Every part is scanned once.
        tracker = _NameTracker()
        outer_names: set[str] = set()
        outer_literals: set[str] = set()
        for part in _outer_parts(node):
            tracker.scan(part, outer_names, outer_literals, statement.outer_words)
        for cls in _defined_classes(node):
            kept_names: set[str] = set()
            kept_literals: set[str] = set()
            kept_words: set[str] = set()
            config_names: set[str] = set()
            config_literals: set[str] = set()
            config_words: set[str] = set()
            for part in [*cls.bases, *cls.keywords, *cls.decorator_list, *getattr(cls, "type_params", [])]:
                tracker.scan(part, kept_names, kept_literals, kept_words)
            for item in cls.body:
                if _is_remote_config(item):
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
            statement.classes[cls.name] = _ClassParts(
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
        if _is_docstring(node, index) or _is_future_import(node):
            statement.binds.add("__chainsc_package__")
        statements.append(statement)
    return statements


_COMPOUND = (ast.If, ast.Try, ast.TryStar, ast.With, ast.For, ast.While)


def _defined_classes(node: ast.stmt) -> list[ast.ClassDef]:
    """The classes a top-level statement defines: itself, or those in its branches."""
    if isinstance(node, ast.ClassDef):
        return [node]
    if not isinstance(node, _COMPOUND):
        return []
    return [cls for child in _branch_statements(node) for cls in _defined_classes(child)]


def _branch_statements(node: ast.stmt) -> list[ast.stmt]:
    """The statements directly in a compound statement's branches."""
    body: list[ast.stmt] = [*getattr(node, "body", []), *getattr(node, "orelse", []), *getattr(node, "finalbody", [])]
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


def _collect_binds(
    node: ast.stmt,
    statement: _Statement,
    module: ModuleSource,
    modules: Mapping[str, ModuleSource],
    prefixes: frozenset[str],
) -> None:
    if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        statement.binds.add(node.name)
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            statement.binds.update(_target_names(target))
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        statement.binds.update(_target_names(node.target))
    elif isinstance(node, ast.Import):
        for alias in node.names:
            local = alias.asname or alias.name.split(".")[0]
            statement.binds.add(local)
            imported = alias.name if alias.asname else alias.name.split(".")[0]
            if imported in prefixes:
                statement.module_aliases[local] = imported
            if alias.name in modules:
                statement.imported_modules.add(alias.name)
    elif isinstance(node, ast.ImportFrom):
        base = _absolute_module(node, module)
        for alias in node.names:
            if alias.name == "*":
                continue
            local = alias.asname or alias.name
            statement.binds.add(local)
            submodule = f"{base}.{alias.name}" if base else alias.name
            if submodule in modules:
                statement.module_aliases[local] = submodule
            elif base in modules:
                statement.from_imports[local] = (base, alias.name)
    elif isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                _collect_binds(child, statement, module, modules, prefixes)
            elif isinstance(child, ast.ExceptHandler):
                for inner in child.body:
                    _collect_binds(inner, statement, module, modules, prefixes)


def _absolute_module(node: ast.ImportFrom, module: ModuleSource) -> str:
    if not node.level:
        return node.module or ""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    parts = package.split(".") if package else []
    if node.level > 1:
        parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])])


def _target_names(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Tuple | ast.List):
        return {name for element in node.elts for name in _target_names(element)}
    return set()


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

    def scan(self, node: ast.AST, used: set[str], literals: set[str], words: set[str]) -> None:
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

    def finish(self, statement: _Statement) -> None:
        """Record the `name.attr` reads and the names read bare on `statement`."""
        statement.attributes = self.attributes
        statement.api_imports = sorted(self.api_imports, key=lambda node: (node.lineno, node.col_offset))
        statement.bare = {name for name, count in self.loads.items() if count > self.as_base.get(name, 0)}


def is_path_literal(value: str) -> bool:
    """Could this string constant be a relative file or directory name?"""
    return 0 < len(value) < 200 and "\n" not in value and "://" not in value and not value.startswith("/")


_IDENTIFIER_EXPR = re.compile(r"^[A-Za-z_][\w.\[\], |]*$")


def _looks_like_annotation(text: str) -> bool:
    return len(text) < 200 and bool(_IDENTIFIER_EXPR.match(text))


def _is_docstring(node: ast.stmt, index: int) -> bool:
    return index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _is_future_import(node: ast.stmt) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


# ---------------------------------------------------------------- rendering


def _render(
    module: ModuleSource,
    kept: Sequence[_Statement],
    client_classes: Mapping[tuple[str, str], ClientCode],
    own_classes: frozenset[tuple[str, str]],
) -> str:
    """The module's text with only the `kept` statements (in source order), rewritten where needed."""
    lines = _lines_of(module)
    pieces: list[str] = []
    previous_end = 0
    imported: set[str] = set()
    for statement in kept:
        node = statement.node
        first, last = _extent(statement, lines)
        key = (module.name, node.name) if isinstance(node, ast.ClassDef) else None
        client = client_classes.get(key) if key is not None and key not in own_classes else None
        if client is not None:
            first = node.lineno - 1  # the client replaces the class: its comments and decorators go
        if pieces:
            # The widest gap the user left between the previous kept statement and this one.
            pieces.append("\n" * _widest_gap(lines, previous_end, first))
        previous_end = last
        # Clients in the branches of an `if`/`try` replace their classes there.
        nested = [
            (class_node, client_classes[(module.name, name)])
            for name, parts in statement.classes.items()
            for class_node in parts.nodes
            if not isinstance(node, ast.ClassDef)
            and (module.name, name) not in own_classes
            and (module.name, name) in client_classes
        ]
        # What the clients need is imported once per module, before the first of them.
        needed = [
            line
            for code in ([client] if client is not None else [code for _, code in nested])
            for line in (RUNTIME_IMPORT, *code.imports)
            if line not in imported
        ]
        if needed:
            imported.update(needed)
            pieces.append("".join(f"{line}\n" for line in dict.fromkeys(needed)) + "\n\n")
        if client is not None:
            pieces.append(client.text)
            continue
        own = [
            class_node
            for name, parts in statement.classes.items()
            if (module.name, name) in own_classes
            for class_node in parts.nodes
        ]
        pieces.append(_rewrite_statement(statement, lines, first, last, nested, own=own))
    rendered = "".join(pieces).rstrip("\n")
    return rendered + "\n" if rendered else ""


def _extent(statement: _Statement, lines: Sequence[str]) -> tuple[int, int]:
    """0-based [first, last) line range: the statement with its leading comments."""
    node = statement.node
    start = node.lineno
    if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.decorator_list:
        start = min(start, *(d.lineno for d in node.decorator_list))
    first = start - 1
    while first > 0 and lines[first - 1].lstrip().startswith("#"):
        first -= 1
    end = node.end_lineno or node.lineno
    return first, end


#: Regions up to this many lines are scanned for their widest blank run.
_GAP_SCAN_LIMIT = 64


@functools.lru_cache(maxsize=64)
def _lines_cached(text: str) -> tuple[str, ...]:
    return tuple(text.splitlines(keepends=True))


def _lines_of(module: ModuleSource) -> tuple[str, ...]:
    """The module's lines (split once per build, not once per package)."""
    return _lines_cached(module.text)


def _widest_gap(lines: Sequence[str], start: int, end: int) -> int:
    """The longest run of blank lines in lines[start:end], the gap the user left.

    Long regions (a slice of one Chainlet out of a thousand skips most of the
    file) are not scanned: the blank runs at their two ends decide, which keeps
    a build linear in the size of the chain.
    """
    if end - start <= _GAP_SCAN_LIMIT:
        widest = run = 0
        for line in lines[start:end]:
            run = run + 1 if not line.strip() else 0
            widest = max(widest, run)
        return widest
    after = 0
    while start + after < end and not lines[start + after].strip():
        after += 1
    before = 0
    while end - before - 1 >= start + after and not lines[end - before - 1].strip():
        before += 1
    return max(after, before, 1)


def _imports_api(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] in _API_ROOTS or alias.name in _TRUSS_CONFIG_MODULES for alias in node.names)
    if isinstance(node, ast.ImportFrom) and not node.level:
        module = node.module or ""
        if module.split(".")[0] in _API_ROOTS or module in _TRUSS_CONFIG_MODULES:
            return True
        return module in ("truss", "truss.base") and any(alias.name == "truss_config" for alias in node.names)
    return False


def _rewrite_statement(
    statement: _Statement,
    lines: Sequence[str],
    first: int,
    last: int,
    clients: Sequence[tuple[ast.ClassDef, ClientCode]],
    *,
    own: Sequence[ast.ClassDef] = (),
) -> str:
    """A kept top-level statement's text (`lines[first:last]`), rewritten where it must be.

    Every chains API import in it, at any depth (a function body, an `if` branch),
    points at the runtime; the classes in `clients` (in its `if`/`try` branches) are
    replaced by their clients; the `remote_config` of the package's own classes is cut.
    Everything else is the user's text, byte for byte.
    """
    node = statement.node
    inside = [(cls.lineno, cls.end_lineno or cls.lineno) for cls, _ in clients]
    edits: list[tuple[int, int, int, int, str]] = []  # (line, col) to (line, col), 0-based -> text
    for child in statement.api_imports:
        if any(low <= child.lineno <= high for low, high in inside):
            continue  # inside a class that its client replaces
        start, end = child.lineno - 1, child.end_lineno or child.lineno
        indent = _prefix(lines[start], child.col_offset)
        # What follows the import on its last line (a comment) stays.
        end_col = len(_prefix(lines[end - 1], child.end_col_offset or 0))
        if child is node:
            # The statement itself: its leading comments stay, in the exploded form.
            text = _rewrite_api_import(child, lines, first).removesuffix("\n")
            edits.append((first, 0, end - 1, end_col, text))
        elif not indent.strip():
            text = _indent(_rewrite_api_import(child, lines, start), indent).removesuffix("\n")
            edits.append((start, 0, end - 1, end_col, text))
        else:
            # It shares its line with other code (`if x: import y`): spliced in on one line.
            edits.append((start, len(indent), end - 1, end_col, _one_line_import(child)))
    for cls, code in clients:
        start = min([cls.lineno, *(d.lineno for d in cls.decorator_list)]) - 1
        edits.append((start, 0, cls.end_lineno or cls.lineno, 0, _indent(code.text, " " * cls.col_offset)))
    for cls in own:
        body = [item for item in cls.body if not _is_remote_config(item)]
        for item in cls.body:
            if _is_remote_config(item):
                end = item.end_lineno or item.lineno
                # Drop the blank line that followed, so no double gap is left behind.
                after = end + 1 if end < last and not lines[end].strip() else end
                # A class whose body was only its config keeps a body.
                text = "" if body else _indent("pass\n", _prefix(lines[item.lineno - 1], item.col_offset))
                edits.append((item.lineno - 1, 0, after, 0, text))
                body = [item]  # one `pass` is enough
    if not edits:
        return "".join(lines[first:last])
    out: list[str] = []
    at_line, at_col = first, 0
    for start, start_col, end, end_col, text in sorted(edits):
        out.append(_text_between(lines, at_line, at_col, start, start_col))
        out.append(text)
        at_line, at_col = end, end_col
    out.append(_text_between(lines, at_line, at_col, last, 0))
    return "".join(out)


def _text_between(lines: Sequence[str], line: int, col: int, end: int, end_col: int) -> str:
    """The text from (line, col) to (end, end_col), 0-based lines, columns in characters."""
    if line == end:
        return lines[line][col:end_col] if line < len(lines) else ""
    return lines[line][col:] + "".join(lines[line + 1 : end]) + (lines[end][:end_col] if end < len(lines) else "")


def _prefix(line: str, col_offset: int) -> str:
    """The text of `line` before an ast column (which counts UTF-8 bytes)."""
    return line.encode("utf-8")[:col_offset].decode("utf-8", errors="replace")


def _one_line_import(node: ast.Import | ast.ImportFrom) -> str:
    """An API import rewritten as one statement on one line (no newline)."""
    rewritten = _rewrite_api_import(node, [], node.lineno - 1)
    statements = [piece.strip() for piece in rewritten.splitlines() if piece.strip()]
    if len(statements) > 1 and statements[0].endswith("("):
        # `from x import (` ... `)`: the names on one line.
        return statements[0].rstrip("(") + ", ".join(name.rstrip(",") for name in statements[1:-1])
    return "; ".join(statements)


def _indent(text: str, indent: str) -> str:
    """`text` with `indent` before every line that is not blank."""
    return "".join(indent + piece if piece.strip() else piece for piece in text.splitlines(keepends=True))


def _rewrite_api_import(node: ast.stmt, lines: Sequence[str], first: int) -> str:
    """`import truss_chains as chains` -> `import chainsc_runtime as chains` (same bindings)."""
    indent = ""
    comments = "".join(lines[first : node.lineno - 1])
    if isinstance(node, ast.Import):
        parts = []
        for alias in node.names:
            root, _, rest = alias.name.partition(".")
            if alias.name in _TRUSS_CONFIG_MODULES:
                # `import truss.base.truss_config as tc`: without an alias the name `truss` is bound.
                parts.append(f"import {_RUNTIME_TRUSS_CONFIG} as {alias.asname}" if alias.asname else f"import {alias.name}")
            elif root in _API_ROOTS and alias.asname:
                parts.append(f"import {RUNTIME_MODULE}{f'.{rest}' if rest else ''} as {alias.asname}")
            elif root in _API_ROOTS:
                # `import truss_chains.utils` binds `truss_chains`, the package (whose
                # submodules the runtime's `__init__` imports).
                parts.append(f"import {RUNTIME_MODULE} as {root}")
            else:
                parts.append(f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else ""))
        return comments + "".join(f"{indent}{part}\n" for part in parts)
    assert isinstance(node, ast.ImportFrom)
    if node.module in _TRUSS_CONFIG_MODULES:
        target = _RUNTIME_TRUSS_CONFIG
    elif node.module in ("truss", "truss.base"):
        target = RUNTIME_MODULE  # `from truss.base import truss_config`
    else:
        module = (node.module or "").split(".", 1)
        target = RUNTIME_MODULE + (f".{module[1]}" if len(module) > 1 else "")
    names = [alias.name + (f" as {alias.asname}" if alias.asname else "") for alias in node.names]
    if len(names) == 1:
        return comments + f"from {target} import {names[0]}\n"
    body = "".join(f"    {name},\n" for name in names)
    return comments + f"from {target} import (\n{body})\n"


def _is_remote_config(statement: ast.stmt) -> bool:
    targets: Iterable[ast.expr] = ()
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign):
        targets = (statement.target,)
    return any(isinstance(t, ast.Name) and t.id == "remote_config" for t in targets)
