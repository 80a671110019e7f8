"""The no-op `chainsc build` / `build --check` (`chainsc.fastcheck`), through the real CLI.

A run took the fast path when it loaded neither libcst nor jinja2 (`python -X importtime`
lists every module a process imports); every kind of input edited must take the slow
path, which then finds the change (never a wrong "up to date").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from chainsc import fastcheck
from chainsc.cli import build as build_command
from tests.conftest import CHAINSC

CHAIN = """\
import pathlib

import truss_chains as chains

import helpers

LABELS = chains.make_abs_path_here("labels.txt")


class Worker(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            requirements_file=chains.make_abs_path_here("requirements.txt"),
            data_dir=chains.make_abs_path_here("data"),
        )
    )

    def run_remote(self, text: str) -> str:
        labels = pathlib.Path(LABELS).read_text()
        return helpers.shout(text) + labels


@chains.mark_entrypoint
class Front(chains.ChainletBase):
    def __init__(self, worker: Worker = chains.depends(Worker)) -> None:
        self._worker = worker

    def run_remote(self, text: str) -> str:
        return self._worker.run_remote(text)
"""

HELPERS = """\
def shout(text: str) -> str:
    return text.upper()
"""

#: Modules only the slow path loads.
HEAVY = ("libcst", "jinja2", "black", "yaml")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    #: Top-level names of every module the process imported.
    imported: frozenset[str]

    @property
    def fast(self) -> bool:
        return not (self.imported & set(HEAVY))


def chainsc(cwd: Path, cache: Path, *args: str, module: bool = False) -> Run:
    """The real console script in a child process, with `-X importtime` to see what it loaded.

    `module`: `python -m chainsc` instead, which goes to the CLI (click) at once.
    """
    env = {**os.environ, fastcheck.CACHE_DIR_ENV_VAR: str(cache)}
    env.pop(fastcheck.DISABLE_ENV_VAR, None)
    entry = ["-m", "chainsc"] if module else [str(CHAINSC)]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *entry, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    imported: set[str] = set()
    messages: list[str] = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:"):
            name = line.rpartition("|")[2].strip()
            imported.add(name.split(".")[0])
        else:
            messages.append(line)
    return Run(done.returncode, done.stdout, "\n".join(messages), frozenset(imported))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A chain with a local module, a requirements file, a `data_dir` and a data file."""
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "chain.py").write_text(CHAIN)
    (root / "helpers.py").write_text(HELPERS)
    (root / "requirements.txt").write_text("httpx\n")
    (root / "labels.txt").write_text("a,b\n")
    (root / "data" / "weights.bin").write_bytes(b"\0weights")
    return root


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _built(project: Path, cache: Path, *options: str) -> None:
    """Build, then check that a no-op check and build take the fast path."""
    built = chainsc(project, cache, "build", "chain.py", "-o", "out", *options)
    assert built.code == 0, built.stderr
    assert not built.fast
    check = chainsc(
        project, cache, "build", "--check", "chain.py", "-o", "out", *options
    )
    assert check.code == 0, check.stderr
    assert check.fast, sorted(check.imported & set(HEAVY))
    assert "out: up to date (" in check.stderr


def test_no_op_check_and_build_load_no_parser_nor_renderer(
    project: Path, cache: Path
) -> None:
    _built(project, cache)
    rebuild = chainsc(project, cache, "build", "chain.py", "-o", "out")
    assert rebuild.code == 0, rebuild.stderr
    assert rebuild.fast
    assert "0 written" in rebuild.stderr
    assert "0 removed" in rebuild.stderr
    json_check = chainsc(
        project, cache, "build", "--check", "chain.py", "-o", "out", "--format", "json"
    )
    assert (json_check.code, json_check.stdout, json_check.fast) == (0, "[]\n", True)


