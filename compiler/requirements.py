"""A package's Python requirements: the generated `requirements.txt`, or the user's `uv.lock`.

Stage: shared by the planner (once per Chainlet), the requirements check (what a
package declares and installs) and `chainsc run` (what a built package needs); pure:
files are read only through the `read_file` callback it is given, nothing is written.
Imports: the standard library, `packaging`, `chainsc.ir`, `chainsc.requirement_syntax` and
`chainsc.distributions` (no libcst, no jinja).

`requirements.txt` is assembled as:

1. the generated header line;
2. pip option lines (`--extra-index-url`, `-r`, `-e`, ...) from every source, verbatim,
   in source order: options apply to the whole file, so they lead (a relative path
   in `-r`, `-c` or `-e` then resolves next to the package's file, not the user's:
   Truss Chains has the same limit);
3. the runtime's requirements (`chainsc_runtime.REQUIREMENTS`);
4. the lines of the user's `requirements_file` (comments and blank lines dropped);
5. `DockerImage.pip_requirements`;
6. what Truss provides on Baseten without a declaration and the package's code
   imports (`fastapi`, `numpy`, ...; see `chainsc.distributions`), with Truss's
   own version range, so the package runs the same under `server.py` and in a
   container as under Truss (the requirements check warns about each, CSC461).

Requirements are de-duplicated by PEP 503 name, extras and specifier, so
`Pydantic >= 2.6` and `pydantic>=2.6` are one requirement. Order is first-seen
source order, never sorted: appending a requirement in the chain appends one line
here, the reader can map every line back to where it was written, and the user's
grouping survives. (Truss Chains writes a sorted set instead.)

When the user constrains the version of a package the runtime also needs (a
specifier or a direct reference that differs from the runtime's), the user's line
wins and the runtime's is dropped, with a comment saying so: that mirrors Truss
Chains, where a user `truss` requirement replaces the automatic pin, and gives the
user a way out of a runtime pin. A bare name (`httpx`, `httpx[http2]`) constrains
nothing and replaces nothing: both lines stay, else pip could keep whatever older
version the base image has. Two *user* lines for one package with different
specifiers are both kept: pip applies them together (`numpy>=1.26` with `numpy<2`
is a range, not a conflict) and reports a real conflict itself, naming both lines.

A `pyproject.toml` requirements file is read, not copied: its
`[project].dependencies` take the place of the file's lines above. Truss would
install it with `uv pip install -r pyproject.toml`, which takes no other
requirements; Truss Chains edits its build copy to add `truss`. A generated
`requirements.txt` holds the runtime's requirements too, and plain pip installs
it (`server.py`, containers).

A `uv.lock` requirements file is copied with its sibling `pyproject.toml` as they
are, and `config.yaml` names the lock, when the lock is complete: it locks every
runtime requirement at a version the runtime accepts, and every distribution
added under 6, and no `pip_requirements` are given (Truss rejects them next to
a lock). Otherwise the package gets a `requirements.txt` made as for a
`pyproject.toml` (the lock's pins are lost): Truss Chains re-locks with `uv lock`,
which needs the network, and chainsc never edits a lock. The requirements check
says so (CSC462), with the `uv add` command that makes the lock complete.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from chainsc import ir
from chainsc.diagnostics import InternalError
from chainsc.requirement_syntax import entry_problem

#: The generated requirements file, as `config.yaml` names it.
REQUIREMENTS_TXT = "requirements.txt"
PYPROJECT_TOML = "pyproject.toml"
UV_LOCK = "uv.lock"

#: pip's own comment rule: `#` at the start of a line or after whitespace
#: (so a URL fragment such as `#egg=name` is not a comment).
_COMMENT = re.compile(r"(^|\s+)#.*$")
#: A PEP 508 distribution name, then optional extras, then the rest of the line.
_NAMED = re.compile(
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?P<extras>\[[^\]]*\])?\s*(?P<rest>.*)$",
    re.DOTALL,
)
#: What may follow a name in a named requirement: a version specifier, a marker,
#: a direct reference, a legacy parenthesised specifier or a per-requirement option.
_REST = re.compile(r"^(?:$|[<>=!~;@(]|--)")
_NAME_SEPARATORS = re.compile(r"[-_.]+")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Requirements:
    """A package's requirements file: generated text, or the user's complete `uv.lock` copied."""

    #: The file's name in the package (`config.yaml`'s `requirements_file`).
    filename: str
    #: The content of `requirements.txt`; None when the user's lock is copied instead.
    text: str | None
    #: User files to copy to the package root under their own base names, as paths
    #: relative to the chain root (a `uv.lock` and its sibling `pyproject.toml`).
    copy_files: tuple[str, ...] = ()
    #: For a `uv.lock` requirements file that is not complete: the requirement lines
    #: it lacks (see `lock_shortfall`); the package then has a `requirements.txt`.
    lock_shortfall: tuple[str, ...] = ()


def requirements_file_name(docker_image: ir.DockerImage) -> str:
    """The name of the package's requirements file (`config.yaml`'s `requirements_file`).

    `uv.lock` when the user's requirements file is a lock (Truss detects the kind of
    file by its base name, as done here); the planner names `requirements.txt`
    instead when the lock is not complete. A `pyproject.toml` becomes `requirements.txt`.
    """
    source = docker_image.requirements_file
    if source is not None and posixpath.basename(source) == UV_LOCK:
        return UV_LOCK
    return REQUIREMENTS_TXT


def requirements_txt(
    chainlet: ir.Chainlet,
    runtime_requirements: Sequence[str],
    read_file: Callable[[str], str],
    source: str,
    additions: Sequence[str] = (),
) -> Requirements:
    """The requirements of one Chainlet's package.

    Args:
        chainlet: the Chainlet; its `remote_config.docker_image` says what the user needs.
        runtime_requirements: the vendored runtime's requirements (`chainsc_runtime.REQUIREMENTS`).
        read_file: returns the text of a file given its path relative to the chain root.
        source: display path of the chain file, for the generated header.
        additions: requirement lines of what Truss provides on Baseten and the
            package's code imports without declaring it (section 6 of the module doc).

    Returns:
        Generated `requirements.txt` text, or, for a complete `uv.lock`, the files to copy.
    """
    image = chainlet.remote_config.docker_image
    for entry in image.pip_requirements:
        # The front end refused these (CSC413): an entry that holds a line break or an
        # option would become an option line here.
        if entry_problem(entry) is not None:
            raise InternalError(f"`pip_requirements` entry {entry!r} was not checked")
    sections: list[tuple[str, list[str]]] = [
        ("chainsc runtime", logical_lines(runtime_requirements))
    ]
    shortfall: tuple[str, ...] = ()
    path = image.requirements_file
    if path is not None:
        base = posixpath.basename(path)
        if base == UV_LOCK:
            shortfall = lock_shortfall(
                image, runtime_requirements, additions, read_file
            )
            pyproject = _sibling_pyproject(path)
            if not shortfall:
                return Requirements(UV_LOCK, None, (path, pyproject))
            title = f"from {pyproject} [project].dependencies ({path} lacks {', '.join(_names(shortfall))})"
            sections.append((title, project_dependencies(pyproject, read_file)))
        elif base == PYPROJECT_TOML:
            sections.append(
                (
                    f"from {path} [project].dependencies",
                    project_dependencies(path, read_file),
                )
            )
        else:
            sections.append(
                (f"from {path}", logical_lines(read_file(path).splitlines()))
            )
    sections.append(("from pip_requirements", logical_lines(image.pip_requirements)))
    sections.append(
        (
            "provided by Truss on Baseten and imported by the code (chainsc adds them)",
            logical_lines(additions),
        )
    )
    return Requirements(
        REQUIREMENTS_TXT, _render(sections, source), lock_shortfall=shortfall
    )


def lock_shortfall(
    image: ir.DockerImage,
    runtime_requirements: Sequence[str],
    additions: Sequence[str],
    read_file: Callable[[str], str],
) -> tuple[str, ...]:
    """What a `uv.lock` requirements file lacks for the package; empty: use the lock as is.

    A runtime requirement is lacking when the lock has no such package or locks
    a version its specifier excludes; an addition (what Truss provides and the
    code imports) when the lock has no such package; every `pip_requirements`
    entry, since a lock cannot hold it. A lock that cannot be read locks nothing.
    """
    locked = (
        locked_versions(image.requirements_file, read_file)
        if image.requirements_file
        else {}
    )
    lacking: list[str] = []
    for line in logical_lines(runtime_requirements):
        name = requirement_name(line)
        version = locked.get(name) if name is not None else None
        if version is None or not _satisfies(line, version):
            lacking.append(line)
    for line in logical_lines(additions):
        name = requirement_name(line)
        if name is None or name not in locked:
            lacking.append(line)
    lacking += logical_lines(image.pip_requirements)
    return tuple(lacking)


def declared_names(
    image: ir.DockerImage, read_file: Callable[[str], str]
) -> frozenset[str]:
    """The distributions a Chainlet's requirements name (PEP 503 normalised).

    `pip_requirements` and the `requirements_file`: the lines of a requirements
    file, `[project].dependencies` of a `pyproject.toml`, and for a `uv.lock` every
    package it locks plus its `pyproject.toml`'s dependencies. Files that cannot be
    read name nothing. Lines without a distribution name (options, a URL without
    `#egg=`, a path) are named by their wheel or archive file name or repository
    where they have one.
    """
    lines = logical_lines(image.pip_requirements)
    names: set[str] = set()
    path = image.requirements_file
    if path is not None:
        base = posixpath.basename(path)
        if base == UV_LOCK:
            names.update(locked_versions(path, read_file))
            lines += project_dependencies(_sibling_pyproject(path), read_file)
        elif base == PYPROJECT_TOML:
            lines += project_dependencies(path, read_file)
        else:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                lines += logical_lines(read_file(path).splitlines())
    names.update(name for name in map(requirement_name, lines) if name is not None)
    return frozenset(names)


def project_dependencies(path: str, read_file: Callable[[str], str]) -> list[str]:
    """`[project].dependencies` of a `pyproject.toml` (nothing when it cannot be read).

    As Truss reads them (`truss.util.requirements.parse_requirements_from_pyproject`):
    strings only, in order.
    """
    try:
        project = tomllib.loads(read_file(path)).get("project")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    declared = project.get("dependencies", []) if isinstance(project, dict) else []
    items = declared if isinstance(declared, list) else []
    return logical_lines(item for item in items if isinstance(item, str))


def locked_versions(path: str, read_file: Callable[[str], str]) -> dict[str, str]:
    """Normalised name -> version of every `[[package]]` a `uv.lock` holds (empty when unreadable)."""
    try:
        packages = tomllib.loads(read_file(path)).get("package", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    locked: dict[str, str] = {}
    for package in packages if isinstance(packages, list) else []:
        if isinstance(package, dict) and isinstance(package.get("name"), str):
            version = package.get("version")
            locked.setdefault(
                canonicalize_name(package["name"]),
                version if isinstance(version, str) else "",
            )
    return locked


#: Per-requirement pip options after a requirement (`--hash=...`, `--config-settings ...`).
_TRAILING_OPTIONS = re.compile(r"\s+--?[A-Za-z].*$", re.DOTALL)
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_VALID_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")


def requirement_name(line: str) -> str | None:
    """The normalised distribution a requirement line names, or None.

    A PEP 508 requirement (`packaging`), else a URL or path requirement: its
    `#egg=` name, its wheel or archive file name, or its repository name
    (`git+https://github.com/org/repo.git@v1` -> `repo`). Options name nothing
    (`-e URL` names what URL names).
    """
    text = line.strip()
    if text.startswith(("-e ", "--editable ", "--editable=")):
        text = text.split(None, 1)[1] if " " in text else text.partition("=")[2]
    elif text.startswith("-"):
        return None
    text = _TRAILING_OPTIONS.sub("", text).strip()
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        pass
    egg = _EGG.search(text)
    if egg is not None:
        return canonicalize_name(egg[1])
    base = posixpath.basename(text.split("#", 1)[0].split("?", 1)[0].rstrip("/"))
    if base.endswith(".whl"):
        name = base.split("-", 1)[0]
    elif base.endswith((".tar.gz", ".zip", ".tar.bz2", ".tgz")):
        name = base.rsplit("-", 1)[0] if "-" in base else base.split(".", 1)[0]
    else:
        name = base.split("@", 1)[0].removesuffix(".git")
    return canonicalize_name(name) if _VALID_NAME.match(name) else None


def _satisfies(line: str, version: str) -> bool:
    """Whether `version` meets the specifier of requirement `line` (no specifier: any)."""
    try:
        specifier = Requirement(_TRAILING_OPTIONS.sub("", line)).specifier
        return SpecifierSet(str(specifier)).contains(Version(version), prereleases=True)
    except (InvalidRequirement, InvalidSpecifier, InvalidVersion):
        return False


def _names(lines: Iterable[str]) -> list[str]:
    return [requirement_name(line) or line for line in lines]


def _sibling_pyproject(path: str) -> str:
    """The `pyproject.toml` next to a `uv.lock` (Truss reads that one)."""
    return posixpath.join(posixpath.dirname(path), PYPROJECT_TOML)


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: lowercase, runs of `-`, `_` and `.` become one `-`."""
    return _NAME_SEPARATORS.sub("-", name).lower()


