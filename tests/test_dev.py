"""`chainsc dev`, `chainsc call` without `--url`, and `chainsc run-local`: the real CLI.

`chainsc dev` runs in a subprocess on a three-Chainlet chain in tmp_path; every
Chainlet answers with its process id, so a test sees which servers restarted.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chainsc.dev import stable_ports
from chainsc.run import RunningChain, find_running, record_running, running_chains
from tests.conftest import CHAINSC, EXAMPLES, REPO

pytestmark = pytest.mark.slow

CHAIN = """\
import os

import truss_chains as chains


class Shout(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return f"{text.upper()}:{os.getpid()}"


class Count(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return f"{len(text)}:{os.getpid()}"


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(
        self,
        shout: Shout = chains.depends(Shout),
        count: Count = chains.depends(Count),
    ) -> None:
        self._shout = shout
        self._count = count

    def run_remote(self, text: str) -> dict[str, str]:
        return {
            "shout": self._shout.run_remote(text),
            "count": self._count.run_remote(text),
            "entry": f"-:{os.getpid()}",
        }


if __name__ == "__main__":
    import truss_chains.utils

    with chains.run_local():
        print("local:", Entry().run_remote("hello"), truss_chains.utils.__name__)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _entry_port() -> int:
    """A free port below the ephemeral range, as a user's 8000 is: no outgoing
    connection takes it while `chainsc dev` restarts the entrypoint."""
    return stable_ports(1, exclude=0)[0]


def _env(tmp_path: Path) -> dict[str, str]:
    """Each test its own state and cache directories: no other run is found."""
    return {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "CHAINSC_STATE_DIR": str(tmp_path / "state"),
        "CHAINSC_CACHE_DIR": str(tmp_path / "cache"),
    }


def _cli(
    *args: str, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHAINSC), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
        timeout=120,
    )


class Output:
    """The lines a process prints, read by a thread, waited for by the test."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._process = process
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(process,))
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, needle: str, timeout: float = 90.0) -> list[str]:
        """The lines up to the first new one containing `needle`."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            seen.append(line)
            if needle in line:
                return seen
        raise AssertionError(f"`{needle}` not seen; output:\n" + "\n".join(self.lines))

    def join(self) -> None:
        """Wait for the end of the output; close the pipe."""
        self._thread.join(timeout=30)
        if self._process.stdout is not None:
            self._process.stdout.close()


def _pids(reply: dict[str, str]) -> dict[str, int]:
    return {name: int(value.rpartition(":")[2]) for name, value in reply.items()}


def _call(project: Path, env: dict[str, str], text: str) -> dict[str, str]:
    called = _cli("call", "--json", json.dumps({"text": text}), cwd=project, env=env)
    assert called.returncode == 0, called.stdout + called.stderr
    assert "calling `Entry` at" in called.stderr
    reply: dict[str, str] = json.loads(called.stdout)
    return reply


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _processes_in(directory: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = (entry / "cwd").readlink()
            except OSError:
                continue
            if directory in (cwd, *cwd.parents):
                found.append(int(entry.name))
    return found


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / "chain.py").write_text(CHAIN)
    return directory


@pytest.fixture
def dev_session(
    project: Path, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], Output, dict[str, str]]]:
    env = _env(tmp_path)
    port = _entry_port()
    process = subprocess.Popen(
        [str(CHAINSC), "dev", "chain.py", "--port", str(port)],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(process)
    try:
        yield process, output, env
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        output.join()


def _add_a_chainlet(
    project: Path, env: dict[str, str], output: Output, shout_pid: int
) -> None:
    """A new Chainlet starts, its caller restarts; a file the chain does not read counts not."""
    chain = project / "chain.py"
    # A file the chain does not read restarts nothing, and rebuilds nothing.
    (project / "notes.txt").write_text("not read by the chain")
    # A new Chainlet: started, and its caller restarts (its code changed); the rest stay.
    before = text = chain.read_text()
    for old, replacement in (
        (
            "@chains.mark_entrypoint",
            "class Echo(chains.ChainletBase):\n"
            "    def run_remote(self, text: str) -> str:\n"
            '        return f"{text}:{os.getpid()}"\n\n\n'
            "@chains.mark_entrypoint",
        ),
        (
            "count: Count = chains.depends(Count),",
            "count: Count = chains.depends(Count),\n"
            "        echo: Echo = chains.depends(Echo),",
        ),
        ("self._count = count", "self._count = count\n        self._echo = echo"),
        (
            '"entry": f"-:',
            '"echo": self._echo.run_remote(text),\n            "entry": f"-:',
        ),
    ):
        assert old in text
        text = text.replace(old, replacement, 1)
    chain.write_text(text)
    added = output.wait_for("after the save")
    assert "notes.txt" not in "\n".join(added)
    summary = next(line for line in added if "kept warm" in line)
    assert summary.startswith("chainsc dev: restarted Echo, Entry;")
    assert "kept warm: Count, Shout" in summary
    fourth = _call(project, env, "abc")
    assert fourth["echo"].startswith("abc:")
    assert _pids(fourth)["shout"] == shout_pid
    # Removed again: it stops, its caller restarts.
    chain.write_text(before)
    removed = output.wait_for("after the save")
    summary = next(line for line in removed if "kept warm" in line)
    assert summary == (
        "chainsc dev: restarted Entry; stopped Echo (removed); kept warm: Count, Shout"
    )
    assert "echo" not in _call(project, env, "abc")


def test_dev_restarts_only_the_changed_package_and_survives_a_syntax_error(
    project: Path,
    tmp_path: Path,
    dev_session: tuple[subprocess.Popen[str], Output, dict[str, str]],
) -> None:
    process, output, env = dev_session
    started = output.wait_for("watching for changes")
    assert any("3 Chainlets ready; entrypoint `Entry`" in line for line in started)
    # The prompt's example needs no --url.
    assert any('try  chainsc call --json \'{"text": "text"}\'' in s for s in started)
    first = _call(project, env, "abc")
    assert first["shout"].startswith("ABC:")
    assert first["count"].startswith("3:")
    pids = _pids(first)
    assert len(set(pids.values())) == 3

    # Edit one Chainlet's body: only its package restarts.
    chain = project / "chain.py"
    _edit(chain, "text.upper()", "text.upper() + '!'")
    restarted = output.wait_for("after the save")
    assert "chainsc dev: changed: chain.py; rebuilding" in restarted
    assert "chainsc dev: restarted Shout; kept warm: Count, Entry" in restarted
    ready = next(line for line in restarted if "after the save" in line)
    assert 0 < float(ready.split("ready ")[1].split(" s ")[0]) < 60
    second = _call(project, env, "abc")
    assert second["shout"].startswith("ABC!:")
    after = _pids(second)
    assert after["shout"] != pids["shout"]
    assert after["count"] == pids["count"]
    assert after["entry"] == pids["entry"]

    # A syntax error: shown, and the running chain keeps answering as before.
    _edit(chain, 'return f"{len(text)}:', 'return f"{len(text}:')
    failed = output.wait_for("the running chain is unchanged")
    assert any("error[CSC002]" in line for line in failed)
    assert _pids(_call(project, env, "abc")) == after

    # Fixed, with a change of Count: only Count restarts.
    _edit(chain, 'return f"{len(text}:', 'return f"{len(text) * 2}:')
    fixed = output.wait_for("after the save")
    assert "chainsc dev: restarted Count; kept warm: Entry, Shout" in fixed
    third = _call(project, env, "abc")
    assert third["count"].startswith("6:")
    assert _pids(third)["shout"] == after["shout"]
    assert _pids(third)["entry"] == after["entry"]

    _add_a_chainlet(project, env, output, after["shout"])

    # Ctrl-C stops everything; the state file goes, and `call` says nothing runs.
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    output.join()
    assert _processes_in(tmp_path / "cache") == []
    assert list((tmp_path / "state").glob("run-*.json")) == []
    gone = _cli("call", "--json", "{}", cwd=project, env=env)
    assert gone.returncode == 1
    assert "no running chain found" in gone.stderr


def test_call_finds_the_run_of_this_directory_and_ignores_stale_ones(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path)
    state = tmp_path / "state"
    # A stale record (its process is gone), newer than anything: ignored and removed.
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = RunningChain(
        pid=dead.pid,
        url=f"http://127.0.0.1:{_free_port()}",
        entrypoint="Gone",
        out_dir=str(tmp_path),
        cwd=str(tmp_path),
        command="run",
        started=time.time() + 1000,
    )
    path = record_running(stale, {"CHAINSC_STATE_DIR": str(state)})
    assert path is not None
    assert path.is_file()
    out = tmp_path / "out"
    built = _cli(
        "build",
        str(EXAMPLES / "text_pipeline" / "chain.py"),
        "-o",
        str(out),
        cwd=REPO,
        env=env,
    )
    assert built.returncode == 0, built.stderr
    port = _free_port()
    run = subprocess.Popen(
        [str(CHAINSC), "run", str(out), "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(run)
    try:
        output.wait_for("ready; entrypoint")
        # From the directory the chain was started in, and from anywhere (the latest).
        for cwd in (tmp_path, REPO):
            body = json.dumps({"documents": [{"doc_id": "a", "text": "One. Two."}]})
            called = _cli("call", "--json", body, cwd=cwd, env=env)
            assert called.returncode == 0, called.stderr
            assert (
                f"at http://127.0.0.1:{port} (chainsc run, pid {run.pid})"
                in called.stderr
            )
            assert json.loads(called.stdout)["results"][0]["doc_id"] == "a"
        assert not path.exists()
        found = find_running(tmp_path, {"CHAINSC_STATE_DIR": str(state)})
        assert found is not None
        assert found.pid == run.pid
        assert found.out_dir == str(out)
    finally:
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=60) == 0
        output.join()
    assert running_chains({"CHAINSC_STATE_DIR": str(state)}) == []


def test_run_local_runs_an_unmodified_truss_chains_file(project: Path) -> None:
    chain = project / "chain.py"
    before = chain.read_bytes()
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    # truss_chains is not installed here: the runtime answers for it.
    probe = subprocess.run(
        [str(CHAINSC.parent / "python"), "-c", "import truss_chains"],
        capture_output=True,
        check=False,
    )
    assert probe.returncode != 0
    ran = _cli("run-local", "chain.py", cwd=project, env=env)
    assert ran.returncode == 0, ran.stderr
    line = next(line for line in ran.stdout.splitlines() if line.startswith("local:"))
    assert "'shout': 'HELLO:" in line
    assert "'count': '5:" in line
    assert line.endswith("chainsc_runtime.utils")
    # With --json, the entrypoint is called inside run_local (no __main__ block).
    called = _cli(
        "run-local", "chain.py", "--json", '{"text": "ab"}', cwd=project, env=env
    )
    assert called.returncode == 0, called.stderr
    assert "local:" not in called.stdout
    reply = json.loads(called.stdout)
    assert reply["shout"].startswith("AB:")
    assert reply["count"].startswith("2:")
    # One process: every Chainlet answered from the same pid.
    assert len(set(_pids(reply).values())) == 1
    named = _cli(
        "run-local",
        "chain.py",
        "--json",
        '{"text": "ab"}',
        "--entrypoint",
        "Count",
        cwd=project,
        env=env,
    )
    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout).startswith("2:")
    assert chain.read_bytes() == before
    bad = _cli("run-local", "chain.py", "--json", "{nope", cwd=project, env=env)
    assert bad.returncode == 2
    assert "not valid JSON" in bad.stderr


def test_dev_keeps_watching_when_a_package_cannot_start(
    project: Path,
    tmp_path: Path,
    dev_session: tuple[subprocess.Popen[str], Output, dict[str, str]],
) -> None:
    """A Chainlet whose `__init__` raises at the first start: reported; the fix starts it."""
    chain = project / "chain.py"
    # Written before `chainsc dev` reads it (the fixture started it; its build is slower).
    process, output, env = dev_session
    del process
    output.wait_for("watching for changes")
    _edit(
        chain,
        "class Count(chains.ChainletBase):\n",
        "class Count(chains.ChainletBase):\n"
        "    def __init__(self) -> None:\n"
        '        raise RuntimeError("no weights")\n\n',
    )
    broken = output.wait_for("did not start: fix and save")
    assert any("no weights" in line for line in broken)
    # The others still answer their probes; the entrypoint's call fails at Count.
    failed = _cli("call", "--json", '{"text": "a"}', cwd=project, env=env)
    assert failed.returncode == 1
    _edit(chain, '        raise RuntimeError("no weights")\n', "        pass\n")
    fixed = output.wait_for("after the save")
    assert any(line.startswith("chainsc dev: restarted Count;") for line in fixed)
    assert _call(project, env, "abc")["count"].startswith("3:")
