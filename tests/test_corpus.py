"""A corpus of real-world-style chains: each builds, and every package it gives imports.

`tests/corpus/` holds chains written for this project in the shapes of Truss's published
examples and test chains: the same file and module layouts (a package with a nested package
and relative imports, `data_types.py` + `helpers.py` beside the chain file, a second chain
file in the same directory, a namespace package), the same kinds of types and API use
(streaming helpers, `NumpyArrayField` with binary dependencies, stubs of deployed models,
`ModelBase`, health checks, timeouts, concurrency limits, cached model repos, Protocol
annotations). Third-party ML modules that are absent here are stood in by inert stubs
(`tests/importcheck.py`). Cases that fail today for a reason another change is fixing are
xfail(strict): when the fix lands, their XPASS says to drop the mark.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from chainsc import api
from chainsc.api import CheckOptions
from chainsc.diagnostics import Severity
from chainsc.write import WriteRefused, write_tree
from tests.conftest import truss_python
from tests.importcheck import check_imports

CORPUS = Path(__file__).parent / "corpus"
TRUSS_RUNNER = Path(__file__).parent / "layouts" / "truss_run_local.py"


@dataclass(frozen=True, slots=True)
class Case:
    """A chain file of the corpus and, for chains that mark none, the entrypoint."""

    chain: str
    entrypoint: str | None = None
    #: The entrypoint is a `chains.ModelBase` (Truss imports it with its ModelImporter).
    model: bool = False
    #: Why it fails today (the change that fixes it), or None.
    xfail: str | None = None


CASES = {
    "health_checks": Case("health_checks/custom_health_checks.py"),
    "http_errors": Case("http_errors/http_errors.py"),
    "itest_style": Case("itest_style/pipeline_itest.py"),
    "llm_style": Case("llm_style/haiku_chainlet.py"),
    "media_style-analyze": Case("media_style/analyze.py"),
    "media_style-classifier": Case("media_style/classifier_chainlet.py"),
    "numpy_binary": Case("numpy_binary/chain.py", entrypoint="HostBinary"),
    "rag_style": Case("rag_style/rag_chain.py"),
    "streaming_style": Case("streaming_style/streaming_chain.py"),
    "throttling": Case("throttling/throttling_chain.py"),
    "timeouts": Case("timeouts/timeout_chain.py"),
    "traditional_truss": Case("traditional_truss/truss_model.py", model=True),
    "vector_ns": Case("vector_ns/search_chain.py"),
    "websocket_style": Case("websocket_style/websocket_chain.py"),
}


def _params() -> list[object]:
    return [
        pytest.param(
            case,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=case.xfail)]
            if case.xfail
            else [],
        )
        for name, case in sorted(CASES.items())
    ]


def test_every_chain_file_of_the_corpus_is_a_case() -> None:
    chain_files = {
        path.relative_to(CORPUS).as_posix()
        for path in CORPUS.rglob("*.py")
        if "ChainletBase" in path.read_text(encoding="utf-8")
        or "ModelBase" in path.read_text(encoding="utf-8")
    }
    helpers = {
        "itest_style/user_package/shared_chainlet.py"
    }  # a Chainlet module, not a chain file
    assert chain_files - helpers == {case.chain for case in CASES.values()}


@pytest.mark.parametrize("case", _params())
def test_corpus_chain_builds_compiles_and_every_package_imports(
    case: Case, tmp_path: Path
) -> None:
    result = api.build_file(
        CORPUS / case.chain, CheckOptions(entrypoint=case.entrypoint)
    )
    errors = [
        f"{d.code} {d.span.path}:{d.span.line}: {d.message}"
        for d in result.diagnostics
        if d.severity == Severity.ERROR
    ]
    assert result.files is not None, errors
    out = tmp_path / "out"
    assert not isinstance(write_tree(out, result.files), WriteRefused)
    for path in sorted(out.rglob("*.py")):
        compile(
            path.read_text(encoding="utf-8"), str(path), "exec"
        )  # never executed here
    packages = sorted(path.parent.parent for path in out.glob("*/model/model.py"))
    assert packages
    outcomes = check_imports(packages)
    failures = [
        f"{outcome.package.name}: {outcome.describe()}"
        for outcome in outcomes
        if not outcome.ok
    ]
    assert not failures, "\n".join(failures)


def test_truss_accepts_every_corpus_chain(tmp_path: Path) -> None:
    """Truss's own importer validates each chain: the corpus is made of real Truss chains."""
    cases = [
        {
            "name": name,
            "dir": str((CORPUS / case.chain).parent),
            "chain_file": Path(case.chain).name,
            "entrypoint": case.entrypoint,
            "model": case.model,
        }
        for name, case in sorted(CASES.items())
    ]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    completed = subprocess.run(
        [str(truss_python()), str(TRUSS_RUNNER), str(tmp_path / "cases.json")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    results = json.loads(completed.stdout.splitlines()[-1])
    rejected = [
        f"{result['name']}: {result['error']}"
        for result in results
        if "error" in result
    ]
    assert not rejected, "\n".join(rejected)
