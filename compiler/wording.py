"""Wording shared by everything that talks to the user: counts with their nouns."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` and its noun: "1 Chainlet", "2 Chainlets", "0 errors" (`plural_form` if irregular)."""
    noun = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count} {noun}"
