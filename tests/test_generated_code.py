"""Generated code quality: black-stable by construction, compiles, type-checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import black
import pytest

from chainsc import api
from chainsc.write import WriteRefused, write_tree
from tests.conftest import REPO, example_chains

MODE = black.Mode(target_versions={black.mode.TargetVersion.PY311}, line_length=88)


def _ours(path: str) -> bool:
    """Files chainsc writes from its templates (not the user's slice, not the vendored runtime)."""
    at_package_root = path.count("/") == 1 and path.endswith(
        ("/server.py", "/client.py")
    )
    return path.endswith(".py") and (
        "/chainsc_generated/" in path or "/model/" in path or at_package_root
    )


def _build(chain: Path) -> dict[str, bytes]:
    result = api.build_file(chain)
    assert result.files is not None, result.diagnostics
    return dict(result.files)


def _assert_black_stable(files: dict[str, bytes]) -> int:
    checked = 0
    for path, content in files.items():
        if not _ours(path):
            continue
        text = content.decode("utf-8")
        assert black.format_str(text, mode=MODE) == text, f"{path} is not black-stable"
        checked += 1
    return checked


@pytest.mark.parametrize("chain", example_chains(), ids=lambda p: p.parent.name)
def test_generated_code_of_examples_is_black_stable(chain: Path) -> None:
    assert _assert_black_stable(_build(chain)) >= 6


@pytest.mark.slow
def test_generated_code_of_a_100_chainlet_chain_is_black_stable(tmp_path: Path) -> None:
    chain = tmp_path / "chain.py"
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "gen_chain.py"), "100", str(chain)],
        check=True,
    )
    assert _assert_black_stable(_build(chain)) >= 400


@pytest.mark.slow
@pytest.mark.parametrize("chain", example_chains(), ids=lambda p: p.parent.name)
def test_generated_packages_type_check_with_mypy(chain: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert not isinstance(write_tree(out, _build(chain)), WriteRefused)
    for package in sorted(p.parent for p in out.glob("*/config.yaml")):
        _assert_mypy_clean(package)


def _assert_mypy_clean(package: Path) -> None:
    """mypy passes over everything chainsc generated in `package` (server.py, client.py, ...)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-incremental",
            "--cache-dir=/dev/null",
            "--ignore-missing-imports",
            # The user's own modules are the user's business: only generated code must pass.
            "--follow-imports=silent",
            "--python-version=3.11",
            "--explicit-package-bases",
            "client.py",
            "server.py",
            "model/model.py",
            "packages/chainsc_generated",
        ],
        cwd=package,
        env={"MYPYPATH": str(package / "packages"), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"{package.name}:\n{result.stdout}{result.stderr}"


COLLIDING_TYPES = """
import pydantic


class Summarizer(pydantic.BaseModel):
    text: str


class Entry(pydantic.BaseModel):
    text: str


class Input(pydantic.BaseModel):
    text: str
"""

COLLIDING_CHAIN = """
import truss_chains as chains

import schemas


class Summarizer(chains.ChainletBase):
    def run_remote(self, item: schemas.Summarizer) -> schemas.Summarizer:
        return item


class Model(chains.ChainletBase):
    def run_remote(self, item: schemas.Input) -> str:
        return item.text


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(
        self,
        summarizer: Summarizer = chains.depends(Summarizer),
        model: Model = chains.depends(Model),
    ) -> None:
        self._summarizer = summarizer

    def run_remote(self, entry: schemas.Entry) -> schemas.Summarizer:
        return self._summarizer.run_remote(schemas.Summarizer(text=entry.text))
"""


@pytest.mark.slow
def test_user_names_that_generated_code_defines_are_imported_under_an_alias(
    tmp_path: Path,
) -> None:
    """Names generated code defines (a client class, `Input`, `Model`) never shadow user names."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "schemas.py").write_text(COLLIDING_TYPES, encoding="utf-8")
    (source / "chain.py").write_text(COLLIDING_CHAIN, encoding="utf-8")
    files = _build(source / "chain.py")
    # The client of Summarizer stands where its class stood, with its signature as written.
    sliced = files["entry/packages/chain.py"].decode()
    assert "class Summarizer(chainsc_runtime.transport.ChainletClient):" in sliced
    assert "        item: schemas.Summarizer,\n    ) -> schemas.Summarizer:" in sliced
    model = files["entry/model/model.py"].decode()
    assert (
        "from chain import (\n    Entry,\n    Model as chain_Model,\n    Summarizer,\n)\n"
        in model
    )
    own = files["summarizer/client.py"].decode()
    assert "from schemas import Summarizer as schemas_Summarizer\n" in own
    entry_client = files["entry/client.py"].decode()
    assert (
        "from schemas import (\n    Entry as schemas_Entry,\n    Summarizer,\n)"
        in entry_client
    )
    # What endpoint.py and model.py define themselves: `Input`, `Model`.
    endpoint = files["model/packages/chainsc_generated/endpoint.py"].decode()
    assert "from schemas import Input as schemas_Input\n" in endpoint
    assert "    item: schemas_Input\n" in endpoint
    model = files["model/model/model.py"].decode()
    assert "from chain import Model as chain_Model\n" in model
    assert "    chainlet_cls = chain_Model\n" in model
    out = tmp_path / "out"
    assert not isinstance(write_tree(out, files), WriteRefused)
    for package in ("entry", "model", "summarizer"):
        _assert_mypy_clean(out / package)
