"""The no-op `chainsc build` / `build --check`: a verdict in milliseconds, never a wrong one.

Stage: entry (the CLI's `build` asks it first). Imports only the standard library and
`chainsc.write` (stale packages): deciding must not load libcst, jinja2 or yaml.

After a build (or a `--check` that found the output up to date), `save` records in
chainsc's cache (`$CHAINSC_CACHE_DIR/fastcheck/`, one file per output directory) a
*stamp*: everything the output was made from and what it is. The next `build` or
`--check` of the same chain into the same output asks `verdict`, which says "up to date"
only when all of it is unchanged:

- the options that change the output (chain file, `--root`, `--entrypoint`, `--with`);
- chainsc itself: the sha256 of its code, templates and runtime (an editable install
  changes without a version bump), the Python that runs it, and where its
  dependencies' modules are and their size and mtime (an upgrade changes them);
- every user file the build read (`chainsc.confine.ChainRoot.reads`: the chain file,
  local modules, requirements files, data files, a TrussChainlet's directory), by the
  sha256 of what was read, hashed when it was read;
- the names and kinds of every entry under the chain root (symbolic links with their
  targets): what the build looked up and did not find (a new local module that would
  shadow an installed one, a new `__init__.py`, a new file in a `data_dir`) changes it.
  Caches, virtual environments, version control and chainsc's own output directories
  are left out, unless the build read a file inside one;
- every file of the output, by the sha256 of its bytes (and, for `build`, the modes a
  build gives); and no stale package directory (`chainsc.write.stale_packages`).

Anything missing, unreadable or different is "take the slow path": the full build or
check decides, and saves a new stamp. The stamp lives outside the output directory, so
`out/` and `chain.json` stay exactly what a build writes.
"""

# os.path, not pathlib: the fast path is a few thousand path operations, and Path objects
# cost several times more each.
# ruff: noqa: PTH100, PTH105, PTH113, PTH115, PTH116, PTH117, PTH118, PTH120, PTH123
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import stat
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from chainsc.wording import plural

#: Bumped when the stamp's meaning changes: an older stamp is then ignored.
STAMP_VERSION = 2
#: Where stamps go unless `$CHAINSC_CACHE_DIR` says otherwise (as `chainsc run --isolated`).
CACHE_DIR_ENV_VAR = "CHAINSC_CACHE_DIR"
#: Set to anything non-empty to never take the fast path (and save no stamp).
DISABLE_ENV_VAR = "CHAINSC_NO_FASTCHECK"
#: The manifest of an output directory.
MANIFEST = "chain.json"
#: Third-party modules whose behaviour shapes the output (an upgrade takes the slow path).
_DEPENDENCIES = ("libcst", "jinja2", "markupsafe", "yaml", "_yaml", "packaging")
#: Directories under the chain root whose contents are no input unless a read file is in
#: one: caches, virtual environments (also any with a `pyvenv.cfg`), version control.
_SKIPPED_DIRS = frozenset(
    {
        "__pycache__",
        ".git",
        ".hg",
        ".svn",
        ".venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
    }
)
#: A chain root with more entries than this gets no stamp (walking it would cost more
#: than it saves).
_TREE_BUDGET = 50_000
#: Modes a build gives (`chainsc.write.FILE_MODE`, `DIR_MODE`).
_FILE_MODE = 0o644
_DIR_MODE = 0o755


@dataclass(frozen=True, slots=True)
class Request:
    """One `chainsc build` invocation, as far as it decides the output."""

    chain: Path
    out_dir: Path
    root: Path | None
    entrypoint: str | None
    #: `--with` targets as given.
    targets: tuple[str, ...]

    def options(self) -> dict[str, object]:
        """The options that change the output, absolute paths (the stamp is local)."""
        return {
            "chain": os.path.abspath(self.chain),
            "root": None if self.root is None else os.path.abspath(self.root),
            "entrypoint": self.entrypoint,
            "with": sorted(set(self.targets)),
            "projects": _projects_above(os.path.abspath(self.chain)),
        }


