"""Parse stage: source text to a libcst outline and a stdlib AST, never run.

Stage: first. A syntax error becomes a diagnostic, never an exception.

The front end needs the CST of everything *except* function bodies (class
statements, signatures, `remote_config`, imports), while facts about bodies
are few (does it `yield`, does it call `depends(...)`, does it define a class).
libcst builds Python objects for every token and costs ~100 µs a line, so
CPython's `ast` (C, ~10x faster) parses the whole file first, every function
body is blanked to `...` keeping each line and column in place, and libcst
parses that outline: spans of the outline are spans of the real file.

Positions are computed lazily and cheaply: one codegen pass records plain
character offsets, which `SourceFile` turns into lines and columns (libcst's
PositionProvider costs several times more). Imports: libcst, source, diagnostics.
"""

from __future__ import annotations

import ast
import gc
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import libcst as cst
from libcst._nodes.internal import CodegenState

from compiler.diagnostics import Diagnostic, InternalError, error
from compiler.nesting import MAX_NESTING, nesting_error
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

    def record_syntactic_position(  # type: ignore[override]  # a plain context manager, not a generator
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> _SyntacticPosition:
        return _SyntacticPosition(self, node, start_node, end_node)


class _SyntacticPosition:
    """`record_syntactic_position` as a class, not a generator.

    A generator-based context manager costs ~1 µs per node, which adds up
    to a tenth of a second on large files.
    """

    __slots__ = ("end_node", "node", "start", "start_node", "state")

    def __init__(
        self,
        state: _OffsetCodegenState,
        node: cst.CSTNode,
        start_node: cst.CSTNode | None,
        end_node: cst.CSTNode | None,
    ) -> None:
        self.state = state
        self.node = node
        self.start_node = start_node
        self.end_node = end_node
        self.start = state.offset

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        if exc_type is not None:
            return  # the inner nodes were not recorded: a KeyError here would hide the real error
        state = self.state
        key = id(self.node)
        state.starts[key] = state.starts[id(self.start_node)] if self.start_node is not None else self.start
        state.ends[key] = state.ends[id(self.end_node)] if self.end_node is not None else state.offset


@dataclass(slots=True)
class ParsedModule:
    """A parsed file: its source, its CST outline, its AST and a lazy span index."""

    source: SourceFile
    #: libcst tree of the outline: function bodies are `...`, all else as written.
    module: cst.Module
    #: The complete stdlib tree, for facts about function bodies.
    tree: ast.Module
    #: The outline text libcst parsed: offsets of the CST are offsets into it.
    outline: SourceFile
    _starts: dict[int, int] = field(default_factory=dict, repr=False)
    _ends: dict[int, int] = field(default_factory=dict, repr=False)
    _indexed: bool = field(default=False, repr=False)
    _names: dict[int, Span] | None = field(default=None, repr=False)
    _functions: dict[tuple[int, str], ast.FunctionDef | ast.AsyncFunctionDef] | None = field(default=None, repr=False)

    def _offsets(self, node: cst.CSTNode) -> tuple[int, int]:
        if not self._indexed:
            state = _OffsetCodegenState(self.module, self._starts, self._ends)
            with gc_paused():
                self.module._codegen(state)
            self._indexed = True
        key = id(node)
        if key not in self._starts:
            raise InternalError(f"node {type(node).__name__} is not in {self.source.display_path}")
        return self._starts[key], self._ends[key]

    def span(self, node: cst.CSTNode) -> Span:
        """The span of `node`, which must belong to this module's tree.

        Lines and columns of the outline are those of the real file. Names of
        definitions come from the AST; anything else from the codegen index.
        """
        if self._names is None:
            from compiler.locate import locate_names  # noqa: PLC0415 - avoids an import cycle

            self._names = locate_names(self.module, self.tree, self.source)
        found = self._names.get(id(node))
        if found is not None:
            return found
        return self.outline.span(*self._offsets(node))

    def start_position(self, node: cst.CSTNode) -> tuple[int, int]:
        """1-based (line, column) where `node` starts."""
        span = self.span(node)
        return span.line, span.col

    def code(self, node: cst.CSTNode) -> str:
        """The source code of `node`, as written (without surrounding whitespace)."""
        return self.module.code_for_node(node).strip()

    def function_yields(self, line: int, name: str) -> bool:
        """Whether the function `name` defined on `line` has `yield` in its body."""
        from compiler import bodies  # noqa: PLC0415 - avoids an import cycle

        if self._functions is None:
            self._functions = bodies.functions_by_position(self.tree)
        function = self._functions.get((line, name))
        if function is None:
            return False
        last = function.end_lineno or function.lineno
        text = self.source.text[self.source.line_start(function.lineno) : self.source.line_start(last)]
        # Most endpoints never spell `yield`: skip the walk for them.
        return ("yield" in text or "yield" in self.source.line_text(last)) and bodies.yields(function)

    def ast_span(self, node: ast.expr | ast.stmt) -> Span:
        """The span of a stdlib AST node (whose columns count UTF-8 bytes)."""
        end_line = node.end_lineno or node.lineno
        end_col = node.end_col_offset if node.end_col_offset is not None else node.col_offset
        return Span(
            self.source.display_path,
            node.lineno,
            self.char_column(node.lineno, node.col_offset),
            end_line,
            self.char_column(end_line, end_col),
        )

    def char_column(self, line: int, byte_offset: int) -> int:
        """1-based character column of a UTF-8 byte offset into a line."""
        return self.source.char_column(line, byte_offset)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while libcst allocates: it makes no cycles we must free."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_source(source: SourceFile) -> ParsedModule | Diagnostic:
    """Parse one file; what CPython refuses, or what nests too deep, comes back as a diagnostic."""
    with gc_paused():
        tree = compile_source(source)
        if isinstance(tree, Diagnostic):
            return tree
        too_deep = nesting_error(source, tree)
        if too_deep is not None:
            return too_deep  # libcst and every walker after this recurse once per level
        try:
            outlined = SourceFile(source.display_path, outline(source, tree))
            module = cst.parse_module(outlined.text)
        except cst.ParserSyntaxError as exc:
            return _libcst_syntax_error(source, exc)
        except RecursionError:  # not past the bound above; should a version of libcst need more
            return error("CSC002", "syntax error: too deeply nested for libcst's parser", Span.whole_file(source.display_path))
    return ParsedModule(source, module, tree, outlined)


def compile_source(source: SourceFile) -> ast.Module | Diagnostic:
    """Parse and compile a file with CPython's own compiler, never running it: CSC002 if it refuses.

    The one place every source chainsc reads (the chain file and each local
    module) goes through. `ast.parse` finds errors of the grammar; compiling
    the tree finds what only the compiler checks (`keyword argument repeated`,
    `'await' outside async function`, `'break' outside loop`, duplicate
    parameters, `nonlocal` at module level, ...), so a file Python would refuse
    to import never builds. The grammar is that of the Python running chainsc.
    Compiling the tree already parsed costs about a third of a parse.
    """
    display = source.display_path
    if "\0" in source.text:
        return _null_byte_error(source)  # CPython names no position (a ValueError before 3.11.4)
    try:
        # Warnings (`"\d"`, `x is 1`) are Python's to give when the code runs; under
        # `-W error` they would even become SyntaxErrors.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source.text, filename=display)
            compile(tree, display, "exec", flags=0, dont_inherit=True)
    except SyntaxError as exc:
        return _cpython_syntax_error(source, exc)
    except ValueError as exc:  # anything else CPython refuses to read as source
        return error("CSC002", f"syntax error: {exc}", Span.whole_file(display))
    except (RecursionError, MemoryError) as exc:
        # CPython's parser and compiler guard their own stacks: too deep for Python itself.
        return error(
            "CSC002",
            f"syntax error: too deeply nested for Python's parser ({type(exc).__name__})",
            Span.whole_file(display),
            help="Python itself cannot compile this file: split long or deeply nested expressions",
        )
    return tree


def parse_expression_text(text: str) -> cst.BaseExpression | str:
    """Parse an expression that is not part of a file's tree, or say why not.

    A string annotation, or a snippet of source; the reason is "is not a valid
    expression" or "nests more than ... levels deep". The same checks as a file's: CPython compiles it first and its nesting is bounded,
    so libcst's native parser never sees what could overflow its stack.
    """
    source = SourceFile("<expression>", f"({text}\n)")
    tree = compile_source(source)
    if isinstance(tree, Diagnostic) or len(tree.body) != 1:
        return "is not a valid expression"
    if nesting_error(source, tree) is not None:
        return f"nests more than {MAX_NESTING} levels deep, more than chainsc supports"
    try:
        with gc_paused():
            return cst.parse_expression(text)
    except cst.ParserSyntaxError:
        return "is not a valid expression"


def outline(source: SourceFile, tree: ast.Module) -> str:
    """The source with every function body replaced by `...`, lines and columns kept.

    Only the characters of a body are touched: its line breaks stay, so every
    position outside the bodies is unchanged.
    """
    regions: list[tuple[int, int]] = []
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first, last = node.body[0], node.body[-1]
            assert last.end_lineno is not None
            assert last.end_col_offset is not None
            regions.append(
                (
                    _offset(source, first.lineno, first.col_offset),
                    _offset(source, last.end_lineno, last.end_col_offset),
                )
            )
            continue  # nested functions are inside the blanked region
        stack.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case))
    if not regions:
        return source.text
    text = source.text
    pieces: list[str] = []
    cursor = 0
    for start, end in sorted(regions):
        pieces.append(text[cursor:start])
        body = text[start:end]
        pieces.append("..." + "".join(char for char in body if char in "\r\n"))
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _offset(source: SourceFile, line: int, byte_col: int) -> int:
    """Character offset of a (1-based line, UTF-8 byte column) position."""
    return source.line_start(line) + source.char_column(line, byte_col) - 1


