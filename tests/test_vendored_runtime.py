"""What a package vendors of the runtime, and the check that generated code and runtime match.

- Each package carries only the runtime modules its code uses: the import closure, over the
  runtime's own relative imports, of what its generated code imports and of the runtime
  names its kept user code spells (`Runtime.closure`, `Slice.spelled`). Every package built
  here is imported in a fresh interpreter (`tests/importcheck.py`), so a module left out is
  a failure, not a guess.
- Every package checks at import that its vendored runtime is the one it was generated for
  (`chainsc_generated/__init__.py`), with a one-line message naming both versions.
- `out/.gitattributes` marks generated and vendored files for review tools; `build --check`
  covers it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chainsc import api
from chainsc.emit.plan import CHAINSC_VERSION
from chainsc.runtime_files import load_runtime, runtime_from_files
from chainsc.write import WriteRefused, write_tree
from tests.conftest import example_chains, run_cli
from tests.importcheck import check_import

_LAZY_ONLY = (
    "local.py",
    "public_api.py",
    "public_types.py",
    "pydantic_numpy.py",
    "streaming.py",
    "stub.py",
    "utils.py",
)


def _build(chain: Path, out: Path) -> dict[str, bytes]:
    result = api.build_file(chain)
    assert result.files is not None, result.diagnostics
    assert not isinstance(write_tree(out, result.files), WriteRefused)
    return dict(result.files)


def _vendored(files: dict[str, bytes], package: str) -> set[str]:
    prefix = f"{package}/packages/chainsc_runtime/"
    return {path.removeprefix(prefix) for path in files if path.startswith(prefix)}


def _chain(tmp_path: Path, body: str, **modules: str) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    for name, text in modules.items():
        (project / f"{name}.py").write_text(text, encoding="utf-8")
    chain = project / "chain.py"
    chain.write_text(body, encoding="utf-8")
    return chain


_PLAIN = """\
import truss_chains as chains


class Hello(chains.ChainletBase):
    def run_remote(self, name: str) -> str:
        return "hi " + name
"""


def test_a_package_that_uses_no_optional_runtime_module_carries_none(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    files = _build(_chain(tmp_path, _PLAIN), out)
    vendored = _vendored(files, "hello")
    assert vendored == {
        "__init__.py",
        "app.py",
        "binary.py",
        "definitions.py",
        "dispatch.py",
        "errors.py",
        "frames.py",
        "openapi.py",
        # Every client measures its queueing (`transport` imports it): stdlib only.
        "queueing.py",
        "replicas.py",
        "retry.py",
        "server.py",
        "serving.py",
        "tracing.py",
        "transport.py",
        # The server's websocket route and Truss's websocket hook: stdlib only.
        "websocket.py",
    }
    assert not vendored & set(_LAZY_ONLY)
    assert check_import(out / "hello").ok, check_import(out / "hello").describe()


@pytest.mark.parametrize(
    ("body", "helpers", "needed"),
    [
        # An attribute of the API alias.
        ("        chains.utils.random_fail(0.0)\n", None, {"utils.py"}),
        # Imported from a submodule, in a method.
        (
            "        from truss_chains.utils import expect_one\n        expect_one([1])\n",
            None,
            {"utils.py"},
        ),
        # A name of the package that lives in a lazily imported module.
        ("        chains.run_local\n", None, {"local.py"}),
        # The alias reached through a local module that imported it.
        (
            "        import helpers\n        helpers.chains.streaming.stream_types(str)\n",
            "import truss_chains as chains\n",
            {"streaming.py"},
        ),
        # A string annotation.
        (
            "        x: 'chains.pydantic_numpy.NumpyArrayField | None' = None\n        del x\n",
            None,
            {"pydantic_numpy.py"},
        ),
    ],
    ids=[
        "attribute",
        "from-import",
        "lazy-name",
        "alias-elsewhere",
        "string-annotation",
    ],
)
def test_a_package_carries_the_runtime_modules_its_code_reaches(
    tmp_path: Path, body: str, helpers: str | None, needed: set[str]
) -> None:
    source = _PLAIN.replace(
        '        return "hi " + name\n', body + '        return "hi " + name\n'
    )
    chain = _chain(tmp_path, source, **({"helpers": helpers} if helpers else {}))
    out = tmp_path / "out"
    files = _build(chain, out)
    vendored = _vendored(files, "hello")
    assert needed <= vendored, sorted(vendored)
    outcome = check_import(out / "hello")
    assert outcome.ok, outcome.describe()


def test_generated_code_imports_only_vendored_runtime_modules(tmp_path: Path) -> None:
    """Every `chainsc_runtime` import in every generated file of every example names a vendored module.

    Parsed here, in the test (the planner never parses what it generates).
    """
    runtime = load_runtime()
    for chain in example_chains():
        result = api.build_file(chain)
        assert result.files is not None
        for path, content in result.files.items():
            if not path.endswith(".py") or "/chainsc_runtime/" in path:
                continue
            package = path.partition("/")[0]
            vendored = _vendored(dict(result.files), package)
            for node in ast.walk(ast.parse(content)):
                references: list[str] = []
                if isinstance(node, ast.Import):
                    references = [alias.name for alias in node.names]
                elif (
                    isinstance(node, ast.ImportFrom) and not node.level and node.module
                ):
                    references = [f"{node.module}.{alias.name}" for alias in node.names]
                for reference in references:
                    root, _, inside = reference.partition(".")
                    if root != "chainsc_runtime":
                        continue
                    assert runtime.modules_for(inside) <= vendored, (
                        f"{chain.parent.name}: {path} imports {reference}"
                    )


def test_closure_follows_relative_imports_of_subpackages_and_skips_type_checking() -> (
    None
):
    files = {
        "__init__.py": b'RUNTIME_VERSION = "1.0"\nREQUIREMENTS = ()\nSERVER_REQUIREMENTS = ()\n'
        b'LAZY_ATTRIBUTES = {"Extra": "extra"}\nfrom .core import thing\n',
        "core.py": b"from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import typing_only\n"
        b"def late():\n    from .server import app\n",
        "server/__init__.py": b"",
        "server/app.py": b"from ..core import thing\nfrom . import routes\n",
        "server/routes.py": b"",
        "typing_only.py": b"",
        "extra.py": b"from .server.routes import x\n",
    }
    runtime = runtime_from_files(files)
    assert runtime.closure([]) == (
        "__init__.py",
        "core.py",
        "server/__init__.py",
        "server/app.py",
        "server/routes.py",
    )
    assert "extra.py" in runtime.closure(["Extra"])
    assert "typing_only.py" not in runtime.closure(["*"])


def _parsed_relative_imports(files: dict[str, bytes], path: str) -> frozenset[str]:
    """What `Runtime.imports` says of `path`, read with Python's parser instead of line by line."""
    runtime = runtime_from_files(files)
    package = path.split("/")[:-1]
    found: set[str] = set()
    skipped: set[int] = set()
    tree = ast.parse(files[path])
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(
                id(inner) for statement in node.body for inner in ast.walk(statement)
            )
    for node in ast.walk(tree):
        if (
            not isinstance(node, ast.ImportFrom)
            or not node.level
            or id(node) in skipped
        ):
            continue
        base = package[: len(package) - (node.level - 1)] + (
            node.module.split(".") if node.module else []
        )
        module = runtime.module_file(".".join(base))
        if module is None:
            continue
        found.add(module)
        found.update(runtime.modules_for(".".join(base)))
        for alias in node.names:
            submodule = runtime.module_file(".".join([*base, alias.name]))
            if submodule is not None:
                found.add(submodule)
    return frozenset(found)


