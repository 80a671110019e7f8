"""Load stage: everything the planner needs from disk, read before planning.

Stage: after validate, only for chains without errors; before `emit.plan`, which reads
nothing itself (`plan(chain, inputs)`). What a build reads:

- the user's modules: the front end read and parsed them (`Program.modules`);
- what the front end's resolver still had to look up for the in-place clients (the
  signatures they take from other modules, `emit.clients.in_place_signature`), and what
  the requirements check adds to each package (CSC461), which looks at the disk too;
- the files the chain names: requirements files (and a `uv.lock`'s `pyproject.toml`),
  every `data_dir`, the data files string literals of the code name next to their module
  (all literals are looked up, as listings; the bytes only of those some package keeps),
  and which package directories have an `__init__.py`;
- chainsc's own files: the runtime (`runtime_files.load_runtime`) and the templates.

Every user file is read through the chain root (`chainsc.confine.ChainRoot`), with its
guarantees: nothing outside the root is read, and a path the front end should have
refused is an `InternalError` here, never a read.
Imports: ir, confine, data_files, diagnostics, graph, requirements_check, resolve,
runtime_files, emit.clients, requirements.
"""

from __future__ import annotations

import errno
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chainsc import ir
from chainsc.confine import ChainRoot, PathProblem
from chainsc.data_files import (
    is_carried,
    kept_literals,
    literal_files,
    literal_target,
    path_literals,
)
from chainsc.diagnostics import InternalError
from chainsc.emit.clients import InPlaceSignature, in_place_signature
from chainsc.graph import reachable
from chainsc.kinds import truss_file_filter
from chainsc.requirements import PYPROJECT_TOML, UV_LOCK
from chainsc.requirements_check import RequirementsCheck
from chainsc.resolve import ModuleInfo, Program
from chainsc.runtime_files import Runtime, load_runtime, load_templates

#: What a string literal in a module names: (module base, module directory under it, literal).
LiteralKey = tuple[Path, str, str]


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """Everything `emit.plan.plan` reads besides the IR; made by `load_inputs`, never changed.

    The front end's objects in it (`modules`) are only read.
    """

    #: The user's modules by dotted name, parsed and bound by the front end.
    modules: Mapping[str, ModuleInfo]
    #: Chainlet id -> its in-place client's signature, resolved where its class stands.
    clients: Mapping[str, InPlaceSignature]
    #: Deployed Chainlet id -> Truss's requirement lines its package adds (CSC461), sorted.
    additions: Mapping[str, tuple[str, ...]]
    #: Root-relative path -> bytes of each requirements file the deployed Chainlets name
    #: (with a `uv.lock`'s `pyproject.toml`); None where there is no readable file.
    files: Mapping[str, bytes | None]
    #: Every deployed `data_dir` (root-relative) -> (path under it, resolved path) of its files, sorted.
    data_dirs: Mapping[str, tuple[tuple[str, Path], ...]]
    #: Every deployed TrussChainlet's `truss_dir` (root-relative) -> (path under it,
    #: resolved path) of the files Truss copies (`kinds.is_carried_truss_file`), sorted.
    truss_dirs: Mapping[str, tuple[tuple[str, Path], ...]]
    #: What each string literal of a module names next to it, where it names something:
    #: (path relative to the base, resolved path) of each file, or why it may not be read.
    #: A literal not here names nothing.
    data_paths: Mapping[LiteralKey, tuple[tuple[str, Path], ...] | PathProblem]
    #: Resolved path -> bytes of every data file a package may carry (`data_dirs`, and
    #: the `data_paths` of literals some package keeps).
    contents: Mapping[Path, bytes]
    #: (module base, `pkg/__init__.py` under it) of each package directory of a module
    #: that has an `__init__.py` (one without is a namespace package, and stays one).
    init_files: frozenset[tuple[Path, str]]
    #: The runtime every package vendors (the modules its code uses).
    runtime: Runtime
    #: Template name (`chainlet/server.py.jinja`) -> its source.
    templates: Mapping[str, str]
    #: Every user file the build read: resolved path -> (how, sha256) (`ChainRoot.reads`).
    reads: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def read_text(self, relative: str) -> str:
        """A loaded file's text, as `ChainRoot.read_text` gives it (`FileNotFoundError` if there is none)."""
        if relative not in self.files:
            raise InternalError(f"`{relative}` was not loaded before planning")
        content = self.files[relative]
        if content is None:
            raise FileNotFoundError(
                errno.ENOENT, "no such file inside the chain root", relative
            )
        return content.decode("utf-8-sig")

    def content(self, real: Path) -> bytes:
        """The bytes of a data file, loaded before planning."""
        found = self.contents.get(real)
        if found is None:
            raise InternalError(
                f"the data file `{real.name}` was not loaded before planning"
            )
        return found


