"""write/check: real directories under tmp_path, compared byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from chainsc import write as write_module
from chainsc.diagnostics import InternalError
from chainsc.write import (
    FILE_MODE,
    MANIFEST_NAME,
    TreeDiff,
    WriteRefused,
    WriteResult,
    diff_tree,
    write_tree,
)

Entry = tuple[str, bytes | str | None, int]


def manifest(paths: list[str]) -> bytes:
    """A one-line manifest, so diffs of it stay short."""
    listed = sorted([*paths, MANIFEST_NAME])
    return json.dumps({"chainsc_version": "0.1.0", "files": listed}).encode() + b"\n"


def make_tree(files: Mapping[str, bytes]) -> dict[str, bytes]:
    return {**files, MANIFEST_NAME: manifest(list(files))}


def snapshot(root: Path) -> dict[str, Entry]:
    """Every entry under `root` (root itself as "."): kind, content, mode."""
    entries: dict[str, Entry] = {".": ("dir", None, stat.S_IMODE(root.lstat().st_mode))}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            entries[rel] = ("link", str(path.readlink()), 0)
        elif stat.S_ISDIR(mode):
            entries[rel] = ("dir", None, stat.S_IMODE(mode))
        else:
            entries[rel] = ("file", path.read_bytes(), stat.S_IMODE(mode))
    return entries


def files_on_disk(root: Path) -> dict[str, bytes]:
    return {
        rel: content
        for rel, (kind, content, _) in snapshot(root).items()
        if kind == "file" and isinstance(content, bytes)
    }


def siblings(out: Path) -> list[str]:
    return sorted(path.name for path in out.parent.iterdir())


def put(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


TREE_V1 = make_tree(
    {
        "README.md": b"# v1\n",
        "a/model/model.py": b"class Model:\r\n    pass\r\n",
        "a/requirements.txt": b"pydantic",
        "b/z.txt": b"z\n",
        "b/deep/w.bin": b"\x00\xff\x00",
    }
)
TREE_V2 = make_tree(
    {
        "README.md": b"# v2\n",
        "a/model/model.py": b"class Model:\r\n    pass\r\n",
        "a/requirements.txt": b"pydantic",
        "c/new.py": b"new = 1\n",
    }
)


def written(
    out: Path, files: Mapping[str, bytes], *, force: bool = False
) -> WriteResult:
    result = write_tree(out, files, force=force)
    assert isinstance(result, WriteResult), result
    return result


def refused(out: Path, files: Mapping[str, bytes], *, force: bool = False) -> str:
    result = write_tree(out, files, force=force)
    assert isinstance(result, WriteRefused), result
    return result.reason


# --- write_tree -------------------------------------------------------------


def test_write_tree_fresh_writes_exact_bytes(tmp_path: Path) -> None:
    out = tmp_path / "build" / "out"

    result = written(out, TREE_V1)

    assert result == WriteResult(
        written=tuple(sorted(TREE_V1)), removed=(), unchanged=()
    )
    assert files_on_disk(out) == TREE_V1
    assert siblings(out) == ["out"]


def test_write_tree_links_identical_files_to_one_inode(tmp_path: Path) -> None:
    runtime = b"# the vendored runtime\n" * 100
    tree = make_tree(
        {
            "a/packages/chainsc_runtime/x.py": runtime,
            "b/packages/chainsc_runtime/x.py": runtime,
            "c/packages/chainsc_runtime/x.py": runtime,
            "a/model/model.py": b"a = 1\n",
            "b/model/model.py": b"b = 1\n",
        }
    )
    out = tmp_path / "out"

    written(out, tree)

    assert files_on_disk(out) == tree
    runtime_inodes = {
        (out / p).stat().st_ino for p in tree if p.endswith("chainsc_runtime/x.py")
    }
    assert len(runtime_inodes) == 1
    assert (out / "a/packages/chainsc_runtime/x.py").stat().st_nlink == 3
    assert (out / "a/model/model.py").stat().st_ino != (
        out / "b/model/model.py"
    ).stat().st_ino
    assert all(
        mode == FILE_MODE for kind, _, mode in snapshot(out).values() if kind == "file"
    )


def test_write_tree_copies_when_hard_links_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(1, "Operation not permitted")  # a file system without hard links

    tree = make_tree({"a/x.py": b"same\n", "b/x.py": b"same\n"})
    out = tmp_path / "out"
    monkeypatch.setattr(os, "link", no_links)

    written(out, tree)

    assert files_on_disk(out) == tree
    assert (out / "a/x.py").stat().st_ino != (out / "b/x.py").stat().st_ino


def test_write_tree_rewrite_replaces_removes_adds_and_keeps_user_files(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    written(out, TREE_V1)
    user = {
        "notes.md": b"mine\n",
        "a/user.txt": b"also mine\n",
        ".git/config": b"[core]\n",
    }
    for rel, data in user.items():
        put(out, rel, data)
    (out / "cache").mkdir()
    (out / "link").symlink_to("notes.md")
    notes_inode = (out / "notes.md").stat().st_ino

    result = written(out, TREE_V2)

    assert result == WriteResult(
        written=("README.md", "c/new.py", "chain.json"),
        removed=("b/deep/w.bin", "b/z.txt"),
        unchanged=("a/model/model.py", "a/requirements.txt"),
    )
    assert files_on_disk(out) == {**TREE_V2, **user}
    assert not (out / "b").exists()
    assert (out / "cache").is_dir()
    assert (out / "link").readlink() == Path("notes.md")
    assert (out / "notes.md").stat().st_ino == notes_inode
    assert json.loads((out / MANIFEST_NAME).read_bytes())["files"] == sorted(TREE_V2)
    assert siblings(out) == ["out"]


def test_write_tree_keeps_user_files_in_stale_directories_with_their_modes(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    written(out, TREE_V1)
    put(out, "b/mine.txt", b"keep me\n")
    put(out, "docs/locked/readme.txt", b"read only\n")
    (out / "docs" / "locked").chmod(0o555)
    (out / "docs").chmod(0o700)

    written(out, TREE_V2)

    assert (out / "b/mine.txt").read_bytes() == b"keep me\n"
    assert sorted(p.name for p in (out / "b").iterdir()) == ["mine.txt"]
    assert (out / "docs/locked/readme.txt").read_bytes() == b"read only\n"
    assert stat.S_IMODE((out / "docs/locked").stat().st_mode) == 0o555
    assert stat.S_IMODE((out / "docs").stat().st_mode) == 0o700
    assert siblings(out) == ["out"]


def test_write_tree_identical_tree_touches_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written(out, TREE_V1)
    before = snapshot(out)
    inodes = {path: path.lstat().st_ino for path in [out, *out.rglob("*")]}

    result = written(out, TREE_V1)

    assert result == WriteResult(
        written=(), removed=(), unchanged=tuple(sorted(TREE_V1))
    )
    assert snapshot(out) == before
    assert {path: path.lstat().st_ino for path in [out, *out.rglob("*")]} == inodes


def test_write_tree_replaces_a_directory_it_wrote_with_a_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written(out, make_tree({"x/a.txt": b"a\n"}))

    result = written(out, make_tree({"x": b"now a file\n"}))

    assert result.removed == ("x/a.txt",)
    assert (out / "x").read_bytes() == b"now a file\n"


def test_write_tree_accepts_an_existing_empty_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()

    written(out, TREE_V1)

    assert files_on_disk(out) == TREE_V1


def test_write_tree_refuses_a_foreign_directory_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    foreign = {"index.html": b"<html>\n", "assets/site.css": b"body {}\n"}
    for rel, data in foreign.items():
        put(out, rel, data)
    before = snapshot(out)

    reason = refused(out, TREE_V1)

    assert reason == (
        f"`{out.as_posix()}/` is not empty and was not written by chainsc "
        "(no valid chain.json); pass --force to use it anyway"
    )
    assert snapshot(out) == before

    # --force uses the directory and keeps every file chainsc did not write,
    # now and in later builds, which need no --force.
    assert written(out, TREE_V1, force=True).written == tuple(sorted(TREE_V1))
    assert files_on_disk(out) == {**TREE_V1, **foreign}
    written(out, TREE_V2)
    assert files_on_disk(out) == {**TREE_V2, **foreign}


@pytest.mark.parametrize(
    "foreign_manifest",
    [
        b"not json\n",
        b"[]\n",
        b'{"files": "chain.json"}\n',
        b'{"files": ["README.md"]}\n',  # does not list itself: someone else's
        b'{"files": ["chain.json", "../victim.txt"]}\n',
        b'{"files": ["chain.json", "/victim.txt"]}\n',
    ],
)
def test_write_tree_never_trusts_an_invalid_manifest(
    tmp_path: Path, foreign_manifest: bytes
) -> None:
    out = tmp_path / "out"
    put(out, MANIFEST_NAME, foreign_manifest)
    put(out, "README.md", b"mine\n")
    victim = put(tmp_path, "victim.txt", b"precious\n")
    before = snapshot(out)

    assert "pass --force" in refused(out, TREE_V1)
    # Forced, the foreign chain.json is still not chainsc's to overwrite.
    assert refused(out, TREE_V1, force=True) == (
        f"`README.md`, `chain.json` in `{out.as_posix()}/` were not written by "
        "chainsc and are in the way of the build; move them away and build again"
    )
    assert snapshot(out) == before
    assert victim.read_bytes() == b"precious\n"


def test_write_tree_forced_adopts_identical_files_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    put(out, "README.md", b"# v1\n")
    put(out, "a/requirements.txt", b"torch\n")

    assert refused(out, TREE_V1, force=True) == (
        f"`a/requirements.txt` in `{out.as_posix()}/` was not written by chainsc "
        "and is in the way of the build; move it away and build again"
    )

    (out / "a/requirements.txt").unlink()
    result = written(out, TREE_V1, force=True)
    assert result.unchanged == ("README.md",)
    assert files_on_disk(out) == TREE_V1


@pytest.mark.parametrize(
    "kind", ["file where a directory goes", "directory where a file goes"]
)
def test_write_tree_refuses_user_entries_in_the_way(tmp_path: Path, kind: str) -> None:
    out = tmp_path / "out"
    written(out, TREE_V1)
    if kind == "file where a directory goes":
        put(out, "c", b"user file named like the new package\n")
        blocked = "c"
    else:
        (out / "README.md").unlink()
        put(out, "README.md/inside.txt", b"user dir named like a generated file\n")
        blocked = "README.md"
    before = snapshot(out)

    reason = refused(out, TREE_V2)

    assert reason.startswith(f"`{blocked}` in `{out.as_posix()}/` was not written")
    assert snapshot(out) == before


def test_write_tree_refuses_when_out_is_a_file(tmp_path: Path) -> None:
    out = put(tmp_path, "out", b"just a file\n")

    assert refused(out, TREE_V1) == (
        f"`{out.as_posix()}/` exists and is not a directory; choose another output path"
    )
    assert refused(out, TREE_V1, force=True).startswith(f"`{out.as_posix()}/` exists")
    assert out.read_bytes() == b"just a file\n"


def test_write_tree_follows_a_symlinked_output_directory(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    out = tmp_path / "out"
    out.symlink_to(real)

    written(out, TREE_V1)
    written(out, TREE_V2)

    assert out.is_symlink()
    assert files_on_disk(real) == TREE_V2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "real"]


@pytest.mark.parametrize(
    "bad_path",
    [
        "/abs.txt",
        "../up.txt",
        "a/../b.txt",
        "a//b.txt",
        "./a.txt",
        "a/",
        "a\\b.txt",
        "",
    ],
)
def test_write_tree_rejects_invalid_paths_as_internal_errors(
    tmp_path: Path, bad_path: str
) -> None:
    out = tmp_path / "out"
    files = {"ok.txt": b"", bad_path: b"x"}

    with pytest.raises(InternalError, match="relative POSIX"):
        write_tree(out, make_tree(files))
    with pytest.raises(InternalError, match="relative POSIX"):
        diff_tree(out, make_tree(files))
    assert not out.exists()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.txt": b""}, "has no chain.json"),
        ({"a.txt": b"", MANIFEST_NAME: manifest([])}, "must list exactly"),
        (
            {"a.txt": b"", MANIFEST_NAME: b'{"files": ["chain.json", "a.txt", "b"]}'},
            "must list exactly",
        ),
        (
            {"a.txt": b"", MANIFEST_NAME: b'{"files": ["chain.json", "a.txt"]}'},
            "must list exactly",
        ),
        (make_tree({"a": b"", "a/b": b""}), "both a file and a directory"),
    ],
)
def test_write_tree_rejects_inconsistent_trees_as_internal_errors(
    tmp_path: Path, files: dict[str, bytes], message: str
) -> None:
    out = tmp_path / "out"

    with pytest.raises(InternalError, match=message):
        write_tree(out, files)
    assert not out.exists()


# --- crash safety -------------------------------------------------------------


def fail_on_nth_write(
    monkeypatch: pytest.MonkeyPatch, nth: int, error: Exception
) -> list[Path]:
    """Make the nth file the build creates fail with `error` (a full disk, say)."""
    calls: list[Path] = []
    real_write_new = write_module._write_new

    def write_new(path: Path, content: bytes) -> None:
        calls.append(path)
        if len(calls) == nth:
            raise error
        real_write_new(path, content)

    monkeypatch.setattr(write_module, "_write_new", write_new)
    return calls


@pytest.mark.parametrize("nth", [1, 3, len(TREE_V2)])
def test_write_tree_failed_staging_leaves_old_output_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nth: int
) -> None:
    out = tmp_path / "out"
    written(out, TREE_V1)
    put(out, "notes.md", b"mine\n")
    before = snapshot(out)
    calls = fail_on_nth_write(monkeypatch, nth, OSError(28, "No space left on device"))

    reason = refused(out, TREE_V2)

    assert len(calls) == nth
    assert all(".out.chainsc-staging-" in str(path) for path in calls)
    assert reason.startswith(
        f"could not write `{out.as_posix()}/` ([Errno 28] No space"
    )
    assert reason.endswith("; it was left unchanged")
    assert snapshot(out) == before
    assert siblings(out) == ["out"]


def test_write_tree_bug_while_staging_propagates_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    written(out, TREE_V1)
    put(out, "a/user.txt", b"mine\n")
    before = snapshot(out)
    fail_on_nth_write(monkeypatch, 2, RuntimeError("bug"))

    with pytest.raises(RuntimeError, match="bug"):
        write_tree(out, TREE_V2)

    assert snapshot(out) == before
    assert siblings(out) == ["out"]


def test_write_tree_failed_fresh_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    fail_on_nth_write(monkeypatch, 2, OSError(13, "Permission denied"))

    refused(out, TREE_V1)

    assert list(tmp_path.iterdir()) == []


def test_write_tree_failed_swap_puts_old_output_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    written(out, TREE_V1)
    put(out, "notes.md", b"mine\n")
    before = snapshot(out)
    renames: list[tuple[str, str]] = []
    real_rename = Path.rename

    def rename(self: Path, target: str | os.PathLike[str]) -> Path:
        renames.append((self.name, Path(target).name))
        if "chainsc-staging" in self.name:
            raise OSError(16, "Device or resource busy")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)

    reason = refused(out, TREE_V2)

    # The old directory had been moved aside when the final rename failed.
    assert [src for src, _ in renames] == [
        "out",
        f".out.chainsc-staging-{os.getpid()}",
        f".out.chainsc-old-{os.getpid()}",
    ]
    assert reason.endswith("; it was left unchanged")
    assert snapshot(out) == before
    assert siblings(out) == ["out"]


def test_write_tree_leaves_earlier_leftovers_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    leftover = put(tmp_path, f".out.chainsc-staging-{os.getpid()}/notes.md", b"mine\n")

    written(out, TREE_V1)

    assert leftover.read_bytes() == b"mine\n"
    assert siblings(out) == [f".out.chainsc-staging-{os.getpid()}", "out"]


# --- permissions --------------------------------------------------------------


@pytest.fixture
def umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("umask")
@pytest.mark.parametrize("mask", [0o000, 0o077])
def test_write_tree_modes_do_not_depend_on_umask(tmp_path: Path, mask: int) -> None:
    os.umask(mask)
    out = tmp_path / "out"

    written(out, TREE_V1)

    modes = {rel: (kind, mode) for rel, (kind, _, mode) in snapshot(out).items()}
    assert modes == {
        rel: ("dir", 0o755) if kind == "dir" else ("file", 0o644)
        for rel, (kind, _) in modes.items()
    }
    assert {kind for kind, _ in modes.values()} == {"dir", "file"}


def test_write_tree_restores_modes_of_generated_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written(out, TREE_V1)
    (out / "README.md").chmod(0o600)
    (out / "a").chmod(0o700)

    result = written(out, TREE_V1)

    assert result.written == ()
    assert stat.S_IMODE((out / "README.md").stat().st_mode) == 0o644
    assert stat.S_IMODE((out / "a").stat().st_mode) == 0o755


# --- diff_tree ----------------------------------------------------------------

SOURCE = b"".join(f"line {n}\n".encode() for n in range(1, 11))


def test_diff_tree_is_clean_after_a_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written(out, TREE_V1)
    put(out, "notes.md", b"user file, not chainsc's business\n")

    assert diff_tree(out, TREE_V1) == TreeDiff(
        missing=(), extra=(), changed=(), text=""
    )
    assert diff_tree(out, TREE_V1).is_clean


def test_diff_tree_changed_file_shows_a_unified_diff(tmp_path: Path) -> None:
    out = tmp_path / "out"
    old = make_tree({"pkg/a.py": SOURCE})
    written(out, old)
    new = make_tree({"pkg/a.py": SOURCE.replace(b"line 5\n", b"line five\n")})

    diff = diff_tree(out, new)

    assert diff == TreeDiff(
        missing=(),
        extra=(),
        changed=("pkg/a.py",),
        text=(
            "diff --git a/pkg/a.py b/pkg/a.py\n"
            "--- a/pkg/a.py\n"
            "+++ b/pkg/a.py\n"
            "@@ -2,7 +2,7 @@\n"
            " line 2\n"
            " line 3\n"
            " line 4\n"
            "-line 5\n"
            "+line five\n"
            " line 6\n"
            " line 7\n"
            " line 8\n"
        ),
    )
    assert not diff.is_clean


def test_diff_tree_missing_and_orphaned_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written(out, make_tree({"keep.txt": b"same\n", "old.txt": b"bye\n"}))
    put(out, "notes.md", b"the user's\n")

    diff = diff_tree(out, make_tree({"keep.txt": b"same\n", "new.txt": b"hi\n"}))

    assert diff.missing == ("new.txt",)
    assert diff.extra == ("old.txt",)
    assert diff.changed == ("chain.json",)
    assert diff.text == (
        "diff --git a/chain.json b/chain.json\n"
        "--- a/chain.json\n"
        "+++ b/chain.json\n"
        "@@ -1 +1 @@\n"
        '-{"chainsc_version": "0.1.0", "files": ["chain.json", "keep.txt", "old.txt"]}\n'
        '+{"chainsc_version": "0.1.0", "files": ["chain.json", "keep.txt", "new.txt"]}\n'
        "diff --git a/new.txt b/new.txt\n"
        "new file mode 100644\n"
        "--- /dev/null\n"
        "+++ b/new.txt\n"
        "@@ -0,0 +1 @@\n"
        "+hi\n"
        "diff --git a/old.txt b/old.txt\n"
        "deleted file mode 100644\n"
        "--- a/old.txt\n"
        "+++ /dev/null\n"
        "@@ -1 +0,0 @@\n"
        "-bye\n"
    )


def test_diff_tree_without_manifest_reports_no_orphans(tmp_path: Path) -> None:
    out = tmp_path / "out"
    put(out, "index.html", b"<html>\n")
    files = make_tree({"a.txt": b"a\n"})

    diff = diff_tree(out, files)

    assert diff.missing == ("a.txt", "chain.json")
    assert diff.extra == ()
    assert diff.changed == ()


def test_diff_tree_binary_files_get_one_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written(out, make_tree({"blob.bin": b"\x00\x01", "latin1.txt": b"caf\xe9\n"}))
    new = make_tree(
        {"blob.bin": b"\x00\x02", "latin1.txt": b"caf\xe8\n", "more.bin": b"\x00"}
    )

    diff = diff_tree(out, new)

    assert diff.changed == ("blob.bin", "chain.json", "latin1.txt")
    assert diff.missing == ("more.bin",)
    chunks = diff.text.split("diff --git ")
    assert (
        chunks[1]
        == "a/blob.bin b/blob.bin\nBinary files a/blob.bin and b/blob.bin differ\n"
    )
    assert chunks[3] == (
        "a/latin1.txt b/latin1.txt\nBinary files a/latin1.txt and b/latin1.txt differ\n"
    )
    assert chunks[4] == (
        "a/more.bin b/more.bin\nnew file mode 100644\n"
        "Binary files /dev/null and b/more.bin differ\n"
    )


def test_diff_tree_marks_a_missing_final_newline(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written(out, make_tree({"a.txt": b"a\nb"}))

    diff = diff_tree(out, make_tree({"a.txt": b"a\nc"}))

    assert diff.text.split("diff --git ")[1] == (
        "a/a.txt b/a.txt\n"
        "--- a/a.txt\n"
        "+++ b/a.txt\n"
        "@@ -1,2 +1,2 @@\n"
        " a\n"
        "-b\n"
        "\\ No newline at end of file\n"
        "+c\n"
        "\\ No newline at end of file\n"
    )


def test_diff_tree_never_writes(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    assert diff_tree(missing, TREE_V1).missing == tuple(sorted(TREE_V1))
    assert not missing.exists()

    out = tmp_path / "out"
    written(out, TREE_V1)
    before = snapshot(out)
    assert not diff_tree(out, TREE_V2).is_clean
    assert snapshot(out) == before
    assert siblings(out) == ["out"]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_diff_tree_text_applies_with_git(tmp_path: Path) -> None:
    out = tmp_path / "out"
    old = make_tree(
        {
            "keep.txt": b"same\n",
            "old/gone.txt": b"bye\n",
            "pkg/a.py": SOURCE,
            "tail.txt": b"no newline",
        }
    )
    new = make_tree(
        {
            "keep.txt": b"same\n",
            "new/added.txt": b"hi\n",
            "pkg/a.py": SOURCE.replace(b"line 2\n", b"").replace(
                b"line 9\n", b"nine\n"
            ),
            "tail.txt": b"no newline, changed",
        }
    )
    written(out, old)
    text = diff_tree(out, new).text

    subprocess.run(["git", "apply", "-"], cwd=out, input=text.encode(), check=True)

    assert diff_tree(out, new).is_clean
    assert files_on_disk(out) == new
