"""chainsc: a static compiler for Truss Chains.

The public library API; the CLI (`chainsc.cli`) is a thin layer over it.
Names are loaded on first use so that `chainsc --help` does not pay for libcst.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chainsc.api import CheckOptions, CheckResult, check_file
    from chainsc.diagnostics import Diagnostic, Severity

__all__ = ["CheckOptions", "CheckResult", "Diagnostic", "Severity", "check_file"]

_HOMES = {
    "CheckOptions": "chainsc.api",
    "CheckResult": "chainsc.api",
    "check_file": "chainsc.api",
    "Diagnostic": "chainsc.diagnostics",
    "Severity": "chainsc.diagnostics",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'chainsc' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
