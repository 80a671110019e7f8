"""Where chainsc's runtime (`chainsc_runtime`) and templates are, and the facts the runtime's files state.

Shared by the front end (which names the runtime provides: `surface`) and the back end
(what a package vendors and requires: `emit.inputs`, `emit.plan`, `requirements_check`).
The runtime's files are read, never imported: importing it loads pydantic, aiohttp and
httpx. Its constants (`RUNTIME_VERSION`, `REQUIREMENTS`, `SERVER_REQUIREMENTS`,
`LAZY_ATTRIBUTES`) are plain literals for that reason.

`Runtime` holds the runtime's files and what they state, read once per process
(`load_runtime`): the planner takes it as an input and never reads the disk itself.
Which modules a package vendors is the import closure of what its code uses, computed
from the runtime's own relative imports (`Runtime.closure`), so it stays right when
the runtime's modules are split or renamed.
Imports: the standard library, diagnostics.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chainsc.diagnostics import InternalError

#: The runtime's package file; every module of it imports this first.
PACKAGE_INIT = "__init__.py"
#: This package's directory name, installed and in the repository, to the runtime's
#: directory beside it: a wheel installs `chainsc/` and `chainsc_runtime/` side by side,
#: an editable install maps them to the repository's `compiler/` and `runtime_lib/`.
_RUNTIME_BESIDE = {"chainsc": "chainsc_runtime", "compiler": "runtime_lib"}


@functools.cache
def runtime_dir() -> Path:
    """The directory of the runtime installed with this chainsc (found, not imported).

    Located from chainsc's own files, never by a `sys.path` lookup: a directory named
    `chainsc_runtime` or `runtime_lib` where chainsc runs is a user's, not ours.
    """
    here = Path(__file__).resolve().parent
    beside = _RUNTIME_BESIDE.get(here.name)
    directory = here.parent / beside if beside else None
    if directory is None or not (directory / PACKAGE_INIT).is_file():
        raise InternalError(f"the runtime is not installed beside chainsc ({here})")
    return directory


@functools.cache
def templates_dir() -> Path:
    """The directory of the templates installed with this chainsc (its package data).

    A wheel installs them as `chainsc/codegen_templates/`; an editable install maps
    `chainsc` to the repository's `compiler/`, beside `codegen_templates/`. Never a
    `sys.path` lookup: a `codegen_templates` package where chainsc runs is a user's.
    """
    here = Path(__file__).resolve().parent
    directory = {"chainsc": here, "compiler": here.parent}.get(here.name)
    if (
        directory is not None
        and (directory / "codegen_templates" / "chainlet").is_dir()
    ):
        return directory / "codegen_templates"
    raise InternalError(f"the templates are not installed with chainsc ({here})")


def runtime_constant(init_source: str, name: str) -> tuple[str, ...] | None:
    """A tuple-of-strings constant (`REQUIREMENTS`, ...) of a runtime `__init__.py`, read statically.

    Works on any copy of the runtime: the installed one, or a built package's vendored
    `chainsc_runtime/__init__.py` (`chainsc run --isolated`). None when `name` is not
    such a constant.
    """
    return _strings(_literals(init_source).get(name))


def _strings(value: object) -> tuple[str, ...] | None:
    if isinstance(value, tuple) and all(isinstance(item, str) for item in value):
        return value
    return None


def _literals(source: str) -> dict[str, object]:
    """Every name assigned a literal at the top level of `source` -> its value (the last one)."""
    found: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets, assigned = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, assigned = [node.target], node.value
        else:
            continue
        try:
            value = ast.literal_eval(assigned)
        except ValueError:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                found[target.id] = value
    return found


@functools.cache
def installed_constant(name: str) -> tuple[str, ...]:
    """A tuple-of-strings constant of the installed `chainsc_runtime/__init__.py` (only that file is read)."""
    value = runtime_constant(
        (runtime_dir() / PACKAGE_INIT).read_text(encoding="utf-8"), name
    )
    if value is None:
        raise InternalError(f"chainsc_runtime.{name} is not a tuple of strings")
    return value


@dataclass(frozen=True, slots=True)
class Runtime:
    """The runtime a build vendors: its `.py` files and the facts they state.

    Made from the files alone (`runtime_from_files`): nothing here reads the disk.
    """

    #: `RUNTIME_VERSION`: generated code states it and checks it at import.
    version: str
    #: Relative POSIX path (`transport.py`, `pkg/__init__.py`) -> bytes, sorted.
    files: Mapping[str, bytes]
    #: `REQUIREMENTS`: what every package's requirements hold for the runtime.
    requirements: tuple[str, ...]
    #: `SERVER_REQUIREMENTS`: what a package's `server.py` needs on top.
    server_requirements: tuple[str, ...]
    #: Module file -> the module files it imports (relative imports at any depth,
    #: `if TYPE_CHECKING:` blocks aside), each with its parent packages.
    imports: Mapping[str, frozenset[str]]
    #: `LAZY_ATTRIBUTES`: top-level name of the package -> the module (dotted, relative)
    #: its `__getattr__` imports on first use. Those modules are vendored only where used.
    lazy: Mapping[str, str]
    _closures: dict[frozenset[str], tuple[str, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def sha256(self) -> dict[str, str]:
        """Relative path -> sha256 of every file (the golden record of the runtime)."""
        return {
            path: hashlib.sha256(content).hexdigest()
            for path, content in self.files.items()
        }

    def module_file(self, dotted: str) -> str | None:
        """The file of a module given by its dotted name inside the package (`""`: the package)."""
        return _module_file(self.files, dotted.split(".") if dotted else [])

    def modules_for(self, reference: str) -> frozenset[str]:
        """The module files `chainsc_runtime.<reference>` loads (`serving`, `RPCOptions`, `streaming.x`).

        The longest prefix that is a module, with its parents; a top-level name in
        `lazy` loads its module too; `*` (a star import) loads every lazy one.
        """
        if reference == "*":
            found = {PACKAGE_INIT}
            for module in self.lazy.values():
                found |= self.modules_for(module)
            return frozenset(found)
        parts = reference.split(".") if reference else []
        for cut in range(len(parts), -1, -1):
            file = _module_file(self.files, parts[:cut])
            if file is None:
                continue
            found = set(_parents(file))
            found.add(file)
            if cut == 0 and parts and parts[0] in self.lazy:
                found |= self.modules_for(self.lazy[parts[0]])
            return frozenset(found)
        return frozenset({PACKAGE_INIT})

    def closure(self, references: Iterable[str]) -> tuple[str, ...]:
        """Every file a package needs whose code uses `references` (see `modules_for`), sorted."""
        start: set[str] = {PACKAGE_INIT}
        for reference in references:
            start |= self.modules_for(reference)
        key = frozenset(start)
        cached = self._closures.get(key)
        if cached is not None:
            return cached
        seen: set[str] = set()
        stack = sorted(start)
        while stack:
            file = stack.pop()
            if file in seen:
                continue
            seen.add(file)
            stack.extend(sorted(self.imports.get(file, frozenset()) - seen))
        result = tuple(sorted(seen))
        self._closures[key] = result
        return result


def runtime_from_files(files: Mapping[str, bytes]) -> Runtime:
    """The `Runtime` of a copy of the runtime, from its `.py` files (relative POSIX path -> bytes)."""
    init = files.get(PACKAGE_INIT)
    if init is None:
        raise InternalError("the runtime has no __init__.py")
    literals = _literals(init.decode("utf-8"))
    version = literals.get("RUNTIME_VERSION")
    if not isinstance(version, str):
        raise InternalError("chainsc_runtime.RUNTIME_VERSION is not a string literal")
    requirements = _strings(literals.get("REQUIREMENTS"))
    server_requirements = _strings(literals.get("SERVER_REQUIREMENTS"))
    if requirements is None or server_requirements is None:
        raise InternalError(
            "chainsc_runtime.REQUIREMENTS and SERVER_REQUIREMENTS must be tuples of strings"
        )
    lazy = literals.get("LAZY_ATTRIBUTES", {})
    if not isinstance(lazy, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in lazy.items()
    ):
        raise InternalError("chainsc_runtime.LAZY_ATTRIBUTES is not a dict of strings")
    for name, module in lazy.items():
        if _module_file(files, module.split(".")) is None:
            raise InternalError(
                f"chainsc_runtime.LAZY_ATTRIBUTES: `{name}` names `{module}`, which is no module of it"
            )
    ordered = dict(sorted(files.items()))
    imports = {path: frozenset(_relative_imports(ordered, path)) for path in ordered}
    return Runtime(
        version,
        ordered,
        requirements,
        server_requirements,
        imports,
        dict(sorted(lazy.items())),
    )


@functools.cache
def load_runtime() -> Runtime:
    """The installed runtime's `Runtime`: every `.py` file of `chainsc_runtime`, read once per process."""
    root = runtime_dir()
    files = {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts
    }
    return runtime_from_files(files)


