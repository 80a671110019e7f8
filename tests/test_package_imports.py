"""golden/ and the bundled examples: every package imports in a fresh interpreter.

golden/ records the vendored runtime once (`tests/golden.py`): its packages are imported
with the runtime modules each vendors put back, as a build writes them.

The golden trees are what users get; the examples are rebuilt with their chain file renamed
`zeta_chain.py`, a name that sorts after `chainsc_generated` (the order of the imports in
the generated `model/model.py` depends on it), as `/work/shared/tools/import_check.sh` does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chainsc import api
from chainsc.write import WriteRefused, write_tree
from tests.conftest import example_chains
from tests.golden import GOLDEN, materialize
from tests.importcheck import ImportOutcome, check_imports


def _report(outcomes: list[ImportOutcome], root: Path) -> str:
    return "\n".join(
        f"{outcome.package.relative_to(root)}: {outcome.describe()}"
        for outcome in outcomes
        if not outcome.ok
    )


def test_every_golden_package_imports_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """Each golden package, with the runtime modules its `chain.json` lists put back (`tests/golden.py`)."""
    for example in sorted(path.name for path in GOLDEN.iterdir() if path.is_dir()):
        materialize(example, tmp_path / example)
    packages = sorted(
        path.parent.parent for path in tmp_path.glob("*/*/model/model.py")
    )
    assert len(packages) >= len(example_chains())
    outcomes = check_imports(packages)
    assert all(outcome.ok for outcome in outcomes), _report(outcomes, tmp_path)


@pytest.mark.parametrize("chain", example_chains(), ids=lambda path: path.parent.name)
def test_example_built_as_zeta_chain_imports_in_a_fresh_interpreter(
    chain: Path, tmp_path: Path
) -> None:
    project = tmp_path / chain.parent.name
    shutil.copytree(chain.parent, project)
    renamed = project / "zeta_chain.py"
    (project / "chain.py").rename(renamed)
    result = api.build_file(renamed)
    assert result.files is not None, result.diagnostics
    out = tmp_path / "out"
    assert not isinstance(write_tree(out, result.files), WriteRefused)
    packages = sorted(path.parent.parent for path in out.glob("*/model/model.py"))
    assert packages
    outcomes = check_imports(packages)
    assert all(outcome.ok for outcome in outcomes), _report(outcomes, out)
