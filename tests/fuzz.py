"""A mutation fuzzer for the compiler: mutants of the bundled chains, checked and built in-process.

Test helper, used by `tests/test_fuzz.py` (a few hundred mutants in the default suite)
and `bench/fuzz.py` (the long run: `--mutants 10000 --seed N`).

Seeds are the example chains (`examples/*/`, whose builds are `golden/`) and the corpus
(`tests/corpus/*/`), each with the local modules and files next to it. A mutant applies
one to three mutations, chosen by a generator seeded with `(seed, index)`, so every
mutant can be made again from its number: token-level (delete, duplicate, swap, turn an
identifier into a keyword, a number or a string), line-level (delete, duplicate, indent,
dedent, swap), aware of the syntax tree (replace an expression of `remote_config`, rename
a class, drop `run_remote`, change an annotation, insert a deep expression) and the
hostile inputs of issue 11 (what only CPython's compiler refuses, long chains of names,
import cycles, NUL bytes, bytes that are not UTF-8).

For each mutant, `check_mutant` runs `check_file` and `build_file` and returns what went
wrong: an exception escaping the library (an internal error), CSC901, the recursion
backstop, a build with errors that still returned files, a generated `.py` that does not
compile, or (for some mutants, through `cli.main` in-process) a traceback, an exit code
other than 0 or 1, or an output directory changed by a build that failed.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import io
import keyword
import random
import shutil
import tempfile
import time
import tokenize
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chainsc import cli
from chainsc.api import RECURSION_BACKSTOP, build_file, check_file
from chainsc.write import WriteRefused, write_tree
from tests import hostile

REPO = Path(__file__).resolve().parent.parent
SEED_DIRECTORIES = (REPO / "examples", REPO / "tests" / "corpus")

#: Mutant files: relative path -> text (or bytes, for what is not UTF-8).
Files = dict[str, str | bytes]


@dataclass(frozen=True)
class Seed:
    """A chain to mutate: its directory's files and which of them is the chain file."""

    name: str
    files: dict[str, str]
    chain: str


@dataclass
class Mutant:
    """One mutated chain: its files, the chain file and the mutations applied."""

    index: int
    seed: Seed
    files: Files
    chain: str
    mutations: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    """Something that must never happen, for one mutant."""

    index: int
    kind: str
    detail: str
    mutations: tuple[str, ...]


def load_seeds() -> list[Seed]:
    """Every chain file of the examples and the corpus, with the files next to it."""
    seeds: list[Seed] = []
    for parent in SEED_DIRECTORIES:
        for directory in sorted(path for path in parent.iterdir() if path.is_dir()):
            files = {
                path.relative_to(directory).as_posix(): path.read_text(encoding="utf-8")
                for path in sorted(directory.rglob("*"))
                if path.is_file()
                and "__pycache__" not in path.parts
                and path.suffix in (".py", ".txt", ".md", ".toml")
            }
            for name, text in files.items():
                if (
                    name.endswith(".py")
                    and "/" not in name
                    and ("ChainletBase" in text or "ModelBase" in text)
                ):
                    seeds.append(
                        Seed(f"{parent.name}/{directory.name}/{name}", files, name)
                    )
    return seeds


# -- mutations ----------------------------------------------------------------------


Mutation = Callable[[random.Random, str], str | None]

