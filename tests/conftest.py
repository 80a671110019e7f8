from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden/ from the current compiler (then review `git diff golden`)",
    )


#: The installed `chainsc` console script (the entry point users run: `fastcheck.console_main`, then `cli.console_main`).
CHAINSC = Path(sys.executable).parent / "chainsc"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `chainsc` console script in a subprocess, as a user would."""
    assert CHAINSC.is_file(), (
        f"{CHAINSC} is missing: install chainsc (`make install`) first"
    )
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(
        [str(CHAINSC), *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=env,
        check=False,
    )


#: The published truss the fidelity tests compare with, in a venv of its own.
TRUSS_VERSION = "0.18.36"
DEFAULT_TRUSS_PYTHON = REPO / ".ci-truss-venv" / "bin" / "python"


def truss_python() -> Path:
    """The Python of a venv with truss: CHAINSC_TRUSS_PYTHON, else `make truss-venv`'s.

    When there is none, the calling test is skipped, or fails on CI (`CI=true`).
    """
    configured = os.environ.get("CHAINSC_TRUSS_PYTHON")
    candidates = [Path(configured)] if configured else [DEFAULT_TRUSS_PYTHON]
    found = next((candidate for candidate in candidates if candidate.exists()), None)
    if found is None:
        skip_or_fail(
            f"no Python with truss {TRUSS_VERSION}: run `make truss-venv` or set CHAINSC_TRUSS_PYTHON; "
            f"looked at {', '.join(map(str, candidates))}"
        )
    return found


#: chainsc with the `baseten` extra (truss beside it), for `chainsc push`: `make baseten-venv`.
DEFAULT_BASETEN_PYTHON = REPO / ".ci-baseten-venv" / "bin" / "python"


def baseten_chainsc() -> Path:
    """The `chainsc` script of a venv with `chainsc[baseten]`: CHAINSC_BASETEN_PYTHON's, else `make baseten-venv`'s.

    When there is none, the calling test is skipped, or fails on CI (`CI=true`).
    """
    configured = os.environ.get("CHAINSC_BASETEN_PYTHON")
    python = Path(configured) if configured else DEFAULT_BASETEN_PYTHON
    script = python.parent / "chainsc"
    if not (python.exists() and script.is_file()):
        skip_or_fail(
            f"no chainsc with the `baseten` extra at {python.parent}: run `make baseten-venv` "
            "or set CHAINSC_BASETEN_PYTHON"
        )
    return script


def skip_or_fail(message: str) -> NoReturn:
    """Skip a test that needs something this machine lacks; on CI (`CI=true`), fail it."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def example_chains() -> list[Path]:
    """Every bundled example chain file."""
    return sorted(EXAMPLES.glob("*/chain.py"))


@pytest.fixture
def write_chain(tmp_path: Path) -> object:
    def write(text: str, name: str = "chain.py") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return write
