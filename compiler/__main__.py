"""`python -m compiler`: the chainsc CLI."""

from __future__ import annotations

from compiler.cli import console_main

console_main()
