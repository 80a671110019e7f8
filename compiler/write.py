"""Write/check: the only stage with I/O on the output directory.

Stage: last. `plan` hands over a `FileTree` (relative POSIX path -> exact bytes,
the `chain.json` manifest included); `write_tree` makes the output directory
hold that tree (`chainsc build`), `diff_tree` compares the tree with the disk
and never writes (`chainsc build --check`). Imports: stdlib and
`chainsc.diagnostics`; no other module may open the output directory.

Ownership: the manifest of the previous build lists every file chainsc wrote.
Those files are chainsc's to replace or, once the new tree no longer has them,
to remove. Every other entry in the directory is the user's and survives a
build byte for byte (same inode, same mode); a build refuses rather than
overwrite one.

Atomicity: the whole new tree is written into a staging directory beside the
output, the user's entries are hard-linked into it (copied where the file
system has no hard links), and two renames swap it in. Until the swap the old
directory is not modified at all, so a failure or a kill at any point before it
leaves the old output exactly as it was.
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
import shutil
import stat
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chainsc.diagnostics import InternalError

#: Relative POSIX path -> exact bytes; includes the manifest.
FileTree = Mapping[str, bytes]

#: The manifest `plan` writes: JSON with a sorted "files" list of every path of
#: the tree, `chain.json` included.
MANIFEST_NAME = "chain.json"

#: Modes of everything a build creates, whatever the umask.
FILE_MODE = 0o644
DIR_MODE = 0o755

# git's heuristic: a NUL byte in the first 8000 bytes makes a file binary.
_BINARY_SNIFF_BYTES = 8000
_DIFF_CONTEXT_LINES = 3
# How many offending paths a refusal names before it says "and N more".
_NAMED_PATHS = 3


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a build did to the output directory; every tuple is sorted."""

    #: Paths of the new tree that were not on disk with these exact bytes.
    written: tuple[str, ...]
    #: Files the previous build wrote that the new tree no longer has.
    removed: tuple[str, ...]
    #: Paths of the new tree that already had these exact bytes.
    unchanged: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WriteRefused:
    """The output directory was left as it was, for the reason given."""

    #: One user-facing sentence, naming the directory as the caller spelled it.
    reason: str
    #: The output path was the wrong choice (a file, a root, someone else's directory):
    #: a usage error (exit 2). False when the file system failed (exit 1).
    bad_output_path: bool = True


@dataclass(frozen=True, slots=True)
class TreeDiff:
    """How the disk differs from a tree; every tuple is sorted."""

    #: Paths of the tree with no regular file on disk.
    missing: tuple[str, ...]
    #: Files the manifest on disk lists that the tree no longer has (orphans).
    extra: tuple[str, ...]
    #: Paths of the tree whose bytes on disk differ.
    changed: tuple[str, ...]
    #: All of it as `git diff` shows it (old = disk, new = tree); "" when clean.
    text: str
    #: Package directories an earlier build wrote that the tree no longer has (`stale_packages`).
    stale: tuple[StalePackage, ...] = ()

    @property
    def is_clean(self) -> bool:
        """Whether a build would leave every file chainsc owns as it is."""
        return not (self.missing or self.extra or self.changed or self.stale)