def load_inputs(chain: ir.Chain, program: Program) -> PlanInputs:
    """Read everything the planner of `chain` needs (see the module docstring)."""
    # The modules as the front end left them: resolving the clients below may load more,
    # which no package carries.
    modules = dict(program.modules)
    root = program.fs
    clients = {
        chainlet.id: in_place_signature(chainlet, program)
        for chainlet in chain.chainlets
    }
    edges = {c.id: [d.target for d in c.dependencies] for c in chain.chainlets}
    deployed = [
        c for c in chain.chainlets if c.id in reachable(edges, chain.entrypoint)
    ]
    check = RequirementsCheck(chain, program)
    additions = {
        chainlet.id: check.additions(chainlet) if chainlet.has_code else ()
        for chainlet in deployed
    }
    files: dict[str, bytes | None] = {}
    for chainlet in deployed:
        for relative in _requirement_paths(chainlet.remote_config.docker_image):
            if relative not in files:
                files[relative] = _read_optional(root, relative)
    contents: dict[Path, bytes] = {}
    data_dirs: dict[str, tuple[tuple[str, Path], ...]] = {}
    for chainlet in deployed:
        data_dir = chainlet.remote_config.docker_image.data_dir
        if data_dir is None or data_dir in data_dirs:
            continue
        # Walked through the chain root: links inside it are followed; the front end
        # refused a `data_dir` with a link out of it or a loop (a bug if seen here).
        walked = root.walk(data_dir, include=_not_pycache)
        if isinstance(walked, PathProblem):
            raise InternalError(f"`data_dir` was not checked: {walked.describe()}")
        prefix = "" if data_dir == "." else f"{data_dir}/"
        data_dirs[data_dir] = tuple(
            (path.removeprefix(prefix), real) for path, real in walked
        )
        for _, real in walked:
            _read_into(contents, root, real)
    truss_dirs: dict[str, tuple[tuple[str, Path], ...]] = {}
    for chainlet in deployed:
        truss_dir = chainlet.truss_dir
        if truss_dir is None or truss_dir in truss_dirs:
            continue
        # The front end walked it already (`kinds.truss_dir_path`): a problem is a bug here.
        walked = root.walk(truss_dir, include=truss_file_filter(truss_dir))
        if isinstance(walked, PathProblem):
            raise InternalError(f"`truss_dir` was not checked: {walked.describe()}")
        prefix = "" if truss_dir == "." else f"{truss_dir}/"
        truss_dirs[truss_dir] = tuple(
            (path.removeprefix(prefix), real) for path, real in walked
        )
        for _, real in walked:
            _read_into(contents, root, real)
    data_paths = _data_paths(root, modules)
    if any(not isinstance(found, PathProblem) for found in data_paths.values()):
        _read_kept_data(chain, program, modules, data_paths, contents)
    return PlanInputs(
        modules=modules,
        clients=clients,
        additions=additions,
        files=files,
        data_dirs=data_dirs,
        truss_dirs=truss_dirs,
        data_paths=data_paths,
        contents=contents,
        init_files=_init_files(root, modules),
        runtime=load_runtime(),
        templates=load_templates(),
        reads=dict(root.reads),
    )