@dataclass(frozen=True, slots=True)
class _Line:
    """One requirement line, with what de-duplication compares."""

    text: str
    #: Normalised name, or None for a URL or path requirement.
    name: str | None
    #: Name, extras and specifier with spelling differences removed.
    key: str
    #: Has a version specifier or a direct reference (not just a name).
    is_constrained: bool = False


def _render(sections: Sequence[tuple[str, list[str]]], source: str) -> str:
    """Options first, then each section's requirements, de-duplicated (see the module doc).

    The first section is the runtime's; the others are the user's.
    """
    options: list[str] = []
    parsed: list[tuple[str, list[_Line]]] = []
    for title, texts in sections:
        requirements: list[_Line] = []
        for text in texts:
            if not text.startswith("-"):
                requirements.append(_parse(text))
            elif text not in options:
                options.append(text)
        parsed.append((title, requirements))

    # The user's requirements by name: a runtime requirement gives way to them
    # unless one of them is the very same requirement.
    user: dict[str, list[_Line]] = {}
    for _title, requirements in parsed[1:]:
        for requirement in requirements:
            if requirement.name is not None:
                user.setdefault(requirement.name, []).append(requirement)

    out = [f"# Generated by chainsc from {source}. Do not edit."]
    if options:
        out += ["", "# pip options", *options]
    seen: set[str] = set()
    for index, (title, requirements) in enumerate(parsed):
        body: list[str] = []
        for requirement in requirements:
            if requirement.key in seen:
                continue
            replacement = _user_replacement(requirement, user) if index == 0 else None
            if replacement is not None:
                body.append(
                    f"# chainsc: runtime requirement `{requirement.text}` replaced by the user's `{replacement.text}`"
                )
                continue
            seen.add(requirement.key)
            body.append(requirement.text)
        if body:
            out += ["", f"# {title}", *body]
    return "\n".join(out) + "\n"


