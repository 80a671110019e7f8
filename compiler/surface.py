"""The `truss_chains` names chain code reaches at run time, and the rule that checks them.

Stage: used by extract, per module. Generated packages rewrite `truss_chains` imports to
the vendored runtime (`runtime_lib`, imported as `chainsc_runtime`), so a name the runtime
lacks builds fine and then fails when the package imports or runs. This module reports
each such name where it is written:

- CSC005: not a name the runtime provides: an internal truss module (`framework`), or no
  such public name in truss_chains 0.18.36 (a typo, a newer truss name);
- CSC006: a Baseten-only feature a package cannot have (`push`, `TrussChainlet`, ...).

Every import form of the API is rewritten by the slice (`chainsc.emit.slice`), at any
depth, so no import form is refused here.

What the runtime provides is read from `runtime_lib`'s own `__all__` lists (statically, as
`chainsc.emit.plan` reads its requirements), so the rule and the runtime cannot drift;
`UNSUPPORTED` holds the deliberate gaps with what to do instead, and
`docs/truss_chains_surface.md` the whole table. Imports: ast, resolve, diagnostics.
"""

from __future__ import annotations

import ast
import bisect
import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from chainsc.diagnostics import Diagnostic, InternalError, error
from chainsc.resolve import BindingKind, ModuleInfo
from chainsc.runtime_files import runtime_dir
from chainsc.source import Span

#: The truss release whose public surface this table describes.
TRUSS_CHAINS_VERSION = "0.18.36"

