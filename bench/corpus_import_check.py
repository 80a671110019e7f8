"""Build every chain file under some directories and import each package in a fresh interpreter.

Usage (by hand, not in the tests; from the project root):

    git -C /work/.mirror/basetenlabs+truss/repo archive HEAD truss-chains | tar -x -C /tmp/trussrepo
    .venv/bin/python bench/corpus_import_check.py /tmp/trussrepo/truss-chains/examples \\
        /tmp/trussrepo/truss-chains/tests

A chain file is a `*.py` file that mentions `ChainletBase` or `ModelBase` (pytest modules,
`test_*.py` and `conftest.py`, are skipped unless `--include-tests`). Each is built with
chainsc's library API into a temporary directory; a chain that marks no entrypoint among
several Chainlets (CSC102) is built once per Chainlet that no other one depends on, as
`truss chains push FILE NAME` would. Every package's `model.model` is then imported the way
Truss's server does (`tests/importcheck.py`: third-party modules absent here are inert
stand-ins). Prints one line per build error and per package that does not import, then
`N/M packages import`. Exit 1 if any package fails.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # `tests.importcheck` is not installed with chainsc

from chainsc import api  # noqa: E402
from chainsc.api import CheckOptions  # noqa: E402
from chainsc.diagnostics import Severity  # noqa: E402
from chainsc.write import WriteRefused, write_tree  # noqa: E402
from tests.importcheck import ImportOutcome, check_import, check_imports  # noqa: E402


def chain_files(directories: list[Path], include_tests: bool) -> list[Path]:
    """Files that mention a Chainlet or Model base class, sorted."""
    found = []
    for directory in directories:
        for path in sorted(directory.rglob("*.py")):
            if not include_tests and (
                path.name.startswith("test_") or path.name == "conftest.py"
            ):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            if "ChainletBase" in text or "ModelBase" in text:
                found.append(path)
    return found


def root_candidates(path: Path) -> list[str]:
    """Classes of the file that no `depends(...)` in it names: entrypoint candidates."""
    try:
        tree = ast.parse(path.read_bytes())
    except SyntaxError:
        return []
    classes = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    depended = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name = (
                node.func.attr
                if isinstance(node.func, ast.Attribute)
                else getattr(node.func, "id", "")
            )
            if name == "depends" and isinstance(node.args[0], ast.Name | ast.Attribute):
                target = node.args[0]
                depended.add(
                    target.attr if isinstance(target, ast.Attribute) else target.id
                )
    return [name for name in classes if name not in depended]


def build(
    path: Path, out: Path, entrypoint: str | None
) -> tuple[list[Path], list[str]]:
    """Build one chain file: (package directories, error lines)."""
    result = api.build_file(path, CheckOptions(entrypoint=entrypoint))
    if result.files is None:
        errors = [d for d in result.diagnostics if d.severity == Severity.ERROR]
        return [], [
            f"{d.code} {d.span.path}:{d.span.line}: {d.message}" for d in errors
        ]
    if isinstance(write_tree(out, result.files), WriteRefused):
        return [], [f"cannot write {out}"]
    return sorted(model.parent.parent for model in out.glob("*/model/model.py")), []


def main(argv: list[str]) -> int:
    """Build, import, print failures and the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="+", type=Path)
    parser.add_argument(
        "--include-tests",
        action="store_true",
        help="also build test_*.py and conftest.py",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="a new interpreter per package instead of forks of a warmed one",
    )
    parser.add_argument("--jobs", type=int, default=None)
    options = parser.parse_args(argv)
    files = chain_files(
        [directory.resolve() for directory in options.directories],
        options.include_tests,
    )
    common = (
        Path(os.path.commonpath([path.parent for path in files])) if files else Path()
    )
    packages: list[tuple[str, Path]] = []
    build_failures = 0
    with tempfile.TemporaryDirectory(prefix="chainsc-corpus-") as temporary:
        for number, path in enumerate(files):
            label = path.relative_to(common).as_posix()
            built, errors = build(path, Path(temporary) / f"{number}", None)
            if any(error.startswith("CSC102") for error in errors):
                built, errors = [], []
                for index, candidate in enumerate(root_candidates(path)):
                    more, failed = build(
                        path, Path(temporary) / f"{number}-{index}", candidate
                    )
                    if any(error.startswith("CSC104") for error in failed):
                        continue  # not a Chainlet (a pydantic model, a helper class)
                    built += more
                    errors += [f"(entrypoint {candidate}) {error}" for error in failed]
            for error in errors:
                print(f"BUILD  {label}: {error}")
            build_failures += bool(errors) and not built
            packages += [(f"{label} -> {package.name}", package) for package in built]
        outcomes: list[ImportOutcome]
        if options.fresh:
            with ThreadPoolExecutor(max_workers=options.jobs or 2) as pool:
                outcomes = list(
                    pool.map(check_import, [package for _, package in packages])
                )
        else:
            outcomes = check_imports(
                [package for _, package in packages], jobs=options.jobs
            )
        for (label, _), outcome in zip(packages, outcomes, strict=True):
            if not outcome.ok:
                where = f"  [at {outcome.where}]" if outcome.where else ""
                print(f"IMPORT {label}: {outcome.error}{where}")
    imported = sum(outcome.ok for outcome in outcomes)
    print(
        f"{imported}/{len(outcomes)} packages import "
        f"({len(files)} chain files, {build_failures} did not build)"
    )
    return 0 if imported == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
