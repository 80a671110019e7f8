"""Diagnostics: values that describe a user mistake, and their renderings.

Stage: shared by all stages. Diagnostics are returned, never raised; only
`InternalError` is raised, for bugs in chainsc itself. Imports: source, codes.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from chainsc.codes import CODES
from chainsc.source import SourceFile, Span


class Severity(enum.Enum):
    """How bad a finding is; only errors fail a build."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


class InternalError(Exception):
    """A bug in chainsc: an invariant did not hold. Never used for user mistakes."""


@dataclass(frozen=True, slots=True)
class Note:
    """A place related to a finding (the first of two uses of a name), shown with it."""

    message: str
    span: Span


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about the user's chain, located at the offending code."""

    #: Stable code such as "CSC301", documented in `chainsc.codes`.
    code: str
    severity: Severity
    #: One sentence; names the offending symbol in `backticks`.
    message: str
    span: Span
    help: str | None = None
    #: Related places, shown after it (one finding, not several).
    notes: tuple[Note, ...] = ()

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise InternalError(f"undocumented diagnostic code {self.code}")

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        """Order of reporting: by file, position, then code."""
        return (self.span.path, self.span.line, self.span.col, self.code, self.message)


def error(
    code: str,
    message: str,
    span: Span,
    help: str | None = None,
    notes: tuple[Note, ...] = (),
) -> Diagnostic:
    """Shorthand for an error diagnostic."""
    return Diagnostic(code, Severity.ERROR, message, span, help, notes)


def warning(code: str, message: str, span: Span, help: str | None = None) -> Diagnostic:
    """Shorthand for a warning diagnostic."""
    return Diagnostic(code, Severity.WARNING, message, span, help)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Deduplicate and sort by position so output is stable across runs."""
    return tuple(sorted(set(diagnostics), key=lambda d: d.sort_key))


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    """Whether any finding is an error."""
    return any(d.severity is Severity.ERROR for d in diagnostics)


#: How `render_text` asks for colour: `style(role, text)` returns `text`, styled for
#: its role: "location", a severity's value ("error", "warning", "note"), "code",
#: "gutter", "caret" or "help". The CLI passes one on a terminal; the default is plain.
Styler = Callable[[str, str], str]


def _plain(_role: str, text: str) -> str:
    return text


def render_text(
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[str, SourceFile],
    style: Styler = _plain,
) -> str:
    """Render like rustc/ruff: header line, source line with carets, help."""
    blocks = []
    for diagnostic in diagnostics:
        span = diagnostic.span
        severity = diagnostic.severity.value
        lines = [
            style("location", f"{span.path}:{span.line}:{span.col}:")
            + " "
            + style(severity, severity)
            + style("code", f"[{diagnostic.code}]")
            + f": {diagnostic.message}",
            *_excerpt(span, sources, style),
        ]
        if diagnostic.help:
            lines.append(f"  = {style('help', 'help')}: {diagnostic.help}")
        for note in diagnostic.notes:
            at = note.span
            lines.append(
                style("location", f"{at.path}:{at.line}:{at.col}:")
                + f" {style('note', 'note')}: {note.message}"
            )
            lines.extend(_excerpt(at, sources, style))
        blocks.append("\n".join(lines))
    return "\n".join(blocks) + ("\n" if blocks else "")


def _excerpt(
    span: Span, sources: Mapping[str, SourceFile], style: Styler = _plain
) -> list[str]:
    """The source line of a span with carets under it (nothing for a whole file)."""
    source = sources.get(span.path)
    text = source.line_text(span.line) if source is not None else ""
    # A finding about the whole file (1:1, empty) has no line to show.
    if not text.strip() or span == Span.whole_file(span.path):
        return []
    gutter = " " * len(str(span.line))
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    else:
        width = max(1, len(text.rstrip()) - span.col + 1)
    return [
        f"{style('gutter', f' {span.line} |')} {text.expandtabs(1)}",
        f"{style('gutter', f' {gutter} |')} {' ' * (span.col - 1)}{style('caret', '^' * width)}",
    ]


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    """Render as a JSON array for tools; keys sorted, one document."""
    payload = [
        {
            "code": d.code,
            "severity": d.severity.value,
            "message": d.message,
            "path": d.span.path,
            "line": d.span.line,
            "col": d.span.col,
            "end_line": d.span.end_line,
            "end_col": d.span.end_col,
            "help": d.help,
            "notes": [
                {
                    "message": note.message,
                    "path": note.span.path,
                    "line": note.span.line,
                    "col": note.span.col,
                    "end_line": note.span.end_line,
                    "end_col": note.span.end_col,
                }
                for note in d.notes
            ],
        }
        for d in diagnostics
    ]
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def _escape_github(value: str, *, is_property: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if is_property:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def render_github(diagnostics: Sequence[Diagnostic]) -> str:
    """Render as GitHub Actions workflow commands (`::error file=...::msg`)."""
    lines = []
    for d in diagnostics:
        kind = "error" if d.severity is Severity.ERROR else d.severity.value
        props = ",".join(
            [
                f"file={_escape_github(d.span.path, is_property=True)}",
                f"line={d.span.line}",
                f"col={d.span.col}",
                f"endLine={d.span.end_line}",
                f"endColumn={d.span.end_col}",
                f"title={_escape_github(d.code, is_property=True)}",
            ]
        )
        message = d.message if d.help is None else f"{d.message}\nhelp: {d.help}"
        for note in d.notes:
            at = note.span
            message += f"\nnote: {note.message} ({at.path}:{at.line}:{at.col})"
        lines.append(f"::{kind} {props}::{_escape_github(message)}")
    return "\n".join(lines) + ("\n" if lines else "")