def _projects_above(chain: str) -> list[list[str]]:
    """(path, sha256) of every `pyproject.toml` in a directory above the chain file.

    Options can come from one (`[tool.chainsc]`): a new, removed or edited one takes
    the slow path, whatever reads it.
    """
    found: list[list[str]] = []
    directory = os.path.dirname(chain)
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        try:
            with open(candidate, "rb") as handle:
                found.append([candidate, hashlib.sha256(handle.read()).hexdigest()])
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            pass
        parent = os.path.dirname(directory)
        if parent == directory:
            return found
        directory = parent


def disabled() -> bool:
    """Whether `$CHAINSC_NO_FASTCHECK` turns the fast path off."""
    return bool(os.environ.get(DISABLE_ENV_VAR))


def stamp_path(out_dir: Path) -> Path:
    """The stamp of one output directory, in chainsc's cache."""
    if os.environ.get(CACHE_DIR_ENV_VAR):
        cache = Path(os.environ[CACHE_DIR_ENV_VAR]).expanduser()
    elif os.environ.get("XDG_CACHE_HOME"):
        cache = Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "chainsc"
    else:
        cache = Path("~/.cache/chainsc").expanduser()
    key = hashlib.sha256(os.path.abspath(out_dir).encode("utf-8", "surrogateescape"))
    return cache / "fastcheck" / f"{key.hexdigest()[:32]}.json"


def verdict(request: Request, *, for_build: bool) -> int | None:
    """The number of files of the output when it surely is what the build would write.

    None: take the slow path (no stamp, or anything changed or unreadable).
    `for_build`: also require the modes a build gives (a `build` would fix them).
    """
    if disabled():
        return None
    try:
        stamp = json.loads(stamp_path(request.out_dir).read_bytes())
        if not isinstance(stamp, dict) or stamp.get("version") != STAMP_VERSION:
            return None
        if stamp.get("options") != request.options():
            return None
        if stamp.get("toolchain") != toolchain_digest():
            return None
        root = str(stamp["root"])
        # The root as spelled must still lead there (a link above it retargeted).
        if os.path.realpath(str(stamp["lexical_root"])) != root:
            return None
        reads = stamp["reads"]
        if not isinstance(reads, dict) or not _reads_unchanged(root, reads):
            return None
        tree = tree_digest(root, reads)
        if tree is None or stamp.get("tree") != tree:
            return None
        return _output_unchanged(request.out_dir, str(stamp["output"]), for_build)
    except (OSError, ValueError, KeyError, TypeError, UnicodeError):
        return None


@dataclass(frozen=True, slots=True)
class Before:
    """What the slow path saw before the build read anything (`begin`)."""

    request: Request
    #: The request's options, when it began (`Request.options`).
    options: dict[str, object]
    #: The chain root as the build spelled it, and resolved.
    lexical_root: str
    root: str
    toolchain: str
    #: The chain root's entries, listed before the build: a file read later is then
    #: in it, or the listing differs next time (never a missed change).
    entries: tuple[tuple[str, str], ...] | None


def begin(request: Request, root: Path) -> Before | None:
    """Look at the chain root before the slow path reads it (None: save no stamp)."""
    if disabled():
        return None
    try:
        lexical_root = os.path.abspath(root)
        real_root = os.path.realpath(lexical_root)
        return Before(
            request,
            request.options(),
            lexical_root,
            real_root,
            toolchain_digest(),
            _tree_entries(real_root, None),
        )
    except (OSError, ValueError, UnicodeError):
        return None


def save(
    before: Before | None,
    reads: Mapping[str, tuple[str, str]],
    files: Mapping[str, bytes],
    *,
    diagnostics: int = 0,
) -> None:
    """Record that the output of `before.request` now holds `files`, made from `reads`.

    Only for a build without `diagnostics` (warnings): the fast path prints nothing.

    Best effort: a stamp that cannot be written only means the next run is slow.
    """
    if before is None or before.entries is None or diagnostics:
        # A build with warnings prints them every time: the slow path does that.
        return
    try:
        relative = _relative_reads(before.root, reads)
        if relative is None:
            return
        # The listing taken before the build, with the directories the build read
        # into that the walk left out added now (what they held is in the reads).
        entries: tuple[tuple[str, str], ...] | None = before.entries
        listed = {path for path, _ in before.entries}
        if any(path not in listed for path in relative):
            entries = _tree_entries(before.root, relative)
        if entries is None:
            return
        stamp = {
            "version": STAMP_VERSION,
            "options": before.options,
            "toolchain": before.toolchain,
            "lexical_root": before.lexical_root,
            "root": before.root,
            "reads": relative,
            "tree": _entries_digest(entries),
            "output": _files_digest(
                (path, hashlib.sha256(data).digest()) for path, data in files.items()
            ),
        }
        path = stamp_path(before.request.out_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(stamp, sort_keys=True), encoding="utf-8")
        os.replace(temporary, path)
    except (OSError, ValueError, UnicodeError):
        return