_KEYWORDS = sorted(keyword.kwlist)
_NUMBERS = [
    "0",
    "-1",
    "10**100",
    "1e400",
    "0x7fffffffffffffff",
    "1_000",
    "3.5",
    "-0.0",
    "2**63",
]
_STRINGS = [
    '""',
    '"x" * 3',
    '"\\u00e9t\\u00e9"',
    '"../../../../etc/passwd"',
    '"/etc/passwd"',
    '"a\\nb"',
    "'{}'",
    '"\\\\"',
    '"x" "y"',
    'f"{1}"',
    'b"x"',
    '"--index-url http://x"',
]
_ANNOTATIONS = [
    "int",
    "str",
    "bytes",
    "None",
    "list[str]",
    "dict[str, int]",
    "dict[int, str]",
    "tuple[int, ...]",
    "set[int]",
    "Undefined",
    '"str"',
    '"int or str"',
    '"list["',
    "chains.ChainletBase",
    "Iterator[int]",
    "AsyncIterator[str]",
    "int | None",
    "Optional[int]",
    "Literal[1, 'a']",
    "Any",
    "object",
    "type",
    "lambda: int",
    "1",
    "[int]",
]
_EXPRESSIONS = [
    "1",
    "-1",
    "0",
    "2**10",
    '"4Gi"',
    '"1Mi"',
    "None",
    "True",
    "[1, 2]",
    "{}",
    '{"a": 1}',
    "(1,)",
    "x",
    "undefined",
    "chains.Compute()",
    "chains.DockerImage()",
    "chains.RemoteConfig()",
    "chains.Assets()",
    "chains.Compute(cpu_count=-1)",
    "chains.BasetenImage.PY311",
    "chains.BasetenImage.NOPE",
    "truss_config.Accelerator.H100",
    "dict(a=1)",
    "len([])",
    "chains.make_abs_path_here('x')",
    "chains.make_abs_path_here('../x')",
    "[*range(3)]",
    "lambda: 1",
    "f'{x}'",
    "1 if x else 2",
    "(yield)",
    "await x",
    "*x",
    "not 1",
    "1 / 0",
    "'a' * 10**9",
    "[1] * 10**9",
]

#: What only CPython's compiler refuses (issue 11), as statements to insert at module level or in a body.
_COMPILE_ERRORS = [
    "x = dict(a=1, a=2)",
    "return 1",
    "break",
    "continue",
    "yield 1",
    "await x",
    "nonlocal x",
    "global __debug__",
    "lambda a, a: a",
    "x = *a",
    "a, *b, *c = d",
    "from __future__ import annotations",
    "from __future__ import braces",
    "def f(a, a):\n    pass",
    "class A(metaclass=M, metaclass=N):\n    pass",
    "del *a, b",
    "f(**a, *b)",
    "async def f():\n    yield 1\n    return 2",
    "def f():\n    x = 1\n    global x",
]


#: Hostile statements for module level: shapes the examples never have.
_SNIPPETS = [
    "class Loop(chains.ChainletBase):\n    def __init__(self, me=chains.depends(Loop)) -> None:\n        pass\n\n    def run_remote(self) -> int:\n        return 1",
    "class Twice(chains.ChainletBase):\n    def run_remote(self) -> int:\n        return 1\n\n\nclass Twice(chains.ChainletBase):\n    def run_remote(self) -> str:\n        return ''",
    "def run_remote(self, x: 'int or ' * 3) -> int:\n    return x",
    "class Strange(chains.ChainletBase):\n    def run_remote(self, x: "
    + '"'
    + "int | " * 400
    + 'int"'
    + ") -> int:\n        return x",
    "class Ünïcödé(chains.ChainletBase):\n    def run_remote(self, ä: int) -> int:\n        return ä",
    "class "
    + "L" * 5000
    + "(chains.ChainletBase):\n    def run_remote(self) -> int:\n        return 1",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\nelse:\n    torch = None",
    "try:\n    import numpy as np\nexcept ImportError:\n    np = None",
    "import truss_chains as chains\nchains = chains",
    "from truss_chains import *",
    "from . import nothing",
    "from .. import beyond",
    "import chain",
    "X: int",
    "del chains",
    "remote_config = 1",
    "@chains.mark_entrypoint\n@chains.mark_entrypoint\nclass Double(chains.ChainletBase):\n    def run_remote(self) -> None:\n        pass",
    "@chains.mark_entrypoint('x' * 300)\nclass Named(chains.ChainletBase):\n    def run_remote(self) -> None:\n        pass",
    "class Gen(chains.ChainletBase):\n    async def run_remote(self) -> AsyncIterator[str]:\n        yield 'a'\n        yield from []",
    "match x:\n    case {'a': 1, **rest}:\n        pass\n    case [1, *_]:\n        pass",
    "type X = int",
    "async def f():\n    return [x async for x in y]",
    "lambda: (yield)",
    "print(f'{x!r:>{10}}')",
]


