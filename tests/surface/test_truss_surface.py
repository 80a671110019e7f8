"""The surface table against truss itself (truss 0.18.36 in a venv of its own).

Needs `CHAINSC_TRUSS_PYTHON` (or `make truss-venv`), like `tests/emit/test_truss_config.py`:
skipped without it, failed on CI. Two checks:

- the rows of `docs/truss_chains_surface.md` are exactly truss_chains' public names
  (`truss_names.py`), and each is provided by the runtime or listed as a build error in
  `chainsc.surface.UNSUPPORTED`: a name a new truss adds cannot slip by;
- `probe.py` gives the same results run against truss and against the runtime, except
  the differences the table states (`KNOWN_DIFFERENCES`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from chainsc.surface import TRUSS_CHAINS_VERSION, UNSUPPORTED, check_path
from tests.conftest import TRUSS_VERSION, truss_python
from tests.surface.table import rows

HERE = Path(__file__).resolve().parent

#: Probe results that differ on purpose, each stated in the table.
KNOWN_DIFFERENCES = {
    "streaming.classes.h0f0": "the item-only writer and reader are `StreamWriter`/`StreamReader`, private in truss",
    "pydantic_numpy.invalid": "an invalid array is a ValidationError, truss raises a bare TypeError",
}


def _run(python: Path | str, script: str, *args: str) -> Any:
    completed = subprocess.run(
        [str(python), str(HERE / script), *args],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_the_table_lists_exactly_truss_chains_public_names_each_provided_or_a_build_error() -> (
    None
):
    report = _run(truss_python(), "truss_names.py")
    assert report["truss_version"] == TRUSS_VERSION == TRUSS_CHAINS_VERSION
    truss = {
        (module, name) for module, names in report["modules"].items() for name in names
    }
    table = {(row.module, row.name) for row in rows()}
    assert not sorted(truss - table), (
        f"public names of truss {TRUSS_VERSION} missing from docs/truss_chains_surface.md: "
        "provide each in chainsc_runtime (and its `__all__`) or list it in chainsc.surface.UNSUPPORTED, "
        "then add its row"
    )
    assert not sorted(table - truss), (
        f"rows for names truss {TRUSS_VERSION} does not have"
    )
    for module, name in sorted(truss):
        finding = check_path([*module.split("."), name])
        assert finding is None or finding.path in UNSUPPORTED, (module, name, finding)


def test_the_runtime_answers_the_probe_as_truss_does() -> None:
    theirs = _run(truss_python(), "probe.py", "truss_chains")
    ours = _run(sys.executable, "probe.py", "chainsc_runtime")
    assert set(theirs) == set(ours)
    assert not [key for key, result in ours.items() if "skipped" in result]
    # numpy is optional next to truss: without it, its probes run on our side only.
    compared = [key for key in sorted(ours) if "skipped" not in theirs[key]]
    assert len(compared) > 60
    mismatches = [
        f"{key}:\n  truss:   {theirs[key]}\n  runtime: {ours[key]}"
        for key in compared
        if key not in KNOWN_DIFFERENCES and theirs[key] != ours[key]
    ]
    assert not mismatches, "\n".join(mismatches)
    for key in KNOWN_DIFFERENCES:
        if key in compared:
            assert theirs[key] != ours[key], (
                f"{key} no longer differs: drop it here and in the table"
            )
