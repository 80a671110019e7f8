"""Parse stage: source text to a libcst outline and a stdlib AST, never run.

Stage: first. A syntax error becomes a diagnostic, never an exception.

The front end needs the CST of everything *except* function bodies (class
statements, signatures, `remote_config`, imports), while facts about bodies
are few (does it `yield`, does it call `depends(...)`, does it define a class).
libcst builds Python objects for every token and costs ~100 µs a line, so
CPython's `ast` (C, ~10x faster) parses the whole file first, every function
body is blanked to `...` keeping each line and column in place, and libcst
parses that outline: spans of the outline are spans of the real file.

Positions have one source for the tree, libcst's public `PositionProvider`, and
are computed only when a span is read (`ParsedModule.span` returns a deferred
`Span`): a chain that checks clean locates nothing. They are computed one
top-level statement at a time, up to the statement a span needs, so a
diagnostic near the top of a large file costs little. CPython's positions are
used only for what libcst never sees, inside function bodies (`ast_span`).
Imports: libcst, nesting, source, diagnostics.
"""

from __future__ import annotations

import ast
import gc
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from chainsc.diagnostics import Diagnostic, InternalError, error
from chainsc.nesting import MAX_NESTING, nesting_error
from chainsc.source import Coordinates, SourceFile, Span


@dataclass(slots=True)
class ParsedModule:
    """A parsed file: its source, its libcst outline, CPython's tree and lazy positions."""

    source: SourceFile
    #: libcst tree of the outline: function bodies are `...`, all else as written.
    module: cst.Module
    #: The complete stdlib tree, for facts about function bodies.
    tree: ast.Module
    #: The outline text libcst parsed: its lines and columns are those of the source.
    outline: SourceFile
    #: The line of each top-level statement of `module`, in order (from CPython's tree):
    #: where each statement's positions, computed on their own, start.
    statement_lines: tuple[int, ...] = ()
    #: Coordinates of every node of the statements located so far, by `id`.
    _positions: dict[int, Coordinates] = field(default_factory=dict, repr=False)
    #: How many top-level statements (from the first) have been located.
    _located: int = field(default=0, repr=False)
    _functions: dict[tuple[int, str], ast.FunctionDef | ast.AsyncFunctionDef] | None = (
        field(default=None, repr=False)
    )

    def span(self, node: cst.CSTNode) -> Span:
        """The span of `node`, which must belong to this module's tree.

        Nothing is computed until the span is read: then libcst's `PositionProvider`
        locates the top-level statements up to the one holding `node`, each on its
        own, so a file whose names nobody asks about is never located at all.
        """
        return Span.deferred(self.source.display_path, lambda: self._coordinates(node))

    def _coordinates(self, node: cst.CSTNode) -> Coordinates:
        key = id(node)
        found = self._positions.get(key)
        body = self.module.body
        while found is None and self._located < len(body):
            self._locate_statement(self._located)
            self._located += 1
            found = self._positions.get(key)
        if found is None and self._located == len(body):
            # The module's header or footer (comments before the first statement, after the last).
            self._record(self.module, 0)
            self._located += 1
            found = self._positions.get(key)
        if found is None:
            raise InternalError(
                f"node {type(node).__name__} is not in {self.source.display_path}"
            )
        return found

    def _locate_statement(self, index: int) -> None:
        """Positions of every node of top-level statement `index`, shifted to its line in the file.

        A statement's positions depend only on its own text (top-level statements
        start at column 1), so each is located in a module of its own. When the
        statements do not line up with CPython's (never seen), the whole module is
        located at once instead.
        """
        if len(self.statement_lines) != len(self.module.body):
            if index == 0:
                self._record(self.module, 0)
            return
        statement = self.module.body[index]
        single = self.module.with_changes(header=(), body=(statement,), footer=())
        ranges = _positions_of(single)
        self._record_ranges(
            ranges, self.statement_lines[index] - ranges[statement].start.line
        )

    def _record(self, module: cst.Module, shift: int) -> None:
        self._record_ranges(_positions_of(module), shift)

    def _record_ranges(
        self, ranges: Mapping[cst.CSTNode, CodeRange], shift: int
    ) -> None:
        positions = self._positions
        for node, found in ranges.items():
            start, end = found.start, found.end
            # libcst columns are 0-based characters; a span's are 1-based.
            positions[id(node)] = (
                start.line + shift,
                start.column + 1,
                end.line + shift,
                end.column + 1,
            )

    def start_position(self, node: cst.CSTNode) -> tuple[int, int]:
        """1-based (line, column) where `node` starts."""
        span = self.span(node)
        return span.line, span.col

    def code(self, node: cst.CSTNode) -> str:
        """The source code of `node`, as written (without surrounding whitespace).

        A name or a number without parentheses is its own text (most calls: libcst's
        code generation costs ~20 µs a node, 0.3 s over a 1,000-Chainlet chain).
        """
        if isinstance(node, _ATOMS) and not node.lpar:
            return node.value
        return self.module.code_for_node(node).strip()

    def function_yields(self, function: cst.FunctionDef) -> bool:
        """Whether `function` (of the outline) has `yield` in its body, which only CPython's tree holds.

        A file that never spells `yield` has none: then the function is not located.
        """
        from chainsc import bodies  # noqa: PLC0415 - avoids an import cycle

        if self._functions is None:
            # Searched once per file: most never spell `yield` at all.
            self._functions = (
                bodies.functions_by_position(self.tree)
                if "yield" in self.source.text
                else {}
            )
        if not self._functions:
            return False
        found = self._functions.get(
            (self.span(function.name).line, function.name.value)
        )
        if found is None:
            return False
        last = found.end_lineno or found.lineno
        text = self.source.text[
            self.source.line_start(found.lineno) : self.source.line_start(last)
        ]
        # Most endpoints never spell `yield`: skip the walk for them.
        return (
            "yield" in text or "yield" in self.source.line_text(last)
        ) and bodies.yields(found)

    def ast_span(self, node: ast.expr | ast.stmt) -> Span:
        """The span of a stdlib AST node (whose columns count UTF-8 bytes)."""
        end_line = node.end_lineno or node.lineno
        end_col = (
            node.end_col_offset if node.end_col_offset is not None else node.col_offset
        )
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