def write_tree(
    out_dir: Path, files: FileTree, *, force: bool = False
) -> WriteResult | WriteRefused:
    """Make `out_dir` hold `files`, keeping every file chainsc did not write.

    Args:
        out_dir: The output directory; created (with its parents) if missing.
            A symbolic link to a directory is followed.
        files: The complete tree, manifest included.
        force: Use a non-empty directory that has no chainsc manifest. Its
            files are kept; a build still refuses to overwrite one of them.

    Returns:
        What was written, removed and left unchanged, or why nothing was done.
        A failed write (no space, no permission) is a refusal too, and leaves
        `out_dir` as it was.

    Raises:
        InternalError: `files` is not a valid tree (bad path, manifest missing
            or not listing exactly the tree).
    """
    _check_tree(files)
    shown = f"`{out_dir.as_posix().rstrip('/')}/`"
    try:
        target = out_dir.resolve()
        if target.exists() and not target.is_dir():
            return WriteRefused(
                f"{shown} exists and is not a directory; choose another output path"
            )
        if target.parent == target:
            return WriteRefused(f"{shown} is a file system root; choose a directory")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            _build_staged(target, files, _Plan.fresh(files), replace=False)
            return WriteResult(written=tuple(sorted(files)), removed=(), unchanged=())
        old_owned = _read_manifest_on_disk(target)
        if old_owned is None and not force and _is_non_empty(target):
            return WriteRefused(
                f"{shown} is not empty and was not written by chainsc "
                f"(no valid {MANIFEST_NAME}); pass --force to use it anyway"
            )
        stale = frozenset(
            package.name
            for package in stale_packages(target, files)
            if package.removable
        )
        plan = _plan(target, files, old_owned or frozenset(), stale)
        if plan.conflicts:
            return WriteRefused(_conflict_reason(shown, plan.conflicts))
        if not plan.is_noop:
            _build_staged(target, files, plan, replace=True)
    except _SwapError as err:
        return WriteRefused(
            f"could not replace {shown} ({err.__cause__}); "
            f"its previous contents are in `{err.old}`",
            bad_output_path=False,
        )
    except OSError as err:
        return WriteRefused(
            f"could not write {shown} ({err}); it was left unchanged",
            bad_output_path=False,
        )
    return WriteResult(
        written=tuple(plan.written),
        removed=tuple(plan.removed),
        unchanged=tuple(plan.unchanged),
    )


def diff_tree(out_dir: Path, files: FileTree) -> TreeDiff:
    """Compare `files` with `out_dir` without writing anything.

    Old is the disk, new is the tree: a missing file shows as added, an orphan
    (listed by the manifest on disk, absent from the tree) as deleted. Without
    a valid manifest on disk there are no orphans: other files are the user's.

    Raises:
        InternalError: `files` is not a valid tree.
        OSError: a file on disk cannot be read.
    """
    _check_tree(files)
    old_owned = _read_manifest_on_disk(out_dir) or frozenset()
    missing: list[str] = []
    changed: list[str] = []
    extra: list[str] = []
    chunks: dict[str, str] = {}
    for rel in sorted(files):
        old = _read_regular(_join(out_dir, rel))
        if old is None:
            missing.append(rel)
        elif old != files[rel]:
            changed.append(rel)
        else:
            continue
        chunks[rel] = _diff_file(rel, old, files[rel])
    for rel in sorted(old_owned - files.keys()):
        path = _join(out_dir, rel)
        mode = _lstat_mode(path)
        if mode is None or stat.S_ISDIR(mode):
            continue
        extra.append(rel)
        old = _read_regular(path)
        # Not a regular file (a symlink put there): shown like a binary file.
        chunks[rel] = _diff_file(rel, b"\0" if old is None else old, None)
    return TreeDiff(
        missing=tuple(missing),
        extra=tuple(extra),
        changed=tuple(changed),
        text="".join(chunks[rel] for rel in sorted(chunks)),
        stale=stale_packages(out_dir, files) if out_dir.is_dir() else (),
    )


# --- stale packages ---------------------------------------------------------

#: What the first lines of every file chainsc generates say (`# Generated by chainsc from ...`).
GENERATED_MARK = b"Generated by chainsc"
#: The mark is in one of the first lines (`client.py` has it on its third).
_MARK_LINES = 3
#: Entries of a package that hold copies of the user's files (the slice, the vendored
#: runtime, `data_dir`, a `uv.lock` project) or JSON, which has no comments (its
#: `openapi.json`): chainsc put them there, without a header.
_COPIED_IN_PACKAGE = ("packages/", "data/")
_COPIED_PACKAGE_FILES = frozenset({"uv.lock", "pyproject.toml", "openapi.json"})


@dataclass(frozen=True, slots=True)
class StalePackage:
    """A package directory an earlier build wrote that the new tree does not have."""

    #: Its name, directly under the output directory.
    name: str
    #: Every file in it is one a build writes in a package (headed as generated, or a
    #: copy under `packages/` or `data/`), and nothing in it is a link: a build removes it.
    removable: bool


def is_generated(path: Path) -> bool:
    """Whether `path` is a regular file whose first lines say chainsc generated it."""
    mode = _lstat_mode(path)
    if mode is None or not stat.S_ISREG(mode):
        return False
    with path.open("rb") as handle:
        head = handle.read(512)
    return any(GENERATED_MARK in line for line in head.split(b"\n")[:_MARK_LINES])


