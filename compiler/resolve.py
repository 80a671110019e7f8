"""Resolve stage: module symbol tables and what each local name refers to.

Stage: after parse, before extract. Loads the chain file and, lazily, the local
modules and packages it imports (under the chain root), parsing them the same
way; third-party imports stay names. Nothing is ever imported or executed.
Imports: libcst, parse, source, diagnostics.
"""

from __future__ import annotations

import ast
import bisect
import enum
import itertools
import keyword
import os
import posixpath
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from chainsc.confine import ChainRoot, PathProblem, ProblemKind
from chainsc.diagnostics import Diagnostic, error, warning
from chainsc.parse import ParsedModule, parse_source, read_source
from chainsc.source import SourceFile, Span

#: Imported module paths that mean the Chains authoring API, and their canonical prefix.
_API_MODULES: dict[str, str] = {
    "truss_chains": "chains",
    "truss_chains.definitions": "chains",
    "truss_chains.public_types": "chains",
    "truss_chains.public_api": "chains",
    "truss_chains.framework": "chains",
    "truss_chains.remote_chainlet.stub": "chains",
    "truss_chains.remote_chainlet.truss_chainlet": "chains.truss_chainlet",
    "chainsc_runtime.truss_chainlet": "chains.truss_chainlet",
    "runtime_lib.truss_chainlet": "chains.truss_chainlet",
    "truss_chains.utils": "chains",
    "truss_chains.streaming": "chains.streaming",
    "truss_chains.pydantic_numpy": "chains.pydantic_numpy",
    "chainsc_runtime": "chains",
    "chainsc_runtime.streaming": "chains.streaming",
    "chainsc_runtime.pydantic_numpy": "chains.pydantic_numpy",
    # The runtime's name before it was installed as `chainsc_runtime`.
    "runtime_lib": "chains",
    "runtime_lib.streaming": "chains.streaming",
    "runtime_lib.pydantic_numpy": "chains.pydantic_numpy",
    "truss.base.truss_config": "truss_config",
    "truss.truss_config": "truss_config",
    "truss_config": "truss_config",
    "truss.base.trt_llm_config": "trt_llm_config",
    "typing": "typing",
    "typing_extensions": "typing",
    "collections.abc": "typing",
    "pydantic": "pydantic",
    "enum": "enum",
}


#: Imported module roots that mean the chains API (the runtime by its old name too).
_API_ROOTS = frozenset({"truss_chains", "chainsc_runtime", "runtime_lib"})

#: The Truss config modules a package imports from the vendored runtime.
TRUSS_CONFIG_MODULES = (
    "truss.base.truss_config",
    "truss.truss_config",
    "truss.base.trt_llm_config",
)

#: Modules a package imports from the vendored runtime under another name: the module
#: as written -> the runtime's module (`truss.base.trt_llm_config` -> `trt_llm_config`).
RUNTIME_STANDINS: dict[str, str] = {
    "truss.base.truss_config": "truss_config",
    "truss.truss_config": "truss_config",
    "truss.base.trt_llm_config": "trt_llm_config",
    "truss_chains.remote_chainlet.truss_chainlet": "truss_chainlet",
}


def rewritten_to_runtime(dotted: str) -> bool:
    """Whether a package imports the module `dotted` from the vendored runtime, not as written.

    The chains API (`truss_chains...`, and `chainsc_runtime...` or the older `runtime_lib...`
    as chainsc spells it) and
    Truss's config helpers (`truss.base.truss_config`); `from truss.base import
    truss_config` imports the module `truss.base.truss_config`.
    """
    return dotted.partition(".")[0] in _API_ROOTS or dotted in TRUSS_CONFIG_MODULES


def canonical_api_path(dotted: str) -> str | None:
    """Map an imported dotted path to its canonical API path, or None if not API.

    `truss_chains.ChainletBase` and `chainsc_runtime.ChainletBase` both become
    `chains.ChainletBase`; `truss.base.truss_config.Accelerator` becomes
    `truss_config.Accelerator`.
    """
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        canonical = _API_MODULES.get(prefix)
        if canonical is not None:
            return ".".join([canonical, *parts[cut:]])
    # `from truss import truss_config` style: only config helpers matter.
    if (
        parts[0] == "truss"
        and len(parts) >= 2
        and (parts[1:3] == ["base", "truss_config"] or parts[1] == "truss_config")
    ):
        rest = parts[3:] if parts[1] == "base" else parts[2:]
        return ".".join(["truss_config", *rest])
    return None


class BindingKind(enum.Enum):
    """What a name binding at module or class level is."""

    CLASS = "class"
    FUNCTION = "function"
    ASSIGN = "assign"
    #: `import a.b as c` / `from a import b`: the binding names a dotted path.
    IMPORT = "import"


@dataclass(frozen=True, slots=True)
class Binding:
    """One binding of a name: where it is and what it binds."""

    name: str
    kind: BindingKind
    #: The ClassDef/FunctionDef, or the assigned value expression.
    node: cst.CSTNode
    #: Source-order number of the statement that binds it (nested ones included).
    order: int
    #: Index of the enclosing top-level statement: branches of one `if` share it.
    group: int = 0
    #: For IMPORT: the absolute dotted path imported (`pkg.mod.Name`).
    target: str = ""
    #: True inside an `except` handler: a fallback, used only if nothing else binds.
    is_fallback: bool = False
    #: The whole statement (for assignments: the Assign/AnnAssign).
    statement: cst.CSTNode | None = None


@dataclass(slots=True)
class Branch:
    """One branch of a module-level `if`: its test (None for `else`) and what it defines.

    Nested statements included (what a nested `if` or `try` binds belongs to every
    branch it is in).
    """

    test: cst.BaseExpression | None
    #: Its block of statements.
    body: cst.BaseSuite
    bindings: list[Binding] = field(default_factory=list)
    classes: list[tuple[int, cst.ClassDef]] = field(default_factory=list)


