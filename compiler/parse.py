"""Parse stage: source text to a libcst Module, with positions on demand.

Stage: first. A syntax error becomes a diagnostic, never an exception.
Positions are computed lazily and cheaply: libcst's PositionProvider costs
several times the parse itself on large files, so one codegen pass records
plain character offsets, which `SourceFile` turns into lines and columns.
Imports: libcst, source, diagnostics.
"""

from __future__ import annotations

import ast
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import libcst as cst
from libcst._nodes.internal import CodegenState

from compiler.diagnostics import Diagnostic, InternalError, error
from compiler.source import SourceFile, Span


class _OffsetCodegenState(CodegenState):
    """Codegen that counts characters and records each node's offsets."""

    def __init__(self, module: cst.Module, starts: dict[int, int], ends: dict[int, int]) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.offset = 0
        self.starts = starts
        self.ends = ends
        self.stack: list[int] = []

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.offset += len(token)

    def add_token(self, value: str) -> None:
        self.offset += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.stack.append(self.offset)

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self.stack.pop()
        key = id(node)
        if key not in self.starts:
            self.starts[key] = start
            self.ends[key] = self.offset

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Iterator[None]:
        start = self.offset
        yield
        key = id(node)
        self.starts[key] = self.starts[id(start_node)] if start_node is not None else start
        self.ends[key] = self.ends[id(end_node)] if end_node is not None else self.offset


@dataclass(slots=True)
class ParsedModule:
    """A parsed file: its source, its CST and a lazy node-to-span index."""

    source: SourceFile
    module: cst.Module
    _starts: dict[int, int] = field(default_factory=dict, repr=False)
    _ends: dict[int, int] = field(default_factory=dict, repr=False)
    _indexed: bool = field(default=False, repr=False)

    def _offsets(self, node: cst.CSTNode) -> tuple[int, int]:
        if not self._indexed:
            state = _OffsetCodegenState(self.module, self._starts, self._ends)
            with _gc_paused():
                self.module._codegen(state)
            self._indexed = True
        key = id(node)
        if key not in self._starts:
            raise InternalError(f"node {type(node).__name__} is not in {self.source.display_path}")
        return self._starts[key], self._ends[key]

    def span(self, node: cst.CSTNode) -> Span:
        """The span of `node`, which must belong to this module's tree."""
        return self.source.span(*self._offsets(node))

    def start_of(self, node: cst.CSTNode) -> int:
        """Character offset where `node` starts."""
        return self._offsets(node)[0]

    def text_of(self, node: cst.CSTNode) -> str:
        """The source text `node` covers (a slice: no codegen)."""
        start, end = self._offsets(node)
        return self.source.text[start:end]

    def code(self, node: cst.CSTNode) -> str:
        """The source code of `node`, as written (without surrounding whitespace)."""
        return self.module.code_for_node(node).strip()


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while libcst allocates: it makes no cycles we must free."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_source(source: SourceFile) -> ParsedModule | Diagnostic:
    """Parse one file; a syntax error comes back as a CSC002 diagnostic."""
    try:
        with _gc_paused():
            module = cst.parse_module(source.text)
    except cst.ParserSyntaxError as exc:
        return _syntax_error(source, exc)
    return ParsedModule(source, module)


def _syntax_error(source: SourceFile, exc: cst.ParserSyntaxError) -> Diagnostic:
    """Report a syntax error the way CPython words and places it.

    CPython's messages ("'(' was never closed") are better than libcst's, and
    `ast.parse` only compiles, never runs. libcst's own error is the fallback
    for syntax CPython accepts but libcst does not.
    """
    try:
        ast.parse(source.text, filename=source.display_path)
    except SyntaxError as py_exc:
        line = py_exc.lineno or 1
        # CPython offsets are 1-based character columns of the decoded line.
        col = max(1, py_exc.offset or 1)
        end_col = col + 1
        if py_exc.end_lineno == line and py_exc.end_offset and py_exc.end_offset > col:
            end_col = py_exc.end_offset
        return error(
            "CSC002",
            f"syntax error: {py_exc.msg}",
            Span(source.display_path, line, col, line, end_col),
        )
    line = exc.editor_line
    col = exc.editor_column
    message = str(exc.message).strip().rstrip(".")
    return error(
        "CSC002",
        f"syntax error: {message}",
        Span(source.display_path, line, col, line, col + 1),
        help="this syntax is valid Python but not supported by the libcst parser",
    )


def read_source(path: str, display_path: str) -> SourceFile | Diagnostic:
    """Read a file as UTF-8 (a BOM is allowed); failures are CSC001."""
    try:
        with open(path, "rb") as handle:  # noqa: PTH123
            data = handle.read()
    except OSError as exc:
        return error("CSC001", f"cannot read `{display_path}`: {exc.strerror}", Span.whole_file(display_path))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Point at the first bad byte: the text before it decodes.
        before = data[: exc.start].decode("utf-8-sig", errors="replace")
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        return error(
            "CSC001",
            f"`{display_path}` is not valid UTF-8: byte `0x{data[exc.start]:02x}` cannot be decoded",
            Span(display_path, line, col, line, col + 1),
            help="save the file as UTF-8",
        )
    return SourceFile(display_path, text)