def stale_packages(out_dir: Path, files: Collection[str]) -> tuple[StalePackage, ...]:
    """Directories of `out_dir` that a build wrote as packages but `files` no longer has.

    A renamed Chainlet's old package brought back by a merge, say. Recognised by its
    `config.yaml` headed as generated (every package chainsc writes has one, the
    user's Truss directories excepted): a directory of the user's is never one. Sorted.
    """
    tops = {path.partition("/")[0] for path in files}
    found: list[StalePackage] = []
    with os.scandir(out_dir) as scan:
        entries = sorted(
            (entry for entry in scan if entry.name not in tops),
            key=lambda entry: entry.name,
        )
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        directory = Path(entry.path)
        if not is_generated(directory / "config.yaml"):
            continue
        found.append(StalePackage(entry.name, _only_generated(directory)))
    return tuple(found)


def _only_generated(directory: Path) -> bool:
    """Whether every entry under `directory` is a directory or a file a build writes in a package."""
    for parent, dirs, names in os.walk(directory):
        for name in [*dirs, *names]:
            path = Path(parent, name)
            mode = path.lstat().st_mode
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                return False
            rel = path.relative_to(directory).as_posix()
            if (
                rel.startswith(_COPIED_IN_PACKAGE)
                or rel in _COPIED_PACKAGE_FILES
                or is_generated(path)
            ):
                continue
            return False
    return True


# --- the tree -------------------------------------------------------------


def _is_relative_posix(path: str) -> bool:
    """A non-empty relative POSIX path without `.`, `..` or empty parts."""
    if not path or path.startswith("/") or "\\" in path or "\0" in path:
        return False
    return all(part not in {"", ".", ".."} for part in path.split("/"))


def _parent_dirs(paths: Iterable[str]) -> set[str]:
    """Every proper ancestor directory of `paths`, as relative paths."""
    dirs: set[str] = set()
    for path in paths:
        parts = path.split("/")
        dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return dirs


def _parse_manifest(data: bytes) -> tuple[str, ...] | None:
    """The "files" of a chainsc manifest, or None if `data` is not one.

    A manifest that lists itself is what tells chainsc's apart from someone
    else's `chain.json`; a listed path that could leave the directory makes
    the whole manifest invalid, so it can never make a build delete it.
    """
    try:
        manifest = json.loads(data)
    except ValueError:
        return None
    if not isinstance(manifest, dict):
        return None
    listed = manifest.get("files")
    if not isinstance(listed, list) or MANIFEST_NAME not in listed:
        return None
    if not all(isinstance(p, str) and _is_relative_posix(p) for p in listed):
        return None
    return tuple(listed)


def _check_tree(files: FileTree) -> None:
    """Raise `InternalError` unless `files` is a tree the writer can own."""
    bad = sorted(repr(p) for p in files if not _is_relative_posix(p))
    if bad:
        raise InternalError(f"output paths must be relative POSIX paths: {bad}")
    clashes = sorted(_parent_dirs(files) & files.keys())
    if clashes:
        raise InternalError(f"output paths are both a file and a directory: {clashes}")
    if MANIFEST_NAME not in files:
        raise InternalError(f"the output tree has no {MANIFEST_NAME}")
    listed = _parse_manifest(files[MANIFEST_NAME])
    if listed is None or list(listed) != sorted(files):
        raise InternalError(
            f"{MANIFEST_NAME} must list exactly the paths of the tree, sorted"
        )


# --- reading the disk -----------------------------------------------------


def _join(root: Path, rel: str) -> Path:
    return root.joinpath(*rel.split("/"))


def _lstat_mode(path: Path) -> int | None:
    """`st_mode` of `path` itself (a symlink is not followed), None if absent."""
    try:
        return path.lstat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None


def _read_regular(path: Path) -> bytes | None:
    """The bytes of a regular file (not through a symlink), else None."""
    mode = _lstat_mode(path)
    return path.read_bytes() if mode is not None and stat.S_ISREG(mode) else None


def _read_manifest_on_disk(out_dir: Path) -> frozenset[str] | None:
    data = _read_regular(out_dir / MANIFEST_NAME)
    listed = None if data is None else _parse_manifest(data)
    return None if listed is None else frozenset(listed)