@dataclass(slots=True)
class Conditional:
    """A module-level `if`/`elif`/`else` whose branches define classes.

    Python runs one branch: when the tests are static, extraction keeps only what that
    one defines (`ModuleInfo.drop`), so a Chainlet defined in both is the taken one.
    """

    node: cst.If
    #: Source-order number of the `if` statement (names its tests read are bound before it).
    order: int
    branches: list[Branch]
    #: The branches of other `if`s it is nested in.
    within: tuple[Branch, ...] = ()


@dataclass(slots=True)
class ModuleInfo:
    """A parsed source module of the chain and its top-level symbol table."""

    #: Dotted name: as imported (the name Python gives it); the chain file's is its path under the root.
    name: str
    #: Display path relative to the root: where diagnostics point.
    path: str
    fs_path: Path
    is_package: bool
    parsed: ParsedModule
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    #: Top-level statements that define nothing (side effects), with their index.
    side_effects: list[tuple[int, cst.CSTNode]] = field(default_factory=list)
    #: All class definitions at module level (incl. inside if/try), in source order.
    classes: list[tuple[int, cst.ClassDef]] = field(default_factory=list)
    #: A PEP 420 namespace package: a directory without `__init__.py` (no source of its own).
    is_namespace: bool = False
    #: What `if __name__ == "__main__":` blocks bind: nothing the chain sees (never in
    #: `lookup`), but the slice carries such a block like any statement (`chainsc.carry`).
    script_bindings: list[Binding] = field(default_factory=list)
    #: Module-level `if` statements whose branches define classes, in source order.
    conditionals: list[Conditional] = field(default_factory=list)
    #: The branches the statement being collected is in (while collecting only).
    open_branches: list[Branch] = field(default_factory=list, repr=False)
    #: Where the branches that never run are (`drop`): nothing there runs in a package.
    dropped: list[Span] = field(default_factory=list)

    def drop(self, branch: Branch) -> None:
        """Forget what a branch that never runs defines: its bindings and classes."""
        self.dropped.append(self.span(branch.body))
        dropped = {id(binding) for binding in branch.bindings}
        for binding in branch.bindings:
            found = self.bindings.get(binding.name)
            if found is not None:
                found[:] = [b for b in found if id(b) not in dropped]
                if not found:
                    del self.bindings[binding.name]
        classes = {id(node) for _order, node in branch.classes}
        self.classes = [(o, c) for o, c in self.classes if id(c) not in classes]

    def never_runs(self, line: int) -> bool:
        """Whether `line` is in a branch of an `if` that never runs (`drop`)."""
        return any(span.line <= line <= span.end_line for span in self.dropped)

    @property
    def layout(self) -> str:
        """Where a package carries it under `packages/`: its name as a path, so it imports by that name."""
        stem = self.name.replace(".", "/")
        if self.is_namespace:
            return stem
        return f"{stem}/__init__.py" if self.is_package else f"{stem}.py"

    @property
    def base(self) -> Path:
        """The directory `layout` is relative to: the root, or the chain file's directory."""
        return self.fs_path.parents[self.layout.count("/")]

    def span(self, node: cst.CSTNode) -> Span:
        """The span of a node of this module."""
        return self.parsed.span(node)

    def code(self, node: cst.CSTNode) -> str:
        """The source text of a node of this module."""
        return self.parsed.code(node)

    def name_use(self, name: str) -> NameUse:
        """Where the module-level name `name` comes from, for generated code that spells it.

        One import step, as the module's own namespace has it: generated code imports
        it from where this module got it (`from m import x`), or from this module.
        """
        binding = self.lookup(name)
        if binding is None:
            return NameUse(NameKind.FREE)
        if binding.kind is BindingKind.IMPORT and "." in binding.target:
            module, _, imported = binding.target.rpartition(".")
            return NameUse(NameKind.IMPORTED, module, imported)
        if binding.kind is BindingKind.IMPORT:
            return NameUse(NameKind.MODULE, binding.target)
        return NameUse(NameKind.LOCAL, self.name, name)

    def lookup(self, name: str, before: int | None = None) -> Binding | None:
        """The binding of `name` in effect at statement `before` (None: the last).

        Bindings in `except` handlers are fallbacks (guarded imports), chosen
        only when nothing else binds the name.
        """
        candidates = self.bindings.get(name)
        if not candidates:
            return None
        primary = [b for b in candidates if not b.is_fallback] or candidates
        if before is not None:
            earlier = [b for b in primary if b.order < before]
            if earlier:
                primary = earlier
        chosen = primary[-1]
        # Branches of one `if`/`try` (same statement) are alternatives: a class,
        # function or import there wins over a placeholder assignment.
        siblings = [b for b in primary if b.group == chosen.group]
        if len(siblings) > 1:
            return next(
                (b for b in siblings if b.kind is not BindingKind.ASSIGN), chosen
            )
        return chosen


class NameKind(enum.Enum):
    """What a module-level name of a module is, for code that spells it elsewhere."""

    #: `from m import x`, `import a.b as x`: the name `x` of module `m` (`a`, `b`).
    IMPORTED = "imported"
    #: `import m`, `import m as x`: the module `m` itself.
    MODULE = "module"
    #: Defined in the module itself: code elsewhere imports it from there.
    LOCAL = "local"
    #: Bound nowhere in the module: a builtin, or nothing.
    FREE = "free"


@dataclass(frozen=True, slots=True)
class NameUse:
    """Where a name used in a module comes from (`ModuleInfo.name_use`)."""

    kind: NameKind
    #: The module it comes from (IMPORTED, MODULE; for LOCAL the module itself).
    module: str = ""
    #: Its name there (IMPORTED, LOCAL).
    name: str = ""


# ---------------------------------------------------------------- resolution targets


@dataclass(frozen=True, slots=True)
class ApiRef:
    """A name of the chains API, typing, pydantic, enum or truss_config (canonical)."""

    path: str


@dataclass(frozen=True, slots=True)
class ClassRef:
    """A user class: its module and (possibly nested) class definition."""

    module: ModuleInfo
    qualname: str
    node: cst.ClassDef
    order: int

    @property
    def id(self) -> str:
        """`module.Qual.Name`: unique within the chain."""
        return f"{self.module.name}.{self.qualname}"


@dataclass(frozen=True, slots=True)
class ValueRef:
    """A module- or class-level assignment."""

    module: ModuleInfo
    binding: Binding


