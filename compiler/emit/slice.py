"""The slice: the text of the user's modules one Chainlet's package carries.

Stage: back end, called by `emit.plan`. Which statements a package carries is
the front end's answer (`chainsc.carry`, a closure over each statement's facts);
this module renders them from the original text with the positions of CPython's
`ast`, so everything kept is byte-for-byte what the user wrote, comments included.
Only whole top-level statements are kept or dropped, plus three rewrites: the
chains API import points at the vendored runtime, the class of every *other*
Chainlet is replaced in place by its generated client class (`emit.clients`),
and `remote_config = ...` assignments (compiled into config.yaml) are cut from the
Chainlet classes the package carries. User modules never import generated code.
Where each line of a sliced module comes from in the user's file is recorded as it is
rendered (`Slice.lines`): the runtime names the user's file and line in the tracebacks
a Chainlet sends its caller (`chainsc_generated/sources.py`).
Imports: ast, carry, resolve (its table of what the runtime stands in for).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from chainsc.carry import (
    Analysis,
    ClientCode,
    ClientsOnDemand,
    ModuleSource,
    SliceRequest,
    Statement,
    analyse_modules,
    carry,
    is_path_literal,
    is_remote_config,
)
from chainsc.resolve import (
    RUNTIME_STANDINS,
    TRUSS_CONFIG_MODULES,
    rewritten_to_runtime,
)

#: Module the vendored runtime is imported as inside a package.
RUNTIME_MODULE = "chainsc_runtime"


#: What a module with an in-place client imports, once, before its first client.
RUNTIME_IMPORT = f"import {RUNTIME_MODULE}.transport"

#: `(first line in the slice, first line in the user's module, number of lines)`, 1-based.
LineRun = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Slice:
    """What one package carries of the user's modules."""

    #: Relative path -> the module's sliced text.
    texts: Mapping[str, str]
    #: Relative path -> string constants in the kept code that could name a file
    #: next to the module (collected by the analysis, so no package re-parses its text).
    path_literals: Mapping[str, frozenset[str]]
    #: Every identifier the kept code spells (as `_render` keeps it): names, attribute
    #: names, imported modules and names (`*` for a star import). What of the runtime the
    #: package's user code can reach is among them, however it got there (an alias
    #: imported from another module, `chains.streaming.x`, a string annotation), so the
    #: planner vendors the runtime modules they name without reading the generated text.
    spelled: frozenset[str] = frozenset()
    #: (module, top-level class) of every other Chainlet whose client the slice put where
    #: its class stood (the planner vendors what those clients import).
    clients: frozenset[tuple[str, str]] = frozenset()
    #: Relative path -> where its lines come from: runs `(first line in the slice, first
    #: line in the user's module, number of lines)`, in order. Lines in no run are the
    #: slice's own (in-place clients and their imports, blank lines).
    lines: Mapping[str, tuple[LineRun, ...]] = field(default_factory=dict)


#: The front end's names the planner uses through this module.
__all__ = [
    "RUNTIME_IMPORT",
    "RUNTIME_MODULE",
    "Analysis",
    "ClientCode",
    "ClientsOnDemand",
    "LineRun",
    "ModuleSource",
    "Slice",
    "SliceRequest",
    "analyse_modules",
    "is_path_literal",
    "slice_modules",
    "slice_package",
]


def slice_modules(
    modules: Mapping[str, ModuleSource],
    request: SliceRequest,
    analysis: Analysis | None = None,
) -> dict[str, str]:
    """Text of every user module the package needs, by relative path."""
    return dict(slice_package(modules, request, analysis).texts)


def slice_package(
    modules: Mapping[str, ModuleSource],
    request: SliceRequest,
    analysis: Analysis | None = None,
) -> Slice:
    """The sliced text of every user module the package needs, and the path literals it keeps."""
    carried = carry(analysis or analyse_modules(modules), request)
    texts: dict[str, str] = {}
    literals: dict[str, frozenset[str]] = {}
    clients: set[tuple[str, str]] = set()
    lines: dict[str, tuple[LineRun, ...]] = {}
    for module_name, kept in carried.statements.items():
        module = modules[module_name]
        texts[module.path], lines[module.path] = _render(
            module, kept, request.client_classes, request.own_classes, clients
        )
        literals[module.path] = carried.path_literals[module_name]
    return Slice(texts, literals, carried.spelled, frozenset(clients), lines)


