"""The chain root: every file a check or a build reads resolves inside it.

Stage: shared (resolve, evaluate, config, the data-file check and the build's load stage).
Imports: the standard library and `chainsc.diagnostics` (for `InternalError`).

A chain file names paths in several ways (`make_abs_path_here(...)` for a
`requirements_file`, a `data_dir` or `external_package_dirs`, string literals
its code reads files by, the modules it imports), and any of them may pass
through a symbolic link. chainsc reads a path only when it lies inside the
chain's root (`--root`, or the default root `chainsc.api` computes) *after*
every symbolic link on the way is resolved, so a chain never makes a build copy
a file of the build machine into its output (a CI job that builds chain files
from pull requests and publishes `out/` would leak it):

- a path is made relative to the root lexically first (`posixpath.normpath`,
  as Truss's `make_abs_path_here` does); an absolute path or one that climbs
  out with `..` is refused before the disk is asked anything;
- then each component is looked at without following it (`lstat`); a symbolic
  link is followed only when its fully resolved target (`os.path.realpath`,
  strict) is inside the root's own resolved path. A link out of the root or a
  link loop is a `PathProblem` that names the link as the user wrote it;
- a directory is walked the same way, entry by entry, and a link back to a
  directory being walked is a loop.

The front end turns problems into located diagnostics (CSC011, CSC012). The
reading methods (`read_bytes`, `read_text`, `read_resolved`) are what the
build's load stage (`emit.inputs`) and the requirements check read through: they
check again and raise `InternalError` for anything outside the root, so a path
the front end missed is a bug report, never a copy.

Truss 0.18.36 does none of this (`make_abs_path_here` keeps an absolute path as
it is, `shutil.copytree` copies a `data_dir` through its links, an
`external_package_dirs` entry is written to `config.yaml` as an absolute path);
chainsc is deliberately stricter.
"""

from __future__ import annotations

import enum
import errno
import hashlib
import os
import posixpath
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chainsc.diagnostics import InternalError


class ProblemKind(enum.Enum):
    """Why a path may not be read."""

    #: `/etc/passwd`: absolute paths are never relative to the chain.
    ABSOLUTE = "absolute"
    #: `../../etc`: climbs out of the root.
    PARENT = "parent"
    #: A symbolic link whose resolved target is outside the root.
    LINK_OUTSIDE = "link_outside"
    #: A symbolic link that resolves to itself (directly or through others), or a
    #: link to a directory that contains it (a walk would never end).
    LOOP = "loop"
    #: A NUL byte or text the file system cannot encode: no file has that name.
    INVALID = "invalid"
    #: A file to carry whose name a package cannot hold: not UTF-8, a backslash or a
    #: control character (`chain.json` lists every file; the writer refuses such paths).
    UNPORTABLE = "unportable"