#: truss_chains modules the runtime provides, and the `runtime_lib` module that does.
#: `definitions` is the module of truss up to 0.9.67 (since split into `public_types` and
#: `private_types`); the runtime still has it, so old chains keep working.
RUNTIME_MODULES: dict[str, str] = {
    "truss_chains": "__init__",
    "truss_chains.definitions": "definitions",
    "truss_chains.public_api": "public_api",
    "truss_chains.public_types": "public_types",
    "truss_chains.pydantic_numpy": "pydantic_numpy",
    "truss_chains.streaming": "streaming",
    "truss_chains.utils": "utils",
    "truss_chains.remote_chainlet.truss_chainlet": "truss_chainlet",
}


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A truss_chains name the runtime deliberately does not provide."""

    code: str
    #: Why, after "`<written>` ...".
    reason: str
    help: str


_INTERNAL = (
    "is internal to truss and not part of the chains API the chainsc runtime provides"
)
_USE_PUBLIC = (
    "import the public names from `truss_chains` (`import truss_chains as chains`)"
)
_PUSH = Unsupported(
    "CSC006",
    "deploys a chain to Baseten with truss; a chainsc package cannot run it",
    'call it from a deployment script or under `if __name__ == "__main__":` (chainsc leaves '
    "that block out of the packages); `chainsc build` writes the packages",
)

#: Public names of truss_chains 0.18.36 that chainsc reports instead of providing, by
#: written path. A module entry covers every name under it.
UNSUPPORTED: dict[str, Unsupported] = {
    "truss_chains.push": _PUSH,
    "truss_chains.public_api.push": _PUSH,
    "truss_chains.public_types.ServiceDescriptorUrls": Unsupported(
        "CSC006",
        "describes Baseten's internal service URLs, which the chainsc runtime does not use",
        "use `chains.DeployedServiceDescriptor` (its `predict_url`)",
    ),
    "truss_chains.deployment": Unsupported(
        "CSC006",
        "is truss's deployment client; chainsc packages do not include it",
        "deploy with `truss chains push`, or from a script that is not part of the chain",
    ),
    "truss_chains.framework": Unsupported("CSC005", _INTERNAL, _USE_PUBLIC),
    "truss_chains.private_types": Unsupported("CSC005", _INTERNAL, _USE_PUBLIC),
    "truss_chains.remote_chainlet": Unsupported("CSC005", _INTERNAL, _USE_PUBLIC),
}

#: The codes this rule reports.
SURFACE_CODES = frozenset({"CSC005", "CSC006"})


@dataclass(frozen=True, slots=True)
class Finding:
    """What is wrong with a written truss_chains path."""

    #: How many dotted parts of the path the offending prefix has.
    length: int
    code: str
    #: The offending prefix, spelled from `truss_chains` (`truss_chains.utils.radnom_fail`).
    path: str
    #: Follows the name in the message: "`chains.push` <reason>".
    reason: str
    help: str

    def message(self, written: str | None = None) -> str:
        """The sentence, naming the path as written (and in full when that differs)."""
        subject = (
            f"`{self.path}`"
            if written in (None, self.path)
            else f"`{written}` (`{self.path}`)"
        )
        return f"{subject} {self.reason}"


# -- what the runtime provides ------------------------------------------------------------


@functools.cache
def runtime_names(stem: str) -> frozenset[str]:
    """The `__all__` of `runtime_lib/<stem>.py`, read statically (a list of literals)."""
    path = runtime_dir() / f"{stem}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            names = ast.literal_eval(node.value)
            if isinstance(names, list) and all(isinstance(name, str) for name in names):
                return frozenset(names)
    raise InternalError(f"runtime_lib/{stem}.py has no literal `__all__`")


def provided(module: str, name: str) -> bool:
    """Whether the runtime provides `<module>.<name>` for a truss_chains module."""
    stem = RUNTIME_MODULES.get(module)
    return stem is not None and name in runtime_names(stem)


def check_path(parts: Sequence[str]) -> Finding | None:
    """What is wrong with a written `truss_chains...` path, or None if the runtime has it.

    Only the module part and the first name after it are checked: attributes of a
    provided class (`chains.BasetenImage.PY311`) are the class's business.
    """
    return _check(tuple(parts))


@functools.lru_cache(maxsize=1024)
def _check(parts: tuple[str, ...]) -> Finding | None:
    module = parts[0]
    for index in range(1, len(parts)):
        name = parts[index]
        path = f"{module}.{name}"
        if name.startswith("__") and name.endswith("__"):
            return None  # a module's own attribute (`__name__`, `__file__`)
        if path in RUNTIME_MODULES or (
            # `truss_chains.remote_chainlet` only on the way to a module the runtime has.
            index + 1 < len(parts) and f"{path}.{parts[index + 1]}" in RUNTIME_MODULES
        ):
            module = path
            continue
        if provided(module, name):
            return None
        unsupported = UNSUPPORTED.get(path)
        if unsupported is not None:
            help_text = unsupported.help
            if (
                unsupported.code == "CSC005"
                and index + 1 < len(parts)
                and provided("truss_chains", parts[index + 1])
            ):
                help_text = f"import `{parts[index + 1]}` from `truss_chains` (`chains.{parts[index + 1]}`)"
            return Finding(
                index + 1, unsupported.code, path, unsupported.reason, help_text
            )
        return Finding(
            index + 1,
            "CSC005",
            path,
            "is not a name the chainsc runtime provides",
            _unknown_help(module, name),
        )
    return None


def _unknown_help(module: str, name: str) -> str:
    import difflib  # noqa: PLC0415 - only on an error: keep it off the start-up path

    close = difflib.get_close_matches(
        name, sorted(runtime_names(RUNTIME_MODULES[module])), n=1
    )
    if close:
        return f"did you mean `{close[0]}`?"
    return f"chainsc provides the public names of truss_chains {TRUSS_CHAINS_VERSION}; docs/truss_chains_surface.md lists them"


# -- the rule ------------------------------------------------------------------------------


#: An indented import (in an `if`/`try` block, or a function or class body), and
#: what makes it one of the chains API. Patterns start with a literal: Python's `re`
#: then scans for it at C speed, ten times faster than trying each position.
_INDENTED_IMPORT = re.compile(r"\n[ \t]+(?:import|from)[ \t]+")
_API_MODULE = re.compile(r"[^\n]*\b(?:truss_chains|runtime_lib|truss)\b")
_NAME = re.compile(r"[A-Za-z_]\w*")


def surface_errors(module: ModuleInfo) -> Iterator[Diagnostic]:
    """CSC005/CSC006/CSC007 for the chains API names of one module.

    Every statement a package can carry is checked, function bodies included (the
    runtime must have what they call); `if __name__ == "__main__":` blocks and other
    top-level statements chainsc leaves out (CSC003) are not.

    Walking every node of a large chain would cost a third of its parse, so the source
    text picks the top-level statements worth walking: those with an import, and those
    where a name bound to `truss_chains` is followed by a dotted path that the runtime
    lacks. The walk then confirms each (not in a string, not a shadowing local).
    """
    parsed = module.parsed
    text = parsed.source.text
    left_out = {
        module.span(statement).line for _order, statement in module.side_effects
    }
    statements = [
        s
        for s in parsed.tree.body
        if s.lineno not in left_out and not _is_main_guard(s)
    ]
    starts = [statement.lineno for statement in statements]
    chosen: set[int] = set()

    def choose(offset: int) -> None:
        line = parsed.source.position(offset)[0]
        index = bisect.bisect_right(starts, line) - 1
        if index >= 0 and line <= (statements[index].end_lineno or line):
            chosen.add(index)

    chosen.update(
        index
        for index, s in enumerate(statements)
        if isinstance(s, ast.Import | ast.ImportFrom)
    )
    for match in _INDENTED_IMPORT.finditer(text):
        if _API_MODULE.match(text, match.end()):
            choose(match.end())
    for name, prefix in sorted(_api_names(module).items()):
        # `name.a.b`, not preceded by a dot or a name character (`x.name.a`, `my_name.a`).
        pattern = (
            re.escape(name) + rf"(?<![.\w]{re.escape(name)})((?:\s*\.\s*[A-Za-z_]\w*)+)"
        )
        for match in re.finditer(pattern, text):
            finding = _check((*prefix, *_NAME.findall(match.group(1))))
            if finding is not None and finding.length > len(prefix):
                choose(match.start())
    walker = _Walker(module)
    for index in sorted(chosen):
        walker.visit(statements[index])
    yield from walker.found


def _api_names(module: ModuleInfo) -> dict[str, tuple[str, ...]]:
    """Module-level names bound to `truss_chains` or something in it, with that path."""
    found: dict[str, tuple[str, ...]] = {}
    for name in module.bindings:
        binding = module.lookup(name)
        if (
            binding is not None
            and binding.kind is BindingKind.IMPORT
            and binding.target.split(".")[0] == "truss_chains"
        ):
            found[name] = tuple(binding.target.split("."))
    return found


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    return (
        isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _dotted(node: ast.expr) -> list[ast.expr] | None:
    """`a.b.c` as its nodes [Name a, Attribute a.b, Attribute a.b.c]; None otherwise."""
    chain: list[ast.expr] = []
    current = node
    while isinstance(current, ast.Attribute):
        chain.append(current)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    chain.append(current)
    chain.reverse()
    return chain


@dataclass(slots=True)
class _Scope:
    """Names bound in one function, lambda, comprehension or class body."""

    names: frozenset[str]
    is_class: bool


class _Walker(ast.NodeVisitor):
    """Finds chains API imports and attribute chains, minding local names that shadow."""

    def __init__(self, module: ModuleInfo) -> None:
        self.module = module
        self.parsed = module.parsed
        self.scopes: list[_Scope] = []
        self.found: list[Diagnostic] = []

    # -- scopes ---------------------------------------------------------------------

    def _shadowed(self, name: str) -> bool:
        for depth, scope in enumerate(reversed(self.scopes)):
            # A class body's names are visible in the body itself, not in its methods.
            if scope.is_class and depth > 0:
                continue
            if name in scope.names:
                return True
        return False

    def _visit_function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    ) -> None:
        if not isinstance(node, ast.Lambda):
            for decorator in node.decorator_list:
                self.visit(decorator)
            if node.returns is not None:
                self.visit(node.returns)
        arguments = node.args
        for default in [
            *arguments.defaults,
            *(d for d in arguments.kw_defaults if d is not None),
        ]:
            self.visit(default)
        every = [
            *arguments.posonlyargs,
            *arguments.args,
            *arguments.kwonlyargs,
            arguments.vararg,
            arguments.kwarg,
        ]
        params = [arg for arg in every if arg is not None]
        for param in params:
            if param.annotation is not None:
                self.visit(param.annotation)
        body: list[ast.AST] = (
            [node.body] if isinstance(node, ast.Lambda) else list(node.body)
        )
        names = {param.arg for param in params} | _bound_names(body)
        self.scopes.append(_Scope(frozenset(names), is_class=False))
        for child in body:
            self.visit(child)
        self.scopes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_function(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_function(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [
            *node.decorator_list,
            *node.bases,
            *(keyword.value for keyword in node.keywords),
        ]:
            self.visit(expr)
        self.scopes.append(_Scope(frozenset(_bound_names(node.body)), is_class=True))
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()

    def _visit_comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        names = {
            name
            for generator in node.generators
            for name in _store_names(generator.target)
        }
        self.visit(node.generators[0].iter)  # evaluated in the enclosing scope
        self.scopes.append(_Scope(frozenset(names), is_class=False))
        for index, generator in enumerate(node.generators):
            if index:
                self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = (
        _visit_comprehension
    )

    # -- imports ----------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            parts = alias.name.split(".")
            span = self._alias_span(alias, alias.name)
            if parts[0] != "truss_chains":
                continue
            finding = check_path(parts)
            if finding is not None:
                self._report(finding, span)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or node.module is None:
            return
        parts = node.module.split(".")
        module_span = self._from_module_span(node)
        if parts[0] != "truss_chains":
            return
        finding = check_path(parts)
        if finding is not None:
            names = [alias.name for alias in node.names if alias.name != "*"]
            if (
                finding.code == "CSC005"
                and names
                and all(provided("truss_chains", name) for name in names)
            ):
                finding = replace(
                    finding, help=f"write `from truss_chains import {', '.join(names)}`"
                )
            self._report(finding, module_span)
            return
        for alias in node.names:
            if alias.name == "*":
                continue
            full = [*parts, alias.name]
            finding = check_path(full)
            if finding is not None:
                self._report(finding, self._alias_span(alias, alias.name))

    # -- names --------------------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain = _dotted(node)
        if chain is None:
            self.generic_visit(node)
            return
        root = chain[0]
        assert isinstance(root, ast.Name)
        if self._shadowed(root.id):
            return
        binding = self.module.lookup(root.id)
        if (
            binding is None
            or binding.kind is not BindingKind.IMPORT
            or binding.target.split(".")[0] != "truss_chains"
        ):
            return
        bound = binding.target.split(".")
        attrs = [link.attr for link in chain[1:] if isinstance(link, ast.Attribute)]
        parts = [*bound, *attrs]
        finding = check_path(parts)
        # A finding inside the imported path itself is reported at the import.
        if finding is not None and finding.length > len(bound):
            offending = chain[finding.length - len(bound)]
            written = ast.get_source_segment(self.parsed.source.text, offending)
            self._report(finding, self.parsed.ast_span(offending), written)

    # -- spans ----------------------------------------------------------------------------

    def _report(self, finding: Finding, span: Span, written: str | None = None) -> None:
        self.found.append(
            error(finding.code, finding.message(written), span, finding.help)
        )

    def _alias_span(self, alias: ast.alias, name: str) -> Span:
        """The imported name of an alias (`a.b` of `import a.b as c`)."""
        col = self.parsed.char_column(alias.lineno, alias.col_offset)
        return Span(
            self.parsed.source.display_path,
            alias.lineno,
            col,
            alias.lineno,
            col + len(name),
        )

    def _from_module_span(self, node: ast.ImportFrom) -> Span:
        """The module name of `from <module> import ...`, as written."""
        source = self.parsed.source
        statement = self.parsed.ast_span(node)
        text = source.line_text(statement.line)[statement.col - 1 :]
        match = re.match(r"from\s+([\w.\s]*?)\s+import\b", text)
        if match is None:  # the name is split across lines: point at the statement
            return Span(
                statement.path,
                statement.line,
                statement.col,
                statement.line,
                statement.col + 4,
            )
        col = statement.col + match.start(1)
        return Span(
            statement.path,
            statement.line,
            col,
            statement.line,
            col + len(match.group(1)),
        )


def _store_names(node: ast.AST) -> set[str]:
    return {
        child.id
        for child in ast.walk(node)
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store | ast.Del)
    }


def _bound_names(body: Sequence[ast.AST]) -> set[str]:
    """Names a function or class body binds (its locals), not looking into nested scopes."""
    names: set[str] = set()
    declared: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            continue  # a nested scope
        if isinstance(
            node,
            ast.Lambda | ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp,
        ):
            continue
        if isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif (
            isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar)
            and node.name
        ):
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return names - declared
