"""Broken and hostile chain files: what CPython refuses is a located CSC002, what nests
deeper than chainsc can follow is a located CSC020, and nothing is an internal error,
a crash or a package that does not compile.

The inputs that reached Python's recursion limit (issue 11) come from the generators in
`tests/hostile.py`, at the sizes that broke and far beyond.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import FrameType

import pytest

from chainsc.api import RECURSION_BACKSTOP, build_file, check_file
from chainsc.diagnostics import Diagnostic
from chainsc.nesting import MAX_NESTING
from tests import hostile
from tests.conftest import REPO, run_cli

_CHAIN = """\
import truss_chains as chains


class Dep(chains.ChainletBase):
    async def run_remote(self, x: int) -> int:
        return x


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    remote_config = chains.RemoteConfig(compute=chains.Compute(cpu_count=1))

    def __init__(self, dep: Dep = chains.depends(Dep)) -> None:
        self._dep = dep

    def run_remote(self, x: int) -> int:
        return x
"""


def _edit(old: str, new: str) -> str:
    """The chain above with the last `old` replaced by `new`."""
    head, found, tail = _CHAIN.rpartition(old)
    assert found, old
    return head + new + tail


#: name -> (chain text, line, column, CPython's message): each passes libcst and ast.parse.
COMPILE_ERRORS: dict[str, tuple[str, int, int, str]] = {
    "keyword_repeated_in_remote_config": (
        _edit(
            "chains.Compute(cpu_count=1)",
            "chains.Compute(**dict(cpu_count=1, cpu_count=2))",
        ),
        11,
        84,
        "keyword argument repeated: cpu_count",
    ),
    "duplicate_parameter": (
        _edit("def run_remote(self, x: int)", "def run_remote(self, x: int, x: int)"),
        16,
        34,
        "duplicate argument 'x' in function definition",
    ),
    "await_in_a_sync_method": (
        _edit("        return x\n", "        return await self._dep.run_remote(x)\n"),
        17,
        16,
        "'await' outside async function",
    ),
    "break_outside_a_loop": (
        _edit("        return x\n", "        break\n"),
        17,
        9,
        "'break' outside loop",
    ),
    "yield_in_a_class_body": (
        _edit("cpu_count=1))\n", "cpu_count=1))\n    yield remote_config\n"),
        12,
        5,
        "'yield' outside function",
    ),
    "return_at_top_level": (
        _edit(
            "\n\n@chains.mark_entrypoint", "\nreturn None\n\n\n@chains.mark_entrypoint"
        ),
        8,
        1,
        "'return' outside function",
    ),
}

#: More of what only CPython's compiler (or its f-string parser) refuses. Python 3.11 places
#: f-string errors one past the end of the line, and so does the diagnostic.
MORE_COMPILE_ERRORS: dict[str, tuple[str, int, int, str]] = {
    "nonlocal_at_module_level": (
        _edit("\n\n@chains", "\nnonlocal x\n\n\n@chains"),
        8,
        1,
        "nonlocal declaration not allowed at module level",
    ),
    "return_value_in_async_generator": (
        _edit(
            "    async def run_remote(self, x: int) -> int:\n        return x\n",
            "    async def run_remote(self, x: int) -> int:\n        yield x\n        return x\n",
        ),
        7,
        9,
        "'return' with value in async generator",
    ),
    "duplicate_lambda_parameter": (
        _edit("\n\n@chains", "\nSCALE = lambda a, a: a\n\n\n@chains"),
        8,
        19,
        "duplicate argument 'a' in function definition",
    ),
    "starred_expression_misused": (
        _edit("\n\n@chains", "\nSIZES = *range(3)\n\n\n@chains"),
        8,
        9,
        "can't use starred expression here",
    ),
    "two_starred_targets": (
        _edit("\n\n@chains", "\na, *b, *c = range(3)\n\n\n@chains"),
        8,
        1,
        "multiple starred expressions in assignment",
    ),
    "future_import_not_first": (
        _edit("\n\n@chains", "\nfrom __future__ import annotations\n\n\n@chains"),
        8,
        1,
        "from __future__ imports must occur at the beginning of the file",
    ),
    "keyword_repeated_in_a_class_header": (
        _edit(
            "class Dep(chains.ChainletBase)",
            "class Dep(chains.ChainletBase, metaclass=type, metaclass=type)",
        ),
        4,
        48,
        "keyword argument repeated: metaclass",
    ),
    "f_string_conversion": (
        _edit("        return x\n", '        return f"{x!z}"\n'),
        17,
        24,
        "f-string: invalid conversion character: expected 's', 'r', or 'a'",
    ),
}


def _expected_line(name: str, line: int, col: int, message: str) -> str:
    return f"{name}:{line}:{col}: error[CSC002]: syntax error: {message}"


@pytest.mark.parametrize("case", sorted({**COMPILE_ERRORS, **MORE_COMPILE_ERRORS}))
def test_what_cpython_refuses_is_csc002_and_builds_nothing(
    tmp_path: Path, case: str
) -> None:
    text, line, col, message = {**COMPILE_ERRORS, **MORE_COMPILE_ERRORS}[case]
    (tmp_path / "chain.py").write_text(text)
    checked = run_cli("check", "chain.py", cwd=tmp_path)
    assert checked.returncode == 1, checked.stderr
    assert checked.stderr.splitlines()[0] == _expected_line(
        "chain.py", line, col, message
    )
    assert checked.stderr.endswith("1 error, 0 warnings\n")
    built = run_cli("build", "chain.py", "-o", "out", cwd=tmp_path)
    assert built.returncode == 1, built.stderr
    assert built.stderr == checked.stderr
    assert not (tmp_path / "out").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["chain.py"]


def test_a_local_module_python_refuses_is_csc002_in_that_module(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(
        _edit(
            "import truss_chains as chains\n",
            "import truss_chains as chains\n\nimport helpers\n",
        )
    )
    (tmp_path / "helpers.py").write_text("def scale(x, x):\n    return x\n")
    result = run_cli("build", "chain.py", "-o", "out", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == _expected_line(
        "helpers.py", 1, 14, "duplicate argument 'x' in function definition"
    )
    assert not (tmp_path / "out").exists()


def test_a_nul_byte_is_located(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(
        _edit("        return x\n", '        return "a\0b"\n')
    )
    result = check_file(tmp_path / "chain.py")
    assert [
        (d.code, d.span.line, d.span.col, d.message) for d in result.diagnostics
    ] == [("CSC002", 17, 18, "syntax error: source code cannot contain null bytes")]


def test_warnings_python_gives_at_run_time_are_not_errors(tmp_path: Path) -> None:
    # `-W error` (this suite's filter) turns compile-time SyntaxWarnings into SyntaxErrors:
    # chainsc must not let its caller's warning filters decide what compiles.
    (tmp_path / "chain.py").write_text(
        _edit(
            "        return x\n",
            '        assert (x, "tuple")\n        return x if x is 1 else len("\\d")\n',
        )
    )
    result = build_file(tmp_path / "chain.py")
    assert result.diagnostics == ()
    assert result.files is not None


# -- deep expressions --------------------------------------------------------------


#: The inputs of issue 11 that ended in RecursionError (exit 3), at the sizes reported.
ISSUE_SIZES = {
    "sum": 490,
    "unary_minus": 515,
    "implicit_concat": 488,
    "plus_concat": 488,
}


@pytest.mark.parametrize("kind", sorted(ISSUE_SIZES))
def test_a_deep_expression_in_remote_config_is_csc020_at_its_start(
    tmp_path: Path, kind: str
) -> None:
    slot = "cpu_count" if kind in hostile.NUMERIC else "pip_requirement"
    (tmp_path / "chain.py").write_text(
        hostile.chain_with(slot, hostile.deep_expression(kind, ISSUE_SIZES[kind]))
    )
    result = run_cli("build", "chain.py", "-o", "out", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)
    # `cpu_count=` on line 9 ends at column 41, `pip_requirements=[` on line 10 at column 58.
    where = (9, 42) if slot == "cpu_count" else (10, 59)
    assert [(d["code"], d["line"], d["col"]) for d in found] == [("CSC020", *where)]
    assert f"nested more than {MAX_NESTING} levels deep" in found[0]["message"]
    assert not (tmp_path / "out").exists()


def test_a_chain_of_325_aliases_builds(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(hostile.alias_chain(325))
    result = run_cli("build", "chain.py", "-o", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "out" / "entry" / "config.yaml").read_text()
    assert "cpu: '1'" in config


@pytest.mark.parametrize("kind", sorted(hostile.EXPRESSIONS))
def test_expressions_just_below_the_bound_are_compiled(
    tmp_path: Path, kind: str
) -> None:
    """Every slot, at a depth the bound accepts: whatever the findings, no exception, and the
    packages of a chain that builds compile (what any recursive walker would break on)."""
    for slot in hostile.SLOTS:
        path = tmp_path / slot / "chain.py"
        path.parent.mkdir()
        # libcst nests a bracket's contents two levels deep (`List`, `Element`).
        path.write_text(
            hostile.chain_with(
                slot,
                hostile.deep_expression(kind, 90 if kind == "nested_lists" else 150),
            )
        )
        result = build_file(path)
        assert "CSC020" not in {d.code for d in result.diagnostics}, (
            slot,
            _render(result.diagnostics),
        )
        assert not any(RECURSION_BACKSTOP in d.message for d in result.diagnostics)
        for name, data in (result.files or {}).items():
            if name.endswith(".py"):
                compile(data, name, "exec", dont_inherit=True)


@pytest.mark.parametrize("kind", sorted(hostile.EXPRESSIONS))
def test_expressions_past_the_bound_are_csc020_or_csc002(
    tmp_path: Path, kind: str
) -> None:
    for slot in ("cpu_count", "module_constant", "default", "annotation", "decorator"):
        path = tmp_path / slot / "chain.py"
        path.parent.mkdir()
        path.write_text(hostile.chain_with(slot, hostile.deep_expression(kind, 400)))
        result = check_file(path)
        if kind == "comparison_chain":
            assert "CSC020" not in {
                d.code for d in result.diagnostics
            }  # flat, in ast as in libcst
            continue
        assert [d.code for d in result.diagnostics if d.code in ("CSC002", "CSC020")], (
            slot,
            _render(result.diagnostics),
        )


def test_elif_chains_outside_and_inside_function_bodies(tmp_path: Path) -> None:
    (tmp_path / "short.py").write_text(hostile.elif_chain(150))
    assert check_file(tmp_path / "short.py").diagnostics == ()
    (tmp_path / "long.py").write_text(hostile.elif_chain(400))
    found = check_file(tmp_path / "long.py").diagnostics
    assert [(d.code, d.span.line, d.span.col) for d in found] == [("CSC020", 4, 1)]
    assert found[0].help == "write a long `elif` chain as a lookup in a dict"


_CRASH_SCRIPT = textwrap.dedent(
    """
    import json, sys, tempfile, pathlib
    from tests import hostile
    from chainsc.api import check_file
    n = int(sys.argv[1])
    out = {}
    for kind in sorted(set(hostile.EXPRESSIONS) - {"comparison_chain"}):  # flat: seconds to parse, never deep
        for slot in ("cpu_count", "body", "annotation"):
            directory = pathlib.Path(tempfile.mkdtemp())
            (directory / "chain.py").write_text(hostile.chain_with(slot, hostile.deep_expression(kind, n)))
            out[f"{kind}/{slot}"] = sorted({d.code for d in check_file(directory / "chain.py").diagnostics})
    print(json.dumps(out))
    """
)


@pytest.mark.slow
def test_100000_terms_never_crash_the_process() -> None:
    """libcst's native parser overflows the C stack (a segfault) on 10,000 `or` terms:
    in a child process, so a crash fails this test instead of killing the suite."""
    result = subprocess.run(
        [sys.executable, "-c", _CRASH_SCRIPT, "100000"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout)
    for case, codes in found.items():
        kind, slot = case.split("/")
        if slot == "body" and kind in ("implicit_concat", "or_chain", "fstring_concat"):
            assert "CSC020" not in codes, (
                case
            )  # flat in `ast`; libcst never parses bodies
            continue
        assert set(codes) & {"CSC002", "CSC020"}, case


# -- long chains of names ------------------------------------------------------------


@pytest.mark.parametrize(
    "generator",
    [
        hostile.alias_chain,
        hostile.class_alias_chain,
        hostile.type_alias_chain,
        hostile.model_chain,
        hostile.inheritance_chain,
        hostile.chainlet_inheritance_chain,
    ],
)
def test_chains_of_3000_names_build(tmp_path: Path, generator: object) -> None:
    """Three times Python's recursion limit: every walk along them is a loop."""
    assert callable(generator)
    (tmp_path / "chain.py").write_text(generator(3000))
    result = build_file(tmp_path / "chain.py")
    assert result.diagnostics == (), _render(result.diagnostics)
    assert result.files is not None