def test_the_runtime_import_scan_reads_what_the_python_parser_reads() -> None:
    runtime = load_runtime()
    files = dict(runtime.files)
    for path in files:
        assert runtime.imports[path] == _parsed_relative_imports(files, path), path


def test_a_mismatched_vendored_runtime_fails_at_import_naming_both_versions(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    _build(_chain(tmp_path, _PLAIN), out)
    package = out / "hello"
    version = load_runtime().version
    assert check_import(package).ok
    init = package / "packages" / "chainsc_runtime" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    assert f'RUNTIME_VERSION = "{version}"' in text
    init.write_text(
        text.replace(f'RUNTIME_VERSION = "{version}"', 'RUNTIME_VERSION = "9.9.9"'),
        encoding="utf-8",
    )

    outcome = check_import(package)
    assert outcome.error is not None
    message = outcome.error
    assert "\n" not in message
    assert f"generated for chainsc runtime {version}" in message, message
    assert "chainsc_runtime is 9.9.9" in message, message

    # The standalone server says it in its one line too, and `client.py` fails the same way.
    served = subprocess.run(
        [sys.executable, "-I", "server.py", "--port", "0"],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert served.returncode == 1
    last = served.stderr.strip().splitlines()[-1]
    assert last.startswith("server.py: `Hello` cannot start:"), last
    assert f"runtime {version}" in last, last
    assert "chainsc_runtime is 9.9.9" in last, last
    client = subprocess.run(
        [sys.executable, "-c", "import client"],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert client.returncode == 1
    assert "chainsc_runtime is 9.9.9" in client.stderr.strip().splitlines()[-1]


def test_manifest_records_the_versions_it_was_built_with(tmp_path: Path) -> None:
    files = _build(_chain(tmp_path, _PLAIN), tmp_path / "out")
    manifest = json.loads(files["chain.json"])
    assert manifest["runtime_version"] == load_runtime().version
    assert (
        manifest["chainsc_version"]
        == CHAINSC_VERSION
        == importlib.metadata.version("chainsc")
    )
    generated = files["hello/packages/chainsc_generated/__init__.py"].decode()
    assert f'RUNTIME_VERSION = "{load_runtime().version}"' in generated


def test_gitattributes_marks_generated_and_vendored_files_and_build_check_covers_it(
    tmp_path: Path,
) -> None:
    chain = example_chains()[0]
    out = tmp_path / "out"
    files = _build(chain, out)
    text = (out / ".gitattributes").read_text(encoding="utf-8")
    packages = sorted(
        c["package"] for c in json.loads(files["chain.json"])["chainlets"].values()
    )
    for package in packages:
        assert f"/{package}/** linguist-generated=true\n" in text
        assert (
            f"/{package}/packages/chainsc_runtime/** linguist-vendored=true\n" in text
        )
    assert "/chain.json linguist-generated=true\n" in text
    assert not re.search(r"/(tmp|home|work)/", text)
    assert run_cli("build", str(chain), "-o", str(out), "--check").returncode == 0
    (out / ".gitattributes").write_text(
        text.replace("linguist-vendored", "linguist-documentation"), encoding="utf-8"
    )
    drift = run_cli("build", str(chain), "-o", str(out), "--check")
    assert drift.returncode == 1
    assert "a/.gitattributes" in drift.stdout