@dataclass(frozen=True, slots=True)
class FunctionRef:
    """A user function."""

    module: ModuleInfo
    node: cst.FunctionDef


@dataclass(frozen=True, slots=True)
class ModuleRef:
    """A local module of the chain."""

    module: ModuleInfo


@dataclass(frozen=True, slots=True)
class ExternalRef:
    """Something from a third-party module (never inspected)."""

    path: str


@dataclass(frozen=True, slots=True)
class Undefined:
    """A name that nothing binds."""

    name: str


Target = (
    ApiRef | ClassRef | ValueRef | FunctionRef | ModuleRef | ExternalRef | Undefined
)


def string_value(node: cst.SimpleString | cst.ConcatenatedString) -> str | bytes | None:
    """The value of a string literal.

    libcst's `evaluated_value` runs `ast.literal_eval` (a `compile` per call);
    plain strings without escapes or prefixes are common enough to read directly.
    """
    if (
        isinstance(node, cst.SimpleString)
        and not node.prefix
        and "\\" not in node.value
    ):
        quote = node.quote
        return node.value[len(quote) : -len(quote)]
    return node.evaluated_value


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted_name(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


# ---------------------------------------------------------------- the program


@dataclass(slots=True)
class Program:
    """Every module of a chain, loaded on demand from the chain root."""

    root: Path
    #: Directory of the chain file: the first place imports are looked up (sys.path[0]).
    chain_dir: Path
    modules: dict[str, ModuleInfo] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: Every file read, by display path, including files that failed to parse.
    sources: dict[str, SourceFile] = field(default_factory=dict)
    #: PEP 420 namespace packages under the root (directories without `__init__.py`), by
    #: name. Apart from `modules`: they have no source, and no stage writes anything for them.
    namespaces: dict[str, ModuleInfo] = field(default_factory=dict)
    #: Modules known to be absent locally (cache of failed lookups).
    _missing: set[str] = field(default_factory=set)
    #: Each file read, parsed (None: unreadable or a syntax error, reported once).
    _parsed: dict[Path, ParsedModule | None] = field(default_factory=dict)
    #: The root every file is read through (`chainsc.confine`): nothing outside it is read.
    fs: ChainRoot = field(init=False)
    #: Module name -> why the file an import of it would load may not be read (a link
    #: out of the root, a link loop): such a module is never loaded, and every import
    #: of it is an error (`link_problem_errors`), not a third-party module.
    link_problems: dict[str, PathProblem] = field(default_factory=dict)
    #: Cache of `locate_module`.
    _located: dict[str, Path | None] = field(default_factory=dict)
    #: Module names `link_problem` has looked up.
    _link_checked: set[str] = field(default_factory=set)
    #: Bindings being resolved (`binding_target`): one met again is a cycle.
    _resolving: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.fs = ChainRoot(self.root)

    # -- loading --------------------------------------------------------------

    def load_file(self, fs_path: Path, name: str | None = None) -> ModuleInfo | None:
        """Load a file under the root as the module `name`; None if it cannot be parsed.

        `name` defaults to the file's path under the root (the chain file's name). A file
        imported under two names (`import helpers` through the chain's directory and
        `from . import helpers` in its package) is two modules, as in Python: each its own
        `ModuleInfo` (and its own place in a package), one parse shared.
        """
        rel = fs_path.relative_to(self.root)
        is_package = fs_path.name == "__init__.py"
        if name is None:
            name = self._file_module_name(fs_path, rel, is_package)
        if name in self.modules:
            return self.modules[name]
        display = rel.as_posix()
        parsed = self._parse(fs_path, display)
        if parsed is None:
            return None
        info = ModuleInfo(name, display, fs_path, is_package, parsed)
        _collect_bindings(info, self)
        self.modules[name] = info
        return info

    def _file_module_name(self, fs_path: Path, rel: Path, is_package: bool) -> str:
        """The module name of a file loaded by path (the chain file): its path under the root.

        Truss imports the chain file by its path, so its own name need not be a module
        name (`my-chain.py`, `2chain.py`, `class.py`, `a b.py`); no other module can
        import it under such a name either. A file name that is not one gets a valid
        module name made from it (`my_chain`), which the generated code imports it by,
        unless a file or directory next to it already has that name (then CSC010 asks
        for a rename). Directories keep their names: other modules import through them.
        """
        directories = list(rel.parent.parts)
        if is_package:
            return ".".join(directories) if directories else fs_path.parent.name
        stem = rel.with_suffix("").name
        if not is_module_name(stem):
            generated = suggested_module_name(stem)
            if not any(
                os.path.lexists(fs_path.parent / entry)
                for entry in (f"{generated}.py", generated)
            ):
                stem = generated
        return ".".join([*directories, stem])

    def _parse(self, fs_path: Path, display: str) -> ParsedModule | None:
        """Read and parse a file once, whatever the names it is loaded under.

        Only through the chain root: the file is looked up again (`ChainRoot.lookup`)
        and read at its resolved path, so it is never a link out of the root.
        """
        if fs_path in self._parsed:
            return self._parsed[fs_path]
        parsed: ParsedModule | None = None
        source = self._read(fs_path, display)
        if isinstance(source, Diagnostic):
            self.diagnostics.append(source)
        else:
            self.sources[display] = source
            result = parse_source(source)
            if isinstance(result, Diagnostic):
                self.diagnostics.append(result)
            else:
                parsed = result
        self._parsed[fs_path] = parsed
        return parsed

    def _read(self, fs_path: Path, display: str) -> SourceFile | Diagnostic:
        relative = self.fs.relative(fs_path)
        found = (
            self.fs.lookup(relative)
            if relative is not None
            else PathProblem(ProblemKind.PARENT, display)
        )
        if isinstance(found, PathProblem):
            return error(
                found.code,
                found.about(display),
                Span.whole_file(display),
                help=found.help,
            )
        if found is None or not found.is_file:
            reason = "it is not a file" if found is not None else "it does not exist"
            return error(
                "CSC001", f"cannot read `{display}`: {reason}", Span.whole_file(display)
            )
        source = read_source(str(found.real), display)
        if not isinstance(source, Diagnostic):
            # As decoded (a BOM dropped): `chainsc.fastcheck` decodes the same way.
            self.fs.note_read(found.real, source.text.encode("utf-8"), text=True)
        return source

    def find_module(self, name: str) -> ModuleInfo | None:
        """Find and load a local module by dotted name, or None if it is not local.

        The module is named as imported, wherever its file was found (next to the
        chain file first, as `sys.path[0]`, then under the root): that is the name
        Python gives it, so the name its package lays it out under.
        """
        if name in self.modules:
            return self.modules[name]
        if name in self.namespaces:
            return self.namespaces[name]
        if name in self._missing:
            return None
        fs_path = self.locate_module(name)
        if fs_path is None:
            namespace = self._namespace(name)
            if namespace is None:
                self._missing.add(name)
            return namespace
        return self.load_file(fs_path, name)

    def locate_module(self, name: str) -> Path | None:
        """The file of a local module (`.py` or package `__init__.py`), without loading it.

        Looked up through the chain root: a candidate that is a link out of the root or
        a link loop stops the search (Python would try it first) and is recorded in
        `link_problems`; the module is then not local, and its imports are errors.
        """
        if name in self._located:
            return self._located[name]
        located: Path | None = None
        parts = name.split(".")
        for candidate in self._candidates(parts, (".py", "/__init__.py")):
            found = self.fs.lookup(candidate)
            if isinstance(found, PathProblem):
                self.link_problems.setdefault(name, found)
                break
            if found is not None and found.is_file:
                located = self.root.joinpath(*candidate.split("/"))
                break
        self._located[name] = located
        return located

    def _candidates(
        self, parts: Sequence[str], suffixes: Sequence[str]
    ) -> Iterator[str]:
        """The root-relative path of each place a module of these parts may be, in lookup order."""
        if not all(parts):
            return
        for base in _unique_paths([self.chain_dir, self.root]):
            base_relative = self.fs.relative(base)
            if base_relative is None:
                continue
            stem = posixpath.join(base_relative, *parts)
            for suffix in suffixes:
                candidate = posixpath.normpath(stem + suffix)
                if not candidate.startswith(("../", "/")) and candidate != "..":
                    yield candidate

    def _namespace(self, name: str) -> ModuleInfo | None:
        """A directory without `__init__.py` under the root, as Python would import it (PEP 420).

        Python makes one a namespace package only when no regular module or package of
        that name is found anywhere on `sys.path`, and other directories may add to it:
        so names it does not have locally are third-party (`ExternalRef`), not undefined.
        """
        parts = name.split(".")
        if not all(is_module_name(part) for part in parts):
            return None
        for candidate in self._candidates(parts, ("",)):
            found = self.fs.lookup(candidate)
            if isinstance(found, PathProblem):
                self.link_problems.setdefault(name, found)
                return None
            directory = self.root.joinpath(*candidate.split("/"))
            if found is not None and found.is_dir and candidate != ".":
                display = candidate
                parsed = parse_source(SourceFile(display, ""))
                assert isinstance(parsed, ParsedModule)
                info = ModuleInfo(
                    name, display, directory, True, parsed, is_namespace=True
                )
                self.namespaces[name] = info
                return info
        return None

    def link_problem(self, name: str) -> PathProblem | None:
        """Why the module `name` may not be read, if its file or directory is a link out of the root or a loop."""
        if name not in self.link_problems and name not in self._link_checked:
            self._link_checked.add(name)
            if self.locate_module(name) is None and name not in self.link_problems:
                for candidate in self._candidates(name.split("."), ("",)):
                    found = self.fs.lookup(candidate)
                    if isinstance(found, PathProblem):
                        self.link_problems[name] = found
                    if found is not None:
                        break
        return self.link_problems.get(name)

    def first_missing_module(self, dotted: str) -> str:
        """The shortest prefix of a third-party path that is no local module: `torch`, `pkg.absent`."""
        parts = dotted.split(".")
        for cut in range(1, len(parts) + 1):
            prefix = ".".join(parts[:cut])
            if self.find_module(prefix) is None:
                return prefix
        return dotted

    # -- resolution -----------------------------------------------------------

    def resolve_path(self, dotted: str) -> Target:
        """Resolve an absolute dotted path (`pkg.mod.Name`) as an import would."""
        api = canonical_api_path(dotted)
        if api is not None:
            return ApiRef(api)
        parts = dotted.split(".")
        # Longest prefix that is a local module, then attributes inside it.
        for cut in range(len(parts), 0, -1):
            module = self.find_module(".".join(parts[:cut]))
            if module is None:
                continue
            target: Target = ModuleRef(module)
            for attr in parts[cut:]:
                target = self.attribute(target, attr)
            return target
        return ExternalRef(dotted)

    def resolve_name(
        self, module: ModuleInfo, name: str, before: int | None = None
    ) -> Target:
        """What `name` means at module level of `module` (before statement `before`)."""
        binding = module.lookup(name, before)
        if binding is None:
            if name in _BUILTIN_NAMES:
                return ApiRef(f"builtins.{name}")
            return Undefined(name)
        return self.binding_target(module, binding)

    def binding_target(self, module: ModuleInfo, binding: Binding) -> Target:
        """The target a binding denotes.

        Chains of aliases (`B = A`, `C = m.B`) and re-exports (`from m import X`
        where `m` imports `X` from elsewhere) are followed in a loop, not by
        recursion: they are as long as the input makes them. A cycle
        (`from b import X` in `a`, `from a import X` in `b`) binds nothing, as
        Python's import fails: Undefined.
        """
        first_assign: tuple[ModuleInfo, Binding] | None = None
        visited: list[int] = []
        try:
            while True:
                if id(binding) in self._resolving:
                    result: Target = Undefined(binding.name)
                    break
                self._resolving.add(id(binding))
                visited.append(id(binding))
                step = self._binding_step(module, binding)
                if isinstance(step, tuple):
                    if binding.kind is BindingKind.ASSIGN and first_assign is None:
                        first_assign = (module, binding)
                    module, binding = step
                    continue
                if (
                    binding.kind is BindingKind.ASSIGN
                    and first_assign is None
                    and _alias_of(binding) is not None
                ):
                    first_assign = (module, binding)
                result = step
                break
        finally:
            self._resolving.difference_update(visited)
        if first_assign is not None and not isinstance(
            result, ClassRef | ApiRef | ModuleRef
        ):
            # `Alias = SomeClass` re-binds a class or an API name; anything else is a value.
            return ValueRef(*first_assign)
        return result

    def alias_origin(
        self, module: ModuleInfo, binding: Binding
    ) -> tuple[ModuleInfo, Binding]:
        """Where an alias or import chain (`B = A`, `from m import A`) ends.

        That is the binding that assigns a value, defines, or cannot be followed
        further. In a loop: chains are as long as the input makes them.
        """
        seen: set[int] = set()
        while id(binding) not in seen and not (
            binding.kind is BindingKind.ASSIGN and _alias_of(binding) is None
        ):
            seen.add(id(binding))
            if binding.kind in (BindingKind.CLASS, BindingKind.FUNCTION):
                break
            step = self._binding_step(module, binding)
            if not isinstance(step, tuple):
                break
            module, binding = step
        return module, binding

    def _binding_step(
        self, module: ModuleInfo, binding: Binding
    ) -> Target | tuple[ModuleInfo, Binding]:
        """What a binding denotes, or the next binding of its alias or import chain."""
        if binding.kind is BindingKind.CLASS:
            assert isinstance(binding.node, cst.ClassDef)
            return ClassRef(module, binding.name, binding.node, binding.order)
        if binding.kind is BindingKind.FUNCTION:
            assert isinstance(binding.node, cst.FunctionDef)
            return FunctionRef(module, binding.node)
        if binding.kind is BindingKind.ASSIGN:
            aliased = _alias_of(binding)
            if aliased is None:
                return ValueRef(module, binding)
            if isinstance(aliased, cst.Name):
                following = module.lookup(aliased.value, binding.order)
                if following is None:
                    return (
                        ApiRef(f"builtins.{aliased.value}")
                        if aliased.value in _BUILTIN_NAMES
                        else Undefined(aliased.value)
                    )
                return module, following
            assert isinstance(aliased, cst.Attribute)
            owner = self.resolve_expr(module, aliased.value, binding.order)
            return self._member_step(owner, aliased.attr.value)
        # An import: the longest prefix that is a local module, then one name in it.
        api = canonical_api_path(binding.target)
        if api is not None:
            return ApiRef(api)
        path, _, last = binding.target.rpartition(".")
        if (
            path
            and canonical_api_path(path) is None
            and self.find_module(binding.target) is None
        ):
            owner = self.resolve_path(path)
            return self._member_step(owner, last)
        return self.resolve_path(binding.target)

    def _member_step(
        self, owner: Target, attr: str
    ) -> Target | tuple[ModuleInfo, Binding]:
        """`owner.attr`, or the binding of `attr` in `owner` when it is a module."""
        if isinstance(owner, ModuleRef):
            binding = owner.module.lookup(attr)
            if binding is not None:
                return owner.module, binding
        return self.attribute(owner, attr)

    def resolve_expr(
        self, module: ModuleInfo, node: cst.BaseExpression, before: int | None = None
    ) -> Target:
        """Resolve a Name/Attribute chain; other expressions are external."""
        if isinstance(node, cst.Name):
            return self.resolve_name(module, node.value, before)
        if isinstance(node, cst.Attribute):
            return self.attribute(
                self.resolve_expr(module, node.value, before), node.attr.value
            )
        return ExternalRef(type(node).__name__)

    def resolve_dotted(
        self, module: ModuleInfo, dotted: str, before: int | None = None
    ) -> Target:
        """Resolve `a.b.c` written in `module` (a name, then attributes), as `resolve_expr` would."""
        first, *attributes = dotted.split(".")
        target = self.resolve_name(module, first, before)
        for attr in attributes:
            target = self.attribute(target, attr)
        return target

    def attribute(self, target: Target, attr: str) -> Target:
        """Resolve `target.attr`."""
        if isinstance(target, ApiRef):
            return ApiRef(f"{target.path}.{attr}")
        if isinstance(target, ModuleRef):
            binding = target.module.lookup(attr)
            if binding is not None:
                return self.binding_target(target.module, binding)
            sub = (
                self.find_module(f"{target.module.name}.{attr}")
                if target.module.is_package
                else None
            )
            if sub is not None:
                return ModuleRef(sub)
            if target.module.is_namespace:
                return ExternalRef(
                    f"{target.module.name}.{attr}"
                )  # another portion may have it
            return Undefined(f"{target.module.name}.{attr}")
        if isinstance(target, ClassRef):
            for statement in target.node.body.body:
                if isinstance(statement, cst.ClassDef) and statement.name.value == attr:
                    return ClassRef(
                        target.module,
                        f"{target.qualname}.{attr}",
                        statement,
                        target.order,
                    )
            return ExternalRef(f"{target.id}.{attr}")
        if isinstance(target, ExternalRef):
            return ExternalRef(f"{target.path}.{attr}")
        if isinstance(target, Undefined):
            return target
        return ExternalRef(attr)

    def chainlet_bases(self, cls: ClassRef) -> Iterator[Target]:
        """Resolve the base classes of a class statement."""
        for arg in cls.node.bases:
            yield self.resolve_expr(cls.module, arg.value, cls.order)


_BUILTIN_NAMES = frozenset(
    {
        "str",
        "int",
        "float",
        "bool",
        "bytes",
        "list",
        "dict",
        "tuple",
        "set",
        "frozenset",
        "object",
        "type",
        "None",
        "True",
        "False",
        "len",
        "range",
        "print",
        "open",
        "isinstance",
        "Exception",
        "ValueError",
        "KeyError",
        "TypeError",
        "RuntimeError",
        "staticmethod",
        "classmethod",
        "property",
    }
)


def is_module_name(part: str) -> bool:
    """Whether `part` can be one name of a dotted module path (`import part`).

    An identifier that is no keyword, spelled as Python reads it: the parser
    normalises identifiers to NFKC, so `import ﬁle` looks for `file`, never `ﬁle.py`.
    """
    return (
        part.isidentifier()
        and not keyword.iskeyword(part)
        and unicodedata.normalize("NFKC", part) == part
    )


def suggested_module_name(text: str) -> str:
    """A valid module name made from a file name that is not one (`my-chain` -> `my_chain`)."""
    name = re.sub(r"\W", "_", unicodedata.normalize("NFKC", text))
    if not name.isidentifier() or unicodedata.normalize("NFKC", name) != name:
        name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not name or name[0].isdigit():
        name = f"_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


def _alias_of(binding: Binding) -> cst.BaseExpression | None:
    node = binding.node
    if isinstance(node, cst.Name | cst.Attribute):
        return node
    return None


def _unique_paths(paths: Sequence[Path]) -> list[Path]:
    seen: list[Path] = []
    for path in paths:
        if path not in seen:
            seen.append(path)
    return seen


# ---------------------------------------------------------------- binding collection


def _module_package(info: ModuleInfo) -> str:
    """The package a relative import in this module is relative to."""
    if info.is_package:
        return info.name
    return info.name.rpartition(".")[0]


def _relative_base(info: ModuleInfo, dots: int) -> str:
    package = _module_package(info)
    parts = package.split(".") if package else []
    if dots > 1:
        parts = parts[: len(parts) - (dots - 1)]
    return ".".join(parts)


def _is_main_guard(node: cst.If) -> bool:
    test = node.test
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    left = dotted_name(test.left)
    right = test.comparisons[0].comparator
    return (
        left == "__name__"
        and isinstance(right, cst.SimpleString)
        and string_value(right) == "__main__"
    )


def _is_docstring(statement: cst.SimpleStatementLine) -> bool:
    return all(
        isinstance(small, cst.Expr)
        and isinstance(small.value, cst.SimpleString | cst.ConcatenatedString)
        for small in statement.body
    )


def _collect_bindings(info: ModuleInfo, program: Program) -> None:
    counter = itertools.count()
    for group, statement in enumerate(info.parsed.module.body):
        _collect_statement(info, program, statement, counter, group, is_fallback=False)


def _collect_statement(  # noqa: PLR0915 - one branch per statement kind reads best flat
    info: ModuleInfo,
    program: Program,
    statement: cst.CSTNode,
    counter: Iterator[int],
    group: int,
    *,
    is_fallback: bool,
    is_nested: bool = False,
) -> bool:
    """Record the bindings of one statement; return whether it defined anything.

    Every statement, nested ones in `if`/`try` blocks included, gets the next
    number of `counter`: the order used for "defined before use".
    """
    order = next(counter)

    def bind(
        name: str,
        kind: BindingKind,
        node: cst.CSTNode,
        target: str = "",
        stmt: cst.CSTNode | None = None,
    ) -> None:
        binding = Binding(name, kind, node, order, group, target, is_fallback, stmt)
        info.bindings.setdefault(name, []).append(binding)
        for branch in info.open_branches:
            branch.bindings.append(binding)

    if isinstance(statement, cst.ClassDef):
        bind(statement.name.value, BindingKind.CLASS, statement)
        info.classes.append((order, statement))
        for open_branch in info.open_branches:
            open_branch.classes.append((order, statement))
        return True
    if isinstance(statement, cst.FunctionDef):
        bind(statement.name.value, BindingKind.FUNCTION, statement)
        return True
    if isinstance(statement, cst.If):
        if _is_main_guard(statement):
            # `if __name__ == "__main__":` never runs on import: not part of the chain. What it
            # binds is recorded apart, for the slice only (`carry`), which keeps the block when a
            # kept statement reads one of those names.
            script = ModuleInfo(
                info.name, info.path, info.fs_path, info.is_package, info.parsed
            )
            block: cst.CSTNode | None = statement
            while isinstance(block, cst.If | cst.Else):
                for inner in block.body.body:
                    _collect_statement(
                        script,
                        program,
                        inner,
                        itertools.count(),
                        group,
                        is_fallback=False,
                        is_nested=True,
                    )
                block = block.orelse if isinstance(block, cst.If) else None
            for found in script.bindings.values():
                info.script_bindings.extend(found)
            return True
        defined = False
        conditional = Conditional(statement, order, [], tuple(info.open_branches))
        branch: cst.CSTNode | None = statement
        while isinstance(branch, cst.If | cst.Else):
            current = Branch(
                branch.test if isinstance(branch, cst.If) else None, branch.body
            )
            conditional.branches.append(current)
            info.open_branches.append(current)
            for inner in branch.body.body:
                defined |= _collect_statement(
                    info,
                    program,
                    inner,
                    counter,
                    group,
                    is_fallback=is_fallback,
                    is_nested=True,
                )
            info.open_branches.pop()
            branch = branch.orelse if isinstance(branch, cst.If) else None
        if any(found.classes for found in conditional.branches):
            info.conditionals.append(conditional)
        if not defined and not is_nested:
            info.side_effects.append((order, statement))
        return defined
    if isinstance(statement, cst.Try | cst.TryStar):
        defined = False
        for inner in statement.body.body:
            defined |= _collect_statement(
                info,
                program,
                inner,
                counter,
                group,
                is_fallback=is_fallback,
                is_nested=True,
            )
        for handler in statement.handlers:
            for inner in handler.body.body:
                defined |= _collect_statement(
                    info,
                    program,
                    inner,
                    counter,
                    group,
                    is_fallback=True,
                    is_nested=True,
                )
        for extra in (statement.orelse, statement.finalbody):
            if extra is not None:
                for inner in extra.body.body:
                    defined |= _collect_statement(
                        info,
                        program,
                        inner,
                        counter,
                        group,
                        is_fallback=is_fallback,
                        is_nested=True,
                    )
        if not defined and not is_nested:
            info.side_effects.append((order, statement))
        return defined
    if isinstance(statement, cst.SimpleStatementLine):
        if _is_docstring(statement):
            return True
        defined = False
        side_effect = False
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    full = dotted_name(alias.name) or ""
                    if alias.asname is not None and isinstance(
                        alias.asname.name, cst.Name
                    ):
                        bind(
                            alias.asname.name.value,
                            BindingKind.IMPORT,
                            small,
                            full,
                            statement,
                        )
                    else:
                        # `import a.b` binds `a`.
                        bind(
                            full.split(".")[0],
                            BindingKind.IMPORT,
                            small,
                            full.split(".")[0],
                            statement,
                        )
                defined = True
            elif isinstance(small, cst.ImportFrom):
                _bind_import_from(info, small, bind, statement)
                defined = True
            elif isinstance(small, cst.Assign):
                for assign_target in small.targets:
                    for name in _target_names(assign_target.target):
                        bind(name, BindingKind.ASSIGN, small.value, stmt=small)
                defined = True
            elif isinstance(small, cst.AnnAssign):
                if small.value is not None:
                    for name in _target_names(small.target):
                        bind(name, BindingKind.ASSIGN, small.value, stmt=small)
                defined = True
            elif isinstance(small, cst.AugAssign):
                # `X += [...]` rebinds X to something we do not track: shadow it.
                for name in _target_names(small.target):
                    bind(name, BindingKind.ASSIGN, small, stmt=small)
                defined = True
            elif isinstance(small, cst.Pass):
                defined = True
            else:
                side_effect = True
        if side_effect and not is_fallback and not is_nested:
            info.side_effects.append((order, statement))
        return defined
    # for / while / with / match: side effects (reported for the top-level statement).
    # Names they assign are bound, but to the statement: their values are not static.
    for name in names_assigned_in(statement):
        bind(name, BindingKind.ASSIGN, statement, stmt=statement)
    if not is_nested:
        info.side_effects.append((order, statement))
    return False


class _AssignedNames(cst.CSTVisitor):
    """Names a compound statement assigns in its own scope (loop targets included)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def _add(self, node: cst.BaseExpression) -> None:
        self.names.extend(
            name for name in _target_names(node) if name not in self.names
        )

    def visit_For(self, node: cst.For) -> None:
        self._add(node.target)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._add(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._add(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._add(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        if isinstance(node.name, cst.Name | cst.Tuple | cst.List):
            self._add(node.name)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def names_assigned_in(statement: cst.CSTNode) -> list[str]:
    """Names a `for`/`while`/`with`/`match` statement assigns (not in nested scopes)."""
    visitor = _AssignedNames()
    statement.visit(visitor)
    return visitor.names


def _bind_import_from(
    info: ModuleInfo, node: cst.ImportFrom, bind: object, statement: cst.CSTNode
) -> None:
    assert callable(bind)
    dots = len(node.relative)
    module = dotted_name(node.module) if node.module is not None else ""
    if dots:
        base = _relative_base(info, dots)
        module = ".".join(part for part in (base, module) if part)
    if isinstance(node.names, cst.ImportStar):
        return
    for alias in node.names:
        name = dotted_name(alias.name) or ""
        local = name
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            local = alias.asname.name.value
        full = f"{module}.{name}" if module else name
        bind(local, BindingKind.IMPORT, node, full, statement)


def _target_names(node: cst.BaseExpression) -> list[str]:
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, cst.Tuple | cst.List):
        names: list[str] = []
        for element in node.elements:
            names.extend(_target_names(element.value))
        return names
    return []


def load_program(chain_path: Path, root: Path) -> tuple[Program, ModuleInfo | None]:
    """Load the chain file as the first module of a program rooted at `root`.

    The chain file must be under the root (`CSC011` otherwise, before anything is read).
    """
    program = Program(root=root, chain_dir=chain_path.parent)
    if program.fs.relative(chain_path) is None:
        program.diagnostics.append(
            error(
                "CSC011",
                f"the chain file `{chain_path.name}` is not inside the chain root `{root.name or root}`",
                Span.whole_file(chain_path.name),
                help="pass `--root` with a directory that contains the chain file",
            )
        )
        return program, None
    module = program.load_file(chain_path)
    if module is not None:
        load_imported_modules(program, module)
    return program, module


def load_imported_modules(program: Program, start: ModuleInfo) -> None:
    """Parse every local module the chain imports at module level, transitively.

    Their syntax errors are the chain's errors, and the back end carries them.
    Third-party imports are only looked up on disk, never opened.
    """
    queue = [start]
    seen = {start.name}
    while queue:
        module = queue.pop(0)
        imports = [
            b
            for bindings in module.bindings.values()
            for b in bindings
            if b.kind is BindingKind.IMPORT
        ]
        # `import a.b.c` binds `a`, but loads `a.b.c` too.
        dotted = {
            dotted_name(alias.name) or ""
            for b in imports
            if isinstance(b.node, cst.Import)
            for alias in b.node.names
        }
        targets = sorted({b.target for b in imports} | dotted - {""})
        for target in targets:
            program.resolve_path(target)
        for name, loaded in list(program.modules.items()):
            if name not in seen:
                seen.add(name)
                queue.append(loaded)


#: Where an import may be: a cheap pre-check before walking a module's statements.
_IMPORT_WORD = re.compile(r"\bimport\b")


def link_problem_errors(program: Program, module: ModuleInfo) -> Iterator[Diagnostic]:
    """CSC011/CSC012 for each import of a module whose file is a link out of the root or a loop.

    Every import statement counts, in functions and `try` blocks too: the file is never
    read, and a package would lack a module the code imports. Each module named is
    asked for (`a`, `a.b` for `import a.b`; `m` and `m.name` for `from m import name`),
    as Python would look them up, without loading anything.
    """
    text = module.parsed.source.text
    lines = sorted(
        {
            module.parsed.source.position(match.start())[0]
            for match in _IMPORT_WORD.finditer(text)
        }
    )
    if not lines:
        return
    for node in _import_statements(module.parsed.tree, lines):
        for name, at in _imported_names(module, node):
            problem = program.link_problem(name)
            if problem is not None:
                yield error(
                    problem.code,
                    f"local module `{name}` cannot be read: {problem.describe()}",
                    _ast_span(module, at),
                    help=problem.help,
                )
                break


def _import_statements(
    tree: ast.Module, lines: Sequence[int]
) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements at any depth, visiting only statements that hold one of `lines`."""
    stack: list[ast.AST] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
            continue
        start: int = getattr(node, "lineno", 0)
        end: int = getattr(node, "end_lineno", None) or start
        first = bisect.bisect_left(lines, start)
        if first == len(lines) or lines[first] > end:
            continue
        stack.extend(
            reversed(
                [
                    child
                    for child in ast.iter_child_nodes(node)
                    if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case)
                ]
            )
        )


