"""Truss's own verdict on each parity case: the facts the cases state are truss's.

Each case of `cases/` is imported by truss 0.18.36 (its framework validation), in a venv of
its own, and its entrypoint is built and called in `run_local` (where truss catches a
Chainlet built by hand); `# parity: truss rejects|accepts` must be what truss does (for a
rule truss checks only when it pushes, `# parity: truss-stage push`, the import passes).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import truss_python
from tests.truss_parity.parity import CASES, Case, load_cases

_VERDICTS = r"""
import asyncio, inspect, json, logging, pathlib, sys
logging.disable(logging.CRITICAL)
import truss_chains as chains
from truss_chains import framework

def drain(result):
    if inspect.isawaitable(result):
        asyncio.run(result)
    elif inspect.isasyncgen(result):
        async def consume():
            async for _ in result:
                pass
        asyncio.run(consume())
    elif inspect.isgenerator(result):
        list(result)

def importer(path):
    # `truss chains push` imports Chainlets; a file of models alone is `truss push`'s.
    text = path.read_text()
    if "ModelBase" in text and "ChainletBase" not in text:
        return framework.ModelImporter
    return framework.ChainletImporter

def verdict(path):
    framework._global_error_collector.clear()
    try:
        with importer(path).import_target(path) as cls:
            with chains.run_local():
                method = getattr(cls(), cls.endpoint_method_name)
                if not inspect.signature(method).parameters:
                    drain(method())
        return "accepts"
    except Exception as exc:
        return f"rejects: {type(exc).__name__}: {exc}"
    finally:
        framework._global_error_collector.clear()

paths = sorted(pathlib.Path(sys.argv[1]).glob("*.py"))
print(json.dumps({path.stem: verdict(path.resolve()) for path in paths}))
"""

ALL_CASES = load_cases()


@pytest.fixture(scope="module")
def verdicts() -> dict[str, str]:
    proc = subprocess.run(
        [str(truss_python()), "-c", _VERDICTS, str(CASES)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    found: dict[str, str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


@pytest.mark.parametrize("case", ALL_CASES, ids=[case.name for case in ALL_CASES])
def test_truss_judges_each_case_as_it_states(
    case: Case, verdicts: dict[str, str]
) -> None:
    said = verdicts[case.name]
    # A rule truss checks only when it pushes (`# parity: truss-stage push`) passes the import.
    rejects_at_import = case.truss_rejects and case.truss_stage != "push"
    assert said.startswith("rejects") == rejects_at_import, said
