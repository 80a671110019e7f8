"""chainsc installs two import names, `chainsc` and `chainsc_runtime`, and finds its own files.

A user's directory may hold packages named like chainsc's repository folders (`compiler`,
`runtime_lib`, `codegen_templates`) or like the runtime (`chainsc_runtime`): a build run
there (`python -m chainsc`, which puts the working directory first on `sys.path`) must use
chainsc's own templates and runtime, never those.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DECOYS = ("compiler", "runtime_lib", "codegen_templates", "chainsc_runtime")

CHAIN = """\
import truss_chains as chains


class Shout(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return text.upper()


@chains.mark_entrypoint
class Greet(chains.ChainletBase):
    def __init__(self, shout: Shout = chains.depends(Shout)) -> None:
        self._shout = shout

    def run_remote(self, name: str) -> str:
        return self._shout.run_remote(f"hello {name}")
"""


def test_no_generic_top_level_names_are_installed(tmp_path: Path) -> None:
    probe = (
        "import importlib.util, json\n"
        "names = ['compiler', 'runtime_lib', 'codegen_templates', 'chainsc', 'chainsc_runtime']\n"
        "print(json.dumps({n: importlib.util.find_spec(n) is not None for n in names}))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert found.strip() == (
        '{"compiler": false, "runtime_lib": false, "codegen_templates": false, '
        '"chainsc": true, "chainsc_runtime": true}'
    )


@pytest.mark.parametrize("entry", ["module", "script"])
def test_a_build_among_decoy_packages_uses_chainscs_own_files(
    tmp_path: Path, entry: str
) -> None:
    for name in DECOYS:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(
            f'raise SystemExit("decoy {name} imported")\n'
        )
    # A template and a runtime module a decoy would supply if it were looked up.
    (tmp_path / "codegen_templates" / "chainlet").mkdir()
    (tmp_path / "codegen_templates" / "chainlet" / "server.py.jinja").write_text(
        "DECOY TEMPLATE\n"
    )
    (tmp_path / "chainsc_runtime" / "server.py").write_text("DECOY RUNTIME\n")
    (tmp_path / "runtime_lib" / "server.py").write_text("DECOY RUNTIME\n")
    (tmp_path / "app.py").write_text(CHAIN)
    command = (
        [sys.executable, "-m", "chainsc"]
        if entry == "module"
        else [str(Path(sys.executable).parent / "chainsc")]
    )
    result = subprocess.run(
        [*command, "build", "app.py", "-o", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    texts = [path.read_bytes() for path in out.rglob("*") if path.is_file()]
    assert not [text for text in texts if b"DECOY" in text or b"decoy" in text]
    vendored = out / "greet" / "packages" / "chainsc_runtime" / "server.py"
    installed = REPO / "runtime_lib" / "server.py"
    assert (
        hashlib.sha256(vendored.read_bytes()).digest()
        == hashlib.sha256(installed.read_bytes()).digest()
    )
