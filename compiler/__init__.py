"""chainsc: a static compiler for Truss Chains.

The public library API; the CLI (`compiler.cli`) is a thin layer over it.
Names are loaded on first use so that `chainsc --help` does not pay for libcst.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compiler.api import CheckOptions, CheckResult, check_file
    from compiler.diagnostics import Diagnostic, Severity

__all__ = ["CheckOptions", "CheckResult", "Diagnostic", "Severity", "check_file"]

_HOMES = {
    "CheckOptions": "compiler.api",
    "CheckResult": "compiler.api",
    "check_file": "compiler.api",
    "Diagnostic": "compiler.diagnostics",
    "Severity": "compiler.diagnostics",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'compiler' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