def _is_non_empty(directory: Path) -> bool:
    with os.scandir(directory) as entries:
        return any(True for _ in entries)


def _conflict_reason(shown: str, conflicts: Collection[str]) -> str:
    named = ", ".join(f"`{path}`" for path in sorted(conflicts)[:_NAMED_PATHS])
    if len(conflicts) > _NAMED_PATHS:
        named += f" and {len(conflicts) - _NAMED_PATHS} more"
    if len(conflicts) == 1:
        return (
            f"{named} in {shown} was not written by chainsc and is in the way "
            "of the build; move it away and build again"
        )
    return (
        f"{named} in {shown} were not written by chainsc and are in the way "
        "of the build; move them away and build again"
    )


# --- planning: read-only ----------------------------------------------------


@dataclass(slots=True)
class _Plan:
    """What a build will do, decided before anything on disk changes."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    #: Entries of the user that block a path of the new tree.
    conflicts: list[str] = field(default_factory=list)
    #: The user's non-directory entries, carried into the new tree.
    keep_entries: list[str] = field(default_factory=list)
    #: The user's directories (kept even when empty) and their modes.
    keep_dirs: dict[str, int] = field(default_factory=dict)
    #: Modes of the old directories, for the ones kept only for user entries.
    dir_modes: dict[str, int] = field(default_factory=dict)
    #: The disk already is the result: nothing to write, move or remove.
    is_noop: bool = False

    @classmethod
    def fresh(cls, files: FileTree) -> _Plan:
        """The plan for an output directory that does not exist yet."""
        return cls(written=sorted(files))


def _plan(
    out_dir: Path,
    files: FileTree,
    old_owned: frozenset[str],
    stale: frozenset[str] = frozenset(),
) -> _Plan:
    """Classify every entry under `out_dir` against the old and new trees.

    `stale`: names of stale package directories (`stale_packages`) to remove whole.
    """
    plan = _Plan()
    new_dirs = _parent_dirs(files)
    old_dirs = _parent_dirs(old_owned)
    on_disk: dict[str, bytes] = {}
    modes_ok = stat.S_IMODE(out_dir.stat().st_mode) == DIR_MODE

    def visit(rel_dir: str, directory: Path) -> None:
        nonlocal modes_ok
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            mode = entry.stat(follow_symlinks=False).st_mode
            if not rel_dir and entry.name in stale:
                # Not carried into the new tree: gone after the swap.
                plan.removed.extend(
                    sorted(
                        Path(parent, name).relative_to(out_dir).as_posix()
                        for parent, _, names in os.walk(entry.path)
                        for name in names
                    )
                )
                continue
            if stat.S_ISDIR(mode):
                kept_before = len(plan.keep_entries) + len(plan.keep_dirs)
                if rel in new_dirs:
                    modes_ok &= stat.S_IMODE(mode) == DIR_MODE
                elif rel in old_dirs:
                    plan.dir_modes[rel] = stat.S_IMODE(mode)
                elif rel not in files:
                    plan.keep_dirs[rel] = stat.S_IMODE(mode)
                visit(rel, Path(entry.path))
                kept_after = len(plan.keep_entries) + len(plan.keep_dirs)
                # A directory the old build made is fine to replace by a file
                # once nothing of the user's is left inside it.
                if rel in files and (rel not in old_dirs or kept_after > kept_before):
                    plan.conflicts.append(rel)
            elif rel in old_owned:
                if rel not in files:
                    plan.removed.append(rel)
                elif stat.S_ISREG(mode):
                    on_disk[rel] = Path(entry.path).read_bytes()
                    modes_ok &= stat.S_IMODE(mode) == FILE_MODE
            elif rel in files:
                # Someone else's file where the tree has one: harmless only if
                # it already holds the very same bytes.
                data = _read_regular(Path(entry.path))
                if data == files[rel]:
                    on_disk[rel] = data
                    modes_ok &= stat.S_IMODE(mode) == FILE_MODE
                else:
                    plan.conflicts.append(rel)
            elif rel in new_dirs:
                plan.conflicts.append(rel)
            else:
                plan.keep_entries.append(rel)

    visit("", out_dir)
    for rel in sorted(files):
        (plan.unchanged if on_disk.get(rel) == files[rel] else plan.written).append(rel)
    # Unchanged bytes include the manifest, so the old build owned exactly the
    # new tree: every other directory on disk is the user's and stays.
    plan.is_noop = not plan.written and not plan.removed and modes_ok
    return plan


# --- building: staging, then swap -----------------------------------------


class _SwapError(Exception):
    """The swap failed halfway and the old directory could not be put back."""

    def __init__(self, old: Path) -> None:
        super().__init__(str(old))
        self.old = old


def _reserve_sibling(out_dir: Path, kind: str) -> Path:
    """Create an empty hidden directory beside `out_dir`, unique to this run."""
    base = f".{out_dir.name}.chainsc-{kind}-{os.getpid()}"
    for attempt in itertools.count():
        candidate = out_dir.with_name(base if attempt == 0 else f"{base}-{attempt}")
        try:
            candidate.mkdir()
        except FileExistsError:
            # Left by a run that was killed: not this run's to delete.
            continue
        return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def _build_staged(
    out_dir: Path, files: FileTree, plan: _Plan, *, replace: bool
) -> None:
    """Write the new tree beside `out_dir`, then swap it in."""
    staging = _reserve_sibling(out_dir, "staging")
    swapped = False
    try:
        _fill_staging(out_dir, staging, files, plan)
        swapped = _swap(out_dir, staging, replace=replace)
    finally:
        if not swapped:
            # Holds only new bytes and extra links to the user's files, whose
            # originals are still in `out_dir`.
            _remove_tree(staging)


def _fill_staging(out_dir: Path, staging: Path, files: FileTree, plan: _Plan) -> None:
    """Create the new tree in `staging`.

    Identical contents (the vendored runtime in every package, a data file
    several packages carry) are written once and hard-linked after that: a
    1,000-Chainlet chain has 20,003 files but 6,053 distinct ones, and a new
    inode with its data costs far more than a link (on ext4 without a journal,
    much more again within a minute of a large delete). Where the file system
    has no hard links, each file gets its own copy.
    """
    staging.chmod(DIR_MODE)
    new_dirs = _parent_dirs(files)
    make_dir, chmod_files = _creators(staging)
    _create_new_tree(staging, files, new_dirs, make_dir, chmod_files=chmod_files)
    _carry_user_entries(out_dir, staging, plan, new_dirs, make_dir)


def _creators(staging: Path) -> tuple[Callable[[str], None], bool]:
    """A `mkdir` under `staging` that gives DIR_MODE, and whether files need a `chmod`.

    Modes must not depend on the umask; a `chmod` is made only where it would.
    """
    umask = _current_umask()
    chmod_dirs = DIR_MODE & ~umask != DIR_MODE

    def make_dir(rel_dir: str) -> None:
        path = _join(staging, rel_dir)
        path.mkdir(DIR_MODE)
        if chmod_dirs:
            path.chmod(DIR_MODE)

    return make_dir, FILE_MODE & ~umask != FILE_MODE


def _create_new_tree(
    staging: Path,
    files: FileTree,
    new_dirs: set[str],
    make_dir: Callable[[str], None],
    *,
    chmod_files: bool,
) -> None:
    """Every directory and file of `files` under `staging` (see `_fill_staging`)."""
    for rel_dir in sorted(new_dirs):  # parents sort before their children
        make_dir(rel_dir)
    first_copy: dict[bytes, Path] = {}
    for rel in sorted(files):
        path = _join(staging, rel)
        content = files[rel]
        original = first_copy.get(content)
        if original is not None:
            try:
                os.link(original, path)
                continue
            except OSError:
                pass  # no hard links here, or too many: this one gets its own copy
        _write_new(path, content)
        if chmod_files:
            path.chmod(FILE_MODE)
        first_copy.setdefault(content, path)


def _carry_user_entries(
    out_dir: Path,
    staging: Path,
    plan: _Plan,
    new_dirs: set[str],
    make_dir: Callable[[str], None],
) -> None:
    """The user's entries and directories, linked (or copied) into `staging` with their modes."""
    created = set(new_dirs)
    user_modes: dict[str, int] = {}

    def make_dirs(rel_dir: str) -> None:
        if not rel_dir or rel_dir in created:
            return
        parent, _, _ = rel_dir.rpartition("/")
        make_dirs(parent)
        make_dir(rel_dir)
        created.add(rel_dir)
        mode = plan.keep_dirs.get(rel_dir, plan.dir_modes.get(rel_dir))
        if mode is not None:
            user_modes[rel_dir] = mode

    for rel in sorted(plan.keep_dirs):
        make_dirs(rel)
    for rel in plan.keep_entries:
        make_dirs(rel.rpartition("/")[0])
        _carry(_join(out_dir, rel), _join(staging, rel))
    # Last and deepest first: a read-only directory of the user's must be
    # filled before it gets its mode back.
    for rel in sorted(user_modes, reverse=True):
        _join(staging, rel).chmod(user_modes[rel])


