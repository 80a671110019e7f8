from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from compiler.diagnostics import Diagnostic
from compiler.parse import ParsedModule, parse_source
from compiler.source import SourceFile

SAMPLE = '''import truss_chains as chains  # comment


@chains.mark_entrypoint
class Hello(chains.ChainletBase):
    """Doc."""

    def run_remote(self, name: str, n: int = 2) -> list[str]:
        return [f"hi {name}"] * n


X = {"a": [1, 2], "b": (3,)}
'''


def test_offsets_match_libcst_position_provider_for_every_node() -> None:
    parsed = parse_source(SourceFile("chain.py", SAMPLE))
    assert isinstance(parsed, ParsedModule)
    wrapper = MetadataWrapper(parsed.module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    checked = 0
    for node, code_range in positions.items():
        if isinstance(node, cst.Module):
            continue  # libcst drops the final newline from the module's end; never reported
        span = parsed.span(node)
        assert (span.line, span.col - 1) == (code_range.start.line, code_range.start.column), node
        assert (span.end_line, span.end_col - 1) == (code_range.end.line, code_range.end.column), node
        checked += 1
    assert checked > 50


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
        "        \"\"\"Doc é.\"\"\"\n"
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
    assert parsed.function_yields(2, "f") is False
    assert parsed.function_yields(4, "inner") is True
