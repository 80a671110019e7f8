"""`[tool.chainsc]` in pyproject.toml: the table read (`chainsc.project`), and the real CLI using it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chainsc.project import ProjectError, find_pyproject, parse_project
from tests.conftest import run_cli

#: Two Chainlets, none marked as the entrypoint: CSC102 unless one is chosen.
UNMARKED = """import truss_chains as chains


class Helper(chains.ChainletBase):
    def run_remote(self, x: int) -> int:
        return x + 1


class Hello(chains.ChainletBase):
    def __init__(self, helper: Helper = chains.depends(Helper)) -> None:
        self._helper = helper

    def run_remote(self, x: int) -> int:
        return self._helper.run_remote(x)
"""

GOOD = """import truss_chains as chains


class Solo(chains.ChainletBase):
    def run_remote(self, name: str) -> str:
        return name
"""

BAD = """import truss_chains as chains


class Solo(chains.ChainletBase):
    def run_remote(self, name) -> str:
        return name
"""


def _repo(tmp_path: Path, pyproject: str, **chains: str) -> Path:
    """A directory with `pyproject.toml` and chain files (`name=source`, under chains/)."""
    (tmp_path / "pyproject.toml").write_text(pyproject)
    (tmp_path / "chains").mkdir()
    for name, source in chains.items():
        (tmp_path / "chains" / f"{name}.py").write_text(source)
    return tmp_path


# --- the table, read -------------------------------------------------------------

PYPROJECT = Path("/repo/pyproject.toml")


def test_tables_are_read_with_paths_relative_to_the_pyproject() -> None:
    project = parse_project(
        """
[project]
name = "x"

[[tool.chainsc.chain]]
file = "chains/a.py"
output = "out/a"

