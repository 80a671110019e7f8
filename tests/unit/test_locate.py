"""The AST-located spans of names agree with libcst's own positions."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from compiler.locate import locate_names
from compiler.parse import ParsedModule, parse_source
from compiler.source import SourceFile

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted(p for p in (REPO / "examples").rglob("*.py") if "def " in p.read_text())

UNICODE = '''import truss_chains as chains

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
'''


def _named_nodes(module: cst.Module) -> list[cst.CSTNode]:
    nodes: list[cst.CSTNode] = []

    class Collect(cst.CSTVisitor):
        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            nodes.append(node.name)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            nodes.append(node.name)

        def visit_Param(self, node: cst.Param) -> None:
            nodes.append(node.name)
            if isinstance(node.default, cst.Call):
                func = node.default.func
                nodes.append(func.attr if isinstance(func, cst.Attribute) else func)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            nodes.append(node.target)

    module.visit(Collect())
    return nodes


@pytest.mark.parametrize("text", [UNICODE, *(path.read_text() for path in SAMPLES)], ids=["unicode", *(p.name for p in SAMPLES)])
def test_located_names_match_codegen_positions(text: str) -> None:
    parsed = parse_source(SourceFile("m.py", text))
    assert isinstance(parsed, ParsedModule)
    located = locate_names(parsed.module, parsed.tree, parsed.source)
    nodes = _named_nodes(parsed.module)
    assert nodes
    checked = 0
    for node in nodes:
        if id(node) not in located:
            continue
        # `_offsets` is the codegen index: the reference the fast path must agree with.
        assert located[id(node)] == parsed.outline.span(*parsed._offsets(node)), parsed.code(node)
        checked += 1
    assert checked >= len(nodes) * 0.9
