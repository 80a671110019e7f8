"""No generated `.py` file that does not compile, and every generated package imports.

Every example and every project of `tests/realworld_chains.py` (aliases and constrained
types, namespace packages, an odd checkout directory) is built; each `.py` file written
must compile, and each package's modules must import in a fresh interpreter
(`tests/importcheck.py`), the way Truss and `server.py` load them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chainsc import api
from chainsc.write import WriteRefused, write_tree
from tests.conftest import EXAMPLES, example_chains
from tests.importcheck import import_package
from tests.realworld_chains import PROJECTS, write_project

pytestmark = pytest.mark.slow

CHAINS = [f"examples/{chain.parent.name}" for chain in example_chains()] + [
    f"projects/{name}" for name in PROJECTS
]


def _chain(name: str, tmp_path: Path) -> Path:
    kind, _, rest = name.partition("/")
    return (
        EXAMPLES / rest / "chain.py"
        if kind == "examples"
        else write_project(rest, tmp_path)
    )


def _build(chain: Path, out: Path) -> dict[str, bytes]:
    result = api.build_file(chain)
    assert result.files is not None, [str(d) for d in result.diagnostics]
    assert not isinstance(write_tree(out, result.files), WriteRefused)
    return dict(result.files)


@pytest.mark.parametrize("name", CHAINS)
def test_every_generated_python_file_compiles_and_every_package_imports(
    name: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    files = _build(_chain(name, tmp_path), out)
    python = {path: content for path, content in files.items() if path.endswith(".py")}
    assert python
    broken = []
    for path, content in python.items():
        try:
            compile(content, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            broken.append(f"{path}:{exc.lineno}: {exc.msg}")
    assert broken == []
    packages = sorted(path.parent for path in out.glob("*/config.yaml"))
    assert packages
    failures = {package.name: import_package(package) for package in packages}
    assert failures == dict.fromkeys(failures)


def test_the_import_check_reports_a_package_that_does_not_import(
    tmp_path: Path,
) -> None:
    """The check above can fail: a package missing a module of its slice is reported."""
    out = tmp_path / "out"
    _build(EXAMPLES / "text_pipeline" / "chain.py", out)
    package = out / "chunker"
    assert import_package(package) is None
    copy = tmp_path / "broken"
    shutil.copytree(package, copy)
    schemas = copy / "packages" / "schemas.py"
    # Carried, but not where `import schemas` looks: never stood in for as third-party.
    (copy / "packages" / "lib").mkdir()
    schemas.rename(copy / "packages" / "lib" / "schemas.py")
    assert import_package(copy) == "ModuleNotFoundError: No module named 'schemas'"
    schemas.write_text("class Broken(:\n")
    assert import_package(copy) == "SyntaxError: invalid syntax"
    schemas.write_text((package / "packages" / "schemas.py").read_text())
    (copy / "packages" / "chainsc_generated" / "endpoint.py").write_text(
        "raise RuntimeError('no endpoint')\n"
    )
    assert import_package(copy) == "RuntimeError: no endpoint"