def _cpython_syntax_error(source: SourceFile, py_exc: SyntaxError) -> Diagnostic:
    """Report a syntax error the way CPython words and places it.

    CPython's messages ("'(' was never closed", "keyword argument repeated: a")
    are better than libcst's, and `ast.parse` and `compile` never run anything.
    """
    line = min(max(1, py_exc.lineno or 1), source.line_count)
    line_length = len(source.line_text(line))
    # CPython offsets are 1-based character columns of the decoded line; some (f-strings
    # in Python 3.11) point one past the end of the line.
    col = min(max(1, py_exc.offset or 1), line_length + 1)
    end_col = col + 1
    if py_exc.end_lineno == line and py_exc.end_offset and py_exc.end_offset > col:
        end_col = min(py_exc.end_offset, max(line_length + 1, col + 1))
    help_text = None
    if _TYPE_STATEMENT.match(source.line_text(line)):
        help_text = (
            "a `type X = ...` statement needs Python 3.12, and chains run on 3.11 by default: "
            "write `X: TypeAlias = ...` (from typing) instead"
        )
    return error(
        "CSC002",
        f"syntax error: {py_exc.msg}",
        Span(source.display_path, line, col, line, end_col),
        help=help_text,
    )


def _null_byte_error(source: SourceFile) -> Diagnostic:
    """CSC002 at the first NUL character."""
    line, col = source.position(source.text.find("\0"))
    return error(
        "CSC002",
        "syntax error: source code cannot contain null bytes",
        Span(source.display_path, line, col, line, col + 1),
        help="a NUL character is not valid in Python source; write `\\0` in a string",
    )


#: A PEP 695 `type` statement, which Python 3.11 (chainsc's parser, Truss's default image) rejects.
_TYPE_STATEMENT = re.compile(r"\s*type\s+[^\W\d]\w*\s*(\[[^\]]*\])?\s*=")


def _libcst_syntax_error(source: SourceFile, exc: cst.ParserSyntaxError) -> Diagnostic:
    """Syntax CPython accepts but libcst does not."""
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
