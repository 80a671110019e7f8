"""A bound on nesting depth, checked before any recursive walker sees a file.

Stage: used by parse, after CPython has compiled the file and before libcst
parses it. Imports: the standard library, source, diagnostics.

CPython refuses more than 200 nested brackets, but operator chains
(`1 + 1 + ...`), unary chains (`- - - 1`), `or` chains, implicit string
concatenation and `elif` chains nest without any bracket: CPython's `ast`
builds them thousands of levels deep. Past a few hundred levels every
recursive walker fails: libcst's code generation (the span index), chainsc's
evaluator and type walker, `ast.unparse`; and libcst's native parser can
overflow the C stack (a segfault, at about 10,000 `or` terms). So a file that
nests deeper than `MAX_NESTING` is refused here, with a located CSC020, and
everything after this check may recurse once per level.

Depth is counted the way libcst nests nodes, which is deeper than `ast` for
some constructs: an element of a list, dict or call counts 2 (libcst wraps it
in an `Element`/`Arg`), a subscript's index 3, `a or b or c` one level per
operand, `"a" "b" "c"` one per piece, `import a.b.c` one per dotted part.
Code inside function bodies never reaches libcst (parse blanks bodies), so
there the `ast`'s own nesting counts.

Walking every node of a large file would cost a tenth of its parse, so a
statement that is too short to nest past the limit is skipped unseen: every
level costs at least one character of source.
"""

from __future__ import annotations

import ast
import io
import tokenize
from typing import NamedTuple

from chainsc.diagnostics import Diagnostic, error
from chainsc.source import SourceFile, Span

#: The deepest nesting chainsc accepts, in libcst levels (see the module docstring).
#: At this depth every recursive walker uses well under 1,000 Python frames.
MAX_NESTING = 200

#: Extra levels (besides the child itself) of the children of these `ast` nodes, in libcst.
_ELEMENT_COST: dict[type[ast.AST], int] = {
    ast.List: 1,
    ast.Tuple: 1,
    ast.Set: 1,
    ast.Dict: 1,
    ast.Call: 1,
    ast.Compare: 1,
    ast.Subscript: 2,
}


def nesting_error(source: SourceFile, tree: ast.Module) -> Diagnostic | None:
    """CSC020 at the first construct nested deeper than `MAX_NESTING`, if any."""
    line_start = source.line_start
    stack: list[_Item] = [
        _Item(statement, 1, _OUTLINE | _SKIPPABLE, None) for statement in tree.body
    ]
    while stack:
        item = stack.pop()
        node, depth, flags = item.node, item.depth, item.flags
        # A definition's decorators are before its span: it is never skipped by its size.
        if flags & _SKIPPABLE and not getattr(node, "decorator_list", None):
            # Each level costs at least one character: the span's length bounds the depth inside.
            line: int = node.lineno  # type: ignore[attr-defined]
            end_line: int = node.end_lineno or line  # type: ignore[attr-defined]
            end_col: int = node.end_col_offset or 0  # type: ignore[attr-defined]
            col: int = node.col_offset  # type: ignore[attr-defined]
            # UTF-8 bytes, at least the characters; from the start of its first line if it spans lines.
            size = (
                end_col - col
                if end_line == line
                else line_start(end_line) - line_start(line) + end_col
            )
            if depth + size + 2 <= MAX_NESTING:
                continue
        extra = _extra_levels(source, node, flags)
        depth += extra
        if depth > MAX_NESTING:
            return _too_deep(source, item if extra else item.parent or item)
        is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        element_cost = _ELEMENT_COST.get(type(node), 0)
        inherited = flags & ~_SKIPPABLE
        if isinstance(node, ast.JoinedStr):
            inherited |= (
                _IN_FSTRING  # positions inside f-strings are not reliable (Python 3.11)
            )
        for name, value in ast.iter_fields(node):
            children = value if isinstance(value, list) else [value]
            for child in children:
                if not isinstance(child, ast.AST) or isinstance(
                    child, ast.expr_context
                ):
                    continue
                child_depth = depth + 1
                if (
                    element_cost and flags & _OUTLINE and name not in ("value", "func")
                ):  # not `a` of `a[i]`
                    child_depth += element_cost  # libcst's wrappers (`Element`, `Arg`): outside function bodies
                child_flags = inherited
                if is_function and name == "body":
                    child_flags &= (
                        ~_OUTLINE
                    )  # function bodies are not in libcst's outline
                if not child_flags & _IN_FSTRING and hasattr(child, "end_lineno"):
                    child_flags |= (
                        _SKIPPABLE  # a position to measure (exact outside f-strings)
                    )
                stack.append(_Item(child, child_depth, child_flags, item))
    return None


