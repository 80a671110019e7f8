"""Print the public names of truss_chains' public modules as JSON (run with truss's Python).

Run by `test_truss_surface.py` with the Python of a venv that has the published truss
(never chainsc's venv: chainsc must not depend on truss):

    /path/to/truss-venv/bin/python tests/surface/truss_names.py

A module's public names are its `__all__` when it has one, else the names its own
top-level code binds (definitions and assignments, also inside `if`/`try`; not imports)
that do not start with `_` and exist after import. A package adds its submodules (chain
code reaches them as `truss_chains.<module>` or `from truss_chains import <module>`).
Prints `{"truss_version": ..., "modules": {module: [names, sorted]}}`.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import json
import pkgutil
import sys

#: The modules of truss_chains that chain code imports from.
MODULES = (
    "truss_chains",
    "truss_chains.public_api",
    "truss_chains.public_types",
    "truss_chains.pydantic_numpy",
    "truss_chains.remote_chainlet.truss_chainlet",
    "truss_chains.streaming",
    "truss_chains.utils",
)


def _bound_at_top_level(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.If | ast.Try):
            stack.extend(node.body)
            stack.extend(node.orelse)
            if isinstance(node, ast.Try):
                stack.extend(node.finalbody)
                for handler in node.handlers:
                    stack.extend(handler.body)
    return names


def public_names(name: str) -> list[str]:
    module = importlib.import_module(name)
    declared = getattr(module, "__all__", None)
    if declared is not None:
        names = set(declared)
    else:
        tree = ast.parse(inspect.getsource(module))
        names = {n for n in _bound_at_top_level(tree) if hasattr(module, n)}
    if hasattr(module, "__path__"):
        names |= {info.name for info in pkgutil.iter_modules(module.__path__)}
    return sorted(n for n in names if not n.startswith("_"))


def main() -> None:
    report = {
        "truss_version": importlib.metadata.version("truss"),
        "modules": {name: public_names(name) for name in MODULES},
    }
    json.dump(report, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
