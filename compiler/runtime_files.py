"""Where chainsc's runtime (`runtime_lib/`) is, and the facts its files state.

Shared by the front end (which names the runtime provides: `surface`) and the back end
(what a package vendors and requires: `emit.plan`, `requirements_check`). The runtime's
files are read, never imported: importing it loads pydantic, aiohttp and httpx. Its
constants (`REQUIREMENTS`, `SERVER_REQUIREMENTS`) are plain literals for that reason.
Imports: the standard library, diagnostics.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path

from compiler.diagnostics import InternalError


@functools.cache
def runtime_dir() -> Path:
    """The directory of the installed `runtime_lib` (found, not imported)."""
    spec = importlib.util.find_spec("runtime_lib")
    if spec is None or spec.origin is None:
        raise InternalError("runtime_lib is not installed next to chainsc")
    return Path(spec.origin).parent


def runtime_constant(init_source: str, name: str) -> tuple[str, ...] | None:
    """A tuple-of-strings constant (`REQUIREMENTS`, ...) of a runtime `__init__.py`, read statically.

    Works on any copy of the runtime: the installed one, or a built package's vendored
    `chainsc_runtime/__init__.py` (`chainsc run --isolated`). None when `name` is not
    such a constant.
    """
    for node in ast.parse(init_source).body:
        if isinstance(node, ast.Assign):
            targets, assigned = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, assigned = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            value = ast.literal_eval(assigned)
            if isinstance(value, tuple) and all(isinstance(item, str) for item in value):
                return value
    return None


@functools.cache
def installed_constant(name: str) -> tuple[str, ...]:
    """A tuple-of-strings constant of the installed `runtime_lib/__init__.py`."""
    value = runtime_constant((runtime_dir() / "__init__.py").read_text(encoding="utf-8"), name)
    if value is None:
        raise InternalError(f"runtime_lib.{name} is not a tuple of strings")
    return value
