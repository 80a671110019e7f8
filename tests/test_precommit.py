"""`.pre-commit-hooks.yaml`: pre-commit itself runs this checkout's hooks on a sample repository.

`pre-commit try-repo` clones this checkout (its HEAD, plus uncommitted changes to
tracked files), installs it into a virtualenv of pre-commit's (`language: python`:
`pip install .`, so chainsc's dependencies come from the package index; the one test
here that needs it) and runs the hooks in a git repository made in tmp_path whose
pyproject.toml lists its chain in `[tool.chainsc]`: the hooks take no flags and no
file names.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_cli

GOOD = """import truss_chains as chains


class Hello(chains.ChainletBase):
    def run_remote(self, name: str) -> str:
        return f"Hello, {name}"
"""

BAD = GOOD.replace("name: str)", "name)")


def test_the_hooks_file_offers_both_hooks_without_file_names() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert {hook["id"]: hook["entry"] for hook in hooks} == {
        "chainsc-check": "chainsc check",
        "chainsc-build-check": "chainsc build --check",
    }
    for hook in hooks:
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is False


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _try_repo(sample: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Every hook of this checkout on every file of `sample`, as pre-commit runs them."""
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "--all-files"],
        cwd=sample,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.slow
def test_pre_commit_runs_the_hooks_on_a_configured_repository(tmp_path: Path) -> None:
    sample = tmp_path / "sample"
    (sample / "chains").mkdir(parents=True)
    (sample / "chains" / "hello.py").write_text(GOOD)
    (sample / "pyproject.toml").write_text(
        '[project]\nname = "sample"\n\n'
        '[[tool.chainsc.chain]]\nfile = "chains/hello.py"\noutput = "built/hello"\n'
    )
    built = run_cli("build", cwd=sample)  # no flags: the table says it all
    assert built.returncode == 0, built.stderr
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    _git(sample, "init", "-q")
    _git(sample, "add", "-A")

    passing = _try_repo(sample, env)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "chainsc check" in passing.stdout
    assert "chainsc build --check" in passing.stdout
    assert passing.stdout.count("Passed") == 2, passing.stdout

    (sample / "chains" / "hello.py").write_text(BAD)
    _git(sample, "add", "-A")
    failing = _try_repo(sample, env)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert failing.stdout.count("Failed") == 2, failing.stdout
    assert "- exit code: 1" in failing.stdout
    assert (
        "hello.py:5:26: error[CSC204]: parameter `name` of `run_remote` has no type annotation"
        in failing.stdout
    )
    assert "Traceback" not in failing.stdout
