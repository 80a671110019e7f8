"""Data files named in code: what a string literal names next to its module, and the check of it.

Stage: after validate, for chains without errors (`api` runs the check, so `check`
and `build` report the same), and from the build's load stage (`emit.inputs`), which reads the
files the planner carries.
Imports: ast, confine, diagnostics, resolve, carry (what each package carries) and the slice
request of `requirements_check` (as the planner makes it); no libcst, no jinja.

Real chain files read prompts, vocabularies and configs relative to `__file__`
(`Path(__file__).parent / "prompts"`); a package carries the files and
directories that string constants in its kept code name next to the module
(`emit.plan`), never code (`.py`), hidden files or `__pycache__`. Such a name may
pass through a symbolic link: it is carried only when the link resolves inside
the chain root (`chainsc.confine`). A kept literal that names a link out of the
root or a link loop (itself, or anywhere in a directory it names) is an error
(CSC011, CSC012) at the literal, so the user learns why the file is not carried;
literals that only look like paths (`"../x"` out of the module's tree, absolute
ones, URLs) name nothing and are no error.
"""

from __future__ import annotations

import ast
import os
import posixpath
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from chainsc import carry as carrying
from chainsc import ir
from chainsc.confine import ChainRoot, PathProblem, ProblemKind, is_portable
from chainsc.diagnostics import Diagnostic, error
from chainsc.graph import reachable
from chainsc.requirements_check import signature_uses, slice_request
from chainsc.resolve import ModuleInfo, Program
from chainsc.source import Span

#: Suffixes of code, never carried as data.
_CODE_SUFFIXES = frozenset({".py", ".pyc"})


def is_carried(root_relative: str) -> bool:
    """Whether a path under the root may be carried as data: not hidden, not `__pycache__`, not code."""
    parts = root_relative.split("/")
    if any(
        part.startswith(".") or part == "__pycache__" for part in parts if part != "."
    ):
        return False
    return posixpath.splitext(parts[-1])[1] not in _CODE_SUFFIXES


def literal_files(
    root: ChainRoot, base: Path, directory: str, literal: str
) -> tuple[tuple[str, Path], ...] | PathProblem:
    """The files `literal`, written in a module at `base / directory`, names: (path relative to `base`, resolved path).

    A file, or every file under a directory, read through the chain root; nothing
    when the literal names nothing there or climbs out of `base`. A link out of the
    root or a loop on the way or inside is the problem returned.
    """
    relative = literal_target(directory, literal)
    if relative is None:
        return ()
    base_relative = root.relative(base)
    if base_relative is None:
        return ()
    prefix = "" if base_relative == "." else f"{base_relative}/"
    target = posixpath.normpath(f"{prefix}{relative}")
    if not is_carried(target):
        return ()
    if (
        not all(is_portable(part) for part in relative.split("/"))
        and root.lookup(target) is not None
    ):
        return PathProblem(ProblemKind.UNPORTABLE, target)
    walked = root.walk(target, include=is_carried)
    if isinstance(walked, PathProblem):
        return walked
    return tuple((path.removeprefix(prefix), real) for path, real in walked)


def literal_target(directory: str, literal: str) -> str | None:
    """The path `literal`, written in a module in `directory` (relative to its base), may name there.

    None when it names nothing whatever the disk holds: `.` or `..` (a whole
    directory is never named by accident like this), text no file name can hold, or a
    path that climbs out of the base. Pure: the disk is asked nothing.
    """
    if posixpath.normpath(literal) in (".", "..") or not _encodable(literal):
        return None
    relative = posixpath.normpath(posixpath.join(directory, literal))
    if relative.startswith(("..", "/")):
        return None
    return relative


def _encodable(text: str) -> bool:
    if "\0" in text:
        return False
    try:
        os.fsencode(text)
    except UnicodeError:
        return False
    return True


def path_literals(tree: ast.Module) -> Iterator[tuple[str, ast.Constant]]:
    """String constants that could name a file (as `emit.slice` collects them), anywhere in the module.

    A walk of its own, not `ast.walk`: about 2.5 times faster on a large module, and
    this runs at every `check` of a chain whose directory has subdirectories.
    """
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if type(node) is ast.Constant:
            value = node.value
            if type(value) is str and carrying.is_path_literal(value):
                yield value, node
            continue
        for name in node._fields:
            child = getattr(node, name, None)
            if type(child) is list:
                stack.extend(item for item in child if isinstance(item, ast.AST))
            elif isinstance(child, ast.AST):
                stack.append(child)