#: Flags of a node on the walk's stack.
_OUTLINE = 1  # outside function bodies: libcst parses it
_SKIPPABLE = 2  # its position is known and exact, so its length bounds its depth
_IN_FSTRING = 4  # inside an f-string


class _Item(NamedTuple):
    """A node on the walk's stack."""

    node: ast.AST
    depth: int
    flags: int
    parent: _Item | None


def _extra_levels(source: SourceFile, node: ast.AST, flags: int) -> int:
    """Levels libcst adds to a node that `ast` keeps flat (only counted where libcst parses)."""
    if not flags & _OUTLINE:
        return 0
    if isinstance(node, ast.BoolOp):
        return len(node.values) - 1
    if isinstance(node, ast.Import | ast.ImportFrom):
        names = [alias.name for alias in node.names]
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        return max(name.count(".") for name in names)
    is_string = isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
    )
    if is_string and not flags & _IN_FSTRING:
        assert isinstance(node, ast.expr)
        return _string_pieces(source, node) - 1
    return 0


def _string_pieces(source: SourceFile, node: ast.expr) -> int:
    """How many string literals make up `node` (`"a" "b"` is two)."""
    end_line = node.end_lineno or node.lineno
    if (
        end_line == node.lineno
        and (node.end_col_offset or 0) - node.col_offset < 2 * MAX_NESTING
    ):
        return 1  # too short to hold many pieces: the common case, no tokenizing
    start = (
        source.line_start(node.lineno)
        + source.char_column(node.lineno, node.col_offset)
        - 1
    )
    end = (
        source.line_start(end_line)
        + source.char_column(end_line, node.end_col_offset or 0)
        - 1
    )
    text = source.text[start:end]
    # Every piece has at least two quote characters: most long strings are one piece.
    if text.count('"') + text.count("'") < 2 * MAX_NESTING:
        return 1
    # Python 3.12 tokenizes an f-string in parts, from an FSTRING_START.
    starts = {tokenize.STRING, getattr(tokenize, "FSTRING_START", tokenize.STRING)}
    pieces = 0
    try:
        # In brackets, line breaks and indentation between the pieces are not tokens.
        for token in tokenize.generate_tokens(io.StringIO(f"({text})").readline):
            pieces += token.type in starts
    except (tokenize.TokenError, SyntaxError):
        pass
    return max(pieces, 1)


def _too_deep(source: SourceFile, item: _Item) -> Diagnostic:
    """CSC020 at the outermost of the run of like nodes `item` is in: the start of a long chain."""
    while item.parent is not None and (
        not hasattr(item.node, "lineno") or type(item.parent.node) is type(item.node)
    ):
        item = item.parent
    node = item.node
    line: int = node.lineno  # type: ignore[attr-defined]
    col = source.char_column(line, node.col_offset)  # type: ignore[attr-defined]
    what = "statement" if isinstance(node, ast.stmt) else "expression"
    if isinstance(node, ast.If):
        help_text = "write a long `elif` chain as a lookup in a dict"
    elif isinstance(node, ast.JoinedStr | ast.Constant):
        help_text = "write many adjacent strings as one (a triple-quoted string), or join a list of them"
    else:
        help_text = "split it: give parts of it names of their own (`A = ...`, then `B = A + ...`)"
    return error(
        "CSC020",
        f"this {what} is nested more than {MAX_NESTING} levels deep, more than chainsc supports",
        Span(source.display_path, line, col, line, col + 1),
        help=help_text,
    )
