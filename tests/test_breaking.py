"""`chainsc breaking`: a table of interface changes, each built twice with the real CLI.

Each case writes two versions of a small chain, builds both with `chainsc build`, runs
`chainsc breaking OLD NEW --format json` in a subprocess and checks the kinds of change
found and the exit code; `--against` is tried in a temporary git repository.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow

CHAIN = """\
from typing import AsyncIterator, Optional, Union

import pydantic
import truss_chains as chains


class Item(pydantic.BaseModel):
    name: str
{item}

{helper}

{entrypoint_mark}
class Entry(chains.ChainletBase):
{init}
{endpoint}
"""

HELPER = """\
{mark}
class Helper(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return text
"""

INIT = """\
    def __init__(self, helper: Helper = chains.depends(Helper)) -> None:
        self._helper = helper
"""


@dataclass(frozen=True)
class Version:
    """One version of the chain: Entry's endpoint and what surrounds it."""

    endpoint: str
    item: str = ""
    helper: bool = True
    helper_is_entrypoint: bool = False

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text(), encoding="utf-8")
        return path

    def text(self) -> str:
        body = "\n".join(
            "    " + line if line else line for line in self.endpoint.splitlines()
        )
        return CHAIN.format(
            item="\n".join("    " + line for line in self.item.splitlines()),
            helper=HELPER.format(
                mark="@chains.mark_entrypoint" if self.helper_is_entrypoint else ""
            )
            if self.helper
            else "",
            entrypoint_mark=""
            if self.helper_is_entrypoint
            else "@chains.mark_entrypoint",
            init=INIT if self.helper else "",
            endpoint=body,
        )


def _sync(signature: str, body: str = "return 1") -> str:
    return f"def run_remote(self, {signature}:\n    {body}\n"


@dataclass(frozen=True)
class Case:
    old: Version
    new: Version
    kinds: frozenset[str]
    exit_code: int


def _case(before: str, after: str, kinds: set[str], code: int, **extra: Any) -> Case:
    """A case whose two versions differ in Entry's signature (and `extra`'s fields)."""
    return Case(
        Version(_sync(before), **extra.get("old", {})),
        Version(_sync(after), **extra.get("new", {})),
        frozenset(kinds),
        code,
    )


CASES: dict[str, Case] = {
    "unchanged": _case("a: int) -> int", "a: int) -> int", set(), 0),
    "parameter removed": _case(
        "a: int, b: int = 1) -> int", "a: int) -> int", {"parameter-removed"}, 1
    ),
    "parameter renamed": _case(
        "a: int) -> int", "x: int) -> int", {"parameter-renamed"}, 1
    ),
    "new required parameter": _case(
        "a: int) -> int", "a: int, b: int) -> int", {"parameter-added-required"}, 1
    ),
    "new optional parameter": _case(
        "a: int) -> int", "a: int, b: int = 2) -> int", {"parameter-added-optional"}, 0
    ),
    "float narrowed to int": _case(
        "a: float) -> int", "a: int) -> int", {"type-narrowed"}, 1
    ),
    "int widened to float": _case(
        "a: int) -> int", "a: float) -> int", {"type-widened"}, 0
    ),
    "Optional dropped from a parameter": _case(
        "a: Optional[int]) -> int", "a: int) -> int", {"type-narrowed"}, 1
    ),
    "union loses a member": _case(
        "a: Union[int, str]) -> int", "a: int) -> int", {"type-narrowed"}, 1
    ),
    "union gains a member": _case(
        "a: int) -> int", "a: Union[int, str]) -> int", {"type-widened"}, 0
    ),
    "default removed": _case(
        "a: int = 1) -> int", "a: int) -> int", {"default-removed"}, 1
    ),
    "default changed": _case(
        "a: int = 1) -> int", "a: int = 2) -> int", {"default-changed"}, 0
    ),
    "return widened": _case(
        "a: int) -> int", "a: int) -> float", {"return-type-changed"}, 1
    ),
    "return narrowed": _case(
        "a: int) -> float", "a: int) -> int", {"return-type-narrowed"}, 0
    ),
    "return loses Optional": _case(
        "a: int) -> Optional[int]", "a: int) -> int", {"return-type-narrowed"}, 0
    ),
    "return becomes Optional": _case(
        "a: int) -> int", "a: int) -> Optional[int]", {"return-type-changed"}, 1
    ),
    "required model field added to a parameter": _case(
        "item: Item) -> int",
        "item: Item) -> int",
        {"type-narrowed"},
        1,
        new={"item": "count: int"},
    ),
    "optional model field added to a parameter": _case(
        "item: Item) -> int",
        "item: Item) -> int",
        {"type-widened"},
        0,
        new={"item": "count: int = 0"},
    ),
    "model field dropped from the return": _case(
        "a: int) -> Item",
        "a: int) -> Item",
        {"return-type-changed"},
        1,
        old={"item": "count: int = 0"},
    ),
    "model field added to the return": _case(
        "a: int) -> Item",
        "a: int) -> Item",
        {"return-type-narrowed"},
        0,
        new={"item": "count: int = 0"},
    ),
    "Chainlet removed": _case(
        "a: int) -> int",
        "a: int) -> int",
        {"chainlet-removed"},
        1,
        new={"helper": False},
    ),
    "Chainlet added": _case(
        "a: int) -> int", "a: int) -> int", {"chainlet-added"}, 0, old={"helper": False}
    ),
    "docstring": Case(
        Version(_sync("a: int) -> int")),
        Version(
            'def run_remote(self, a: int) -> int:\n    """Add one."""\n    return a\n'
        ),
        frozenset({"docstring-changed"}),
        0,
    ),
    "streaming toggled": Case(
        Version(_sync("a: int) -> str", "return 'x'")),
        Version(
            "async def run_remote(self, a: int) -> AsyncIterator[str]:\n    yield 'x'\n"
        ),
        frozenset({"streaming-toggled"}),
        1,
    ),
    "websocket toggled": Case(
        Version(_sync("a: int) -> None", "return None")),
        Version(
            "async def run_remote(self, websocket: chains.WebSocketProtocol) -> None:\n"
            "    await websocket.close()\n"
        ),
        frozenset({"websocket-toggled"}),
        1,
    ),
}


