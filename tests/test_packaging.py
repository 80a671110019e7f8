"""Dependencies by role: `pip install chainsc` checks and builds; `chainsc[run]` serves.

The `run` extra must be exactly what the vendored runtime and its server require
(`chainsc_runtime.REQUIREMENTS` and `SERVER_REQUIREMENTS`, minus pydantic, which `check`
needs too), and a plain install must not pull the serving stack or black.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

import chainsc_runtime

REPO = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))[
    "project"
]


def _names(lines: list[str] | tuple[str, ...]) -> set[str]:
    return {Requirement(line).name for line in lines}


def test_the_run_extra_is_what_the_runtime_and_its_server_require() -> None:
    runtime = [*chainsc_runtime.REQUIREMENTS, *chainsc_runtime.SERVER_REQUIREMENTS]
    core = _names(PROJECT["dependencies"])
    run = {str(Requirement(line)) for line in PROJECT["optional-dependencies"]["run"]}
    assert run | {
        str(Requirement(line)) for line in runtime if Requirement(line).name in core
    } == {str(Requirement(line)) for line in runtime}


def test_a_plain_install_has_no_serving_stack_and_no_formatter() -> None:
    assert not _names(PROJECT["dependencies"]) & {
        "aiohttp",
        "httpx",
        "msgpack",
        "uvicorn",
        "httptools",
        "uvloop",
        "black",
        "truss",
    }


def test_a_plain_wheel_install_checks_and_builds_and_run_names_its_extra(
    tmp_path: Path,
) -> None:
    """`pip install chainsc` (a real wheel, no extras) into a fresh venv, used as a user would.

    The wheel's layout is what this proves beyond the editable install: `chainsc` with its
    templates as package data and `chainsc_runtime` beside it, found from chainsc's own
    files. Its build is byte-identical to the development install's.
    """
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    venv = tmp_path / "venv"
    subprocess.run(
        [uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True
    )
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(python), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    listed = subprocess.run(
        [uv, "pip", "list", "--python", str(python)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not {"aiohttp", "httpx", "uvicorn", "black", "truss"} & {
        line.split()[0].lower() for line in listed.splitlines()[2:]
    }

    chain = REPO / "examples" / "text_pipeline" / "chain.py"
    built = {}
    for name, command in (
        ("wheel", [str(venv / "bin" / "chainsc")]),
        ("dev", [sys.executable, "-m", "chainsc"]),
    ):
        result = subprocess.run(
            # With every deployment file: the wheel ships their templates too.
            [
                *command,
                "build",
                str(chain),
                "-o",
                str(tmp_path / name),
                "--with",
                "kubernetes",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        built[name] = {
            p.relative_to(tmp_path / name).as_posix(): p.read_bytes()
            for p in (tmp_path / name).rglob("*")
            if p.is_file()
        }
    assert built["wheel"] == built["dev"]

    result = subprocess.run(
        [str(venv / "bin" / "chainsc"), "run", str(tmp_path / "wheel")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "pip install 'chainsc[run]'" in result.stderr
    assert "aiohttp" in result.stderr
    assert "Traceback" not in result.stderr

    # `chainsc push` names its extra (truss), having checked the build first.
    result = subprocess.run(
        [str(venv / "bin" / "chainsc"), "push", str(tmp_path / "wheel"), "--dryrun"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "pip install 'chainsc[baseten]'" in result.stderr
    assert "Traceback" not in result.stderr