@functools.cache
def load_templates() -> Mapping[str, str]:
    """Every template of chainsc's `codegen_templates` (`chainlet/server.py.jinja`, ...) by its name, read once."""
    root = templates_dir()
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*.jinja"))
    }


# -- the runtime's own imports -------------------------------------------------------


def _module_file(files: Mapping[str, bytes], parts: list[str]) -> str | None:
    stem = "/".join(parts)
    if not stem:
        return PACKAGE_INIT if PACKAGE_INIT in files else None
    for candidate in (f"{stem}.py", f"{stem}/{PACKAGE_INIT}"):
        if candidate in files:
            return candidate
    return None


def _parents(file: str) -> Iterator[str]:
    """The `__init__.py` of every package that holds `file` (Python imports them first)."""
    parts = file.split("/")[:-1]
    for cut in range(len(parts) + 1):
        yield "/".join([*parts[:cut], PACKAGE_INIT])


#: A relative import statement at the start of a line: `from .x import a, b` or `from . import (`
#: ... `)` over several lines.
_RELATIVE_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)from[ \t]+(?P<dots>\.+)(?P<module>[\w.]*)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\n]*)",
    re.MULTILINE,
)
#: `if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`): its block never runs.
_TYPE_CHECKING = re.compile(
    r"^(?P<indent>[ \t]*)if[ \t]+(?:typing\.)?TYPE_CHECKING[ \t]*:[ \t]*(?:#.*)?$",
    re.MULTILINE,
)