[[tool.chainsc.chain]]
file = "b.py"
output = "out/b"
entrypoint = "Hello"
root = "."
with = ["kubernetes", "docker", "docker"]
""",
        PYPROJECT,
    )
    first, second = project.chains
    assert (first.index, first.file, first.output) == (
        1,
        Path("/repo/chains/a.py"),
        Path("/repo/out/a"),
    )
    assert (first.entrypoint, first.root, first.deploy_targets) == (None, None, None)
    assert second.index == 2
    assert second.entrypoint == "Hello"
    assert second.root == Path("/repo/.")
    assert second.deploy_targets == ("docker", "kubernetes")


def test_a_pyproject_without_the_table_configures_nothing() -> None:
    assert parse_project('[project]\nname = "x"\n', PYPROJECT).chains == ()


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            'file = "a.py"\noutput = "out"\noutptu = "x"',
            "table 1: unknown key `outptu` (known keys: entrypoint, file, output, root, with)",
        ),
        (
            'output = "out"',
            "table 1: the key `file` is missing (known keys: entrypoint, file, output, root, with)",
        ),
        ('file = "a.py"', "table 1: the key `output` is missing"),
        (
            'file = "a.py"\noutput = 3',
            "table 1: `output` must be a string (a path), not an integer",
        ),
        (
            'file = "a.py"\noutput = ""',
            "`output` must be a string (a path), not an empty string",
        ),
        (
            'file = "a.py"\noutput = "o"\nentrypoint = true',
            "`entrypoint` must be a string, not a boolean",
        ),
        (
            'file = "a.py"\noutput = "o"\nwith = "docker"',
            "`with` must be a list of strings (docker, kubernetes), not",
        ),
        ('file = "a.py"\noutput = "o"\nwith = [1]', "not an array holding an integer"),
        (
            'file = "a.py"\noutput = "o"\nwith = ["podman"]',
            "`with` names `podman`; the deployment targets are docker, kubernetes",
        ),
    ],
)
def test_a_wrong_table_is_named_with_its_key(table: str, expected: str) -> None:
    text = f'[[tool.chainsc.chain]]\nfile = "ok.py"\noutput = "ok"\n\n[[tool.chainsc.chain]]\n{table}\n'
    with pytest.raises(ProjectError) as caught:
        parse_project(text, PYPROJECT)
    message = str(caught.value)
    assert message.startswith(f"{PYPROJECT}: [[tool.chainsc.chain]] table 2: ")
    assert expected.replace("table 1", "table 2") in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[tool.chainsc]\nchains = []\n",
            "[tool.chainsc]: unknown key `chains` (known keys: chain;",
        ),
        (
            "[tool.chainsc]\nchain = 1\n",
            "`tool.chainsc.chain` must be an array of tables",
        ),
        (
            "[tool.chainsc.chain]\nfile = 'a.py'\n",
            "`tool.chainsc.chain` must be an array of tables",
        ),
        ("[tool]\nchainsc = 1\n", "`tool.chainsc` must be a table"),
        ("[tool.chainsc\n", "not valid TOML"),
    ],
)
def test_a_wrong_tool_table_is_an_error(text: str, expected: str) -> None:
    with pytest.raises(ProjectError, match=r"^/repo/pyproject\.toml: ") as caught:
        parse_project(text, PYPROJECT)
    assert expected in str(caught.value)


def test_the_nearest_pyproject_is_found_but_never_above_a_git_work_tree(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_pyproject(tmp_path / "a" / "b") == tmp_path.resolve() / "pyproject.toml"
    (tmp_path / "a" / "pyproject.toml").write_text("")
    assert (
        find_pyproject(tmp_path / "a" / "b")
        == tmp_path.resolve() / "a" / "pyproject.toml"
    )
    (tmp_path / "repo" / "src").mkdir(parents=True)
    (tmp_path / "repo" / ".git").mkdir()
    assert find_pyproject(tmp_path / "repo" / "src") is None
    (tmp_path / "repo" / ".git").rmdir()
    (tmp_path / "repo" / ".git").write_text("gitdir: elsewhere\n")  # a worktree's
    assert find_pyproject(tmp_path / "repo" / "src") is None


# --- the CLI -----------------------------------------------------------------------


def test_the_entrypoint_of_the_table_is_used(tmp_path: Path) -> None:
    """Without the table the chain is CSC102; with it, check and build work from anywhere."""
    repo = _repo(tmp_path, '[project]\nname = "x"\n', two=UNMARKED)
    unconfigured = run_cli("check", "chains/two.py", cwd=repo)
    assert unconfigured.returncode == 1
    assert "CSC102" in unconfigured.stderr
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[[tool.chainsc.chain]]\nfile = "chains/two.py"\n'
        'output = "out/two"\nentrypoint = "Hello"\n'
    )
    for cwd, chain in ((repo, "chains/two.py"), (repo / "chains", "two.py")):
        checked = run_cli("check", chain, cwd=cwd)
        assert (checked.returncode, checked.stderr) == (0, "")
        graph = run_cli("graph", chain, cwd=cwd)
        assert graph.returncode == 0, graph.stderr
    built = run_cli("build", "two.py", cwd=repo / "chains")
    assert built.returncode == 0, built.stderr
    manifest = json.loads((repo / "out" / "two" / "chain.json").read_text())
    assert manifest["entrypoint"] == "two.Hello"


def test_flags_override_the_table(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        '[[tool.chainsc.chain]]\nfile = "chains/two.py"\noutput = "out/two"\n'
        'entrypoint = "Hello"\nwith = ["docker"]\n',
        two=UNMARKED,
    )
    built = run_cli("build", "chains/two.py", cwd=repo)
    assert built.returncode == 0, built.stderr
    assert (repo / "out" / "two" / "hello" / "Dockerfile").is_file()
    other = run_cli(
        "build", "chains/two.py", "-o", "elsewhere", "--entrypoint", "Helper", cwd=repo
    )
    assert other.returncode == 0, other.stderr
    manifest = json.loads((repo / "elsewhere" / "chain.json").read_text())
    assert manifest["entrypoint"] == "two.Helper"
    assert (repo / "elsewhere" / "helper" / "Dockerfile").is_file()  # `with` kept
    k8s = run_cli(
        "build", "chains/two.py", "-o", "k8s", "--with", "kubernetes", cwd=repo
    )
    assert k8s.returncode == 0, k8s.stderr
    assert (repo / "k8s" / "deploy" / "kubernetes").is_dir()


def test_build_with_no_chain_builds_every_configured_chain(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        '[[tool.chainsc.chain]]\nfile = "chains/two.py"\noutput = "out/two"\nentrypoint = "Hello"\n\n'
        '[[tool.chainsc.chain]]\nfile = "chains/solo.py"\noutput = "out/solo"\n',
        two=UNMARKED,
        solo=GOOD,
    )
    built = run_cli("build", cwd=repo)
    assert built.returncode == 0, built.stderr
    assert "out/two: " in built.stderr
    assert "out/solo: " in built.stderr
    checked = run_cli("build", "--check", cwd=repo)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.count("up to date") == 2
    (repo / "out" / "two" / "README.md").write_text("edited\n")
    stale = run_cli("build", "--check", cwd=repo)
    assert stale.returncode == 1
    assert "out/two: 1 changed" in stale.stderr
    assert "out/solo: up to date" in stale.stderr  # the next chain is still checked
    (repo / "chains" / "solo.py").write_text(BAD)
    (repo / "chains" / "two.py").write_text(UNMARKED)
    broken = run_cli("build", cwd=repo)
    assert broken.returncode == 1
    assert "error[CSC204]" in broken.stderr
    assert "out/two: 1 written" in broken.stderr  # the README, rewritten


def test_check_with_no_chain_checks_every_configured_chain(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        '[[tool.chainsc.chain]]\nfile = "chains/good.py"\noutput = "out/good"\n\n'
        '[[tool.chainsc.chain]]\nfile = "chains/bad.py"\noutput = "out/bad"\n',
        good=GOOD,
        bad=BAD,
    )
    checked = run_cli("check", cwd=repo)
    assert checked.returncode == 1
    assert "bad.py:5:26: error[CSC204]" in checked.stderr
    as_json = run_cli("check", "--format", "json", cwd=repo)
    assert as_json.returncode == 1
    assert [d["code"] for d in json.loads(as_json.stdout)] == ["CSC204"]  # one document
    (repo / "chains" / "bad.py").write_text(GOOD)
    assert run_cli("check", cwd=repo).returncode == 0
    assert not (repo / "out").exists()


@pytest.mark.parametrize("command", [["check"], ["build"], ["build", "--check"]])
def test_a_wrong_table_is_a_usage_error_naming_it(
    tmp_path: Path, command: list[str]
) -> None:
    repo = _repo(
        tmp_path,
        '[[tool.chainsc.chain]]\nfile = "chains/solo.py"\noutput = "out"\nentry = "Solo"\n',
        solo=GOOD,
    )
    for args in (command, [*command, "chains/solo.py"]):
        result = run_cli(*args, cwd=repo)
        assert result.returncode == 2, result.stderr
        assert result.stderr == (
            "chainsc: pyproject.toml: [[tool.chainsc.chain]] table 1: unknown key `entry` "
            "(known keys: entrypoint, file, output, root, with)\n"
        )
    assert not (repo / "out").exists()


def test_a_configured_file_that_is_missing_is_a_usage_error(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path, '[[tool.chainsc.chain]]\nfile = "chains/gone.py"\noutput = "out"\n'
    )
    result = run_cli("build", cwd=repo)
    assert result.returncode == 2
    assert "table 1: `file` chains/gone.py is not a file" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_chain_and_nothing_configured_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # the search stops here
    for command in (["check"], ["build"]):
        result = run_cli(*command, cwd=tmp_path)
        assert result.returncode == 2
        assert "no CHAIN given, and no pyproject.toml" in result.stderr
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    result = run_cli("build", "--check", cwd=tmp_path)
    assert result.returncode == 2
    assert "pyproject.toml configures no chain" in result.stderr
    (tmp_path / "chain.py").write_text(GOOD)
    missing = run_cli("build", "chain.py", cwd=tmp_path)
    assert missing.returncode == 2
    assert "Missing option '-o' / '--output'" in missing.stderr
    alone = run_cli("build", "-o", "out", cwd=tmp_path)
    assert alone.returncode == 2
    assert "-o/--output need a CHAIN" in alone.stderr


def test_the_root_of_the_table_is_used_and_must_hold_the_chain(tmp_path: Path) -> None:
    repo = _repo(
        tmp_path,
        '[[tool.chainsc.chain]]\nfile = "chains/solo.py"\noutput = "out"\nroot = "."\n',
        solo=BAD,
    )
    checked = run_cli("check", cwd=repo)
    assert checked.returncode == 1
    assert checked.stderr.startswith(
        "chains/solo.py:5:26: error[CSC204]"
    )  # from the root
    default = run_cli("check", "chains/solo.py", "--root", "chains", cwd=repo)
    assert default.stderr.startswith(
        "solo.py:5:26: error[CSC204]"
    )  # the flag overrides
    (repo / "elsewhere").mkdir()
    (repo / "pyproject.toml").write_text(
        '[[tool.chainsc.chain]]\nfile = "chains/solo.py"\noutput = "out"\nroot = "elsewhere"\n'
    )
    for args in (["check"], ["build", "chains/solo.py"]):
        result = run_cli(*args, cwd=repo)
        assert result.returncode == 2
        assert result.stderr == (
            "chainsc: pyproject.toml: [[tool.chainsc.chain]] table 1: `root` elsewhere "
            "does not contain the chain file chains/solo.py\n"
        )
