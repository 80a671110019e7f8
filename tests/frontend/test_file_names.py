"""Chain files whose names are no module names, and display names too long for a directory.

The real CLI in a subprocess (`check`, then `build`), as a user runs it. A chain file
named like a script (`my-chain.py`, `2chain.py`, `class.py`, `a b.py`) gets a valid
module name that the generated code imports it by (`chainsc.resolve`); the built
package's modules compile and the package imports in a fresh interpreter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.importcheck import import_package

CHAIN = """import truss_chains as chains

import helpers


class Shouter(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return helpers.shout(text)
"""
HELPERS = 'def shout(text: str) -> str:\n    return text.upper() + "!"\n'


def _project(tmp_path: Path, file_name: str) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "helpers.py").write_text(HELPERS)
    chain = root / file_name
    chain.write_text(CHAIN)
    return chain


def _compile_all(package: Path) -> None:
    for path in sorted(package.rglob("*.py")):
        compile(path.read_text(encoding="utf-8"), str(path), "exec", dont_inherit=True)


@pytest.mark.parametrize(
    ("file_name", "module"),
    [
        ("my-chain.py", "my_chain"),
        ("2chain.py", "_2chain"),
        ("class.py", "class_"),
        ("a b.py", "a_b"),
        ("a\\b.py", "a_b"),
        ("my.chain.py", "my_chain"),
        ("ﬁle.py", "file"),  # NFKC: Python reads the identifier `ﬁle` as `file`
        ("ünï.py", "ünï"),  # a valid (non-ASCII) module name is kept
    ],
)
def test_a_chain_file_named_like_a_script_gets_a_module_name(
    tmp_path: Path, file_name: str, module: str
) -> None:
    chain = _project(tmp_path, file_name)
    checked = run_cli("check", str(chain))
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == ""
    ir = json.loads(run_cli("inspect", str(chain), "--json").stdout)
    assert ir["source"] == file_name
    assert ir["entrypoint"] == f"{module}.Shouter"
    out = tmp_path / "out"
    built = run_cli("build", str(chain), "-o", str(out))
    assert built.returncode == 0, built.stderr
    package = out / "shouter"
    assert f"from {module} import Shouter\n" in (
        package / "model" / "model.py"
    ).read_text(encoding="utf-8")
    assert (package / "packages" / f"{module}.py").is_file()
    assert (package / "packages" / "helpers.py").is_file()
    _compile_all(package)
    assert import_package(package) is None
    # The display path stays the file's own name.
    assert json.loads((out / "chain.json").read_text())["source"] == file_name


def test_a_generated_module_name_never_takes_a_file_that_is_there(
    tmp_path: Path,
) -> None:
    chain = _project(tmp_path, "my-chain.py")
    (chain.parent / "my_chain.py").write_text("VALUE = 1\n")
    out = tmp_path / "out"
    for command in (["check", str(chain)], ["build", str(chain), "-o", str(out)]):
        result = run_cli(*command)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(
            "my-chain.py:1:1: error[CSC010]: `my-chain.py` would be the module `my-chain`, which cannot be imported: "
            "`my-chain` is not a valid Python name\n"
        )
        assert (
            "help: rename the file: chainsc would import it as `my_chain`, but `my_chain.py` or `my_chain/` is next to it"
            in result.stderr
        )
    assert not out.exists()


def test_local_modules_keep_the_names_they_are_imported_by(tmp_path: Path) -> None:
    # `helpers` is imported by name: it is never renamed, even next to a renamed chain file.
    chain = _project(tmp_path, "2chain.py")
    ir = json.loads(run_cli("inspect", str(chain), "--json").stdout)
    assert [m["name"] for m in ir["modules"]] == ["_2chain", "helpers"]


LONG_NAME_CHAIN = """import truss_chains as chains


class Shouter(chains.ChainletBase):
    remote_config = chains.RemoteConfig(name="{name}")

    def run_remote(self, text: str) -> str:
        return text
"""


def test_a_display_name_longer_than_100_characters_is_an_error_at_check(
    tmp_path: Path,
) -> None:
    chain = tmp_path / "chain.py"
    chain.write_text(LONG_NAME_CHAIN.format(name="x" * 300))
    out = tmp_path / "out"
    for command in (["check", str(chain)], ["build", str(chain), "-o", str(out)]):
        result = run_cli(*command)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(
            "chain.py:5:46: error[CSC113]: Chainlet name of 300 characters is too long: at most 100\n"
        )
    assert not out.exists()


def test_a_class_name_longer_than_100_characters_is_an_error_at_the_class(
    tmp_path: Path,
) -> None:
    chain = tmp_path / "chain.py"
    name = "Shouter" + "X" * 200
    chain.write_text(
        CHAIN.replace("Shouter", name)
        .replace("import helpers\n", "")
        .replace("helpers.shout(text)", "text")
    )
    result = run_cli("check", str(chain))
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"chain.py:5:7: error[CSC113]: Chainlet name `{name[:20]}...` of 207 characters is too long"
    )


def test_a_display_name_of_100_characters_builds(tmp_path: Path) -> None:
    chain = tmp_path / "chain.py"
    chain.write_text(LONG_NAME_CHAIN.format(name="x" * 100))
    out = tmp_path / "out"
    built = run_cli("build", str(chain), "-o", str(out))
    assert built.returncode == 0, built.stderr
    package = out / ("x" * 100)
    assert (package / "config.yaml").is_file()
    assert import_package(package) is None


NAMELESS_CHAIN = """\
import truss_chains as chains


class _(chains.ChainletBase):
    def run_remote(self, x: int) -> int:
        return x


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(self, dep: _ = chains.depends(_)) -> None:
        self._dep = dep

    def run_remote(self, x: int) -> int:
        return self._dep.run_remote(x)
"""


def test_a_chainlet_named_without_letters_gets_a_package_directory(
    tmp_path: Path,
) -> None:
    """A class named `_` (found by the fuzzer: its directory name was empty, an internal error)."""
    chain = tmp_path / "chain.py"
    chain.write_text(NAMELESS_CHAIN)
    out = tmp_path / "out"
    built = run_cli("build", str(chain), "-o", str(out))
    assert built.returncode == 0, built.stderr
    assert (
        json.loads((out / "chain.json").read_text())["chainlets"]["chain._"]["package"]
        == "chainlet"
    )
    assert import_package(out / "chainlet") is None
    assert import_package(out / "entry") is None


def test_two_chainlets_named_without_letters_meet_csc108(tmp_path: Path) -> None:
    chain = tmp_path / "chain.py"
    chain.write_text(
        NAMELESS_CHAIN.replace("class Entry", "class __")
        .replace("self._dep = dep", "self.d = dep")
        .replace("self._dep.", "self.d.")
    )
    result = run_cli("check", str(chain))
    assert result.returncode == 1
    assert (
        "error[CSC108]: Chainlets `_` and `__` would both be written to `chainlet/`"
        in result.stderr
    )