class _Text:
    """The text of a sliced module as it is built, and where its lines come from."""

    __slots__ = ("_line", "_mid", "pieces", "runs")

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.runs: list[LineRun] = []
        #: The line (1-based) the next piece starts on, and whether it starts inside it.
        self._line = 1
        self._mid = False

    def add(self, text: str, source: int | None, *, fixed: bool = False) -> None:
        """Append `text`; its first line is line `source` of the user's module.

        Each next line is the next one there, or with `fixed` the same one (a rewritten
        import stands for the line it was on); None: the slice's own text. A line the
        previous piece began keeps what that piece said it is.
        """
        if not text:
            return
        newlines = text.count("\n")
        ends_line = text.endswith("\n")
        if source is not None:
            first = 1 if self._mid else 0
            last = newlines - 1 if ends_line else newlines
            if fixed:
                for offset in range(first, last + 1):
                    self._run(self._line + offset, source, 1)
            elif last >= first:
                self._run(self._line + first, source + first, last - first + 1)
        self.pieces.append(text)
        self._line += newlines
        self._mid = not ends_line

    def _run(self, line: int, source: int, count: int) -> None:
        if self.runs:
            at, there, length = self.runs[-1]
            if at + length == line and there + length == source:
                self.runs[-1] = (at, there, length + count)
                return
        self.runs.append((line, source, count))


# ---------------------------------------------------------------- rendering


def _render(
    module: ModuleSource,
    kept: Sequence[Statement],
    client_classes: Mapping[tuple[str, str], ClientCode],
    own_classes: frozenset[tuple[str, str]],
    used: set[tuple[str, str]] | None = None,
) -> tuple[str, tuple[LineRun, ...]]:
    """The module's text with only the `kept` statements, and where its lines come from.

    The statements are in source order, rewritten where needed; the runs of lines are
    `Slice.lines`. The keys of the clients it puts in are added to `used`.
    """
    lines = _lines_of(module)
    out = _Text()
    pieces = out.pieces
    previous_end = 0
    imported: set[str] = set()
    for statement in kept:
        node = statement.node
        first, last = _extent(statement, lines)
        key = (module.name, node.name) if isinstance(node, ast.ClassDef) else None
        client = (
            client_classes.get(key)
            if key is not None and key not in own_classes
            else None
        )
        if client is not None:
            first = (
                node.lineno - 1
            )  # the client replaces the class: its comments and decorators go
        if pieces:
            # The widest gap the user left between the previous kept statement and this one.
            out.add("\n" * _widest_gap(lines, previous_end, first), None)
        previous_end = last
        # Clients in the branches of an `if`/`try` replace their classes there.
        nested = [
            (class_node, client_classes[(module.name, name)])
            for name, parts in statement.classes.items()
            for class_node in parts.nodes
            if not isinstance(node, ast.ClassDef)
            and (module.name, name) not in own_classes
            and (module.name, name) in client_classes
        ]
        # What the clients need is imported once per module, before the first of them.
        needed = [
            line
            for code in (
                [client] if client is not None else [code for _, code in nested]
            )
            for line in (RUNTIME_IMPORT, *code.imports)
            if line not in imported
        ]
        if used is not None:
            if client is not None and key is not None:
                used.add(key)
            used.update(
                (module.name, name)
                for name, parts in statement.classes.items()
                if not isinstance(node, ast.ClassDef)
                and (module.name, name) not in own_classes
                and (module.name, name) in client_classes
            )
        if needed:
            imported.update(needed)
            out.add(
                "".join(f"{line}\n" for line in dict.fromkeys(needed)) + "\n\n", None
            )
        if client is not None:
            out.add(client.text, None)
            continue
        own = [
            class_node
            for name, parts in statement.classes.items()
            if (module.name, name) in own_classes
            for class_node in parts.nodes
        ]
        _rewrite_statement(
            out,
            statement,
            lines=lines,
            first=first,
            last=last,
            clients=nested,
            own=own,
        )
    rendered = "".join(pieces).rstrip("\n")
    return (rendered + "\n" if rendered else ""), tuple(out.runs)


