"""golden/: the checked-in build output of every example, byte for byte."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import api
from compiler.write import WriteRefused, diff_tree, write_tree
from tests.conftest import EXAMPLES, REPO, example_chains

GOLDEN = REPO / "golden"
REMEDY = "run: make golden   (then review `git diff golden/`)"


def _name(path: Path) -> str:
    return path.parent.relative_to(EXAMPLES).as_posix()


@pytest.mark.parametrize("chain", example_chains(), ids=_name)
def test_golden_tree_matches_a_fresh_build(chain: Path, request: pytest.FixtureRequest) -> None:
    result = api.build_file(chain)
    assert result.files is not None, result.diagnostics
    out = GOLDEN / _name(chain)
    if request.config.getoption("--update-golden"):
        written = write_tree(out, result.files, force=True)
        assert not isinstance(written, WriteRefused), written.reason
    diff = diff_tree(out, result.files)
    assert diff.is_clean, f"golden/{_name(chain)} is out of date; {REMEDY}\n\n{diff.text[:6000]}"


def test_every_example_has_a_golden_tree_and_nothing_else() -> None:
    expected = {_name(chain) for chain in example_chains()}
    present = {path.name for path in GOLDEN.iterdir() if path.is_dir()}
    assert present == expected, REMEDY


def test_vendored_runtime_copies_equal_runtime_lib() -> None:
    runtime = REPO / "runtime_lib"
    sources = sorted(p.relative_to(runtime) for p in runtime.rglob("*.py") if "__pycache__" not in p.parts)
    copies = sorted(GOLDEN.glob("*/*/packages/chainsc_runtime"))
    assert copies
    for copy in copies:
        vendored = sorted(p.relative_to(copy) for p in copy.rglob("*.py"))
        assert vendored == sources, copy
        for relative in sources:
            assert filecmp.cmp(runtime / relative, copy / relative, shallow=False), copy / relative


def test_golden_python_compiles_and_has_no_undefined_names() -> None:
    files = sorted(GOLDEN.rglob("*.py"))
    assert files
    for path in files:
        compile(path.read_text(encoding="utf-8"), str(path), "exec")  # never executed
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "E9,F63,F7,F82", str(GOLDEN)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