# --- the console script -----------------------------------------------------------

#: `build`'s options that take a value, by every spelling click accepts here.
_VALUE_OPTIONS = {
    "-o": "out",
    "--output": "out",
    "--root": "root",
    "--entrypoint": "entrypoint",
    "--with": "with",
    "--format": "format",
}
_FLAGS = {"--check": "check", "--force": "force"}
_FORMATS = frozenset({"text", "json", "github"})


def console_main() -> None:
    """The `chainsc` console script: a no-op `build` answered before the CLI loads.

    Loading click and the CLI costs more than the whole verdict; anything but a
    `build` whose every argument this understands, or a verdict other than "up to
    date", goes to `chainsc.cli.console_main` as it is.
    """
    parsed = parse_build(sys.argv[1:])
    requests: list[Request] = []
    if parsed is not None:
        request, check_only, output_format = parsed
        requests = [request]
    else:
        configured = parse_configured_build(sys.argv[1:])
        if configured is not None:
            requests, check_only, output_format = configured
    if requests:
        counts = [verdict(request, for_build=not check_only) for request in requests]
        if all(count is not None for count in counts):
            for request, count in zip(requests, counts, strict=True):
                assert count is not None
                report(request, count, check_only, output_format)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
    from chainsc.cli import console_main as full  # noqa: PLC0415

    full()


def parse_configured_build(
    argv: list[str],
) -> tuple[list[Request], bool, str] | None:
    """`build [--check] [--format F] [CHAIN]` whose options all come from pyproject.toml.

    The chains the CLI's `build` would build, each with its `[[tool.chainsc.chain]]`
    table's options, as `cli._jobs` makes them (no flag overrides here): every
    configured chain of the nearest pyproject.toml above the working directory, or
    CHAIN's table in the nearest one above CHAIN. None when the arguments are anything
    else, or the tables are missing or wrong: the CLI then says what it says.
    """
    from chainsc.project import (  # noqa: PLC0415 - the standard library only
        ProjectError,
        find_pyproject,
        job_for,
        load_project,
        shown,
    )

    if not argv or argv[0] != "build":
        return None
    check_only = False
    output_format = "text"
    chains: list[str] = []
    rest = argv[1:]
    while rest:
        token = rest.pop(0)
        if token == "--check":
            check_only = True
        elif token.startswith("--format="):
            output_format = token.partition("=")[2]
        elif token == "--format" and rest:
            output_format = rest.pop(0)
        elif token.startswith("-") or chains:
            return None
        else:
            chains.append(token)
    if output_format not in ("text", "json"):
        return None
    chain = Path(chains[0]) if chains else None
    try:
        if chain is not None:
            pyproject = find_pyproject(chain.absolute().parent)
            if pyproject is None:
                return None
            table = load_project(shown(pyproject)).chain_for(chain)
            tables = [table] if table is not None else []
        else:
            pyproject = find_pyproject(Path.cwd())
            if pyproject is None:
                return None
            tables = list(load_project(shown(pyproject)).chains)
    except ProjectError:
        return None
    if not tables:
        return None
    jobs = [job_for(table, chain) for table in tables]
    return (
        [
            Request(
                job.chain, job.out_dir, job.root, job.entrypoint, job.deploy_targets
            )
            for job in jobs
            if job.out_dir is not None
        ],
        check_only,
        output_format,
    )


