"""The README documents every diagnostic code, with its summary."""

from __future__ import annotations

from chainsc.codes import CODES
from tests.conftest import REPO


def test_readme_lists_every_code_with_its_summary() -> None:
    readme = (REPO / "README.md").read_text()
    for code in CODES.values():
        assert f"| `{code.code}` | {code.severity} | {code.summary} |" in readme, (
            code.code
        )