def _imported_names(
    module: ModuleInfo, node: ast.Import | ast.ImportFrom
) -> Iterator[tuple[str, ast.stmt | ast.alias]]:
    """(module name, where it is written) of each module an import may load, outermost first."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            parts = alias.name.split(".")
            for cut in range(1, len(parts) + 1):
                yield ".".join(parts[:cut]), alias
        return
    base = _relative_base(module, node.level) if node.level else ""
    written = ".".join(part for part in (base, node.module or "") if part)
    if node.level == 0 and written and canonical_api_path(written) is not None:
        return
    parts = written.split(".") if written else []
    for cut in range(1, len(parts) + 1):
        yield ".".join(parts[:cut]), node
    for alias in node.names:
        if alias.name != "*":
            yield ".".join(part for part in (written, alias.name) if part), alias


def _ast_span(module: ModuleInfo, node: ast.stmt | ast.alias) -> Span:
    end_line = node.end_lineno or node.lineno
    end_col = (
        node.end_col_offset if node.end_col_offset is not None else node.col_offset
    )
    parsed = module.parsed
    return Span(
        module.path,
        node.lineno,
        parsed.char_column(node.lineno, node.col_offset),
        end_line,
        parsed.char_column(end_line, end_col),
    )


def side_effect_warnings(module: ModuleInfo) -> Iterator[Diagnostic]:
    """CSC003 for each top-level statement that defines nothing."""
    for _order, statement in module.side_effects:
        yield warning(
            "CSC003",
            f"top-level statement `{_shorten(_statement_head(module, statement))}` is not a definition and will not be part of any package",
            module.span(statement),
            help='move it into a function, `__init__` or an `if __name__ == "__main__":` block',
        )


def missing_module_errors(
    program: Program, module: ModuleInfo
) -> Iterator[tuple[str, Diagnostic]]:
    """CSC004 for each import of a local module that is not there, with the module's name.

    An import is local when it is relative or its first name is a local module
    or package. Imports inside `try` (guarded) and inside functions are left out, and
    so are modules that are there but may not be read (`link_problem_errors` says why).
    """
    for statement in _unguarded_statements(module.parsed.module.body):
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    name = dotted_name(alias.name) or ""
                    if (
                        _is_local_path(program, name)
                        and program.locate_module(name) is None
                        and program.link_problem(name) is None
                    ):
                        yield name, _missing_module(module, alias.name, name)
            elif isinstance(small, cst.ImportFrom) and not isinstance(
                small.names, cst.ImportStar
            ):
                for name, diagnostic in _missing_from_import(program, module, small):
                    if program.link_problem(name) is None:
                        yield name, diagnostic


def _unguarded_statements(
    body: Sequence[cst.CSTNode],
) -> Iterator[cst.SimpleStatementLine]:
    """Simple statements at module level, also inside `if` blocks but not `try` blocks."""
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield statement
        elif isinstance(statement, cst.If) and not _is_main_guard(statement):
            branch: cst.CSTNode | None = statement
            while isinstance(branch, cst.If | cst.Else):
                yield from _unguarded_statements(branch.body.body)
                branch = branch.orelse if isinstance(branch, cst.If) else None


def _missing_from_import(
    program: Program, module: ModuleInfo, node: cst.ImportFrom
) -> Iterator[tuple[str, Diagnostic]]:
    assert not isinstance(node.names, cst.ImportStar)
    dots = len(node.relative)
    written = dotted_name(node.module) if node.module is not None else ""
    base = _relative_base(module, dots) if dots else ""
    name = ".".join(part for part in (base, written) if part)
    if not dots and not _is_local_path(program, name):
        return
    if node.module is not None:
        if program.locate_module(name) is None:
            start = module.span(node.relative[0] if dots else node.module)
            end = module.span(node.module)
            yield (
                name,
                _missing_module(
                    module,
                    None,
                    name,
                    Span(start.path, start.line, start.col, end.end_line, end.end_col),
                ),
            )
        return
    # `from . import x`: each x is a submodule or a name the package defines.
    package = program.find_module(base) if base else None
    for alias in node.names:
        imported = dotted_name(alias.name) or ""
        full = ".".join(part for part in (base, imported) if part)
        if program.locate_module(full) is None and (
            package is None or package.lookup(imported) is None
        ):
            yield full, _missing_module(module, alias.name, full)


def _is_local_path(program: Program, dotted: str) -> bool:
    """Whether the first name of a dotted module path is a local module or package."""
    first = dotted.partition(".")[0]
    return (
        bool(first)
        and canonical_api_path(dotted) is None
        and program.locate_module(first) is not None
    )


def _missing_module(
    module: ModuleInfo, node: cst.CSTNode | None, name: str, span: Span | None = None
) -> Diagnostic:
    path = name.replace(".", "/")
    return error(
        "CSC004",
        f"local module `{name}` not found: there is no `{path}.py` or `{path}/__init__.py` under the chain root",
        span
        if span is not None
        else module.span(node)
        if node is not None
        else Span.whole_file(module.path),
    )


def _statement_head(module: ModuleInfo, statement: cst.CSTNode) -> str:
    """The first line of a statement as written, without its trailing comment."""
    span = module.span(statement)
    text = module.parsed.source.line_text(span.line)
    stop = span.end_col - 1 if span.end_line == span.line else len(text)
    body = getattr(statement, "body", None)
    trailing = (
        body.header
        if isinstance(body, cst.IndentedBlock)
        else body.trailing_whitespace
        if isinstance(body, cst.SimpleStatementSuite)
        else None
    )
    if trailing is not None and trailing.comment is not None:
        comment = module.span(trailing.comment)
        if comment.line == span.line:
            stop = min(stop, comment.col - 1)
    return text[span.col - 1 : stop].rstrip()


def _shorten(text: str, limit: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
