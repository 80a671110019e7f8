"""CLI conventions: colour on a terminal only (NO_COLOR, --color/--no-color), a progress line for
long builds, counts worded in the singular and plural, an example in every command's --help.

The real `chainsc` in a subprocess; a terminal is a pseudo-terminal (`pty`).
"""

from __future__ import annotations

import os
import pty
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chainsc.cli import cli
from chainsc.wording import plural
from tests.conftest import CHAINSC, REPO, run_cli

BAD = """import truss_chains as chains


class Hello(chains.ChainletBase):
    def run_remote(self, name, greeting) -> str:
        return name
"""

GOOD = """import truss_chains as chains


class Hello(chains.ChainletBase):
    def run_remote(self, name: str) -> str:
        return f"Hello, {name}"
"""

#: An ANSI escape sequence; `ESC[31m` is red (the severity "error"), `ESC[1m` bold.
ESC = "\x1b["
RED = "\x1b[31m"


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": "0", **extra}
    if "NO_COLOR" not in extra:
        env.pop("NO_COLOR", None)
    return env


def _in_terminal(
    *args: str, cwd: Path, env: dict[str, str], timeout: float = 300
) -> tuple[int, str]:
    """Run `chainsc ARGS` with stdin, stdout and stderr on a pseudo-terminal; (exit code, output)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(CHAINSC), *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=cwd,
        env=env,
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: every process holding the terminal has closed it
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    code = process.wait(timeout=timeout)
    return code, b"".join(chunks).decode().replace("\r\n", "\n")


def test_diagnostics_are_coloured_on_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(BAD)
    code, output = _in_terminal("check", "chain.py", cwd=tmp_path, env=_env())
    assert code == 1
    assert f"{RED}" in output
    assert "error" in output
    plain = output
    for sequence in (
        "\x1b[31m",
        "\x1b[33m",
        "\x1b[34m",
        "\x1b[36m",
        "\x1b[1m",
        "\x1b[0m",
    ):
        plain = plain.replace(sequence, "")
    assert ESC not in plain  # nothing but these styles
    assert plain == run_cli("check", "chain.py", cwd=tmp_path).stderr  # the same text
    assert "2 errors, 0 warnings" in plain


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("check", "chain.py"), {"NO_COLOR": "1"}),
        (("check", "chain.py"), {"NO_COLOR": "anything"}),
        (("--no-color", "check", "chain.py"), {}),
    ],
)
def test_no_color_on_a_terminal_when_asked(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str]
) -> None:
    (tmp_path / "chain.py").write_text(BAD)
    code, output = _in_terminal(*args, cwd=tmp_path, env=_env(**env))
    assert code == 1
    assert "error[CSC204]" in output
    assert ESC not in output


def test_an_empty_no_color_does_not_turn_colour_off(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(BAD)
    _, output = _in_terminal("check", "chain.py", cwd=tmp_path, env=_env(NO_COLOR=""))
    assert RED in output


def test_no_colour_in_a_pipe_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(BAD)
    piped = run_cli("check", "chain.py", cwd=tmp_path)
    assert piped.returncode == 1
    assert "error[CSC204]" in piped.stderr
    assert ESC not in piped.stderr
    forced = run_cli("--color", "check", "chain.py", cwd=tmp_path)
    assert forced.returncode == 1
    assert RED in forced.stderr
    assert (
        ESC
        not in run_cli(
            "--color", "check", "chain.py", "--format", "json", cwd=tmp_path
        ).stdout
    )


@pytest.mark.slow
def test_a_long_build_shows_a_progress_line_on_a_terminal_only(tmp_path: Path) -> None:
    """300 Chainlets take well over a second to build anywhere; the line is erased when done."""
    chain = tmp_path / "big.py"
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "gen_chain.py"), "300", str(chain)],
        check=True,
    )
    code, output = _in_terminal(
        "build", "big.py", "-o", "out", "--check", cwd=tmp_path, env=_env()
    )
    assert code == 1  # out/ is missing: --check fails, after the build ran
    assert "\r\x1b[Kchainsc: building big.py (" in output
    erased = output.rindex("\r\x1b[K")
    assert "building" not in output[erased:]  # erased before the result is printed
    assert "out: 0 changed" in output[erased:]
    piped = run_cli("build", "big.py", "-o", "out", "--check", cwd=tmp_path)
    assert piped.returncode == 1
    assert "building" not in piped.stderr
    assert ESC not in piped.stderr


def test_counts_are_worded_in_the_singular_and_the_plural() -> None:
    assert plural(1, "Chainlet") == "1 Chainlet"
    assert plural(2, "Chainlet") == "2 Chainlets"
    assert plural(0, "error") == "0 errors"
    assert plural(1, "warning") == "1 warning"


def test_one_error_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(BAD.replace(", greeting", ""))
    result = run_cli("check", "chain.py", cwd=tmp_path)
    assert result.stderr.endswith("\n1 error, 0 warnings\n")
    (tmp_path / "chain.py").write_text(BAD)
    result = run_cli("check", "chain.py", cwd=tmp_path)
    assert result.stderr.endswith("\n2 errors, 0 warnings\n")


def test_run_says_1_chainlet_ready(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(GOOD)
    built = run_cli("build", "chain.py", "-o", "out", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [str(CHAINSC), "run", "out", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    with process:
        assert process.stdout is not None
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                line = process.stdout.readline()
                if not line:
                    break
                lines.append(line)
                if "ready; entrypoint" in line:
                    break
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
            process.stdout.read()
    assert any(
        line.startswith("chainsc: 1 Chainlet ready; entrypoint `Hello`")
        for line in lines
    ), "".join(lines)


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_help_has_an_example(command: str) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"Examples:\n    chainsc {command}" in result.stdout, result.stdout


def test_the_top_level_help_has_examples() -> None:
    result = run_cli("--help")
    assert "Examples:\n    chainsc check chain.py\n" in result.stdout
    assert "--color / --no-color" in result.stdout
