"""`[tool.chainsc]` in pyproject.toml: the chains of a repository and their options.

A repository lists its chains once, so `chainsc check`, `chainsc build` and the
pre-commit hooks need no flags:

    [[tool.chainsc.chain]]
    file = "chains/chain.py"
    output = "out/chain"
    entrypoint = "Hello"        # optional
    root = "chains"             # optional
    with = ["docker"]           # optional: deployment targets

Paths are relative to the pyproject.toml. This module only reads: it finds the
nearest pyproject.toml above a path (never above a git work tree's top) and turns
its table into `ChainConfig` values, or raises `ProjectError` with a message that
names the file, the table and the key. The CLI decides what flags override.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PYPROJECT = "pyproject.toml"

#: The deployment targets `with` may name (as `chainsc build --with`).
DEPLOY_TARGETS = ("docker", "kubernetes")

#: The keys of a `[[tool.chainsc.chain]]` table and the type each takes.
CHAIN_KEYS: Mapping[str, str] = {
    "entrypoint": "a string",
    "file": "a string (a path)",
    "output": "a string (a path)",
    "root": "a string (a path)",
    "with": f"a list of strings ({', '.join(DEPLOY_TARGETS)})",
}
REQUIRED_KEYS = ("file", "output")

#: The keys of `[tool.chainsc]` itself.
TOOL_KEYS = ("chain",)


class ProjectError(Exception):
    """A pyproject.toml that cannot be read, or whose `[tool.chainsc]` is wrong: a usage error."""


@dataclass(frozen=True)
class ChainConfig:
    """One `[[tool.chainsc.chain]]` table, its paths absolute (joined to the pyproject's directory)."""

    #: The pyproject.toml the table is in.
    pyproject: Path
    #: Its position among the `[[tool.chainsc.chain]]` tables, from 1.
    index: int
    file: Path
    output: Path
    entrypoint: str | None = None
    root: Path | None = None
    #: The deployment targets (`with`), sorted, without repeats; None when not set.
    deploy_targets: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Project:
    """The configured chains of one pyproject.toml (none when it has no `[tool.chainsc]`)."""

    pyproject: Path
    chains: tuple[ChainConfig, ...]

    def chain_for(self, file: Path) -> ChainConfig | None:
        """The table whose `file` is `file` (resolved paths compared), or None."""
        wanted = file.resolve()
        return next((c for c in self.chains if c.file.resolve() == wanted), None)


@dataclass(frozen=True)
class ChainJob:
    """One chain to check or build: the command line's flags over its table."""

    chain: Path
    out_dir: Path | None
    root: Path | None
    entrypoint: str | None
    deploy_targets: tuple[str, ...]


def job_for(
    table: ChainConfig | None,
    chain: Path | None = None,
    *,
    out_dir: Path | None = None,
    root: Path | None = None,
    entrypoint: str | None = None,
    deploy_targets: tuple[str, ...] = (),
) -> ChainJob:
    """The flags given (not None, not empty) over what `table` says; CHAIN, or the table's file.

    The CLI's `check`/`build` and the console script's fast path (`chainsc.fastcheck`)
    both take their options from here, so a stamp saved by one is found by the other.
    """
    if table is None:
        assert chain is not None, "a job needs a chain file or a table"
        return ChainJob(chain, out_dir, root, entrypoint, deploy_targets)
    return ChainJob(
        chain=chain if chain is not None else table.file,
        out_dir=out_dir or table.output,
        root=root or table.root,
        entrypoint=entrypoint or table.entrypoint,
        deploy_targets=deploy_targets or table.deploy_targets or (),
    )


def shown(path: Path) -> Path:
    """`path` relative to the working directory when it is below it (as a user would type it)."""
    absolute = path.absolute()
    cwd = Path.cwd()
    return absolute.relative_to(cwd) if absolute.is_relative_to(cwd) else absolute


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml in `start` (a directory) or above it.

    The search stops at the file system's root, and at the top of a git work tree
    (a directory holding `.git`): a repository's chains are never configured by a
    file outside it.
    """
    directory = start.resolve()
    while True:
        candidate = directory / PYPROJECT
        if candidate.is_file():
            return candidate
        if (directory / ".git").exists() or directory.parent == directory:
            return None
        directory = directory.parent


def load_project(pyproject: Path) -> Project:
    """Read the `[tool.chainsc]` table of `pyproject` (raises `ProjectError` when it is wrong)."""
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{pyproject}: cannot be read ({exc})") from None
    return parse_project(text, pyproject)


def parse_project(text: str, pyproject: Path) -> Project:
    """The chains `text` (the contents of `pyproject`) configures; paths joined to its directory."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{pyproject}: not valid TOML ({exc})") from None
    tool = document.get("tool", {})
    table = tool.get("chainsc") if isinstance(tool, dict) else None
    if table is None:
        return Project(pyproject, ())
    if not isinstance(table, dict):
        raise ProjectError(f"{pyproject}: `tool.chainsc` must be a table")
    unknown = sorted(set(table) - set(TOOL_KEYS))
    if unknown:
        raise ProjectError(
            f"{pyproject}: [tool.chainsc]: unknown key `{unknown[0]}` "
            f"(known keys: {', '.join(TOOL_KEYS)}; each chain is a [[tool.chainsc.chain]] table)"
        )
    chains = table.get("chain", [])
    if not isinstance(chains, list) or not all(isinstance(c, dict) for c in chains):
        raise ProjectError(
            f"{pyproject}: `tool.chainsc.chain` must be an array of tables "
            "(write each chain as [[tool.chainsc.chain]])"
        )
    base = pyproject.parent
    return Project(
        pyproject,
        tuple(
            _chain(entry, pyproject, base, index)
            for index, entry in enumerate(chains, start=1)
        ),
    )