@dataclass(frozen=True, slots=True)
class PathProblem:
    """A path the build may not read, and the link (or path) to blame."""

    kind: ProblemKind
    #: The offending path relative to the root, POSIX (the link itself for link
    #: problems); for ABSOLUTE, PARENT and INVALID: the path as written.
    path: str
    #: A link's target as it is written in the link (`os.readlink`), else "".
    target: str = ""

    @property
    def code(self) -> str:
        """The diagnostic code: CSC012 for a loop, CSC013 for a name no package can hold, CSC412 for a name no file can have, else CSC011."""
        if self.kind is ProblemKind.LOOP:
            return "CSC012"
        if self.kind is ProblemKind.UNPORTABLE:
            return "CSC013"
        return "CSC412" if self.kind is ProblemKind.INVALID else "CSC011"

    def describe(self) -> str:
        """What is wrong, as the end of a sentence (the caller says which path was asked for)."""
        if self.kind is ProblemKind.ABSOLUTE:
            return f"`{self.path}` is an absolute path, outside the chain root"
        if self.kind is ProblemKind.PARENT:
            return f"`{self.path}` leads out of the chain root"
        if self.kind is ProblemKind.LINK_OUTSIDE:
            return f"`{self.path}` is a symbolic link to `{self.target}`, outside the chain root"
        if self.kind is ProblemKind.LOOP:
            return f"`{self.path}` is a symbolic link loop" + (
                f" (to `{self.target}`)" if self.target else ""
            )
        if self.kind is ProblemKind.UNPORTABLE:
            shown = (
                f"`{self.path}`"
                if self.path.isprintable() and _is_utf8(self.path)
                else repr(self.path)
            )
            return f"the file name {shown} cannot be carried into a package (not UTF-8, a backslash or a control character)"
        return f"{self.path!r} is not a valid file name"

    def about(self, asked: str) -> str:
        """A whole message about the path the user asked for (`asked`, as written)."""
        if (
            self.kind in (ProblemKind.ABSOLUTE, ProblemKind.PARENT, ProblemKind.INVALID)
            or self.path == asked
        ):
            return self.describe()
        return f"`{asked}` cannot be read: {self.describe()}"

    @property
    def help(self) -> str:
        """How to fix it."""
        if self.kind is ProblemKind.LOOP:
            return "point the link at a file or directory (not at itself or a directory that contains it), or remove it"
        if self.kind is ProblemKind.INVALID:
            return "file names cannot contain NUL characters"
        if self.kind is ProblemKind.UNPORTABLE:
            return "rename the file (UTF-8, no `\\`, no control characters), or move it out of what the package carries"
        return (
            "chainsc reads only files inside the chain root (the chain file's directory, or its nearest "
            "ancestor that is not a package): move or copy the file under it, or pass `--root DIR` "
            "with a directory that contains both"
        )


@dataclass(frozen=True, slots=True)
class Found:
    """A path that resolves inside the root: what it is."""

    #: The fully resolved path (no symbolic links in it).
    real: Path
    is_dir: bool
    #: A regular file (not a directory, FIFO, socket or device).
    is_file: bool


def normalize(written: str, base: str = "") -> str | PathProblem:
    """`written` (relative to the root directory `base`) as a normalised path under the root.

    As Truss's `make_abs_path_here` and Python's `posixpath.normpath` read it:
    `..` climbs lexically. An absolute path, one that climbs out, or one with a
    NUL character is a problem; `"."` (the root itself) is allowed.
    """
    if "\0" in written or not _encodable(written):
        return PathProblem(ProblemKind.INVALID, written)
    if posixpath.isabs(written):
        return PathProblem(ProblemKind.ABSOLUTE, written)
    joined = posixpath.normpath(posixpath.join(base, written))
    if joined == ".." or joined.startswith("../"):
        return PathProblem(ProblemKind.PARENT, written)
    return joined


def absolute(path: str | os.PathLike[str]) -> Path:
    """`path` made absolute and normalised lexically (`a/../b` is `b`), links not resolved.

    What the user spelled, as a plain path: the chain file and the root are compared
    and made relative this way (resolving links here would change which directory
    imports are looked up in).
    """
    return Path(os.path.normpath(Path(path).absolute()))


def _encodable(text: str) -> bool:
    try:
        os.fsencode(text)
    except UnicodeError:
        return False
    return True


