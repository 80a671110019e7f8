"""Generated code calls only public, documented names of the runtime.

Every example chain is built in memory; each generated file (`model/model.py`,
`client.py`, `server.py`, `chainsc_generated/`) and each in-place client of a slice is
read with `ast`. Every runtime name it imports or reads (`serving.ChainletModel`), and
every attribute its runtime-derived classes set or read on `self` (`self.acall`,
`endpoint = ...`), must be public, exist in the runtime, be in its module's `__all__`
(names of a module), and be named in `runtime_lib/README.md` (the authoring API at the
top level is Truss's, documented in `docs/truss_chains_surface.md` instead).
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType

import pytest

import chainsc_runtime
from chainsc import api
from chainsc_runtime.engine_client import EngineBuilderLLMClient
from chainsc_runtime.serving import ChainletModel
from chainsc_runtime.transport import ChainletClient
from chainsc_runtime.truss_chainlet import TrussHandle
from tests.conftest import EXAMPLES, REPO
from tests.kinds_chains import write_engine_chain, write_truss_chain

README = (REPO / "runtime_lib" / "README.md").read_text(encoding="utf-8")
CHAINS = sorted(EXAMPLES.glob("*/chain.py"))
#: The runtime classes generated classes derive from.
BASES: dict[str, type[object]] = {
    "serving.ChainletModel": ChainletModel,
    "transport.ChainletClient": ChainletClient,
    # What stands for an engine builder's and a TrussChainlet's class in a slice.
    "engine_client.EngineBuilderLLMClient": EngineBuilderLLMClient,
    "truss_chainlet.TrussHandle": TrussHandle,
}


def _runtime_module(name: str) -> ModuleType:
    """The runtime module `chainsc_runtime.x`, as generated code spells it."""
    return importlib.import_module(name)


def _is_submodule(name: str) -> bool:
    try:
        _runtime_module(name)
    except ModuleNotFoundError:
        return False
    return True


def _is_generated(path: str) -> bool:
    parts = Path(path).parts
    if "chainsc_runtime" in parts:
        return False
    return (
        path.endswith(("/model/model.py", "/client.py", "/server.py"))
        or "chainsc_generated" in parts
    )


class _Uses(ast.NodeVisitor):
    """The runtime names one generated module uses: `(where, module, name)` triples."""

    def __init__(self, path: str, *, whole_module: bool) -> None:
        self.path = path
        self.whole_module = whole_module
        #: Local name -> runtime module (`serving` -> `chainsc_runtime.serving`).
        self.modules: dict[str, str] = {}
        self.names: list[tuple[str, str, str]] = []
        #: `(class base, attribute)`: what a derived class sets or reads on `self`.
        self.members: list[tuple[str, str]] = []

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.startswith("chainsc_runtime"):
                self.modules[alias.asname or alias.name] = alias.name

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if not module.startswith("chainsc_runtime"):
            return
        for alias in node.names:
            if _is_submodule(f"{module}.{alias.name}"):
                self.modules[alias.asname or alias.name] = f"{module}.{alias.name}"
            else:
                self.names.append((self.path, module, alias.name))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = ast.unparse(node.value)
        if self.whole_module and dotted in self.modules:
            self.names.append((self.path, self.modules[dotted], node.attr))
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        base = self._runtime_base(node)
        if base is None:
            if self.whole_module:
                self.generic_visit(node)
            return
        if not self.whole_module:  # an in-place client in the user's slice
            for expr in node.bases:
                self.visit(expr)
        for statement in node.body:
            targets: list[ast.expr] = []
            if isinstance(statement, ast.Assign):
                targets = statement.targets
            elif isinstance(statement, ast.AnnAssign):
                targets = [statement.target]
            self.members.extend(
                (base, t.id) for t in targets if isinstance(t, ast.Name)
            )
        for inner in ast.walk(node):
            if (
                isinstance(inner, ast.Attribute)
                and isinstance(inner.value, ast.Name)
                and inner.value.id == "self"
            ):
                self.members.append((base, inner.attr))
        if self.whole_module:
            self.generic_visit(node)

    def _runtime_base(self, node: ast.ClassDef) -> str | None:
        for expr in node.bases:
            text = ast.unparse(expr)
            head, _, name = text.rpartition(".")
            module = self.modules.get(head, head)
            if module.startswith("chainsc_runtime"):
                key = f"{module.removeprefix('chainsc_runtime.')}.{name}"
                if key in BASES:
                    return key
        return None


def _uses(files: Mapping[str, bytes]) -> Iterator[_Uses]:
    for path, data in sorted(files.items()):
        if not path.endswith(".py") or "chainsc_runtime" in Path(path).parts:
            continue
        text = data.decode("utf-8")
        generated = _is_generated(path)
        if not generated and not any(
            f"chainsc_runtime.{base}" in text for base in BASES
        ):
            continue
        uses = _Uses(path, whole_module=generated)
        uses.visit(ast.parse(text))
        yield uses


def _documented(name: str) -> bool:
    return f"`{name}`" in README or f"`{name}(" in README or f".{name}`" in README


@pytest.mark.parametrize("chain", CHAINS, ids=[chain.parent.name for chain in CHAINS])
def test_generated_code_calls_only_public_documented_runtime_names(chain: Path) -> None:
    _check_public_names(chain)


@pytest.mark.parametrize("write", [write_engine_chain, write_truss_chain])
def test_the_clients_of_engines_and_truss_chainlets_use_only_public_names(
    tmp_path: Path, write: object
) -> None:
    assert callable(write)
    _check_public_names(write(tmp_path))


def _check_public_names(chain: Path) -> None:
    result = api.build_file(chain)
    assert result.files is not None
    problems: list[str] = []
    seen_members = 0
    for uses in _uses(result.files):
        for where, module, name in uses.names:
            runtime = _runtime_module(module)
            exported = getattr(runtime, "__all__", [])
            if name.startswith("_") or name not in exported:
                problems.append(f"{where}: `{module}.{name}` is not public")
            elif runtime is not chainsc_runtime and not _documented(name):
                problems.append(f"{where}: `{module}.{name}` is not in the README")
        for base, attribute in uses.members:
            seen_members += 1
            cls = BASES[base]
            known = hasattr(cls, attribute) or attribute in cls.__annotations__
            if attribute.startswith("_") or not known:
                problems.append(f"{uses.path}: `{base}.{attribute}` is not public")
            elif not _documented(attribute):
                problems.append(f"{uses.path}: `{attribute}` is not in the README")
    assert problems == []
    assert seen_members > 0  # the check saw the generated classes


def test_the_check_sees_a_private_name() -> None:
    """The visitor reports what generated code reads on `self` (so a `_name` fails)."""
    source = (
        "from chainsc_runtime import serving\n"
        "class Model(serving.ChainletModel):\n"
        "    endpoint = None\n"
        "    def predict(self, inputs, request):\n"
        "        return self._secret(inputs)\n"
    )
    uses = _Uses("model/model.py", whole_module=True)
    uses.visit(ast.parse(source))
    assert ("serving.ChainletModel", "_secret") in uses.members
    assert ("model/model.py", "chainsc_runtime.serving", "ChainletModel") in uses.names