def _build(version: Version, directory: Path) -> Path:
    chain = version.write(directory / "src" / "chain.py")
    out = directory / "out"
    built = run_cli("build", str(chain), "-o", str(out))
    assert built.returncode == 0, built.stdout + built.stderr
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_change_is_classified(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    old = _build(case.old, tmp_path / "old")
    new = _build(case.new, tmp_path / "new")
    result = run_cli("breaking", str(old), str(new), "--format", "json")
    assert result.returncode == case.exit_code, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert {change["kind"] for change in report["changes"]} == case.kinds, report
    assert report["breaking"] is (case.exit_code == 1)
    text = run_cli("breaking", str(old), str(new))
    assert text.returncode == case.exit_code
    if case.kinds:
        assert "breaking change" in text.stdout.splitlines()[-1]
    else:
        assert text.stdout == "no interface changes\n"


def test_entrypoint_changed_is_breaking(tmp_path: Path) -> None:
    old = _build(Version(_sync("a: int) -> int")), tmp_path / "old")
    new = _build(
        Version(_sync("a: int) -> int"), helper_is_entrypoint=True), tmp_path / "new"
    )
    result = run_cli("breaking", str(old), str(new), "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    kinds = {change["kind"] for change in json.loads(result.stdout)["changes"]}
    assert "entrypoint-changed" in kinds


def test_github_annotations_name_the_chain_file_and_line(tmp_path: Path) -> None:
    case = CASES["parameter removed"]
    old = _build(case.old, tmp_path / "old")
    new = _build(case.new, tmp_path / "new")
    result = run_cli("breaking", str(old), str(new), "--format", "github")
    assert result.returncode == 1
    line = next(
        n
        for n, text in enumerate(case.new.text().splitlines(), 1)
        if "def run_remote(self, a" in text
    )
    assert result.stdout == (
        f"::error file=chain.py,line={line},title=breaking change::"
        "`Entry.run_remote`: parameter `b` was removed\n"
    )


def test_bad_input_exits_2(tmp_path: Path) -> None:
    out = _build(Version(_sync("a: int) -> int")), tmp_path / "v")
    missing = run_cli("breaking", str(tmp_path / "nothing"), str(out))
    assert missing.returncode == 2
    assert "not a chainsc output directory" in missing.stderr
    assert "Traceback" not in missing.stderr
    one = run_cli("breaking", str(out))
    assert one.returncode == 2
    # A chain.json from before endpoint schemas were recorded: build it again.
    old = tmp_path / "old"
    old.mkdir()
    manifest = json.loads((out / "chain.json").read_text())
    for entry in manifest["chainlets"].values():
        del entry["interface"]
    (old / "chain.json").write_text(json.dumps(manifest))
    stale = run_cli("breaking", str(old), str(out))
    assert stale.returncode == 2
    assert "build it again" in stale.stderr
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "chain.json").write_text('{"chainlets": {}}')
    assert run_cli("breaking", str(foreign), str(out)).returncode == 2


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_against_a_git_ref(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    chain = repo / "chains" / "chain.py"
    out = repo / "build" / "out"
    old, new = CASES["parameter removed"].old, CASES["parameter removed"].new
    old.write(chain)
    built = run_cli("build", str(chain), "-o", str(out))
    assert built.returncode == 0, built.stderr
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "v1")
    _git(repo, "tag", "v1")
    new.write(chain)
    assert run_cli("build", str(chain), "-o", str(out)).returncode == 0
    result = run_cli("breaking", "--against", "v1", str(out), "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    kinds = {change["kind"] for change in json.loads(result.stdout)["changes"]}
    assert kinds == {"parameter-removed"}
    # Relative to where it is run: from inside the repository, a relative OUT.
    relative = run_cli("breaking", "--against", "HEAD", "out", cwd=repo / "build")
    assert relative.returncode == 1, relative.stdout + relative.stderr
    # Commit the new build: nothing changed against HEAD, something against v1.
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "v2")
    assert run_cli("breaking", "--against", "HEAD", str(out)).returncode == 0
    assert run_cli("breaking", "--against", "HEAD~1", str(out)).returncode == 1
    unknown = run_cli("breaking", "--against", "no-such-ref", str(out))
    assert unknown.returncode == 2
    assert "unknown git ref `no-such-ref`" in unknown.stderr
    outside = run_cli("breaking", "--against", "HEAD", str(tmp_path))
    assert outside.returncode == 2
    both = run_cli("breaking", "--against", "HEAD", str(out), str(out))
    assert both.returncode == 2