def insert_snippet(rng: random.Random, text: str) -> str | None:
    lines = text.splitlines(keepends=True)
    # At module level: before a line that starts a top-level statement, or at the end.
    starts = [
        index
        for index, line in enumerate(lines)
        if line[:1].isalpha() or line.startswith("@")
    ]
    at = rng.choice([*starts, len(lines)])
    return "".join(lines[:at]) + rng.choice(_SNIPPETS) + "\n\n\n" + "".join(lines[at:])


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    try:
        return [
            token
            for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type
            not in (
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.INDENT,
                tokenize.DEDENT,
                tokenize.ENDMARKER,
                tokenize.COMMENT,
            )
        ]
    except (tokenize.TokenError, SyntaxError):
        return []


def _offsets(text: str) -> list[int]:
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _span(text: str, start: tuple[int, int], end: tuple[int, int]) -> tuple[int, int]:
    starts = _offsets(text)
    return starts[start[0] - 1] + start[1], starts[end[0] - 1] + end[1]


def _replace_token(
    rng: random.Random, text: str, choose: Callable[[tokenize.TokenInfo], str | None]
) -> str | None:
    tokens = _tokens(text)
    if not tokens:
        return None
    for _attempt in range(20):
        token = rng.choice(tokens)
        new = choose(token)
        if new is not None:
            begin, end = _span(text, token.start, token.end)
            return text[:begin] + new + text[end:]
    return None


def delete_token(rng: random.Random, text: str) -> str | None:
    return _replace_token(rng, text, lambda _token: "")


def duplicate_token(rng: random.Random, text: str) -> str | None:
    return _replace_token(rng, text, lambda token: f"{token.string} {token.string}")


def swap_tokens(rng: random.Random, text: str) -> str | None:
    tokens = _tokens(text)
    if len(tokens) < 2:
        return None
    index = rng.randrange(len(tokens) - 1)
    first, second = tokens[index], tokens[index + 1]
    begin, _ = _span(text, first.start, first.end)
    start2, end = _span(text, second.start, second.end)
    _, end1 = _span(text, first.start, first.end)
    return text[:begin] + second.string + text[end1:start2] + first.string + text[end:]


def identifier_to_keyword(rng: random.Random, text: str) -> str | None:
    return _replace_token(
        rng,
        text,
        lambda token: rng.choice(_KEYWORDS) if token.type == tokenize.NAME else None,
    )


def identifier_to_number(rng: random.Random, text: str) -> str | None:
    return _replace_token(
        rng,
        text,
        lambda token: (
            rng.choice(_NUMBERS)
            if token.type in (tokenize.NAME, tokenize.NUMBER)
            else None
        ),
    )


def identifier_to_string(rng: random.Random, text: str) -> str | None:
    return _replace_token(
        rng,
        text,
        lambda token: (
            rng.choice(_STRINGS)
            if token.type in (tokenize.NAME, tokenize.STRING)
            else None
        ),
    )


def _line_mutation(
    rng: random.Random, text: str, change: Callable[[list[str], int], object]
) -> str | None:
    lines = text.splitlines(keepends=True)
    if not lines:
        return None
    change(lines, rng.randrange(len(lines)))
    return "".join(lines)


def delete_line(rng: random.Random, text: str) -> str | None:
    return _line_mutation(rng, text, lambda lines, i: lines.pop(i))


def duplicate_line(rng: random.Random, text: str) -> str | None:
    return _line_mutation(rng, text, lambda lines, i: lines.insert(i, lines[i]))


def indent_line(rng: random.Random, text: str) -> str | None:
    return _line_mutation(
        rng, text, lambda lines, i: lines.__setitem__(i, "    " + lines[i])
    )


