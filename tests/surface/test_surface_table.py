"""`docs/truss_chains_surface.md` agrees with the compiler's rule and with the runtime.

Every row is checked three ways: `chainsc.surface.check_path` gives the row's verdict
(provided, or the code and message written there); a chain that imports the name and
uses it as an attribute gets exactly that code from `chainsc check` at both places; and a
provided name exists in the runtime module that answers for its truss module. Together
with `test_truss_surface.py` (the rows are truss's public names) this closes the loop:
nothing truss_chains offers can build and then be missing at run time.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from chainsc import check_file
from chainsc.surface import (
    RUNTIME_MODULES,
    SURFACE_CODES,
    UNSUPPORTED,
    check_path,
    runtime_names,
)
from tests.conftest import REPO
from tests.surface.table import DOC, Row, rows

ROWS = rows()


def _runtime_module(truss_module: str) -> object:
    stem = RUNTIME_MODULES[truss_module]
    return importlib.import_module(
        "chainsc_runtime" if stem == "__init__" else f"chainsc_runtime.{stem}"
    )


def test_the_table_has_one_row_per_name() -> None:
    keys = [(row.module, row.name) for row in ROWS]
    assert len(keys) > 90
    assert len(keys) == len(set(keys))
    assert {row.module for row in ROWS} <= set(RUNTIME_MODULES)


@pytest.mark.parametrize("row", ROWS, ids=[f"{row.module}.{row.name}" for row in ROWS])
def test_row_agrees_with_the_compiler_and_the_runtime(row: Row) -> None:
    finding = check_path(row.path)
    if row.code is None:
        assert finding is None, f"the table says provided; chainsc reports {finding}"
        assert hasattr(_runtime_module(row.module), row.name)
    else:
        assert finding is not None, (
            "the table lists a build error; chainsc accepts the name"
        )
        assert (finding.code, finding.message()) == (row.code, row.message)
        # Listed on purpose, with a reason and a help: not the catch-all for unknown names.
        assert finding.path in UNSUPPORTED


def test_every_deliberate_gap_has_a_row() -> None:
    listed = {".".join(row.path) for row in ROWS if row.code is not None}
    assert set(UNSUPPORTED) <= listed


def test_runtime_all_lists_are_what_the_compiler_reads_and_exist() -> None:
    for truss_module, stem in RUNTIME_MODULES.items():
        module = _runtime_module(truss_module)
        declared = module.__all__  # type: ignore[attr-defined]
        assert runtime_names(stem) == frozenset(declared), stem
        missing = [name for name in declared if not hasattr(module, name)]
        assert not missing, (
            f"runtime_lib/{stem}.py: __all__ names {missing} that do not exist"
        )
    # Chain code reaches the submodules as attributes too (`chains.utils.random_fail`).
    top = importlib.import_module("chainsc_runtime")
    for truss_module in RUNTIME_MODULES:
        if truss_module != "truss_chains":
            assert hasattr(top, truss_module.rpartition(".")[2]), truss_module


def test_tested_by_names_files_that_exist() -> None:
    for row in ROWS:
        for path in re.findall(r"tests/[\w/]+\.py", row.tests):
            assert (REPO / path).is_file(), (
                f"{DOC.name}, {row.module}.{row.name}: no {path}"
            )


def test_chainsc_check_reports_exactly_the_code_of_each_row_where_it_is_written(
    tmp_path: Path,
) -> None:
    lines = ["import truss_chains as chains", ""]
    expected: dict[int, str | None] = {}
    for index, row in enumerate(ROWS):
        lines.append(f"from {row.module} import {row.name} as _imported_{index}")
        expected[len(lines)] = row.code
    lines += ["", "", "def uses() -> None:"]
    for row in ROWS:
        lines.append(f"    {'.'.join(['chains', *row.path[1:]])}")
        expected[len(lines)] = row.code
    lines += [
        "",
        "",
        "class Echo(chains.ChainletBase):",
        "    def run_remote(self, text: str) -> str:",
        "        return text",
        "",
    ]
    chain = tmp_path / "app.py"
    chain.write_text("\n".join(lines))

    result = check_file(chain)
    found: dict[int, str] = {}
    for diagnostic in result.diagnostics:
        if diagnostic.code in SURFACE_CODES:
            assert diagnostic.span.line not in found, diagnostic
            found[diagnostic.span.line] = diagnostic.code
    unexpected = [d for d in result.diagnostics if d.code not in SURFACE_CODES]
    assert not unexpected, unexpected
    wrong = {
        line: (lines[line - 1], code, found.get(line))
        for line, code in expected.items()
        if found.get(line) != code
    }
    assert not wrong, wrong
    assert set(found) <= set(expected)
