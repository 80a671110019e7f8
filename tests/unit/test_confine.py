"""`chainsc.confine`: what resolves inside the chain root, and that nothing else is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainsc.confine import (
    ChainRoot,
    Found,
    PathProblem,
    ProblemKind,
    absolute,
    is_portable,
    normalize,
)
from chainsc.diagnostics import InternalError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "data" / "nested").mkdir(parents=True)
    (project / "data" / "a.txt").write_text("a")
    (project / "data" / "nested" / "b.txt").write_text("b")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "key").write_text("secret")
    return project


@pytest.mark.parametrize(
    ("written", "base", "expected"),
    [
        ("a.txt", "", "a.txt"),
        ("./data/../a.txt", "", "a.txt"),
        ("../a.txt", "pkg", "a.txt"),
        (".", "", "."),
        ("/etc/passwd", "", PathProblem(ProblemKind.ABSOLUTE, "/etc/passwd")),
        ("..", "", PathProblem(ProblemKind.PARENT, "..")),
        ("../../x", "pkg", PathProblem(ProblemKind.PARENT, "../../x")),
        ("a\0b", "", PathProblem(ProblemKind.INVALID, "a\0b")),
        ("\ud800", "", PathProblem(ProblemKind.INVALID, "\ud800")),
    ],
)
def test_normalize(written: str, base: str, expected: str | PathProblem) -> None:
    assert normalize(written, base) == expected


def test_lookup_follows_links_inside_and_names_the_link_out(root: Path) -> None:
    chain_root = ChainRoot(root)
    (root / "inside").symlink_to("data")
    (root / "out").symlink_to("../secret")
    (root / "abs").symlink_to(root.parent / "secret" / "key")
    (root / "loop").symlink_to("loop")
    (root / "dangling").symlink_to("nowhere")
    (root / "dangling_out").symlink_to("../nowhere")
    found = chain_root.lookup("inside/a.txt")
    assert isinstance(found, Found)
    assert found.is_file
    assert found.real == (root / "data" / "a.txt").resolve()
    assert chain_root.lookup("out/key") == PathProblem(
        ProblemKind.LINK_OUTSIDE, "out", "../secret"
    )
    assert chain_root.lookup("abs") == PathProblem(
        ProblemKind.LINK_OUTSIDE, "abs", str(root.parent / "secret" / "key")
    )
    assert chain_root.lookup("loop") == PathProblem(ProblemKind.LOOP, "loop", "loop")
    assert chain_root.lookup("dangling") is None
    assert chain_root.lookup("dangling_out") == PathProblem(
        ProblemKind.LINK_OUTSIDE, "dangling_out", "../nowhere"
    )
    assert chain_root.lookup("missing/x") is None
    assert chain_root.lookup("../secret/key") == PathProblem(
        ProblemKind.PARENT, "../secret/key"
    )


def test_a_root_reached_through_a_link_is_measured_resolved(
    tmp_path: Path, root: Path
) -> None:
    linked = tmp_path / "linked"
    linked.symlink_to(root)
    found = ChainRoot(linked).lookup("data/a.txt")
    assert isinstance(found, Found)
    assert found.is_file


def test_walk_lists_files_through_links_inside_and_stops_at_problems(
    root: Path,
) -> None:
    chain_root = ChainRoot(root)
    (root / "more").mkdir()
    (root / "more" / "c.txt").write_text("c")
    (root / "data" / "more").symlink_to("../more")
    (root / "data" / "skip.pyc").write_text("")
    walked = chain_root.walk("data", include=lambda path: not path.endswith(".pyc"))
    assert not isinstance(walked, PathProblem)
    assert [path for path, _ in walked] == [
        "data/a.txt",
        "data/more/c.txt",
        "data/nested/b.txt",
    ]
    (root / "data" / "nested" / "up").symlink_to("../..")
    assert chain_root.walk("data") == PathProblem(
        ProblemKind.LOOP, "data/nested/up", "../.."
    )
    (root / "data" / "nested" / "up").unlink()
    (root / "data" / "nested" / "key").symlink_to("../../../secret/key")
    assert chain_root.walk("data") == PathProblem(
        ProblemKind.LINK_OUTSIDE, "data/nested/key", "../../../secret/key"
    )
    # What `include` refuses is never looked at.
    walked = chain_root.walk("data", include=lambda path: not path.endswith("key"))
    assert not isinstance(walked, PathProblem)


def test_reading_refuses_anything_outside_the_root(root: Path) -> None:
    chain_root = ChainRoot(root)
    (root / "out").symlink_to("../secret/key")
    assert chain_root.read_bytes("data/a.txt") == b"a"
    assert chain_root.read_text("data/nested/b.txt") == "b"
    for relative in ("out", "../secret/key", "/etc/passwd"):
        with pytest.raises(InternalError):
            chain_root.read_bytes(relative)
    # Nothing there: what `open` says, so an optional file reads as absent.
    with pytest.raises(FileNotFoundError):
        chain_root.read_bytes("missing")
    with pytest.raises(IsADirectoryError):
        chain_root.read_bytes("data")
    with pytest.raises(InternalError, match="outside the chain root"):
        chain_root.read_resolved((root.parent / "secret" / "key").resolve())


def test_absolute_normalises_without_resolving_links(
    tmp_path: Path, root: Path
) -> None:
    linked = tmp_path / "linked"
    linked.symlink_to(root)
    assert absolute(linked / "data" / ".." / "data") == linked / "data"


@pytest.mark.parametrize(
    ("name", "portable"),
    [
        ("prompt.md", True),
        ("ünïcode.txt", True),
        ("a b.txt", True),
        ("back\\slash", False),
        ("new\nline", False),
        ("\udcff.txt", False),
    ],
)
def test_is_portable(name: str, portable: bool) -> None:
    assert is_portable(name) is portable


def test_walk_refuses_a_name_no_package_can_hold(root: Path) -> None:
    (root / "data" / "back\\slash.txt").write_text("x")
    assert ChainRoot(root).walk("data") == PathProblem(
        ProblemKind.UNPORTABLE, "data/back\\slash.txt"
    )
    # Unless it is left out.
    assert not isinstance(
        ChainRoot(root).walk("data", include=lambda path: "\\" not in path), PathProblem
    )


def test_is_clean_within_a_budget(root: Path) -> None:
    chain_root = ChainRoot(root)
    assert chain_root.is_clean("data", lambda _: True, budget=10)
    assert not chain_root.is_clean(
        "data", lambda _: True, budget=2
    )  # too large to tell: not clean
    (root / "data" / "key").symlink_to("../../secret/key")
    assert not chain_root.is_clean("data", lambda _: True, budget=10)