def _user_replacement(runtime: _Line, user: Mapping[str, list[_Line]]) -> _Line | None:
    """The user's requirement that replaces a runtime one, if any (see the module doc)."""
    same_name = user.get(runtime.name, []) if runtime.name is not None else []
    if any(other.key == runtime.key for other in same_name):
        return None
    return next((other for other in same_name if other.is_constrained), None)


def logical_lines(lines: Iterable[str]) -> list[str]:
    """Read requirement lines as pip does: continuations joined, comments and blanks dropped.

    Also what `chainsc run --isolated` hashes: two files that differ only in comments
    install the same thing.
    """
    result: list[str] = []
    pending = ""
    for raw in (part for entry in lines for part in entry.splitlines()):
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        line = _COMMENT.sub("", pending + raw).strip()
        pending = ""
        if line:
            result.append(line)
    if pending and (line := _COMMENT.sub("", pending).strip()):
        result.append(line)
    return result


def _parse(text: str) -> _Line:
    """Name and comparison key of a requirement line (a URL or path keeps its text as key)."""
    match = _NAMED.match(text)
    if match is None or not _REST.match(match["rest"].strip()):
        return _Line(text, None, _WHITESPACE.sub("", text))
    name = normalize_name(match["name"])
    extras = ",".join(
        sorted(
            part.strip().lower()
            for part in (match["extras"] or "[]")[1:-1].split(",")
            if part.strip()
        )
    )
    rest = _WHITESPACE.sub("", match["rest"])
    specifier, semicolon, marker = rest.partition(";")
    if specifier.startswith("(") and specifier.endswith(")"):
        specifier = specifier[1:-1]
    if not specifier.startswith("@"):
        specifier = ",".join(sorted(specifier.split(",")))
    key = f"{name}[{extras}]{specifier}{semicolon}{marker}"
    return _Line(
        text, name, key, is_constrained=specifier[:1] in ("<", ">", "=", "!", "~", "@")
    )