def _chain(
    entry: Mapping[str, object], pyproject: Path, base: Path, index: int
) -> ChainConfig:
    """One table, checked key by key."""
    where = f"{pyproject}: [[tool.chainsc.chain]] table {index}"
    known = f"known keys: {', '.join(CHAIN_KEYS)}"
    for key in sorted(entry):
        if key not in CHAIN_KEYS:
            raise ProjectError(f"{where}: unknown key `{key}` ({known})")
    for key in REQUIRED_KEYS:
        if key not in entry:
            raise ProjectError(f"{where}: the key `{key}` is missing ({known})")
    for key, value in sorted(entry.items()):
        if not _well_typed(key, value):
            raise ProjectError(
                f"{where}: `{key}` must be {CHAIN_KEYS[key]}, not {_describe(value)}"
            )
    targets = entry.get("with")
    if isinstance(targets, list):
        for target in targets:
            if target not in DEPLOY_TARGETS:
                raise ProjectError(
                    f"{where}: `with` names `{target}`; the deployment targets are "
                    f"{', '.join(DEPLOY_TARGETS)}"
                )
    entrypoint = entry.get("entrypoint")
    root = entry.get("root")
    return ChainConfig(
        pyproject=pyproject,
        index=index,
        file=base / str(entry["file"]),
        output=base / str(entry["output"]),
        entrypoint=entrypoint if isinstance(entrypoint, str) else None,
        root=base / root if isinstance(root, str) else None,
        deploy_targets=(
            tuple(sorted({str(t) for t in targets}))
            if isinstance(targets, list)
            else None
        ),
    )


def _well_typed(key: str, value: object) -> bool:
    if key == "with":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, str) and bool(value)


def _describe(value: object) -> str:
    """A TOML value's kind, as a user wrote it."""
    if isinstance(value, str):
        return "an empty string"
    if isinstance(value, list):
        odd = next((v for v in value if not isinstance(v, str)), None)
        return "an array" if odd is None else f"an array holding {_describe(odd)}"
    kinds: Sequence[tuple[type, str]] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (list, "an array"),
        (dict, "a table"),
    )
    for kind, name in kinds:
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"
