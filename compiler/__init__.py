"""chainsc: a static compiler for Truss Chains.

The public library API; the CLI (`compiler.cli`) is a thin layer over it.
"""

from __future__ import annotations

from compiler.api import CheckOptions, CheckResult, check_file
from compiler.diagnostics import Diagnostic, Severity

__all__ = ["CheckOptions", "CheckResult", "Diagnostic", "Severity", "check_file"]