def dedent_line(rng: random.Random, text: str) -> str | None:
    return _line_mutation(
        rng,
        text,
        lambda lines, i: lines.__setitem__(
            i, lines[i][4:] if lines[i].startswith("    ") else lines[i].lstrip()
        ),
    )


def swap_lines(rng: random.Random, text: str) -> str | None:
    def swap(lines: list[str], i: int) -> None:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]

    return _line_mutation(rng, text, swap)


def _nodes(text: str) -> list[ast.AST]:
    try:
        return list(ast.walk(ast.parse(text)))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []


def _node_span(text: str, node: ast.AST) -> tuple[int, int] | None:
    end_line = getattr(node, "end_lineno", None)
    end_col = getattr(node, "end_col_offset", None)
    if end_line is None or end_col is None:
        return None
    # `ast` columns count UTF-8 bytes: convert through each line.
    lines = text.splitlines(keepends=True)
    starts = _offsets(text)

    def offset(line: int, byte_col: int) -> int:
        return starts[line - 1] + len(
            lines[line - 1].encode("utf-8")[:byte_col].decode("utf-8", errors="replace")
        )

    return offset(node.lineno, node.col_offset), offset(end_line, end_col)  # type: ignore[attr-defined]


def _replace_node(text: str, node: ast.AST, new: str) -> str | None:
    span = _node_span(text, node)
    if span is None:
        return None
    return text[: span[0]] + new + text[span[1] :]


def _remote_config_expressions(text: str) -> list[ast.expr]:
    found: list[ast.expr] = []
    for node in _nodes(text):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "remote_config" for t in node.targets
        ):
            found.extend(
                child for child in ast.walk(node.value) if isinstance(child, ast.expr)
            )
    return found


def replace_config_expression(rng: random.Random, text: str) -> str | None:
    candidates = _remote_config_expressions(text)
    if not candidates:
        return None
    return _replace_node(text, rng.choice(candidates), rng.choice(_EXPRESSIONS))


def rename_class(rng: random.Random, text: str) -> str | None:
    classes = [node for node in _nodes(text) if isinstance(node, ast.ClassDef)]
    if not classes:
        return None
    node = rng.choice(classes)
    new = rng.choice(
        [
            "Renamed",
            "chains",
            "ChainletBase",
            "int",
            "Model",
            "model",
            "Ep",
            "_",
            "Über",
            "async_",
            node.name + "2",
        ]
    )
    if rng.random() < 0.5:  # every mention, as a refactoring would
        return text.replace(node.name, new)
    line_start = _offsets(text)[node.lineno - 1]
    line_end = text.find("\n", line_start)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    return (
        text[:line_start]
        + line.replace(f"class {node.name}", f"class {new}", 1)
        + text[line_start + len(line) :]
    )


def drop_run_remote(rng: random.Random, text: str) -> str | None:
    functions = [
        node
        for node in _nodes(text)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name in ("run_remote", "__init__", "predict", "is_healthy")
    ]
    if not functions:
        return None
    node = rng.choice(functions)
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    lines = text.splitlines(keepends=True)
    end = node.end_lineno or node.lineno
    replacement = ["    pass\n"] if rng.random() < 0.3 else []
    return "".join(lines[: first - 1] + replacement + lines[end:])


def change_annotation(rng: random.Random, text: str) -> str | None:
    annotations: list[ast.expr] = []
    for node in _nodes(text):
        if isinstance(node, ast.arg) and node.annotation is not None:
            annotations.append(node.annotation)
        elif (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.returns is not None
        ):
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
    if not annotations:
        return None
    return _replace_node(text, rng.choice(annotations), rng.choice(_ANNOTATIONS))


