"""Source files and spans: the coordinates every later stage reports in.

Stage: shared by all stages. Imports only the standard library.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field

_NEWLINE = re.compile(r"\r\n|\r|\n")


#: The coordinates of a span: (line, col, end_line, end_col).
Coordinates = tuple[int, int, int, int]


class Span:
    """A region of a source file, 1-based and inclusive of start, as displayed.

    A span is a value (compared and hashed by its coordinates), but its line and
    columns may be computed on first use (`deferred`): the parser locates a node
    only when a diagnostic or a dump reads where it is, so a chain that checks
    clean never pays for positions.
    """

    __slots__ = ("_coordinates", "_locate", "path")

    #: Display path of the file (relative to the chain's root, POSIX separators).
    path: str

    def __init__(
        self, path: str, line: int, col: int, end_line: int, end_col: int
    ) -> None:
        self.path = path
        self._coordinates: Coordinates | None = (line, col, end_line, end_col)
        self._locate: Callable[[], Coordinates] | None = None

    @classmethod
    def deferred(cls, path: str, locate: Callable[[], Coordinates]) -> Span:
        """A span of `path` whose coordinates `locate` computes when first read."""
        span = cls.__new__(cls)
        span.path = path
        span._coordinates = None
        span._locate = locate
        return span

    @classmethod
    def whole_file(cls, path: str) -> Span:
        """The span used for findings about a file as a whole (1:1)."""
        return cls(path, 1, 1, 1, 1)

    @property
    def coordinates(self) -> Coordinates:
        """(line, col, end_line, end_col), computed once."""
        found = self._coordinates
        if found is None:
            assert self._locate is not None
            found = self._coordinates = self._locate()
            self._locate = None
        return found

    @property
    def line(self) -> int:
        """1-based line of the first character."""
        return self.coordinates[0]

    @property
    def col(self) -> int:
        """1-based column (in characters) of the first character."""
        return self.coordinates[1]

    @property
    def end_line(self) -> int:
        """1-based line of the last character."""
        return self.coordinates[2]

    @property
    def end_col(self) -> int:
        """1-based column one past the last character."""
        return self.coordinates[3]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Span):
            return NotImplemented
        return self.path == other.path and self.coordinates == other.coordinates

    def __hash__(self) -> int:
        return hash((self.path, self.coordinates))

    def __repr__(self) -> str:
        line, col, end_line, end_col = self.coordinates
        return f"Span(path={self.path!r}, line={line}, col={col}, end_line={end_line}, end_col={end_col})"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """The text of one file plus the table that turns offsets into lines."""

    #: The path as shown to the user: relative to the chain root, POSIX style.
    display_path: str
    text: str
    _line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = (0, *(match.end() for match in _NEWLINE.finditer(self.text)))
        object.__setattr__(self, "_line_starts", starts)

    def position(self, offset: int) -> tuple[int, int]:
        """Convert a character offset into a 1-based (line, column)."""
        line_index = bisect.bisect_right(self._line_starts, offset) - 1
        return line_index + 1, offset - self._line_starts[line_index] + 1

    def span(self, start: int, end: int) -> Span:
        """Build a span from character offsets [start, end)."""
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        return Span(self.display_path, line, col, end_line, end_col)

    def line_start(self, line: int) -> int:
        """Character offset where a 1-based line starts."""
        return self._line_starts[line - 1]

    def char_column(self, line: int, byte_offset: int) -> int:
        """1-based character column of a UTF-8 byte offset into a line (CPython's `ast` counts bytes)."""
        text = self.line_text(line)
        if text.isascii():
            return byte_offset + 1
        return (
            len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))
            + 1
        )

    @property
    def line_count(self) -> int:
        """Number of lines (a file ending in a newline has an empty last line)."""
        return len(self._line_starts)

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its line ending."""
        if line < 1 or line > len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = (
            self._line_starts[line] if line < len(self._line_starts) else len(self.text)
        )
        return self.text[start:end].rstrip("\r\n")