def test_the_cli_takes_the_fast_path_too(project: Path, cache: Path) -> None:
    """`python -m chainsc` (click first), and an argument the console script leaves to it."""
    _built(project, cache)
    check = chainsc(
        project, cache, "build", "--check", "chain.py", "-o", "out", module=True
    )
    assert (check.code, check.fast) == (0, True), check.stderr
    assert "click" in check.imported
    spelled = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out", "--")
    assert (spelled.code, spelled.fast) == (0, True), spelled.stderr
    assert "click" in spelled.imported
    disabled = subprocess.run(
        [str(CHAINSC), "build", "--check", "chain.py", "-o", "out"],
        cwd=project,
        env={
            **os.environ,
            fastcheck.CACHE_DIR_ENV_VAR: str(cache),
            fastcheck.DISABLE_ENV_VAR: "1",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert disabled.returncode == 0, disabled.stderr


ARGVS = [
    ["build", "c.py", "-o", "out"],
    ["build", "--check", "c.py", "-oout"],
    ["build", "c.py", "--output=out", "--root", "r", "--check"],
    ["build", "--entrypoint", "--check", "c.py", "-o", "out"],
    ["build", "c.py", "-o", "a", "-o", "b", "--with", "docker", "--with=kubernetes"],
    ["build", "c.py", "-o", "out", "--format", "json", "--force", "--root=r"],
    ["build", "c.py", "-o", "out", "--entrypoint=A=B"],
]


@pytest.mark.parametrize("argv", ARGVS, ids=[" ".join(a[1:]) for a in ARGVS])
def test_the_console_script_reads_build_as_click_does(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.py").write_text("")
    (tmp_path / "r").mkdir()
    parsed = fastcheck.parse_build(argv)
    assert parsed is not None
    request, check_only, output_format = parsed
    params = build_command.make_context("build", argv[1:]).params
    assert request == fastcheck.Request(
        params["chain"],
        params["out_dir"],
        params["root"],
        params["entrypoint"],
        params["deploy_targets"],
    )
    assert (check_only, output_format) == (
        params["check_only"],
        params["output_format"],
    )


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["check", "c.py"],
        ["build", "c.py"],
        ["build", "c.py", "-o"],
        ["build", "c.py", "d.py", "-o", "out"],
        ["build", "c.py", "-o", "out", "--help"],
        ["build", "c.py", "-o", "out", "--format", "xml"],
        ["build", "c.py", "-o", "out", "--debug"],
        ["--debug", "build", "c.py", "-o", "out"],
    ],
)
def test_the_console_script_leaves_everything_else_to_click(argv: list[str]) -> None:
    assert fastcheck.parse_build(argv) is None


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


#: Each kind of input, edited so that the output changes: (name, edit).
EDITS = {
    "chain file": lambda p: _append(p / "chain.py", "# edited\n"),
    "local module": lambda p: (p / "helpers.py").write_text(
        HELPERS.replace("upper", "lower")
    ),
    "requirements file": lambda p: _append(p / "requirements.txt", "numpy\n"),
    "data_dir file": lambda p: (p / "data" / "weights.bin").write_bytes(b"other"),
    "new file in data_dir": lambda p: (p / "data" / "more.bin").write_bytes(b"x"),
    "make_abs_path_here file": lambda p: (p / "labels.txt").write_text("c\n"),
    "output file": lambda p: _append(p / "out" / "front" / "client.py", "# edited\n"),
    "output file removed": lambda p: (p / "out" / "README.md").unlink(),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_every_kind_of_input_takes_the_slow_path(
    project: Path, cache: Path, edit: object
) -> None:
    _built(project, cache)
    assert callable(edit)
    edit(project)
    check = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out")
    assert not check.fast
    assert check.code == 1, check.stderr
    rebuilt = chainsc(project, cache, "build", "chain.py", "-o", "out")
    assert (rebuilt.code, rebuilt.fast) == (0, False), rebuilt.stderr
    again = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out")
    assert (again.code, again.fast) == (0, True), again.stderr


def test_a_new_module_that_shadows_an_import_takes_the_slow_path(
    project: Path, cache: Path
) -> None:
    """A file the build looked for and did not find is an input too (the root's listing)."""
    (project / "helpers.py").write_text(
        "import textwrap\n\n\ndef shout(text: str) -> str:\n"
        "    return textwrap.dedent(text).upper()\n"
    )
    _built(project, cache)
    # `textwrap` was the standard library's; a local one is now carried in the package.
    (project / "textwrap.py").write_text("X = 1\n")
    check = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out")
    assert not check.fast
    assert check.code == 1, check.stderr
    assert "packages/textwrap.py" in check.stdout


def test_an_unrelated_new_file_takes_the_slow_path_once(
    project: Path, cache: Path
) -> None:
    """The slow path finds nothing to do, and saves a stamp that covers the new file."""
    _built(project, cache)
    (project / "notes.md").write_text("notes\n")
    check = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out")
    assert (check.code, check.fast) == (0, False), check.stderr
    again = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out")
    assert (again.code, again.fast) == (0, True), again.stderr


@pytest.mark.parametrize(
    "options",
    [("--with", "docker"), ("--entrypoint", "Worker"), ("--root", ".")],
    ids=["with", "entrypoint", "root"],
)
def test_other_options_take_the_slow_path(
    project: Path, cache: Path, options: tuple[str, ...]
) -> None:
    _built(project, cache)
    check = chainsc(
        project, cache, "build", "--check", "chain.py", "-o", "out", *options
    )
    assert not check.fast
    # `--root .` is the default root: the same output, found the slow way.
    assert check.code == (0 if options[0] == "--root" else 1), check.stderr


def test_a_pyproject_above_the_chain_takes_the_slow_path(
    project: Path, cache: Path
) -> None:
    """Options may come from `[tool.chainsc]`: a new pyproject.toml is a change."""
    _built(project, cache)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    check = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out")
    assert not check.fast


def test_a_retargeted_link_above_the_root_takes_the_slow_path(
    project: Path, cache: Path, tmp_path: Path
) -> None:
    """The same spelled paths, another directory behind them: not the stamped inputs."""
    other = tmp_path / "other"
    shutil.copytree(project, other)
    (other / "helpers.py").write_text(HELPERS.replace("upper", "lower"))
    link = tmp_path / "link"
    link.symlink_to(project)
    args = ("link/chain.py", "-o", "built")
    assert chainsc(tmp_path, cache, "build", *args).code == 0
    check = chainsc(tmp_path, cache, "build", "--check", *args)
    assert (check.code, check.fast) == (0, True), check.stderr
    link.unlink()
    link.symlink_to(other)
    check = chainsc(tmp_path, cache, "build", "--check", *args)
    assert not check.fast
    assert check.code == 1, check.stderr


def test_a_build_fixes_modes_the_fast_path_would_not(
    project: Path, cache: Path
) -> None:
    """`--check` compares bytes only; `build` also gives the modes, so it goes slow."""
    _built(project, cache)
    client = project / "out" / "front" / "client.py"
    client.chmod(0o600)
    check = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out")
    assert (check.code, check.fast) == (0, True)
    build = chainsc(project, cache, "build", "chain.py", "-o", "out")
    assert (build.code, build.fast) == (0, False)
    assert client.stat().st_mode & 0o777 == 0o644


def test_a_chain_with_warnings_gets_no_stamp(project: Path, cache: Path) -> None:
    """The slow path prints the warnings every time: the fast path would not."""
    _append(project / "chain.py", "\n\nclass Unused(chains.ChainletBase):\n")
    _append(
        project / "chain.py", "    def run_remote(self) -> int:\n        return 1\n"
    )
    built = chainsc(project, cache, "build", "chain.py", "-o", "out")
    assert built.code == 0, built.stderr
    if "warning" not in built.stderr:
        pytest.skip("this chain has no warning any more")
    check = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out")
    assert (check.code, check.fast) == (0, False)
    assert "warning" in check.stderr


def test_the_toolchain_digest_follows_chainsc_own_files(tmp_path: Path) -> None:
    """An edited template (an editable install, no version bump) changes the digest."""
    here = Path(fastcheck.__file__).resolve().parent
    repo = tmp_path / "repo"
    for name, source in (
        ("compiler", here),
        ("runtime_lib", here.parent / "runtime_lib"),
        ("codegen_templates", here.parent / "codegen_templates"),
    ):
        if not source.is_dir():
            pytest.skip("chainsc is not an editable install")
        shutil.copytree(
            source, repo / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    copy = repo / "compiler"
    first = fastcheck.toolchain_digest(copy)
    assert first == fastcheck.toolchain_digest(copy)
    template = next((repo / "codegen_templates").rglob("*.jinja"))
    _append(template, "{# edited #}\n")
    second = fastcheck.toolchain_digest(copy)
    assert second != first
    _append(repo / "runtime_lib" / "__init__.py", "# edited\n")
    assert fastcheck.toolchain_digest(copy) not in {first, second}


# --- stale packages (a package an earlier build wrote that chain.json no longer lists) ---


def _rename_front(project: Path) -> None:
    text = (project / "chain.py").read_text()
    (project / "chain.py").write_text(text.replace("Front", "Gateway"))


def test_a_stale_package_fails_the_check_and_a_build_removes_it(
    project: Path, cache: Path
) -> None:
    _built(project, cache)
    old = project / "out" / "front"
    kept = project / "kept_front"
    shutil.copytree(old, kept)
    _rename_front(project)
    assert chainsc(project, cache, "build", "chain.py", "-o", "out").code == 0
    assert not old.exists()
    # A merge brings the renamed Chainlet's old package back.
    shutil.copytree(kept, old)
    check = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out")
    assert check.code == 1, check.stderr
    assert "out/front/: a package an earlier build wrote" in check.stderr
    assert "1 stale" in check.stderr
    build = chainsc(project, cache, "build", "chain.py", "-o", "out")
    assert build.code == 0, build.stderr
    assert not old.exists()
    assert (project / "out" / "gateway" / "config.yaml").is_file()
    again = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out")
    assert again.code == 0, again.stderr


def test_a_stale_package_with_a_users_file_is_named_and_kept(
    project: Path, cache: Path
) -> None:
    _built(project, cache)
    old = project / "out" / "front"
    kept = project / "kept_front"
    shutil.copytree(old, kept)
    _rename_front(project)
    assert chainsc(project, cache, "build", "chain.py", "-o", "out").code == 0
    shutil.copytree(kept, old)
    (old / "notes.txt").write_text("mine\n")
    check = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out")
    assert check.code == 1, check.stderr
    build = chainsc(project, cache, "build", "chain.py", "-o", "out")
    assert build.code == 0, build.stderr
    assert (old / "notes.txt").read_text() == "mine\n"
    assert "not removed" in build.stderr


def test_a_users_directory_is_no_stale_package(project: Path, cache: Path) -> None:
    _built(project, cache)
    mine = project / "out" / "mine"
    (mine / "model").mkdir(parents=True)
    (mine / "config.yaml").write_text("model_name: mine\n")
    (mine / "model" / "model.py").write_text("class Model: ...\n")
    check = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out")
    assert check.code == 0, check.stderr
    build = chainsc(project, cache, "build", "chain.py", "-o", "out")
    assert build.code == 0, build.stderr
    assert (mine / "config.yaml").read_text() == "model_name: mine\n"


def test_chains_configured_in_pyproject_take_the_fast_path_with_their_options(
    project: Path, cache: Path
) -> None:
    """`chainsc build` with no flags (the pre-commit hook's) is a no-op in milliseconds too."""
    (project / "pyproject.toml").write_text(
        '[[tool.chainsc.chain]]\nfile = "chain.py"\noutput = "out"\nwith = ["docker"]\n'
    )
    built = chainsc(project, cache, "build")
    assert built.code == 0, built.stderr
    assert not built.fast
    assert sorted(p.parent.name for p in (project / "out").glob("*/Dockerfile"))
    for args in (("build", "--check"), ("build",), ("build", "--check", "chain.py")):
        run = chainsc(project, cache, *args)
        assert run.code == 0, (args, run.stderr)
        assert run.fast, (args, sorted(run.imported & set(HEAVY)))
        assert "out: " in run.stderr
    # Flags the table does not set are the table's (the same build, fast); one that
    # overrides it is another build.
    same = chainsc(project, cache, "build", "--check", "chain.py", "-o", "out")
    assert same.code == 0, same.stderr
    other = chainsc(
        project,
        cache,
        "build",
        "--check",
        "chain.py",
        "-o",
        "out",
        "--with",
        "kubernetes",
    )
    assert not other.fast
    assert other.code == 1, other.stderr
    # An edited input still takes the slow path.
    with (project / "chain.py").open("a") as handle:
        handle.write("\n# edited\n")
    edited = chainsc(project, cache, "build", "--check")
    assert not edited.fast
