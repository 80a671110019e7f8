"""`chainsc.requirement_syntax`: what pip reads as one requirement, and what it would misread."""

from __future__ import annotations

import pytest

from chainsc.requirement_syntax import LineProblem, entry_problem, file_problems

#: `pip_requirements` entries real chains use (Truss's examples and tests among them).
ACCEPTED = [
    "numpy",
    "numpy>=1.21",
    "openai-whisper==20231106",
    "torch==2.1.0 ; python_version>'3.8'",
    "transformers[torch]>=4.40,<5",
    "git+https://github.com/basetenlabs/truss.git@0123abc",
    "truss @ git+https://github.com/basetenlabs/truss.git@main",
    "https://example.com/wheels/fast_json-1.0-py3-none-any.whl",
    "./vendor/textlib",
    "numpy==1.26.4 --hash=sha256:0123abcd",
    "requests==${REQUESTS_VERSION}",
    "numpy  # the arrays",
    "",
]


@pytest.mark.parametrize("entry", ACCEPTED)
def test_entries_truss_accepts_are_accepted(entry: str) -> None:
    assert entry_problem(entry) is None


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("numpy\n--index-url https://evil.example", "it contains a line break ('\\n')"),
        ("numpy\r\n", "it contains a line break"),
        ("numpy\u2028-i https://evil.example", "it contains a line break ('\\u2028')"),
        ("numpy\x00", "it contains the control character '\\x00'"),
        ("--index-url https://evil.example", "it is a pip option, not a requirement"),
        ("-r /etc/passwd", "it is a pip option, not a requirement"),
        ("numpy \\", "it ends with `\\`"),
        (
            "numpy --index-url https://evil.example",
            "pip ignores `--index-url` after a requirement",
        ),
        ("garbage !!!", "`garbage !!!` is not a valid requirement"),
        ("numpy==", "`numpy==` is not a valid requirement"),
    ],
)
def test_entries_that_change_meaning_or_are_no_requirement_are_refused(
    entry: str, problem: str
) -> None:
    found = entry_problem(entry)
    assert found is not None
    assert found.startswith(problem), found


def test_requirements_file_lines() -> None:
    text = "\n".join(
        [
            "# a comment",
            "--extra-index-url https://download.pytorch.org/whl/cu118",
            "--index-url=https://example.com/simple",
            "-ihttps://example.com/simple",
            "--extra-index https://example.com/simple",  # an unambiguous prefix, as optparse reads it
            "-r other.txt",
            "-c constraints.txt",
            "-e git+https://github.com/org/repo.git#egg=repo",
            "--pre",
            "--only-binary :all:",
            "numpy>=1.26 \\",
            "    ; python_version > '3.8'",
            "torch==2.1.0 --hash=sha256:abc --hash=sha256:def",
            "",
            "bad name here  # E",
            "--no-such-option",
            "--index-url",
            "pydantic --trusted-host example.com",
            "  requests==",
        ]
    )
    problems = file_problems(text)
    assert [(p.line, p.col, p.end_col) for p in problems] == [
        (15, 1, 14),
        (16, 1, 17),
        (17, 1, 12),
        (18, 1, 36),
        (19, 3, 13),
    ]
    assert problems[0] == LineProblem(
        15,
        1,
        14,
        "`bad name here` is not a valid requirement (Expected semicolon (after name with no version specifier) or end)",
    )
    assert (
        problems[1].message
        == "pip does not accept `--no-such-option` (no such option: --no-such-option)"
    )
    assert (
        problems[2].message
        == "pip does not accept `--index-url` (--index-url option requires 1 argument)"
    )
    assert problems[3].message.startswith(
        "pip ignores `--trusted-host` after a requirement"
    )
