"""The planner is pure: `plan(chain, inputs)` reads no file, whatever the chain names on disk.

The load stage (`api.build_inputs`, `emit.inputs.load_inputs`) reads everything first:
requirements files, `data_dir`s, the data files the code names, package `__init__.py`s,
the runtime and the templates. Then, in a fresh interpreter whose file access is
forbidden (the standard library's `open`, `os.open`, `os.stat`, `os.scandir`, ... raise,
and so does everything built on them: `pathlib`, `os.path`), `plan` must produce the very
tree a normal build does. A fresh interpreter, so that no cache of an earlier build in
the same process can hide a read. Python's own import machinery is not affected (it uses
the `posix` module directly), so a lazy import inside `plan` is not a failure here.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chainsc import api
from chainsc.emit.deploy import DeployOptions
from tests.conftest import REPO, example_chains

_CHILD = r"""
import builtins, hashlib, io, json, os, pathlib, sys

from chainsc import api
from chainsc.emit.deploy import DeployOptions
from chainsc.emit.plan import plan

checked, inputs = api.build_inputs(sys.argv[1])
deploy = DeployOptions.of(sys.argv[2:])
assert checked.chain is not None and inputs is not None, checked.diagnostics


class FileAccess(Exception):
    pass


def forbid(owner, name):
    def refuse(*args, **kwargs):
        raise FileAccess(f"{owner.__name__}.{name}{args[:1]!r}")

    setattr(owner, name, refuse)


for owner, names in (
    (builtins, ("open",)),
    (io, ("open", "open_code", "FileIO")),
    (os, ("open", "stat", "lstat", "scandir", "listdir", "walk", "readlink", "access", "fstat")),
):
    for name in names:
        forbid(owner, name)

for probe in (lambda: pathlib.Path(sys.argv[1]).read_bytes(), lambda: pathlib.Path(sys.argv[1]).is_file(),
              lambda: os.path.exists(sys.argv[1]), lambda: list(pathlib.Path(sys.argv[1]).parent.iterdir())):
    try:
        probe()
    except FileAccess:
        continue
    raise SystemExit("the guard lets a file be read")

files = plan(checked.chain, inputs, deploy)
print(json.dumps({path: hashlib.sha256(content).hexdigest() for path, content in files.items()}))
"""


def _plan_without_file_access(chain: Path, *targets: str) -> dict[str, str]:
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, str(chain), *targets],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    planned: dict[str, str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return planned


def _build(chain: Path, *targets: str) -> dict[str, str]:
    result = api.build_file(chain, deploy=DeployOptions.of(targets))
    assert result.files is not None, result.diagnostics
    return {
        path: hashlib.sha256(content).hexdigest()
        for path, content in result.files.items()
    }


_CHAIN = """\
import json
from pathlib import Path

import truss_chains as chains

from app.tools import shout
from helpers import greeting

HERE = Path(__file__).parent
PROMPT = (HERE / "prompts" / "system.txt").read_text()


class Hello(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            requirements_file=chains.make_abs_path_here("requirements.txt"),
            data_dir=chains.make_abs_path_here("assets"),
        ),
    )

    def run_remote(self, name: str) -> str:
        return PROMPT + shout(greeting(name)) + json.dumps(chains.utils.StrEnum.__name__)
"""


def test_planning_a_chain_with_files_on_disk_reads_none(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "prompts").mkdir(parents=True)
    (project / "prompts" / "system.txt").write_text("Be brief.\n", encoding="utf-8")
    (project / "assets" / "nested").mkdir(parents=True)
    (project / "assets" / "nested" / "table.bin").write_bytes(b"\0\1\2")
    (project / "requirements.txt").write_text("numpy>=1.26\n", encoding="utf-8")
    (project / "app").mkdir()
    (project / "app" / "__init__.py").write_text("", encoding="utf-8")
    (project / "app" / "tools.py").write_text(
        "def shout(text: str) -> str:\n    return text.upper()\n", encoding="utf-8"
    )
    (project / "helpers.py").write_text(
        "def greeting(name: str) -> str:\n    return 'hi ' + name\n", encoding="utf-8"
    )
    chain = project / "chain.py"
    chain.write_text(_CHAIN, encoding="utf-8")
    built = _build(chain)
    # What the chain names on disk is in the tree: the guard is tested where it matters.
    for path in (
        "hello/packages/prompts/system.txt",
        "hello/data/nested/table.bin",
        "hello/packages/helpers.py",
        "hello/packages/app/__init__.py",
        "hello/requirements.txt",
        "hello/packages/chainsc_runtime/utils.py",
        ".gitattributes",
    ):
        assert path in built, sorted(built)
    assert _plan_without_file_access(chain) == built


@pytest.mark.parametrize("chain", example_chains(), ids=lambda path: path.parent.name)
def test_planning_an_example_reads_no_file(chain: Path) -> None:
    assert _plan_without_file_access(chain) == _build(chain)


def test_planning_the_deployment_files_reads_no_file() -> None:
    """The Dockerfiles and the Kubernetes manifests come from the IR and the options alone."""
    chain = REPO / "examples" / "rag" / "chain.py"
    built = _build(chain, "kubernetes")
    assert "deploy/kubernetes/kustomization.yaml" in built
    assert any(path.endswith("/Dockerfile") for path in built)
    assert _plan_without_file_access(chain, "kubernetes") == built