class ChainRoot:
    """The directory a chain's build may read, and the only way it reads user files."""

    def __init__(self, root: Path) -> None:
        #: The root as given (absolute, not resolved): display paths are relative to it.
        self.path = root
        #: The root with every symbolic link resolved: what "inside" is measured against.
        self.real = os.path.realpath(root)
        #: Resolved path -> how it was read (`bytes`, or `text`: UTF-8 with a BOM
        #: dropped) and the sha256 of what was read, for every file read through this
        #: root (`chainsc.fastcheck` records them: a build's inputs).
        self.reads: dict[str, tuple[str, str]] = {}

    def note_read(self, real: str | Path, data: bytes, *, text: bool = False) -> None:
        """Record that the build read `data` from the resolved path `real`."""
        self.reads[os.fspath(real)] = (
            "text" if text else "bytes",
            hashlib.sha256(data).hexdigest(),
        )

    # -- membership ---------------------------------------------------------------

    def contains_real(self, real: str | Path) -> bool:
        """Whether a resolved path is the root or under it."""
        text = os.fspath(real)
        if self.real == os.sep:
            return text.startswith(os.sep)
        return text == self.real or text.startswith(self.real + os.sep)

    def relative(self, path: Path) -> str | None:
        """`path` (absolute, unresolved) relative to the root, POSIX; None when it is not under it lexically."""
        try:
            relative = path.relative_to(self.path)
        except ValueError:
            return None
        text = relative.as_posix()
        if any(part == ".." for part in relative.parts):
            return None
        return text

    # -- resolution ---------------------------------------------------------------

    def lookup(self, relative: str) -> Found | PathProblem | None:
        """What the normalised root-relative path `relative` is; None when nothing is there.

        Every component is checked as the walk reaches it, so the problem names the
        first link on the way that leads out of the root (or loops), as the user can
        fix it. A dangling link that points inside the root is nothing (None).
        """
        checked = normalize(relative)
        if isinstance(checked, PathProblem):
            return checked
        current = self.path
        if checked != ".":
            parts = checked.split("/")
            for index, part in enumerate(parts):
                current = current / part
                try:
                    mode = os.lstat(current).st_mode
                except (OSError, ValueError):
                    return None
                if stat.S_ISLNK(mode):
                    problem = self._follow(current, "/".join(parts[: index + 1]))
                    if problem is not None:
                        return problem if isinstance(problem, PathProblem) else None
        return self._found(current)

    def _follow(self, link: Path, shown: str) -> PathProblem | bool | None:
        """Check one symbolic link: a problem, False when it dangles inside the root, None when fine."""
        try:
            real = os.path.realpath(link, strict=True)
        except OSError as exc:
            target = _readlink(link)
            if exc.errno == errno.ELOOP:
                return PathProblem(ProblemKind.LOOP, shown, target)
            # Dangling: harmless inside the root (nothing to read), refused outside it.
            if not self.contains_real(os.path.realpath(link)):
                return PathProblem(ProblemKind.LINK_OUTSIDE, shown, target)
            return False
        if not self.contains_real(real):
            return PathProblem(ProblemKind.LINK_OUTSIDE, shown, _readlink(link))
        return None

    def _found(self, path: Path) -> Found | None:
        try:
            real = os.path.realpath(path, strict=True)
            mode = Path(real).stat().st_mode
        except (OSError, ValueError):
            return None
        if not self.contains_real(real):
            # Every link on the way was checked: only a change on disk since can get here.
            raise InternalError(
                f"`{path}` resolved outside the chain root while it was checked"
            )
        return Found(Path(real), stat.S_ISDIR(mode), stat.S_ISREG(mode))

    def walk(
        self, relative: str, include: Callable[[str], bool] = lambda _: True
    ) -> list[tuple[str, Path]] | PathProblem:
        """Every regular file under the directory `relative`, as (root-relative POSIX path, resolved path).

        Sorted by path. Entries `include` refuses (given the root-relative path) are
        neither followed nor read. A link into the root is followed (a file, or a
        directory walked in its turn); a link out of the root, a link loop, or a
        link to a directory the walk is inside of is the problem returned, and so
        is a name no package can hold (`is_portable`). Dangling links and special
        files (FIFOs, sockets, devices) are skipped.
        """
        walked = self._walk(relative, include, budget=None)
        assert walked is not None  # only a budget runs out
        return walked

    def is_clean(
        self, relative: str, include: Callable[[str], bool], budget: int
    ) -> bool:
        """Whether `walk(relative)` surely finds no problem, looking at no more than `budget` entries.

        False when it finds one, or when the tree is larger than the budget (so the
        caller does the precise, costlier check instead).
        """
        walked = self._walk(relative, include, budget)
        return walked is not None and not isinstance(walked, PathProblem)

    def _walk(
        self, relative: str, include: Callable[[str], bool], budget: int | None
    ) -> list[tuple[str, Path]] | PathProblem | None:
        start = self.lookup(relative)
        if start is None or isinstance(start, PathProblem):
            return [] if start is None else start
        if not start.is_dir:
            return [(relative, start.real)] if start.is_file else []
        files: list[tuple[str, Path]] = []
        prefix = "" if relative == "." else f"{relative}/"
        stack: list[tuple[str, Path, Path, frozenset[str]]] = [
            (prefix, self.path / relative, start.real, frozenset({str(start.real)}))
        ]
        while stack:
            shown_dir, lexical_dir, real_dir, ancestors = stack.pop()
            try:
                names = sorted(entry.name for entry in os.scandir(lexical_dir))
            except OSError:
                continue
            if budget is not None:
                budget -= len(names)
                if budget < 0:
                    return None
            for name in names:
                shown = f"{shown_dir}{name}"
                if not include(shown):
                    continue
                if not is_portable(name):
                    return PathProblem(ProblemKind.UNPORTABLE, shown)
                lexical = lexical_dir / name
                try:
                    mode = os.lstat(lexical).st_mode
                except OSError:
                    continue
                if stat.S_ISLNK(mode):
                    problem = self._follow(lexical, shown)
                    if isinstance(problem, PathProblem):
                        return problem
                    if problem is False:
                        continue
                    real = os.path.realpath(lexical)
                    try:
                        mode = Path(real).stat().st_mode
                    except OSError:
                        continue
                else:
                    real = str(real_dir / name)
                if stat.S_ISDIR(mode):
                    # A directory the walk is in (a link to `..`), or one it came through.
                    if real in ancestors or str(real_dir).startswith(real + os.sep):
                        return PathProblem(ProblemKind.LOOP, shown, _readlink(lexical))
                    stack.append((f"{shown}/", lexical, Path(real), ancestors | {real}))
                elif stat.S_ISREG(mode):
                    files.append((shown, Path(real)))
        files.sort()
        return files

    # -- reading (the load stage's and the requirements check's only way in) ------------

    def read_bytes(self, relative: str) -> bytes:
        """The bytes of the regular file `relative` inside the root.

        Raises:
            InternalError: the path leads out of the root or loops (the front end
                reports those: reaching one here is a bug, never a read).
            OSError: there is no regular file there (`FileNotFoundError`,
                `IsADirectoryError`), as `open` would say; callers that read an
                optional file (a `uv.lock`'s `pyproject.toml`) take it as absent.
        """
        found = self.lookup(relative)
        if isinstance(found, PathProblem):
            raise InternalError(
                f"`{relative}` was read without being checked: {found.describe()}"
            )
        if found is None:
            raise FileNotFoundError(
                errno.ENOENT, "no such file inside the chain root", relative
            )
        if not found.is_file:
            raise IsADirectoryError(errno.EISDIR, "not a regular file", relative)
        return self.read_resolved(found.real)

    def read_text(self, relative: str) -> str:
        """`read_bytes` decoded as UTF-8, a BOM dropped (the front end checked it decodes)."""
        return self.read_bytes(relative).decode("utf-8-sig")

    def read_resolved(self, real: Path) -> bytes:
        """The bytes of a resolved path `walk` or `lookup` returned, opened without following a link."""
        if not self.contains_real(real):
            raise InternalError(f"refusing to read `{real}`: outside the chain root")
        flags = (
            os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
        descriptor = os.open(real, flags)
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise InternalError(f"refusing to read `{real}`: not a regular file")
            with os.fdopen(descriptor, "rb", closefd=False) as stream:
                data = stream.read()
            self.note_read(real, data)
            return data
        finally:
            os.close(descriptor)


def is_portable(name: str) -> bool:
    """Whether a package can hold a file of this name: UTF-8, no backslash, no control character."""
    if "\\" in name or any(unicodedata.category(char) == "Cc" for char in name):
        return False
    return _is_utf8(name)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except (
        UnicodeEncodeError
    ):  # a byte the file system gave that is not UTF-8 (surrogateescape)
        return False
    return True


def _readlink(link: Path) -> str:
    try:
        return str(link.readlink())
    except OSError:
        return ""
