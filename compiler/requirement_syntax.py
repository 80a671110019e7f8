r"""What a requirement string may be: a PEP 508 requirement, or what pip reads in a requirements file.

Stage: front end (config checks `pip_requirements` entries and `requirements_file`
lines) and back end (`requirements` refuses, as an internal error, an entry
that the front end should have refused). Imports: the standard library and
`packaging`.

Truss passes requirement strings to pip without validating them (Truss Chains
joins `pip_requirements` and the lines of a `requirements_file` with newlines
into one requirements file), so pip's grammar is the reference, with one rule
added for `pip_requirements` entries: an entry is one requirement. An entry that
holds a line break, ends in a line continuation (`\`) or starts with `-` would
be read by pip as more than one line or as an option (`--index-url ...`), which
changes how every other requirement is installed; those are errors. The rules
(`docs/requirements.md` has them for users):

- a requirement (an entry, or a line of a requirements file without leading
  option) is a PEP 508 requirement (`packaging.requirements.Requirement`:
  `numpy>=1.26`, `torch==2.1.0 ; python_version>'3.8'`, `pkg @ https://...`),
  or what pip also installs: a URL (`https://.../x.whl`, `git+https://...@sha`,
  `#egg=name` fragments) or a local path (`./lib`, `dist/x.whl`); a string with a
  `${VARIABLE}` pip expands first is taken as it is;
- after it, a requirement may carry pip's per-requirement options only
  (`--hash=...`, `--config-settings ...`/`-C`, `--global-option ...`);
- a line of a requirements file may instead be pip options (`--extra-index-url
  URL`, `-r other.txt`, `-e git+https://...`, `--pre`, ...): every option pip
  accepts in a requirements file, spelled as pip's option parser reads it
  (`--index-url=URL`, `-iURL`, an unambiguous prefix); unknown options are errors;
- comments (`#` at the start or after whitespace) and blank lines are nothing;
  lines ending in `\` continue on the next one, as pip joins them.
"""

from __future__ import annotations

import functools
import optparse
import re
import shlex
import unicodedata
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement

#: pip's comment rule (`pip._internal.req.req_file.COMMENT_RE`).
_COMMENT = re.compile(r"(^|\s+)#.*$")
#: `scheme://` or a VCS prefix (`git+https://`, `git+ssh://`, `hg+...`).
_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|(?:git|hg|svn|bzr)\+)")
_ARCHIVE = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar")
#: Characters `str.splitlines` breaks at (and pip with it): never inside one entry.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")

#: pip's requirements-file options (`req_file.SUPPORTED_OPTIONS`, pip 23-25):
#: (short, long, takes a value).
_FILE_OPTIONS: tuple[tuple[str | None, str, bool], ...] = (
    ("-i", "--index-url", True),
    (None, "--extra-index-url", True),
    (None, "--no-index", False),
    ("-c", "--constraint", True),
    ("-r", "--requirement", True),
    ("-e", "--editable", True),
    ("-f", "--find-links", True),
    (None, "--no-binary", True),
    (None, "--only-binary", True),
    (None, "--prefer-binary", False),
    (None, "--require-hashes", False),
    (None, "--pre", False),
    (None, "--trusted-host", True),
    (None, "--use-feature", True),
)
#: Options that apply to the requirement on their line (`req_file.SUPPORTED_OPTIONS_REQ`).
_REQUIREMENT_OPTIONS: tuple[tuple[str | None, str, bool], ...] = (
    (None, "--global-option", True),
    (None, "--hash", True),
    ("-C", "--config-settings", True),
)
_REQUIREMENT_OPTION_DESTS = frozenset({"global_option", "hash", "config_settings"})


@dataclass(frozen=True, slots=True)
class LineProblem:
    """A line of a requirements file pip would refuse or misread: where, and why."""

    #: 1-based line of the file (the first line of a continued line).
    line: int
    #: 1-based column and end column (exclusive) on that line.
    col: int
    end_col: int
    message: str


class _OptionError(Exception):
    """optparse's complaint about an option (it would exit the process otherwise)."""


class _Parser(optparse.OptionParser):
    def error(self, msg: str) -> None:  # type: ignore[override]  # raises instead of exiting
        raise _OptionError(msg)


def _parser() -> _Parser:
    parser = _Parser(add_help_option=False)
    for short, long, takes_value in (*_FILE_OPTIONS, *_REQUIREMENT_OPTIONS):
        names = [name for name in (short, long) if name is not None]
        parser.add_option(
            *names,
            action="append" if takes_value else "store_true",
            dest=long[2:].replace("-", "_"),
        )
    return parser


