"""golden/: the checked-in build output of every example, byte for byte (see `tests/golden.py`).

Every file a build writes is in `golden/<example>/` as it is, except the vendored runtime,
recorded once in `golden/RUNTIME.json`: a fresh build's runtime files must have the
recorded sha256, which must be runtime_lib's, and the golden tree put back together must
have the bytes each package's `chain.json` states.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from chainsc import api
from tests.conftest import EXAMPLES, example_chains
from tests.golden import (
    GOLDEN,
    RUNTIME_RECORD,
    is_vendored,
    materialize,
    render_record,
    runtime_module,
    runtime_record,
)

REMEDY = "run: make golden   (then review `git diff golden/`)"


def _name(path: Path) -> str:
    return path.parent.relative_to(EXAMPLES).as_posix()


def _write(out: Path, files: Mapping[str, bytes]) -> None:
    """Replace `out` by exactly `files` (golden/ is all generated: nothing else is kept)."""
    if out.exists():
        shutil.rmtree(out)
    for path, content in files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _differences(out: Path, files: Mapping[str, bytes]) -> str:
    """How `out` differs from `files` (missing, extra and changed files, as a diff); "" when equal."""
    on_disk = (
        {path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()}
        if out.is_dir()
        else set()
    )
    report: list[str] = []
    for path in sorted(files.keys() - on_disk):
        report.append(f"missing: {path}\n")
    for path in sorted(on_disk - files.keys()):
        report.append(f"not in a fresh build: {path}\n")
    for path in sorted(on_disk & files.keys()):
        old = (out / path).read_bytes()
        if old == files[path]:
            continue
        try:
            lines = difflib.unified_diff(
                old.decode("utf-8").splitlines(keepends=True),
                files[path].decode("utf-8").splitlines(keepends=True),
                f"golden/{path}",
                f"fresh build/{path}",
            )
            report.append("".join(lines))
        except UnicodeDecodeError:
            report.append(f"binary file differs: {path}\n")
    return "".join(report)


@pytest.mark.parametrize("chain", example_chains(), ids=_name)
def test_golden_tree_matches_a_fresh_build(
    chain: Path, request: pytest.FixtureRequest
) -> None:
    result = api.build_file(chain)
    assert result.files is not None, result.diagnostics
    out = GOLDEN / _name(chain)
    kept = {
        path: content for path, content in result.files.items() if not is_vendored(path)
    }
    assert len(kept) < len(result.files), "no package vendors the runtime"
    if request.config.getoption("--update-golden"):
        _write(out, kept)
        RUNTIME_RECORD.write_text(render_record(runtime_record()), encoding="utf-8")
    differences = _differences(out, kept)
    assert not differences, (
        f"golden/{_name(chain)} is out of date; {REMEDY}\n\n{differences[:6000]}"
    )
    # The runtime files are the recorded ones (and `chain.json`, compared above, lists them).
    recorded = json.loads(RUNTIME_RECORD.read_text(encoding="utf-8"))["modules"]
    for path, content in result.files.items():
        if is_vendored(path):
            module = runtime_module(path)
            assert hashlib.sha256(content).hexdigest() == recorded.get(module), (
                f"{path}: {REMEDY}"
            )


def test_runtime_record_is_runtime_lib(request: pytest.FixtureRequest) -> None:
    expected = render_record(runtime_record())
    if request.config.getoption("--update-golden"):
        RUNTIME_RECORD.write_text(expected, encoding="utf-8")
    assert RUNTIME_RECORD.read_text(encoding="utf-8") == expected, REMEDY


@pytest.mark.parametrize("chain", example_chains(), ids=_name)
def test_golden_tree_with_its_runtime_is_every_package_byte_for_byte(
    chain: Path, tmp_path: Path
) -> None:
    """Put back together from golden/ and runtime_lib/, each package hashes to its `package_sha256`."""
    out = materialize(_name(chain), tmp_path / "out")
    manifest = json.loads((out / "chain.json").read_text(encoding="utf-8"))
    assert (
        sorted(
            path.relative_to(out).as_posix()
            for path in out.rglob("*")
            if path.is_file()
        )
        == manifest["files"]
    )
    vendored = [path for path in manifest["files"] if is_vendored(path)]
    assert {path.partition("/")[0] for path in vendored} == {
        c["package"] for c in manifest["chainlets"].values()
    }


def test_golden_lines_are_mostly_not_runtime() -> None:
    """Reviewers read golden/: the runtime is at most 10% of its lines (here: only RUNTIME.json)."""
    lines = {
        path: len(path.read_bytes().splitlines())
        for path in GOLDEN.rglob("*")
        if path.is_file()
    }
    runtime = sum(
        count
        for path, count in lines.items()
        if path == RUNTIME_RECORD or "chainsc_runtime" in path.parts
    )
    assert runtime <= 0.1 * sum(lines.values())


def test_every_example_has_a_golden_tree_and_nothing_else() -> None:
    expected = {_name(chain) for chain in example_chains()}
    present = {path.name for path in GOLDEN.iterdir() if path.is_dir()}
    assert present == expected, REMEDY
    assert {path.name for path in GOLDEN.iterdir() if path.is_file()} == {
        "README.md",
        RUNTIME_RECORD.name,
    }


def test_golden_python_compiles_and_has_no_undefined_names() -> None:
    files = sorted(GOLDEN.rglob("*.py"))
    assert files
    for path in files:
        compile(path.read_text(encoding="utf-8"), str(path), "exec")  # never executed
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--isolated",
            "--select",
            "E9,F63,F7,F82",
            str(GOLDEN),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
