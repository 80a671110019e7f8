"""The last step of a build: every generated `.py` file compiles, or CSC901 names it.

No user input can make chainsc generate code that does not compile (that is the
point), so these tests hand `generated_code_errors` trees directly: broken files,
and files whose parts each compile but whose whole does not (the cases the
part-wise check must send to a whole-file compile).
"""

from __future__ import annotations

import py_compile
from pathlib import Path

import pytest

from chainsc.emit.verify import _compiled_by_python, generated_code_errors

MANIFEST = {"chain.json": b"{}\n"}


def _errors(files: dict[str, bytes]) -> list[tuple[str, int, str]]:
    found, sources = generated_code_errors({**MANIFEST, **files})
    assert set(sources) == {d.span.path for d in found}
    return [(d.span.path, d.span.line, d.message) for d in found]


def test_a_file_that_compiles_passes() -> None:
    text = b'"""Doc."""\n\nfrom __future__ import annotations\n\nimport sys\n\n\n@dec\nclass A:\n    x: int\n\n\ndef f(a: A) -> None:\n    print(a)\n'
    assert (
        _errors({"pkg/model/model.py": text, "pkg/other.py": text, "pkg/empty.py": b""})
        == []
    )


def test_a_file_that_does_not_compile_is_csc901_at_its_line() -> None:
    found, sources = generated_code_errors(
        {"pkg/model/model.py": b"import sys\n\n\ndef f():\n    return dict(a=1, a=2)\n"}
    )
    assert [(d.code, d.span.path, d.span.line, d.span.col) for d in found] == [
        ("CSC901", "pkg/model/model.py", 5, 22)
    ]
    assert found[0].message == (
        "internal error: chainsc generated `pkg/model/model.py`, which does not compile: keyword argument repeated: a"
    )
    assert "pkg/model/model.py" in sources  # rendered with its line


def test_every_broken_file_is_named_once_per_content() -> None:
    broken = b"x = (\n"
    errors = _errors(
        {
            "a/server.py": broken,
            "b/server.py": broken,
            "c/client.py": b"def f(x, x):\n    pass\n",
        }
    )
    assert [path for path, _line, _message in errors] == ["a/server.py", "c/client.py"]


def test_parts_that_compile_alone_but_not_together_are_caught() -> None:
    cases = {
        # A future import after other statements: fine alone, not in the file.
        "future.py": b"x = 1\n\n\ndef f():\n    pass\nfrom __future__ import annotations\n",
        # Module-level `global` after the name is assigned: a scope rule across statements.
        "global.py": b"x = 1\n\n\nclass A:\n    pass\n\n\nif True:\n    global x\n",
        # A decorator cut from its function by a comment line.
        "decorator.py": b"@dec\n# note\ndef f():\n    pass\n",
        # Text at column 0 inside a string: the split falls inside it.
        "docstring.py": b'X = """\ndef f(:\n"""\n\n\ndef g(:\n    pass\n',
    }
    errors = {path: message for path, _line, message in _errors(cases)}
    assert set(errors) == {"future.py", "global.py", "docstring.py"}, errors
    assert errors["future.py"].endswith(
        "from __future__ imports must occur at the beginning of the file"
    )
    assert errors["global.py"].endswith(
        "name 'x' is assigned to before global declaration"
    )


def test_text_at_column_0_in_a_string_is_no_false_alarm() -> None:
    text = b'X = """\ndef f(:\nclass\n@\n"""\n\n\ndef g():\n    return X\n'
    assert _errors({"a.py": text}) == []


def test_future_annotations_apply_to_every_part() -> None:
    # `(y := 1)` in an annotation compiles, unless annotations are postponed by the first part.
    text = b"from __future__ import annotations\n\nimport sys\n\n\ndef f(x: (y := 1)) -> None:\n    pass\n"
    assert [(path, line) for path, line, _message in _errors({"a.py": text})] == [
        ("a.py", 6)
    ]
    assert (
        _errors({"b.py": text.replace(b"from __future__ import annotations\n", b"")})
        == []
    )


@pytest.mark.parametrize(
    "mode",
    [
        py_compile.PycInvalidationMode.TIMESTAMP,
        py_compile.PycInvalidationMode.CHECKED_HASH,
    ],
)
def test_sources_this_python_compiled_are_known_to_compile(
    tmp_path: Path, mode: py_compile.PycInvalidationMode
) -> None:
    """The vendored runtime is not compiled again when pip (or an import) left a matching `.pyc`."""
    compiled, fresh, stale = (
        tmp_path / "compiled.py",
        tmp_path / "fresh.py",
        tmp_path / "stale.py",
    )
    compiled.write_text("X = 1\n")
    fresh.write_text("Y = 2\n")
    stale.write_text("Z = 3\n")
    py_compile.compile(str(compiled), invalidation_mode=mode, doraise=True)
    py_compile.compile(str(stale), invalidation_mode=mode, doraise=True)
    stale.write_text("Z = 3333\n")  # changed since: size and hash differ
    assert _compiled_by_python(tmp_path) == frozenset({b"X = 1\n"})