def insert_deep_expression(rng: random.Random, text: str) -> str | None:
    kind = rng.choice(sorted(hostile.EXPRESSIONS))
    depth = rng.choice([5, 50, 150, 199, 201, 400, 2000])
    expression = hostile.deep_expression(kind, depth)
    candidates = [
        node
        for node in _nodes(text)
        if isinstance(node, ast.expr) and not isinstance(node, ast.JoinedStr)
    ]
    if candidates and rng.random() < 0.7:
        return _replace_node(text, rng.choice(candidates), f"({expression})")
    return text + f"\nDEEP = {expression}\n"


def insert_compile_error(rng: random.Random, text: str) -> str | None:
    statement = rng.choice(_COMPILE_ERRORS)
    lines = text.splitlines(keepends=True)
    at = rng.randrange(len(lines) + 1)
    indent = ""
    if at < len(lines):
        current = lines[at]
        indent = (
            current[: len(current) - len(current.lstrip())] if current.strip() else ""
        )
    block = "".join(f"{indent}{line}\n" for line in statement.splitlines())
    return "".join(lines[:at]) + block + "".join(lines[at:])


def insert_name_chain(rng: random.Random, text: str) -> str | None:
    """A long chain of aliases, of values built of values, or of subclasses, used by a config value."""
    n = rng.choice([10, 300, 1200])
    shape = rng.randrange(3)
    if shape == 0:
        prelude = "C0 = 1\n" + "".join(f"C{i} = C{i - 1}\n" for i in range(1, n + 1))
        use = f"C{n}"
    elif shape == 1:
        prelude = 'V0 = "x"\n' + "".join(
            f"V{i} = [V{i - 1}]\n" for i in range(1, n + 1)
        )
        use = f"V{n}"
    else:
        prelude = "class B0:\n    pass\n" + "".join(
            f"class B{i}(B{i - 1}):\n    pass\n" for i in range(1, n + 1)
        )
        use = f"B{n}"
    candidates = _remote_config_expressions(text)
    if candidates:
        mutated = _replace_node(text, rng.choice(candidates), use)
        if mutated is not None:
            text = mutated
    return prelude + text


#: The mutations of one file, by name.
FILE_MUTATIONS: dict[str, Mutation] = {
    "delete_token": delete_token,
    "duplicate_token": duplicate_token,
    "swap_tokens": swap_tokens,
    "identifier_to_keyword": identifier_to_keyword,
    "identifier_to_number": identifier_to_number,
    "identifier_to_string": identifier_to_string,
    "delete_line": delete_line,
    "duplicate_line": duplicate_line,
    "indent_line": indent_line,
    "dedent_line": dedent_line,
    "swap_lines": swap_lines,
    "replace_config_expression": replace_config_expression,
    "rename_class": rename_class,
    "drop_run_remote": drop_run_remote,
    "change_annotation": change_annotation,
    "insert_deep_expression": insert_deep_expression,
    "insert_compile_error": insert_compile_error,
    "insert_name_chain": insert_name_chain,
    "insert_snippet": insert_snippet,
}


def _mutate_program(rng: random.Random, mutant: Mutant) -> str | None:
    """Mutations of the chain as a whole: files, encodings, imports."""
    choice = rng.randrange(7)
    chain = mutant.files[mutant.chain]
    if isinstance(chain, bytes):
        return None  # already not UTF-8
    if choice == 0:
        mutant.files["helpers_cycle.py"] = f"from {mutant.chain[:-3]} import CYCLE\n"
        mutant.files[mutant.chain] = "from helpers_cycle import CYCLE\n" + chain
        return "import_cycle"
    if choice == 1:
        position = rng.randrange(len(chain) + 1)
        mutant.files[mutant.chain] = chain[:position] + "\0" + chain[position:]
        return "nul_byte"
    if choice == 2:
        position = rng.randrange(len(chain) + 1)
        mutant.files[mutant.chain] = (
            chain[:position].encode() + b"\xff\xfe" + chain[position:].encode()
        )
        return "not_utf8"
    if choice == 3:
        mutant.files[mutant.chain] = "\ufeff" + chain.replace("\n", "\r\n")
        return "bom_crlf"
    if choice == 4:
        mutant.files[mutant.chain] = chain.replace("    ", "\t")
        return "tabs"
    if choice == 5:
        mutant.files["reexport_1.py"] = "from reexport_2 import VALUE\n"
        mutant.files["reexport_2.py"] = "from reexport_1 import VALUE\nVALUE = 2\n"
        mutant.files[mutant.chain] = "from reexport_1 import VALUE\n" + chain
        return "reexport_cycle"
    others = [
        name
        for name, text in mutant.files.items()
        if name.endswith(".py") and name != mutant.chain and isinstance(text, str)
    ]
    if not others:
        return None
    target = rng.choice(others)
    text = mutant.files[target]
    assert isinstance(text, str)
    mutated = (
        insert_compile_error(rng, text)
        if rng.random() < 0.5
        else delete_line(rng, text)
    )
    if mutated is None:
        return None
    mutant.files[target] = mutated
    return f"local_module:{target}"