#: `O_BINARY` where it exists (Windows), else nothing.
_O_BINARY: int = getattr(os, "O_BINARY", 0)


def _write_new(path: Path, content: bytes) -> None:
    """Create `path` (it must not exist) with `content`, mode FILE_MODE less the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def _current_umask() -> int:
    """The process's umask (there is no way to read it without setting it)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _carry(source: Path, destination: Path) -> None:
    """Put the user's `source` entry at `destination`, leaving `source` as is."""
    try:
        os.link(source, destination, follow_symlinks=False)
    except OSError:
        # No hard links on this file system (or too many): copy instead.
        if source.is_symlink():
            destination.symlink_to(source.readlink())
        elif source.is_file():
            shutil.copy2(source, destination)
        else:
            raise


def _swap(out_dir: Path, staging: Path, *, replace: bool) -> bool:
    """Rename `staging` to `out_dir`, then delete the old directory."""
    if not replace:
        # Fails rather than replace a non-empty directory that appeared since.
        staging.rename(out_dir)
        return True
    # Renaming onto the reserved empty directory claims the name atomically.
    old = _reserve_sibling(out_dir, "old")
    try:
        out_dir.rename(old)
    except BaseException:
        old.rmdir()
        raise
    try:
        staging.rename(out_dir)
    except BaseException:
        try:
            old.rename(out_dir)
        except OSError as rollback_error:
            raise _SwapError(old) from rollback_error
        raise
    # Only the previous build's files are left in it: the user's are linked.
    _remove_tree(old)
    return True