def _requirement_paths(image: ir.DockerImage) -> list[str]:
    path = image.requirements_file
    if path is None:
        return []
    if posixpath.basename(path) == UV_LOCK:
        return [path, posixpath.join(posixpath.dirname(path), PYPROJECT_TOML)]
    return [path]


def _read_optional(root: ChainRoot, relative: str) -> bytes | None:
    """A file under the root, or None where there is no regular file (an optional `pyproject.toml`)."""
    try:
        return root.read_bytes(relative)
    except OSError:
        return None


def _read_into(contents: dict[Path, bytes], root: ChainRoot, real: Path) -> None:
    if real not in contents:
        contents[real] = root.read_resolved(real)


def _not_pycache(path: str) -> bool:
    return "__pycache__" not in path.split("/")


def _data_paths(
    root: ChainRoot, modules: Mapping[str, ModuleInfo]
) -> dict[LiteralKey, tuple[tuple[str, Path], ...] | PathProblem]:
    """What every path literal of every module names next to it, where it names something.

    Only literals whose first step is an entry of the module's base directory can
    name anything: the others are not looked up (a large chain next to nothing but
    itself costs one directory listing).
    """
    entries: dict[Path, frozenset[str]] = {}
    found: dict[LiteralKey, tuple[tuple[str, Path], ...] | PathProblem] = {}
    for module in modules.values():
        if module.is_namespace:
            continue
        base = module.base
        if base not in entries:
            entries[base] = _carried_entries(root, base)
        if not entries[base]:
            continue
        directory = posixpath.dirname(module.layout)
        for literal, _ in path_literals(module.parsed.tree):
            key = (base, directory, literal)
            if key in found:
                continue
            relative = literal_target(directory, literal)
            if relative is None or relative.partition("/")[0] not in entries[base]:
                continue
            listed = literal_files(root, base, directory, literal)
            if listed:
                found[key] = listed
    return found


def _carried_entries(root: ChainRoot, base: Path) -> frozenset[str]:
    """Names directly in `base` a data file's path can start with (not hidden, not code)."""
    base_relative = root.relative(base)
    if base_relative is None:
        return frozenset()
    prefix = "" if base_relative == "." else f"{base_relative}/"
    try:
        with os.scandir(base) as scan:
            names = [entry.name for entry in scan]
    except OSError:
        return frozenset()
    return frozenset(name for name in names if is_carried(f"{prefix}{name}"))


def _read_kept_data(
    chain: ir.Chain,
    program: Program,
    modules: Mapping[str, ModuleInfo],
    data_paths: Mapping[LiteralKey, tuple[tuple[str, Path], ...] | PathProblem],
    contents: dict[Path, bytes],
) -> None:
    """Read the files of the literals some deployed package keeps (the slices decide, as the planner's)."""
    kept = kept_literals(chain, program)
    for module in modules.values():
        literals = kept.get(module.layout)
        if not literals:
            continue
        directory = posixpath.dirname(module.layout)
        for literal in literals:
            listed = data_paths.get((module.base, directory, literal))
            if listed is None or isinstance(listed, PathProblem):
                continue
            for _, real in listed:
                _read_into(contents, program.fs, real)


def _init_files(
    root: ChainRoot, modules: Mapping[str, ModuleInfo]
) -> frozenset[tuple[Path, str]]:
    """(base, `pkg/__init__.py`) of every package directory above a module that has one (a regular file).

    Looked up through the root; one that leads out of it counts as absent.
    """
    found: set[tuple[Path, str]] = set()
    asked: set[tuple[Path, str]] = set()
    for module in modules.values():
        base = module.base
        base_relative = root.relative(base)
        if base_relative is None:
            continue
        parts = module.layout.split("/")[:-1]
        for cut in range(1, len(parts) + 1):
            init = "/".join([*parts[:cut], "__init__.py"])
            if (base, init) in asked:
                continue
            asked.add((base, init))
            answer = root.lookup(
                posixpath.normpath(posixpath.join(base_relative, init))
            )
            if (
                answer is not None
                and not isinstance(answer, PathProblem)
                and answer.is_file
            ):
                found.add((base, init))
    return frozenset(found)
