from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from chainsc.diagnostics import Diagnostic
from chainsc.parse import ParsedModule, parse_source
from chainsc.source import SourceFile

SAMPLE = '''import truss_chains as chains  # comment


@chains.mark_entrypoint
class Hello(chains.ChainletBase):
    """Doc."""

    def run_remote(self, name: str, n: int = 2) -> list[str]:
        return [f"hi {name}"] * n


X = {"a": [1, 2], "b": (3,)}
'''


REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(
    p for p in (REPO / "examples").rglob("*.py") if "def " in p.read_text()
)

UNICODE = '''"""Docstring."""
import truss_chains as chains  # header comment

if True:
    class Größe(chains.ChainletBase):
        ümlaut: "int" = 1

        def run_remote(self, ä: str = "é", *, b: int = 2) -> str:
            return ä

else:
    pass

try:
    class T:
        def m(self, dep=chains.depends(Größe), ctx=chains.depends_context()) -> None: ...
except ImportError:
    pass
a = 1; b = 2
c = (1,
     2); d = 3


# a comment before decorators
@chains.mark_entrypoint  # trailing
# between
@other(
    1,
)
class Last:  # end
    x: int = 1
'''


@pytest.mark.parametrize(
    "text",
    [
        SAMPLE,
        UNICODE,
        UNICODE.replace("\n", "\r\n"),
        *(path.read_text() for path in EXAMPLES),
    ],
    ids=["sample", "unicode", "crlf", *(p.name for p in EXAMPLES)],
)
def test_spans_are_libcst_positions_of_the_whole_outline(text: str) -> None:
    """Located a statement at a time, every node is where libcst places it in the whole outline."""
    parsed = parse_source(SourceFile("chain.py", text))
    assert isinstance(parsed, ParsedModule)
    wrapper = MetadataWrapper(parsed.module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    checked = 0
    # Backwards: the last statement is located first, every earlier one on the way.
    for node, code_range in reversed(list(positions.items())):
        if isinstance(node, cst.Module):
            continue  # libcst drops the final newline from the module's end; never reported
        span = parsed.span(node)
        assert (span.line, span.col - 1) == (
            code_range.start.line,
            code_range.start.column,
        ), node
        assert (span.end_line, span.end_col - 1) == (
            code_range.end.line,
            code_range.end.column,
        ), node
        checked += 1
    assert checked > 50


def test_spans_are_computed_only_when_read_and_only_as_far_as_needed() -> None:
    parsed = parse_source(SourceFile("chain.py", SAMPLE))
    assert isinstance(parsed, ParsedModule)
    first, second = parsed.module.body[0], parsed.module.body[1]
    assert isinstance(second, cst.ClassDef)
    span = parsed.span(second.name)
    assert parsed._located == 0  # nothing located until the span is read
    assert (span.line, span.col, span.end_col) == (5, 7, 12)
    assert parsed._located == 2  # the statements up to the one holding the node
    assert parsed.span(first).line == 1
    assert parsed._located == 2


def test_syntax_error_is_a_located_diagnostic_with_cpython_wording() -> None:
    result = parse_source(SourceFile("bad.py", "x = (1,\ny = 2\n"))
    assert isinstance(result, Diagnostic)
    assert result.code == "CSC002"
    assert "was never closed" in result.message
    assert (result.span.line, result.span.col) == (1, 5)


def test_crlf_sources_get_correct_lines() -> None:
    parsed = parse_source(SourceFile("w.py", "a = 1\r\nclass B:\r\n    pass\r\n"))
    assert isinstance(parsed, ParsedModule)
    statement = parsed.module.body[1]
    assert isinstance(statement, cst.ClassDef)
    span = parsed.span(statement.name)
    assert (span.line, span.col, span.end_col) == (2, 7, 8)


def test_outline_blanks_function_bodies_and_keeps_every_position() -> None:
    text = (
        "class A:\n"
        "    def f(self, x: int = 1) -> str:  # keep\n"
        '        """Doc é."""\n'
        "        def inner():\n"
        "            yield 'ü'\n"
        "        return 'é' * x\n"
        "\n"
        "    async def g(self) -> int: return 1\n"
        "\n"
        "Z = {'ü': 1}  # after\n"
    )
    source = SourceFile("m.py", text)
    parsed = parse_source(source)
    assert isinstance(parsed, ParsedModule)
    outlined = parsed.outline.text
    assert outlined.count("\n") == text.count("\n")
    assert "yield" not in outlined
    assert "return" not in outlined
    assert "    def f(self, x: int = 1) -> str:  # keep\n        ...\n" in outlined
    assert "async def g(self) -> int: ...\n" in outlined
    last = parsed.module.body[-1]
    assert isinstance(last, cst.SimpleStatementLine)
    span = parsed.span(last.body[0])
    assert (span.line, span.col) == (10, 1)
    assert source.line_text(span.line).startswith("Z = {'ü': 1}")
    cls = parsed.module.body[0]
    assert isinstance(cls, cst.ClassDef)
    f, g = (
        statement
        for statement in cls.body.body
        if isinstance(statement, cst.FunctionDef)
    )
    assert parsed.function_yields(f) is False  # only its nested function yields
    assert parsed.function_yields(g) is False