def _split(line: str) -> tuple[str, str]:
    """Split like pip's `break_args_options`: the requirement, then the options (from the first `-` token)."""
    tokens = line.split(" ")
    for index, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:index]), " ".join(tokens[index:])
    return line, ""


def _option_problem(options: str, *, requirement_only: bool) -> str | None:
    """Why pip would refuse these options (or, on a requirement line, ignore them), or None."""
    try:
        words = shlex.split(options)
    except ValueError as exc:
        return f"the options `{options}` cannot be split: {exc}"
    try:
        parsed, _ = _parser().parse_args(words)
    except _OptionError as exc:
        return f"pip does not accept `{options}` ({exc})"
    if requirement_only:
        ignored = sorted(
            name
            for name, value in vars(parsed).items()
            if value and name not in _REQUIREMENT_OPTION_DESTS
        )
        if ignored:
            names = ", ".join(f"`--{name.replace('_', '-')}`" for name in ignored)
            return f"pip ignores {names} after a requirement (only `--hash`, `--config-settings` and `--global-option` apply to it)"
    return None


def requirement_problem(text: str) -> str | None:
    """Why `text` (a requirement without options) is not one pip installs, or None."""
    if "${" in text:
        return None  # pip expands `${VARIABLE}` first; the value is not known here
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        if _URL.match(text) or _is_path(text):
            return None
        reason = str(exc).splitlines()[0]
        return f"`{text}` is not a valid requirement ({reason})"
    return None


def _is_path(text: str) -> bool:
    return (
        text.startswith((".", "/", "~"))
        or "/" in text
        or "\\" in text
        or text.lower().endswith(_ARCHIVE)
    )


@functools.lru_cache(maxsize=4096)
def entry_problem(entry: str) -> str | None:
    """Why a `pip_requirements` entry (or a `pyproject.toml` dependency) is not one requirement, or None.

    Cached: Chainlets of one chain repeat the same entries, and `packaging` takes
    tens of microseconds a requirement.
    """
    breaks = sorted({char for char in entry if char in _LINE_BREAKS})
    if breaks:
        return f"it contains a line break ({', '.join(repr(char) for char in breaks)}): pip would read what follows as another line"
    control = next(
        (char for char in entry if char != "\t" and unicodedata.category(char) == "Cc"),
        None,
    )
    if control is not None:
        return f"it contains the control character {control!r}"
    text = _COMMENT.sub("", entry).strip()
    if not text:
        return None
    if text.endswith("\\"):
        return "it ends with `\\`, which pip reads as a line continuation into the next entry"
    if text.startswith("-"):
        return "it is a pip option, not a requirement: pip would apply it to every requirement of the package"
    requirement, options = _split(text)
    if options:
        problem = _option_problem(options, requirement_only=True)
        if problem is not None:
            return problem
    return requirement_problem(requirement.strip())


def file_problems(text: str) -> list[LineProblem]:
    """Every line of a requirements file that pip would refuse (or misread), in order."""
    problems: list[LineProblem] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        number = index + 1
        raw = lines[index]
        joined = raw
        # pip joins a line ending in `\` with the next one (not after a comment).
        while (
            joined.endswith("\\")
            and not _COMMENT.match(joined)
            and index + 1 < len(lines)
        ):
            index += 1
            joined = joined[:-1] + lines[index]
        index += 1
        line = _COMMENT.sub("", joined).strip()
        if not line:
            continue
        control = next(
            (
                char
                for char in line
                if char != "\t" and unicodedata.category(char) == "Cc"
            ),
            None,
        )
        requirement, options = _split(line)
        requirement = requirement.strip()
        problem: str | None
        if control is not None:
            problem = f"the line contains the control character {control!r}"
        elif (
            options
            and (
                problem := _option_problem(options, requirement_only=bool(requirement))
            )
            is not None
        ):
            pass
        else:
            problem = requirement_problem(requirement) if requirement else None
        if problem is not None:
            # The span: the line's text on its first line, without a comment or a `\`.
            col = len(raw) - len(raw.lstrip()) + 1
            end = len(_COMMENT.sub("", raw).rstrip().removesuffix("\\").rstrip()) + 1
            problems.append(LineProblem(number, col, max(end, col + 1), problem))
    return problems