#: Nodes whose text is their `value` when they have no parentheses.
_ATOMS = (cst.Name, cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)


def _positions_of(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """The positions libcst computes for every node of `module`.

    libcst's position recorder turns a RecursionError inside it into a KeyError
    (its `finally` looks up a node that was never recorded); the RecursionError is
    what happened, and what `api`'s backstop reports (found under the KeyError of each enclosing node).
    """
    try:
        return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    except KeyError as exc:
        cause: BaseException | None = exc
        while isinstance(cause, KeyError):  # one KeyError per enclosing node
            cause = cause.__context__
        if isinstance(cause, RecursionError):
            raise cause from None
        raise


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
        except (
            RecursionError
        ):  # not past the bound above; should a version of libcst need more
            return error(
                "CSC002",
                "syntax error: too deeply nested for libcst's parser",
                Span.whole_file(source.display_path),
            )
    return ParsedModule(source, module, tree, outlined, statement_lines(tree))


def group_statements(tree: ast.Module) -> list[list[ast.stmt]]:
    """CPython's top-level statements grouped as libcst's are: `a = 1; b = 2` is one statement."""
    groups: list[list[ast.stmt]] = []
    end = 0
    for node in tree.body:
        if (
            node.lineno > end or not groups
        ):  # not on the line where the previous one ends (`; b = 2`)
            groups.append([node])
        else:
            groups[-1].append(node)
        end = node.end_lineno or node.lineno
    return groups


def statement_lines(tree: ast.Module) -> tuple[int, ...]:
    """The first line of each top-level statement as libcst groups them."""
    return tuple(group[0].lineno for group in group_statements(tree))


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
        return _null_byte_error(
            source
        )  # CPython names no position (a ValueError before 3.11.4)
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
        stack.extend(
            child
            for child in ast.iter_child_nodes(node)
            if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case)
        )
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
        return error(
            "CSC001",
            f"cannot read `{display_path}`: {exc.strerror}",
            Span.whole_file(display_path),
        )
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
