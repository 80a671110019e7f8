"""The package root: default (nearest non-package ancestor, never past a name that cannot be imported) and `--root`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.importcheck import import_package
from tests.realworld_chains import ODD_ROOT, write_project

CHAIN = """import truss_chains as chains
from app.models import Query
from app import helpers


class Search(chains.ChainletBase):
    def run_remote(self, query: Query) -> list[str]:
        return helpers.split(query.text)
"""


def _project(tmp_path: Path) -> Path:
    app = tmp_path / "repo" / "app"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "models.py").write_text(
        "import pydantic\n\n\nclass Query(pydantic.BaseModel):\n    text: str\n"
    )
    (app / "helpers.py").write_text(
        "import numpy as np  # never imported by chainsc\n\n\ndef split(text: str) -> list[str]:\n    return text.split()\n"
    )
    (app / "chain.py").write_text(CHAIN)
    return app / "chain.py"


def test_default_root_is_the_nearest_ancestor_that_is_not_a_package(
    tmp_path: Path,
) -> None:
    chain = _project(tmp_path)
    result = run_cli("inspect", str(chain), "--json")
    assert result.returncode == 0, result.stderr
    ir = json.loads(result.stdout)
    assert ir["source"] == "app/chain.py"
    assert ir["entrypoint"] == "app.chain.Search"
    assert [m["name"] for m in ir["modules"]] == [
        "app.chain",
        "app.helpers",
        "app.models",
    ]
    assert ir["types"][0]["id"] == "app.models.Query"


def test_root_option_sets_module_names_and_display_paths(tmp_path: Path) -> None:
    chain = _project(tmp_path)
    # With the root *inside* the package, `app.models` is no longer a local module.
    inside = run_cli("check", str(chain), "--root", str(chain.parent))
    assert inside.returncode == 1
    assert (
        "chain.py:7:33: error[CSC206]: `Query` is not defined in the chain's sources (`app` is not a module under the chain root)"
        in inside.stderr
    )
    outer = run_cli("check", str(chain), "--root", str(tmp_path / "repo"))
    assert outer.returncode == 0, outer.stderr


def test_the_root_stops_at_a_package_directory_whose_name_cannot_be_imported(
    tmp_path: Path,
) -> None:
    chain = write_project("odd_root", tmp_path)
    ir = json.loads(run_cli("inspect", str(chain), "--json").stdout)
    # `my-repo+x/` holds an `__init__.py`, but `from my-repo+x.chain import ...` is no Python.
    assert ir["source"] == "chain.py"
    assert ir["entrypoint"] == "chain.Shouter"
    assert [m["name"] for m in ir["modules"]] == ["chain", "helpers"]
    out = tmp_path / "out"
    built = run_cli("build", str(chain), "-o", str(out))
    assert built.returncode == 0, built.stderr
    assert (
        "from chain import Shouter\n"
        in (out / "shouter" / "model" / "model.py").read_text()
    )
    assert import_package(out / "shouter") is None


def test_a_keyword_directory_is_never_a_package_either(tmp_path: Path) -> None:
    project = tmp_path / "repo" / "class"
    project.mkdir(parents=True)
    (project / "__init__.py").write_text("")
    (tmp_path / "repo" / "__init__.py").write_text("")
    (project / "chain.py").write_text(
        ODD_ROOT["my-repo+x/chain.py"]
        .replace("import helpers\n", "")
        .replace("helpers.shout(text)", "text")
    )
    ir = json.loads(run_cli("inspect", str(project / "chain.py"), "--json").stdout)
    assert ir["entrypoint"] == "chain.Shouter"


def test_a_module_path_that_cannot_be_imported_is_an_error_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    chain = write_project("odd_root", tmp_path)
    out = tmp_path / "out"
    # An explicit root above `my-repo+x/` would make it part of every module name.
    above = run_cli(
        "build", str(chain), "--root", str(tmp_path / "odd_root"), "-o", str(out)
    )
    assert above.returncode == 1
    assert (
        "my-repo+x/chain.py:1:1: error[CSC010]: `my-repo+x/chain.py` would be the module `my-repo+x.chain`, "
        "which cannot be imported: `my-repo+x` is not a valid Python name"
    ) in above.stderr
    assert (
        "help: rename the directory to `my_repo_x`, or pass `--root my-repo+x`"
        in above.stderr
    )
    assert not out.exists()
    # A chain *file* named like a script gets a module name instead: tests/frontend/test_file_names.py.


def _modules(chain: Path) -> list[tuple[str, str]]:
    result = run_cli("inspect", str(chain), "--json")
    assert result.returncode == 0, result.stderr
    return [(m["name"], m["path"]) for m in json.loads(result.stdout)["modules"]]


def test_a_chain_in_a_package_names_each_module_as_it_is_imported(
    tmp_path: Path,
) -> None:
    # `import helpers` next to `app/chain.py` is found through the chain's directory, as
    # Truss puts it on sys.path: the module `helpers`, not `app.helpers`.
    assert _modules(write_project("package_absolute", tmp_path)) == [
        ("app.chain", "app/chain.py"),
        ("helpers", "app/helpers.py"),
        ("schemas", "app/schemas.py"),
        ("text", "app/text/__init__.py"),
        ("text.normalize", "app/text/normalize.py"),
        ("text.stopwords", "app/text/stopwords.py"),
    ]
    # Relative imports are relative to the chain's package: `app.helpers`.
    assert _modules(write_project("package_relative", tmp_path)) == [
        ("app", "app/__init__.py"),
        ("app.chain", "app/chain.py"),
        ("app.helpers", "app/helpers.py"),
        ("app.schemas", "app/schemas.py"),
    ]
    # Both: one file, two modules (Python loads it under each name).
    mixed = _modules(write_project("package_mixed", tmp_path))
    assert [name for name, path in mixed if path == "app/helpers.py"] == [
        "app.helpers",
        "helpers",
    ]


def test_each_module_of_a_chain_in_a_package_is_carried_under_its_name(
    tmp_path: Path,
) -> None:
    chain = write_project("package_mixed", tmp_path)
    ir = json.loads(run_cli("inspect", str(chain), "--json").stdout)
    assert ir["entrypoint"] == "app.chain.Pipeline"
    assert sorted(t["id"] for t in ir["types"]) == [
        "app.schemas.Document",
        "app.schemas.Summary",
    ]
    out = tmp_path / "out"
    built = run_cli("build", str(chain), "-o", str(out))
    assert built.returncode == 0, built.stderr
    packages = out / "summarizer" / "packages"
    carried = sorted(
        path.relative_to(packages).as_posix()
        for path in packages.rglob("*")
        if path.is_file()
        and not path.relative_to(packages).parts[0].startswith("chainsc_")
    )
    assert (
        carried
        == [
            "app/__init__.py",
            "app/chain.py",
            "app/helpers.py",  # `from .helpers import TITLE_LIMIT`: only that
            "app/schemas.py",
            "helpers.py",  # `import helpers`: the functions the Chainlet calls
            "text/__init__.py",
            "text/normalize.py",
            "text/stopwords.py",
            "text/stopwords.txt",  # next to the module that reads it, as Truss copies the chain's directory
        ]
    )
    assert (packages / "app" / "helpers.py").read_text() == "TITLE_LIMIT = 16\n"
    assert "def top(" in (packages / "helpers.py").read_text()
    assert "TITLE_LIMIT" not in (packages / "helpers.py").read_text()
    assert (
        "from app.chain import Summarizer\n"
        in (out / "summarizer" / "model" / "model.py").read_text()
    )
    assert import_package(out / "summarizer") is None
    assert import_package(out / "pipeline") is None


def test_a_chainlet_in_a_file_imported_under_two_names_is_checked_once(
    tmp_path: Path,
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "base.py").write_text(
        "import truss_chains as chains\n\nGREETING = 'hi '\n\n\n"
        "class Helper(chains.ChainletBase):\n    def run_remote(self, text: str) -> str:\n        return text.upper()\n\n\n"
        "class Worker(chains.ChainletBase):\n"
        "    def __init__(self, helper: Helper = chains.depends(Helper)) -> None:\n        self._helper = helper\n\n"
        "    def run_remote(self, text: str) -> str:\n        return self._helper.run_remote(text)\n"
    )
    (app / "chain.py").write_text(
        "import truss_chains as chains\n\nfrom base import Worker\nfrom .base import GREETING\n\n\n"
        "@chains.mark_entrypoint\nclass Entry(chains.ChainletBase):\n"
        "    def __init__(self, worker: Worker = chains.depends(Worker)) -> None:\n        self._worker = worker\n\n"
        "    def run_remote(self, text: str) -> str:\n        return GREETING + self._worker.run_remote(text)\n"
    )
    # `depends(Helper)` in `app/base.py` is a Chainlet's `__init__` default under either name.
    out = tmp_path / "out"
    built = run_cli("build", str(app / "chain.py"), "-o", str(out))
    assert built.returncode == 0, built.stderr
    assert sorted(path.name for path in out.iterdir() if path.is_dir()) == [
        "entry",
        "helper",
        "worker",
    ]
    assert (
        out / "entry" / "packages" / "app" / "base.py"
    ).read_text() == "GREETING = 'hi '\n"
    assert {
        package.name: import_package(package)
        for package in out.iterdir()
        if package.is_dir()
    } == dict.fromkeys(["entry", "helper", "worker"])