def parse_build(argv: list[str]) -> tuple[Request, bool, str] | None:
    """`build [--check] CHAIN -o OUT [--root R] [--entrypoint E] [--with T]... [--format F]`.

    Read as click reads it (an option's value is the next argument, or after `=`;
    the last one wins, `--with` adds up); None for anything else (help, another
    command, an option this does not know, a missing or repeated argument).
    """
    if not argv or argv[0] != "build":
        return None
    values: dict[str, str] = {}
    targets: list[str] = []
    flags: set[str] = set()
    positional: list[str] = []
    rest = argv[1:]
    while rest:
        token = rest.pop(0)
        name, equals, value = token.partition("=")
        if name in _VALUE_OPTIONS and name.startswith("--"):
            if not equals:
                if not rest:
                    return None
                value = rest.pop(0)
        elif token.startswith("-o") and len(token) > 2:
            name, value = "-o", token[2:]
        elif token == "-o":
            if not rest:
                return None
            name, value = token, rest.pop(0)
        elif token in _FLAGS:
            flags.add(_FLAGS[token])
            continue
        elif token.startswith("-") and token != "-":
            return None
        else:
            positional.append(token)
            continue
        key = _VALUE_OPTIONS[name]
        if key == "with":
            targets.append(value)
        else:
            values[key] = value
    output_format = values.get("format", "text")
    if len(positional) != 1 or "out" not in values or output_format not in _FORMATS:
        return None
    root = values.get("root")
    request = Request(
        Path(positional[0]),
        Path(values["out"]),
        None if root is None else Path(root),
        values.get("entrypoint"),
        tuple(targets),
    )
    return request, "check" in flags, output_format


def report(request: Request, count: int, check_only: bool, output_format: str) -> None:
    """What `build` prints for an output found up to date (as the slow path, no diagnostics)."""
    if output_format == "json":
        sys.stdout.write("[]\n")
    if check_only:
        sys.stderr.write(f"{request.out_dir}: up to date ({plural(count, 'file')})\n")
    else:
        sys.stderr.write(
            f"{request.out_dir}: 0 written, {count} unchanged, 0 removed (up to date)\n"
        )


# --- chainsc itself ------------------------------------------------------------


