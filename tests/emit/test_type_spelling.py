"""One type renderer: a type reads the same in the client, the README and the dumps.

`typetext.render_type` renders every type chainsc writes; generated code and
documentation differ only in how a name is qualified (`typing.Any` in code, `Any` in
documentation; a user type is `Outer.Inner` in both).
"""

from __future__ import annotations

import re

import pytest

from chainsc import api, ir
from chainsc.emit.pycode import Imports, render_annotation
from chainsc.ir_dump import render_signature
from chainsc.source import Span
from chainsc.typetext import render_type
from tests.conftest import EXAMPLES

SPAN = Span("m.py", 1, 0, 1, 1)


def _typedef(id_: str, module: str, qualname: str) -> ir.TypeDef:
    return ir.TypeDef(
        id=id_,
        module=module,
        qualname=qualname,
        kind=ir.TypeDefKind.PYDANTIC,
        span=SPAN,
    )


TYPES = {
    "app.schemas.Result.Doc": _typedef(
        "app.schemas.Result.Doc", "app.schemas", "Result.Doc"
    ),
    "app.schemas.Result": _typedef("app.schemas.Result", "app.schemas", "Result"),
}


def _ref(
    kind: ir.TypeKind, name: str, *args: ir.TypeRef, **extra: object
) -> ir.TypeRef:
    return ir.TypeRef(kind, name, tuple(args), **extra)  # type: ignore[arg-type]


NESTED = _ref(ir.TypeKind.USER, "app.schemas.Result.Doc")
STR = _ref(ir.TypeKind.BUILTIN, "str")
CASES = [
    (NESTED, "Result.Doc"),
    (_ref(ir.TypeKind.LIST, "list", NESTED), "list[Result.Doc]"),
    (
        _ref(ir.TypeKind.DICT, "dict", STR, _ref(ir.TypeKind.ANY, "Any")),
        "dict[str, Any]",
    ),
    (
        _ref(ir.TypeKind.UNION, "Union", NESTED, _ref(ir.TypeKind.NONE, "None")),
        "Result.Doc | None",
    ),
    (_ref(ir.TypeKind.TUPLE, "tuple", STR, is_variadic=True), "tuple[str, ...]"),
    (_ref(ir.TypeKind.ITERATOR, "Generator", STR), "Iterator[str]"),
    (_ref(ir.TypeKind.ASYNC_ITERATOR, "AsyncIterator", STR), "AsyncIterator[str]"),
    (
        _ref(ir.TypeKind.LITERAL, "Literal", literals=("a", True, 3)),
        "Literal['a', True, 3]",
    ),
    (_ref(ir.TypeKind.STDLIB, "datetime.datetime"), "datetime.datetime"),
    (_ref(ir.TypeKind.NUMPY_ARRAY, "NumpyArrayField"), "NumpyArrayField"),
]


@pytest.mark.parametrize(("ref", "docs"), CASES, ids=[docs for _, docs in CASES])
def test_code_and_docs_spell_a_type_alike_but_for_module_prefixes(
    ref: ir.TypeRef, docs: str
) -> None:
    assert render_type(ref, TYPES) == docs
    code = render_annotation(ref, TYPES, Imports())
    assert re.sub(r"\b(typing|collections\.abc)\.", "", code) == docs


def test_generated_code_imports_what_it_names() -> None:
    imports = Imports()
    assert (
        render_annotation(_ref(ir.TypeKind.LIST, "list", NESTED), TYPES, imports)
        == "list[Result.Doc]"
    )
    assert imports.lines() == ["from app.schemas import Result"]


def test_the_client_the_readme_and_the_dumps_spell_a_nested_type_alike() -> None:
    """`Summarizer.run_remote` returns `PipelineResult.DocumentResult` (a nested class)."""
    result = api.build_file(EXAMPLES / "text_pipeline" / "chain.py")
    assert result.files is not None
    spelled = "-> PipelineResult.DocumentResult"
    client = result.files["summarizer/client.py"].decode()
    readme = result.files["README.md"].decode()
    (row,) = [
        line for line in readme.splitlines() if line.startswith("| `Summarizer` |")
    ]
    assert f"{spelled}:" in client
    assert f"{spelled}`" in row
    checked = api.check_file(EXAMPLES / "text_pipeline" / "chain.py")
    assert checked.chain is not None
    types = {t.id: t for t in checked.chain.types}
    (summarizer,) = [c for c in checked.chain.chainlets if c.name == "Summarizer"]
    assert render_signature(summarizer.endpoint, types).endswith(spelled)
