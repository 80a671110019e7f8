"""Every diagnostic code has a bad input in `cases/`, with its findings pinned.

A case is a chain file `cases/<name>.py`, or a directory `cases/<name>/` holding
a `chain.py` (and the local modules or files it needs). The case files are read
as text and checked with `check_file`; they are never imported or executed.

Expected findings are comments in the case's `.py` files:

- `# E: CSC301` (error) or `# W: CSC105` (warning) on the offending line; several
  codes are separated by commas, one entry per finding (`# E: CSC202, CSC202`).
- `# E@3:5: CSC002` anywhere in a file: a finding at line 3, column 5 of that
  file, for lines that cannot carry a comment (syntax errors, whole-file 1:1).
- `# chainsc: --entrypoint=NAME` anywhere in the chain file: a command-line option.
- Requirements files (`*.txt`) of a case directory carry expectations too (a `#`
  comment is a comment for pip as well).
- A `LINKS` file in a case directory lists symbolic links, one `NAME -> TARGET` a
  line: the case is copied into a fresh temporary directory (the root), inside an
  otherwise empty one (what `..` reaches), and the links are made there, so no link
  is committed and nothing depends on the host.

The findings must be exactly the expected ones (code, severity and line, and the
column where given); the rendered text of all of them is snapshotted, which pins
every message, column and help line.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from chainsc.api import CheckOptions, CheckResult, check_file
from chainsc.codes import CODES
from chainsc.diagnostics import (
    Diagnostic,
    Severity,
    error,
    render_github,
    render_json,
    render_text,
    sort_diagnostics,
    warning,
)
from chainsc.source import Span

CASES = Path(__file__).resolve().parent / "cases"

#: Codes that no user input can trigger.
UNTESTABLE = frozenset({"CSC901"})
#: Codes of a build option, not of a file `check` reads: placed by the test named.
PLACED_ELSEWHERE = {
    "CSC014": "tests/test_deploy.py::test_images_of_a_chain_only_baseten_serves_are_refused_where_it_is_defined",
}

_EXPECTATION = re.compile(
    r"#\s*(?P<kind>[EW])(?:@(?P<line>\d+):(?P<col>\d+))?:\s*(?P<codes>CSC\d{3}(?:\s*,\s*CSC\d{3})*)"
)
_OPTIONS = re.compile(r"#\s*chainsc:\s*(?P<options>.*)$", re.MULTILINE)
_SEVERITIES = {"E": Severity.ERROR, "W": Severity.WARNING}

#: (display path, line, severity, code): one finding as the comments state it.
Finding = tuple[str, int, str, str]


@dataclass(frozen=True)
class Case:
    """One bad input: its chain file, root, options and expected findings."""

    name: str
    chain: Path
    root: Path
    options: CheckOptions
    expected: tuple[Finding, ...]
    #: (display path, line, col, code) of the `# E@line:col:` expectations.
    positioned: tuple[tuple[str, int, int, str], ...]

    #: Symbolic links to make in a copy of the case first: (name, target) (`LINKS`).
    links: tuple[tuple[str, str], ...] = ()

    def check(self) -> CheckResult:
        if not self.links:
            return check_file(self.chain, self.options)
        with tempfile.TemporaryDirectory() as sandbox:
            root = Path(sandbox) / "case"
            shutil.copytree(
                self.root, root, ignore=shutil.ignore_patterns("LINKS", "__pycache__")
            )
            for name, target in self.links:
                link = root / name
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(target)
            chain = root / self.chain.relative_to(self.root)
            return check_file(chain, replace(self.options, root=root))


def _read(path: Path) -> str:
    # Cases may be deliberately broken (not UTF-8): read them leniently.
    return path.read_bytes().decode("utf-8", errors="replace")


def _options(chain: Path, root: Path) -> CheckOptions:
    entrypoint: str | None = None
    for match in _OPTIONS.finditer(_read(chain)):
        for option in match.group("options").split():
            key, _, value = option.partition("=")
            if key != "--entrypoint" or not value:
                raise ValueError(f"{chain}: unsupported case option {option!r}")
            entrypoint = value
    return CheckOptions(root=root, entrypoint=entrypoint)


def _load_case(entry: Path) -> Case:
    links: tuple[tuple[str, str], ...] = ()
    if entry.is_dir():
        root = entry
        chain = entry / "chain.py"
        if not chain.is_file():
            found = sorted(entry.rglob("chain.py"))
            if len(found) != 1:
                raise ValueError(
                    f"{entry}: a case directory needs exactly one chain.py"
                )
            chain = found[0]
        files = sorted([*entry.rglob("*.py"), *entry.rglob("*.txt")])
        links_file = entry / "LINKS"
        if links_file.is_file():
            links = tuple(
                (name.strip(), target.strip())
                for name, _, target in (
                    line.partition("->") for line in links_file.read_text().splitlines()
                )
                if name.strip()
            )
    else:
        root = entry.parent
        chain = entry
        files = [entry]
    expected: list[Finding] = []
    positioned: list[tuple[str, int, int, str]] = []
    for file in files:
        display = file.relative_to(root).as_posix()
        for number, text in enumerate(_read(file).splitlines(), start=1):
            for match in _EXPECTATION.finditer(text):
                severity = _SEVERITIES[match.group("kind")].value
                codes = [code.strip() for code in match.group("codes").split(",")]
                line = int(match.group("line")) if match.group("line") else number
                for code in codes:
                    expected.append((display, line, severity, code))
                    if match.group("col"):
                        positioned.append(
                            (display, line, int(match.group("col")), code)
                        )
    name = entry.stem if entry.is_file() else entry.name
    return Case(
        name,
        chain,
        root,
        _options(chain, root),
        tuple(expected),
        tuple(positioned),
        links,
    )


def _all_cases() -> list[Case]:
    entries = [
        entry
        for entry in sorted(CASES.iterdir())
        if (entry.is_file() and entry.suffix == ".py")
        or (entry.is_dir() and entry.name != "__pycache__")
    ]
    return [_load_case(entry) for entry in entries]


ALL_CASES = _all_cases()


def _finding(diagnostic: Diagnostic) -> Finding:
    span = diagnostic.span
    return (span.path, span.line, diagnostic.severity.value, diagnostic.code)


@pytest.mark.parametrize("case", ALL_CASES, ids=[case.name for case in ALL_CASES])
def test_case(case: Case, snapshot: SnapshotAssertion) -> None:
    assert case.expected, (
        f"{case.name}: a case needs at least one `# E:`/`# W:` expectation"
    )
    result = case.check()
    rendered = render_text(result.diagnostics, result.sources)

    actual = Counter(_finding(d) for d in result.diagnostics)
    expected = Counter(case.expected)
    missing = sorted((expected - actual).elements())
    unexpected = sorted((actual - expected).elements())
    assert (missing, unexpected) == ([], []), (
        f"{case.name}: missing {missing}, unexpected {unexpected}\n{rendered}"
    )
    at = {(d.span.path, d.span.line, d.span.col, d.code) for d in result.diagnostics}
    wrong_column = [position for position in case.positioned if position not in at]
    assert not wrong_column, f"{case.name}: no finding at {wrong_column}\n{rendered}"

    assert result.diagnostics == sort_diagnostics(result.diagnostics)
    if result.has_errors:
        assert result.chain is None
    assert rendered == snapshot


def test_every_code_has_a_case() -> None:
    covered = {
        code for case in ALL_CASES for (_path, _line, _severity, code) in case.expected
    }
    untested = sorted(set(CODES) - UNTESTABLE - set(PLACED_ELSEWHERE) - covered)
    assert not untested, f"codes without a case in {CASES}: {untested}"


def test_expectations_name_known_codes_with_their_severity() -> None:
    for case in ALL_CASES:
        for path, line, severity, code in case.expected:
            assert code in CODES, f"{case.name} {path}:{line}: unknown code {code}"
            assert CODES[code].severity == severity, (
                f"{case.name} {path}:{line}: {code} is {CODES[code].severity}"
            )


def _case(name: str) -> Case:
    return next(case for case in ALL_CASES if case.name == name)


def test_json_format(snapshot: SnapshotAssertion) -> None:
    result = _case("signatures_parameters").check()
    rendered = render_json(result.diagnostics)
    payload = json.loads(rendered)
    assert [
        (item["path"], item["line"], item["col"], item["code"]) for item in payload
    ] == [(d.span.path, d.span.line, d.span.col, d.code) for d in result.diagnostics]
    assert set(payload[0]) == {
        "code",
        "severity",
        "message",
        "path",
        "line",
        "col",
        "end_line",
        "end_col",
        "help",
        "notes",
    }
    assert rendered == snapshot


def test_notes_in_every_format() -> None:
    result = _case("structure_display_names_twice").check()
    (diagnostic,) = result.diagnostics
    (note,) = diagnostic.notes
    assert (note.span.line, note.span.col) == (9, 46)
    (item,) = json.loads(render_json(result.diagnostics))
    assert item["notes"] == [
        {
            "message": "`search` is first used here",
            "path": "structure_display_names_twice.py",
            "line": 9,
            "col": 46,
            "end_line": 9,
            "end_col": 53,
        }
    ]
    assert (
        render_github(result.diagnostics)
        .rstrip()
        .endswith(
            "%0Anote: `search` is first used here (structure_display_names_twice.py:9:46)"
        )
    )


def test_github_format(snapshot: SnapshotAssertion) -> None:
    result = _case("signatures_parameters").check()
    rendered = render_github(result.diagnostics)
    lines = rendered.splitlines()
    assert len(lines) == len(result.diagnostics)
    assert all(
        line.startswith("::error file=signatures_parameters.py,line=") for line in lines
    )
    assert rendered == snapshot


def test_github_format_escapes_newlines_and_property_separators() -> None:
    diagnostic = warning(
        "CSC105", "50% done", Span("a,b:c.py", 3, 7, 3, 9), help="line one\nline two"
    )
    assert render_github([diagnostic]) == (
        "::warning file=a%2Cb%3Ac.py,line=3,col=7,endLine=3,endColumn=9,title=CSC105"
        "::50%25 done%0Ahelp: line one%0Aline two\n"
    )


def test_sort_order_is_path_line_column_code() -> None:
    def at(path: str, line: int, col: int, code: str) -> Diagnostic:
        return error(code, f"finding {code}", Span(path, line, col, line, col + 1))

    ordered = [
        at("a.py", 1, 9, "CSC301"),
        at("a.py", 2, 1, "CSC206"),
        at("a.py", 2, 1, "CSC301"),
        at("a.py", 2, 5, "CSC101"),
        at("a.py", 10, 1, "CSC002"),
        at("b.py", 1, 1, "CSC001"),
    ]
    shuffled = [
        ordered[4],
        ordered[1],
        ordered[5],
        ordered[3],
        ordered[0],
        ordered[2],
        ordered[1],
    ]
    assert sort_diagnostics(shuffled) == tuple(ordered)  # the duplicate is dropped


def test_whole_file_findings_show_no_source_line() -> None:
    result = _case("structure_no_chainlet").check()
    rendered = render_text(result.diagnostics, result.sources)
    assert rendered.startswith(
        "structure_no_chainlet.py:1:1: error[CSC101]: no Chainlet in `structure_no_chainlet.py`\n  = help:"
    )
