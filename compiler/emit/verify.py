"""Every generated Python file compiles, or the build is an internal error.

Stage: the last step of a build, after planning and before anything is written
(`chainsc.api.build_file`). Imports: the standard library, diagnostics, source.

A package whose module does not compile is a chainsc bug, never something to
hand the user: every generated `.py` file is compiled by CPython (never run),
and a failure is a CSC901 naming the file.

The packages of a chain repeat themselves: the vendored runtime is the same
bytes in each, and each package's generated modules share most of their
definitions (a model the endpoints take, the same functions of `server.py`).
So a file is compiled in parts: split before each top-level `def`, `class` or
decorator, and each distinct part compiled once (per process: a program that builds again and
again compiles only what changed). That is sound: a
part that compiles alone is a whole sequence of statements that closes every
bracket, string and block it opens, so parts that each compile make a file
that compiles, as long as nothing in one part depends on the statements of
another at module level. Only three things do: `from __future__` imports
(allowed in the first part only, their flags applied to every part), a
`global`/`nonlocal` declaration, and a coding declaration; a file with any of
the last two, or a part that does not compile alone, is compiled whole, and
any error is reported from the whole file, with its real line.
"""

from __future__ import annotations
import __future__

import functools
import importlib.util
import itertools
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

from chainsc.diagnostics import Diagnostic, error
from chainsc.runtime_files import runtime_dir
from chainsc.source import SourceFile, Span

#: Where a part starts: a line that begins a top-level definition or decorator.
_PART_START = re.compile(r"^(?:@|def |async def |class )", re.MULTILINE)
#: What makes statements depend on each other across parts (see the module docstring).
_DECLARATION = re.compile(r"\b(?:global|nonlocal)\b")
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=]", re.MULTILINE)
_FUTURE = re.compile(
    r"^from[ \t]+__future__[ \t]+import[ \t]+([\w, \t()]+)", re.MULTILINE
)
_FUTURE_FLAGS = {"annotations": __future__.annotations.compiler_flag}
#: Futures with no effect on compilation in Python 3.7+ (always on).
_FUTURE_NO_OPS = frozenset(
    {
        "nested_scopes",
        "generators",
        "division",
        "absolute_import",
        "with_statement",
        "print_function",
        "unicode_literals",
        "generator_stop",
    }
)


def generated_code_errors(
    files: Mapping[str, bytes],
) -> tuple[list[Diagnostic], dict[str, SourceFile]]:
    """CSC901 for each generated `.py` file that does not compile, and those files' text."""
    found: list[Diagnostic] = []
    sources: dict[str, SourceFile] = {}
    checked = _Checked()
    checked.files.update(
        _compiled_by_python(runtime_dir())
    )  # the vendored runtime, verbatim
    with warnings.catch_warnings():
        # Warnings (`"\d"`, `x is 1`) are Python's to give when the code runs.
        warnings.simplefilter("ignore")
        problems = [
            (path, _compile_error(path, data))
            for path, data in sorted(files.items())
            if path.endswith(".py")
            and checked.is_new(data)
            and not checked.compiles_in_parts(data)
        ]
    for path, problem in problems:
        if problem is None:
            continue
        message, line, col = problem
        data = files[path]
        found.append(
            error(
                "CSC901",
                f"internal error: chainsc generated `{path}`, which does not compile: {message}",
                Span(path, line, col, line, col + 1),
                help="this is a bug in chainsc, not in your chain: nothing was written; please report it with the chain file",
            )
        )
        sources[path] = SourceFile(path, data.decode("utf-8", errors="replace"))
    return found, sources


#: (compiler flags, text) of parts that compiled, kept across the builds of one process (a
#: program that builds again and again recompiles only what changed), up to a bound.
_COMPILED_PARTS: set[tuple[int, str]] = set()
_MAX_COMPILED_PARTS = 100_000


class _Checked:
    """Files and parts compiled so far."""

    def __init__(self) -> None:
        self.files: set[bytes] = set()
        if len(_COMPILED_PARTS) > _MAX_COMPILED_PARTS:
            _COMPILED_PARTS.clear()
        #: (compiler flags, text) of each part that compiled.
        self.parts = _COMPILED_PARTS

    def is_new(self, data: bytes) -> bool:
        """Whether a file with these bytes is yet to be checked (and from now on, it is not)."""
        if data in self.files:
            return False
        self.files.add(data)
        return True

    def compiles_in_parts(self, data: bytes) -> bool:
        """True when every part of `data` compiles; False: compile the whole file to know."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        head = "\n".join(text.split("\n", 2)[:2])  # where a coding declaration can be
        declares = ("global" in text or "nonlocal" in text) and _DECLARATION.search(
            text
        ) is not None
        if declares or text.startswith("\ufeff") or _CODING.search(head) is not None:
            return False
        parts = _parts(text)
        if not parts:
            return True  # an empty file
        flags = 0
        for names in _FUTURE.findall(parts[0]):
            for name in re.findall(r"\w+", names):
                if name in _FUTURE_FLAGS:
                    flags |= _FUTURE_FLAGS[name]
                elif name not in _FUTURE_NO_OPS:
                    return False
        if any("__future__" in part for part in parts[1:]):
            return False
        for index, part in enumerate(parts):
            key = (0 if index == 0 else flags, part)
            if key in self.parts:
                continue
            if _compile_error("<part>", part, key[0]) is not None:
                return False
            self.parts.add(key)
        return True


@functools.cache
def _compiled_by_python(directory: Path) -> frozenset[bytes]:
    """Contents of the `.py` files in `directory` this Python has compiled already.

    Proof is a `.pyc` of this interpreter in `__pycache__` that matches the source as
    the import system checks it (its hash, or its modification time and size): pip
    writes them when it installs chainsc, an import does otherwise. For the runtime a
    package vendors verbatim, that saves compiling 200 kB in every build.
    """
    found: set[bytes] = set()
    for source in sorted(directory.glob("*.py")):
        try:
            data = source.read_bytes()
            status = source.stat()
            with Path(importlib.util.cache_from_source(str(source))).open(
                "rb"
            ) as cached:
                header = cached.read(16)
        except (OSError, NotImplementedError, ValueError):
            continue
        if len(header) < 16 or header[:4] != importlib.util.MAGIC_NUMBER:
            continue
        if int.from_bytes(header[4:8], "little") & 1:  # hash-based (PEP 552)
            if header[8:16] == importlib.util.source_hash(data):
                found.add(data)
        elif header[8:12] == (int(status.st_mtime) & 0xFFFFFFFF).to_bytes(
            4, "little"
        ) and header[12:16] == (status.st_size & 0xFFFFFFFF).to_bytes(4, "little"):
            found.add(data)
    return frozenset(found)


def _parts(text: str) -> list[str]:
    """`text` split before each top-level definition, its decorators kept with it."""
    starts = [0]
    for match in _PART_START.finditer(text):
        start = match.start()
        previous_line = text.rfind("\n", 0, start - 1) + 1
        if start > 0 and not text.startswith("@", previous_line):
            starts.append(start)
    starts.append(len(text))
    return [text[begin:end] for begin, end in itertools.pairwise(starts) if end > begin]


def _compile_error(
    path: str, source: bytes | str, flags: int = 0
) -> tuple[str, int, int] | None:
    """Python's message and 1-based position when `source` does not compile, else None."""
    try:
        compile(source, path, "exec", flags=flags, dont_inherit=True)
    except SyntaxError as exc:
        return exc.msg, max(1, exc.lineno or 1), max(1, exc.offset or 1)
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"{type(exc).__name__}: {exc}", 1, 1
    return None