def _remove_tree(path: Path) -> None:
    """Delete a directory this run made, best effort, read-only parts included."""
    # A read-only directory of the user's cannot be emptied until it is
    # writable again; only directories of this run are touched, never a
    # symlink's target.
    try:
        _make_owner_writable(path)
        for root, dirs, _files in os.walk(path):
            for name in dirs:
                child = Path(root, name)
                if not child.is_symlink():
                    _make_owner_writable(child)
    except OSError:
        pass
    shutil.rmtree(path, ignore_errors=True)


def _make_owner_writable(directory: Path) -> None:
    mode = stat.S_IMODE(directory.lstat().st_mode)
    if mode & stat.S_IRWXU != stat.S_IRWXU:
        directory.chmod(mode | stat.S_IRWXU)


# --- diff text --------------------------------------------------------------


def _decode_text(data: bytes) -> str | None:
    """The text of `data`, or None when git would call it binary."""
    if b"\0" in data[:_BINARY_SNIFF_BYTES]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _split_lines(text: str) -> list[str]:
    """Lines ending in LF (only LF, as git splits); the last may have none."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _diff_file(rel: str, old: bytes | None, new: bytes | None) -> str:
    """One file's section of a `git diff`; None is an absent side."""
    old_name = "/dev/null" if old is None else f"a/{rel}"
    new_name = "/dev/null" if new is None else f"b/{rel}"
    out = [f"diff --git a/{rel} b/{rel}\n"]
    if old is None:
        out.append("new file mode 100644\n")
    elif new is None:
        out.append("deleted file mode 100644\n")
    old_text = "" if old is None else _decode_text(old)
    new_text = "" if new is None else _decode_text(new)
    if old_text is None or new_text is None:
        out.append(f"Binary files {old_name} and {new_name} differ\n")
        return "".join(out)
    for line in difflib.unified_diff(
        _split_lines(old_text),
        _split_lines(new_text),
        fromfile=old_name,
        tofile=new_name,
        n=_DIFF_CONTEXT_LINES,
        lineterm="\n",
    ):
        out.append(
            line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
        )
    return "".join(out)