def make_mutant(seeds: list[Seed], seed: int, index: int) -> Mutant:
    """Mutant number `index` of run `seed`: the same every time."""
    rng = random.Random(f"chainsc-fuzz:{seed}:{index}")
    base = rng.choice(seeds)
    mutant = Mutant(index, base, dict(base.files), base.chain)
    names = sorted(FILE_MUTATIONS)
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        if rng.random() < 0.12:
            applied = _mutate_program(rng, mutant)
            if applied is not None:
                mutant.mutations.append(applied)
            continue
        name = rng.choice(names)
        target = (
            mutant.chain if rng.random() < 0.8 else rng.choice(sorted(mutant.files))
        )
        text = mutant.files[target]
        if not isinstance(text, str) or not target.endswith(".py"):
            continue
        mutated = FILE_MUTATIONS[name](rng, text)
        if mutated is not None and mutated != text:
            mutant.files[target] = mutated
            mutant.mutations.append(f"{name}:{target}")
    return mutant


# -- running ------------------------------------------------------------------------


def write_files(directory: Path, files: Files) -> None:
    """Write a mutant's files under `directory`."""
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8", errors="surrogatepass"))


#: Generated files known to compile: the vendored runtime and most modules repeat across mutants.
_COMPILED: set[bytes] = set()


