"""Facts about function bodies, read from the stdlib AST.

Stage: used by extract. The libcst outline has no function bodies (see
`chainsc.parse`), so the few facts the front end needs from inside them come
from CPython's `ast` tree of the same file: whether a function yields, the
calls spelled `depends(...)`/`depends_context(...)`, and class statements
hidden inside functions, loops or `with` blocks. Imports: the standard library.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator

#: Callee names of the dependency markers.
MARKER_NAMES = frozenset({"depends", "depends_context"})
_SCOPES: dict[type[ast.AST], str] = {
    ast.For: "a `for` loop",
    ast.AsyncFor: "a `for` loop",
    ast.While: "a `while` loop",
    ast.With: "a `with` block",
    ast.AsyncWith: "a `with` block",
}


def functions_by_position(
    tree: ast.Module,
) -> dict[tuple[int, str], ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function statement by (def line, name), found by walking statements only."""
    found: dict[tuple[int, str], ast.FunctionDef | ast.AsyncFunctionDef] = {}
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[(node.lineno, node.name)] = node
        stack.extend(
            child
            for child in ast.iter_child_nodes(node)
            if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case)
        )
    return found


def yields(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the function's own body (not a nested scope) contains `yield`."""
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
        ):
            continue  # a nested scope's yields are its own
        stack.extend(ast.iter_child_nodes(node))
    return False


#: How a marker call is spelled in text: a cheap pre-check before any tree walk.
MARKER_TEXT = re.compile(r"\bdepends(?:_context)?\s*\(")


def marker_calls(tree: ast.Module) -> Iterator[tuple[ast.Call, bool]]:
    """Calls whose callee is spelled `depends`/`depends_context` (`x.depends` too).

    Each with whether it is inside a function body (which the libcst outline blanks).
    """
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, in_body = stack.pop()
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else None
            )
            if name in MARKER_NAMES:
                yield node, in_body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not in_body:
            for field_name, value in ast.iter_fields(node):
                children = value if isinstance(value, list) else [value]
                stack.extend(
                    (child, field_name == "body")
                    for child in children
                    if isinstance(child, ast.AST)
                )
            continue
        stack.extend((child, in_body) for child in ast.iter_child_nodes(node))


def dotted_name(node: ast.expr) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def callee_position(call: ast.Call) -> tuple[int, int]:
    """(line, UTF-8 byte column) where the callee's last name starts."""
    func = call.func
    if isinstance(func, ast.Attribute):
        assert func.end_lineno is not None
        assert func.end_col_offset is not None
        return func.end_lineno, func.end_col_offset - len(func.attr.encode("utf-8"))
    return func.lineno, func.col_offset


def hidden_classes(tree: ast.Module) -> list[tuple[ast.ClassDef, str]]:
    """Class statements inside a function, loop or `with` block, with where they are."""
    found: list[tuple[ast.ClassDef, str]] = []

    def walk(node: ast.AST, scope: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.stmt | ast.excepthandler | ast.match_case):
                continue
            inner = scope
            if isinstance(child, ast.ClassDef) and scope is not None:
                found.append((child, scope))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = f"function `{child.name}`"
            elif type(child) in _SCOPES:
                inner = _SCOPES[type(child)]
            walk(child, inner)

    walk(tree, None)
    found.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
    return found


#: A name followed by `(` (`Name(`, `mod.Name(`), with `class`/`def` before it when it is
#: a definition: the cheap text pre-check before looking for Chainlets constructed by hand.
_CALL_TEXT = re.compile(r"(?<!\w)((?:class|def)\s++)?+([A-Za-z_]\w*+)\s*+\(")


def spells_call(text: str, names: frozenset[str]) -> bool:
    """Whether `text` calls one of `names` (by the text: a definition `class Name(` is none).

    One pass, counted in C (`findall`, `Counter`): no Python work per call of the file.
    """
    found = Counter(_CALL_TEXT.findall(text))
    return any(found[("", name)] for name in names)


def constructions(tree: ast.Module, names: frozenset[str]) -> list[ast.Call]:
    """Calls of one of `names` (`Name(...)`, `mod.Name(...)`) that run with the chain.

    Outside `if __name__ == "__main__":` blocks (a script, never part of the chain) and
    outside `with ...run_local(...):` blocks (where Chainlets are built by hand on purpose).
    """
    found: list[ast.Call] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_main_guard(node):
            continue
        if isinstance(node, ast.With | ast.AsyncWith) and any(
            _is_run_local(item.context_expr) for item in node.items
        ):
            continue
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else None
            )
            if name in names:
                found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    found.sort(key=lambda call: (call.lineno, call.col_offset))
    return found


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _is_run_local(node: ast.expr) -> bool:
    """`chains.run_local(...)` (any spelling whose last name is `run_local`)."""
    if not isinstance(node, ast.Call):
        return False
    dotted = dotted_name(node.func)
    return dotted is not None and dotted.rpartition(".")[2] == "run_local"
