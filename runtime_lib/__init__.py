"""chainsc runtime: vendored into every generated package (built in a later issue)."""

from __future__ import annotations

RUNTIME_VERSION = "0.1.0"

__all__ = ["RUNTIME_VERSION"]
