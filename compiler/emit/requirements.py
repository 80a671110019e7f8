"""A package's Python requirements: the generated `requirements.txt`, or a copied project file.

Stage: back end (plan). Called once per Chainlet by the planner; pure: files are read
only through the `read_file` callback it is given, nothing is written here.
Imports: the standard library and `compiler.ir` only (no libcst, no jinja).

`requirements.txt` is assembled as:

1. the generated header line;
2. pip option lines (`--extra-index-url`, `-r`, `-e`, ...) from every source, verbatim,
   in source order: options apply to the whole file, so they lead (a relative path
   in `-r`, `-c` or `-e` then resolves next to the package's file, not the user's:
   Truss Chains has the same limit);
3. the runtime's requirements (`runtime_lib.REQUIREMENTS`);
4. the lines of the user's `requirements_file` (comments and blank lines dropped);
5. `DockerImage.pip_requirements`.

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

`pyproject.toml` and `uv.lock` requirement files (Truss supports both) are not
inlined: the planner copies them into the package and `config.yaml` names them.
"""

from __future__ import annotations

import ast
import posixpath
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from compiler import ir

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
    """A package's requirements file: generated text, or the user's project file copied."""

    #: The file's name in the package (`config.yaml`'s `requirements_file`).
    filename: str
    #: The content of `requirements.txt`; None when the user's file is copied instead.
    text: str | None
    #: User files to copy to the package root under their own base names, as paths
    #: relative to the chain root (`uv.lock` comes with its sibling `pyproject.toml`).
    copy_files: tuple[str, ...] = ()
    #: Requirements the package needs but the copied project file does not declare:
    #: runtime requirements missing from `[project].dependencies`, and every
    #: `pip_requirements` entry (Truss rejects those next to a project file). The
    #: planner reports them; chainsc never edits a user's lock.
    unlisted: tuple[str, ...] = ()


def requirements_file_name(docker_image: ir.DockerImage) -> str:
    """The name of the package's requirements file (`config.yaml`'s `requirements_file`).

    Truss detects the kind of file by its base name, exactly as done here.
    """
    source = docker_image.requirements_file
    if source is not None and posixpath.basename(source) in (PYPROJECT_TOML, UV_LOCK):
        return posixpath.basename(source)
    return REQUIREMENTS_TXT


def requirements_txt(
    chainlet: ir.Chainlet,
    runtime_requirements: Sequence[str],
    read_file: Callable[[str], str],
    source: str,
) -> Requirements:
    """The requirements of one Chainlet's package.

    Args:
        chainlet: the Chainlet; its `remote_config.docker_image` says what the user needs.
        runtime_requirements: the vendored runtime's requirements (`runtime_lib.REQUIREMENTS`).
        read_file: returns the text of a file given its path relative to the chain root.
        source: display path of the chain file, for the generated header.

    Returns:
        Generated `requirements.txt` text, or, for a `pyproject.toml`/`uv.lock`
        requirements file, the files to copy instead.
    """
    image = chainlet.remote_config.docker_image
    filename = requirements_file_name(image)
    sections: list[tuple[str, list[str]]] = [("chainsc runtime", logical_lines(runtime_requirements))]
    if image.requirements_file is not None:
        if filename != REQUIREMENTS_TXT:
            return _project_file(image.requirements_file, filename, runtime_requirements, image.pip_requirements, read_file)
        sections.append((f"from {image.requirements_file}", logical_lines(read_file(image.requirements_file).splitlines())))
    sections.append(("from pip_requirements", logical_lines(image.pip_requirements)))
    return Requirements(REQUIREMENTS_TXT, _render(sections, source))


def runtime_constant(init_source: str, name: str) -> tuple[str, ...] | None:
    """A tuple-of-strings constant (`REQUIREMENTS`, ...) of a runtime `__init__.py`, read statically.

    The runtime keeps them plain literals so the planner (from `runtime_lib`) and
    `chainsc run --isolated` (from a built package's vendored copy) read them without
    importing anything. None when `name` is not such a constant.
    """
    for node in ast.parse(init_source).body:
        if isinstance(node, ast.Assign):
            targets, assigned = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, assigned = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            value = ast.literal_eval(assigned)
            if isinstance(value, tuple) and all(isinstance(item, str) for item in value):
                return value
    return None


def requirement_name(text: str) -> str | None:
    """The PEP 503 name of a requirement line; None for a URL, a path or an option."""
    return None if text.startswith("-") else _parse(text).name


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
                body.append(f"# chainsc: runtime requirement `{requirement.text}` replaced by the user's `{replacement.text}`")
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
    extras = ",".join(sorted(part.strip().lower() for part in (match["extras"] or "[]")[1:-1].split(",") if part.strip()))
    rest = _WHITESPACE.sub("", match["rest"])
    specifier, semicolon, marker = rest.partition(";")
    if specifier.startswith("(") and specifier.endswith(")"):
        specifier = specifier[1:-1]
    if not specifier.startswith("@"):
        specifier = ",".join(sorted(specifier.split(",")))
    key = f"{name}[{extras}]{specifier}{semicolon}{marker}"
    return _Line(text, name, key, is_constrained=specifier[:1] in ("<", ">", "=", "!", "~", "@"))


def _project_file(
    path: str,
    filename: str,
    runtime_requirements: Sequence[str],
    pip_requirements: Sequence[str],
    read_file: Callable[[str], str],
) -> Requirements:
    """A `pyproject.toml` or `uv.lock` requirements file: copied, with what it lacks."""
    pyproject = posixpath.join(posixpath.dirname(path), PYPROJECT_TOML)
    copy_files = (path,) if filename == PYPROJECT_TOML else (path, pyproject)
    declared: object = []
    try:
        project = tomllib.loads(read_file(pyproject)).get("project")
        if isinstance(project, dict):
            declared = project.get("dependencies", [])
    except (OSError, tomllib.TOMLDecodeError):
        # A missing or broken pyproject.toml declares nothing; the user hears about
        # it where it fails loudly: the planner's copy, or truss's build.
        pass
    items = declared if isinstance(declared, list) else []
    names = {parsed.name for parsed in (_parse(item) for item in items if isinstance(item, str)) if parsed.name}
    unlisted = [line for line in logical_lines(runtime_requirements) if _parse(line).name not in names]
    unlisted += logical_lines(pip_requirements)
    return Requirements(filename, None, copy_files, tuple(unlisted))
