"""Cheap spans for the names the IR records, read from the stdlib AST.

Stage: used by parse. Every Chainlet, endpoint, parameter and model field in
the IR carries a span. CPython's parser already knows where those names are,
while libcst's positions need a codegen pass over the whole tree; so the
class, function, parameter and field names are located by walking the libcst
outline and the AST side by side, statement by statement (never into
expressions or function bodies). Other nodes, needed only for diagnostics,
fall back to the codegen index. Imports: libcst, source.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

import libcst as cst

from compiler.source import SourceFile, Span

_NAME_AFTER_KEYWORD = re.compile(r"(?:async\s+)?(?:def|class)\s+")


def locate_names(module: cst.Module, tree: ast.Module, source: SourceFile) -> dict[int, Span]:  # noqa: PLR0915 - one walker, nested helpers
    """Spans of definition names, parameters and annotated targets, by `id` of the libcst node."""
    spans: dict[int, Span] = {}
    column = source.char_column

    def name_span(line: int, byte_col: int, length: int) -> Span:
        col = column(line, byte_col)
        return Span(source.display_path, line, col, line, col + length)

    def after_keyword(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> Span | None:
        text = source.line_text(node.lineno)
        start = column(node.lineno, node.col_offset) - 1
        match = _NAME_AFTER_KEYWORD.match(text, start)
        if match is None or text[match.end() : match.end() + len(node.name)] != node.name:
            return None  # name on another line: leave it to the codegen index
        col = match.end() + 1
        return Span(source.display_path, node.lineno, col, node.lineno, col + len(node.name))

    def walk(cst_body: Sequence[cst.CSTNode], ast_body: Sequence[ast.stmt]) -> None:
        index = 0
        for statement in cst_body:
            if isinstance(statement, cst.SimpleStatementLine):
                smalls = statement.body
                for small, node in zip(smalls, ast_body[index : index + len(smalls)], strict=False):
                    if isinstance(small, cst.AnnAssign) and isinstance(node, ast.AnnAssign):
                        target, ast_target = small.target, node.target
                        if isinstance(target, cst.Name) and isinstance(ast_target, ast.Name):
                            spans[id(target)] = name_span(ast_target.lineno, ast_target.col_offset, len(target.value))
                index += len(smalls)
                continue
            if index >= len(ast_body):
                return
            node = ast_body[index]
            index += 1
            match_statement(statement, node)

    def locate_default_callees(params: cst.Parameters, arguments: ast.arguments) -> None:
        """Callee names of call defaults (`depends` in `dep=chains.depends(X)`)."""
        positional = (*params.posonly_params, *params.params)
        pairs = list(zip(positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=False))
        pairs += [(p, d) for p, d in zip(params.kwonly_params, arguments.kw_defaults, strict=False) if d is not None]
        for param, default in pairs:
            call = param.default
            if not isinstance(call, cst.Call) or not isinstance(default, ast.Call):
                continue
            callee, ast_callee = call.func, default.func
            if isinstance(callee, cst.Attribute) and isinstance(ast_callee, ast.Attribute):
                assert ast_callee.end_lineno is not None
                assert ast_callee.end_col_offset is not None
                length = len(ast_callee.attr)
                spans[id(callee.attr)] = name_span(
                    ast_callee.end_lineno, ast_callee.end_col_offset - len(ast_callee.attr.encode("utf-8")), length
                )
            elif isinstance(callee, cst.Name) and isinstance(ast_callee, ast.Name):
                spans[id(callee)] = name_span(ast_callee.lineno, ast_callee.col_offset, len(ast_callee.id))

    def match_statement(statement: cst.CSTNode, node: ast.stmt) -> None:
        if isinstance(statement, cst.ClassDef) and isinstance(node, ast.ClassDef):
            found = after_keyword(node)
            if found is not None:
                spans[id(statement.name)] = found
            walk(_body(statement), node.body)
        elif isinstance(statement, cst.FunctionDef) and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found = after_keyword(node)
            if found is not None:
                spans[id(statement.name)] = found
            arguments = node.args
            by_name = {
                arg.arg: arg
                for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg)
                if arg is not None
            }
            params = statement.params
            stars = [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
            for param in (*params.posonly_params, *params.params, *params.kwonly_params, *stars):
                arg = by_name.get(param.name.value)
                if arg is not None:
                    spans[id(param.name)] = name_span(arg.lineno, arg.col_offset, len(arg.arg))
            locate_default_callees(statement.params, arguments)
        elif isinstance(statement, cst.If) and isinstance(node, ast.If):
            # An `elif` chain is one `if` nested in the last: followed in a loop.
            branch: cst.CSTNode | None = statement
            ast_branch: ast.stmt = node
            while isinstance(branch, cst.If) and isinstance(ast_branch, ast.If):
                walk(_body(branch), ast_branch.body)
                orelse = branch.orelse
                if isinstance(orelse, cst.If) and len(ast_branch.orelse) == 1:
                    branch, ast_branch = orelse, ast_branch.orelse[0]
                    continue
                if isinstance(orelse, cst.Else):
                    walk(_body(orelse), ast_branch.orelse)
                branch = None
        elif isinstance(statement, cst.Try) and isinstance(node, ast.Try):
            walk(_body(statement), node.body)
            for handler, ast_handler in zip(statement.handlers, node.handlers, strict=False):
                walk(_body(handler), ast_handler.body)
            if statement.orelse is not None:
                walk(_body(statement.orelse), node.orelse)
            if statement.finalbody is not None:
                walk(_body(statement.finalbody), node.finalbody)

    walk(module.body, tree.body)
    return spans


def _body(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    body = getattr(node, "body", None)
    inner = getattr(body, "body", ())
    return inner if isinstance(inner, Sequence) else ()