def check_mutant(
    mutant: Mutant, directory: Path, *, through_cli: bool
) -> tuple[list[Finding], bool]:
    """Check and build one mutant in-process: what must never happen, as findings, and
    whether it built (no errors)."""
    write_files(directory, mutant.files)
    chain = directory / mutant.chain
    findings: list[Finding] = []

    def found(kind: str, detail: str) -> None:
        findings.append(Finding(mutant.index, kind, detail, tuple(mutant.mutations)))

    try:
        checked = check_file(chain)
        built = build_file(chain)
    except Exception:
        found("exception", traceback.format_exc(limit=-8))
        return findings, False
    for result in (checked, built):
        for diagnostic in result.diagnostics:
            if diagnostic.code == "CSC901":
                found("CSC901", diagnostic.message)
            if RECURSION_BACKSTOP in diagnostic.message:
                found("recursion backstop", diagnostic.message)
    if checked.has_errors != built.has_errors and not any(
        d.code == "CSC901" for d in built.diagnostics
    ):
        found(
            "check and build disagree",
            f"check: {checked.has_errors}, build: {built.has_errors}",
        )
    if built.has_errors and built.files is not None:
        found("files with errors", "a build with errors returned files")
    if built.files is not None:
        bad = sorted(
            name
            for name in built.files
            if name.startswith("/") or "" in name.split("/") or "\\" in name
        )
        if bad:
            found("bad output path", f"{bad[:5]}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings are the user's code's own
            for name, data in built.files.items():
                if name.endswith(".py") and data not in _COMPILED:
                    try:
                        compile(data, name, "exec", dont_inherit=True)
                    except (SyntaxError, ValueError) as exc:
                        found("generated code does not compile", f"{name}: {exc}")
                    else:
                        _COMPILED.add(data)
    if through_cli:
        findings.extend(
            _check_cli(
                mutant, chain, directory, built.files if not built.has_errors else None
            )
        )
    return findings, not built.has_errors


def _check_cli(
    mutant: Mutant, chain: Path, directory: Path, files: Mapping[str, bytes] | None
) -> Iterator[Finding]:
    """`chainsc build` in-process over an existing output: exit 0 or 1, no traceback, atomic."""
    out = directory / "out"
    out.mkdir()
    (out / "keep.txt").write_text("a file chainsc did not write\n")
    stderr = io.StringIO()
    was_enabled = gc.isenabled()
    try:
        with (
            contextlib.redirect_stderr(stderr),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            code = cli.main(["build", str(chain), "-o", str(out), "--force"])
    finally:
        if was_enabled:
            gc.enable()  # `build` turns the collector off for the rest of its process
    written = {
        path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()
    }
    mutations = tuple(mutant.mutations)
    if code not in (0, 1):
        yield Finding(
            mutant.index, "exit code", f"{code}: {stderr.getvalue()[-2000:]}", mutations
        )
    if "Traceback" in stderr.getvalue():
        yield Finding(mutant.index, "traceback", stderr.getvalue()[-2000:], mutations)
    if code != 0 and written != {"keep.txt"}:
        yield Finding(
            mutant.index, "written on error", f"{sorted(written)[:5]}", mutations
        )
    if code == 0:
        if files is None or set(files) | {"keep.txt"} != written:
            yield Finding(
                mutant.index,
                "output differs",
                f"{sorted(written ^ set(files or ()))[:5]}",
                mutations,
            )
        elif isinstance(write_tree(out, files), WriteRefused):
            yield Finding(
                mutant.index,
                "rebuild refused",
                "a second build into its own output",
                mutations,
            )


#: Findings only a build through `cli.main` can show.
CLI_KINDS = frozenset(
    {"exit code", "traceback", "written on error", "output differs", "rebuild refused"}
)


@dataclass
class RunResult:
    """What a fuzzing run did and found."""

    mutants: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    #: Mutants whose build had no errors (the rest were refused with diagnostics).
    built: int = 0


def run(
    seed: int,
    mutants: int,
    *,
    start: int = 0,
    cli_every: int = 10,
    work: Path | None = None,
) -> RunResult:
    """Mutants `start` .. `start + mutants - 1` of run `seed`, each checked and built."""
    seeds = load_seeds()
    result = RunResult()
    began = time.perf_counter()
    base = Path(tempfile.mkdtemp(prefix="chainsc-fuzz-", dir=work))
    try:
        for index in range(start, start + mutants):
            mutant = make_mutant(seeds, seed, index)
            directory = base / str(index)
            directory.mkdir()
            findings, built = check_mutant(
                mutant, directory, through_cli=cli_every > 0 and index % cli_every == 0
            )
            result.findings.extend(findings)
            result.built += built
            result.mutants += 1
            shutil.rmtree(directory, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    result.seconds = time.perf_counter() - began
    return result


def minimize(
    mutant: Mutant, still_fails: Callable[[Files], bool], budget: float = 60.0
) -> Files:
    """Fewer lines of the mutant's files that still fail: greedy removal of chunks of lines."""
    files = dict(mutant.files)
    deadline = time.perf_counter() + budget
    for name in sorted(files, key=lambda n: n != mutant.chain):
        content = files[name]
        if not isinstance(content, str):
            continue
        lines = content.splitlines(keepends=True)
        chunk = max(1, len(lines) // 2)
        while chunk >= 1 and time.perf_counter() < deadline:
            index = 0
            while index < len(lines) and time.perf_counter() < deadline:
                candidate = lines[:index] + lines[index + chunk :]
                trial = {**files, name: "".join(candidate)}
                if still_fails(trial):
                    lines = candidate
                    files = trial
                else:
                    index += chunk
            chunk //= 2
        files[name] = "".join(lines)
    return files
