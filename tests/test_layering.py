from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_runtime_lib_never_imports_the_compiler() -> None:
    for path in (REPO / "runtime_lib").rglob("*.py"):
        assert "compiler" not in _imports(path), path


def test_ir_imports_no_libcst_or_jinja() -> None:
    imports = _imports(REPO / "compiler" / "ir.py")
    assert not imports & {"libcst", "jinja2", "click", "pydantic"}


def test_only_cli_prints() -> None:
    for path in (REPO / "compiler").rglob("*.py"):
        if path.name == "cli.py":
            continue
        calls = [
            node
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
        ]
        assert not calls, path
