from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli

GOOD = """import truss_chains as chains


class Hello(chains.ChainletBase):
    def run_remote(self, name: str) -> str:
        return f"Hello, {name}"
"""

BAD = """import truss_chains as chains


class Hello(chains.ChainletBase):
    def run_remote(self, name) -> str:
        return name
"""


def test_check_clean_chain_exits_0_and_prints_nothing(tmp_path: Path) -> None:
    chain = tmp_path / "chain.py"
    chain.write_text(GOOD)
    result = run_cli("check", str(chain))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""


def test_check_errors_exit_1_with_located_rendering(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(BAD)
    result = run_cli("check", "chain.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        "chain.py:5:26: error[CSC204]: parameter `name` of `run_remote` has no type annotation\n"
        " 5 |     def run_remote(self, name) -> str:\n"
        "   |                          ^^^^\n"
        "1 error, 0 warnings\n"
    )
    assert "Traceback" not in result.stderr


def test_check_json_format(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(BAD)
    result = run_cli("check", "chain.py", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload == [
        {
            "code": "CSC204",
            "col": 26,
            "end_col": 30,
            "end_line": 5,
            "help": None,
            "line": 5,
            "message": "parameter `name` of `run_remote` has no type annotation",
            "notes": [],
            "path": "chain.py",
            "severity": "error",
        }
    ]


def test_check_github_format(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(BAD)
    result = run_cli("check", "chain.py", "--format", "github", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith(
        "::error file=chain.py,line=5,col=26,endLine=5,endColumn=30,title=CSC204::"
    )


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = run_cli("check", str(tmp_path / "nope.py"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    bad_option = run_cli("check", "--format", "xml", str(tmp_path))
    assert bad_option.returncode == 2


def test_display_path_is_as_typed_never_absolute(tmp_path: Path) -> None:
    sub = tmp_path / "proj"
    sub.mkdir()
    (sub / "chain.py").write_text(BAD)
    result = run_cli("check", "proj/chain.py", cwd=tmp_path)
    assert result.stderr.startswith("chain.py:5:26:")
    assert str(tmp_path) not in result.stderr


def test_inspect_json_prints_the_ir(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(GOOD)
    result = run_cli("inspect", "chain.py", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ir = json.loads(result.stdout)
    assert ir["entrypoint"] == "chain.Hello"
    (chainlet,) = ir["chainlets"]
    assert chainlet["endpoint"]["params"][0]["name"] == "name"
    assert chainlet["endpoint"]["returns"] == {
        "kind": "builtin",
        "name": "str",
        "args": [],
        "literals": [],
        "is_variadic": False,
    }


def test_inspect_with_errors_exits_1_without_ir(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(BAD)
    result = run_cli("inspect", "chain.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""


def test_entrypoint_option_chooses_the_entrypoint(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(
        GOOD
        + "\n\nclass Other(chains.ChainletBase):\n    def run_remote(self) -> None:\n        pass\n"
    )
    assert run_cli("check", "chain.py", cwd=tmp_path).returncode == 1
    chosen = run_cli(
        "inspect", "chain.py", "--json", "--entrypoint", "Other", cwd=tmp_path
    )
    assert chosen.returncode == 0, chosen.stderr
    assert json.loads(chosen.stdout)["entrypoint"] == "chain.Other"


def test_internal_error_exits_3_with_report_request_and_traceback_only_with_debug(
    tmp_path: Path,
) -> None:
    # A file that is a directory named like a module makes reading fail inside the pipeline
    # only if chainsc mishandles it; instead we provoke an internal error through a hook.
    chain = tmp_path / "chain.py"
    chain.write_text(GOOD)
    script = (
        "import chainsc.extract as e\n"
        "def boom(*a, **k):\n    raise RuntimeError('boom')\n"
        "e.extract_chain = boom\n"
        "import chainsc.api as api\napi.extract_chain = boom\n"
        "from chainsc.cli import main\nimport sys\nraise SystemExit(main(sys.argv[1:]))\n"
    )
    plain = subprocess.run(
        [sys.executable, "-c", script, "check", str(chain)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 3
    assert "internal error (RuntimeError)" in plain.stderr
    assert "please report" in plain.stderr
    assert "Traceback" not in plain.stderr
    debug = subprocess.run(
        [sys.executable, "-c", script, "--debug", "check", str(chain)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert debug.returncode == 3
    assert "Traceback" in debug.stderr