def _extent(statement: Statement, lines: Sequence[str]) -> tuple[int, int]:
    """0-based [first, last) line range: the statement with its leading comments."""
    node = statement.node
    start = node.lineno
    if (
        isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.decorator_list
    ):
        start = min(start, *(d.lineno for d in node.decorator_list))
    first = start - 1
    while first > 0 and lines[first - 1].lstrip().startswith("#"):
        first -= 1
    end = node.end_lineno or node.lineno
    return first, end


#: Regions up to this many lines are scanned for their widest blank run.
_GAP_SCAN_LIMIT = 64


@functools.lru_cache(maxsize=64)
def _lines_cached(text: str) -> tuple[str, ...]:
    return tuple(text.splitlines(keepends=True))


def _lines_of(module: ModuleSource) -> tuple[str, ...]:
    """The module's lines (split once per build, not once per package)."""
    return _lines_cached(module.text)


def _widest_gap(lines: Sequence[str], start: int, end: int) -> int:
    """The longest run of blank lines in lines[start:end], the gap the user left.

    Long regions (a slice of one Chainlet out of a thousand skips most of the
    file) are not scanned: the blank runs at their two ends decide, which keeps
    a build linear in the size of the chain.
    """
    if end - start <= _GAP_SCAN_LIMIT:
        widest = run = 0
        for line in lines[start:end]:
            run = run + 1 if not line.strip() else 0
            widest = max(widest, run)
        return widest
    after = 0
    while start + after < end and not lines[start + after].strip():
        after += 1
    before = 0
    while end - before - 1 >= start + after and not lines[end - before - 1].strip():
        before += 1
    return max(after, before, 1)


def _rewrite_statement(
    out: _Text,
    statement: Statement,
    *,
    lines: Sequence[str],
    first: int,
    last: int,
    clients: Sequence[tuple[ast.ClassDef, ClientCode]],
    own: Sequence[ast.ClassDef] = (),
) -> None:
    """Add a kept top-level statement's text (`lines[first:last]`) to `out`, rewritten.

    Every chains API import in it, at any depth (a function body, an `if` branch),
    points at the runtime; the classes in `clients` (in its `if`/`try` branches) are
    replaced by their clients; the `remote_config` of the package's own classes is cut.
    Everything else is the user's text, byte for byte.
    """
    node = statement.node
    inside = [(cls.lineno, cls.end_lineno or cls.lineno) for cls, _ in clients]
    # (line, col) to (line, col), 0-based -> text, and whether the text stands for the
    # line it replaces (a rewritten import, a `pass`), or is the slice's own (a client).
    edits: list[tuple[int, int, int, int, str, bool]] = []
    for child in statement.api_imports:
        if any(low <= child.lineno <= high for low, high in inside):
            continue  # inside a class that its client replaces
        start, end = child.lineno - 1, child.end_lineno or child.lineno
        indent = _prefix(lines[start], child.col_offset)
        # What follows the import on its last line (a comment) stays.
        end_col = len(_prefix(lines[end - 1], child.end_col_offset or 0))
        if child is node:
            # The statement itself: its leading comments stay, in the exploded form.
            text = _rewrite_api_import(child, lines, first).removesuffix("\n")
            edits.append((first, 0, end - 1, end_col, text, True))
        elif not indent.strip():
            text = _indent(
                _rewrite_api_import(child, lines, start), indent
            ).removesuffix("\n")
            edits.append((start, 0, end - 1, end_col, text, True))
        else:
            # It shares its line with other code (`if x: import y`): spliced in on one line.
            edits.append(
                (start, len(indent), end - 1, end_col, _one_line_import(child), True)
            )
    for cls, code in clients:
        start = min([cls.lineno, *(d.lineno for d in cls.decorator_list)]) - 1
        edits.append(
            (
                start,
                0,
                cls.end_lineno or cls.lineno,
                0,
                _indent(code.text, " " * cls.col_offset),
                False,
            )
        )
    for cls in own:
        body = [item for item in cls.body if not is_remote_config(item)]
        for item in cls.body:
            if is_remote_config(item):
                end = item.end_lineno or item.lineno
                # Drop the blank line that followed, so no double gap is left behind.
                after = end + 1 if end < last and not lines[end].strip() else end
                # A class whose body was only its config keeps a body.
                text = (
                    ""
                    if body
                    else _indent(
                        "pass\n", _prefix(lines[item.lineno - 1], item.col_offset)
                    )
                )
                edits.append((item.lineno - 1, 0, after, 0, text, True))
                body = [item]  # one `pass` is enough
    if not edits:
        out.add("".join(lines[first:last]), first + 1)
        return
    at_line, at_col = first, 0
    for start, start_col, end, end_col, text, stands_for in sorted(edits):
        out.add(_text_between(lines, at_line, at_col, start, start_col), at_line + 1)
        out.add(text, start + 1 if stands_for else None, fixed=True)
        at_line, at_col = end, end_col
    out.add(_text_between(lines, at_line, at_col, last, 0), at_line + 1)


