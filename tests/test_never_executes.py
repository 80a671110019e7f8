from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli


def test_compiling_never_runs_the_chain_or_its_imports(tmp_path: Path) -> None:
    marker = tmp_path / "executed.txt"
    (tmp_path / "sibling.py").write_text(
        f"from pathlib import Path\nPath({str(tmp_path / 'sibling_ran.txt')!r}).write_text('x')\n"
        "import torch  # not installed: importing this module would fail\n"
        "GREETING = 'hi'\n"
    )
    (tmp_path / "chain.py").write_text(
        f"""from pathlib import Path
import truss_chains as chains
from sibling import GREETING

Path({str(marker)!r}).write_text("ran")
raise SystemExit(7)


class Hello(chains.ChainletBase):
    def run_remote(self, name: str) -> str:
        return GREETING + name
"""
    )
    result = run_cli("check", "chain.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "CSC003" in result.stderr  # the side effects are reported, not run
    assert not marker.exists()
    assert not (tmp_path / "sibling_ran.txt").exists()
