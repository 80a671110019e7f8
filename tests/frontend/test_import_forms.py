"""Every import form of the API gives the same IR."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainsc import check_file
from chainsc.ir_dump import to_jsonable

BODY = """

class Splitter({base}):
    remote_config = {mod}RemoteConfig(compute={mod}Compute(cpu_count=2, memory="1Gi"))

    def run_remote(self, text: str) -> list[str]:
        return text.split()


@{mark}
class Entry({base}):
    def __init__(self, splitter={depends}(Splitter, retries=3), context={ctx}()) -> None:
        self._splitter = splitter

    async def run_remote(self, text: str) -> int:
        return len(self._splitter.run_remote(text))
"""

FORMS = {
    "alias": (
        "import truss_chains as chains",
        "chains.ChainletBase",
        "chains.",
        "chains.mark_entrypoint",
        "chains.depends",
        "chains.depends_context",
    ),
    "plain": (
        "import truss_chains",
        "truss_chains.ChainletBase",
        "truss_chains.",
        "truss_chains.mark_entrypoint",
        "truss_chains.depends",
        "truss_chains.depends_context",
    ),
    "from_as": (
        "from truss_chains import ChainletBase as Base, depends, depends_context as ctx, mark_entrypoint, RemoteConfig, Compute",
        "Base",
        "",
        "mark_entrypoint",
        "depends",
        "ctx",
    ),
    "guarded": (
        "try:\n    import truss_chains as chains\nexcept ImportError:\n    chains = None",
        "chains.ChainletBase",
        "chains.",
        "chains.mark_entrypoint",
        "chains.depends",
        "chains.depends_context",
    ),
    "chainsc_runtime": (
        "import chainsc_runtime as chains",
        "chains.ChainletBase",
        "chains.",
        "chains.mark_entrypoint",
        "chains.depends",
        "chains.depends_context",
    ),
    "runtime_lib": (
        "import runtime_lib as chains",
        "chains.ChainletBase",
        "chains.",
        "chains.mark_entrypoint",
        "chains.depends",
        "chains.depends_context",
    ),
}


def _without_spans(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_spans(v) for k, v in value.items() if k != "span"}
    if isinstance(value, list):
        return [_without_spans(v) for v in value]
    return value


def _build(tmp_path: Path, form: str) -> object:
    header, base, mod, mark, depends, ctx = FORMS[form]
    path = tmp_path / form / "chain.py"
    path.parent.mkdir()
    path.write_text(
        header
        + "\n"
        + BODY.format(base=base, mod=mod, mark=mark, depends=depends, ctx=ctx)
    )
    result = check_file(path)
    assert not result.diagnostics, result.diagnostics
    assert result.chain is not None
    return _without_spans(to_jsonable(result.chain))


@pytest.mark.parametrize("form", sorted(set(FORMS) - {"alias"}))
def test_import_form_gives_the_same_ir(tmp_path: Path, form: str) -> None:
    expected = _build(tmp_path, "alias")
    assert _build(tmp_path, form) == expected