#: How many entries a directory next to the chain may have for `_suspect_entries` to
#: walk it whole; a larger one is suspect (its literals are looked up one by one).
_CLEAN_WALK_BUDGET = 2000


def _suspect_entries(root: ChainRoot, base: Path) -> frozenset[str]:
    """Names directly in `base` through which a literal could name a problem: the only first steps to one.

    A link, a name no package can hold, or a directory that a small walk does not
    find clean. A regular file with a portable name is never a problem.
    """
    base_relative = root.relative(base)
    if base_relative is None:
        return frozenset()
    prefix = "" if base_relative == "." else f"{base_relative}/"
    found: set[str] = set()
    try:
        entries = list(os.scandir(base))
    except OSError:
        return frozenset()
    for entry in entries:
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError:
            continue
        if (
            stat.S_ISLNK(mode)
            or not is_portable(entry.name)
            or (
                stat.S_ISDIR(mode)
                and is_carried(entry.name)
                and not root.is_clean(
                    f"{prefix}{entry.name}", is_carried, _CLEAN_WALK_BUDGET
                )
            )
        ):
            found.add(entry.name)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class _Flagged:
    """A literal of a module that names a path the build may not read."""

    module: ModuleInfo
    literal: str
    node: ast.Constant
    problem: PathProblem


def data_file_diagnostics(chain: ir.Chain, program: Program) -> list[Diagnostic]:
    """CSC011/CSC012 for each literal some deployed package keeps that names a link out of the root or a loop.

    Cheap when nothing can be wrong: a module is only scanned when the directory
    its paths start from holds a link, a name no package can hold, or a directory
    that is not (as far as a small walk tells) free of both; only literals that
    start at such an entry are looked up. The slices (which literals each package
    keeps) are computed only when a literal names a problem.
    """
    root = program.fs
    entries: dict[Path, frozenset[str]] = {}
    answers: dict[
        tuple[Path, str, str], tuple[tuple[str, Path], ...] | PathProblem
    ] = {}
    flagged: list[_Flagged] = []
    for module in program.modules.values():
        if module.is_namespace:
            continue
        base = module.base
        if base not in entries:
            entries[base] = _suspect_entries(root, base)
        firsts = entries[base]
        if not firsts:
            continue
        directory = posixpath.dirname(module.layout)
        for literal, node in path_literals(module.parsed.tree):
            relative = posixpath.normpath(posixpath.join(directory, literal))
            if relative.partition("/")[0] not in firsts:
                continue
            key = (base, directory, literal)
            if key not in answers:
                answers[key] = literal_files(root, base, directory, literal)
            answer = answers[key]
            if isinstance(answer, PathProblem):
                flagged.append(_Flagged(module, literal, node, answer))
    if not flagged:
        return []
    kept = kept_literals(chain, program)
    diagnostics: list[Diagnostic] = []
    first: dict[tuple[str, str], _Flagged] = {}
    for item in flagged:
        if item.literal not in kept.get(item.module.layout, ()):
            continue
        at = (item.module.name, item.literal)
        earlier = first.get(at)
        if earlier is None or (item.node.lineno, item.node.col_offset) < (
            earlier.node.lineno,
            earlier.node.col_offset,
        ):
            first[at] = item
    for item in first.values():
        problem = item.problem
        diagnostics.append(
            error(
                problem.code,
                f"the data file `{item.literal}` cannot be carried into the package: {problem.describe()}",
                _span(item.module, item.node),
                help=problem.help,
            )
        )
    return diagnostics


def kept_literals(chain: ir.Chain, program: Program) -> Mapping[str, frozenset[str]]:
    """Module layout -> the path literals some deployed package keeps (the planner's slices)."""
    analysis = carrying.analyse_modules(
        {
            name: carrying.ModuleSource.of(m, m.layout)
            for name, m in program.modules.items()
        }
    )
    clients = signature_uses(chain, program)
    edges = {c.id: [d.target for d in c.dependencies] for c in chain.chainlets}
    deployed = reachable(edges, chain.entrypoint)
    kept: dict[str, set[str]] = {}
    for chainlet in chain.chainlets:
        if chainlet.id not in deployed or not chainlet.has_code:
            continue
        request = slice_request(chain, program, chainlet, clients)
        for name, literals in carrying.carry(analysis, request).path_literals.items():
            kept.setdefault(program.modules[name].layout, set()).update(literals)
    return {path: frozenset(literals) for path, literals in kept.items()}


def _span(module: ModuleInfo, node: ast.Constant) -> Span:
    return module.parsed.ast_span(node)