def toolchain_digest(here: Path | None = None) -> str:
    """sha256 of chainsc's own files (code, templates, runtime), the Python and the dependencies.

    `here`: chainsc's package directory (default: this one's).
    """
    digest = hashlib.sha256()
    here = here or Path(__file__).resolve().parent
    # A wheel installs `chainsc/` (templates inside) beside `chainsc_runtime/`; an
    # editable install maps them to the repository's `compiler/`, `codegen_templates/`
    # and `runtime_lib/` (as `chainsc.runtime_files` finds them).
    homes = {
        "chainsc": (here, here.parent / "chainsc_runtime"),
        "compiler": (
            here,
            here.parent / "runtime_lib",
            here.parent / "codegen_templates",
        ),
    }.get(here.name, (here,))
    for home in homes:
        digest.update(f"{home.name}\0".encode())
        for rel, path in _own_files(home):
            digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
            with open(path, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
    digest.update(f"{sys.version}\0{sys.executable}\0".encode())
    for name in _DEPENDENCIES:
        spec = importlib.util.find_spec(name)
        origin = None if spec is None else spec.origin
        if origin is None:
            digest.update(f"{name}:-\0".encode())
            continue
        info = os.stat(origin)
        digest.update(f"{name}:{origin}:{info.st_size}:{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _own_files(home: Path) -> list[tuple[str, str]]:
    """(relative path, path) of every file of one of chainsc's directories but bytecode, sorted."""
    found: list[tuple[str, str]] = []
    top = str(home)
    for parent, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        rel_parent = os.path.relpath(parent, top).replace(os.sep, "/")
        for name in names:
            if name.endswith((".pyc", ".pyo")):
                continue
            rel = name if rel_parent == "." else f"{rel_parent}/{name}"
            found.append((rel, os.path.join(parent, name)))
    found.sort()
    return found


# --- the user's files ------------------------------------------------------------


def _relative_reads(
    root: str, reads: Mapping[str, tuple[str, str]]
) -> dict[str, list[str]] | None:
    """The reads by path relative to the resolved root; None if one is outside it."""
    relative: dict[str, list[str]] = {}
    for real, (how, sha) in reads.items():
        rel = os.path.relpath(real, root)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
            return None
        relative[Path(rel).as_posix()] = [how, sha]
    return relative


def _reads_unchanged(root: str, reads: Mapping[str, object]) -> bool:
    for rel, record in reads.items():
        if not isinstance(record, list) or len(record) != 2:
            return False
        how, sha = record
        with open(os.path.join(root, *rel.split("/")), "rb") as handle:
            data = handle.read()
        if how == "text":
            data = data.decode("utf-8-sig").encode("utf-8")
        elif how != "bytes":
            return False
        if hashlib.sha256(data).hexdigest() != sha:
            return False
    return True


def tree_digest(root: str, reads: Iterable[str]) -> str | None:
    """sha256 of the chain root's listing (`_tree_entries`); None when it is too large."""
    entries = _tree_entries(root, list(reads))
    return None if entries is None else _entries_digest(entries)


def _tree_entries(
    root: str, reads: Iterable[str] | None
) -> tuple[tuple[str, str], ...] | None:
    """(path, kind) of every entry under `root`, sorted; None over `_TREE_BUDGET`.

    Kind: `d` a directory, `f` a regular file, `l:<target>` a symbolic link, `o` other.
    Left out: a chainsc output directory (one with a chainsc `chain.json`), a directory
    of `_SKIPPED_DIRS` or with a `pyvenv.cfg`, unless a path of `reads` is inside it.
    """
    keep: set[str] = set()
    for rel in reads or ():
        parts = rel.split("/")
        keep.update("/".join(parts[:cut]) for cut in range(1, len(parts)))
    entries: list[tuple[str, str]] = []
    stack = [("", root)]
    while stack:
        prefix, directory = stack.pop()
        with os.scandir(directory) as scan:
            listed = list(scan)
        if len(entries) + len(listed) > _TREE_BUDGET:
            return None
        for entry in listed:
            rel = f"{prefix}{entry.name}"
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                entries.append((rel, f"l:{os.readlink(entry.path)}"))
            elif stat.S_ISDIR(mode):
                if rel not in keep and _left_out(entry.name, entry.path):
                    continue
                entries.append((rel, "d"))
                stack.append((f"{rel}/", entry.path))
            else:
                entries.append((rel, "f" if stat.S_ISREG(mode) else "o"))
    entries.sort()
    return tuple(entries)


def _left_out(name: str, path: str) -> bool:
    if name in _SKIPPED_DIRS or os.path.lexists(os.path.join(path, "pyvenv.cfg")):
        return True
    manifest = os.path.join(path, MANIFEST)
    if not os.path.isfile(manifest):
        return False
    try:
        with open(manifest, "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    return b'"generated_by": "chainsc"' in data


def _entries_digest(entries: Iterable[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for rel, kind in entries:
        digest.update(f"{rel}\0{kind}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


# --- the output ------------------------------------------------------------------


def _files_digest(hashed: Iterable[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for rel, sha in sorted(hashed):
        digest.update(rel.encode("utf-8") + b"\0" + sha)
    return digest.hexdigest()


def _output_unchanged(out_dir: Path, expected: str, for_build: bool) -> int | None:
    """The number of files when `out_dir` holds exactly the stamped bytes (and no stale package)."""
    from chainsc.write import stale_packages  # noqa: PLC0415 - the standard library only

    manifest = json.loads((out_dir / MANIFEST).read_bytes())
    listed = manifest["files"]
    if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
        return None
    by_inode: dict[tuple[int, int], bytes] = {}
    hashed: list[tuple[str, bytes]] = []
    dirs: set[str] = set()
    out = os.fspath(out_dir)
    posix = os.sep == "/"
    for rel in listed:
        path = f"{out}/{rel}" if posix else os.path.join(out, *rel.split("/"))
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            return None
        key = (info.st_dev, info.st_ino)
        sha = by_inode.get(key)
        if sha is None:
            # Hard links (a build links identical files) are read once.
            with open(path, "rb") as handle:
                sha = hashlib.sha256(handle.read()).digest()
            by_inode[key] = sha
        hashed.append((rel, sha))
        if for_build:
            if stat.S_IMODE(info.st_mode) != _FILE_MODE:
                return None
            parent = rel.rpartition("/")[0]
            while parent and parent not in dirs:
                dirs.add(parent)
                parent = parent.rpartition("/")[0]
    if _files_digest(hashed) != expected:
        return None
    if for_build:
        for rel in ["", *dirs]:
            info = os.lstat(os.path.join(out, *rel.split("/")) if rel else out)
            if (
                not stat.S_ISDIR(info.st_mode)
                or stat.S_IMODE(info.st_mode) != _DIR_MODE
            ):
                return None
    if stale_packages(out_dir, listed):
        return None
    return len(listed)