def _text_between(
    lines: Sequence[str], line: int, col: int, end: int, end_col: int
) -> str:
    """The text from (line, col) to (end, end_col), 0-based lines, columns in characters."""
    if line == end:
        return lines[line][col:end_col] if line < len(lines) else ""
    return (
        lines[line][col:]
        + "".join(lines[line + 1 : end])
        + (lines[end][:end_col] if end < len(lines) else "")
    )


def _prefix(line: str, col_offset: int) -> str:
    """The text of `line` before an ast column (which counts UTF-8 bytes)."""
    return line.encode("utf-8")[:col_offset].decode("utf-8", errors="replace")


def _one_line_import(node: ast.Import | ast.ImportFrom) -> str:
    """An API import rewritten as one statement on one line (no newline)."""
    rewritten = _rewrite_api_import(node, [], node.lineno - 1)
    statements = [piece.strip() for piece in rewritten.splitlines() if piece.strip()]
    if len(statements) > 1 and statements[0].endswith("("):
        # `from x import (` ... `)`: the names on one line.
        return statements[0].rstrip("(") + ", ".join(
            name.rstrip(",") for name in statements[1:-1]
        )
    return "; ".join(statements)


def _indent(text: str, indent: str) -> str:
    """`text` with `indent` before every line that is not blank."""
    return "".join(
        indent + piece if piece.strip() else piece
        for piece in text.splitlines(keepends=True)
    )


def _rewrite_api_import(node: ast.stmt, lines: Sequence[str], first: int) -> str:
    """`import truss_chains as chains` -> `import chainsc_runtime as chains` (same bindings)."""
    indent = ""
    comments = "".join(lines[first : node.lineno - 1])
    if isinstance(node, ast.Import):
        parts = []
        for alias in node.names:
            root, _, rest = alias.name.partition(".")
            if alias.name in TRUSS_CONFIG_MODULES:
                # `import truss.base.truss_config as tc`: without an alias the name `truss` is bound.
                parts.append(
                    f"import {RUNTIME_MODULE}.{RUNTIME_STANDINS[alias.name]} as {alias.asname}"
                    if alias.asname
                    else f"import {alias.name}"
                )
            elif alias.name in RUNTIME_STANDINS and alias.asname:
                parts.append(
                    f"import {RUNTIME_MODULE}.{RUNTIME_STANDINS[alias.name]} as {alias.asname}"
                )
            elif rewritten_to_runtime(alias.name) and alias.asname:
                parts.append(
                    f"import {RUNTIME_MODULE}{f'.{rest}' if rest else ''} as {alias.asname}"
                )
            elif rewritten_to_runtime(alias.name):
                # `import truss_chains.utils` binds `truss_chains`, the package (whose
                # submodules the runtime's `__init__` imports).
                parts.append(f"import {RUNTIME_MODULE} as {root}")
            else:
                parts.append(
                    f"import {alias.name}"
                    + (f" as {alias.asname}" if alias.asname else "")
                )
        return comments + "".join(f"{indent}{part}\n" for part in parts)
    assert isinstance(node, ast.ImportFrom)
    if node.module in RUNTIME_STANDINS:
        target = f"{RUNTIME_MODULE}.{RUNTIME_STANDINS[node.module]}"
    elif node.module in ("truss", "truss.base"):
        target = RUNTIME_MODULE  # `from truss.base import truss_config`
    else:
        module = (node.module or "").split(".", 1)
        target = RUNTIME_MODULE + (f".{module[1]}" if len(module) > 1 else "")
    names = [
        alias.name + (f" as {alias.asname}" if alias.asname else "")
        for alias in node.names
    ]
    if len(names) == 1:
        return comments + f"from {target} import {names[0]}\n"
    body = "".join(f"    {name},\n" for name in names)
    return comments + f"from {target} import (\n{body})\n"
