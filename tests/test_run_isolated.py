"""`chainsc run --isolated` and the one-line report of a package that cannot start.

Real runs of the CLI on loopback. `--isolated` installs from the package registry with
uv: the uv cache (and, where a test does not need a fresh one, chainsc's venv cache) is
shared by the whole session, under the pytest cache or `$CHAINSC_TEST_CACHE`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from chainsc import api
from chainsc.isolate import MARKER, find_uv
from tests.conftest import REPO
from tests.test_run import _build, _free_port, _processes_in, _wait_for
from tests.test_run_lifecycle import assert_sigkill_leaves_no_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def shared_cache(request: pytest.FixtureRequest) -> Path:
    """One cache directory for the session: `uv/` (uv's downloads) and `chainsc/` (venvs)."""
    configured = os.environ.get("CHAINSC_TEST_CACHE")
    if configured:
        return Path(configured)
    cache = request.config.cache
    assert cache is not None
    return cache.mkdir("chainsc-isolated")


def _env(shared_cache: Path, chainsc_cache: Path | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "UV_CACHE_DIR": str(shared_cache / "uv"),
        "CHAINSC_CACHE_DIR": str(chainsc_cache or shared_cache / "chainsc"),
    }


def _start(
    out: Path,
    port: int,
    env: dict[str, str],
    *,
    isolated: bool = False,
    debug: bool = False,
) -> subprocess.Popen[str]:
    """`chainsc [--debug] run [--isolated] OUT --port PORT`, its output merged into stdout."""
    options = [*(["--debug"] * debug), "run", *(["--isolated"] * isolated)]
    return subprocess.Popen(
        [sys.executable, "-m", "chainsc", *options, str(out), "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM the run; what it printed until it exited (0)."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert process.stdout is not None
    return process.stdout.read()


def _finish(
    out: Path, env: dict[str, str], *, isolated: bool = False, debug: bool = False
) -> tuple[int, str]:
    """A run that is expected to end on its own: its exit code and everything it printed."""
    with _start(out, _free_port(), env, isolated=isolated, debug=debug) as process:
        output, _ = process.communicate(timeout=300)
    assert _processes_in(out) == []
    return process.returncode, output


def _venvs(cache: Path) -> dict[str, int]:
    """The complete venvs of a cache: name -> inode of its marker (a rebuilt venv gets a new one)."""
    root = cache / "venvs"
    return {
        p.name: (p / MARKER).stat().st_ino
        for p in sorted(root.iterdir())
        if (p / MARKER).is_file()
    }


def _line_of(path: Path, start: str) -> int:
    """The number of the line of `path` that starts with `start` (where a slice put a statement)."""
    return next(
        n
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if line.startswith(start)
    )


def _call(port: int, body: dict[str, object]) -> object:
    response = httpx.post(f"http://127.0.0.1:{port}/run_remote", json=body, timeout=60)
    response.raise_for_status()
    return response.json()


PREFIX_CHAIN = '''
import sys

import truss_chains as chains
import yaml


class Same(chains.ChainletBase):
    """The same requirements as the entrypoint: shares its venv."""

    def run_remote(self) -> str:
        return sys.prefix


class Yamly(chains.ChainletBase):
    """Its own requirements (a pyproject.toml with PyYAML): a venv of its own."""

    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(requirements_file=chains.make_abs_path_here("pyproject.toml"))
    )

    def run_remote(self) -> str:
        return yaml.safe_dump({"prefix": sys.prefix}).strip()


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(self, same: Same = chains.depends(Same), yamly: Yamly = chains.depends(Yamly)) -> None:
        self._same = same
        self._yamly = yamly

    def run_remote(self) -> dict[str, str]:
        return {"entry": sys.prefix, "same": self._same.run_remote(), "yamly": self._yamly.run_remote()}
'''

PYPROJECT = """[project]
name = "yamly"
version = "0.1.0"
dependencies = ["aiohttp>=3.9,<4", "httpx>=0.27,<1", "msgpack>=1.0,<2", "pydantic>=2.7,<3", "PyYAML>=6"]
"""


def test_isolated_run_serves_each_package_from_its_venv_and_reuses_the_cache(
    tmp_path: Path, shared_cache: Path
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text(PREFIX_CHAIN)
    (project / "pyproject.toml").write_text(PYPROJECT)
    out = tmp_path / "out"
    _build(project / "app.py", out)
    cache = tmp_path / "chainsc-cache"  # fresh: the first run must create the venvs
    env = _env(shared_cache, cache)

    port = _free_port()
    with _start(out, port, env, isolated=True) as process:
        first = _wait_for(process, "ready; entrypoint", timeout=300)
        answer = _call(port, {})
        first += _stop(process).splitlines()
    created = _venvs(cache)
    assert len(created) == 2, first
    assert sum(": creating " in line for line in first) == 2, first
    assert not any(": cached (" in line for line in first), first
    assert isinstance(answer, dict)
    entry_venv, yamly_venv = (
        Path(answer["entry"]),
        Path(answer["yamly"].removeprefix("prefix: ")),
    )
    # Every server ran on its venv's interpreter, not on chainsc's.
    assert answer["same"] == answer["entry"]
    assert {entry_venv.name, yamly_venv.name} == set(created)
    assert entry_venv.parent == yamly_venv.parent == cache / "venvs"
    assert Path(sys.prefix) not in (entry_venv, yamly_venv)
    assert not list((cache / "venvs").glob(".tmp-*"))

    port = _free_port()
    with _start(out, port, env, isolated=True) as process:
        second = _wait_for(process, "ready; entrypoint", timeout=120)
        assert _call(port, {}) == answer
        second += _stop(process).splitlines()
    assert sum(": cached (" in line for line in second) == 2, second
    assert not any(": creating " in line for line in second), second
    assert _venvs(cache) == created  # the same venvs, not rebuilt
    assert _processes_in(out) == []


UNDECLARED_CHAIN = """
import truss_chains as chains
import blib2to3


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return f"{blib2to3.__name__}: {text}"
"""


def test_an_undeclared_import_works_with_chainsc_packages_and_fails_isolated_in_one_line(
    tmp_path: Path, shared_cache: Path
) -> None:
    # blib2to3 comes with black, a dependency of chainsc that Truss does not provide:
    # chainsc warns (CSC460) and adds nothing.
    assert importlib.util.find_spec("blib2to3") is not None
    (tmp_path / "app.py").write_text(UNDECLARED_CHAIN)
    out = tmp_path / "out"
    _build(tmp_path / "app.py", out)
    env = {
        **_env(shared_cache),
        "TMPDIR": str(tmp_path),
    }  # where the traceback's log goes

    port = _free_port()
    with _start(out, port, env) as process:
        _wait_for(process, "ready; entrypoint")
        assert _call(port, {"text": "hi"}) == "blib2to3: hi"
        _stop(process)

    code, output = _finish(out, env, isolated=True)
    assert code == 1, output
    reports = [line for line in output.splitlines() if "cannot start" in line]
    line = _line_of(out / "entry" / "packages" / "app.py", "import blib2to3")
    assert reports == [
        f"chainsc run: package 'entry' cannot start: No module named 'blib2to3' (imported by packages/app.py line {line}); "
        "add `black` (it provides `blib2to3`) to pip_requirements of Entry; "
        "chainsc's own environment has it, the package does not declare it"
    ], output
    assert "Traceback" not in output
    log = re.search(r"the traceback is in (\S+)", output)
    assert log is not None, output
    assert Path(log[1]).parent == tmp_path
    assert "ModuleNotFoundError: No module named 'blib2to3'" in Path(log[1]).read_text()


TRUSS_PROVIDED_CHAIN = """
import truss_chains as chains
import yaml


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return yaml.safe_dump({"text": text}).strip()
"""


def test_an_import_only_truss_provides_serves_unchanged_isolated(
    tmp_path: Path, shared_cache: Path
) -> None:
    # Truss's server image has PyYAML, so this chain serves unchanged on Truss; chainsc
    # adds Truss's requirement line (CSC461) and the isolated venv has it too.
    (tmp_path / "app.py").write_text(TRUSS_PROVIDED_CHAIN)
    out = tmp_path / "out"
    result = api.build_file(tmp_path / "app.py")
    assert [d.code for d in result.diagnostics] == ["CSC461"]
    _build(tmp_path / "app.py", out)
    assert (
        (out / "entry" / "requirements.txt")
        .read_text()
        .endswith("(chainsc adds them)\npyyaml>=6.0.0\n")
    )
    port = _free_port()
    with _start(out, port, _env(shared_cache), isolated=True) as process:
        _wait_for(process, "ready; entrypoint", timeout=300)
        assert _call(port, {"text": "hi"}) == "text: hi"
        _stop(process)
    assert _processes_in(out) == []


MISSING_CHAIN = """
import truss_chains as chains
import chainsc_test_no_such_module


class Helper(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return chainsc_test_no_such_module.shout(text)


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(self, helper: Helper = chains.depends(Helper)) -> None:
        self._helper = helper

    def run_remote(self, text: str) -> str:
        return chainsc_test_no_such_module.shout(self._helper.run_remote(text))
"""


def test_packages_that_cannot_import_a_module_are_reported_in_one_line_each(
    tmp_path: Path,
) -> None:
    (tmp_path / "app.py").write_text(MISSING_CHAIN)
    out = tmp_path / "out"
    _build(tmp_path / "app.py", out)

    env = {**os.environ, "TMPDIR": str(tmp_path)}  # where the tracebacks' log goes
    code, output = _finish(out, env)
    assert code == 1, output
    reports = sorted(line for line in output.splitlines() if "cannot start" in line)
    assert reports == [
        f"chainsc run: package '{package}' cannot start: No module named 'chainsc_test_no_such_module' "
        f"(imported by packages/app.py line {_line_of(out / package / 'packages' / 'app.py', 'import chainsc_test')}); "
        f"add it to pip_requirements of {name}, or install it"
        for package, name in (("entry", "Entry"), ("helper", "Helper"))
    ], output
    assert "Traceback" not in output
    assert (
        output.rstrip()
        .splitlines()[-1]
        .startswith("chainsc run: the tracebacks are in ")
    )

    code, output = _finish(out, env, debug=True)
    assert code == 1
    assert "Helper | Traceback (most recent call last):" in output
    assert (
        "Entry  | ModuleNotFoundError: No module named 'chainsc_test_no_such_module'"
        in output
    )
    assert sum("cannot start" in line for line in output.splitlines()) == 2


BAD_REQUIREMENT_CHAIN = """
import truss_chains as chains


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    remote_config = chains.RemoteConfig(docker_image=chains.DockerImage(pip_requirements=["httpx==0.0.1"]))

    def run_remote(self, text: str) -> str:
        return text
"""


def test_a_failed_install_names_the_package_and_requirement_and_starts_nothing(
    tmp_path: Path, shared_cache: Path
) -> None:
    (tmp_path / "app.py").write_text(BAD_REQUIREMENT_CHAIN)
    out = tmp_path / "out"
    _build(tmp_path / "app.py", out)
    cache = tmp_path / "chainsc-cache"

    code, output = _finish(out, _env(shared_cache, cache), isolated=True)
    assert code == 1, output
    lines = output.splitlines()
    failed = next(line for line in lines if "cannot install" in line)
    assert failed == (
        "chainsc run: cannot install the requirements of package 'entry' (`uv pip install`); "
        "failed requirement: `httpx==0.0.1` (entry/requirements.txt line 10, from pip_requirements)"
    )
    assert any(
        line.startswith("  uv | ") and "httpx==0.0.1" in line for line in lines
    ), output
    assert "Started server" not in output
    assert _venvs(cache) == {}
    assert not list((cache / "venvs").glob(".tmp-*"))


LOCKED_CHAIN = """
import sys

import truss_chains as chains


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(requirements_file=chains.make_abs_path_here("uv.lock"))
    )

    def run_remote(self) -> str:
        return sys.prefix
"""

LOCKED_PYPROJECT = """[project]
name = "locked"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["aiohttp>=3.9,<4", "httpx>=0.27,<1", "msgpack>=1.0,<2", "pydantic>=2.7,<3"]
"""


def test_two_isolated_runs_at_once_build_one_venv_from_a_uv_lock(
    tmp_path: Path, shared_cache: Path
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text(LOCKED_CHAIN)
    (project / "pyproject.toml").write_text(LOCKED_PYPROJECT)
    env = _env(shared_cache, tmp_path / "chainsc-cache")
    subprocess.run([find_uv(env), "lock", "--quiet"], cwd=project, env=env, check=True)
    out = tmp_path / "out"
    _build(project / "app.py", out)

    cache = tmp_path / "chainsc-cache"
    ports = [_free_port(), _free_port()]
    outputs: list[str] = []
    answers = []
    with contextlib.ExitStack() as stack:
        processes = [
            stack.enter_context(_start(out, port, env, isolated=True)) for port in ports
        ]
        try:
            for process, port in zip(processes, ports, strict=True):
                outputs += _wait_for(process, "ready; entrypoint", timeout=300)
                answers.append(_call(port, {}))
        finally:
            for process in processes:
                outputs += _stop(process).splitlines()
    venvs = _venvs(cache)
    assert len(venvs) == 1, outputs
    assert answers == [str(cache / "venvs" / next(iter(venvs)))] * 2
    # One run made it; the other waited for it (or came after) and used it.
    assert sum("created in" in line for line in outputs) == 1, outputs
    assert sum(": cached (" in line for line in outputs) == 1, outputs
    assert not list((cache / "venvs").glob(".tmp-*"))
    assert _processes_in(out) == []


def test_isolated_servers_exit_when_the_supervisor_is_killed(
    tmp_path: Path, shared_cache: Path
) -> None:
    # The venvs' interpreters run server.py directly: they inherit the pipe they watch
    # like chainsc's own interpreter does (`tests/test_run_lifecycle.py`).
    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text(PREFIX_CHAIN)
    (project / "pyproject.toml").write_text(PYPROJECT)
    out = tmp_path / "out"
    _build(project / "app.py", out)
    assert_sigkill_leaves_no_server(out, 3, isolated=True, env=_env(shared_cache))