def test_values_nested_through_10000_names_are_csc020_at_the_reference(
    tmp_path: Path,
) -> None:
    (tmp_path / "chain.py").write_text(hostile.nested_value_chain(10_000))
    found = check_file(tmp_path / "chain.py").diagnostics
    assert [(d.code, d.span.line, d.message) for d in found] == [
        (
            "CSC020",
            10_011,
            "the value of `V10000` nests more than 300 levels deep through the names it uses, more than chainsc supports",
        )
    ]


def test_a_name_re_exported_through_300_modules_resolves(tmp_path: Path) -> None:
    for name, text in hostile.reexport_modules(300).items():
        (tmp_path / name).write_text(text)
    result = build_file(tmp_path / "chain.py")
    assert result.diagnostics == (), _render(result.diagnostics)
    assert result.files is not None
    assert "cpu: '2'" in result.files["entry/config.yaml"].decode()


@pytest.mark.parametrize(
    "modules", [hostile.import_cycle_modules, hostile.attribute_cycle_modules]
)
def test_an_import_cycle_is_an_undefined_name(tmp_path: Path, modules: object) -> None:
    assert callable(modules)
    for name, text in modules().items():
        (tmp_path / name).write_text(text)
    result = run_cli("check", "chain.py", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "error[CSC401]" in result.stderr
    assert "is not defined" in result.stderr or "refers to itself" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_recursion_backstop_is_a_diagnostic_not_an_internal_error(
    tmp_path: Path,
) -> None:
    """No input reaches Python's recursion limit any more; if one did, the library says so.

    With the limit lowered to 250 frames above this test, a sum of 190 undefined names
    (within the bound) still compiles in CPython, but locating the first name for its
    CSC401 runs libcst's code generation over the sum, two frames a level.
    """
    (tmp_path / "chain.py").write_text(
        hostile.chain_with("cpu_count", " + ".join(["undefined"] * 190))
    )
    assert [d.code for d in build_file(tmp_path / "chain.py").diagnostics] == [
        "CSC401"
    ]  # imports done, too
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + 250)
    try:
        checked = check_file(tmp_path / "chain.py")
        built = build_file(tmp_path / "chain.py")
    finally:
        sys.setrecursionlimit(limit)
    for result in (checked, built):
        assert [(d.code, d.span.path, d.span.line) for d in result.diagnostics] == [
            ("CSC020", "chain.py", 1)
        ]
        assert result.diagnostics[0].message.startswith(RECURSION_BACKSTOP)


def _stack_depth() -> int:
    depth = 0
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


def _render(diagnostics: tuple[Diagnostic, ...]) -> str:
    return "\n".join(
        f"{d.span.path}:{d.span.line}:{d.span.col}: {d.code} {d.message}"
        for d in diagnostics
    )


@pytest.mark.parametrize(
    "expression",
    [
        '"x" * 10**9',
        "[1] * 10**9",
        "2 ** 10**10",
        '"%999999999d" % 1',
        "(10**1000) * (10**1000)",
        '("x" * 10**6) + "x"',
    ],
)
def test_configuration_arithmetic_too_large_to_compute_is_csc401(
    tmp_path: Path, expression: str
) -> None:
    """Found by the fuzzer: `"a" * 10**9` in `remote_config` was a MemoryError (exit 3)."""
    (tmp_path / "chain.py").write_text(
        hostile.chain_with("pip_requirement", expression)
    )
    found = check_file(tmp_path / "chain.py").diagnostics
    assert [(d.code, d.message) for d in found] == [
        ("CSC401", f"`{expression}` makes a value too large for configuration")
    ]
