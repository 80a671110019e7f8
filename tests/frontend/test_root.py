"""The package root: default (nearest non-package ancestor) and `--root`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

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
    (app / "models.py").write_text("import pydantic\n\n\nclass Query(pydantic.BaseModel):\n    text: str\n")
    (app / "helpers.py").write_text("import numpy as np  # never imported by chainsc\n\n\ndef split(text: str) -> list[str]:\n    return text.split()\n")
    (app / "chain.py").write_text(CHAIN)
    return app / "chain.py"


def test_default_root_is_the_nearest_ancestor_that_is_not_a_package(tmp_path: Path) -> None:
    chain = _project(tmp_path)
    result = run_cli("inspect", str(chain), "--json")
    assert result.returncode == 0, result.stderr
    ir = json.loads(result.stdout)
    assert ir["source"] == "app/chain.py"
    assert ir["entrypoint"] == "app.chain.Search"
    assert [m["name"] for m in ir["modules"]] == ["app.chain", "app.helpers", "app.models"]
    assert ir["types"][0]["id"] == "app.models.Query"


def test_root_option_sets_module_names_and_display_paths(tmp_path: Path) -> None:
    chain = _project(tmp_path)
    # With the root *inside* the package, `app.models` is no longer a local module.
    inside = run_cli("check", str(chain), "--root", str(chain.parent))
    assert inside.returncode == 1
    assert "chain.py:7:33: error[CSC206]: `Query` is not defined in the chain's sources (`app` is not a module under the chain root)" in inside.stderr
    outer = run_cli("check", str(chain), "--root", str(tmp_path / "repo"))
    assert outer.returncode == 0, outer.stderr