def _relative_imports(files: Mapping[str, bytes], path: str) -> Iterator[str]:
    """The module files `path`'s relative imports load, with their parents.

    Read line by line, not parsed: a build reads the runtime at every start, and `ast`
    takes ~40 ms over it (a test holds the two readings equal on the runtime). Imports
    in functions count (they run when called); those in an `if TYPE_CHECKING:` block
    do not. The runtime imports itself only relatively.
    """
    text = files[path].decode("utf-8")
    skipped = _type_checking_blocks(text)
    package = path.split("/")[:-1]
    for match in _RELATIVE_IMPORT.finditer(text):
        if any(low <= match.start() < high for low, high in skipped):
            continue
        level = len(match["dots"])
        if level - 1 > len(package):
            continue
        base = package[: len(package) - (level - 1)] + (
            match["module"].split(".") if match["module"] else []
        )
        file = _module_file(files, base)
        if file is None:
            continue
        yield file
        yield from _parents(file)
        names = re.sub(r"#[^\n]*", "", match["names"]).strip().strip("()")
        for item in names.split(","):
            words = item.split()
            submodule = (
                _module_file(files, [*base, words[0]])
                if words and words[0].isidentifier()
                else None
            )
            if submodule is not None:
                yield submodule


def _type_checking_blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the body of every `if TYPE_CHECKING:` block (an `else:` after it is not in it)."""
    blocks: list[tuple[int, int]] = []
    for match in _TYPE_CHECKING.finditer(text):
        indent = len(match["indent"].expandtabs())
        newline = text.find("\n", match.end())
        start = end = len(text) if newline < 0 else newline + 1
        while end < len(text):
            newline = text.find("\n", end)
            stop = len(text) if newline < 0 else newline + 1
            line = text[end:stop].expandtabs()
            if (
                line.strip()
                and not line.lstrip().startswith("#")
                and len(line) - len(line.lstrip()) <= indent
            ):
                break
            end = stop
        blocks.append((start, end))
    return blocks
